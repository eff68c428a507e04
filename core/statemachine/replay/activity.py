"""SDK-side activity machine: from ScheduleActivityTask to the activity's resolution.

```
  Created ──ActivityTaskScheduled──▶ Scheduled ──Started──▶ Started ──Completed/Failed/
     │                                  │                     │        TimedOut──▶ closed
     └─cancel─▶ CanceledBeforeSent      └──────┬──────────────┘
                                   TRY_CANCEL / WAIT_CANCEL ▼          ABANDON ▼
                                    CancelCommandCreated ──CancelRequested──▶ CancelRequested
                                                                     Abandoned (events ignored)
```

Follows sdk-core's `activity_state_machine.rs`: a command is matched with its Scheduled
event; cancelling before the command was sent drops the command; TRY_CANCEL sends
RequestCancelActivityTask and resolves the workflow's future at once; WAIT_CANCEL sends
it and resolves when ActivityTaskCanceled (or another close) arrives; ABANDON sends
nothing and resolves at once. Cancelling an activity whose close is among the task's
events does nothing: the close is delivered. Outputs name what the engine does: ``emit_cancel``,
``drop_command``, ``resolve_cancelled`` (ActivityError caused by CancelledError), and
``resolve`` (from the close event).
"""

from __future__ import annotations

from core.enums import EventType
from core.fastenum import Enum
from core.statemachine.fsm import Row, Table, make_table


class SdkActivityState(Enum):
    CREATED = "Created"
    SCHEDULED = "Scheduled"
    STARTED = "Started"
    CANCEL_COMMAND_CREATED = "CancelCommandCreated"
    CANCEL_REQUESTED = "CancelRequested"
    CANCELED_BEFORE_SENT = "CanceledBeforeSent"
    ABANDONED = "Abandoned"
    CLOSED = "Closed"


class ActivityInput(Enum):
    SCHEDULED = "ActivityTaskScheduled"
    STARTED = "ActivityTaskStarted"
    CLOSED = "ActivityTaskCompleted|Failed|TimedOut|Canceled"
    CANCEL_REQUESTED = "ActivityTaskCancelRequested"
    TRY_CANCEL = "cancel(TRY_CANCEL)"
    WAIT_CANCEL = "cancel(WAIT_CANCELLATION_COMPLETED)"
    ABANDON = "cancel(ABANDON)"


S, I = SdkActivityState, ActivityInput  # noqa: E741 - the input alphabet, as in fsm.py
_LIVE = (S.SCHEDULED, S.STARTED)

_CANCELS = (I.TRY_CANCEL, I.WAIT_CANCEL, I.ABANDON)
_ROWS: list[Row[Enum, Enum]] = [
    Row(S.CREATED, I.SCHEDULED, S.SCHEDULED),
    Row(S.SCHEDULED, I.STARTED, S.STARTED),
]
for _s in _LIVE:
    _ROWS += [
        Row(_s, I.CLOSED, S.CLOSED, ("resolve",)),
        Row(_s, I.TRY_CANCEL, S.CANCEL_COMMAND_CREATED, ("emit_cancel", "resolve_cancelled")),
        Row(_s, I.WAIT_CANCEL, S.CANCEL_COMMAND_CREATED, ("emit_cancel",)),
        Row(_s, I.ABANDON, S.ABANDONED, ("resolve_cancelled",)),
    ]
_ROWS += [
    Row(S.CANCEL_COMMAND_CREATED, I.CANCEL_REQUESTED, S.CANCEL_REQUESTED),
    Row(S.CANCEL_REQUESTED, I.STARTED, S.CANCEL_REQUESTED),
    Row(S.CANCEL_REQUESTED, I.CLOSED, S.CLOSED, ("resolve",)),
    Row(S.ABANDONED, I.STARTED, S.ABANDONED),
    Row(S.ABANDONED, I.CLOSED, S.ABANDONED),
]
for _i in _CANCELS:
    _ROWS.append(Row(S.CREATED, _i, S.CANCELED_BEFORE_SENT, ("drop_command", "resolve_cancelled")))
    # Closed in this task's events but not yet delivered: the result wins.
    _ROWS.append(Row(S.CLOSED, _i, S.CLOSED))
TABLE: Table[Enum, Enum] = make_table("replay-activity", "THM-3.1", S, I, S.CREATED, _ROWS)

EVENT_INPUTS: dict[EventType, ActivityInput] = {
    EventType.ACTIVITY_TASK_SCHEDULED: I.SCHEDULED,
    EventType.ACTIVITY_TASK_STARTED: I.STARTED,
    EventType.ACTIVITY_TASK_COMPLETED: I.CLOSED,
    EventType.ACTIVITY_TASK_FAILED: I.CLOSED,
    EventType.ACTIVITY_TASK_TIMED_OUT: I.CLOSED,
    EventType.ACTIVITY_TASK_CANCELED: I.CLOSED,
    EventType.ACTIVITY_TASK_CANCEL_REQUESTED: I.CANCEL_REQUESTED,
}
