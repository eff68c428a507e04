"""Batch operations: StartBatchOperation, DescribeBatchOperation, ListBatchOperations,
StopBatchOperation, as `service/frontend/workflow_handler.go` serves them.

A batch operation is a run of the batcher's system workflow (batcher.py) whose workflow
id is the job id, on the namespace's internal task queue, with the operation's type and
reason in its memo and the caller's identity and the namespace division
"TemporalBatcher" in its search attributes. Describe and List read that run; Stop
terminates it. Checks and messages are the handler's and `batcher/workflow.go`
ValidateBatchOperation's.
"""

from __future__ import annotations

from typing import Any

import grpc
from temporalio.api.batch.v1 import message_pb2 as batch_pb
from temporalio.api.enums.v1 import batch_operation_pb2 as batch_enums
from temporalio.api.enums.v1 import failed_cause_pb2 as cause_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.errordetails.v1 import message_pb2 as details_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core import payloads
from core.opaque import JsonValue
from core.statemachine.history.service.state import RunStatus

from . import batcher, convert, errors, rpc_executions, rpc_reads, tokens, visibility
from .errors import ServiceError
from .frontend import Frontend
from .internal_worker import QUEUE

Context = grpc.aio.ServicerContext[Any, Any]
MAX_CONCURRENT = 1  # frontend.MaxConcurrentBatchOperationPerNamespace
OPEN_QUERY = (  # batcher/workflow.go OpenBatchOperationQuery
    f"TemporalNamespaceDivision = '{batcher.NAMESPACE_DIVISION}' AND ExecutionStatus = 'Running'"
)
ALL_QUERY = f"TemporalNamespaceDivision = '{batcher.NAMESPACE_DIVISION}'"
REQUIRED = (
    "must provide required parameters: BatchType,Reason,Namespace, AND one of "
    "(Query OR Executions OR TargetExecutions)"
)


def validate(fe: Frontend, req: ws.StartBatchOperationRequest) -> str:
    """batcher.ValidateBatchOperation, then the handler's query check; the operation."""
    kind = req.WhichOneof("operation")
    selectors = sum(map(bool, (req.visibility_query, req.executions, req.target_executions)))
    if kind is None or not req.reason or not req.namespace or selectors == 0:
        raise errors.invalid(REQUIRED)
    if not req.job_id:
        raise errors.invalid("JobId is not set on request.")
    if selectors > 1:
        raise errors.invalid(
            "visibility query, executions, and target executions are mutually exclusive"
        )
    if kind not in batcher.OPERATIONS:
        raise errors.invalid(f"The operation type {kind} is not supported by tmodel serve")
    if kind == "signal_operation" and not req.signal_operation.signal:
        raise errors.invalid("must provide signal name")
    if kind == "reset_operation":
        reset = req.reset_operation
        if reset.HasField("options"):
            if reset.options.WhichOneof("target") is None:
                raise errors.invalid("batch reset missing target")
        elif reset.reset_type not in (1, 2):  # RESET_TYPE_FIRST/LAST_WORKFLOW_TASK
            raise errors.invalid(f"unknown batch reset type {reset.reset_type}")
    fe.namespace(req.namespace)
    if req.visibility_query:
        visibility.parse_query(req.visibility_query, fe.search_attribute_types(req.namespace))
    return kind


async def start_batch_operation(
    fe: Frontend, req: ws.StartBatchOperationRequest, context: Context
) -> ws.StartBatchOperationResponse:
    kind = validate(fe, req)
    if len(rpc_reads.matching(fe, req.namespace, OPEN_QUERY)) >= MAX_CONCURRENT:
        raise ServiceError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "Max concurrent batch operations is reached",
            details_pb.ResourceExhaustedFailure(
                cause=cause_enums.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT,
                scope=cause_enums.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
            ),
        )
    name, batch_type = batcher.OPERATIONS[kind]
    identity = getattr(req, kind).identity
    params: dict[str, JsonValue] = {
        "request": convert.to_json(req),
        "namespaceId": fe.namespace(req.namespace).id,
        "batchType": batch_enums.BatchOperationType.Name(batch_type),
    }
    start = ws.StartWorkflowExecutionRequest(
        namespace=req.namespace,
        workflow_id=req.job_id,
        identity=identity,
        request_id=fe.new_id(),
        workflow_id_conflict_policy=wf_enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
        workflow_id_reuse_policy=wf_enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
    )
    start.workflow_type.name = batcher.WORKFLOW_TYPE
    start.task_queue.name = QUEUE
    start.input.payloads.append(convert.payload_of(params))
    memo = start.memo.fields
    memo[batcher.TYPE_MEMO].CopyFrom(convert.payload_of(name))
    memo[batcher.REASON_MEMO].CopyFrom(convert.payload_of(req.reason))
    if req.visibility_query:
        memo[batcher.QUERY_MEMO].CopyFrom(convert.payload_of(req.visibility_query))
    attributes = start.search_attributes.indexed_fields
    attributes["BatcherUser"].CopyFrom(convert.payload_of(identity))
    attributes["TemporalNamespaceDivision"].CopyFrom(convert.payload_of(batcher.NAMESPACE_DIVISION))
    await rpc_executions.start_workflow_execution(fe, start, context)
    return ws.StartBatchOperationResponse()


def _state(status: RunStatus) -> int:
    """workflow_handler.go getBatchOperationState."""
    if status is RunStatus.RUNNING:
        return batch_enums.BATCH_OPERATION_STATE_RUNNING
    if status is RunStatus.COMPLETED:
        return batch_enums.BATCH_OPERATION_STATE_COMPLETED
    return batch_enums.BATCH_OPERATION_STATE_FAILED


def _text(fields: dict[str, object], key: str) -> str:
    """A string memo or search attribute value (empty when absent)."""
    item = fields.get(key)
    value = payloads.from_payload(item) if isinstance(item, dict) else None
    return value if isinstance(value, str) else ""


def _progress(record: visibility.Record) -> dict[str, JsonValue]:
    """The counts: the result of a completed job, else the last heartbeat's."""
    run = record.run
    if record.status is RunStatus.COMPLETED:
        found = payloads.first(getattr(run.events[-1].attributes, "result", None))
    else:
        found = next((payloads.first(a.heartbeat_details) for a in run.state.activities), None)
    return found if isinstance(found, dict) else {}


def _info(record: visibility.Record) -> batch_pb.BatchOperationInfo:
    info = batch_pb.BatchOperationInfo(
        job_id=record.run.workflow_id,
        state=_state(record.status),  # type: ignore[arg-type]
        operation_type=batcher.TYPE_OF_MEMO.get(_text(record.memo, batcher.TYPE_MEMO), 0),  # type: ignore[arg-type]
    )
    info.start_time.CopyFrom(convert.timestamp(record.start_time))
    if record.close_time:
        info.close_time.CopyFrom(convert.timestamp(record.close_time))
    return info


async def describe_batch_operation(
    fe: Frontend, req: ws.DescribeBatchOperationRequest, context: Context
) -> ws.DescribeBatchOperationResponse:
    if not req.job_id:
        raise errors.invalid("JobId is not set on request.")
    fe.namespace(req.namespace)
    record = visibility.record_of(fe.run(req.namespace, req.job_id))
    info = _info(record)
    counts = _progress(record)
    out = ws.DescribeBatchOperationResponse(
        operation_type=info.operation_type,
        job_id=info.job_id,
        state=info.state,
        identity=_text(record.search_attributes, "BatcherUser"),
        reason=_text(record.memo, batcher.REASON_MEMO),
        query=_text(record.memo, batcher.QUERY_MEMO),
    )
    out.start_time.CopyFrom(info.start_time)
    if info.HasField("close_time"):
        out.close_time.CopyFrom(info.close_time)
    success, failure = _int(counts, "SuccessCount"), _int(counts, "ErrorCount")
    completed = record.status is RunStatus.COMPLETED
    out.total_operation_count = success + failure if completed else _int(counts, "TotalEstimate")
    out.complete_operation_count = success
    out.failure_operation_count = failure
    return out


def _int(counts: dict[str, JsonValue], key: str) -> int:
    value = counts.get(key)
    return value if isinstance(value, int) else 0


async def list_batch_operations(
    fe: Frontend, req: ws.ListBatchOperationsRequest, context: Context
) -> ws.ListBatchOperationsResponse:
    fe.namespace(req.namespace)
    records = rpc_reads.matching(fe, req.namespace, ALL_QUERY)
    start = tokens.int_field(tokens.decode_page_token(req.next_page_token), "offset")
    size = req.page_size if 0 < req.page_size <= rpc_reads.LIST_PAGE else rpc_reads.LIST_PAGE
    out = ws.ListBatchOperationsResponse()
    out.operation_info.extend(_info(r) for r in records[start : start + size])
    if start + size < len(records):
        out.next_page_token = tokens.page_token(offset=start + size)
    return out


async def stop_batch_operation(
    fe: Frontend, req: ws.StopBatchOperationRequest, context: Context
) -> ws.StopBatchOperationResponse:
    if not req.job_id:
        raise errors.invalid("JobId is not set on request.")
    if not req.reason:
        raise errors.invalid("Reason is not set on request.")
    stop = ws.TerminateWorkflowExecutionRequest(
        namespace=req.namespace, reason=req.reason, identity=req.identity
    )
    stop.workflow_execution.workflow_id = req.job_id
    await rpc_executions.terminate_workflow_execution(fe, stop, context)
    return ws.StopBatchOperationResponse()
