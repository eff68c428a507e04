"""The limit scenarios: real histories of a server enforcing its limits.

Each runs on a dev server started with the small limits it names (`LIMIT_CONFIG`, given
to `temporal server start-dev` as ``--dynamic-config-value KEY=VALUE``), one server per
distinct set, so the other scenarios never meet them; the manifest entry of its history
records the set as ``dynamic_config`` (corpus.py). They are recorded with
``scripts/record_histories.py --limits`` and are not part of the live mode: a target's
limits are not ours to set. A worker that checks payload sizes itself (the SDK's
default) fails its own task before the server sees the payload, so these workers leave
the check to the server (``disable_payload_error_limit``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from adapters.conform.scenarios import workflows_limits as lw
from adapters.conform.scenarios.context import Ctx, E, settle
from adapters.conform.scenarios.registry import Scenario

# Small enough for a few events to reach, far from what the other limits' scenarios need.
SMALL = {
    "limit.numPendingActivities.error": 2,
    "limit.numPendingChildExecutions.error": 2,
    "limit.numPendingSignals.error": 2,
    "limit.numPendingCancelRequests.error": 2,
    "limit.blobSize.warn": 1000,
    "limit.blobSize.error": 2000,
    "limit.memoSize.warn": 200,
    "limit.memoSize.error": 500,
    "frontend.searchAttributesSizeOfValueLimit": 100,
}
COUNT = {"limit.historyCount.warn": 10, "limit.historyCount.error": 20}
SIZE = {"limit.historySize.warn": 1000, "limit.historySize.error": 1500}
# A run that would otherwise wait for ever (its task fails on every attempt) ends here.
STUCK_RUN_TIMEOUT = timedelta(seconds=3)
TERMINATED = "EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED"


@dataclass(frozen=True)
class LimitRun:
    """What a limit scenario starts, how it must end, and under which limits."""

    workflow: Any  # the workflow's run method
    args: tuple[Any, ...]
    expect: str  # the close event's type name
    config: dict[str, int]
    options: dict[str, Any] = field(default_factory=dict)


async def run_limit(ctx: Ctx, spec: LimitRun) -> None:
    worker = ctx.worker(
        workflows=lw.LIMIT_WORKFLOWS,
        activities=lw.LIMIT_ACTIVITIES,
        disable_payload_error_limit=True,
    )
    async with worker:
        handle = await ctx.start(spec.workflow, *spec.args, **spec.options)
        await settle(handle)
    await ctx.capture_handle(handle, E.Value(spec.expect))


def _pending(kind: str) -> tuple[str, LimitRun]:
    description = (
        f"three {kind} in one workflow task with a limit of 2: the task fails "
        "(PENDING_*_LIMIT_EXCEEDED) until the run times out"
    )
    run = LimitRun(
        lw.TooManyPendingWorkflow.run,
        (kind, 3),
        "EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT",
        SMALL,
        {"run_timeout": STUCK_RUN_TIMEOUT},
    )
    return description, run


_RUNS: dict[str, tuple[str, LimitRun]] = {
    "limit-pending-activities": _pending("activities"),
    "limit-pending-children": _pending("children"),
    "limit-pending-signals": _pending("signals"),
    "limit-pending-cancels": _pending("cancels"),
    "limit-blob-input": (
        "an activity input over limit.blobSize.error: task failed, run terminated",
        LimitRun(lw.BigInputWorkflow.run, (3000,), TERMINATED, SMALL),
    ),
    "limit-blob-result": (
        "an activity result over limit.blobSize.error: the activity fails non-retryably",
        LimitRun(
            lw.BigResultWorkflow.run, (3000,), "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED", SMALL
        ),
    ),
    "limit-memo-size": (
        "a memo upsert over limit.memoSize.error: task failed, run terminated",
        LimitRun(lw.BigMemoWorkflow.run, (800,), TERMINATED, SMALL),
    ),
    "limit-search-attribute-size": (
        "a search attribute value over its size limit: task failed, run terminated",
        LimitRun(lw.BigSearchAttributeWorkflow.run, (300,), TERMINATED, SMALL),
    ),
    "limit-history-count": (
        "a timer loop past limit.historyCount.error 20: the run is terminated",
        LimitRun(lw.TimerLoopWorkflow.run, (30,), TERMINATED, COUNT),
    ),
    "limit-history-size": (
        "a timer loop past limit.historySize.error 1500 bytes: the run is terminated",
        LimitRun(lw.TimerLoopWorkflow.run, (30,), TERMINATED, SIZE),
    ),
}


def _scenario(name: str, description: str, spec: LimitRun) -> Scenario:
    async def drive(ctx: Ctx) -> None:
        await run_limit(ctx, spec)

    return Scenario(name, description, drive)


LIMIT_SCENARIOS: dict[str, Scenario] = {
    name: _scenario(name, description, spec) for name, (description, spec) in _RUNS.items()
}
# scenario -> the dynamic config its dev server runs with
LIMIT_CONFIG: dict[str, dict[str, int]] = {name: spec.config for name, (_, spec) in _RUNS.items()}


def dynamic_config_flags(config: dict[str, int]) -> list[str]:
    """`temporal server start-dev` flags setting `config`."""
    pairs = [f"{key}={value}" for key, value in sorted(config.items())]
    return [arg for pair in pairs for arg in ("--dynamic-config-value", pair)]
