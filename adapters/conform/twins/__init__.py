"""Twins of the scenario library's workflows (adapters/conform/scenarios/), written in
the model's workflow API (`core.workflow`).

Each twin has the workflow type name the official SDK ran the original under and does
what the original does, operation for operation, so its replay of any history the
original wrote must succeed (THM-3.1 on real data). `TWINS` maps a workflow type name
to its twin's definition. Three workflows of the library have no twin, for
features the model's workflow API does not offer (`NO_TWIN` says which).
"""

from __future__ import annotations

import inspect

from adapters.conform.twins.features import (
    BuildIds,
    ChildOutcome,
    GreetOnce,
    HeartbeatDetails,
    LingeringChild,
    NexusHandler,
    TimeoutThenSucceed,
    UpdatesLater,
)
from adapters.conform.twins.runs import (
    CancelExternal,
    Cancellable,
    Child,
    ContinueAsNew,
    Failing,
    FixedDeployFix,
    Parent,
    Patched,
    Resettable,
    Retried,
    SignalExternal,
    Sleep,
    Sticky,
    WaitForSignal,
)
from adapters.conform.twins.tasks import (
    ActivityCancel,
    ActivityRetry,
    Approval,
    BusyTask,
    FanOut,
    HeartbeatTimeout,
    LocalActivities,
    LongLocalActivity,
    NonRetryable,
    Query,
    Saga,
    ScheduleToCloseTimeout,
    ScheduleToStartTimeout,
    Signals,
    SingleActivity,
    StartToCloseTimeout,
    TimerCancel,
    Timers,
    Updates,
    WorkerKilled,
)
from core import workflow
from core.statemachine.replay.definition import Definition

__all__ = [
    "NO_TWIN",
    "TWINS",
    "ActivityCancel",
    "ActivityRetry",
    "Approval",
    "BuildIds",
    "BusyTask",
    "CancelExternal",
    "Cancellable",
    "Child",
    "ChildOutcome",
    "ContinueAsNew",
    "Failing",
    "FanOut",
    "FixedDeployFix",
    "GreetOnce",
    "HeartbeatDetails",
    "HeartbeatTimeout",
    "LingeringChild",
    "LocalActivities",
    "LongLocalActivity",
    "NexusHandler",
    "NonRetryable",
    "Parent",
    "Patched",
    "Query",
    "Resettable",
    "Retried",
    "Saga",
    "ScheduleToCloseTimeout",
    "ScheduleToStartTimeout",
    "SignalExternal",
    "Signals",
    "SingleActivity",
    "Sleep",
    "StartToCloseTimeout",
    "Sticky",
    "TimeoutThenSucceed",
    "TimerCancel",
    "Timers",
    "Updates",
    "UpdatesLater",
    "WaitForSignal",
    "WorkerKilled",
]

TWINS: dict[str, Definition] = {
    workflow.definition(value).name: workflow.definition(value)
    for value in list(globals().values())
    if inspect.isclass(value) and "__tmodel_definition__" in vars(value)
}
# workflow type -> why it has no twin
NO_TWIN: dict[str, str] = {
    "SearchAttributesMemoWorkflow": "it upserts memo, which the model's workflow API "
    "does not offer",
    "LocalBackoffWorkflow": "its local activity waits out a retry backoff above its local "
    "retry threshold with a timer, which the model's workflow API does not offer",
    "NexusCallerWorkflow": "it calls Nexus operations, which the model's workflow API does "
    "not offer",
}
