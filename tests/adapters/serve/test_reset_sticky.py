"""ResetStickyTaskQueue (the SDK's test_workflow_current_build_id_appropriately_set): a
worker that leaves its sticky queue is replaced by one polling the normal queue, and
the run's next workflow task must be scheduled there, not on the dead sticky queue
(service/history/api/resetstickytaskqueue/api.go). The rule on the pure history
service first, then through temporalio against a served model."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio import workflow
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import event_type_pb2 as ev
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.worker import Worker

from core import requests as rq
from core.commands import Command, CompleteWorkflowExecutionCommandAttributes
from core.enums import CommandType
from core.events import WorkflowTaskScheduledEventAttributes
from sim.service_run import ServiceRun
from tests.adapters.serve.sdk import bounded, rpc_error


def _sticky_run() -> ServiceRun:
    """A run whose first task was completed by a worker asking for stickiness."""
    run = ServiceRun(rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "s"))
    token = run.poll()
    run.send(rq.RespondWorkflowTaskCompleted(token, (), sticky_queue="q-sticky"))
    assert run.state.sticky_queue == "q-sticky"
    return run


def _last_scheduled_queue(run: ServiceRun) -> str:
    attributes = run.events[-1].attributes
    assert isinstance(attributes, WorkflowTaskScheduledEventAttributes)
    assert attributes.task_queue is not None
    return attributes.task_queue.name


def test_after_a_reset_the_next_task_goes_to_the_normal_queue() -> None:
    run = _sticky_run()
    written = len(run.events)
    assert run.send(rq.ResetStickyTaskQueue()) == rq.Ok()
    assert len(run.events) == written, "the reset writes no event"
    assert run.state.sticky_queue == "" and run.state.sticky_schedule_to_start_timeout == 0
    run.send(rq.SignalWorkflowExecution("go"))
    assert _last_scheduled_queue(run) == "q"


def test_without_a_reset_the_next_task_goes_to_the_sticky_queue() -> None:
    run = _sticky_run()
    run.send(rq.SignalWorkflowExecution("go"))
    assert _last_scheduled_queue(run) == "q-sticky"


def test_a_closed_run_cannot_be_reset() -> None:
    run = ServiceRun(rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "s"))
    complete = Command(
        CommandType.COMPLETE_WORKFLOW_EXECUTION, CompleteWorkflowExecutionCommandAttributes()
    )
    run.send(rq.RespondWorkflowTaskCompleted(run.poll(), (complete,)))
    reply = run.send(rq.ResetStickyTaskQueue())
    assert isinstance(reply, rq.Error) and reply.kind is rq.ErrorKind.WORKFLOW_COMPLETED


@workflow.defn(name="StickyWaiter", sandboxed=False)
class StickyWaiter:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.go)
        return "done"

    @workflow.signal
    def proceed(self) -> None:
        self.go = True

    @workflow.query
    def ready(self) -> bool:
        return True


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    yield await Client.connect(address)


def _reset(
    workflow_id: str, run_id: str = "", namespace: str = "default"
) -> ws.ResetStickyTaskQueueRequest:
    return ws.ResetStickyTaskQueueRequest(
        namespace=namespace,
        execution=common_pb.WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
    )


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_worker_replaced_after_a_reset_gets_the_next_task(client: Client) -> None:
    queue = f"sticky-{uuid.uuid4()}"
    workflow_id = f"wf-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[StickyWaiter]):
        handle = await client.start_workflow(StickyWaiter.run, id=workflow_id, task_queue=queue)
        assert await handle.query(StickyWaiter.ready)  # its first task has completed
    service = client.workflow_service
    await service.reset_sticky_task_queue(_reset(workflow_id))
    await handle.signal(StickyWaiter.proceed)
    events = (await handle.fetch_history()).events
    scheduled = events[-1]
    assert scheduled.event_type == ev.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
    task_queue = scheduled.workflow_task_scheduled_event_attributes.task_queue
    assert (task_queue.name, task_queue.kind) == (queue, tq_enums.TASK_QUEUE_KIND_NORMAL)
    async with Worker(client, task_queue=queue, workflows=[StickyWaiter]):
        assert await handle.result() == "done"
    # the dev server's answers (temporal CLI 1.9.1), measured with the same requests
    closed = await rpc_error(service.reset_sticky_task_queue(_reset(workflow_id)))
    assert (closed.status.name, closed.message) == (
        "NOT_FOUND",
        "workflow execution already completed",
    )
    no_execution = ws.ResetStickyTaskQueueRequest(namespace="default")
    cases = [
        (no_execution, "INVALID_ARGUMENT", "Execution is not set on request."),
        (_reset("", str(uuid.uuid4())), "INVALID_ARGUMENT", "WorkflowId is not set on request."),
        (_reset(workflow_id, "nope"), "INVALID_ARGUMENT", "Invalid RunId."),
        (_reset("nope"), "NOT_FOUND", "workflow not found for ID: nope"),
        (_reset(workflow_id, namespace="nope"), "NOT_FOUND", "Namespace nope is not found."),
    ]  # fmt: skip
    for request, status, message in cases:
        error = await rpc_error(service.reset_sticky_task_queue(request))
        assert (error.status.name, error.message) == (status, message)
