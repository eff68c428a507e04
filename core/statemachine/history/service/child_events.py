"""The events a parent's service writes for its children and its signals and cancels
to other workflows: the child's start, start failure and close (service/child.py) and
the outcome of an external signal or cancel (service/external.py).

Pure builders: each takes the pending record and the report and returns the event's
type and attributes; the entity modules decide when to write them. `apply_report` is
how both entities take a report of the transfer executor.
"""

from __future__ import annotations

from collections.abc import Callable

from core.enums import (
    CancelExternalWorkflowExecutionFailedCause,
    EventType,
    SignalExternalWorkflowExecutionFailedCause,
)
from core.events import (
    ChildWorkflowExecutionCanceledEventAttributes,
    ChildWorkflowExecutionCompletedEventAttributes,
    ChildWorkflowExecutionFailedEventAttributes,
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
from core.fastinit import replace
from core.requests import (
    ChildOutcome,
    Error,
    ErrorKind,
    RecordChildExecutionCompleted,
    RecordExternalResult,
    Reply,
)
from core.statemachine.history.service import workflow_task
from core.statemachine.history.service.state import ChildInfo, ExternalInfo, MutableState
from core.statemachine.history.service.txn import Outcome, Txn, finish, unchanged

E = EventType

# The answer to a report about a child or request no longer pending, or to a closed
# run (Temporal: ErrChildExecutionNotFound, "Pending child execution not found.").
NOT_PENDING = Error(ErrorKind.NOT_FOUND, "no such pending child or request")

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
    | StartChildWorkflowExecutionFailedEventAttributes
)


def apply_report(state: MutableState, now: int, run_row: Callable[[Txn], Reply]) -> Outcome:
    """A report of the transfer executor about a child or an external request, on this
    run's mutable state: the run's rule first (to a closed run, NOT_FOUND before any
    record is looked up), then `run_row` (the entity's `decide`); a report that wrote
    an event schedules a workflow task if none is pending."""
    if not state.running:
        return unchanged(state, NOT_PENDING)
    txn = Txn(state, now)
    reply = run_row(txn)
    if txn.untouched:
        return unchanged(state, reply)
    workflow_task.schedule(txn)
    return finish(txn, reply)


def with_namespace(
    attrs: ResultAttributes, namespace: str, state: MutableState
) -> ResultAttributes:
    """The event with the target's namespace name and id, as the server writes them on
    child and external results and on a child's failed start (mutable_state_impl.go,
    Add*Event)."""
    return replace(attrs, namespace=namespace, namespace_id=state.namespace_id)


def child_close(
    info: ChildInfo, req: RecordChildExecutionCompleted
) -> tuple[EventType, ResultAttributes]:
    """The close event of a started child, by how its chain ended, naming the run
    that ended it (after a continue-as-new or a retry, not the one that started)."""
    execution = WorkflowExecution(workflow_id=info.workflow_id, run_id=req.run_id or info.run_id)
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
            retry_state=req.retry_state,
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
            retry_state=req.retry_state,
            initiated_event_id=i,
            started_event_id=s,
        )
    return E.CHILD_WORKFLOW_EXECUTION_TERMINATED, ChildWorkflowExecutionTerminatedEventAttributes(
        workflow_execution=execution, workflow_type=kind, initiated_event_id=i, started_event_id=s
    )


def external_result(
    info: ExternalInfo, req: RecordExternalResult
) -> tuple[EventType, ResultAttributes]:
    """The event of a signal or cancel request that was delivered or failed."""
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
                initiated_event_id=iid, workflow_execution=target, control=info.control
            ),
        )
    return E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, (
        SignalExternalWorkflowExecutionFailedEventAttributes(
            cause=SignalExternalWorkflowExecutionFailedCause(req.cause),
            workflow_execution=target,
            initiated_event_id=iid,
            control=info.control,
        )
    )
