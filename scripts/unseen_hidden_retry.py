"""The `hidden-retry` scenario of record_unseen.py: an activity whose first attempt fails
and is retried, and whose second attempt then times out waiting to start because its
worker has left. The history shows neither attempt's ActivityTaskStarted (the first
closed by a retry, which writes no event; the second never started): only the
ActivityTaskTimedOut, schedule-to-start, whose cause is the first attempt's failure.
conform must place the hidden retry where the timeout says: the second attempt's
schedule-to-start timer counts from its own schedule, and the schedule-to-close timeout
(6 s) falls after that timer (4 s in) but before one counted from the timeout's time."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import Worker

if TYPE_CHECKING:
    from record_unseen import Recorder

QUEUE, ACTS = "hh-hidden", "hh-hidden-acts"
_failed = asyncio.Event()


@activity.defn
async def fail_then_leave() -> str:
    """Fails its first attempt; the scenario then stops the worker polling for it."""
    _failed.set()
    raise ApplicationError(f"attempt {activity.info().attempt} failed", type="Leaving")


@workflow.defn
class HiddenRetry:
    @workflow.run
    async def run(self) -> str:
        try:
            return await workflow.execute_activity(
                fail_then_leave,
                task_queue=ACTS,
                schedule_to_start_timeout=timedelta(seconds=3),
                schedule_to_close_timeout=timedelta(seconds=6),
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),
            )
        except ActivityError as e:
            return f"gave up: {e.cause}"


async def hidden_retry(r: Recorder) -> None:
    """hidden-retry-s2s."""
    async with Worker(r.client, task_queue=QUEUE, workflows=[HiddenRetry]):
        activities = Worker(r.client, task_queue=ACTS, activities=[fail_then_leave])
        running = asyncio.create_task(activities.run())
        h = await r.start(HiddenRetry.run, id="hh-hidden-retry-s2s", task_queue=QUEUE)
        await _failed.wait()
        await activities.shutdown()
        await running
        await r.run("hidden-retry-s2s", h)
        await r.dump("hidden-retry-s2s", h.id)
