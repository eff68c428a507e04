"""Eager workflow start through `tmodel serve` (the SDK's test_workflow_hello_eager,
samples-python eager_wf_start): a start that asks for it gets the run's first workflow
task in its reply, started by the start itself, as the dev server does (the recorded
history is tests/fixtures/histories/eager-start.json); a start whose first task waits
(cron, start delay) is declined, as Temporal's Starter declines it."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from google.protobuf.duration_pb2 import Duration
from temporalio import workflow
from temporalio.api.enums.v1 import event_type_pb2 as ev
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.worker import Worker

from tests.adapters.serve.sdk import bounded, start_request
from tests.adapters.serve.serving import ROOT

QUEUE = "eager"
RECORDED = ROOT / "tests" / "fixtures" / "histories" / "eager-start.json"


@workflow.defn(name="EagerHello", sandboxed=False)
class EagerHello:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"Hello, {name}!"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    client = await Client.connect(address, identity="eager-starter")
    async with Worker(client, task_queue=QUEUE, workflows=[EagerHello]):
        yield client


def _recorded_types() -> list[str]:
    events = json.loads(RECORDED.read_text(encoding="utf-8"))["events"]
    return [e["eventType"] for e in events[:4]]


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_an_eager_start_hands_the_first_task_to_the_starter(client: Client) -> None:
    handle = await client.start_workflow(
        EagerHello.run,
        "Temporal",
        id=f"eager-{uuid.uuid4()}",
        task_queue=QUEUE,
        request_eager_start=True,
        task_timeout=timedelta(hours=1),  # a task lost to matching would hang the test
    )
    assert handle.__temporal_eagerly_started is True  # the flag the SDK sets
    assert await handle.result() == "Hello, Temporal!"
    events = (await handle.fetch_history()).events
    assert [ev.EventType.Name(e.event_type) for e in events[:4]] == _recorded_types()
    started = events[0].workflow_execution_started_event_attributes
    assert started.eager_execution_accepted
    task = events[2].workflow_task_started_event_attributes
    # the start's transaction started it: the starter's identity, the start's request id
    assert task.identity == "eager-starter" and task.request_id
    assert events[2].event_time == events[0].event_time


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_reply_carries_the_task_and_a_retried_start_gets_it_again(
    client: Client,
) -> None:
    req = start_request(f"eager-raw-{uuid.uuid4()}", request_eager_execution=True)
    req.task_queue.name = f"nobody-{uuid.uuid4()}"
    first = await client.workflow_service.start_workflow_execution(req)
    task = first.eager_workflow_task
    assert first.HasField("eager_workflow_task") and task.task_token
    assert (task.workflow_execution.workflow_id, task.workflow_execution.run_id) == (
        req.workflow_id,
        first.run_id,
    )
    assert (task.started_event_id, task.previous_started_event_id, task.attempt) == (3, 0, 1)
    assert [e.event_type for e in task.history.events] == [
        ev.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        ev.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        ev.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]
    assert task.workflow_execution_task_queue.name == req.task_queue.name
    # the same request again (a client retry): the same run and task (respondToRetriedRequest)
    again = await client.workflow_service.start_workflow_execution(req)
    assert again.run_id == first.run_id and again.eager_workflow_task.task_token == task.task_token
    await client.get_workflow_handle(req.workflow_id).terminate("done")


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_an_eager_start_whose_first_task_waits_is_declined(client: Client) -> None:
    delayed = start_request(f"eager-delay-{uuid.uuid4()}", request_eager_execution=True)
    delayed.workflow_start_delay.CopyFrom(Duration(seconds=3600))
    cron = start_request(
        f"eager-cron-{uuid.uuid4()}", request_eager_execution=True, cron_schedule="@yearly"
    )
    for req in (delayed, cron):
        answer = await client.workflow_service.start_workflow_execution(req)
        assert answer.started and not answer.HasField("eager_workflow_task")
        handle = client.get_workflow_handle(req.workflow_id)
        events = (await handle.fetch_history()).events
        assert len(events) == 1
        assert not events[0].workflow_execution_started_event_attributes.eager_execution_accepted
        await handle.terminate("done")


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_server_declares_eager_start(client: Client) -> None:
    info = await client.workflow_service.get_system_info(ws.GetSystemInfoRequest())
    assert info.capabilities.eager_workflow_start
    described = await client.workflow_service.describe_namespace(
        ws.DescribeNamespaceRequest(namespace="default")
    )
    assert described.namespace_info.capabilities.eager_workflow_start
