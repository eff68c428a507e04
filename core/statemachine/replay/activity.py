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

from enum import Enum

from core.enums import EventType
from core.statemachine.fsm import Row, make_table


class ActivityState(Enum):
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


S, I = ActivityState, ActivityInput  # noqa: E741 - the input alphabet, as in fsm.py
_LIVE = (S.SCHEDULED, S.STARTED)

TABLE = make_table(
    "replay-activity",
    "THM-3.1",
    S,
    I,
    S.CREATED,
    [
        (S.CREATED, I.SCHEDULED, S.SCHEDULED),
        Row(S.CREATED, I.TRY_CANCEL, S.CANCELED_BEFORE_SENT, ("drop_command", "resolve_cancelled")),
        Row(
            S.CREATED, I.WAIT_CANCEL, S.CANCELED_BEFORE_SENT, ("drop_command", "resolve_cancelled")
        ),
        Row(S.CREATED, I.ABANDON, S.CANCELED_BEFORE_SENT, ("drop_command", "resolve_cancelled")),
        (S.SCHEDULED, I.STARTED, S.STARTED),
        *(Row(s, I.CLOSED, S.CLOSED, ("resolve",)) for s in _LIVE),
        *(
            Row(s, I.TRY_CANCEL, S.CANCEL_COMMAND_CREATED, ("emit_cancel", "resolve_cancelled"))
            for s in _LIVE
        ),
        *(Row(s, I.WAIT_CANCEL, S.CANCEL_COMMAND_CREATED, ("emit_cancel",)) for s in _LIVE),
        *(Row(s, I.ABANDON, S.ABANDONED, ("resolve_cancelled",)) for s in _LIVE),
        (S.CANCEL_COMMAND_CREATED, I.CANCEL_REQUESTED, S.CANCEL_REQUESTED),
        (S.CANCEL_REQUESTED, I.STARTED, S.CANCEL_REQUESTED),
        Row(S.CANCEL_REQUESTED, I.CLOSED, S.CLOSED, ("resolve",)),
        (S.ABANDONED, I.STARTED, S.ABANDONED),
        (S.ABANDONED, I.CLOSED, S.ABANDONED),
        # Closed in this task's events but not yet delivered: the result wins.
        *((S.CLOSED, i, S.CLOSED) for i in (I.TRY_CANCEL, I.WAIT_CANCEL, I.ABANDON)),
    ],
)

EVENT_INPUTS: dict[EventType, ActivityInput] = {
    EventType.ACTIVITY_TASK_SCHEDULED: I.SCHEDULED,
    EventType.ACTIVITY_TASK_STARTED: I.STARTED,
    EventType.ACTIVITY_TASK_COMPLETED: I.CLOSED,
    EventType.ACTIVITY_TASK_FAILED: I.CLOSED,
    EventType.ACTIVITY_TASK_TIMED_OUT: I.CLOSED,
    EventType.ACTIVITY_TASK_CANCELED: I.CLOSED,
    EventType.ACTIVITY_TASK_CANCEL_REQUESTED: I.CANCEL_REQUESTED,
}
