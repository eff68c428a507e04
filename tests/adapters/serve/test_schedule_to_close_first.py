"""An activity given only a schedule-to-close timeout gets a start-to-close timeout of the
same length (the server caps start-to-close at schedule-to-close), and a worker waiting
on the queue starts it a moment after it was scheduled. On a real server that moment is
never zero: the schedule is written by RespondWorkflowTaskCompleted and the start by a
later RecordActivityTaskStarted, each stamped with its own clock reading (the event
factory's timeSource.Now() in service/history/historybuilder/event_factory.go; the
ActivityInfo's StartedTime in service/history/workflow/mutable_state_impl.go). So the
schedule-to-close timer is due first, and an attempt that outlives both times out with
SCHEDULE_TO_CLOSE (timers sort by due time before type: TimerSequenceIDs in
service/history/workflow/timer_sequence.go). The served model ran the messages a call
set off at the call's own time, so a waiting poll started the activity at the very
nanosecond it was scheduled, the two timers tied and START_TO_CLOSE (the lower type)
won. That shows once the workflow asked to cancel the activity: without a cancel
request a start-to-close timeout that leaves no time to retry is reported as
SCHEDULE_TO_CLOSE anyway (processActivityTimeout), with one it keeps its own type (the
fourth hunt's `cancel-timeout` on `tmodel serve`). Through temporalio."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.client import Client
from temporalio.worker import Worker

from tests.adapters.serve.sdk import bounded, connected

QUEUE = "schedule-to-close-first"


@activity.defn(name="outlives_schedule_to_close")
async def outlives_schedule_to_close() -> str:
    await asyncio.sleep(3)  # no heartbeats: it never learns of the cancel request
    return "too late"


@workflow.defn(name="ScheduleToCloseOnly", sandboxed=False)
class ScheduleToCloseOnly:
    @workflow.run
    async def run(self) -> str:
        handle = workflow.start_activity(
            outlives_schedule_to_close,
            schedule_to_close_timeout=timedelta(seconds=2),
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        await workflow.sleep(0.2)
        handle.cancel()
        try:
            return await handle
        except Exception as e:
            return type(e).__name__


async def _timeout_type(client: Client) -> tuple[int, int]:
    """The timed-out event's timeout type, and the recorded start-to-close in ns."""
    async with Worker(
        client,
        task_queue=QUEUE,
        workflows=[ScheduleToCloseOnly],
        activities=[outlives_schedule_to_close],
    ):
        handle = await client.start_workflow(
            ScheduleToCloseOnly.run, id=f"s2c-{uuid.uuid4()}", task_queue=QUEUE
        )
        assert await handle.result() == "ActivityError"
        history = await handle.fetch_history()
    scheduled = next(
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )
    timed_out = next(
        e.activity_task_timed_out_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT
    )
    start_to_close = scheduled.start_to_close_timeout.ToNanoseconds()
    return timed_out.failure.timeout_failure_info.timeout_type, start_to_close


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    yield await Client.connect(address)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_schedule_to_close_timer_is_due_before_the_capped_start_to_close(
    client: Client,
) -> None:
    kind, start_to_close = await _timeout_type(client)
    assert start_to_close == 2_000_000_000  # capped at the schedule-to-close
    assert kind == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE


@pytest.mark.slow
@pytest.mark.ci_sample
@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_dev_server_says_schedule_to_close_too(dev_address: str) -> None:
    kind, start_to_close = await _timeout_type(await connected(dev_address))
    assert start_to_close == 2_000_000_000
    assert kind == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE
