"""The `complete-by-id` scenario of record_unseen.py: activities completed by id
(`RespondActivityTaskCompletedById`, as `temporal activity complete` sends it) while no
attempt of theirs runs. The server starts the pending attempt for the completer, with
its identity and no request id, and completes it in the same transaction
(service/history/api/respondactivitytaskcompleted/api.go, fabricateStartedEvent): once
for an activity no worker ever polled (attempt 1), once for one waiting to retry after
its first attempt failed (attempt 2, the Started event carrying that failure)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

if TYPE_CHECKING:
    from record_unseen import Recorder

QUEUE, ACTS, NOBODY = "hh-by-id", "hh-by-id-acts", "hh-by-id-nobody"


@activity.defn(name="FailsOnce")
async def fails_once() -> str:
    raise RuntimeError(f"attempt {activity.info().attempt} failed")


@workflow.defn
class CompletedById:
    @workflow.run
    async def run(self, queue: str) -> str:
        result: str = await workflow.execute_activity(
            "FailsOnce",
            activity_id="by-id",
            task_queue=queue,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=60)),
        )
        return result


async def _pending(r: Recorder, workflow_id: str, attempt: int) -> None:
    """Wait until the run's activity is pending at `attempt` and not running."""
    handle = r.client.get_workflow_handle(workflow_id)
    for _ in range(200):
        pending = (await handle.describe()).raw_description.pending_activities
        if pending and pending[0].attempt == attempt:  # not polled, or waiting to retry
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{workflow_id}: its activity never pended at attempt {attempt}")


async def complete_by_id(r: Recorder) -> None:
    """by-id-scheduled, by-id-backoff."""
    async with Worker(r.client, task_queue=QUEUE, workflows=[CompletedById]):
        for name, queue, attempt in (("by-id-scheduled", NOBODY, 1), ("by-id-backoff", ACTS, 2)):
            h = await r.start(CompletedById.run, queue, id=f"hh-{name}", task_queue=QUEUE)
            if queue == ACTS:  # its first attempt fails on a worker, which then leaves
                async with Worker(r.client, task_queue=ACTS, activities=[fails_once]):
                    await _pending(r, h.id, attempt)
            else:
                await _pending(r, h.id, attempt)
            by_id = r.client.get_async_activity_handle(
                workflow_id=h.id, run_id=h.result_run_id, activity_id="by-id"
            )
            await by_id.complete(f"completed by id at attempt {attempt}")
            await r.run(name, h)
            await r.dump(name, h.id)
