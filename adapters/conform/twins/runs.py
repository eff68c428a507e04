"""Twins of the scenario library's workflows (adapters/conform/scenarios/workflows_runs.py)
in the model's workflow API: children, external workflows, continue-as-new,
workflow-level outcomes and operator actions.
"""

from __future__ import annotations

from typing import Any

from adapters.conform.twins.tasks import SHORT
from core import workflow
from core.workflow import (
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    Context,
)


@workflow.defn(name="ChildWorkflow")
class Child:
    @workflow.run
    async def run(self, wf: Context, fail: bool) -> Any:
        greeting = await wf.execute_activity("greet", "child", start_to_close_timeout=SHORT)
        if fail:
            raise ApplicationError("child gives up", type="ChildFailure")
        return greeting


@workflow.defn(name="ParentWorkflow")
class Parent:
    @workflow.run
    async def run(self, wf: Context, child_id: str, child_fails: bool) -> Any:
        try:
            result = await wf.execute_child_workflow("ChildWorkflow", child_fails, id=child_id)
        except ChildWorkflowError as err:
            return f"child failed: {err.cause}"
        return f"child said: {result}"


@workflow.defn(name="ContinueAsNewWorkflow")
class ContinueAsNew:
    @workflow.run
    async def run(self, wf: Context, iteration: int, last: int) -> Any:
        await wf.execute_activity("greet", f"run {iteration}", start_to_close_timeout=SHORT)
        if iteration < last:
            wf.continue_as_new(iteration + 1, last)
        return f"finished after {iteration} runs"


@workflow.defn(name="WaitForSignalWorkflow")
class WaitForSignal:
    def __init__(self) -> None:
        self.message: str | None = None

    @workflow.signal
    def ping(self, wf: Context, message: str) -> None:
        self.message = message

    @workflow.run
    async def run(self, wf: Context) -> Any:
        try:
            await wf.wait_condition(lambda: self.message is not None)
        except CancelledError:
            await wf.execute_activity("greet", "cleanup", start_to_close_timeout=SHORT)
            raise
        return f"got {self.message}"


@workflow.defn(name="SignalExternalWorkflow")
class SignalExternal:
    @workflow.run
    async def run(self, wf: Context, target_id: str) -> Any:
        await wf.signal_external_workflow(target_id, "ping", "from another workflow")
        return "signalled"


@workflow.defn(name="CancelExternalWorkflow")
class CancelExternal:
    @workflow.run
    async def run(self, wf: Context, target_id: str) -> Any:
        await wf.cancel_external_workflow(target_id)
        return "cancel requested"


@workflow.defn(name="CancellableWorkflow")
class Cancellable:
    @workflow.run
    async def run(self, wf: Context) -> Any:
        try:
            await wf.sleep(3600)
        except CancelledError:
            await wf.execute_activity("greet", "cleanup", start_to_close_timeout=SHORT)
            raise
        return "slept an hour"


@workflow.defn(name="SleepWorkflow")
class Sleep:
    @workflow.run
    async def run(self, wf: Context, seconds: float) -> Any:
        await wf.sleep(seconds)
        return "woke up"


@workflow.defn(name="FailingWorkflow")
class Failing:
    @workflow.run
    async def run(self, wf: Context, message: str) -> Any:
        await wf.execute_activity("greet", "before failing", start_to_close_timeout=SHORT)
        raise ApplicationError(message, type="WorkflowFailure")


@workflow.defn(name="RetriedWorkflow")
class Retried:
    @workflow.run
    async def run(self, wf: Context) -> Any:
        attempt = wf.info().attempt
        if attempt == 1:
            raise ApplicationError("first attempt fails")
        return f"succeeded on attempt {attempt}"


@workflow.defn(name="PatchedWorkflow")
class Patched:
    @workflow.run
    async def run(self, wf: Context) -> Any:
        wf.deprecate_patch("retired-change")
        name = "patched path" if wf.patched("new-greeting") else "original path"
        return await wf.execute_activity("greet", name, start_to_close_timeout=SHORT)


@workflow.defn(name="StickyWorkflow")
class Sticky:
    def __init__(self) -> None:
        self.received = 0
        self.completed = 0

    @workflow.signal
    def next_round(self, wf: Context) -> None:
        self.received += 1

    @workflow.query
    def rounds_seen(self, wf: Context) -> int:
        return self.received

    @workflow.run
    async def run(self, wf: Context, rounds: int) -> Any:
        while self.completed < rounds:
            await wf.wait_condition(lambda: self.received > self.completed)
            await wf.execute_activity(
                "greet", f"round {self.completed}", start_to_close_timeout=SHORT
            )
            self.completed += 1
        return self.received


@workflow.defn(name="DeployFixWorkflow")
class FixedDeployFix:
    @workflow.run
    async def run(self, wf: Context) -> Any:
        first = await wf.execute_activity("greet", "first step", start_to_close_timeout=SHORT)
        second = await wf.execute_activity("greet", "second step", start_to_close_timeout=SHORT)
        return f"{first}; {second}"


@workflow.defn(name="ResettableWorkflow")
class Resettable:
    """Replays the base run of a reset and the run the reset made: the new run's history
    starts with the base run's events up to the reset point."""

    def __init__(self) -> None:
        self.stage = "starting"
        self.notes: list[str] = []
        self.proceed_requested = False

    @workflow.query
    def current_stage(self, wf: Context) -> str:
        return self.stage

    @workflow.signal
    def note(self, wf: Context, text: str) -> None:
        self.notes.append(text)

    @workflow.signal
    def proceed(self, wf: Context) -> None:
        self.proceed_requested = True

    @workflow.run
    async def run(self, wf: Context) -> Any:
        await wf.execute_activity("greet", "before reset", start_to_close_timeout=SHORT)
        self.stage = "waiting"
        await wf.wait_condition(lambda: self.proceed_requested)
        await wf.execute_activity("greet", "after reset", start_to_close_timeout=SHORT)
        return self.notes
