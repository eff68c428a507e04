"""A child workflow, as its parent's service records it: every rule of it, as rows of
one table that decides.

```
  StartChildWorkflowExecution     RecordChildExecutionStarted     RecordChildExecutionCompleted
  ──────────────────────────▶ Initiated ─────────────────────▶ Started ─────────────────────▶ Closed
                                  │ RecordStartChildExecutionFailed                             ▲
                                  └─────────────────────────────────────────────────────────────┘
```

How it runs (as service/activity.py): the transfer executor's report about the child
is turned into one `ChildInput` by `classify`; the child's state is read off its record
(`state_of`: a record no longer pending is `Closed`); `fsm.decide` picks the row; the
handler the row names writes the event; a row ending in Closed deletes the record
(here, not in a handler); and the state the handler leaves is checked to be the row's
target. Stale, duplicate and early reports are rows too.

Rules (docs/temporal-semantics.md#child-workflow;
`service/history/transfer_queue_active_task_executor.go` recordChildExecutionStarted and
recordStartChildExecutionFailed; `service/history/api/recordchildworkflowcompleted/api.go`):

- StartChildWorkflowExecution (validated in command_handlers.py) writes the Initiated
  event, the pending record (`put_child`) and the transfer task that starts the child.
- The child's start, or its start failure, is recorded only while the child is
  Initiated; a report about a child already started, or no longer pending (the transfer
  task delivered again), is NOT_FOUND and changes nothing.
- A child's close reaches the parent only when its chain ends (`NewExecutionRunId ==
  ""`), so a child's continue-as-new is invisible here. A close that arrives before the
  start was recorded (the two transfer tasks raced) is NOT_READY: the child's side
  retries it until the start is recorded.
- Every event written is buffered while a workflow task is in flight, and a report
  that wrote one schedules a workflow task if none is pending (`handle`, through
  `child_events.apply_report`).
- The run's rule comes first: a report to a closed parent is NOT_FOUND.
- A reset's new run replays the child's later events through the same rows
  (`reapply`); a report its child is not in the state for changes nothing.

The parent's cancel of a child is a RequestCancelExternalWorkflowExecution
(service/external.py) and its termination a parent close policy applied when the parent
closes (execution.py): neither changes the child's record in the parent, as Temporal's
ChildExecutionInfo (proto/internal/.../persistence/v1/executions.proto) has no field
for them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TypeAlias

from core.enums import EventType
from core.errors import InvalidDefinition
from core.events import (
    ChildWorkflowExecutionStartedEventAttributes,
    StartChildWorkflowExecutionFailedEventAttributes,
    WorkflowExecution,
    WorkflowType,
)
from core.fastenum import Enum
from core.fastinit import replace
from core.requests import (
    Error,
    ErrorKind,
    Ok,
    RecordChildExecutionCompleted,
    RecordChildExecutionStarted,
    RecordStartChildExecutionFailed,
    Reply,
)
from core.statemachine import fsm
from core.statemachine.history.service.child_events import (
    NOT_PENDING,
    apply_report,
    child_close,
    with_namespace,
)
from core.statemachine.history.service.state import ChildInfo, MutableState
from core.statemachine.history.service.txn import Outcome, Txn

E = EventType

ChildRequest: TypeAlias = (
    RecordChildExecutionStarted | RecordStartChildExecutionFailed | RecordChildExecutionCompleted
)


class PendingChildState(Enum):
    """A child workflow in its parent's mutable state (the pending ChildExecutionInfo).

    The SDK side's machine is `core.statemachine.replay.child.SdkChildState`, the
    validator's `core.statemachine.history.child` (an event-level lifecycle)."""

    INITIATED = "Initiated"  # its Initiated event written, its start not yet recorded
    STARTED = "Started"  # ChildWorkflowExecutionStarted written
    CLOSED = "Closed"  # start failed or closed: its record deleted (or never known)


class ChildInput(Enum):
    RECORD_STARTED = "RecordChildExecutionStarted"
    RECORD_START_FAILED = "RecordStartChildExecutionFailed"
    RECORD_COMPLETED = "RecordChildExecutionCompleted"


_S = PendingChildState
_I = ChildInput
R = fsm.Row

TABLE = fsm.make_table(
    "child workflow (service)",
    "INV-RESULT-AT-MOST-ONCE",
    PendingChildState,
    ChildInput,
    _S.INITIATED,
    [
        R(_S.INITIATED, _I.RECORD_STARTED, _S.STARTED, handler="start"),
        R(_S.INITIATED, _I.RECORD_START_FAILED, _S.CLOSED, handler="start_failed"),
        R(_S.INITIATED, _I.RECORD_COMPLETED, _S.INITIATED, handler="reject_not_ready"),
        # The start task delivered again, or a failure reported after the start.
        R(_S.STARTED, _I.RECORD_STARTED, _S.STARTED, handler="reject_not_found"),
        R(_S.STARTED, _I.RECORD_START_FAILED, _S.STARTED, handler="reject_not_found"),
        R(_S.STARTED, _I.RECORD_COMPLETED, _S.CLOSED, handler="close"),
        # Duplicate and late reports about a child no longer pending.
        *(R(_S.CLOSED, i, _S.CLOSED, handler="reject_not_found") for i in ChildInput),
    ],
)

_INPUT_OF: dict[type, ChildInput] = {
    RecordChildExecutionStarted: _I.RECORD_STARTED,
    RecordStartChildExecutionFailed: _I.RECORD_START_FAILED,
    RecordChildExecutionCompleted: _I.RECORD_COMPLETED,
}


def classify(request: ChildRequest) -> ChildInput:
    """The table input a report about a child is."""
    return _INPUT_OF[type(request)]


def state_of(info: ChildInfo | None) -> PendingChildState:
    """The state a child is in, read off its pending record (None: not pending)."""
    if info is None:
        return _S.CLOSED
    return _S.STARTED if info.started_event_id else _S.INITIATED


Row: TypeAlias = fsm.Row[PendingChildState, ChildInput]


@dataclasses.dataclass(slots=True)
class Call:
    """One report being decided: the transaction, the record it names, the report."""

    txn: Txn
    info: ChildInfo | None
    request: ChildRequest

    def record(self) -> ChildInfo:
        """The pending record (every row that reads it starts from a pending state)."""
        if self.info is None:
            raise InvalidDefinition(f"{TABLE.name}: a Closed row read the record")
        return self.info


def decide(txn: Txn, request: ChildRequest) -> tuple[Row, Reply]:
    """Run the row `request` selects on the child it names; return the row and the
    reply. The state the handler leaves must be the row's target."""
    key = request.initiated_event_id
    info = txn.state.child(key)
    row = fsm.decide(TABLE, state_of(info), classify(request))
    reply = HANDLERS[row.handler](Call(txn, info, request))
    if row.target is _S.CLOSED and row.source is not _S.CLOSED:
        drop_child(txn, key)  # the table closes it (DeleteChildExecution, mutable_state_impl.go)
    fsm.check_target(TABLE, row, state_of(txn.state.child(key)))
    return row, reply


def handle(state: MutableState, request: ChildRequest, now: int) -> Outcome:
    """A report of the transfer executor about a child, on the parent's mutable state."""
    return apply_report(state, now, lambda txn: decide(txn, request)[1])


def reapply(txn: Txn, request: ChildRequest) -> None:
    """A child's later event replayed into a reset's new run (`reapplyChildEvents`):
    the row the table picks for it; a rejecting row writes nothing."""
    decide(txn, request)


def put_child(txn: Txn, info: ChildInfo) -> None:
    """Insert or replace a pending child, keeping the tuple sorted by initiated id."""
    kept = [c for c in txn.state.children if c.initiated_event_id != info.initiated_event_id]
    txn.set(children=tuple(sorted([*kept, info], key=lambda c: c.initiated_event_id)))


def drop_child(txn: Txn, initiated_event_id: int) -> None:
    """Delete a child's record (child.decide, for a row ending in Closed)."""
    txn.set(
        children=tuple(c for c in txn.state.children if c.initiated_event_id != initiated_event_id)
    )


# --- handlers: what the rows name; each leaves the child in its row's target ---------


def _start(call: Call) -> Reply:
    info, request, txn = call.record(), call.request, call.txn
    assert isinstance(request, RecordChildExecutionStarted)
    started = txn.add(
        E.CHILD_WORKFLOW_EXECUTION_STARTED,
        ChildWorkflowExecutionStartedEventAttributes(
            namespace=info.namespace or txn.state.namespace,
            initiated_event_id=info.initiated_event_id,
            workflow_execution=WorkflowExecution(
                workflow_id=info.workflow_id, run_id=request.run_id
            ),
            workflow_type=WorkflowType(name=info.workflow_type),
            header=info.header,
            namespace_id=txn.state.namespace_id,
        ),
    )
    put_child(txn, replace(info, started_event_id=started, run_id=request.run_id))
    return Ok()


def _start_failed(call: Call) -> Reply:
    info, request = call.record(), call.request
    assert isinstance(request, RecordStartChildExecutionFailed)
    # The event names the target namespace, by name and id, like the child's other
    # results (CreateStartChildWorkflowExecutionFailedEvent in
    # service/history/historybuilder/event_factory.go).
    attrs = StartChildWorkflowExecutionFailedEventAttributes(
        workflow_id=info.workflow_id,
        workflow_type=WorkflowType(name=info.workflow_type),
        cause=request.cause,
        initiated_event_id=info.initiated_event_id,
        control=info.control,
    )
    call.txn.add(
        E.START_CHILD_WORKFLOW_EXECUTION_FAILED,
        with_namespace(attrs, info.namespace or call.txn.state.namespace, call.txn.state),
    )
    return Ok()


def _close(call: Call) -> Reply:
    info, request, txn = call.record(), call.request, call.txn
    assert isinstance(request, RecordChildExecutionCompleted)
    event_type, attrs = child_close(info, request)
    txn.add(event_type, with_namespace(attrs, info.namespace or txn.state.namespace, txn.state))
    return Ok()


HANDLERS: dict[str, Callable[[Call], Reply]] = {
    "start": _start,
    "start_failed": _start_failed,
    "close": _close,
    # `recordchildworkflowcompleted/api.go` answers ErrWorkflowNotReady
    "reject_not_ready": lambda call: Error(ErrorKind.NOT_READY, "child start not recorded yet"),
    "reject_not_found": lambda call: NOT_PENDING,
}
