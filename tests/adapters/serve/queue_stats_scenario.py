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
LATE = 0.2  # seconds after a start's answer its task may reach matching (a transfer task)


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


def _rates_fit(rate: float, starts: list[tuple[float, float]], asked: tuple[float, float]) -> bool:
    """Whether an add rate fits the starts (each task added between the start's call and
    its answer, or up to `LATE` after, as a transfer task may take) and the describe (its
    figure taken between `asked`): at least all of them in one partition, counted since
    the first, at most each in a partition of its own, counted since itself."""
    low = len(starts) / (asked[1] - starts[0][0])
    high = sum(1 / max(asked[0] - after - LATE, 0.01) for _, after in starts)
    return low <= rate <= high


def _count(info: tq_pb.TaskQueueVersionInfo) -> int:
    return info.types_info[1].stats.approximate_backlog_count


async def _kept(
    client: Client, queue: str, ids: list[str], first: tq_pb.TaskQueueVersionInfo, began: float
) -> bool:
    """Whether a describe within 5 s of another, after one more start, gives the other's
    backlog count again. On a machine too slow to ask twice within 4.5 s, the pair is
    asked again once the kept answer has expired (at most three times)."""
    for attempt in range(3):
        if attempt:
            await asyncio.sleep(CACHED + 0.5)  # the kept answer expires
            began = time.monotonic()
            first = await _describe(client, queue)
        ids.append(f"{queue}-more-{attempt}")
        await client.start_workflow(Instant.run, id=ids[-1], task_queue=queue)
        again = await _describe(client, queue)
        if time.monotonic() - began < CACHED - 0.5:
            return _count(again) == _count(first)
    raise AssertionError("three pairs of describes each took 4.5 s or more")


async def drive(address: str) -> tuple[object, ...]:
    """Before the worker: the backlog count, whether its age and add rate fit the starts'
    times, the dispatch rate; whether a describe within 5 s after one more start gives
    the same count. After the worker drained the queue, past those 5 s: the count, the
    age, whether a dispatch rate shows, the workflow poller's rate and whether it shows a
    build id, and the rate the activity poller asked for."""
    client = await connected(address)
    queue = f"qs-{uuid.uuid4().hex[:8]}"
    ids = [f"{queue}-{i}" for i in range(STARTS)]
    starts: list[tuple[float, float]] = []  # each start's call and answer
    for i, workflow_id in enumerate(ids):
        if i:
            await asyncio.sleep(GAP)
        called = time.monotonic()
        await client.start_workflow(Instant.run, id=workflow_id, task_queue=queue)
        starts.append((called, time.monotonic()))
    await asyncio.sleep(0.5)
    asked = time.monotonic()
    before = await _describe(client, queue)
    answered = time.monotonic()
    stats = before.types_info[1].stats  # workflow tasks
    age = stats.approximate_backlog_age.ToTimedelta().total_seconds()
    oldest = starts[0]
    waiting = (
        stats.approximate_backlog_count,
        asked - oldest[1] - LATE <= age <= answered - oldest[0],
        _rates_fit(stats.tasks_add_rate, starts, (asked, answered)),
        stats.tasks_dispatch_rate,
        await _kept(client, queue, ids, before, asked),
    )
    async with Worker(
        client,
        task_queue=queue,
        workflows=[Instant],
        activities=[unused],
        max_task_queue_activities_per_second=7.0,
    ):
        for workflow_id in ids:
            await client.get_workflow_handle(workflow_id).result()
        await asyncio.sleep(CACHED + 0.5)  # past the last answer kept
        after = await _describe(client, queue)
    stats = after.types_info[1].stats
    (poller,) = after.types_info[1].pollers
    (activity_poller,) = after.types_info[2].pollers
    drained = (
        stats.approximate_backlog_count,
        stats.approximate_backlog_age.ToTimedelta().total_seconds(),
        stats.tasks_dispatch_rate > 0,
        poller.rate_per_second,
        bool(poller.worker_version_capabilities.build_id),
        activity_poller.rate_per_second,
    )
    return waiting + drained
