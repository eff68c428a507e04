"""DescribeWorkflowExecution shows a pending activity's priority, and its options'
priority, as its command gave it: temporalio sends an empty Priority, which the server
keeps on the activity and shows present though empty (GetPendingActivityInfo,
service/history/workflow/activity.go). The slow twin finds the same on the dev server."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from tests.adapters.serve.sdk import ACTIVITIES, WORKFLOWS, CallsOutside, bounded, connected


async def pending_priorities(address: str) -> list[tuple[bool, bool, str]]:
    """For each pending activity of a run whose activity waits to be completed: whether
    `priority` and `activity_options.priority` are present, and the priority's text."""
    client: Client = await connected(address)
    queue = f"prio-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=WORKFLOWS, activities=ACTIVITIES):
        handle = await client.start_workflow(CallsOutside.run, id=queue, task_queue=queue)
        for _ in range(100):  # until the activity has started and waits
            pending = (await handle.describe()).raw_description.pending_activities
            if pending and pending[0].last_started_time.seconds:
                break
            await asyncio.sleep(0.1)
        await handle.terminate("done")
    return [
        (a.HasField("priority"), a.activity_options.HasField("priority"), str(a.priority))
        for a in pending
    ]


@pytest.mark.asyncio
@bounded
async def test_a_pending_activity_shows_its_priority(address: str) -> None:
    assert await pending_priorities(address) == [(True, True, "")]


@pytest.mark.slow
def test_the_dev_server_shows_it_alike(dev_address: str) -> None:
    assert asyncio.run(pending_priorities(dev_address)) == [(True, True, "")]
