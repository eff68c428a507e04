"""What DescribeTaskQueue (`temporal task-queue describe`) reports of a queue's traffic:
three workflows started a second apart on a queue nobody polls, then a worker that
drains it. The backlog's age is its oldest task's, the add and dispatch rates count
tasks per second over the last 30 s of each partition (queue_stats.py), and a poller
shows the dispatch rate it asked for (100,000 when it asked none) and its worker version
capabilities (service/matching/poller_history.go). Run against `tmodel serve` and the
dev server; times are compared with bounds, as the servers' clocks and partitions
differ."""

from __future__ import annotations

import asyncio
import time
import uuid

from temporalio import activity, workflow
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.worker import Worker

from tests.adapters.serve.sdk import connected

STARTS = 3
GAP = 1.0  # seconds between the starts
CACHED = 5.0  # seconds matching gives the same answer again (TaskQueueInfoByBuildIdTTL)


@workflow.defn(name="Instant", sandboxed=False)
class Instant:
    @workflow.run
    async def run(self) -> str:
        return "done"


@activity.defn(name="Unused")
async def unused() -> None:
    """Registered so that the worker polls for activity tasks, at a rate it names."""


async def _describe(client: Client, queue: str) -> tq_pb.TaskQueueVersionInfo:
    request = ws.DescribeTaskQueueRequest(
        namespace="default",
        task_queue=tq_pb.TaskQueue(name=queue),
        api_mode=tq_enums.DESCRIBE_TASK_QUEUE_MODE_ENHANCED,
        report_pollers=True,
        report_stats=True,
    )
    answer = await client.workflow_service.describe_task_queue(request)
    return answer.versions_info[""]


def _rates_fit(rate: float, ages: list[float]) -> bool:
    """Whether an add rate fits tasks added `ages` seconds ago: at least all of them in
    one partition counted since the first (len / oldest), at most each in a partition of
    its own counted since itself (the sum of 1 / age), with a little room either way."""
    low = len(ages) / (max(ages) + 0.5)
    high = sum(1 / max(age - 0.5, 0.1) for age in ages)
    return low <= rate <= high


async def drive(address: str) -> tuple[object, ...]:
    """Before the worker: the backlog count, whether its age and add rate fit the starts'
    times, the dispatch rate; the count again after one more start, within 5 s. After
    the worker drained the queue, past those 5 s: the count, the age, whether a dispatch
    rate shows, the workflow poller's rate and whether it shows a build id, and the rate
    the activity poller asked for."""
    client = await connected(address)
    queue = f"qs-{uuid.uuid4().hex[:8]}"
    started: list[float] = []
    for i in range(STARTS):
        if i:
            await asyncio.sleep(GAP)
        started.append(time.monotonic())
        await client.start_workflow(Instant.run, id=f"{queue}-{i}", task_queue=queue)
    await asyncio.sleep(0.5)
    before = await _describe(client, queue)
    now = time.monotonic()
    ages = [now - t for t in started]
    stats = before.types_info[1].stats  # workflow tasks
    age = stats.approximate_backlog_age.ToTimedelta().total_seconds()
    waiting = (
        stats.approximate_backlog_count,
        max(ages) - 1.0 <= age <= max(ages) + 0.1,
        _rates_fit(stats.tasks_add_rate, ages),
        stats.tasks_dispatch_rate,
    )
    # another start, and a describe within 5 s: the answer of the first, kept
    await client.start_workflow(Instant.run, id=f"{queue}-{STARTS}", task_queue=queue)
    again = (await _describe(client, queue)).types_info[1].stats.approximate_backlog_count
    async with Worker(
        client,
        task_queue=queue,
        workflows=[Instant],
        activities=[unused],
        max_task_queue_activities_per_second=7.0,
    ):
        for i in range(STARTS + 1):
            await client.get_workflow_handle(f"{queue}-{i}").result()
        await asyncio.sleep(max(0.0, now + CACHED + 0.5 - time.monotonic()))
        after = await _describe(client, queue)
    stats = after.types_info[1].stats
    (poller,) = after.types_info[1].pollers
    (activity_poller,) = after.types_info[2].pollers
    drained = (
        again,
        stats.approximate_backlog_count,
        stats.approximate_backlog_age.ToTimedelta().total_seconds(),
        stats.tasks_dispatch_rate > 0,
        poller.rate_per_second,
        bool(poller.worker_version_capabilities.build_id),
        activity_poller.rate_per_second,
    )
    return waiting + drained
