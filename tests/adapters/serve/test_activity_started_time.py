"""An activity attempt's ActivityTaskStarted event is written only when the attempt
closes (a completion, a failure, a timeout), but its time is the time the attempt
started: addStartedEventForTransientActivity in
service/history/workflow/mutable_state_impl.go overwrites the event's time with the
ActivityInfo's StartedTime. The served model stamped it with the close's time, so a
served history told `tmodel conform` the attempt started when it ended (and the fourth
hunt's `deadlines` and `cancel-timeout` recordings on `tmodel serve` did not conform).
Through temporalio against a served model."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.worker import Worker

from tests.adapters.serve.sdk import bounded

QUEUE = "activity-started-time"
WORK = 0.6  # seconds each activity runs before it answers (or is timed out)


@activity.defn(name="slow_echo")
async def slow_echo(text: str) -> str:
    await asyncio.sleep(WORK)
    return text


@activity.defn(name="outlives_its_timeout")
async def outlives_its_timeout() -> str:
    await asyncio.sleep(WORK + 1)
    return "too late"


@workflow.defn(name="StartedTimes", sandboxed=False)
class StartedTimes:
    @workflow.run
    async def run(self) -> str:
        done = await workflow.execute_activity(
            slow_echo, "done", start_to_close_timeout=timedelta(seconds=10)
        )
        try:
            await workflow.execute_activity(
                outlives_its_timeout,
                start_to_close_timeout=timedelta(seconds=WORK),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except ActivityError:
            return done + ", timed out"
        return done


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    client = await Client.connect(address)
    async with Worker(
        client,
        task_queue=QUEUE,
        workflows=[StartedTimes],
        activities=[slow_echo, outlives_its_timeout],
    ):
        yield client


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_started_event_written_at_the_close_keeps_the_start_time(
    client: Client,
) -> None:
    handle = await client.start_workflow(
        StartedTimes.run, id=f"started-{uuid.uuid4()}", task_queue=QUEUE
    )
    assert await handle.result() == "done, timed out"
    events = (await handle.fetch_history()).events
    closes = (
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    )
    pairs = [
        (events[i - 1], e)
        for i, e in enumerate(events)
        if e.event_type in closes
        and events[i - 1].event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    assert len(pairs) == 2  # each attempt's Started event just before its close
    for started, closed in pairs:
        ran = closed.event_time.ToDatetime() - started.event_time.ToDatetime()
        # the attempt ran (or was given) WORK seconds between its start and its close
        assert ran >= timedelta(seconds=WORK * 0.9), (closed.event_type, ran)
