"""The standalone-activity part of time_skipping_env.py: under the SDK's time-skipping
environment a standalone activity's timers are skip targets and its running attempt
holds the clock, as a workflow's activity: an attempt that fails waits out a day-long
retry interval within seconds of real time, and an attempt that takes a second of real
time completes within its hour-long schedule-to-close timeout."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.api.testservice.v1 import request_response_pb2 as ts
from temporalio.common import RetryPolicy
from temporalio.service import TestService
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

QUEUE = "ts-standalone"
ENV_SERVICE: list[TestService] = []


@activity.defn
async def fails_once() -> int:
    if activity.info().attempt == 1:
        raise RuntimeError("the first attempt fails")
    return activity.info().attempt


@activity.defn
async def takes_a_second() -> str:
    await asyncio.sleep(1.0)  # real time, while the attempt runs
    return "done"


async def standalone(env: WorkflowEnvironment) -> dict[str, Any]:
    """What each activity returned (None if not within 30 s of real time) and how far
    the environment's clock moved meanwhile."""
    client = env.client
    ENV_SERVICE[:] = [client.test_service]
    out: dict[str, Any] = {}
    async with Worker(client, task_queue=QUEUE, activities=[fails_once, takes_a_second]):
        before = await env.get_current_time()
        retried = client.execute_activity(
            fails_once,
            id="ts-retried",
            task_queue=QUEUE,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(initial_interval=timedelta(days=1)),
        )
        out["standalone_retried"] = await _within(retried)
        out["standalone_retried_clock"] = _seconds(before, await env.get_current_time())
        before = await env.get_current_time()
        held = client.execute_activity(
            takes_a_second,
            id="ts-held",
            task_queue=QUEUE,
            schedule_to_close_timeout=timedelta(hours=1),
        )
        out["standalone_held"] = await _within(held)
        out["standalone_held_clock"] = _seconds(before, await env.get_current_time())
    return out


async def _within(result: Any) -> Any:
    """The result, awaited with time skipping unlocked (the environment unlocks it only
    while a workflow's result is awaited, as the Java test server's clients do)."""
    service = ENV_SERVICE[0]
    await service.unlock_time_skipping(ts.UnlockTimeSkippingRequest())
    try:
        return await asyncio.wait_for(result, 30.0)
    except TimeoutError:
        return None
    except Exception as error:  # the activity's failure, as the result
        return f"{type(error).__name__}: {error} / {error.__cause__}"
    finally:
        await service.lock_time_skipping(ts.LockTimeSkippingRequest())


def _seconds(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()
