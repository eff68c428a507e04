"""Twins of the scenario library's workflows for the server features recorded after the
first corpus (adapters/conform/scenarios/workflows_features.py), in the model's workflow
API.
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
    ParentClosePolicy,
    RetryPolicy,
)


@workflow.defn(name="GreetOnceWorkflow")
class GreetOnce:
    @workflow.run
    async def run(self, wf: Context) -> Any:
        return await wf.execute_activity("greet", "scheduled", start_to_close_timeout=SHORT)


@workflow.defn(name="TimeoutThenSucceedWorkflow")
class TimeoutThenSucceed:
    @workflow.run
    async def run(self, wf: Context, seconds: float) -> Any:
        attempt = wf.info().attempt
        if attempt == 1:
            await wf.sleep(seconds)
        return f"done on attempt {attempt}"


@workflow.defn(name="UpdatesLaterWorkflow")
class UpdatesLater:
    def __init__(self) -> None:
        self.released = False
        self.done = False

    @workflow.update
    async def hold(self, wf: Context, value: int) -> int:
        await wf.wait_condition(lambda: self.released)
        return value * 2

    @workflow.update
    async def explode(self, wf: Context, reason: str) -> str:
        await wf.execute_activity("greet", "before failing", start_to_close_timeout=SHORT)
        raise ApplicationError(reason, type="UpdateFailure")

    @workflow.signal
    def release(self, wf: Context) -> None:
        self.released = True

    @workflow.signal
    def finish(self, wf: Context) -> None:
        self.done = True

    @workflow.run
    async def run(self, wf: Context) -> Any:
        await wf.wait_condition(lambda: self.done and wf.all_handlers_finished())
        return "all updates finished"


@workflow.defn(name="LingeringChildWorkflow")
class LingeringChild:
    def __init__(self) -> None:
        self.go = False

    @workflow.signal
    def proceed(self, wf: Context) -> None:
        self.go = True

    @workflow.run
    async def run(self, wf: Context) -> Any:
        try:
            await wf.wait_condition(lambda: self.go)
        except CancelledError:
            await wf.execute_activity("greet", "child cleanup", start_to_close_timeout=SHORT)
            raise
        return "child proceeded"


@workflow.defn(name="ChildOutcomeWorkflow")
class ChildOutcome:
    @workflow.run
    async def run(self, wf: Context, child_id: str, mode: str, child_timeout: float) -> Any:
        policy = ParentClosePolicy.ABANDON if mode == "abandon" else ParentClosePolicy.TERMINATE
        child = await wf.start_child_workflow(
            "LingeringChildWorkflow", id=child_id, parent_close_policy=policy
        )
        if mode == "abandon":
            return "child left running"
        if mode == "cancel":
            await wf.sleep(0.5)
            child.cancel()
        try:
            return await child
        except ChildWorkflowError as err:
            return f"child ended: {type(err.cause).__name__}"


@workflow.defn(name="HeartbeatDetailsWorkflow")
class HeartbeatDetails:
    @workflow.run
    async def run(self, wf: Context, failures: int) -> Any:
        return await wf.execute_activity(
            "heartbeat_details_then_fail",
            failures,
            start_to_close_timeout=SHORT,
            heartbeat_timeout=5,
            retry_policy=RetryPolicy(initial_interval=workflow.SECOND // 5),
        )


@workflow.defn(name="NexusHandlerWorkflow")
class NexusHandler:
    @workflow.run
    async def run(self, wf: Context, name: str) -> Any:
        return f"hello {name} from a workflow"


@workflow.defn(name="BuildIdsWorkflow")
class BuildIds:
    """The model's workflow API does not tell a workflow its worker's build id, so the
    twin passes the build ids the recorded run read (1.0 before the signal, 2.0 after
    it, the scenario's two workers) as its activities' inputs."""

    def __init__(self) -> None:
        self.go_on = False

    @workflow.signal
    def proceed(self, wf: Context) -> None:
        self.go_on = True

    @workflow.run
    async def run(self, wf: Context) -> Any:
        seen = [await wf.execute_activity("greet", "1.0", start_to_close_timeout=SHORT)]
        await wf.wait_condition(lambda: self.go_on)
        seen.append(await wf.execute_activity("greet", "2.0", start_to_close_timeout=SHORT))
        return seen
