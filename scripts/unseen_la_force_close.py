"""The `la-force-close` scenario of record_unseen.py: a run closed while its local
activity runs. The worker keeps the run's workflow task going by completing it with a
new task forced every 80 % of the 1 s task timeout (the local activity's heartbeat), so
when the run's timeout fires, or a terminate comes, a workflow task is in flight: the
history service fails it (WorkflowTaskFailed, FORCE_CLOSE_COMMAND, identity
"history-service") in the transaction that closes the run. conform must leave that
failure to the close's own request rather than read it as a worker's failure."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.worker import Worker

if TYPE_CHECKING:
    from record_unseen import Recorder

QUEUE = "hh-la-close"


@activity.defn
async def slow_local(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@workflow.defn
class LocalActivityRun:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_local_activity(
            slow_local, 4.0, start_to_close_timeout=timedelta(seconds=10)
        )


async def la_force_close(r: Recorder) -> None:
    """la-run-timeout, la-execution-timeout, la-terminate."""
    async with Worker(
        r.client, task_queue=QUEUE, workflows=[LocalActivityRun], activities=[slow_local]
    ):
        task = timedelta(seconds=1)
        closes = {
            "la-run-timeout": {"run_timeout": timedelta(seconds=2)},
            "la-execution-timeout": {"execution_timeout": timedelta(seconds=2)},
            "la-terminate": {},
        }
        for name, timeout in closes.items():
            options = {"id": f"hh-{name}", "task_queue": QUEUE, "task_timeout": task, **timeout}
            h = await r.start(LocalActivityRun.run, **options)
            if not timeout:
                await asyncio.sleep(2)
                await h.terminate("mid local activity")
            with contextlib.suppress(WorkflowFailureError):
                await r.run(name, h)
            await r.dump(name, h.id)
