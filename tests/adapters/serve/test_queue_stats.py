"""A task queue's statistics and pollers as DescribeTaskQueue reports them
(queue_stats_scenario.py): the backlog's age and the add and dispatch rates, which serve
reported as 0, a poller's dispatch rate and worker version capabilities, which it left
out, and the same answer again within 5 s, which it did not keep. The slow twin finds
the same on the dev server."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.worker import Worker

from adapters.serve.gate import Listener
from adapters.serve.queue_stats import SECOND, QueueStats, RateTracker
from adapters.serve.server import Server
from core.statemachine import matching as m
from tests.adapters.serve.queue_stats_scenario import drive
from tests.adapters.serve.sdk import WORKFLOWS, Waiter, bounded, connected

EXPECTED = (3, True, True, 0.0, True, 0, 0.0, True, 100_000.0, True, 7.0)


@pytest.mark.asyncio
@bounded
async def test_a_queue_reports_its_backlog_age_and_rates(address: str) -> None:
    assert await drive(address) == EXPECTED


@pytest.mark.slow
def test_the_dev_server_reports_them_alike(dev_address: str) -> None:
    assert asyncio.run(drive(dev_address)) == EXPECTED


def test_a_rate_covers_the_time_since_its_counter_was_made_then_the_last_30_s() -> None:
    tracker = RateTracker(made=0)
    for at in (0, 1, 2):
        tracker.count(at * SECOND)
    assert tracker.rate(4 * SECOND) == 3 / 4  # 4 s since it was made
    # 60 s on, the ring covers 30 s plus what has passed of its current 5 s bucket,
    # and the three tasks have left it
    assert tracker.rate(62 * SECOND) == 0.0
    tracker.count(62 * SECOND)
    assert tracker.rate(63 * SECOND) == 1 / 33  # 30 s and 3 s of the current bucket


def _counted(stats: QueueStats, queue: str) -> tuple[int, int]:
    """Tasks in the add and dispatch rings of the queue's workflow-task partitions."""
    pairs = stats.trackers.get(("default", queue, m.TaskKind.WORKFLOW), {}).values()
    return sum(sum(a.counts) for a, _ in pairs), sum(sum(d.counts) for _, d in pairs)


def test_a_query_task_is_added_and_dispatched_as_any_task() -> None:
    """Three queries of a closed run go to its normal queue, each a task added and
    dispatched (DispatchQueryTask and PollTask, physical_task_queue_manager.go)."""

    async def scenario() -> tuple[int, int]:
        listener = Listener("127.0.0.1:0")
        port = await listener.start()
        server = Server(listener.address, ("default",), listener=listener)
        await server.start()
        try:
            client = await connected(f"127.0.0.1:{port}")
            queue = "stats-queries"
            async with Worker(client, task_queue=queue, workflows=WORKFLOWS):
                handle = await client.start_workflow(
                    Waiter.run, "x", id="stats-queries", task_queue=queue
                )
                await handle.signal(Waiter.finish, "done")
                await handle.result()
                stats = server.frontend.runtime.queue_stats
                before = _counted(stats, queue)
                for _ in range(3):  # a closed run's queries go to its normal queue
                    assert await handle.query(Waiter.state) == "done"
                after = _counted(stats, queue)
        finally:
            await server.stop()
        return after[0] - before[0], after[1] - before[1]

    assert asyncio.run(scenario()) == (3, 3)


def test_an_idle_queue_loses_its_counters_after_5_minutes() -> None:
    """As matching unloads a queue idle for 5 minutes (maxTaskQueueIdleTime) with its
    trackers: a task later starts a fresh counter, so its rate counts from then. A
    poll keeps the queue alive."""
    stats = QueueStats()
    busy = m.TaskQueue("default", "busy", m.TaskKind.WORKFLOW)
    polled = m.TaskQueue("default", "polled", m.TaskKind.WORKFLOW)
    for queue in (busy, polled):
        stats.added(queue, 0, 0)
    stats.polled("default", "polled", m.TaskKind.WORKFLOW, 200 * SECOND)
    assert stats.rates("default", "busy", m.TaskKind.WORKFLOW, 299 * SECOND) == (0.0, 0.0)
    assert len(stats.trackers) == 2
    stats.sweep(300 * SECOND)
    assert [key[1] for key in stats.trackers] == ["polled"]
    stats.added(busy, 0, 400 * SECOND)
    assert stats.rates("default", "busy", m.TaskKind.WORKFLOW, 402 * SECOND) == (0.5, 0.0)
