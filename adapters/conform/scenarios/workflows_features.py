"""Workflows of the scenario library for server features the first corpus left out:
cron and scheduled starts, a run timeout retried, updates that wait or fail, children
that are cancelled, terminated, timed out or abandoned, local-activity backoff timers,
heartbeat details and Nexus operations.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import nexusrpc
import nexusrpc.handler
from temporalio import nexus, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, ChildWorkflowError
from temporalio.workflow import ChildWorkflowCancellationType, ParentClosePolicy

from adapters.conform.scenarios.activities import (
    SHORT,
    fail_first_attempts,
    greet,
    heartbeat_details_then_fail,
)


@workflow.defn
class GreetOnceWorkflow:
    """One activity: the run a cron schedule or a schedule starts each time."""

    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(greet, "scheduled", start_to_close_timeout=SHORT)


@workflow.defn
class TimeoutThenSucceedWorkflow:
    """Its first attempt outlives the run timeout; the retry policy starts the next
    attempt, which returns at once."""

    @workflow.run
    async def run(self, seconds: float) -> str:
        attempt = workflow.info().attempt
        if attempt == 1:
            await workflow.sleep(seconds)
        return f"done on attempt {attempt}"


@workflow.defn
class UpdatesLaterWorkflow:
    """Updates the client does not wait for: ``hold`` is accepted and completes only when
    ``release`` is signalled; ``explode`` is accepted and its handler fails."""

    def __init__(self) -> None:
        self.released = False
        self.done = False

    @workflow.update
    async def hold(self, value: int) -> int:
        await workflow.wait_condition(lambda: self.released)
        return value * 2

    @workflow.update
    async def explode(self, reason: str) -> str:
        await workflow.execute_activity(greet, "before failing", start_to_close_timeout=SHORT)
        raise ApplicationError(reason, type="UpdateFailure")

    @workflow.signal
    def release(self) -> None:
        self.released = True

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done and workflow.all_handlers_finished())
        return "all updates finished"


@workflow.defn
class LingeringChildWorkflow:
    """A child that waits (for a signal or a cancel) until its parent's scenario ends it."""

    def __init__(self) -> None:
        self.go = False

    @workflow.signal
    def proceed(self) -> None:
        self.go = True

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.wait_condition(lambda: self.go)
        except asyncio.CancelledError:
            await workflow.execute_activity(greet, "child cleanup", start_to_close_timeout=SHORT)
            raise
        return "child proceeded"


@workflow.defn
class ChildOutcomeWorkflow:
    """Starts a lingering child and reports how it ended: ``cancel`` cancels it (waiting
    for the cancel to complete), ``wait`` waits for whatever ends it (a terminate or a
    run timeout from outside), ``abandon`` leaves it running (ParentClosePolicy ABANDON)
    and completes."""

    @workflow.run
    async def run(self, child_id: str, mode: str, child_timeout: float) -> str:
        timeout = timedelta(seconds=child_timeout) if child_timeout else None
        child = await workflow.start_child_workflow(
            LingeringChildWorkflow.run,
            id=child_id,
            run_timeout=timeout,
            parent_close_policy=(
                ParentClosePolicy.ABANDON if mode == "abandon" else ParentClosePolicy.TERMINATE
            ),
            cancellation_type=ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        if mode == "abandon":
            return "child left running"
        if mode == "cancel":
            await workflow.sleep(0.5)
            child.cancel()
        try:
            return await child
        except ChildWorkflowError as err:
            return f"child ended: {type(err.cause).__name__}"


@workflow.defn
class LocalBackoffWorkflow:
    """A local activity whose retry interval (2s) exceeds its local retry threshold (1s):
    the SDK waits out the backoff with a timer in history, then runs it again."""

    @workflow.run
    async def run(self, failures: int) -> str:
        return await workflow.execute_local_activity(
            fail_first_attempts,
            failures,
            start_to_close_timeout=timedelta(seconds=2),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=2), backoff_coefficient=1),
            local_retry_threshold=timedelta(seconds=1),
        )


@workflow.defn
class HeartbeatDetailsWorkflow:
    """An activity that heartbeats progress and fails: its retries resume from the
    details the last attempt reported; the final attempt succeeds."""

    @workflow.run
    async def run(self, failures: int) -> str:
        return await workflow.execute_activity(
            heartbeat_details_then_fail,
            failures,
            start_to_close_timeout=SHORT,
            heartbeat_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=200), backoff_coefficient=1
            ),
        )


@nexusrpc.service
class GreetService:
    """A Nexus service: one synchronous operation, one backed by a workflow."""

    greet: nexusrpc.Operation[str, str]
    greet_by_workflow: nexusrpc.Operation[str, str]


@workflow.defn
class NexusHandlerWorkflow:
    """The workflow behind `greet_by_workflow` (started with completion callbacks)."""

    @workflow.run
    async def run(self, name: str) -> str:
        return f"hello {name} from a workflow"


NEXUS_HANDLER_WORKFLOW_ID = "rec-nexus-handler"


@nexusrpc.handler.service_handler(service=GreetService)
class GreetServiceHandler:
    @nexusrpc.handler.sync_operation
    async def greet(self, ctx: nexusrpc.handler.StartOperationContext, name: str) -> str:
        return f"hello {name}"

    @nexus.workflow_run_operation
    async def greet_by_workflow(
        self, ctx: nexus.WorkflowRunOperationContext, name: str
    ) -> nexus.WorkflowHandle[str]:
        return await ctx.start_workflow(
            NexusHandlerWorkflow.run, name, id=NEXUS_HANDLER_WORKFLOW_ID
        )


@workflow.defn
class NexusCallerWorkflow:
    """Calls both operations of `GreetService` through the endpoint it is given."""

    @workflow.run
    async def run(self, endpoint: str) -> list[str]:
        client = workflow.create_nexus_client(service=GreetService, endpoint=endpoint)
        first = await client.execute_operation(GreetService.greet, "nexus")
        second = await client.execute_operation(GreetService.greet_by_workflow, "nexus")
        return [first, second]


@workflow.defn
class BuildIdsWorkflow:
    """Runs an activity, waits for a signal, runs another: each activity's input is the
    build id of the worker whose workflow task scheduled it, as the SDK reports it."""

    def __init__(self) -> None:
        self.go_on = False

    @workflow.run
    async def run(self) -> list[str]:
        first = workflow.info().get_current_build_id()
        seen = [await workflow.execute_activity(greet, first, start_to_close_timeout=SHORT)]
        await workflow.wait_condition(lambda: self.go_on)
        second = workflow.info().get_current_build_id()
        seen.append(await workflow.execute_activity(greet, second, start_to_close_timeout=SHORT))
        return seen

    @workflow.signal
    def proceed(self) -> None:
        self.go_on = True

    @workflow.query
    def build_id(self) -> str:
        return workflow.info().get_current_build_id()


FEATURE_WORKFLOWS = [
    GreetOnceWorkflow,
    TimeoutThenSucceedWorkflow,
    UpdatesLaterWorkflow,
    LingeringChildWorkflow,
    ChildOutcomeWorkflow,
    LocalBackoffWorkflow,
    HeartbeatDetailsWorkflow,
    NexusHandlerWorkflow,
    NexusCallerWorkflow,
    BuildIdsWorkflow,
]
