"""A worker that completes the task carrying an update without answering it, with raw
gRPC calls (no SDK worker, which always answers): the server rejects the update
(RejectUnprocessed, respondworkflowtaskcompleted/workflow_task_completed_handler.go)
and its caller gets the failure unprocessedUpdateFailure
(service/history/workflow/update/errors_failures.go)."""

from __future__ import annotations

import asyncio
import uuid

from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import update_pb2 as update_enums
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.update.v1 import message_pb2 as update_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client

from tests.adapters.serve.sdk import connected

NS = "default"


async def _poll(client: Client, queue: str) -> ws.PollWorkflowTaskQueueResponse:
    request = ws.PollWorkflowTaskQueueRequest(
        namespace=NS, task_queue=tq_pb.TaskQueue(name=queue), identity="raw"
    )
    return await client.workflow_service.poll_workflow_task_queue(request)


async def _complete(client: Client, token: bytes) -> None:
    request = ws.RespondWorkflowTaskCompletedRequest(namespace=NS, task_token=token)
    await client.workflow_service.respond_workflow_task_completed(request)


async def drive(address: str) -> tuple[int, str, str, bool, int]:
    """The update call's stage, its failure's message and type and non-retryable flag,
    and how many events the run has after it (the rejection writes none)."""
    client = await connected(address)
    queue, workflow_id = f"uu-{uuid.uuid4()}", f"uu-{uuid.uuid4()}"
    await client.workflow_service.start_workflow_execution(
        ws.StartWorkflowExecutionRequest(
            namespace=NS,
            workflow_id=workflow_id,
            workflow_type=common_pb.WorkflowType(name="Raw"),
            task_queue=tq_pb.TaskQueue(name=queue),
            request_id=str(uuid.uuid4()),
        )
    )
    await _complete(client, (await _poll(client, queue)).task_token)
    update = ws.UpdateWorkflowExecutionRequest(
        namespace=NS,
        workflow_execution=common_pb.WorkflowExecution(workflow_id=workflow_id),
        request=update_pb.Request(
            meta=update_pb.Meta(update_id="u1", identity="caller"),
            input=update_pb.Input(name="change"),
        ),
        wait_policy=update_pb.WaitPolicy(
            lifecycle_stage=update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
        ),
    )
    call = asyncio.create_task(client.workflow_service.update_workflow_execution(update))
    task = await _poll(client, queue)
    assert [m.protocol_instance_id for m in task.messages] == ["u1"], task.messages
    await _complete(client, task.task_token)  # no acceptance, no rejection
    answer = await call
    failure = answer.outcome.failure
    history = await client.workflow_service.get_workflow_execution_history(
        ws.GetWorkflowExecutionHistoryRequest(
            namespace=NS, execution=common_pb.WorkflowExecution(workflow_id=workflow_id)
        )
    )
    await client.workflow_service.terminate_workflow_execution(
        ws.TerminateWorkflowExecutionRequest(
            namespace=NS, workflow_execution=common_pb.WorkflowExecution(workflow_id=workflow_id)
        )
    )
    return (
        answer.stage,
        failure.message,
        failure.application_failure_info.type,
        failure.application_failure_info.non_retryable,
        len(history.history.events),
    )
