"""Workflows of the scenario library: children, external workflows, continue-as-new,
workflow-level outcomes and operator actions; and `ALL_WORKFLOWS`, what every worker of
the library registers.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError, ChildWorkflowError

from adapters.conform.scenarios.activities import INT_ATTR, KEYWORD_ATTR, SHORT, greet
from adapters.conform.scenarios.workflows import (
    ActivityCancelWorkflow,
    ActivityRetryWorkflow,
    ApprovalWorkflow,
    BusyTaskWorkflow,
    FanOutWorkflow,
    HeartbeatTimeoutWorkflow,
    LocalActivitiesWorkflow,
    LongLocalActivityWorkflow,
    NonRetryableActivityWorkflow,
    QueryWorkflow,
    SagaWorkflow,
    ScheduleToCloseTimeoutWorkflow,
    ScheduleToStartTimeoutWorkflow,
    SignalsWorkflow,
    SingleActivityWorkflow,
    StartToCloseTimeoutWorkflow,
    TimerCancelWorkflow,
    TimersWorkflow,
    UpdatesWorkflow,
    WorkerKilledWorkflow,
)
from adapters.conform.scenarios.workflows_features import FEATURE_WORKFLOWS

# --------------------------------------------------------------------------
# Children, external workflows, continue-as-new
# --------------------------------------------------------------------------


@workflow.defn
class ChildWorkflow:
    @workflow.run
    async def run(self, fail: bool) -> str:
        greeting = await workflow.execute_activity(greet, "child", start_to_close_timeout=SHORT)
        if fail:
            raise ApplicationError("child gives up", type="ChildFailure")
        return greeting


@workflow.defn
class ParentWorkflow:
    """Runs one child; a child failure is caught and reported."""

    @workflow.run
    async def run(self, child_id: str, child_fails: bool) -> str:
        try:
            result = await workflow.execute_child_workflow(
                ChildWorkflow.run, child_fails, id=child_id
            )
        except ChildWorkflowError as err:
            return f"child failed: {err.cause}"
        return f"child said: {result}"


@workflow.defn
class ContinueAsNewWorkflow:
    @workflow.run
    async def run(self, iteration: int, last: int) -> str:
        await workflow.execute_activity(greet, f"run {iteration}", start_to_close_timeout=SHORT)
        if iteration < last:
            workflow.continue_as_new(args=[iteration + 1, last])
        return f"finished after {iteration} runs"


@workflow.defn
class WaitForSignalWorkflow:
    """Target of the external-signal and external-cancel scenarios."""

    def __init__(self) -> None:
        self.message: str | None = None

    @workflow.signal
    def ping(self, message: str) -> None:
        self.message = message

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.wait_condition(lambda: self.message is not None)
        except asyncio.CancelledError:
            await workflow.execute_activity(greet, "cleanup", start_to_close_timeout=SHORT)
            raise
        return f"got {self.message}"


@workflow.defn
class SignalExternalWorkflow:
    @workflow.run
    async def run(self, target_id: str) -> str:
        target: workflow.ExternalWorkflowHandle[WaitForSignalWorkflow]
        target = workflow.get_external_workflow_handle_for(WaitForSignalWorkflow.run, target_id)
        await target.signal(WaitForSignalWorkflow.ping, "from another workflow")
        return "signalled"


@workflow.defn
class CancelExternalWorkflow:
    @workflow.run
    async def run(self, target_id: str) -> str:
        await workflow.get_external_workflow_handle(target_id).cancel()
        return "cancel requested"


# --------------------------------------------------------------------------
# Workflow-level outcomes
# --------------------------------------------------------------------------


@workflow.defn
class CancellableWorkflow:
    """Sleeps until cancelled, runs a cleanup activity, ends canceled."""

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.sleep(3600)
        except asyncio.CancelledError:
            await workflow.execute_activity(greet, "cleanup", start_to_close_timeout=SHORT)
            raise
        return "slept an hour"


@workflow.defn
class SleepWorkflow:
    """Target of terminate and run-timeout: just sleeps."""

    @workflow.run
    async def run(self, seconds: float) -> str:
        await workflow.sleep(seconds)
        return "woke up"


@workflow.defn
class FailingWorkflow:
    @workflow.run
    async def run(self, message: str) -> str:
        await workflow.execute_activity(greet, "before failing", start_to_close_timeout=SHORT)
        raise ApplicationError(message, {"detail": 42}, type="WorkflowFailure")


@workflow.defn
class RetriedWorkflow:
    """Fails its first attempt; the workflow retry policy starts run 2."""

    @workflow.run
    async def run(self) -> str:
        attempt = workflow.info().attempt
        if attempt == 1:
            raise ApplicationError("first attempt fails")
        return f"succeeded on attempt {attempt}"


@workflow.defn
class PatchedWorkflow:
    @workflow.run
    async def run(self) -> str:
        workflow.deprecate_patch("retired-change")
        name = "patched path" if workflow.patched("new-greeting") else "original path"
        return await workflow.execute_activity(greet, name, start_to_close_timeout=SHORT)


@workflow.defn
class SearchAttributesMemoWorkflow:
    @workflow.run
    async def run(self) -> str:
        workflow.upsert_search_attributes(
            [KEYWORD_ATTR.value_set("working"), INT_ATTR.value_set(1)]
        )
        await workflow.execute_activity(greet, "attributes", start_to_close_timeout=SHORT)
        workflow.upsert_memo({"stage": "working", "initial": None})  # None deletes a key
        workflow.upsert_search_attributes([KEYWORD_ATTR.value_set("done"), INT_ATTR.value_unset()])
        return "attributes updated"


@workflow.defn
class ResettableWorkflow:
    """Activity, then waits for ``proceed``; a ``note`` signal gets reapplied."""

    def __init__(self) -> None:
        self.stage = "starting"
        self.notes: list[str] = []
        self.proceed_requested = False

    @workflow.query
    def current_stage(self) -> str:
        return self.stage

    @workflow.signal
    def note(self, text: str) -> None:
        self.notes.append(text)

    @workflow.signal
    def proceed(self) -> None:
        self.proceed_requested = True

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.execute_activity(greet, "before reset", start_to_close_timeout=SHORT)
        self.stage = "waiting"
        await workflow.wait_condition(lambda: self.proceed_requested)
        await workflow.execute_activity(greet, "after reset", start_to_close_timeout=SHORT)
        return self.notes


@workflow.defn
class StickyWorkflow:
    """Waits for ``rounds`` signals, running an activity per signal."""

    def __init__(self) -> None:
        self.received = 0
        self.completed = 0

    @workflow.signal
    def next_round(self) -> None:
        self.received += 1

    @workflow.query
    def rounds_seen(self) -> int:
        return self.received

    @workflow.run
    async def run(self, rounds: int) -> int:
        while self.completed < rounds:
            await workflow.wait_condition(lambda: self.received > self.completed)
            await workflow.execute_activity(
                greet, f"round {self.completed}", start_to_close_timeout=SHORT
            )
            self.completed += 1
        return self.received


# The same workflow type name in two versions: the broken one is served by the
# first worker of the WFT-failure scenario, the fixed one by its replacement.
BUGGY_WORKFLOW_NAME = "DeployFixWorkflow"


@workflow.defn(name=BUGGY_WORKFLOW_NAME)
class BuggyDeployFixWorkflow:
    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity(greet, "first step", start_to_close_timeout=SHORT)
        # A non-Temporal exception fails the workflow *task*, not the workflow,
        # so the server keeps retrying the task until a fixed worker shows up.
        raise RuntimeError("bug: fixed in the next deploy")


@workflow.defn(name=BUGGY_WORKFLOW_NAME)
class FixedDeployFixWorkflow:
    @workflow.run
    async def run(self) -> str:
        first = await workflow.execute_activity(greet, "first step", start_to_close_timeout=SHORT)
        second = await workflow.execute_activity(greet, "second step", start_to_close_timeout=SHORT)
        return f"{first}; {second}"


# Everything except the buggy variant (it shares a type name with the fix).
ALL_WORKFLOWS = [
    SingleActivityWorkflow,
    ActivityRetryWorkflow,
    NonRetryableActivityWorkflow,
    StartToCloseTimeoutWorkflow,
    HeartbeatTimeoutWorkflow,
    ScheduleToCloseTimeoutWorkflow,
    ScheduleToStartTimeoutWorkflow,
    ActivityCancelWorkflow,
    FanOutWorkflow,
    SagaWorkflow,
    LocalActivitiesWorkflow,
    LongLocalActivityWorkflow,
    WorkerKilledWorkflow,
    TimersWorkflow,
    TimerCancelWorkflow,
    ApprovalWorkflow,
    SignalsWorkflow,
    BusyTaskWorkflow,
    QueryWorkflow,
    UpdatesWorkflow,
    ChildWorkflow,
    ParentWorkflow,
    ContinueAsNewWorkflow,
    WaitForSignalWorkflow,
    SignalExternalWorkflow,
    CancelExternalWorkflow,
    CancellableWorkflow,
    SleepWorkflow,
    FailingWorkflow,
    RetriedWorkflow,
    PatchedWorkflow,
    SearchAttributesMemoWorkflow,
    ResettableWorkflow,
    StickyWorkflow,
    FixedDeployFixWorkflow,
    *FEATURE_WORKFLOWS,
]
