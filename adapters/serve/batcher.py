"""Batch operations as Temporal runs them: a system workflow with one long activity.

`service/worker/batcher/workflow.go` BatchWorkflowProtobuf runs one activity,
`BatchActivityWithProtobuf` (`activities.go`), which lists the executions a visibility
query selects (or takes the executions the request names), applies the operation to
each (terminate, cancel, signal, reset), heartbeats its progress (HeartBeatDetails:
the estimate, successes and failures so far) and returns the final counts. Here the
workflow is written with the model's authoring API and runs on the internal worker
(internal_worker.py); the activity is a coroutine that applies each operation through
the same history service calls the RPC handlers make.

Deviations, each small: the workflow's input is the request as protojson in a
json/plain payload (Temporal encodes the BatchOperationInput proto as json/protobuf);
the final counts are read from the workflow's result, which holds the same
HeartBeatDetails that Temporal also copies into the memo (`attachBatchOperationStats`),
because the model's authoring API has no memo upsert; a resumed activity keeps its
counts and lists again (the listing of running executions already leaves out those it
terminated) instead of resuming from an Elasticsearch page token.
"""

from __future__ import annotations

import uuid
from typing import Any

from google.protobuf import json_format
from temporalio.api.enums.v1 import batch_operation_pb2 as batch_enums
from temporalio.api.enums.v1 import reset_pb2 as reset_enums
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core import requests as rq
from core import workflow
from core.enums import EventType
from core.opaque import JsonValue
from core.statemachine.history.service.reset import reset_request
from core.workflow import Context, RetryPolicy
from sim.nodes.base import Request
from sim.persistence import RunRecord

from . import convert, errors, rpc_reads
from .frontend import Frontend, reply_error
from .internal_worker import ActivityCall, ActivityFailure

WORKFLOW_TYPE = "temporal-sys-batch-workflow-protobuf"  # batcher/fx.go BatchWFTypeProtobufName
ACTIVITY_TYPE = "BatchActivityWithProtobuf"
NAMESPACE_DIVISION = "TemporalBatcher"  # batcher/fx.go NamespaceDivision
INFINITE = 20 * 365 * 86_400  # seconds: workflow.go infiniteDuration
PAGE = 1000  # executions applied between two heartbeats (activities.go pageSize)
# workflow.go batchActivityRetryPolicy and batchActivityOptions
RETRY = RetryPolicy(
    initial_interval=10 * workflow.SECOND,
    backoff_coefficient=1.7,
    maximum_interval=5 * workflow.MINUTE,
)
# activities.go adjustQueryBatchTypeEnum: these act on running executions only (the
# model has no paused status, so statusRunningOrPausedQueryFilter reduces to Running).
RUNNING_ONLY = ("terminate", "cancel", "signal")
# The memo keys of workflow.go, and the operation names it stores in them.
TYPE_MEMO = "batch_operation_type"
REASON_MEMO = "batch_operation_reason"
QUERY_MEMO = "batch_operation_visibility_query"
# The request's oneof field -> (memo name, BatchOperationType): the non-deprecated
# *_WORKFLOW types a describe or a list reports (batchOperationTypeFromString,
# service/frontend/workflow_handler.go).
OPERATIONS = {
    "termination_operation": ("terminate", batch_enums.BATCH_OPERATION_TYPE_TERMINATE_WORKFLOW),
    "cancellation_operation": ("cancel", batch_enums.BATCH_OPERATION_TYPE_CANCEL_WORKFLOW),
    "signal_operation": ("signal", batch_enums.BATCH_OPERATION_TYPE_SIGNAL_WORKFLOW),
    "reset_operation": ("reset", batch_enums.BATCH_OPERATION_TYPE_RESET_WORKFLOW),
}
TYPE_OF_MEMO = {name: kind for name, kind in OPERATIONS.values()}


@workflow.defn(name=WORKFLOW_TYPE)
class BatchWorkflow:
    """workflow.go BatchWorkflowProtobuf: one activity, heartbeating, retried."""

    @workflow.run
    async def run(self, wf: Context, params: dict[str, Any]) -> object:
        return await wf.execute_activity(
            ACTIVITY_TYPE,
            params,
            schedule_to_start_timeout=300,
            start_to_close_timeout=INFINITE,
            heartbeat_timeout=10,  # defaultActivityHeartBeatTimeout
            retry_policy=RETRY,
        )


def details(total: int, success: int, failure: int, page: int = 0) -> dict[str, JsonValue]:
    """HeartBeatDetails as the Go struct encodes to JSON (activities.go)."""
    return {
        "PageToken": None,
        "CurrentPage": page,
        "TotalEstimate": total,
        "SuccessCount": success,
        "ErrorCount": failure,
    }


def request_id(job_id: str, *parts: str) -> str:
    """activities.go deterministicRequestID: SHA-1 name-based UUID of the job and target."""
    return str(uuid.uuid5(uuid.UUID(int=0), ":".join((job_id, *parts))))


class BatchActivity:
    """activities.go BatchActivityWithProtobuf over the frontend's runs."""

    def __init__(self, fe: Frontend) -> None:
        self.fe = fe

    async def __call__(self, call: ActivityCall) -> JsonValue:
        params = call.args[0] if call.args else None
        body = params.get("request") if isinstance(params, dict) else None
        if not isinstance(body, dict):
            raise ActivityFailure("batchParams is nil", "BadInput", True)
        req = json_format.ParseDict(
            body, ws.StartBatchOperationRequest(), ignore_unknown_fields=True
        )
        kind = req.WhichOneof("operation") or ""
        name = OPERATIONS[kind][0] if kind in OPERATIONS else ""
        last = call.last_heartbeat if isinstance(call.last_heartbeat, dict) else {}
        success, failure = _count(last, "SuccessCount"), _count(last, "ErrorCount")
        targets = self._targets(call.namespace, req, name)
        total = _count(last, "TotalEstimate") or len(targets)
        for page, start in enumerate(range(0, len(targets), PAGE), 1):
            for workflow_id, run_id in targets[start : start + PAGE]:
                if await self._apply(call.namespace, req, kind, workflow_id, run_id):
                    success += 1
                else:
                    failure += 1
            if await call.heartbeat(details(total, success, failure, page)):
                break  # the batch workflow was asked to cancel
        return details(total, success, failure)

    def _targets(
        self, namespace: str, req: ws.StartBatchOperationRequest, name: str
    ) -> list[tuple[str, str]]:
        if not req.visibility_query:
            return [(e.workflow_id, e.run_id) for e in req.executions]
        query = req.visibility_query
        if name in RUNNING_ONLY:
            query = f"({query}) AND (ExecutionStatus='Running')"
        try:
            records = rpc_reads.matching(self.fe, namespace, query)
        except errors.ServiceError as exc:  # an InvalidArgument is non-retryable
            raise ActivityFailure(exc.message, "InvalidArgument", True) from None
        return [(r.run.workflow_id, r.run.state.run_id) for r in records]

    async def _apply(
        self, namespace: str, req: ws.StartBatchOperationRequest, kind: str, wid: str, rid: str
    ) -> bool:
        """One execution (processTask): True when done, or when the run is not found
        ("NotFound means wf is not running or deleted"), False on any other error."""
        try:
            operation = self._operation(namespace, req, kind, wid, rid)
            answer = await self.fe.runtime.call(namespace, wid, rid, operation)
            if isinstance(answer, rq.Error):
                raise reply_error(answer, wid)
        except errors.ServiceError as exc:
            return exc.code.name == "NOT_FOUND"
        except ActivityFailure:  # no workflow task to reset to
            return False
        return True

    def _operation(
        self, namespace: str, req: ws.StartBatchOperationRequest, kind: str, wid: str, rid: str
    ) -> Request:
        job = req.job_id
        if kind == "termination_operation":
            return rq.TerminateWorkflowExecution(req.reason, req.termination_operation.identity)
        if kind == "cancellation_operation":
            # the batcher cancels through its SDK client's CancelWorkflow, which gives no
            # reason (service/worker/batcher/activities.go): the event has no cause
            return rq.RequestCancelWorkflowExecution(
                request_id(job, "cancel", wid, rid), "", req.cancellation_operation.identity
            )
        if kind == "signal_operation":
            sig = req.signal_operation
            return rq.SignalWorkflowExecution(
                sig.signal,
                request_id=request_id(job, "signal", wid, rid, sig.signal),
                input=convert.opaque(sig, "input"),
                identity=sig.identity,
                header=convert.opaque(sig, "header"),
            )
        if kind == "reset_operation":
            reset = req.reset_operation
            run = self.fe.run(namespace, wid, rid)
            return reset_request(
                req.reason,
                reset_event_id(run, reset),
                request_id(job, "reset", wid, rid),
                reset.reset_reapply_type,
                (),
                reset.identity,
            )
        raise errors.invalid(f"The operation type {kind} is not supported")


def reset_event_id(run: RunRecord, reset: Any) -> int:
    """activities.go getFirstWorkflowTaskEventID / getLastWorkflowTaskEventID: the first
    (or last) WorkflowTaskCompleted, else the event after the first (or last) scheduled
    workflow task; the options' explicit event id when it names one."""
    options = reset.options if reset.HasField("options") else None
    target = options.WhichOneof("target") if options is not None else None
    if options is not None and target == "workflow_task_id":
        return int(options.workflow_task_id)
    last = target == "last_workflow_task" or (
        options is None and reset.reset_type == reset_enums.RESET_TYPE_LAST_WORKFLOW_TASK
    )
    events = list(reversed(run.events)) if last else list(run.events)
    found = 0
    for event in events:
        if event.event_type is EventType.WORKFLOW_TASK_COMPLETED:
            return event.event_id
        if event.event_type is EventType.WORKFLOW_TASK_SCHEDULED and (last or not found):
            found = event.event_id + 1
    if not found:
        message = "unable to find any scheduled or completed task"
        raise ActivityFailure(message, "NoWorkflowTaskFound", True)
    return found


def _count(heartbeat: dict[str, JsonValue], key: str) -> int:
    value = heartbeat.get(key)
    return value if isinstance(value, int) else 0
