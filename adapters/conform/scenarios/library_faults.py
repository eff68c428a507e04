"""Scenarios of the library that inject a live fault: a worker process killed while it
runs an activity (the heartbeat-timeout path), a worker process killed and replaced
mid-workflow, and the server restarted mid-workflow (for targets that can be restarted
with their state kept).

The workers of the first two run in processes of their own (`worker_process.py`), so
they can be killed with SIGKILL: no graceful shutdown, no report to the server.
"""

from __future__ import annotations

import asyncio
import subprocess

from temporalio.api.enums.v1 import PendingActivityState

from adapters.conform.scenarios import workflows as wf
from adapters.conform.scenarios.context import (
    COMPLETED,
    Ctx,
    E,
    ScenarioFailed,
    poll_until,
    settle,
    spawn_worker_process,
    wait_for_event,
)
from adapters.dev_server import stop_process

# worker-restart: each timer of TimersWorkflow lasts this long; the worker is killed
# during the first one.
RESTART_TIMER_SECONDS = 2.0


async def worker_killed(ctx: Ctx) -> None:
    """kill -9 the worker running an activity; a new worker process finishes."""
    first = spawn_worker_process(ctx, "process-1")
    second: subprocess.Popen[bytes] | None = None
    try:
        handle = await ctx.start(wf.WorkerKilledWorkflow.run, 60.0)

        async def activity_running() -> bool:
            pending = (await ctx.describe(handle.id)).pending_activities
            started = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            return any(p.state == started for p in pending)

        await poll_until(activity_running, "activity to start in worker process 1")
        await asyncio.sleep(0.5)  # a heartbeat or two reach the server first
        first.kill()  # SIGKILL: no graceful shutdown, no failure report
        first.wait(timeout=10)
        second = spawn_worker_process(ctx, "process-2")
        await settle(handle, timeout=90.0)
    finally:
        stop_process(first)
        if second is not None:
            stop_process(second)
    await ctx.capture_handle(handle, COMPLETED)


async def worker_restart(ctx: Ctx) -> None:
    """kill -9 the worker process while the workflow waits on its first timer, and start
    another: the timer's workflow task goes to the killed worker's sticky queue, times
    out there (schedule-to-start), and the new process replays the workflow from its
    history and finishes it."""
    first = spawn_worker_process(ctx, "process-1")
    second: subprocess.Popen[bytes] | None = None
    try:
        handle = await ctx.start(wf.TimersWorkflow.run, RESTART_TIMER_SECONDS)
        await wait_for_event(handle, E.EVENT_TYPE_TIMER_STARTED)
        first.kill()
        first.wait(timeout=10)
        second = spawn_worker_process(ctx, "process-2")
        await settle(handle, timeout=90.0)
    finally:
        stop_process(first)
        if second is not None:
            stop_process(second)
    await ctx.capture_handle(handle, COMPLETED)


async def server_restart(ctx: Ctx) -> None:
    """Restart the server (its state kept) while the workflow waits for a signal with a
    timer as its deadline; after the restart the signal arrives, the timer is cancelled
    and the workflow completes. The worker keeps no cache (so no sticky queue, whose
    poller a restarted server would not know): every task goes to the normal queue."""
    if ctx.restart_server is None:
        raise ScenarioFailed("the target declares no durability: no way to restart it")
    async with ctx.worker(max_cached_workflows=0):
        handle = await ctx.start(wf.ApprovalWorkflow.run, 60.0)
        await wait_for_event(handle, E.EVENT_TYPE_TIMER_STARTED)
        await ctx.restart_server()
        await handle.signal(wf.ApprovalWorkflow.approve, "a human")
        await settle(handle, timeout=90.0)
    await ctx.capture_handle(handle, COMPLETED)
