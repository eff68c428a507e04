"""The scenario library's plumbing: a scenario's context (`Ctx`: its client, worker,
workflow ids, and the histories it captures) and the waits the scenarios share.

A scenario drives one or more workflows on a Temporal server through the official
Python SDK and captures each run it exists to produce, checking the run ended as it did
on the real server (`ScenarioFailed` otherwise). Workflow ids and task queues are
`rec-<scenario>`: they appear in the histories and are compared with the recorded ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
)
from temporalio.client import (
    Client,
    WorkflowContinuedAsNewError,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowHistory,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from adapters.conform.scenarios.activities import ALL_ACTIVITIES
from adapters.conform.scenarios.workflows_runs import ALL_WORKFLOWS

SCENARIO_TIMEOUT = 120.0
# A killed worker's sticky queue is abandoned; keep the wait for it short.
STICKY_TIMEOUT = timedelta(seconds=2)

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


class ScenarioFailed(Exception):
    """A scenario did not produce the history it exists to produce."""


# A scenario's hook that restarts the server (keeping its state), or None when the
# target declares no durability.
Restart = Callable[[], Awaitable[None]]


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
    restart_server: Restart | None = None
    captures: list[Capture] = field(default_factory=list)

    @property
    def workflow_id(self) -> str:
        return f"rec-{self.scenario}"

    @property
    def task_queue(self) -> str:
        return f"rec-{self.scenario}"

    def worker(self, name: str = "worker", **options: Any) -> Worker:
        """A worker on this scenario's queue; ``name`` becomes its identity."""
        options.setdefault("workflows", ALL_WORKFLOWS)
        options.setdefault("activities", ALL_ACTIVITIES)
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
            raise ScenarioFailed(f"{workflow_id}: expected {E.Name(expect)}, got {got}")
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
            raise ScenarioFailed(f"timed out after {timeout}s waiting for {what}")
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


async def terminate_run(handle: WorkflowHandle[Any, Any], *details: Any, reason: str) -> None:
    """Terminate the run. Under faults the first attempt can take effect and its reply
    be lost (`tmodel serve --faults`, or a real history host that fails after writing:
    the frontend retries history on Unavailable, common.IsServiceClientTransientError);
    the retry meets the closed run, and terminate has no request id to recognise itself
    by, so the server answers NotFound "workflow execution already completed"
    (service/history/api/terminateworkflow/api.go, ErrWorkflowCompleted). That answer
    counts as done only when the run's close event is a termination with this reason."""
    try:
        await handle.terminate(*details, reason=reason)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND or "already completed" not in exc.message:
            raise
        last = close_event(await handle.fetch_history())
        if (
            last is None
            or last.event_type != E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
            or last.workflow_execution_terminated_event_attributes.reason != reason
        ):
            raise


def first_run_id(handle: WorkflowHandle[Any, Any]) -> str:
    """Run id ``start_workflow`` got back (its handles leave ``run_id`` unset)."""
    if not handle.first_execution_run_id:
        raise ScenarioFailed(f"{handle.id}: start returned no run id")
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


async def run_simple(
    ctx: Ctx, workflow: Any, *args: Any, expect: E.ValueType, linger: float = 0.0, **options: Any
) -> None:
    """Start, wait, capture: the shape of most single-workflow scenarios.

    ``linger`` keeps the worker up after the workflow closes (see
    ``activities.LOCAL_TIMEOUT`` for why local-activity scenarios need it).
    """
    async with ctx.worker():
        handle = await ctx.start(workflow, *args, **options)
        await settle(handle)
        await asyncio.sleep(linger)
    await ctx.capture_handle(handle, expect)


def spawn_worker_process(ctx: Ctx, name: str) -> subprocess.Popen[bytes]:
    """A worker for this scenario in a process of its own, which a scenario can kill."""
    command = [sys.executable, "-m", "adapters.conform.scenarios.worker_process", ctx.address]
    command += [ctx.task_queue, f"{ctx.scenario}-{name}"]
    output = None if ctx.verbose else subprocess.DEVNULL
    return subprocess.Popen(command, stdout=output, stderr=output)
