"""A sticky worker that takes a query and never answers it, driven with raw gRPC calls so
that nothing but the server decides (the official SDK's worker always answers).

The run's first workflow task completes with no command and a sticky queue whose
schedule-to-start timeout is one second. A "sticky worker" polls that queue, takes the
query task and keeps it. The server gives the sticky dispatch that timeout, then clears
the run's stickiness and dispatches the query to the normal queue, where a second
poller answers it (service/history/api/queryworkflow/api.go: the sticky QueryWorkflow
runs on a context of the sticky schedule-to-start timeout; DeadlineExceeded leads to
ResetStickyTaskQueue and the non-sticky dispatch). The sticky worker's late answer
finds no task (matching's deliverQueryResult), and the signal's workflow task that
follows goes to the normal queue at once: no WorkflowTaskTimedOut in the history."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

from google.protobuf.duration_pb2 import Duration
from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_enums
from temporalio.api.enums.v1 import query_pb2 as query_enums
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.query.v1 import message_pb2 as query_pb
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError

from tests.adapters.serve.sdk import connected, first_workflow_task

NAMESPACE = "default"
STICKY_SECONDS = 1
POLL = timedelta(seconds=30)


async def _answer(client: Client, task: ws.PollWorkflowTaskQueueResponse, text: str) -> None:
    """Answer the query task `task` with the string `text`."""
    assert task.HasField("query"), task
    payload = common_pb.Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())
    await client.workflow_service.respond_query_task_completed(
        ws.RespondQueryTaskCompletedRequest(
            namespace=NAMESPACE,
            task_token=task.task_token,
            completed_type=query_enums.QUERY_RESULT_TYPE_ANSWERED,
            query_result=common_pb.Payloads(payloads=[payload]),
        )
    )


async def _poll(client: Client, queue: tq_pb.TaskQueue) -> ws.PollWorkflowTaskQueueResponse:
    request = ws.PollWorkflowTaskQueueRequest(
        namespace=NAMESPACE, task_queue=queue, identity="raw-poller"
    )
    while True:  # an empty response is a long poll that ended with nothing: poll again
        task = await client.workflow_service.poll_workflow_task_queue(request, timeout=POLL)
        if task.task_token:
            return task


async def drive(address: str) -> tuple[str, bool, str, list[int]]:
    """The query's answer, whether it came after the sticky timeout, the status of the
    sticky worker's late answer, and the run's event types."""
    client = await connected(address)
    service = client.workflow_service
    workflow_id = f"sqt-{uuid.uuid4()}"
    first = await first_workflow_task(client, NAMESPACE, workflow_id)  # queue: workflow_id
    normal = tq_pb.TaskQueue(name=workflow_id, kind=tq_enums.TASK_QUEUE_KIND_NORMAL)
    sticky = tq_pb.TaskQueue(
        name=f"{workflow_id}-sticky", kind=tq_enums.TASK_QUEUE_KIND_STICKY, normal_name=workflow_id
    )
    await service.respond_workflow_task_completed(
        ws.RespondWorkflowTaskCompletedRequest(
            namespace=NAMESPACE,
            task_token=first.task_token,
            identity="raw-worker",
            sticky_attributes=tq_pb.StickyExecutionAttributes(
                worker_task_queue=sticky,
                schedule_to_start_timeout=Duration(seconds=STICKY_SECONDS),
            ),
        )
    )
    kept = asyncio.create_task(_poll(client, sticky))  # takes the query, never answers

    async def answer_from_normal_queue() -> None:
        await _answer(client, await _poll(client, normal), "from the normal queue")

    answering = asyncio.create_task(answer_from_normal_queue())
    await asyncio.sleep(0.5)  # both polls are waiting
    began = time.monotonic()
    result = await service.query_workflow(
        ws.QueryWorkflowRequest(
            namespace=NAMESPACE,
            execution=common_pb.WorkflowExecution(workflow_id=workflow_id),
            query=query_pb.WorkflowQuery(query_type="q"),
        ),
        timeout=timedelta(seconds=20),
    )
    waited = time.monotonic() - began >= STICKY_SECONDS * 0.9
    await answering
    taken = await asyncio.wait_for(kept, 5)
    try:
        await _answer(client, taken, "too late")
        late = "accepted"
    except RPCError as exc:
        late = exc.status.name
    await service.signal_workflow_execution(
        ws.SignalWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_execution=common_pb.WorkflowExecution(workflow_id=workflow_id),
            signal_name="proceed",
            request_id=str(uuid.uuid4()),
        )
    )
    second = await asyncio.wait_for(_poll(client, normal), 20)
    complete = command_pb.Command(
        command_type=command_enums.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION
    )
    complete.complete_workflow_execution_command_attributes.SetInParent()
    await service.respond_workflow_task_completed(
        ws.RespondWorkflowTaskCompletedRequest(
            namespace=NAMESPACE, task_token=second.task_token, commands=[complete]
        )
    )
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    answer = result.query_result.payloads[0].data.decode()
    return answer, waited, late, [int(e.event_type) for e in history.events]
