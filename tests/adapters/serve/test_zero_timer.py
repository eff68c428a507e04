"""A timer of zero (or unset) duration is started and fires, as Temporal starts it
(the SDK's test_concurrent_sleeps_use_proper_options: `workflow.sleep(0)` sends
StartTimer with startToFireTimeout 0s); only a negative one fails the workflow task with
BAD_START_TIMER_ATTRIBUTES (ValidateTimerScheduleAttributes in
service/history/api/command_attr_validator.go). The rule on the pure history service
first, then through temporalio against a served model."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio import workflow
from temporalio.api.enums.v1 import event_type_pb2 as ev
from temporalio.client import Client
from temporalio.worker import Worker

from core import requests as rq
from core.commands import Command, StartTimerCommandAttributes
from core.enums import CommandType, EventType, WorkflowTaskFailedCause
from core.events import TimerStartedEventAttributes, WorkflowTaskFailedEventAttributes
from sim.service_run import ServiceRun
from tests.adapters.serve.sdk import bounded

QUEUE = "zero-timer"


def _start_timer(timeout: int | None) -> ServiceRun:
    run = ServiceRun(rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "s"))
    command = Command(
        CommandType.START_TIMER,
        StartTimerCommandAttributes(timer_id="t", start_to_fire_timeout=timeout),
    )
    run.send(rq.RespondWorkflowTaskCompleted(run.poll(), (command,)))
    return run


@pytest.mark.parametrize("timeout", [0, None])
def test_a_timer_of_no_duration_starts_and_is_due_at_once(timeout: int | None) -> None:
    run = _start_timer(timeout)
    started = run.events[-1]
    assert started.event_type is EventType.TIMER_STARTED
    assert isinstance(started.attributes, TimerStartedEventAttributes)
    assert started.attributes.start_to_fire_timeout == timeout  # as the command gave it
    (task,) = [t for t in run.timers if isinstance(t, rq.UserTimerTask)]
    assert task.fire_time == started.event_time
    run.fire(rq.UserTimerTask, timer_id="t")
    assert EventType.TIMER_FIRED in [e.event_type for e in run.events]


def test_a_negative_timer_fails_the_workflow_task() -> None:
    run = _start_timer(-1)
    failed = run.events[-1].attributes
    assert isinstance(failed, WorkflowTaskFailedEventAttributes)
    assert failed.cause is WorkflowTaskFailedCause.BAD_START_TIMER_ATTRIBUTES


@workflow.defn(name="ZeroSleeper", sandboxed=False)
class ZeroSleeper:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(0, summary="zero")
        return "woke"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    client = await Client.connect(address)
    async with Worker(client, task_queue=QUEUE, workflows=[ZeroSleeper]):
        yield client


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_zero_sleep_runs_through_serve(client: Client) -> None:
    handle = await client.start_workflow(
        ZeroSleeper.run, id=f"zero-{uuid.uuid4()}", task_queue=QUEUE
    )
    assert await handle.result() == "woke"
    events = (await handle.fetch_history()).events
    types = [e.event_type for e in events]
    assert ev.EVENT_TYPE_WORKFLOW_TASK_FAILED not in types
    assert ev.EVENT_TYPE_TIMER_STARTED in types and ev.EVENT_TYPE_TIMER_FIRED in types
