"""Workflow task lifecycle and its command batch (rules H5, H6, H7, H8).

```
              WorkflowTaskStarted           WorkflowTaskCompleted
  Scheduled ───────────────────────▶ Started ─────────────────────▶ Completed
      │ TimedOut(SCHEDULE_TO_START)     │ Failed            │ TimedOut(START_TO_CLOSE)
      ▼                                 ▼                   ▼
   TimedOut                           Failed             TimedOut
```

Why (docs/temporal-semantics.md#batches-and-buffering and #workflow-task;
`service/history/workflow/workflow_task_state_machine.go`):

- H5: at most one workflow task is open at a time, and its events name it: Started,
  Completed, Failed and TimedOut carry the Scheduled event's id, and the last three the
  Started event's id. Only a task that never started (sticky or speculative) can time
  out SCHEDULE_TO_START; only a started one can time out START_TO_CLOSE. Transient
  attempts (attempt > 1) are written only when they succeed, so they look like any
  other task here.
- H6: WorkflowTaskStarted ends its batch and everything that arrives while the task is
  in flight is buffered, so the event after Started closes the task. Older servers
  wrote WorkflowExecutionTerminated or TimedOut straight after Started (newer ones
  write WorkflowTaskFailed(FORCE_CLOSE_COMMAND) first); both are accepted, as sdk-core's
  `find_end_index_of_next_wft_seq` does.
- H7: an event generated from a command is written in the batch of the
  WorkflowTaskCompleted that carried the command: right after it, in command order,
  and names it in workflow_task_completed_event_id. The batch ends at the first event
  that no command produced (flushed buffered events, the next WorkflowTaskScheduled).
  An ActivityTaskCanceled for an activity cancelled before it started and the update
  protocol's Accepted/Completed events are written inside the batch too.
- H8: the same rule for a close the workflow itself decided (Completed, Failed,
  Canceled, ContinuedAsNew): a run cannot close that way without a completed workflow
  task whose last command closed it.
"""

from __future__ import annotations

from core.enums import EventType, TimeoutType
from core.event_sets import CLOSE_COMMAND_EVENT_TYPES, COMMAND_EVENT_TYPES
from core.events import (
    HistoryEvent,
    WorkflowTaskCompletedEventAttributes,
    WorkflowTaskFailedEventAttributes,
    WorkflowTaskScheduledEventAttributes,
    WorkflowTaskStartedEventAttributes,
    WorkflowTaskTimedOutEventAttributes,
)
from core.fastenum import Enum
from core.statemachine.fsm import make_table
from core.statemachine.history.fold import Entity, Fold, Handler, reference_ok

RULE = "H5"
IN_FLIGHT_RULE = "H6"
COMMAND_BATCH_RULE = "H7"
CLOSE_COMMAND_RULE = "H8"


class WorkflowTaskState(Enum):
    SCHEDULED = "Scheduled"
    STARTED = "Started"
    COMPLETED = "Completed"
    FAILED = "Failed"
    TIMED_OUT = "TimedOut"


class WorkflowTaskInput(Enum):
    STARTED = "WorkflowTaskStarted"
    COMPLETED = "WorkflowTaskCompleted"
    FAILED = "WorkflowTaskFailed"
    TIMED_OUT_START_TO_CLOSE = "WorkflowTaskTimedOut(START_TO_CLOSE)"
    TIMED_OUT_SCHEDULE_TO_START = "WorkflowTaskTimedOut(SCHEDULE_TO_START)"


_S = WorkflowTaskState
_I = WorkflowTaskInput

TABLE = make_table(
    "workflow task",
    RULE,
    WorkflowTaskState,
    WorkflowTaskInput,
    _S.SCHEDULED,
    [
        (_S.SCHEDULED, _I.STARTED, _S.STARTED),
        (_S.SCHEDULED, _I.TIMED_OUT_SCHEDULE_TO_START, _S.TIMED_OUT),
        (_S.STARTED, _I.COMPLETED, _S.COMPLETED),
        (_S.STARTED, _I.FAILED, _S.FAILED),
        (_S.STARTED, _I.TIMED_OUT_START_TO_CLOSE, _S.TIMED_OUT),
    ],
)

# Members read once, for the handlers: reading one off its class (`_I.STARTED`) goes
# through EnumType.__getattr__'s hook each time, about the cost of a Python call.
_SCHEDULED, _STARTED = _S.SCHEDULED, _S.STARTED
_ON_STARTED, _ON_COMPLETED, _ON_FAILED = _I.STARTED, _I.COMPLETED, _I.FAILED
_ON_TIMED_OUT_TO_START = _I.TIMED_OUT_SCHEDULE_TO_START
_ON_TIMED_OUT_TO_CLOSE = _I.TIMED_OUT_START_TO_CLOSE
_SCHEDULE_TO_START = TimeoutType.SCHEDULE_TO_START
_START_TO_CLOSE = TimeoutType.START_TO_CLOSE

# What may directly follow WorkflowTaskStarted (H6).
_CLOSES_IN_FLIGHT_TASK = frozenset(
    {
        EventType.WORKFLOW_TASK_COMPLETED,
        EventType.WORKFLOW_TASK_FAILED,
        EventType.WORKFLOW_TASK_TIMED_OUT,
        EventType.WORKFLOW_EXECUTION_TERMINATED,
        EventType.WORKFLOW_EXECUTION_TIMED_OUT,
    }
)

# The events a command batch may hold: commands, and events written inside a batch
# without being commands themselves; any other event closes the batch.
STAYS_IN_BATCH = COMMAND_EVENT_TYPES | {
    EventType.ACTIVITY_TASK_CANCELED,
    EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    EventType.WORKFLOW_EXECUTION_UPDATE_COMPLETED,
}


def check_in_flight(fold: Fold, event: HistoryEvent) -> None:
    """H6: called for the event right after WorkflowTaskStarted."""
    fold.awaiting_wft_close = False
    if event.event_type not in _CLOSES_IN_FLIGHT_TASK:
        fold.violate(
            IN_FLIGHT_RULE,
            event,
            f"{event.event_type.name} written while workflow task started at event "
            f"{event.event_id - 1} was in flight (it must be buffered)",
        )


def check_command_batch(fold: Fold, event: HistoryEvent) -> None:
    """H7/H8: command events sit in the batch of the WorkflowTaskCompleted they name."""
    etype = event.event_type
    if etype not in STAYS_IN_BATCH:
        fold.command_window = 0
        return
    if etype not in COMMAND_EVENT_TYPES:
        return
    wtc: int = getattr(event.attributes, "workflow_task_completed_event_id", -1)
    if wtc == -1:  # opaque (Nexus) attributes: position only
        wtc = fold.command_window
    window = fold.command_window
    if window and wtc == window:
        return
    rule = CLOSE_COMMAND_RULE if etype in CLOSE_COMMAND_EVENT_TYPES else COMMAND_BATCH_RULE
    where = (
        f"the open batch is that of event {window}"
        if window
        else "no WorkflowTaskCompleted batch is open"
    )
    fold.violate(
        rule,
        event,
        f"{etype.name} names workflow_task_completed_event_id={wtc}, but {where}",
    )


def on_scheduled(fold: Fold, event: HistoryEvent) -> None:
    if not isinstance(event.attributes, WorkflowTaskScheduledEventAttributes):
        return
    if fold.wft is not None:
        fold.violate(
            RULE,
            event,
            f"WorkflowTaskScheduled while the workflow task scheduled at event "
            f"{fold.wft.opened_by} is still {fold.wft.state.value}",
        )
    fold.wft = Entity(_SCHEDULED, event.event_id)


def _step(
    fold: Fold, event: HistoryEvent, input_: WorkflowTaskInput, scheduled: int, started: int
) -> Entity[WorkflowTaskState] | None:
    wft = fold.wft
    event_id = event.event_id
    # The references' usual case inline; `reference_ok` checks again and reports.
    if not (0 < scheduled < event_id or reference_ok(fold, event, "scheduled_event_id", scheduled)):
        return None
    if (
        input_ is not _ON_STARTED
        and started
        and not (0 < started < event_id or reference_ok(fold, event, "started_event_id", started))
    ):
        return None
    if wft is None:
        fold.violate(RULE, event, f"{event.event_type.name} but no workflow task is open")
        return None
    row = TABLE.next.get((wft.state, input_))
    if row is None:
        fold.violate(
            RULE,
            event,
            f"{input_.value} is not allowed for a workflow task in state {wft.state.value}",
        )
        fold.wft = None if wft.state is _STARTED else wft
        return None
    if scheduled != wft.opened_by or (
        input_ is not _ON_STARTED and started != wft.started_event_id
    ):
        fold.violate(
            RULE,
            event,
            f"{event.event_type.name} names scheduled={scheduled}, started={started}; the open "
            f"workflow task is scheduled={wft.opened_by}, started={wft.started_event_id}",
        )
    wft.state = row.target
    if row.target in TABLE.terminal:
        fold.wft = None
    return wft


def on_started(fold: Fold, event: HistoryEvent) -> None:
    attrs = event.attributes
    if not isinstance(attrs, WorkflowTaskStartedEventAttributes):
        return
    wft = _step(fold, event, _ON_STARTED, attrs.scheduled_event_id, 0)
    if wft is not None:
        wft.started_event_id = event.event_id
        fold.awaiting_wft_close = True


def on_completed(fold: Fold, event: HistoryEvent) -> None:
    attrs = event.attributes
    if isinstance(attrs, WorkflowTaskCompletedEventAttributes):
        _step(fold, event, _ON_COMPLETED, attrs.scheduled_event_id, attrs.started_event_id)
        fold.command_window = event.event_id


def on_failed(fold: Fold, event: HistoryEvent) -> None:
    attrs = event.attributes
    if isinstance(attrs, WorkflowTaskFailedEventAttributes):
        _step(fold, event, _ON_FAILED, attrs.scheduled_event_id, attrs.started_event_id)


def on_timed_out(fold: Fold, event: HistoryEvent) -> None:
    attrs = event.attributes
    if not isinstance(attrs, WorkflowTaskTimedOutEventAttributes):
        return
    kind = attrs.timeout_type
    if kind is _SCHEDULE_TO_START:
        _step(fold, event, _ON_TIMED_OUT_TO_START, attrs.scheduled_event_id, 0)
    elif kind is _START_TO_CLOSE:
        _step(
            fold,
            event,
            _ON_TIMED_OUT_TO_CLOSE,
            attrs.scheduled_event_id,
            attrs.started_event_id,
        )
    else:
        fold.violate(RULE, event, f"WorkflowTaskTimedOut with timeout_type {kind.name}")
        fold.wft = None


HANDLERS: dict[EventType, Handler] = {
    EventType.WORKFLOW_TASK_SCHEDULED: on_scheduled,
    EventType.WORKFLOW_TASK_STARTED: on_started,
    EventType.WORKFLOW_TASK_COMPLETED: on_completed,
    EventType.WORKFLOW_TASK_FAILED: on_failed,
    EventType.WORKFLOW_TASK_TIMED_OUT: on_timed_out,
}
