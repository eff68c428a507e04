"""The requests a run sends to other runs, built from its Initiated events.

A StartChildWorkflowExecutionInitiated, SignalExternalWorkflowExecutionInitiated or
RequestCancelExternalWorkflowExecutionInitiated event comes with a transfer task; the
transfer executor reads the event to build its request
(`service/history/transfer_queue_active_task_executor.go`, processStartChildExecution,
processSignalExecution, processCancelExecution). Building the tasks from the events
lets a run rebuilt from its history (rebuild.py) emit the same requests the command
handlers emitted.
"""

from __future__ import annotations

from core.events import (
    RequestCancelExternalWorkflowExecutionInitiatedEventAttributes,
    SignalExternalWorkflowExecutionInitiatedEventAttributes,
    StartChildWorkflowExecutionInitiatedEventAttributes,
    WorkflowExecution,
)
from core.opaque import Opaque
from core.requests import (
    CancelExternalTransfer,
    RequestCancelWorkflowExecution,
    SignalExternalTransfer,
    SignalWorkflowExecution,
    StartChildTransfer,
    StartWorkflowExecution,
)
from core.statemachine.history.service import versioning
from core.statemachine.history.service.ids import new_run_id
from core.statemachine.history.service.state import MutableState, ParentInfo

# The identity the history service signs its own requests with (external signals and
# cancels reach their target as requests from it; transfer_queue_active_task_executor.go).
HISTORY_SERVICE = "history-service"


def start_child_transfer(
    s: MutableState,
    initiated: int,
    a: StartChildWorkflowExecutionInitiatedEventAttributes,
    user_metadata: Opaque | None = None,
) -> StartChildTransfer:
    """The transfer task that starts the child `a` describes.

    Built from the Initiated event, as the transfer executor does
    (`processStartChildExecution` reads the event), so a run rebuilt from its history
    (rebuild.py) emits the same request. The child's request id names this run and the
    Initiated event (`generateChildWorkflowRequestID` in mutable_state_impl.go). The
    start carries the Initiated event's user metadata, its priority merged over the
    parent's (`startChildWorkflow` in transfer_queue_active_task_executor.go;
    `priorities.Merge`), and its versioning override or what the child inherits of the
    parent's versioning (versioning.py `child`).
    """
    workflow_type = a.workflow_type.name if a.workflow_type is not None else ""
    queue = a.task_queue.name if a.task_queue is not None else s.task_queue
    return StartChildTransfer(
        initiated,
        StartWorkflowExecution(
            namespace=a.namespace,
            workflow_id=a.workflow_id,
            run_id=new_run_id(s.run_id, f"child/{initiated}"),
            workflow_type=workflow_type,
            task_queue=queue,
            request_id=child_request_id(s.run_id, initiated),
            input=a.input,
            workflow_task_timeout=a.workflow_task_timeout or s.workflow_task_timeout,
            run_timeout=a.workflow_run_timeout or 0,
            execution_timeout=a.workflow_execution_timeout or 0,
            # the child's start takes the command's Duration as it is
            # (transfer_queue_active_task_executor.go)
            explicit_execution_timeout=a.workflow_execution_timeout is not None,
            parent=ParentInfo(s.workflow_id, s.run_id, initiated),
            retry_policy=a.retry_policy,
            id_reuse_policy=a.workflow_id_reuse_policy,
            header=a.header,
            memo=a.memo,
            search_attributes=a.search_attributes,
            cron_schedule=a.cron_schedule,  # (the child's start waits for it: start_fields.py)
            priority=merged_priority(s.priority, a.priority),
            namespace_id=s.namespace_id,
            root=s.root,
            explicit_run_timeout=True,
            user_metadata=user_metadata,
            versioning=versioning.child(s, a.versioning_override, queue),
        ),
    )


def child_request_id(run_id: str, initiated: int) -> str:
    """The request id of a child's start: the parent's run id, the Initiated event's id
    and its version, 0 here, where every event is written at version 0
    (`generateChildWorkflowRequestID`, service/history/workflow/mutable_state_impl.go).
    The child's Describe shows it among its request ids."""
    return f"{run_id}:{initiated}:0"


def merged_priority(base: Opaque | None, override: Opaque | None) -> Opaque | None:
    """`Merge` in common/priorities/priority_util.go: each field the override's when
    set, else the base's; either alone when the other is unset."""
    if base is None:
        return override
    if override is None:
        return base
    low, high = base.value(), override.value()
    if not isinstance(low, dict) or not isinstance(high, dict):
        return override
    fields = ("priorityKey", "fairnessKey", "fairnessWeight")
    merged = {k: high.get(k) or low.get(k) for k in fields}
    return Opaque.of({k: v for k, v in merged.items() if v})


def signal_external_transfer(
    s: MutableState, initiated: int, a: SignalExternalWorkflowExecutionInitiatedEventAttributes
) -> SignalExternalTransfer:
    """The transfer task that delivers the signal `a` describes."""
    target = a.workflow_execution or WorkflowExecution()
    return SignalExternalTransfer(
        initiated,
        target.workflow_id,
        target.run_id,
        SignalWorkflowExecution(
            a.signal_name,
            request_id=f"{s.run_id}/{initiated}",
            input=a.input,
            identity=HISTORY_SERVICE,
            header=a.header,
            external_workflow_id=s.workflow_id,
            external_run_id=s.run_id,
        ),
    )


def cancel_external_transfer(
    s: MutableState,
    initiated: int,
    a: RequestCancelExternalWorkflowExecutionInitiatedEventAttributes,
) -> CancelExternalTransfer:
    """The transfer task that delivers the cancel request `a` describes."""
    target = a.workflow_execution or WorkflowExecution()
    return CancelExternalTransfer(
        initiated,
        target.workflow_id,
        target.run_id,
        RequestCancelWorkflowExecution(
            request_id=f"{s.run_id}/{initiated}",
            reason=a.reason,
            identity=HISTORY_SERVICE,
            external_initiated_event_id=initiated,
            external_workflow_id=s.workflow_id,
            external_run_id=s.run_id,
        ),
    )
