"""The handler worker's side of a Nexus operation: PollNexusTaskQueue,
RespondNexusTaskCompleted and RespondNexusTaskFailed (service/frontend/workflow_handler.go
for the validation; the task queues are nexus_tasks.py).

An answer is carried to the caller run as the outbound-queue executor records it
(components/nexusoperations/executors.go, saveResult): a synchronous result completes
the operation; a failure the handler's operation raised fails it, with that failure as
the cause; a handler error fails it when the error is not retryable, and otherwise the
start is tried again after the retry policy's backoff (nexus_attempts.py).
A cancel task's answer is the cancel request's outcome: acknowledged, or failed by a
handler error that is not retryable (a retryable one is retried);
an asynchronous start (an operation token) starts it; its completion comes later, by
the handler run's completion callback (nexus_callbacks.py).
"""

from __future__ import annotations

from typing import Any

import grpc
from temporalio.api.enums.v1 import nexus_pb2 as nexus_enums
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core import requests as rq

from . import convert, errors, standalone_nexus_rpc
from .frontend import Frontend
from .nexus_links import proto_links
from .nexus_tasks import NexusTask, NexusTasks
from .tokens import decode_task_token

Context = grpc.aio.ServicerContext[Any, Any]
TASK_QUEUE_NOT_SET = "TaskQueue is not set on request."
TASK_GONE = "Nexus task not found or already expired"  # matching_engine.go
# nexus-go HandlerError.Retryable: these types are retried unless the error says not to
RETRYABLE_TYPES = frozenset({"RESOURCE_EXHAUSTED", "INTERNAL", "UNAVAILABLE", "UPSTREAM_TIMEOUT"})


def tasks(fe: Frontend) -> NexusTasks:
    if fe.nexus_tasks is None:
        fe.nexus_tasks = NexusTasks(fe)
    return fe.nexus_tasks


async def poll_nexus_task_queue(
    fe: Frontend, req: ws.PollNexusTaskQueueRequest, context: Context
) -> ws.PollNexusTaskQueueResponse:
    fe.namespace(req.namespace)
    if not req.task_queue.name:
        raise errors.invalid(TASK_QUEUE_NOT_SET)
    task = await tasks(fe).poll(req.namespace, req.task_queue.name, fe.deadline(context))
    if task is None:
        return ws.PollNexusTaskQueueResponse()
    return ws.PollNexusTaskQueueResponse(task_token=task.token(), request=task.request)


def _task(fe: Frontend, token: bytes, namespace: str) -> NexusTask:
    decoded = decode_task_token(token)
    if decoded.kind != "nexus":
        raise errors.invalid("Error deserializing task token.")
    fe.namespace(namespace or decoded.namespace)
    task = tasks(fe).take(decoded.query_id)
    if task is None:
        raise errors.not_found(TASK_GONE)
    return task


async def _record(
    fe: Frontend, context: Context, task: NexusTask, result: rq.RecordNexusOperationResult
) -> None:
    """Record the outcome in the caller's history; a caller already closed, or an
    operation no longer pending there, has nothing left to record (the executor drops
    the result)."""
    try:
        await fe.call(context, task.caller_namespace, task.workflow_id, task.run_id, result)
    except errors.ServiceError as exc:
        if exc.code is not grpc.StatusCode.NOT_FOUND:
            raise


async def respond_nexus_task_completed(
    fe: Frontend, req: ws.RespondNexusTaskCompletedRequest, context: Context
) -> ws.RespondNexusTaskCompletedResponse:
    if req.response.WhichOneof("variant") == "cancel_operation":
        task = _task(fe, req.task_token, req.namespace)
        if not task.cancel:
            tasks(fe).offer(task)
            raise errors.invalid("a cancel answer to a start")
        if not task.workflow_id:  # a standalone operation's (standalone_nexus_rpc.py)
            standalone_nexus_rpc.cancel_answered(fe, task)
            return ws.RespondNexusTaskCompletedResponse()
        ids = (task.scheduled_event_id, task.request_id)
        await _record(fe, context, task, rq.RecordNexusOperationResult(*ids, "cancel_completed"))
        return ws.RespondNexusTaskCompletedResponse()
    start = req.response.start_operation
    outcome = start.WhichOneof("variant")
    started = start.async_success
    token = started.operation_token or started.operation_id
    if outcome == "async_success" and not token:
        raise errors.invalid("missing opration token in response")  # sic, the server's
    task = _task(fe, req.task_token, req.namespace)
    if not task.workflow_id and outcome in ("sync_success", "async_success", "failure"):
        standalone_nexus_rpc.start_answered(fe, task, start)
        return ws.RespondNexusTaskCompletedResponse()
    ids = (task.scheduled_event_id, task.request_id)
    if outcome == "sync_success":
        payload = convert.opaque(start.sync_success, "payload")
        links = proto_links(start.sync_success.links)
        result = rq.RecordNexusOperationResult(*ids, "completed", result=payload, links=links)
    elif outcome == "async_success":
        tasks(fe).attempts.succeeded(tasks(fe).key(task), fe.now())  # recordAttempt
        links = proto_links(started.links)
        result = rq.RecordNexusOperationResult(*ids, "started", operation_token=token, links=links)
    elif outcome == "failure":
        # the frontend's OperationError: canceled when the failure says so (nexus_handler.go)
        canceled = start.failure.HasField("canceled_failure_info")
        failure = convert.opaque(start, "failure")
        kind = "canceled" if canceled else "failed"
        result = rq.RecordNexusOperationResult(*ids, kind, failure=failure)
    else:
        tasks(fe).offer(task)  # the start is tried again
        raise errors.unimplemented("RespondNexusTaskCompleted (a legacy operation error)")
    await _record(fe, context, task, result)
    return ws.RespondNexusTaskCompletedResponse()


def _retryable(failure: Any) -> bool:
    info = failure.nexus_handler_failure_info
    behavior = info.retry_behavior
    if behavior == nexus_enums.NEXUS_HANDLER_ERROR_RETRY_BEHAVIOR_RETRYABLE:
        return True
    if behavior == nexus_enums.NEXUS_HANDLER_ERROR_RETRY_BEHAVIOR_NON_RETRYABLE:
        return False
    return info.type in RETRYABLE_TYPES


async def respond_nexus_task_failed(
    fe: Frontend, req: ws.RespondNexusTaskFailedRequest, context: Context
) -> ws.RespondNexusTaskFailedResponse:
    if not req.HasField("error") and not req.HasField("failure"):
        raise errors.invalid("request must contain error or failure")
    if req.HasField("failure") and not req.failure.HasField("nexus_handler_failure_info"):
        raise errors.invalid(
            "request Failure must contain error or failure with NexusHandlerFailureInfo"
        )
    if not req.HasField("failure"):
        raise errors.unimplemented("RespondNexusTaskFailed (a legacy handler error)")
    task = _task(fe, req.task_token, req.namespace)
    if _retryable(req.failure):
        tasks(fe).retry_later(task, req.failure)
        return ws.RespondNexusTaskFailedResponse()
    if not task.workflow_id:
        standalone_nexus_rpc.failed(fe, task, req.failure)
        return ws.RespondNexusTaskFailedResponse()
    failure = convert.opaque(req, "failure")
    result = rq.RecordNexusOperationResult(
        task.scheduled_event_id,
        task.request_id,
        "cancel_failed" if task.cancel else "failed",
        failure=failure,
    )
    await _record(fe, context, task, result)
    return ws.RespondNexusTaskFailedResponse()
