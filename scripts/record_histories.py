#!/usr/bin/env python3
"""Record real workflow histories from a Temporal dev server.

Dev tool, never imported by the package. It starts ``temporal server
start-dev`` on loopback, drives each scenario with the official Python SDK
(workflows live in ``scripts/recorder_workflows.py``), and writes every
recorded run as the SDK's canonical protojson (``WorkflowHistory.to_json``)
plus a ``manifest.json`` describing them.

Usage::

    python scripts/record_histories.py [--out tests/fixtures/histories] [--only SCENARIO ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import limit_workflows as lw
import record_limits as rl
import recorder_workflows as rw
import temporalio
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, PendingActivityState, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    ResetWorkflowExecutionRequest,
)
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowContinuedAsNewError,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowHistory,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    RetryPolicy,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.worker import Worker

from adapters.dev_server import LOOPBACK, free_loopback_ports, server_command, stop_process

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures" / "histories"
SERVER_START_TIMEOUT = 60.0
SCENARIO_TIMEOUT = 120.0
# A killed worker's sticky queue is abandoned; keep the wait for it short.
STICKY_TIMEOUT = timedelta(seconds=2)
# Lifetime cap for ``--serve-worker`` children, in case the parent dies.
CHILD_WORKER_MAX_SECONDS = 300.0

E = EventType
CLOSE_EVENTS = frozenset(
    {
        E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    }
)
COMPLETED = E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
FAILED = E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
TIMED_OUT = E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT
CANCELED = E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED
TERMINATED = E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
CONTINUED = E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW


class RecordingError(Exception):
    """A scenario did not produce the history it exists to produce."""


# --------------------------------------------------------------------------
# Dev server lifecycle
# --------------------------------------------------------------------------


def cli_versions() -> tuple[str, str]:
    """(cli_version, server_version) parsed from ``temporal --version``."""
    text = subprocess.run(
        ["temporal", "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    cli = re.search(r"temporal version (\S+)", text)
    server = re.search(r"Server (\S+?)[,)]", text)
    return (cli.group(1) if cli else text.strip(), server.group(1) if server else "unknown")


def recorder_server_command(ports: Sequence[int], config: Config = ()) -> list[str]:
    flags = [arg for flag in rw.SEARCH_ATTRIBUTE_FLAGS for arg in ("--search-attribute", flag)]
    flags += rl.dynamic_config_flags(dict(config))
    return server_command("temporal", ports, flags)


# A dev server's dynamic config, as sorted (key, value) pairs: () is the default server.
Config = tuple[tuple[str, int], ...]


def config_of(name: str) -> Config:
    limit = rl.LIMIT_SCENARIOS.get(name)
    return tuple(sorted(limit.config.items())) if limit is not None else ()


@contextlib.contextmanager
def dev_server(
    log_path: Path, config: Config = ()
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run the dev server (with `config`'s dynamic config) for the block, then kill it."""
    ports = free_loopback_ports(4)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            recorder_server_command(ports, config), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield f"{LOOPBACK}:{ports[0]}", proc
        finally:
            stop_process(proc)


def quiet_runtime(verbose: bool) -> Runtime:
    """Core logs every deliberate failure at WARN; keep them out of the way."""
    level = "WARN" if verbose else "ERROR"
    filt = TelemetryFilter(core_level=level, other_level="ERROR")
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=filt)))


async def connect_when_ready(
    address: str, proc: subprocess.Popen[bytes], runtime: Runtime, log_path: Path
) -> Client:
    """Poll until the server answers on the default namespace (bounded)."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RecordingError(f"dev server exited early; log:\n{log_path.read_text()}")
        try:
            client = await Client.connect(address, runtime=runtime, identity="recorder-client")
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace="default")
            )
            return client
        except Exception as err:  # not up yet; anything else surfaces at the deadline
            last_error = err
            await asyncio.sleep(0.25)
    raise RecordingError(f"dev server not ready after {SERVER_START_TIMEOUT}s: {last_error}")


# --------------------------------------------------------------------------
# Per-scenario context and helpers
# --------------------------------------------------------------------------


@dataclass
class Capture:
    """One recorded run, ready to be written to ``<scenario><suffix>.json``."""

    scenario: str
    suffix: str
    description: str
    workflow_id: str
    run_id: str
    history: WorkflowHistory

    @property
    def file_name(self) -> str:
        return f"{self.scenario}{self.suffix}.json"


@dataclass
class Ctx:
    client: Client
    address: str
    scenario: str
    description: str
    verbose: bool
    captures: list[Capture] = field(default_factory=list)

    @property
    def workflow_id(self) -> str:
        return f"rec-{self.scenario}"

    @property
    def task_queue(self) -> str:
        return f"rec-{self.scenario}"

    def worker(self, name: str = "worker", **options: Any) -> Worker:
        """A worker on this scenario's queue; ``name`` becomes its identity."""
        options.setdefault("workflows", rw.ALL_WORKFLOWS)
        options.setdefault("activities", rw.ALL_ACTIVITIES)
        identity = f"{self.scenario}-{name}"
        return Worker(self.client, task_queue=self.task_queue, identity=identity, **options)

    async def start(
        self, workflow: Any, *args: Any, id_suffix: str = "", **options: Any
    ) -> WorkflowHandle[Any, Any]:
        return await self.client.start_workflow(
            workflow,
            args=list(args),
            id=self.workflow_id + id_suffix,
            task_queue=self.task_queue,
            **options,
        )

    async def capture(
        self,
        workflow_id: str,
        run_id: str | None,
        expect: E.ValueType,
        *,
        suffix: str = "",
        description: str | None = None,
    ) -> WorkflowHistory:
        """Fetch a closed run's history and check it ended as expected."""
        handle = self.client.get_workflow_handle(workflow_id, run_id=run_id)
        resolved_run_id = (await handle.describe()).run_id
        history = await handle.fetch_history()
        close = history.events[-1].event_type if history.events else None
        if close != expect:
            got = E.Name(close) if close is not None else "no events"
            raise RecordingError(f"{workflow_id}: expected {E.Name(expect)}, got {got}")
        text = description or self.description
        self.captures.append(
            Capture(self.scenario, suffix, text, workflow_id, resolved_run_id, history)
        )
        return history

    async def capture_handle(self, handle: WorkflowHandle[Any, Any], expect: E.ValueType) -> None:
        await self.capture(handle.id, handle.result_run_id, expect)

    async def describe(self, workflow_id: str) -> DescribeWorkflowExecutionResponse:
        request = DescribeWorkflowExecutionRequest(
            namespace=self.client.namespace,
            execution=WorkflowExecution(workflow_id=workflow_id),
        )
        return await self.client.workflow_service.describe_workflow_execution(request)


async def settle(handle: WorkflowHandle[Any, Any], timeout: float = 60.0) -> None:
    """Wait until the workflow is closed, whatever the outcome."""
    # Failed/cancelled/terminated/timed-out runs are outcomes we record on
    # purpose; Ctx.capture checks the close event is the intended one.
    with contextlib.suppress(WorkflowFailureError, WorkflowContinuedAsNewError):
        await asyncio.wait_for(handle.result(), timeout)


async def poll_until(
    check: Callable[[], Awaitable[bool]], what: str, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise RecordingError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)


async def wait_for_event(
    handle: WorkflowHandle[Any, Any], event_type: E.ValueType, timeout: float = 30.0
) -> None:
    """Block until the run's history contains ``event_type``."""

    async def seen() -> bool:
        history = await handle.fetch_history()
        return any(e.event_type == event_type for e in history.events)

    await poll_until(seen, E.Name(event_type), timeout)


async def wait_until_idle(
    handle: WorkflowHandle[Any, Any], after: E.ValueType, timeout: float = 30.0
) -> None:
    """Block until an ``after`` event exists and the history ends in WFTCompleted."""

    async def idle() -> bool:
        events = (await handle.fetch_history()).events
        seen = any(e.event_type == after for e in events)
        return seen and events[-1].event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED

    await poll_until(idle, f"a completed workflow task after {E.Name(after)}", timeout)


def close_event(history: WorkflowHistory) -> HistoryEvent | None:
    events = history.events
    return events[-1] if events and events[-1].event_type in CLOSE_EVENTS else None


def next_run_id(history: WorkflowHistory) -> str:
    """Run id a close event hands over to (continue-as-new, retry), or ''."""
    last = close_event(history)
    if last is None:
        return ""
    attrs = getattr(last, str(last.WhichOneof("attributes")))
    return str(getattr(attrs, "new_execution_run_id", ""))


def first_run_id(handle: WorkflowHandle[Any, Any]) -> str:
    """Run id ``start_workflow`` got back (its handles leave ``run_id`` unset)."""
    if not handle.first_execution_run_id:
        raise RecordingError(f"{handle.id}: start returned no run id")
    return handle.first_execution_run_id


async def capture_chain(ctx: Ctx, first_run_id: str, expects: Sequence[E.ValueType]) -> None:
    """Record every run of a chain as ``.run1``, ``.run2``, ..."""
    run_id = first_run_id
    for index, expect in enumerate(expects, start=1):
        description = f"{ctx.description} (run {index} of {len(expects)})"
        history = await ctx.capture(
            ctx.workflow_id, run_id, expect, suffix=f".run{index}", description=description
        )
        run_id = next_run_id(history)


# --------------------------------------------------------------------------
# Scenarios: activities
# --------------------------------------------------------------------------


async def run_simple(
    ctx: Ctx, workflow: Any, *args: Any, expect: E.ValueType, linger: float = 0.0, **options: Any
) -> None:
    """Start, wait, capture: the shape of most single-workflow scenarios.

    ``linger`` keeps the worker up after the workflow closes (see
    ``rw.LOCAL_TIMEOUT`` for why local-activity scenarios need it).
    """
    async with ctx.worker():
        handle = await ctx.start(workflow, *args, **options)
        await settle(handle)
        await asyncio.sleep(linger)
    await ctx.capture_handle(handle, expect)


async def activity_single(ctx: Ctx) -> None:
    await run_simple(ctx, rw.SingleActivityWorkflow.run, "recorder", expect=COMPLETED)


async def activity_retry(ctx: Ctx) -> None:
    await run_simple(ctx, rw.ActivityRetryWorkflow.run, 2, expect=COMPLETED)


async def activity_non_retryable(ctx: Ctx) -> None:
    await run_simple(ctx, rw.NonRetryableActivityWorkflow.run, "bad input", expect=FAILED)


async def activity_start_to_close_timeout(ctx: Ctx) -> None:
    await run_simple(ctx, rw.StartToCloseTimeoutWorkflow.run, 3.0, expect=COMPLETED)


async def activity_heartbeat_timeout(ctx: Ctx) -> None:
    await run_simple(ctx, rw.HeartbeatTimeoutWorkflow.run, 3.0, True, expect=COMPLETED)


async def activity_heartbeat_timeout_final(ctx: Ctx) -> None:
    await run_simple(ctx, rw.HeartbeatTimeoutWorkflow.run, 3.0, False, expect=COMPLETED)


async def activity_schedule_to_close_timeout(ctx: Ctx) -> None:
    await run_simple(ctx, rw.ScheduleToCloseTimeoutWorkflow.run, 5.0, expect=COMPLETED)


async def activity_schedule_to_start_timeout(ctx: Ctx) -> None:
    unpolled = f"{ctx.task_queue}-unpolled"
    await run_simple(ctx, rw.ScheduleToStartTimeoutWorkflow.run, unpolled, expect=COMPLETED)


async def activity_cancel_try(ctx: Ctx) -> None:
    await run_simple(ctx, rw.ActivityCancelWorkflow.run, "TRY_CANCEL", expect=COMPLETED)


async def activity_cancel_wait(ctx: Ctx) -> None:
    cancel_type = "WAIT_CANCELLATION_COMPLETED"
    await run_simple(ctx, rw.ActivityCancelWorkflow.run, cancel_type, expect=COMPLETED)


async def activity_cancel_abandon(ctx: Ctx) -> None:
    await run_simple(ctx, rw.ActivityCancelWorkflow.run, "ABANDON", expect=COMPLETED)


async def fan_out(ctx: Ctx) -> None:
    await run_simple(ctx, rw.FanOutWorkflow.run, 5, expect=COMPLETED)


async def saga(ctx: Ctx) -> None:
    await run_simple(ctx, rw.SagaWorkflow.run, 3, expect=FAILED)


async def local_activities(ctx: Ctx) -> None:
    linger = rw.LOCAL_TIMEOUT.total_seconds()
    await run_simple(ctx, rw.LocalActivitiesWorkflow.run, 2, expect=COMPLETED, linger=linger)


async def local_activity_long(ctx: Ctx) -> None:
    # 3.5 s of local activity against a 2 s WFT timeout: the worker must
    # heartbeat the WFT (complete it and ask for a new one) to stay alive.
    timeout = timedelta(seconds=2)
    await run_simple(
        ctx,
        rw.LongLocalActivityWorkflow.run,
        3.5,
        expect=COMPLETED,
        task_timeout=timeout,
        linger=1.5,
    )


# --------------------------------------------------------------------------
# Scenarios: timers, signals, queries, updates
# --------------------------------------------------------------------------


async def timers(ctx: Ctx) -> None:
    await run_simple(ctx, rw.TimersWorkflow.run, 0.5, expect=COMPLETED)


async def timer_cancelled(ctx: Ctx) -> None:
    await run_simple(ctx, rw.TimerCancelWorkflow.run, 1.0, expect=COMPLETED)


async def approval_signal(ctx: Ctx) -> None:
    async with ctx.worker():
        handle = await ctx.start(rw.ApprovalWorkflow.run, 60.0)
        await wait_for_event(handle, E.EVENT_TYPE_TIMER_STARTED)
        await handle.signal(rw.ApprovalWorkflow.approve, "a human")
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def approval_expired(ctx: Ctx) -> None:
    await run_simple(ctx, rw.ApprovalWorkflow.run, 1.0, expect=COMPLETED)


async def signals(ctx: Ctx) -> None:
    async with ctx.worker():
        handle = await ctx.start(rw.SignalsWorkflow.run, 3)
        await wait_for_event(handle, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        for item in ("one", "two", "three"):
            await handle.signal(rw.SignalsWorkflow.add, item)
            await asyncio.sleep(0.3)  # spread them over separate workflow tasks
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def signals_before_worker(ctx: Ctx) -> None:
    # No worker yet: the signals land between the first WFTScheduled and
    # its WFTStarted.
    handle = await ctx.start(rw.SignalsWorkflow.run, 3)
    for item in ("one", "two", "three"):
        await handle.signal(rw.SignalsWorkflow.add, item)
    async with ctx.worker():
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def signal_during_workflow_task(ctx: Ctx) -> None:
    async with ctx.worker():
        handle = await ctx.start(rw.BusyTaskWorkflow.run, 1.0)
        await wait_for_event(handle, E.EVENT_TYPE_WORKFLOW_TASK_STARTED)
        await handle.signal(rw.BusyTaskWorkflow.add, "while the task was running")
        await settle(handle)
        await asyncio.sleep(rw.LOCAL_TIMEOUT.total_seconds())  # see rw.LOCAL_TIMEOUT
    await ctx.capture_handle(handle, COMPLETED)


async def signal_with_start(ctx: Ctx) -> None:
    async with ctx.worker():
        handle = await ctx.start(
            rw.SignalsWorkflow.run, 2, start_signal="add", start_signal_args=["first"]
        )
        await wait_for_event(handle, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        await handle.signal(rw.SignalsWorkflow.add, "second")
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def query(ctx: Ctx) -> None:
    async with ctx.worker():
        handle = await ctx.start(rw.QueryWorkflow.run, "query")

        async def waiting() -> bool:
            return await handle.query(rw.QueryWorkflow.current_stage) == "waiting"

        await poll_until(waiting, "query to report 'waiting'")
        await handle.signal(rw.QueryWorkflow.finish)
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def updates(ctx: Ctx) -> None:
    async with ctx.worker():
        handle = await ctx.start(rw.UpdatesWorkflow.run)
        await wait_for_event(handle, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        await handle.execute_update(rw.UpdatesWorkflow.add, 2)
        try:
            await handle.execute_update(rw.UpdatesWorkflow.add, -1)
            raise RecordingError("validator accepted a negative update")
        except WorkflowUpdateFailedError:
            pass  # rejected by the validator, as intended
        await handle.execute_update(rw.UpdatesWorkflow.add, 7)  # runs an activity
        await handle.signal(rw.UpdatesWorkflow.finish)
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def update_with_start(ctx: Ctx) -> None:
    operation = WithStartWorkflowOperation(
        rw.UpdatesWorkflow.run,
        id=ctx.workflow_id,
        task_queue=ctx.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    async with ctx.worker():
        await ctx.client.execute_update_with_start_workflow(
            rw.UpdatesWorkflow.add, 3, start_workflow_operation=operation
        )
        handle = await operation.workflow_handle()
        await handle.signal(rw.UpdatesWorkflow.finish)
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


# --------------------------------------------------------------------------
# Scenarios: children, external workflows, multi-run chains
# --------------------------------------------------------------------------


async def child_workflow(ctx: Ctx, child_fails: bool) -> None:
    child_id = f"{ctx.workflow_id}-child"
    async with ctx.worker():
        handle = await ctx.start(rw.ParentWorkflow.run, child_id, child_fails)
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
        handle = await ctx.start(rw.ContinueAsNewWorkflow.run, 1, 3)
        await settle(handle)
    await capture_chain(ctx, first_run_id(handle), [CONTINUED, CONTINUED, COMPLETED])


async def workflow_retry(ctx: Ctx) -> None:
    policy = RetryPolicy(initial_interval=timedelta(milliseconds=500), maximum_attempts=2)
    async with ctx.worker():
        handle = await ctx.start(rw.RetriedWorkflow.run, retry_policy=policy)
        await settle(handle)
    await capture_chain(ctx, first_run_id(handle), [FAILED, COMPLETED])


async def external_target(ctx: Ctx, driver: Any, target_outcome: E.ValueType, what: str) -> None:
    """Start a waiting target, then a workflow that signals/cancels it."""
    target_id = f"{ctx.workflow_id}-target"
    async with ctx.worker():
        target = await ctx.start(rw.WaitForSignalWorkflow.run, id_suffix="-target")
        await wait_for_event(target, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        handle = await ctx.start(driver, target_id)
        await settle(handle)
        await settle(target)
    await ctx.capture_handle(handle, COMPLETED)
    description = f"the target workflow {what} by the other workflow in this scenario"
    await ctx.capture(target_id, None, target_outcome, suffix=".target", description=description)


async def signal_external(ctx: Ctx) -> None:
    await external_target(ctx, rw.SignalExternalWorkflow.run, COMPLETED, "signalled")


async def cancel_external(ctx: Ctx) -> None:
    await external_target(ctx, rw.CancelExternalWorkflow.run, CANCELED, "cancelled")


# --------------------------------------------------------------------------
# Scenarios: workflow-level outcomes and features
# --------------------------------------------------------------------------


async def workflow_cancel(ctx: Ctx) -> None:
    async with ctx.worker():
        handle = await ctx.start(rw.CancellableWorkflow.run)
        await wait_for_event(handle, E.EVENT_TYPE_TIMER_STARTED)
        await handle.cancel(reason="recorder asked")
        await settle(handle)
    await ctx.capture_handle(handle, CANCELED)


async def terminate(ctx: Ctx) -> None:
    async with ctx.worker():
        handle = await ctx.start(rw.SleepWorkflow.run, 3600.0)
        await wait_for_event(handle, E.EVENT_TYPE_TIMER_STARTED)
        await handle.terminate("details", reason="recorder terminated it")
        await settle(handle)
    await ctx.capture_handle(handle, TERMINATED)


async def run_timeout(ctx: Ctx) -> None:
    run_limit = timedelta(seconds=2)
    await run_simple(ctx, rw.SleepWorkflow.run, 30.0, expect=TIMED_OUT, run_timeout=run_limit)


async def workflow_failure(ctx: Ctx) -> None:
    await run_simple(ctx, rw.FailingWorkflow.run, "deliberate failure", expect=FAILED)


async def start_delay(ctx: Ctx) -> None:
    delay = timedelta(seconds=1)
    await run_simple(
        ctx, rw.SingleActivityWorkflow.run, "later", expect=COMPLETED, start_delay=delay
    )


async def patched(ctx: Ctx) -> None:
    await run_simple(ctx, rw.PatchedWorkflow.run, expect=COMPLETED)


async def search_attributes_memo(ctx: Ctx) -> None:
    initial = TypedSearchAttributes([SearchAttributePair(rw.KEYWORD_ATTR, "queued")])
    memo = {"owner": "recorder", "initial": "to be removed"}
    await run_simple(
        ctx,
        rw.SearchAttributesMemoWorkflow.run,
        expect=COMPLETED,
        search_attributes=initial,
        memo=memo,
    )


# --------------------------------------------------------------------------
# Scenarios: worker trouble and operator actions
# --------------------------------------------------------------------------


async def wft_failure_fixed(ctx: Ctx) -> None:
    """Broken worker fails the WFT repeatedly; a fixed worker takes over."""
    buggy = [rw.BuggyDeployFixWorkflow]
    async with ctx.worker("buggy-worker", workflows=buggy):
        handle = await ctx.start(rw.BUGGY_WORKFLOW_NAME, task_timeout=timedelta(seconds=2))

        async def retried() -> bool:
            return (await ctx.describe(handle.id)).pending_workflow_task.attempt >= 3

        await poll_until(retried, "workflow task attempt 3")
    async with ctx.worker("fixed-worker"):
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


async def sticky_restart(ctx: Ctx) -> None:
    """Worker A owns the sticky queue, goes away; worker B picks up."""
    async with ctx.worker("worker-a", sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT):
        handle = await ctx.start(rw.StickyWorkflow.run, 2)
        await wait_for_event(handle, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        await handle.signal(rw.StickyWorkflow.next_round)
        await wait_for_event(handle, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
        await asyncio.sleep(0.5)  # let worker A finish the follow-up WFT
    # This signal's WFT goes to A's (now unpolled) sticky queue and must time
    # out before the server falls back to the normal queue.
    await handle.signal(rw.StickyWorkflow.next_round)
    with contextlib.suppress(RecordingError):  # fallback without a timeout is fine too
        await wait_for_event(handle, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, timeout=15.0)
    async with ctx.worker("worker-b"):
        await settle(handle)
    await ctx.capture_handle(handle, COMPLETED)


def spawn_worker_process(ctx: Ctx, name: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, str(Path(__file__).resolve()), "--serve-worker", ctx.address]
    command += ["--task-queue", ctx.task_queue, "--identity", f"{ctx.scenario}-{name}"]
    output = None if ctx.verbose else subprocess.DEVNULL
    return subprocess.Popen(command, stdout=output, stderr=output)


async def worker_killed(ctx: Ctx) -> None:
    """kill -9 the worker running an activity; a new worker process finishes."""
    first = spawn_worker_process(ctx, "process-1")
    second: subprocess.Popen[bytes] | None = None
    try:
        handle = await ctx.start(rw.WorkerKilledWorkflow.run, 60.0)

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


async def reset(ctx: Ctx) -> None:
    """Reset a waiting run to its first WFT; the noted signal is reapplied."""
    async with ctx.worker():
        handle = await ctx.start(rw.ResettableWorkflow.run)

        async def waiting() -> bool:
            return await handle.query(rw.ResettableWorkflow.current_stage) == "waiting"

        await poll_until(waiting, "query to report 'waiting'")
        await handle.signal(rw.ResettableWorkflow.note, "sent before the reset")
        # Reset only once the signal's WFT has completed, so no task is in
        # flight (an in-flight WFT would be failed by the reset instead).
        await wait_until_idle(handle, E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
        base_run_id = first_run_id(handle)
        new_run_id = await reset_to_first_wft(ctx, base_run_id)
        new_run = ctx.client.get_workflow_handle(handle.id, run_id=new_run_id)

        async def new_run_waiting() -> bool:
            return await new_run.query(rw.ResettableWorkflow.current_stage) == "waiting"

        await poll_until(new_run_waiting, "reset run to reach 'waiting'")
        await new_run.signal(rw.ResettableWorkflow.proceed)
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


# --------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------

ScenarioFn = Callable[[Ctx], Awaitable[None]]

SCENARIOS: dict[str, tuple[str, ScenarioFn]] = {
    "activity-single": ("one activity scheduled, run and completed", activity_single),
    "activity-retry": ("activity fails twice (retryable) then succeeds", activity_retry),
    "activity-non-retryable": (
        "non-retryable ApplicationError from the activity fails the workflow",
        activity_non_retryable,
    ),
    "activity-start-to-close-timeout": (
        "attempt 1 exceeds its 1s start-to-close timeout, attempt 2 succeeds",
        activity_start_to_close_timeout,
    ),
    "activity-heartbeat-timeout": (
        "attempt 1 heartbeats then goes silent (heartbeat timeout), attempt 2 succeeds",
        activity_heartbeat_timeout,
    ),
    "activity-heartbeat-timeout-final": (
        "heartbeat timeout with no retries left: ActivityTaskTimedOut, caught by the workflow",
        activity_heartbeat_timeout_final,
    ),
    "activity-schedule-to-close-timeout": (
        "activity outlives its 2s schedule-to-close timeout; workflow catches it",
        activity_schedule_to_close_timeout,
    ),
    "activity-schedule-to-start-timeout": (
        "activity on an unpolled task queue hits schedule-to-start; workflow catches it",
        activity_schedule_to_start_timeout,
    ),
    "activity-cancel-try-cancel": (
        "running heartbeating activity cancelled with TRY_CANCEL",
        activity_cancel_try,
    ),
    "activity-cancel-wait-completed": (
        "running heartbeating activity cancelled with WAIT_CANCELLATION_COMPLETED",
        activity_cancel_wait,
    ),
    "activity-cancel-abandon": (
        "running activity cancelled with ABANDON (no cancel request reaches the server)",
        activity_cancel_abandon,
    ),
    "fan-out": ("five activities started together and gathered", fan_out),
    "saga": ("step 3 fails; steps 2 and 1 compensated in reverse; workflow fails", saga),
    "local-activities": (
        "two local activities, the second retried twice inside the worker",
        local_activities,
    ),
    "local-activity-long": (
        "3.5s local activity with a 2s WFT timeout (WFT heartbeating)",
        local_activity_long,
    ),
    "timers": ("two sequential timers then two concurrent ones", timers),
    "timer-cancelled": ("a long timer cancelled after a short one fires", timer_cancelled),
    "approval-signal": (
        "wait_condition with a deadline satisfied by a signal (timer cancelled)",
        approval_signal,
    ),
    "approval-expired": (
        "wait_condition with a 1s deadline that expires (timer fires)",
        approval_expired,
    ),
    "signals": ("workflow waits for three signals sent while it runs", signals),
    "signals-before-worker": (
        "three signals sent before any worker polls the first workflow task",
        signals_before_worker,
    ),
    "signal-during-workflow-task": (
        "signal arrives while a WFT is running; server buffers it until WFTCompleted",
        signal_during_workflow_task,
    ),
    "signal-with-start": ("started by signal-with-start, then one more signal", signal_with_start),
    "query": ("queried mid-run (no history events), then signalled to finish", query),
    "updates": (
        "update accepted+completed, one rejected by the validator, one running an activity",
        updates,
    ),
    "update-with-start": (
        "started by update-with-start, then signalled to finish",
        update_with_start,
    ),
    "child-success": ("parent runs a child workflow that completes", child_success),
    "child-failure": ("parent runs a child workflow that fails; parent catches it", child_failure),
    "continue-as-new": ("three runs chained by continue-as-new", continue_as_new),
    "workflow-retry": ("workflow retry policy: run 1 fails, run 2 succeeds", workflow_retry),
    "signal-external": ("workflow signals another workflow", signal_external),
    "cancel-external": ("workflow requests cancellation of another workflow", cancel_external),
    "workflow-cancel": (
        "client cancels; workflow runs a cleanup activity and ends canceled",
        workflow_cancel,
    ),
    "terminate": ("client terminates a sleeping workflow", terminate),
    "run-timeout": ("2s run timeout while the workflow sleeps 30s", run_timeout),
    "workflow-failure": ("workflow raises ApplicationError after an activity", workflow_failure),
    "start-delay": ("workflow started with a 1s start delay", start_delay),
    "patched": ("workflow.patched and deprecate_patch markers", patched),
    "search-attributes-memo": (
        "search attribute and memo upserts (custom attributes, one unset)",
        search_attributes_memo,
    ),
    "wft-failure-fixed": (
        "buggy worker fails workflow tasks; a fixed worker on the same queue completes it",
        wft_failure_fixed,
    ),
    "worker-killed": (
        "worker process kill -9'd mid-activity; new process retries after heartbeat timeout",
        worker_killed,
    ),
    "sticky-restart": (
        "sticky worker shut down mid-workflow; its sticky WFT times out, another worker resumes",
        sticky_restart,
    ),
    "reset": ("running workflow reset to its first workflow task; signal reapplied", reset),
}


async def limit_scenario(ctx: Ctx, spec: rl.LimitScenario) -> None:
    """Run one limit scenario (scripts/record_limits.py) on its small-limits server."""
    worker = ctx.worker(
        workflows=lw.LIMIT_WORKFLOWS,
        activities=lw.LIMIT_ACTIVITIES,
        disable_payload_error_limit=True,
    )
    async with worker:
        handle = await ctx.start(spec.workflow, *spec.args, **spec.options)
        await settle(handle)
    await ctx.capture_handle(handle, E.Value(spec.expect))


def _limit_fn(spec: rl.LimitScenario) -> ScenarioFn:
    return lambda ctx: limit_scenario(ctx, spec)


SCENARIOS.update(
    {name: (spec.description, _limit_fn(spec)) for name, spec in rl.LIMIT_SCENARIOS.items()}
)


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def optional_links(history: WorkflowHistory) -> dict[str, str]:
    """Cross-run links worth having in the manifest without parsing the JSON."""
    links: dict[str, str] = {}
    started = history.events[0].workflow_execution_started_event_attributes
    if started.continued_execution_run_id:
        links["continued_from_run_id"] = started.continued_execution_run_id
    if started.parent_workflow_execution.workflow_id:
        links["parent_workflow_id"] = started.parent_workflow_execution.workflow_id
    reset_cause = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
    for event in history.events:
        failed = event.workflow_task_failed_event_attributes
        if event.HasField("workflow_task_failed_event_attributes") and failed.cause == reset_cause:
            links["reset_from_run_id"] = failed.base_run_id
    return links


def manifest_entry(capture: Capture) -> dict[str, Any]:
    history = capture.history
    last = close_event(history)
    entry: dict[str, Any] = {
        "file": capture.file_name,
        "scenario": capture.scenario,
        "description": capture.description,
        "workflow_id": capture.workflow_id,
        "run_id": capture.run_id,
        "events": len(history.events),
        "close_event": E.Name(last.event_type) if last is not None else None,
    }
    entry.update(optional_links(history))
    config = config_of(capture.scenario)
    if config:
        entry["dynamic_config"] = dict(config)
    return entry


def write_history(out_dir: Path, capture: Capture) -> None:
    # to_json is protobuf's MessageToJson: canonical protojson, indent 2.
    (out_dir / capture.file_name).write_text(capture.history.to_json() + "\n")


def prune_stale(out_dir: Path, captures: Sequence[Capture]) -> None:
    """After a full run, delete histories the old manifest listed but this run didn't write."""
    path = out_dir / "manifest.json"
    if not path.exists():
        return
    written = {c.file_name for c in captures}
    for entry in json.loads(path.read_text()).get("histories", []):
        name = str(entry.get("file", ""))
        if name and name not in written and "/" not in name:
            (out_dir / name).unlink(missing_ok=True)


def write_manifest(out_dir: Path, captures: Sequence[Capture], scenarios: Sequence[str]) -> None:
    """Write the manifest; a partial (--only) run keeps other scenarios' entries."""
    path = out_dir / "manifest.json"
    kept: list[dict[str, Any]] = []
    if path.exists() and set(scenarios) != set(SCENARIOS):
        old = json.loads(path.read_text())
        kept = [h for h in old.get("histories", []) if h.get("scenario") not in scenarios]
    cli_version, server_version = cli_versions()
    entries = kept + [manifest_entry(c) for c in captures]
    order = list(SCENARIOS)
    entries.sort(key=lambda h: order.index(h["scenario"]) if h["scenario"] in order else 999)
    manifest = {
        "server_version": server_version,
        "cli_version": cli_version,
        "sdk_version": f"temporalio {temporalio.__version__}",
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "histories": entries,
    }
    path.write_text(json.dumps(manifest, indent=2) + "\n")


def check_corpus(out_dir: Path) -> int:
    """Re-read every manifest entry through the SDK and check its basic shape."""
    manifest = json.loads((out_dir / "manifest.json").read_text())
    problems: list[str] = []
    for entry in manifest["histories"]:
        text = (out_dir / entry["file"]).read_text()
        history = WorkflowHistory.from_json(entry["workflow_id"], text)
        ids = [e.event_id for e in history.events]
        if ids != list(range(1, len(ids) + 1)):
            problems.append(f"{entry['file']}: event ids are not 1..{len(ids)}")
        if len(ids) != entry["events"]:
            problems.append(f"{entry['file']}: {len(ids)} events, manifest says {entry['events']}")
        last = close_event(history)
        if (E.Name(last.event_type) if last is not None else None) != entry["close_event"]:
            problems.append(f"{entry['file']}: close event differs from the manifest")
    for problem in problems:
        print(problem)
    print(f"checked {len(manifest['histories'])} histories: {len(problems)} problems")
    return 1 if problems else 0


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------


async def run_scenario(client: Client, address: str, name: str, verbose: bool) -> Ctx:
    description, scenario_fn = SCENARIOS[name]
    ctx = Ctx(client, address, name, description, verbose)
    await asyncio.wait_for(scenario_fn(ctx), SCENARIO_TIMEOUT)
    return ctx


async def record_names(
    client: Client,
    address: str,
    names: Sequence[tuple[int, str]],
    total: int,
    args: argparse.Namespace,
) -> tuple[list[Capture], int]:
    """Record the numbered scenarios `names` against one server: (captures, failures)."""
    out_dir: Path = args.out
    captures: list[Capture] = []
    failures = 0
    for index, name in names:
        began = time.monotonic()
        prefix = f"[{index:2}/{total}] {name:36}"
        try:
            ctx = await run_scenario(client, address, name, args.verbose)
        except Exception as err:  # report and go on; one bad scenario shouldn't sink the rest
            failures += 1
            print(f"{prefix} FAILED: {type(err).__name__}: {err}", flush=True)
            continue
        for capture in ctx.captures:
            write_history(out_dir, capture)
        captures.extend(ctx.captures)
        summary = ", ".join(f"{c.file_name}={len(c.history.events)}" for c in ctx.captures)
        print(f"{prefix} {time.monotonic() - began:5.1f}s  {summary}", flush=True)
    return captures, failures


def finish_recording(
    args: argparse.Namespace, names: Sequence[str], captures: list[Capture], failures: int
) -> int:
    out_dir: Path = args.out
    recorded = [name for name in names if any(c.scenario == name for c in captures)]
    if not args.only and not failures:
        prune_stale(out_dir, captures)
    write_manifest(out_dir, captures, recorded)
    print(f"wrote {len(captures)} histories and manifest.json to {out_dir}")
    return 1 if failures else 0


async def record(args: argparse.Namespace) -> int:
    runtime = quiet_runtime(args.verbose)
    names: list[str] = args.only or list(SCENARIOS)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.target:  # a server already running (e.g. `tmodel serve`), not a dev server
        configured = [name for name in names if config_of(name)]
        if configured:  # its dynamic config is not ours to set
            print(f"skipping {len(configured)} scenarios that need a dynamic config", flush=True)
        names = [name for name in names if not config_of(name)]
        client = await Client.connect(args.target, runtime=runtime)
        print(f"recording against {args.target}", flush=True)
        numbered = list(enumerate(names, start=1))
        captures, failures = await record_names(client, args.target, numbered, len(names), args)
        return finish_recording(args, names, captures, failures)
    groups: dict[Config, list[tuple[int, str]]] = {}
    for index, name in enumerate(names, start=1):
        groups.setdefault(config_of(name), []).append((index, name))
    captures, failures = [], 0
    with tempfile.TemporaryDirectory(prefix="record-histories-") as tmp:
        for number, (config, group) in enumerate(groups.items()):
            log_path = Path(tmp) / f"dev-server-{number}.log"
            with dev_server(log_path, config) as (address, proc):
                client = await connect_when_ready(address, proc, runtime, log_path)
                print(f"dev server ready on {address} {dict(config) or ''}", flush=True)
                done, failed = await record_names(client, address, group, len(names), args)
            captures += done
            failures += failed
    return finish_recording(args, names, captures, failures)


async def serve_worker(address: str, task_queue: str, identity: str) -> None:
    """Body of the ``--serve-worker`` child process (worker-killed scenario)."""
    client = await Client.connect(address, runtime=quiet_runtime(False))
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=rw.ALL_WORKFLOWS,
        activities=rw.ALL_ACTIVITIES,
        identity=identity,
        sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
    )
    async with worker:
        # Runs until killed; the cap only matters if the parent vanished.
        await asyncio.sleep(CHILD_WORKER_MAX_SECONDS)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument(
        "--only", nargs="+", choices=list(SCENARIOS), metavar="SCENARIO", help="subset to record"
    )
    parser.add_argument("--list", action="store_true", help="list scenarios and exit")
    parser.add_argument(
        "--check", action="store_true", help="validate the recorded files (no server) and exit"
    )
    parser.add_argument("--verbose", action="store_true", help="show SDK and worker logs")
    parser.add_argument(
        "--target", metavar="HOST:PORT", help="record against this running server instead"
    )
    # Internal: lets worker-killed run a worker in a process it can SIGKILL.
    parser.add_argument("--serve-worker", metavar="ADDRESS", help=argparse.SUPPRESS)
    parser.add_argument("--task-queue", help=argparse.SUPPRESS)
    parser.add_argument("--identity", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # Deliberate failures (buggy workflow, timed-out activities) log warnings
    # with tracebacks; they are the point of the exercise, not news.
    logging.getLogger("temporalio").setLevel(logging.WARNING if verbose else logging.CRITICAL)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    configure_logging(args.verbose)
    if args.list:
        for name, (description, _) in SCENARIOS.items():
            print(f"{name:36} {description}")
        return 0
    if args.check:
        return check_corpus(args.out)
    if args.serve_worker:
        asyncio.run(serve_worker(args.serve_worker, args.task_queue, args.identity))
        return 0
    began = time.monotonic()
    status = asyncio.run(record(args))
    print(f"total recording time {time.monotonic() - began:.1f}s")
    return status


if __name__ == "__main__":
    sys.exit(main())
