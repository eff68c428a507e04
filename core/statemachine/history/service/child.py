"""Child workflows and external signals/cancels, as the parent's service records them.

```
  StartChildWorkflowExecution ──▶ Initiated ──(transfer: child started)──▶ Started ──▶ closed
                                      └──(transfer: start failed)──▶ StartFailed
  SignalExternal / RequestCancelExternal ──▶ Initiated ──(transfer)──▶ delivered | failed
```

Rules (docs/temporal-semantics.md#child-workflow and #external-signal-and-cancel;
`service/history/transfer_queue_active_task_executor.go`):
the command writes the Initiated event and a transfer task; the transfer executor acts
on the other run and reports back to this one, whose service writes the outcome
(buffered while a workflow task is in flight) and schedules a workflow task. A child's
close reaches the parent only when its chain ends (`NewExecutionRunId == ""`), so a
child's continue-as-new is invisible to the parent. Reports about entities that are no
longer pending (a duplicate delivery of the transfer task) are stale and change
nothing.
"""

from __future__ import annotations

import dataclasses
from enum import Enum

from core.enums import (
    CancelExternalWorkflowExecutionFailedCause,
    EventType,
    RetryState,
    SignalExternalWorkflowExecutionFailedCause,
    StartChildWorkflowExecutionFailedCause,
)
from core.events import (
    ChildWorkflowExecutionCanceledEventAttributes,
    ChildWorkflowExecutionCompletedEventAttributes,
    ChildWorkflowExecutionFailedEventAttributes,
    ChildWorkflowExecutionStartedEventAttributes,
    ChildWorkflowExecutionTerminatedEventAttributes,
    ChildWorkflowExecutionTimedOutEventAttributes,
    ExternalWorkflowExecutionCancelRequestedEventAttributes,
    ExternalWorkflowExecutionSignaledEventAttributes,
    RequestCancelExternalWorkflowExecutionFailedEventAttributes,
    SignalExternalWorkflowExecutionFailedEventAttributes,
    StartChildWorkflowExecutionFailedEventAttributes,
    WorkflowExecution,
    WorkflowType,
)
from core.requests import (
    ChildOutcome,
    Error,
    ErrorKind,
    Ok,
    RecordChildExecutionCompleted,
    RecordChildExecutionStarted,
    RecordExternalResult,
    RecordStartChildExecutionFailed,
)
from core.statemachine import fsm
from core.statemachine.history.service import workflow_task
from core.statemachine.history.service.state import (
    ChildInfo,
    ExternalInfo,
    MutableState,
)
from core.statemachine.history.service.txn import Outcome, Txn, finish, unchanged

E = EventType


class PendingChildState(Enum):
    INITIATED = "Initiated"
    STARTED = "Started"
    START_FAILED = "StartFailed"
    CLOSED = "Closed"


class ChildInput(Enum):
    STARTED = "RecordChildExecutionStarted"
    START_FAILED = "RecordStartChildExecutionFailed"
    CLOSED = "RecordChildExecutionCompleted"


CHILD_TABLE = fsm.make_table(
    "child workflow (service)",
    "INV-RESULT-AT-MOST-ONCE",
    PendingChildState,
    ChildInput,
    PendingChildState.INITIATED,
    [
        (PendingChildState.INITIATED, ChildInput.STARTED, PendingChildState.STARTED),
        (PendingChildState.INITIATED, ChildInput.START_FAILED, PendingChildState.START_FAILED),
        (PendingChildState.STARTED, ChildInput.CLOSED, PendingChildState.CLOSED),
    ],
)


class PendingExternalState(Enum):
    INITIATED = "Initiated"
    DELIVERED = "Delivered"
    FAILED = "Failed"


class ExternalInput(Enum):
    DELIVERED = "delivered"
    FAILED = "failed"


EXTERNAL_TABLE = fsm.make_table(
    "external signal or cancel (service)",
    "INV-RESULT-AT-MOST-ONCE",
    PendingExternalState,
    ExternalInput,
    PendingExternalState.INITIATED,
    [
        (PendingExternalState.INITIATED, ExternalInput.DELIVERED, PendingExternalState.DELIVERED),
        (PendingExternalState.INITIATED, ExternalInput.FAILED, PendingExternalState.FAILED),
    ],
)


def _child_state(info: ChildInfo) -> PendingChildState:
    return PendingChildState.STARTED if info.started_event_id else PendingChildState.INITIATED


def _stale(state: MutableState) -> Outcome:
    return unchanged(state, Error(ErrorKind.NOT_FOUND, "no such pending child or request"))


def put_child(txn: Txn, info: ChildInfo | None, drop: int = 0) -> None:
    """Insert or replace `info`, or with None remove the child `drop`."""
    kept = [
        c
        for c in txn.state.children
        if c.initiated_event_id not in (drop, getattr(info, "initiated_event_id", 0))
    ]
    children = tuple(sorted([*kept, info] if info else kept, key=lambda c: c.initiated_event_id))
    txn.set(children=children)


def record_child_execution_started(
    state: MutableState, req: RecordChildExecutionStarted, now: int
) -> Outcome:
    info = state.child(req.initiated_event_id) if state.running else None
    if info is None or info.started_event_id:
        return _stale(state)
    txn = Txn(state, now)
    write_started(txn, info, req.run_id)
    workflow_task.schedule(txn)
    return finish(txn, Ok())


def write_started(txn: Txn, info: ChildInfo, run_id: str) -> None:
    """Write ChildWorkflowExecutionStarted and mark the child started."""
    fsm.step(CHILD_TABLE, _child_state(info), ChildInput.STARTED)
    started = txn.add(
        E.CHILD_WORKFLOW_EXECUTION_STARTED,
        ChildWorkflowExecutionStartedEventAttributes(
            namespace=info.namespace or txn.state.namespace,
            initiated_event_id=info.initiated_event_id,
            workflow_execution=WorkflowExecution(workflow_id=info.workflow_id, run_id=run_id),
            workflow_type=WorkflowType(name=info.workflow_type),
            header=info.header,
            namespace_id=txn.state.namespace_id,
        ),
    )
    put_child(txn, dataclasses.replace(info, started_event_id=started, run_id=run_id))


def record_start_child_execution_failed(
    state: MutableState, req: RecordStartChildExecutionFailed, now: int
) -> Outcome:
    info = state.child(req.initiated_event_id) if state.running else None
    if info is None or info.started_event_id:
        return _stale(state)
    txn = Txn(state, now)
    write_start_failed(txn, info, req.cause)
    workflow_task.schedule(txn)
    return finish(txn, Ok())


def write_start_failed(
    txn: Txn, info: ChildInfo, cause: StartChildWorkflowExecutionFailedCause
) -> None:
    """Write StartChildWorkflowExecutionFailed and forget the child."""
    fsm.step(CHILD_TABLE, _child_state(info), ChildInput.START_FAILED)
    txn.add(
        E.START_CHILD_WORKFLOW_EXECUTION_FAILED,
        StartChildWorkflowExecutionFailedEventAttributes(
            workflow_id=info.workflow_id,
            workflow_type=WorkflowType(name=info.workflow_type),
            cause=cause,
            initiated_event_id=info.initiated_event_id,
        ),
    )
    put_child(txn, None, drop=info.initiated_event_id)


def record_child_execution_completed(
    state: MutableState, req: RecordChildExecutionCompleted, now: int
) -> Outcome:
    info = state.child(req.initiated_event_id) if state.running else None
    if info is None:
        return _stale(state)
    if not info.started_event_id:
        # The child ran and closed before its start reached the parent (the two
        # transfer tasks raced): the close is retried until the start is recorded
        # (`recordchildworkflowcompleted/api.go` answers ErrWorkflowNotReady).
        return unchanged(state, Error(ErrorKind.NOT_READY, "child start not recorded yet"))
    txn = Txn(state, now)
    write_closed(txn, info, req)
    workflow_task.schedule(txn)
    return finish(txn, Ok())


def write_closed(txn: Txn, info: ChildInfo, req: RecordChildExecutionCompleted) -> None:
    """Write the started child's close event and forget the child."""
    fsm.step(CHILD_TABLE, _child_state(info), ChildInput.CLOSED)
    event_type, attrs = _child_close(info, req)
    state = txn.state
    txn.add(event_type, _with_namespace(attrs, info.namespace or state.namespace, state))
    put_child(txn, None, drop=info.initiated_event_id)


ResultAttributes = (
    ChildWorkflowExecutionCompletedEventAttributes
    | ChildWorkflowExecutionFailedEventAttributes
    | ChildWorkflowExecutionCanceledEventAttributes
    | ChildWorkflowExecutionTimedOutEventAttributes
    | ChildWorkflowExecutionTerminatedEventAttributes
    | ExternalWorkflowExecutionCancelRequestedEventAttributes
    | ExternalWorkflowExecutionSignaledEventAttributes
    | RequestCancelExternalWorkflowExecutionFailedEventAttributes
    | SignalExternalWorkflowExecutionFailedEventAttributes
)


def _with_namespace(
    attrs: ResultAttributes, namespace: str, state: MutableState
) -> ResultAttributes:
    """The event with the target's namespace name and id, as the server writes them on
    child and external results (mutable_state_impl.go, Add*Event)."""
    return dataclasses.replace(attrs, namespace=namespace, namespace_id=state.namespace_id)


def _child_close(
    info: ChildInfo, req: RecordChildExecutionCompleted
) -> tuple[EventType, ResultAttributes]:
    execution = WorkflowExecution(workflow_id=info.workflow_id, run_id=info.run_id)
    kind = WorkflowType(name=info.workflow_type)
    i, s = info.initiated_event_id, info.started_event_id
    o = req.outcome
    if o is ChildOutcome.COMPLETED:
        return E.CHILD_WORKFLOW_EXECUTION_COMPLETED, ChildWorkflowExecutionCompletedEventAttributes(
            result=req.payload,
            workflow_execution=execution,
            workflow_type=kind,
            initiated_event_id=i,
            started_event_id=s,
        )
    if o is ChildOutcome.FAILED:
        return E.CHILD_WORKFLOW_EXECUTION_FAILED, ChildWorkflowExecutionFailedEventAttributes(
            failure=req.payload,
            workflow_execution=execution,
            workflow_type=kind,
            retry_state=RetryState.RETRY_POLICY_NOT_SET,
            initiated_event_id=i,
            started_event_id=s,
        )
    if o is ChildOutcome.CANCELED:
        return E.CHILD_WORKFLOW_EXECUTION_CANCELED, ChildWorkflowExecutionCanceledEventAttributes(
            details=req.payload,
            workflow_execution=execution,
            workflow_type=kind,
            initiated_event_id=i,
            started_event_id=s,
        )
    if o is ChildOutcome.TIMED_OUT:
        return E.CHILD_WORKFLOW_EXECUTION_TIMED_OUT, ChildWorkflowExecutionTimedOutEventAttributes(
            workflow_execution=execution,
            workflow_type=kind,
            retry_state=RetryState.RETRY_POLICY_NOT_SET,
            initiated_event_id=i,
            started_event_id=s,
        )
    return E.CHILD_WORKFLOW_EXECUTION_TERMINATED, ChildWorkflowExecutionTerminatedEventAttributes(
        workflow_execution=execution, workflow_type=kind, initiated_event_id=i, started_event_id=s
    )


def record_external_result(state: MutableState, req: RecordExternalResult, now: int) -> Outcome:
    pending = state.cancels_out if req.cancel else state.signals_out
    info = next((x for x in pending if x.initiated_event_id == req.initiated_event_id), None)
    if info is None or not state.running:
        return _stale(state)
    txn = Txn(state, now)
    outcome = ExternalInput.DELIVERED if req.delivered else ExternalInput.FAILED
    fsm.step(EXTERNAL_TABLE, PendingExternalState.INITIATED, outcome)
    event_type, attrs = _external_event(info, req)
    txn.add(event_type, _with_namespace(attrs, state.namespace, state))
    rest = tuple(x for x in pending if x is not info)
    if req.cancel:
        txn.set(cancels_out=rest)
    else:
        txn.set(signals_out=rest)
    workflow_task.schedule(txn)
    return finish(txn, Ok())


def _external_event(
    info: ExternalInfo, req: RecordExternalResult
) -> tuple[EventType, ResultAttributes]:
    target = WorkflowExecution(workflow_id=info.workflow_id, run_id=info.run_id)
    iid = info.initiated_event_id
    if req.cancel and req.delivered:
        return E.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED, (
            ExternalWorkflowExecutionCancelRequestedEventAttributes(
                initiated_event_id=iid, workflow_execution=target
            )
        )
    if req.cancel:
        return E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, (
            RequestCancelExternalWorkflowExecutionFailedEventAttributes(
                cause=CancelExternalWorkflowExecutionFailedCause(req.cause),
                workflow_execution=target,
                initiated_event_id=iid,
            )
        )
    if req.delivered:
        return (
            E.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
            ExternalWorkflowExecutionSignaledEventAttributes(
                initiated_event_id=iid, workflow_execution=target
            ),
        )
    return E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, (
        SignalExternalWorkflowExecutionFailedEventAttributes(
            cause=SignalExternalWorkflowExecutionFailedCause(req.cause),
            workflow_execution=target,
            initiated_event_id=iid,
        )
    )
