"""The `nexus` scenario of record_unseen.py: Nexus operations and
UpdateWorkflowExecutionOptions, recorded from a dev server (no extra flags).

A caller workflow (`NxCaller`) calls the operations of one Nexus service through an
endpoint this scenario creates (`temporal operator nexus endpoint create`), whose
handler (`NxHandler`) runs in the same worker: a synchronous operation that answers or
fails in the ways a handler can, and a workflow-run operation backed by `NxTarget`,
which completes, fails, sleeps or waits to be cancelled. Shapes: nexus-sync (answers and
failures), nexus-sync-retry (a retryable handler error until the schedule-to-close
timeout), nexus-async (completes, fails), nexus-cancel-* (each cancellation type, and a
cancel the handler refuses), nexus-timeout (schedule-to-close), nexus-timeout-start
(schedule-to-start, start-to-close), nexus-parallel, nexus-attach (a second operation
attaches to the first's handler run: USE_EXISTING), nexus-can (an operation pending when
the caller continues as new), and the handler runs' own histories (`*.handler*`). Then
options-*: a versioning override and a priority set, changed and unset with the raw
UpdateWorkflowExecutionOptions call. The shapes race in places: the fixture
nexus-attach-buffered.handler is nexus-attach's handler run from a second recording, in
which the attach arrived during the run's first workflow task.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import nexusrpc
import nexusrpc.handler
from google.protobuf.field_mask_pb2 import FieldMask
from temporalio import nexus, workflow
from temporalio.api.common.v1 import Priority, WorkflowExecution
from temporalio.api.deployment.v1 import WorkerDeploymentVersion
from temporalio.api.enums.v1 import VersioningBehavior
from temporalio.api.workflow.v1 import (
    VersioningOverride,
    WorkflowExecutionOptions,
)
from temporalio.api.workflowservice.v1 import UpdateWorkflowExecutionOptionsRequest
from temporalio.common import VersioningBehavior as SdkBehavior
from temporalio.common import WorkerDeploymentVersion as SdkVersion
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker, WorkerDeploymentConfig

if TYPE_CHECKING:
    from record_unseen import Recorder

NX = "hh-nx"  # the task queue, the endpoint's target
ENDPOINT = "hh-nx-endpoint"


@dataclass
class RunInput:
    mode: str  # ok | fail | nap | sleep | wait
    workflow_id: str
    use_existing: bool = False  # attach to the handler run if it is running


@workflow.defn
class NxTarget:
    """The workflow behind the workflow-run operation."""

    @workflow.run
    async def run(self, mode: str) -> str:
        if mode == "fail":
            raise ApplicationError("the handler run failed", non_retryable=True)
        if mode in ("nap", "sleep"):
            await workflow.sleep(3 if mode == "nap" else 8)
        if mode == "wait":
            await workflow.wait_condition(lambda: False)
        return f"handler run: {mode}"


@nexusrpc.service
class NxService:
    echo: nexusrpc.Operation[str, str]
    fail: nexusrpc.Operation[str, str]
    run: nexusrpc.Operation[RunInput, str]
    stuck: nexusrpc.Operation[str, str]


class Stuck(nexusrpc.handler.OperationHandler[str, str]):
    """An asynchronous operation that never completes and refuses to be cancelled."""

    async def start(
        self, ctx: nexusrpc.handler.StartOperationContext, text: str
    ) -> nexusrpc.handler.StartOperationResultAsync:
        return nexusrpc.handler.StartOperationResultAsync(f"stuck-{text}")

    async def cancel(self, ctx: nexusrpc.handler.CancelOperationContext, token: str) -> None:
        raise nexusrpc.HandlerError("will not cancel", type=nexusrpc.HandlerErrorType.BAD_REQUEST)


@nexusrpc.handler.service_handler(service=NxService)
class NxHandler:
    @nexusrpc.handler.sync_operation
    async def echo(self, ctx: nexusrpc.handler.StartOperationContext, text: str) -> str:
        return f"echo {text}"

    @nexusrpc.handler.sync_operation
    async def fail(self, ctx: nexusrpc.handler.StartOperationContext, how: str) -> str:
        if how == "retryable":
            raise nexusrpc.HandlerError("busy, retry", type=nexusrpc.HandlerErrorType.INTERNAL)
        if how == "bad-request":
            raise nexusrpc.HandlerError("bad input", type=nexusrpc.HandlerErrorType.BAD_REQUEST)
        if how == "non-retryable":
            raise ApplicationError("an application failure", "Kind", non_retryable=True)
        if how == "op-canceled":
            raise nexusrpc.OperationError("canceled", state=nexusrpc.OperationErrorState.CANCELED)
        raise nexusrpc.OperationError("failed", state=nexusrpc.OperationErrorState.FAILED)

    @nexus.workflow_run_operation
    async def run(
        self, ctx: nexus.WorkflowRunOperationContext, given: RunInput
    ) -> nexus.WorkflowHandle[str]:
        policy = WorkflowIDConflictPolicy.USE_EXISTING if given.use_existing else None
        return await ctx.start_workflow(
            NxTarget.run,
            given.mode,
            id=given.workflow_id,
            id_conflict_policy=policy or WorkflowIDConflictPolicy.UNSPECIFIED,
        )

    @nexusrpc.handler.operation_handler
    def stuck(self) -> nexusrpc.handler.OperationHandler[str, str]:
        return Stuck()


_CANCEL = {
    "abandon": workflow.NexusOperationCancellationType.ABANDON,
    "try": workflow.NexusOperationCancellationType.TRY_CANCEL,
    "wait-requested": workflow.NexusOperationCancellationType.WAIT_REQUESTED,
    "wait-completed": workflow.NexusOperationCancellationType.WAIT_COMPLETED,
}


@workflow.defn
class NxCaller:
    @workflow.run
    async def run(self, shape: str) -> list[str]:
        nx = workflow.create_nexus_client(service=NxService, endpoint=ENDPOINT)
        wid = workflow.info().workflow_id
        out: list[str] = []

        async def attempt(op: Any, arg: Any, **kw: Any) -> None:
            try:
                out.append(str(await nx.execute_operation(op, arg, **kw)))
            except Exception as e:  # (the failure is what is recorded)
                out.append(f"{type(e).__name__}: {e} / {type(e.__cause__).__name__}")

        if shape == "sync":
            await attempt(NxService.echo, "hello", headers={"X-Mixed-Case": "v"})
            for how in ("bad-request", "non-retryable", "op-failed", "op-canceled"):
                await attempt(NxService.fail, how)
        elif shape == "sync-retry":
            four = timedelta(seconds=4)
            await attempt(NxService.fail, "retryable", schedule_to_close_timeout=four)
        elif shape == "async":
            await attempt(NxService.run, RunInput("ok", f"{wid}.handler1"))
            await attempt(NxService.run, RunInput("fail", f"{wid}.handler2"))
        elif shape.removeprefix("cancel-") in _CANCEL:
            kind = _CANCEL[shape.removeprefix("cancel-")]
            handle = await nx.start_operation(
                NxService.run, RunInput("wait", f"{wid}.handler"), cancellation_type=kind
            )
            await workflow.sleep(1)
            handle.cancel()
            try:
                out.append(str(await handle))
            except Exception as e:
                out.append(f"{type(e).__name__}: {e}")
            await workflow.sleep(2)  # what reaches the caller after its cancel's outcome
        elif shape == "cancel-refused":
            handle = await nx.start_operation(
                NxService.stuck,
                "one",
                cancellation_type=workflow.NexusOperationCancellationType.WAIT_REQUESTED,
            )
            await workflow.sleep(1)
            handle.cancel()
            try:
                out.append(str(await handle))
            except Exception as e:
                out.append(f"{type(e).__name__}: {e}")
        elif shape == "timeout-start":  # the start never succeeds, the handler never ends
            await attempt(
                NxService.fail,
                "retryable",
                schedule_to_start_timeout=timedelta(seconds=2),
                schedule_to_close_timeout=timedelta(seconds=30),
            )
            await attempt(
                NxService.run,
                RunInput("sleep", f"{wid}.handler"),
                start_to_close_timeout=timedelta(seconds=2),
            )
        elif shape == "timeout":
            await attempt(
                NxService.run,
                RunInput("sleep", f"{wid}.handler"),
                schedule_to_close_timeout=timedelta(seconds=3),
            )
        elif shape == "parallel":
            await asyncio.gather(
                attempt(NxService.echo, "one"),
                attempt(NxService.run, RunInput("ok", f"{wid}.handler1")),
                attempt(NxService.run, RunInput("ok", f"{wid}.handler2")),
                attempt(NxService.fail, "op-failed"),
            )
        elif shape == "attach":  # the second operation attaches to the first's run
            await asyncio.gather(
                attempt(NxService.run, RunInput("nap", f"{wid}.handler", True)),
                attempt(NxService.run, RunInput("nap", f"{wid}.handler", True)),
            )
        elif shape == "can":
            await nx.start_operation(NxService.run, RunInput("sleep", f"{wid}.handler"))
            workflow.continue_as_new("can-next")
        elif shape == "can-next":
            await attempt(NxService.echo, "after continue-as-new")
        return out


@workflow.defn
class OptionsTarget:
    """Waits for a signal while its options are changed from outside."""

    def __init__(self) -> None:
        self.done = False

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done)
        return "finished"


async def _update_options(
    r: Recorder, workflow_id: str, paths: list[str], options: WorkflowExecutionOptions
) -> None:
    await r.client.workflow_service.update_workflow_execution_options(
        UpdateWorkflowExecutionOptionsRequest(
            namespace="default",
            workflow_execution=WorkflowExecution(workflow_id=workflow_id),
            workflow_execution_options=options,
            update_mask=FieldMask(paths=paths),
            identity="options-recorder",
        )
    )
    await asyncio.sleep(0.3)


async def options(r: Recorder) -> None:
    """options-override: a run of a versioned worker (AUTO_UPGRADE by default) gets a
    pinned override, an auto-upgrade one, the same again (no event), none, a priority,
    one priority field cleared, a refused partial override, then all cleared."""
    config = WorkerDeploymentConfig(
        version=SdkVersion("hh-nx-dep", "b1"),
        use_worker_versioning=True,
        default_versioning_behavior=SdkBehavior.AUTO_UPGRADE,
    )
    async with Worker(
        r.client, task_queue=NX + "-v", workflows=[OptionsTarget], deployment_config=config
    ):
        await r.set_current("hh-nx-dep", "b1")
        wid = f"hh-options-override-{uuid.uuid4().hex[:6]}"
        h = await r.client.start_workflow(OptionsTarget.run, id=wid, task_queue=NX + "-v")
        await asyncio.sleep(1)
        version = WorkerDeploymentVersion(deployment_name="hh-nx-dep", build_id="b1")
        pinned = VersioningOverride(
            pinned=VersioningOverride.PinnedOverride(
                behavior=VersioningOverride.PINNED_OVERRIDE_BEHAVIOR_PINNED, version=version
            )
        )
        auto = VersioningOverride(auto_upgrade=True)
        for override in (pinned, auto, auto):
            options = WorkflowExecutionOptions(versioning_override=override)
            await _update_options(r, h.id, ["versioning_override"], options)
        await _update_options(r, h.id, ["versioning_override"], WorkflowExecutionOptions())
        priority = WorkflowExecutionOptions(priority=Priority(priority_key=3, fairness_key="k"))
        await _update_options(r, h.id, ["priority"], priority)
        await _update_options(r, h.id, ["priority.fairness_key"], WorkflowExecutionOptions())
        legacy = VersioningOverride(behavior=VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE)
        options = WorkflowExecutionOptions(versioning_override=legacy)
        with contextlib.suppress(Exception):  # half of the older pair: refused
            await _update_options(r, h.id, ["versioning_override.behavior"], options)
        both = ["versioning_override", "priority"]
        await _update_options(r, h.id, both, WorkflowExecutionOptions(versioning_override=pinned))
        await _update_options(r, h.id, both, WorkflowExecutionOptions())
        await h.signal(OptionsTarget.finish)
        await r.run("options-override", h)
        await r.dump("options-override", h.id)


def _endpoint(r: Recorder) -> None:
    with contextlib.suppress(subprocess.CalledProcessError):  # already there
        r.cli(
            "operator", "nexus", "endpoint", "create", "--name", ENDPOINT,
            "--target-namespace", "default", "--target-task-queue", NX,
        )  # fmt: skip


SHAPES = ["sync", "sync-retry", "async", "timeout", "timeout-start", "parallel", "attach", "can"]
SHAPES += [f"cancel-{kind}" for kind in (*_CANCEL, "refused")]


async def nexus_scenario(r: Recorder, shapes: list[str] = SHAPES) -> None:
    """nexus-* and their handler runs, then options-*."""
    _endpoint(r)
    tag = uuid.uuid4().hex[:6]  # workflow ids of one recording
    async with Worker(
        r.client,
        task_queue=NX,
        workflows=[NxCaller, NxTarget, OptionsTarget],
        nexus_service_handlers=[NxHandler()],
    ):
        await asyncio.sleep(1)
        for shape in shapes:
            wid = f"hh-nx-{shape}-{tag}"
            h = await r.client.start_workflow(NxCaller.run, shape, id=wid, task_queue=NX)
            first = (await h.fetch_history()).run_id
            await r.run(f"nexus-{shape}", r.client.get_workflow_handle(wid))
            await asyncio.sleep(3 if shape.startswith("cancel") else 1)
            if shape == "can":
                await r.dump("nexus-can.run1", wid, first)
                await r.dump("nexus-can.run2", wid)
                await asyncio.sleep(9)
            else:
                await r.dump(f"nexus-{shape}", wid)
            for suffix in ("handler", "handler1", "handler2"):
                with contextlib.suppress(Exception):
                    await r.client.get_workflow_handle(f"{wid}.{suffix}").describe()
                    await r.dump(f"nexus-{shape}.{suffix}", f"{wid}.{suffix}")
    if shapes is SHAPES:
        await options(r)
