"""The recorder's limit scenarios: real histories of the server enforcing its limits.

Dev tool, used by ``scripts/record_histories.py``. Each scenario runs on a dev server
started with the small limits it names (``--dynamic-config-value KEY=VALUE``), one
server per distinct set, so the other scenarios never meet them; its manifest entry
records the set as ``dynamic_config``. A worker that checks payload sizes itself (the
SDK's default) would fail its own task before the server saw the payload, so these
workers leave the check to the server (``disable_payload_error_limit``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import limit_workflows as lw

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


@dataclass(frozen=True)
class LimitScenario:
    description: str
    workflow: Any  # the workflow's run method
    args: tuple[Any, ...]
    expect: str  # the close event's type name
    config: dict[str, int]
    options: dict[str, Any] = field(default_factory=dict)


def _pending(kind: str) -> LimitScenario:
    return LimitScenario(
        f"three {kind} in one workflow task with a limit of 2: the task fails "
        "(PENDING_*_LIMIT_EXCEEDED) until the run times out",
        lw.TooManyPendingWorkflow.run,
        (kind, 3),
        "EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT",
        SMALL,
        {"run_timeout": STUCK_RUN_TIMEOUT},
    )


TERMINATED = "EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED"
LIMIT_SCENARIOS: dict[str, LimitScenario] = {
    "limit-pending-activities": _pending("activities"),
    "limit-pending-children": _pending("children"),
    "limit-pending-signals": _pending("signals"),
    "limit-pending-cancels": _pending("cancels"),
    "limit-blob-input": LimitScenario(
        "an activity input over limit.blobSize.error: task failed, run terminated",
        lw.BigInputWorkflow.run,
        (3000,),
        TERMINATED,
        SMALL,
    ),
    "limit-blob-result": LimitScenario(
        "an activity result over limit.blobSize.error: the activity fails non-retryably",
        lw.BigResultWorkflow.run,
        (3000,),
        "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
        SMALL,
    ),
    "limit-memo-size": LimitScenario(
        "a memo upsert over limit.memoSize.error: task failed, run terminated",
        lw.BigMemoWorkflow.run,
        (800,),
        TERMINATED,
        SMALL,
    ),
    "limit-search-attribute-size": LimitScenario(
        "a search attribute value over its size limit: task failed, run terminated",
        lw.BigSearchAttributeWorkflow.run,
        (300,),
        TERMINATED,
        SMALL,
    ),
    "limit-history-count": LimitScenario(
        "a timer loop past limit.historyCount.error 20: the run is terminated",
        lw.TimerLoopWorkflow.run,
        (30,),
        TERMINATED,
        COUNT,
    ),
    "limit-history-size": LimitScenario(
        "a timer loop past limit.historySize.error 1500 bytes: the run is terminated",
        lw.TimerLoopWorkflow.run,
        (30,),
        TERMINATED,
        SIZE,
    ),
}


def dynamic_config_flags(config: dict[str, int]) -> list[str]:
    pairs = [f"{key}={value}" for key, value in config.items()]
    return [arg for pair in pairs for arg in ("--dynamic-config-value", pair)]
