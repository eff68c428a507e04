"""Scenarios of the library: activities, timers, signals, queries and updates.

Each drives workflows of `workflows.py` on the target through the official SDK and
captures the runs it exists to produce (see `context.py`).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy

from adapters.conform.scenarios import activities as acts
from adapters.conform.scenarios import workflows as wf
from adapters.conform.scenarios.context import (
    COMPLETED,
    FAILED,
    Ctx,
    E,
    ScenarioFailed,
    poll_until,
    run_simple,
    settle,
    wait_for_event,
)


async def activity_single(ctx: Ctx) -> None:
    await run_simple(ctx, wf.SingleActivityWorkflow.run, "recorder", expect=COMPLETED)


async def activity_retry(ctx: Ctx) -> None:
    await run_simple(ctx, wf.ActivityRetryWorkflow.run, 2, expect=COMPLETED)


async def activity_non_retryable(ctx: Ctx) -> None:
    await run_simple(ctx, wf.NonRetryableActivityWorkflow.run, "bad input", expect=FAILED)


async def activity_start_to_close_timeout(ctx: Ctx) -> None:
    await run_simple(ctx, wf.StartToCloseTimeoutWorkflow.run, 3.0, expect=COMPLETED)


async def activity_heartbeat_timeout(ctx: Ctx) -> None:
    await run_simple(ctx, wf.HeartbeatTimeoutWorkflow.run, 3.0, True, expect=COMPLETED)


async def activity_heartbeat_timeout_final(ctx: Ctx) -> None:
    await run_simple(ctx, wf.HeartbeatTimeoutWorkflow.run, 3.0, False, expect=COMPLETED)


async def activity_schedule_to_close_timeout(ctx: Ctx) -> None:
    await run_simple(ctx, wf.ScheduleToCloseTimeoutWorkflow.run, 5.0, expect=COMPLETED)


async def activity_schedule_to_start_timeout(ctx: Ctx) -> None:
    unpolled = f"{ctx.task_queue}-unpolled"
    await run_simple(ctx, wf.ScheduleToStartTimeoutWorkflow.run, unpolled, expect=COMPLETED)


async def activity_cancel_try(ctx: Ctx) -> None:
    await run_simple(ctx, wf.ActivityCancelWorkflow.run, "TRY_CANCEL", expect=COMPLETED)


async def activity_cancel_wait(ctx: Ctx) -> None:
    cancel_type = "WAIT_CANCELLATION_COMPLETED"
    await run_simple(ctx, wf.ActivityCancelWorkflow.run, cancel_type, expect=COMPLETED)


async def activity_cancel_abandon(ctx: Ctx) -> None:
    await run_simple(ctx, wf.ActivityCancelWorkflow.run, "ABANDON", expect=COMPLETED)


async def fan_out(ctx: Ctx) -> None:
    await run_simple(ctx, wf.FanOutWorkflow.run, 5, expect=COMPLETED)


async def saga(ctx: Ctx) -> None:
    await run_simple(ctx, wf.SagaWorkflow.run, 3, expect=FAILED)


async def local_activities(ctx: Ctx) -> None:
    linger = acts.LOCAL_TIMEOUT.total_seconds()
    await run_simple(ctx, wf.LocalActivitiesWorkflow.run, 2, expect=COMPLETED, linger=linger)


async def local_activity_long(ctx: Ctx) -> None:
    # 3.5 s of local activity against a 2 s WFT timeout: the worker must
    # heartbeat the WFT (complete it and ask for a new one) to stay alive.
    timeout = timedelta(seconds=2)
    await run_simple(
        ctx,
        wf.LongLocalActivityWorkflow.run,
        3.5,
        expect=COMPLETED,
        task_timeout=timeout,
        linger=1.5,
    )


# --------------------------------------------------------------------------
# Scenarios: timers, signals, queries, updates
# --------------------------------------------------------------------------


async def timers(ctx: Ctx) -> None:
    await run_simple(ctx, wf.TimersWorkflow.run, 0.5, expect=COMPLETED)


async def timer_cancelled(ctx: Ctx) -> None:
    await run_simple(ctx, wf.TimerCancelWorkflow.run, 1.0, expect=COMPLETED)


async def approval_signal(ctx: Ctx) -> None:
    async with ctx.worker():
        handle = await ctx.start(wf.ApprovalWorkflow.run, 60.0)
        await wait_for_event(handle, E.EVENT_TYPE_TIMER_STARTED)
        await handle.signal(wf.ApprovalWorkflow.approve, "a human")
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def approval_expired(ctx: Ctx) -> None:
    await run_simple(ctx, wf.ApprovalWorkflow.run, 1.0, expect=COMPLETED)


async def signals(ctx: Ctx) -> None:
    async with ctx.worker():
        handle = await ctx.start(wf.SignalsWorkflow.run, 3)
        await wait_for_event(handle, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        for item in ("one", "two", "three"):
            await handle.signal(wf.SignalsWorkflow.add, item)
            await asyncio.sleep(0.3)  # spread them over separate workflow tasks
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def signals_before_worker(ctx: Ctx) -> None:
    # No worker yet: the signals land between the first WFTScheduled and
    # its WFTStarted.
    handle = await ctx.start(wf.SignalsWorkflow.run, 3)
    for item in ("one", "two", "three"):
        await handle.signal(wf.SignalsWorkflow.add, item)
    async with ctx.worker():
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def signal_during_workflow_task(ctx: Ctx) -> None:
    async with ctx.worker():
        handle = await ctx.start(wf.BusyTaskWorkflow.run, 1.0)
        await wait_for_event(handle, E.EVENT_TYPE_WORKFLOW_TASK_STARTED)
        await handle.signal(wf.BusyTaskWorkflow.add, "while the task was running")
        await settle(handle)
        await asyncio.sleep(acts.LOCAL_TIMEOUT.total_seconds())  # see acts.LOCAL_TIMEOUT
    await ctx.capture_handle(handle, COMPLETED)


async def signal_with_start(ctx: Ctx) -> None:
    async with ctx.worker():
        handle = await ctx.start(
            wf.SignalsWorkflow.run, 2, start_signal="add", start_signal_args=["first"]
        )
        await wait_for_event(handle, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        await handle.signal(wf.SignalsWorkflow.add, "second")
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def query(ctx: Ctx) -> None:
    async with ctx.worker():
        handle = await ctx.start(wf.QueryWorkflow.run, "query")

        async def waiting() -> bool:
            return await handle.query(wf.QueryWorkflow.current_stage) == "waiting"

        await poll_until(waiting, "query to report 'waiting'")
        await handle.signal(wf.QueryWorkflow.finish)
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def updates(ctx: Ctx) -> None:
    async with ctx.worker():
        handle = await ctx.start(wf.UpdatesWorkflow.run)
        await wait_for_event(handle, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        await handle.execute_update(wf.UpdatesWorkflow.add, 2)
        try:
            await handle.execute_update(wf.UpdatesWorkflow.add, -1)
            raise ScenarioFailed("validator accepted a negative update")
        except WorkflowUpdateFailedError:
            pass  # rejected by the validator, as intended
        await handle.execute_update(wf.UpdatesWorkflow.add, 7)  # runs an activity
        await handle.signal(wf.UpdatesWorkflow.finish)
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def update_with_start(ctx: Ctx) -> None:
    operation = WithStartWorkflowOperation(
        wf.UpdatesWorkflow.run,
        id=ctx.workflow_id,
        task_queue=ctx.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    async with ctx.worker():
        await ctx.client.execute_update_with_start_workflow(
            wf.UpdatesWorkflow.add, 3, start_workflow_operation=operation
        )
        handle = await operation.workflow_handle()
        await handle.signal(wf.UpdatesWorkflow.finish)
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)
