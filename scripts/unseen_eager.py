"""The `eager` and `eager-off` scenarios of record_unseen.py: activities on the
workflow's own task queue, which the Python SDK asks to run eagerly
(`request_eager_execution`). A 1.32 server grants it by default
(`system.enableActivityEagerExecution`): the activity comes back started in the reply
to the completion that scheduled it, and no worker polls for it
(`handlePostCommandEagerExecuteActivity` in
service/history/api/respondworkflowtaskcompleted/workflow_task_completed_handler.go).
The history shows the start only when the activity closes, as for a polled one. One
activity succeeds, one fails once and succeeds on its retry (which is polled: only the
first attempt is eager), one heartbeats, two run side by side, and one runs on another
queue, which the SDK never asks to run eagerly.

`eager` is recorded from a dev server as it starts by default, `eager-off` from one
started with `--dynamic-config-value system.enableActivityEagerExecution=false`, where
every activity is polled. The two histories differ only where the two side-by-side
activities race to finish (history_compare.py's ordered=False would find them equal):
eager execution leaves no trace in a history.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

if TYPE_CHECKING:
    from record_unseen import Recorder

QUEUE, OTHER = "hh-eager", "hh-eager-other"
TIMEOUT = timedelta(seconds=10)


@activity.defn(name="Echo")
async def echo(text: str) -> str:
    return text


@activity.defn(name="FailsFirst")
async def fails_first() -> int:
    if activity.info().attempt == 1:
        raise RuntimeError("the first attempt fails")
    return activity.info().attempt


@activity.defn(name="Beats")
async def beats() -> str:
    for n in range(3):
        activity.heartbeat(n)
        await asyncio.sleep(0.1)
    return "beaten"


@workflow.defn(name="EagerActivities", sandboxed=False)
class EagerActivities:
    @workflow.run
    async def run(self) -> list[str]:
        results: list[str] = [
            await workflow.execute_activity(echo, "alone", start_to_close_timeout=TIMEOUT)
        ]
        attempts = await workflow.execute_activity(
            fails_first,
            start_to_close_timeout=TIMEOUT,
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200)),
        )
        results.append(f"attempt {attempts}")
        results.append(
            await workflow.execute_activity(
                beats, start_to_close_timeout=TIMEOUT, heartbeat_timeout=timedelta(seconds=5)
            )
        )
        results += await asyncio.gather(
            workflow.execute_activity(echo, "left", start_to_close_timeout=TIMEOUT),
            workflow.execute_activity(echo, "right", start_to_close_timeout=TIMEOUT),
        )
        results.append(
            await workflow.execute_activity(
                echo, "elsewhere", task_queue=OTHER, start_to_close_timeout=TIMEOUT
            )
        )
        return results


async def _record(r: Recorder, name: str) -> None:
    activities: list[Callable[..., Any]] = [echo, fails_first, beats]
    async with (
        Worker(r.client, task_queue=QUEUE, workflows=[EagerActivities], activities=activities),
        Worker(r.client, task_queue=OTHER, activities=activities),
    ):
        h = await r.start(EagerActivities.run, id=f"hh-{name}", task_queue=QUEUE)
        await r.run(name, h)
    await r.dump(name, h.id)


async def eager(r: Recorder) -> None:
    """eager-activities (a dev server with its default dynamic config)."""
    await _record(r, "eager-activities")


async def eager_off(r: Recorder) -> None:
    """eager-activities-off (a dev server started with
    `--dynamic-config-value system.enableActivityEagerExecution=false`)."""
    await _record(r, "eager-activities-off")
