"""Child workflow lifecycle as the parent's history records it (rule H13).

```
             ChildWorkflowExecutionStarted         Completed | Failed | Canceled |
  Initiated ───────────────────────────────▶ Started ── TimedOut | Terminated ──▶ (closed)
      │ StartChildWorkflowExecutionFailed
      ▼
  StartFailed
```

docs/temporal-semantics.md#child-workflow
(`service/history/transfer_queue_active_task_executor.go`): the parent
writes StartChildWorkflowExecutionInitiated from its command; the transfer queue then
either fails the start (e.g. WORKFLOW_ALREADY_EXISTS) or records the child's start. The
child's close reaches the parent only when the child's chain ends (a child's
continue-as-new or retry is invisible), as exactly one of five close events naming both
the Initiated and the ChildWorkflowExecutionStarted events.
"""

from __future__ import annotations

from core.enums import EventType
from core.events import (
    ChildWorkflowExecutionCanceledEventAttributes,
    ChildWorkflowExecutionCompletedEventAttributes,
    ChildWorkflowExecutionFailedEventAttributes,
    ChildWorkflowExecutionStartedEventAttributes,
    ChildWorkflowExecutionTerminatedEventAttributes,
    ChildWorkflowExecutionTimedOutEventAttributes,
    StartChildWorkflowExecutionFailedEventAttributes,
    StartChildWorkflowExecutionInitiatedEventAttributes,
)
from core.fastenum import Enum
from core.statemachine.fsm import make_table
from core.statemachine.history.fold import Entity, Fold, Handler, follower, opener

RULE = "H13"


class ChildWorkflowState(Enum):
    INITIATED = "Initiated"
    START_FAILED = "StartFailed"
    STARTED = "Started"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"
    TIMED_OUT = "TimedOut"
    TERMINATED = "Terminated"


class ChildWorkflowInput(Enum):
    START_FAILED = "StartChildWorkflowExecutionFailed"
    STARTED = "ChildWorkflowExecutionStarted"
    COMPLETED = "ChildWorkflowExecutionCompleted"
    FAILED = "ChildWorkflowExecutionFailed"
    CANCELED = "ChildWorkflowExecutionCanceled"
    TIMED_OUT = "ChildWorkflowExecutionTimedOut"
    TERMINATED = "ChildWorkflowExecutionTerminated"


_S = ChildWorkflowState
_I = ChildWorkflowInput

TABLE = make_table(
    "child workflow",
    RULE,
    ChildWorkflowState,
    ChildWorkflowInput,
    _S.INITIATED,
    [
        (_S.INITIATED, _I.START_FAILED, _S.START_FAILED),
        (_S.INITIATED, _I.STARTED, _S.STARTED),
        (_S.STARTED, _I.COMPLETED, _S.COMPLETED),
        (_S.STARTED, _I.FAILED, _S.FAILED),
        (_S.STARTED, _I.CANCELED, _S.CANCELED),
        (_S.STARTED, _I.TIMED_OUT, _S.TIMED_OUT),
        (_S.STARTED, _I.TERMINATED, _S.TERMINATED),
    ],
)


def _open(fold: Fold) -> dict[int, Entity[ChildWorkflowState]]:
    return fold.children


_Close = type[
    ChildWorkflowExecutionCompletedEventAttributes
    | ChildWorkflowExecutionFailedEventAttributes
    | ChildWorkflowExecutionCanceledEventAttributes
    | ChildWorkflowExecutionTimedOutEventAttributes
    | ChildWorkflowExecutionTerminatedEventAttributes
]


def _closer(attrs_type: _Close, input_: ChildWorkflowInput) -> Handler:
    return follower(
        TABLE,
        attrs_type,
        _open,
        input_,
        key=lambda a: a.initiated_event_id,
        ref_name="initiated_event_id",
        started=lambda a: a.started_event_id,
    )


HANDLERS: dict[EventType, Handler] = {
    EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED: opener(
        StartChildWorkflowExecutionInitiatedEventAttributes, _open, _S.INITIATED
    ),
    EventType.START_CHILD_WORKFLOW_EXECUTION_FAILED: follower(
        TABLE,
        StartChildWorkflowExecutionFailedEventAttributes,
        _open,
        _I.START_FAILED,
        key=lambda a: a.initiated_event_id,
        ref_name="initiated_event_id",
    ),
    EventType.CHILD_WORKFLOW_EXECUTION_STARTED: follower(
        TABLE,
        ChildWorkflowExecutionStartedEventAttributes,
        _open,
        _I.STARTED,
        key=lambda a: a.initiated_event_id,
        ref_name="initiated_event_id",
        records_start=True,
    ),
    EventType.CHILD_WORKFLOW_EXECUTION_COMPLETED: _closer(
        ChildWorkflowExecutionCompletedEventAttributes, _I.COMPLETED
    ),
    EventType.CHILD_WORKFLOW_EXECUTION_FAILED: _closer(
        ChildWorkflowExecutionFailedEventAttributes, _I.FAILED
    ),
    EventType.CHILD_WORKFLOW_EXECUTION_CANCELED: _closer(
        ChildWorkflowExecutionCanceledEventAttributes, _I.CANCELED
    ),
    EventType.CHILD_WORKFLOW_EXECUTION_TIMED_OUT: _closer(
        ChildWorkflowExecutionTimedOutEventAttributes, _I.TIMED_OUT
    ),
    EventType.CHILD_WORKFLOW_EXECUTION_TERMINATED: _closer(
        ChildWorkflowExecutionTerminatedEventAttributes, _I.TERMINATED
    ),
}
