"""The live runtime without gRPC: calls through the cluster, long polls, waiters, the
time-skipping clock, and that a long-running server keeps no per-call leftovers."""

from __future__ import annotations

import asyncio

from adapters.serve.kernel import LiveKernel
from adapters.serve.runtime import Runtime
from core import requests as rq
from core.statemachine import matching as m
from sim.nodes.base import StartedWorkflowTask

DAY = 86_400 * 1_000_000_000


def _start(
    workflow_id: str = "wf", task_timeout: int = 10_000_000_000
) -> rq.StartWorkflowExecution:
    return rq.StartWorkflowExecution(
        "default",
        workflow_id,
        f"run-{workflow_id}",
        "Flow",
        "q",
        f"req-{workflow_id}",
        workflow_task_timeout=task_timeout,
    )


async def _with_runtime(body: object, time_skipping: bool = False) -> object:
    runtime = Runtime(time_skipping=time_skipping)
    await runtime.start()
    try:
        assert callable(body)
        return await body(runtime)
    finally:
        await runtime.stop()


def test_a_start_and_a_poll_go_through_the_simulators_nodes() -> None:
    async def body(runtime: Runtime) -> None:
        reply = await runtime.call("default", "wf", "", _start(), deadline=None)
        assert isinstance(reply, rq.Ok)
        task = await runtime.poll("default", "q", m.TaskKind.WORKFLOW, False, None, "me")
        assert isinstance(task, StartedWorkflowTask)
        assert task.history[-1].attributes.identity == "me"  # type: ignore[union-attr]
        host = runtime.cluster.matching[runtime.cluster.router.matching_for("q")]
        assert host.seen == set() and host.poller_info == {}  # nothing kept per poll

    asyncio.run(_with_runtime(body))


def test_a_long_poll_ends_empty_at_its_deadline_and_leaves_no_poller() -> None:
    async def body(runtime: Runtime) -> None:
        deadline = asyncio.get_running_loop().time() + 1.2  # long-poll margin is 1 s
        assert await runtime.poll("default", "idle", m.TaskKind.ACTIVITY, False, deadline) is None
        host = runtime.cluster.matching[runtime.cluster.router.matching_for("idle")]
        assert all(not state.pollers for state in host.queues.values())

    asyncio.run(_with_runtime(body))


def test_a_waiter_that_times_out_is_forgotten() -> None:
    async def body(runtime: Runtime) -> None:
        await runtime.call("default", "wf", "", _start(), deadline=None)
        assert await runtime.waiters.change("run-wf", 0.05) is False
        assert runtime.waiters.by_run == {}
        waiting = asyncio.create_task(runtime.waiters.change("run-wf", 5))
        await asyncio.sleep(0)
        await runtime.call("default", "wf", "", rq.SignalWorkflowExecution("go"), None)
        assert await waiting is True

    asyncio.run(_with_runtime(body))


def test_time_skipping_jumps_to_a_timer_only_when_nothing_is_in_flight() -> None:
    async def body(runtime: Runtime) -> None:
        # A run whose first task waits a day (a start delay): no task is in flight, so
        # the clock jumps to the backoff timer and the task is scheduled at once.
        start = rq.StartWorkflowExecution(
            "default", "wf", "run-wf", "Flow", "q", "r", first_workflow_task_backoff=DAY
        )
        before = runtime.kernel.clock()
        await runtime.call("default", "wf", "", start, None)
        for _ in range(200):
            state = runtime.state("default", "wf")
            if state is not None and state.wft is not None:
                break
            await asyncio.sleep(0.01)
        assert runtime.kernel.clock() - before >= DAY
        assert runtime.busy()  # the scheduled task is in flight: no further jump
        jumped = runtime.kernel.offset
        await asyncio.sleep(0.1)
        assert runtime.kernel.offset == jumped

    asyncio.run(_with_runtime(body, time_skipping=True))


def test_a_locked_clock_does_not_skip() -> None:
    kernel = LiveKernel(0, time_skipping=True)
    kernel.locks = 1
    assert not kernel.can_skip()
    kernel.locks = 0
    assert kernel.can_skip()
    kernel.in_flight = lambda at_most: 1
    assert not kernel.can_skip()
