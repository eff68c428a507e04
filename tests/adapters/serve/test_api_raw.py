"""`tmodel serve` with the test acting as the worker (raw WorkflowService calls): stale
task tokens, a query while the workflow task keeps failing, and an update that arrives
while a workflow task runs. Expected codes and messages are the dev server's (measured
with the same raw protocol); the update case was measured for this
test against `temporal server start-dev` 1.32.0.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import failed_cause_pb2 as cause_enums
from temporalio.api.enums.v1 import update_pb2 as update_enums
from temporalio.api.failure.v1 import message_pb2 as failure_pb
from temporalio.api.query.v1 import message_pb2 as query_pb
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.update.v1 import message_pb2 as update_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.adapters.serve.sdk import (
    QUEUE,
    TOKENS,
    CallsOutside,
    bounded,
    details,
    eventually,
    execution,
    rpc_error,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
NOT_FOUND = ["temporal.api.errordetails.v1.NotFoundFailure"]
POLL = timedelta(seconds=10)


async def start_raw(client: Client, workflow_id: str) -> ws.PollWorkflowTaskQueueRequest:
    """Start a run on a queue of its own; the poll request that takes its tasks."""
    queue = tq_pb.TaskQueue(name=workflow_id)
    await client.workflow_service.start_workflow_execution(
        ws.StartWorkflowExecutionRequest(
            namespace="default",
            workflow_id=workflow_id,
            workflow_type=common_pb.WorkflowType(name="Raw"),
            task_queue=queue,
            request_id=workflow_id,
        )
    )
    return ws.PollWorkflowTaskQueueRequest(namespace="default", task_queue=queue, identity="raw")


@bounded
async def test_a_stale_workflow_task_token_is_not_found(client: Client) -> None:
    service = client.workflow_service
    poll = await start_raw(client, "raw-stale")
    task = await service.poll_workflow_task_queue(poll, timeout=POLL)
    complete = ws.RespondWorkflowTaskCompletedRequest(
        namespace="default", task_token=task.task_token, identity="raw"
    )
    await service.respond_workflow_task_completed(complete)
    twice = await rpc_error(service.respond_workflow_task_completed(complete))
    failed = await rpc_error(
        service.respond_workflow_task_failed(
            ws.RespondWorkflowTaskFailedRequest(
                namespace="default", task_token=task.task_token, identity="raw"
            )
        )
    )
    for error in (twice, failed):
        assert (error.status, error.message, details(error)) == (
            RPCStatusCode.NOT_FOUND,
            "Workflow task not found.",
            NOT_FOUND,
        )
    await client.get_workflow_handle("raw-stale").terminate()


@bounded
async def test_a_stale_activity_task_token_is_not_found(client: Client) -> None:
    handle = await client.start_workflow(CallsOutside.run, id="stale-activity", task_queue=QUEUE)

    async def started() -> bool:
        return "stale-activity" in TOKENS

    await eventually(started)
    first_attempt = client.get_async_activity_handle(task_token=TOKENS.pop("stale-activity"))
    await first_attempt.fail(RuntimeError("retry me"))  # the activity is retried
    stale = await rpc_error(first_attempt.complete("too late"))
    assert (stale.status, stale.message, details(stale)) == (
        RPCStatusCode.NOT_FOUND,
        "invalid activityID or activity already timed out or invoking workflow is completed",
        NOT_FOUND,
    )
    await eventually(started)  # the second attempt
    second_attempt = client.get_async_activity_handle(task_token=TOKENS["stale-activity"])
    await second_attempt.complete("once")
    assert await handle.result() == "once"
    closed = await rpc_error(second_attempt.complete("twice"))
    assert (closed.status, closed.message, details(closed)) == (
        RPCStatusCode.NOT_FOUND,
        "workflow execution already completed",
        NOT_FOUND,
    )


@bounded
async def test_a_query_while_the_workflow_task_keeps_failing(client: Client) -> None:
    # service/history/api/queryworkflow/api.go: from attempt 3 (failQueryWorkflowTask
    # AttemptCount) a query is WorkflowNotReady instead of waiting for the task
    service = client.workflow_service
    poll = await start_raw(client, "raw-failing")
    for attempt in (1, 2):
        task = await service.poll_workflow_task_queue(poll, timeout=POLL)
        assert task.attempt == attempt
        await service.respond_workflow_task_failed(
            ws.RespondWorkflowTaskFailedRequest(
                namespace="default",
                task_token=task.task_token,
                cause=cause_enums.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                failure=failure_pb.Failure(message="broken on purpose"),
                identity="raw",
            )
        )
    error = await rpc_error(
        service.query_workflow(
            ws.QueryWorkflowRequest(
                namespace="default",
                execution=execution("raw-failing"),
                query=query_pb.WorkflowQuery(query_type="state"),
            )
        )
    )
    assert (error.status, error.message, details(error)) == (
        RPCStatusCode.FAILED_PRECONDITION,
        "Unable to query workflow due to Workflow Task in failed state.",
        ["temporal.api.errordetails.v1.WorkflowNotReadyFailure"],
    )
    await client.get_workflow_handle("raw-failing").terminate()


@bounded
async def test_an_update_admitted_during_a_workflow_task_gets_the_next_task(
    client: Client,
) -> None:
    # As the dev server does (measured; service/history/api/respondworkflowtaskcompleted/
    # api.go creates a new task when the update registry has messages to send): we play
    # the worker, take the first task, let an update arrive while it runs, complete it
    # with no commands, and the next task carries the update's request.
    service = client.workflow_service
    poll = await start_raw(client, "raw-update")
    first = await service.poll_workflow_task_queue(poll, timeout=POLL)
    assert first.started_event_id == 3
    update = asyncio.create_task(
        service.update_workflow_execution(
            ws.UpdateWorkflowExecutionRequest(
                namespace="default",
                workflow_execution=execution("raw-update"),
                request=update_pb.Request(
                    meta=update_pb.Meta(update_id="u1"), input=update_pb.Input(name="set")
                ),
                wait_policy=update_pb.WaitPolicy(
                    lifecycle_stage=update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
                ),
            ),
            timeout=timedelta(seconds=10),
        )
    )
    try:
        await eventually(lambda: _admitted(client, "raw-update"))
        await service.respond_workflow_task_completed(
            ws.RespondWorkflowTaskCompletedRequest(
                namespace="default", task_token=first.task_token, identity="raw"
            )
        )
        second = await service.poll_workflow_task_queue(poll, timeout=timedelta(seconds=5))
        assert [m.id for m in second.messages] == ["u1/request"]
    finally:
        update.cancel()
        await client.get_workflow_handle("raw-update").terminate()


async def _admitted(client: Client, workflow_id: str) -> bool:
    """Is an update admitted to the run? (It shows in no RPC but a poll, so ask for the
    update's outcome without waiting: NOT_FOUND until it is admitted.)"""
    try:
        await client.workflow_service.poll_workflow_execution_update(
            ws.PollWorkflowExecutionUpdateRequest(
                namespace="default",
                update_ref=update_pb.UpdateRef(
                    workflow_execution=execution(workflow_id), update_id="u1"
                ),
                wait_policy=update_pb.WaitPolicy(
                    lifecycle_stage=update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
                ),
            ),
            timeout=timedelta(seconds=2),
        )
    except RPCError:
        return False
    return True
