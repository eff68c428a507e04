"""Scenarios of the library: children, external workflows, chains of runs,
workflow-level outcomes, worker trouble and operator actions.

Each drives workflows on the target through the official SDK and captures the runs it
exists to produce (see `context.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes

from adapters.conform.scenarios import activities as acts
from adapters.conform.scenarios import workflows as wf
from adapters.conform.scenarios import workflows_runs as wr
from adapters.conform.scenarios.context import (
    CANCELED,
    COMPLETED,
    CONTINUED,
    FAILED,
    STICKY_TIMEOUT,
    TERMINATED,
    TIMED_OUT,
    Ctx,
    E,
    ScenarioFailed,
    capture_chain,
    first_run_id,
    poll_until,
    run_simple,
    settle,
    terminate_run,
    wait_for_event,
    wait_until_idle,
)

# --------------------------------------------------------------------------
# Scenarios: children, external workflows, multi-run chains
# --------------------------------------------------------------------------


async def child_workflow(ctx: Ctx, child_fails: bool) -> None:
    child_id = f"{ctx.workflow_id}-child"
    async with ctx.worker():
        handle = await ctx.start(wr.ParentWorkflow.run, child_id, child_fails)
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)
    outcome = FAILED if child_fails else COMPLETED
    description = "the child workflow started by the parent in this scenario"
    await ctx.capture(child_id, None, outcome, suffix=".child", description=description)


async def child_success(ctx: Ctx) -> None:
    await child_workflow(ctx, child_fails=False)


async def child_failure(ctx: Ctx) -> None:
    await child_workflow(ctx, child_fails=True)


async def continue_as_new(ctx: Ctx) -> None:
    async with ctx.worker():
        handle = await ctx.start(wr.ContinueAsNewWorkflow.run, 1, 3)
        await settle(handle)
    await capture_chain(ctx, first_run_id(handle), [CONTINUED, CONTINUED, COMPLETED])


async def workflow_retry(ctx: Ctx) -> None:
    policy = RetryPolicy(initial_interval=timedelta(milliseconds=500), maximum_attempts=2)
    async with ctx.worker():
        handle = await ctx.start(wr.RetriedWorkflow.run, retry_policy=policy)
        await settle(handle)
    await capture_chain(ctx, first_run_id(handle), [FAILED, COMPLETED])


async def external_target(ctx: Ctx, driver: Any, target_outcome: E.ValueType, what: str) -> None:
    """Start a waiting target, then a workflow that signals/cancels it."""
    target_id = f"{ctx.workflow_id}-target"
    async with ctx.worker():
        target = await ctx.start(wr.WaitForSignalWorkflow.run, id_suffix="-target")
        await wait_for_event(target, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        handle = await ctx.start(driver, target_id)
        await settle(handle)
        await settle(target)
    await ctx.capture_handle(handle, COMPLETED)
    description = f"the target workflow {what} by the other workflow in this scenario"
    await ctx.capture(target_id, None, target_outcome, suffix=".target", description=description)


async def signal_external(ctx: Ctx) -> None:
    await external_target(ctx, wr.SignalExternalWorkflow.run, COMPLETED, "signalled")


async def cancel_external(ctx: Ctx) -> None:
    await external_target(ctx, wr.CancelExternalWorkflow.run, CANCELED, "cancelled")


# --------------------------------------------------------------------------
# Scenarios: workflow-level outcomes and features
# --------------------------------------------------------------------------


async def workflow_cancel(ctx: Ctx) -> None:
    async with ctx.worker():
        handle = await ctx.start(wr.CancellableWorkflow.run)
        await wait_for_event(handle, E.EVENT_TYPE_TIMER_STARTED)
        await handle.cancel(reason="recorder asked")
        await settle(handle)
    await ctx.capture_handle(handle, CANCELED)


async def terminate(ctx: Ctx) -> None:
    async with ctx.worker():
        handle = await ctx.start(wr.SleepWorkflow.run, 3600.0)
        await wait_for_event(handle, E.EVENT_TYPE_TIMER_STARTED)
        await terminate_run(handle, "details", reason="recorder terminated it")
        await settle(handle)
    await ctx.capture_handle(handle, TERMINATED)


async def run_timeout(ctx: Ctx) -> None:
    run_limit = timedelta(seconds=2)
    await run_simple(ctx, wr.SleepWorkflow.run, 30.0, expect=TIMED_OUT, run_timeout=run_limit)


async def workflow_failure(ctx: Ctx) -> None:
    await run_simple(ctx, wr.FailingWorkflow.run, "deliberate failure", expect=FAILED)


async def start_delay(ctx: Ctx) -> None:
    delay = timedelta(seconds=1)
    await run_simple(
        ctx, wf.SingleActivityWorkflow.run, "later", expect=COMPLETED, start_delay=delay
    )


async def patched(ctx: Ctx) -> None:
    await run_simple(ctx, wr.PatchedWorkflow.run, expect=COMPLETED)


async def search_attributes_memo(ctx: Ctx) -> None:
    initial = TypedSearchAttributes([SearchAttributePair(acts.KEYWORD_ATTR, "queued")])
    memo = {"owner": "recorder", "initial": "to be removed"}
    await run_simple(
        ctx,
        wr.SearchAttributesMemoWorkflow.run,
        expect=COMPLETED,
        search_attributes=initial,
        memo=memo,
    )


# --------------------------------------------------------------------------
# Scenarios: worker trouble and operator actions
# --------------------------------------------------------------------------


async def wft_failure_fixed(ctx: Ctx) -> None:
    """Broken worker fails the WFT repeatedly; a fixed worker takes over."""
    buggy = [wr.BuggyDeployFixWorkflow]
    async with ctx.worker("buggy-worker", workflows=buggy):
        handle = await ctx.start(wr.BUGGY_WORKFLOW_NAME, task_timeout=timedelta(seconds=2))

        async def retried() -> bool:
            return (await ctx.describe(handle.id)).pending_workflow_task.attempt >= 3

        await poll_until(retried, "workflow task attempt 3")
    async with ctx.worker("fixed-worker"):
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def sticky_restart(ctx: Ctx) -> None:
    """Worker A owns the sticky queue, goes away; worker B picks up."""
    async with ctx.worker("worker-a", sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT):
        handle = await ctx.start(wr.StickyWorkflow.run, 2)
        await wait_for_event(handle, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        await handle.signal(wr.StickyWorkflow.next_round)
        await wait_for_event(handle, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
        await asyncio.sleep(0.5)  # let worker A finish the follow-up WFT
    # This signal's WFT goes to A's (now unpolled) sticky queue and must time
    # out before the server falls back to the normal queue.
    await handle.signal(wr.StickyWorkflow.next_round)
    with contextlib.suppress(ScenarioFailed):  # fallback without a timeout is fine too
        await wait_for_event(handle, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, timeout=15.0)
    async with ctx.worker("worker-b"):
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def reset(ctx: Ctx) -> None:
    """Reset a waiting run to its first WFT; the noted signal is reapplied."""
    async with ctx.worker():
        handle = await ctx.start(wr.ResettableWorkflow.run)

        async def waiting() -> bool:
            return await handle.query(wr.ResettableWorkflow.current_stage) == "waiting"

        await poll_until(waiting, "query to report 'waiting'")
        await handle.signal(wr.ResettableWorkflow.note, "sent before the reset")
        # Reset only once the signal's WFT has completed, so no task is in
        # flight (an in-flight WFT would be failed by the reset instead).
        await wait_until_idle(handle, E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
        base_run_id = first_run_id(handle)
        new_run_id = await reset_to_first_wft(ctx, base_run_id)
        new_run = ctx.client.get_workflow_handle(handle.id, run_id=new_run_id)

        async def new_run_waiting() -> bool:
            return await new_run.query(wr.ResettableWorkflow.current_stage) == "waiting"

        await poll_until(new_run_waiting, "reset run to reach 'waiting'")
        await new_run.signal(wr.ResettableWorkflow.proceed)
        await settle(new_run)
    base = "the original run, terminated by the reset"
    await ctx.capture(handle.id, base_run_id, TERMINATED, suffix=".base", description=base)
    await ctx.capture(handle.id, new_run_id, COMPLETED)


async def reset_to_first_wft(ctx: Ctx, run_id: str) -> str:
    handle = ctx.client.get_workflow_handle(ctx.workflow_id, run_id=run_id)
    history = await handle.fetch_history()
    first_completed = next(
        e.event_id for e in history.events if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    )
    request = ResetWorkflowExecutionRequest(
        namespace=ctx.client.namespace,
        workflow_execution=WorkflowExecution(workflow_id=ctx.workflow_id, run_id=run_id),
        reason="recorder reset to the first workflow task",
        workflow_task_finish_event_id=first_completed,
        request_id=str(uuid.uuid4()),
        identity="recorder-client",
    )
    response = await ctx.client.workflow_service.reset_workflow_execution(request)
    return str(response.run_id)
