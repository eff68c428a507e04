"""The `hunt6` scenario of record_unseen.py: drives unseen_workflows_hunt6.py (see its
docstring for the dev server's flags) and dumps every history it makes. Set
HUNT6_PARTS=name,... to run a few parts."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from typing import TYPE_CHECKING, Any

from google.protobuf.field_mask_pb2 import FieldMask
from temporalio.api.common.v1 import Link, Payloads, WorkflowExecution, WorkflowType
from temporalio.api.common.v1 import Priority as ApiPriority
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import UserMetadata
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflow.v1 import PostResetOperation, WorkflowExecutionOptions
from temporalio.api.workflowservice.v1 import (
    RequestCancelWorkflowExecutionRequest,
    ResetWorkflowExecutionRequest,
    SignalWithStartWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
    UpdateWorkflowExecutionOptionsRequest,
)
from temporalio.client import WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import (
    OneTimeVersioningOverride,
    PinnedVersioningOverride,
    Priority,
    VersioningBehavior,
    WorkerDeploymentVersion,
    WorkflowIDConflictPolicy,
)
from temporalio.converter import default as default_converter
from temporalio.worker import Worker, WorkerDeploymentConfig
from unseen_hunt3_scenario import _chain, _dump_chain, _run
from unseen_hunt4_scenario import _guarded
from unseen_hunt5_scenario import _deployment
from unseen_hunt6_chains import kids, prio, retries, versions5
from unseen_nexus import NX, NxHandler, NxTarget, _endpoint
from unseen_workflows_hunt6 import (
    HUNT6,
    HUNT6_ACTIVITIES,
    HUNT6_WORKFLOWS,
    RETRY_TWICE,
    Cron6,
    Groups6,
    Linked6,
    Meta6,
    Nexus6,
    Parent6,
    Pinned6,
)

if TYPE_CHECKING:
    from record_unseen import Recorder

VQ, VQ2, VQ3, VQ4 = "hh6-v", "hh6-v2", "hh6-v3", "hh6-v4"  # the versioned workers' queues
DEP, DEP2, DEP3, DEP4 = "hh6dep", "hh6dep2", "hh6dep3", "hh6dep4"


def _payloads(*values: Any) -> Payloads:
    return Payloads(payloads=default_converter().payload_converter.to_payloads(list(values)))


def _meta(summary: str) -> UserMetadata:
    (one,) = default_converter().payload_converter.to_payloads([summary])
    return UserMetadata(summary=one)


def _link(workflow_id: str, event_id: int) -> Link:
    ref = Link.WorkflowEvent.EventReference(
        event_id=event_id, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    )
    return Link(
        workflow_event=Link.WorkflowEvent(
            namespace="default",
            workflow_id=workflow_id,
            run_id=str(uuid.uuid5(uuid.NAMESPACE_URL, workflow_id)),
            event_ref=ref,
        )
    )


async def meta(r: Recorder) -> None:
    """meta-*: summaries, details, event groups and priorities; a retried run, a
    signal-with-start, an eager start and a cron chain, each with a summary."""
    tag = uuid.uuid4().hex[:4]
    prio = Priority(priority_key=3, fairness_key="tenant-a", fairness_weight=2.0)
    h: WorkflowHandle[Any, Any] = await r.client.start_workflow(
        Meta6.run, True, id=f"hh6-meta-{tag}", task_queue=HUNT6, retry_policy=RETRY_TWICE,
        static_summary="meta, retried", static_details="*first* attempt fails", priority=prio,
    )  # fmt: skip
    await _run(r, "meta", h)
    await _dump_chain(r, "meta", h.id)
    for attempt in (1, 2):
        await r.dump(f"meta.kid{attempt}", f"{h.id}-kid{attempt}")
    h = await r.client.start_workflow(
        Meta6.run, False, id=f"hh6-meta-sws-{tag}", task_queue=HUNT6, start_signal="poke",
        start_signal_args=["early"], static_summary="signal-with-start", priority=prio,
    )  # fmt: skip
    await _run(r, "meta-sws", h)
    await r.dump("meta-sws", h.id)
    h = await r.client.start_workflow(
        Meta6.run, False, id=f"hh6-meta-eager-{tag}", task_queue=HUNT6,
        request_eager_start=True, static_summary="eager", static_details="eager details",
    )  # fmt: skip
    await _run(r, "meta-eager", h)
    await r.dump("meta-eager", h.id)
    h = await r.client.start_workflow(
        Cron6.run, id=f"hh6-cron-{tag}", task_queue=HUNT6, cron_schedule="@every 2s",
        static_summary="a cron", priority=prio, memo={"m": "cron memo"},
    )  # fmt: skip
    await asyncio.sleep(5)
    await h.terminate("enough")
    for i, run_id in enumerate(await _chain(r, h.id)):
        await r.dump(f"meta-cron.run{i + 1}", h.id, run_id)


async def links(r: Recorder) -> None:
    """links-*: raw starts, signals, signal-with-starts, cancel requests and
    terminations carrying links (and a start with user metadata)."""
    tag = uuid.uuid4().hex[:4]
    svc = r.client.workflow_service

    def start(workflow_id: str, again: bool) -> StartWorkflowExecutionRequest:
        return StartWorkflowExecutionRequest(
            namespace="default", workflow_id=workflow_id,
            workflow_type=WorkflowType(name="Linked6"), task_queue=TaskQueue(name=HUNT6),
            input=_payloads(again), identity="hh6-raw", request_id=str(uuid.uuid4()),
            links=[_link("hh6-somewhere", 1)], user_metadata=_meta("linked start"),
        )  # fmt: skip

    def signal(workflow_id: str, n: int) -> SignalWorkflowExecutionRequest:
        return SignalWorkflowExecutionRequest(
            namespace="default", workflow_execution=WorkflowExecution(workflow_id=workflow_id),
            signal_name="poke", input=_payloads(f"p{n}"), identity="hh6-raw",
            request_id=str(uuid.uuid4()), links=[_link(f"hh6-signaller-{n}", n)],
        )  # fmt: skip

    wid = f"hh6-links-{tag}"
    await svc.start_workflow_execution(start(wid, True))
    await asyncio.sleep(1)
    for n in (1, 2):
        await svc.signal_workflow_execution(signal(wid, n))
    await asyncio.sleep(2)
    await svc.request_cancel_workflow_execution(
        RequestCancelWorkflowExecutionRequest(
            namespace="default", workflow_execution=WorkflowExecution(workflow_id=wid),
            identity="hh6-raw", request_id=str(uuid.uuid4()), reason="linked cancel",
            links=[_link("hh6-canceller", 1)],
        )
    )  # fmt: skip
    await _run(r, "links", r.client.get_workflow_handle(wid))
    await _dump_chain(r, "links", wid)

    wid = f"hh6-links-term-{tag}"
    await svc.signal_with_start_workflow_execution(
        SignalWithStartWorkflowExecutionRequest(
            namespace="default", workflow_id=wid, workflow_type=WorkflowType(name="Linked6"),
            task_queue=TaskQueue(name=HUNT6), input=_payloads(False), identity="hh6-raw",
            request_id=str(uuid.uuid4()), signal_name="poke", signal_input=_payloads("s0"),
            links=[_link("hh6-sws-caller", 1)], user_metadata=_meta("linked sws"),
        )
    )  # fmt: skip
    await asyncio.sleep(1)
    await svc.signal_with_start_workflow_execution(
        SignalWithStartWorkflowExecutionRequest(
            namespace="default", workflow_id=wid, workflow_type=WorkflowType(name="Linked6"),
            task_queue=TaskQueue(name=HUNT6), input=_payloads(False), identity="hh6-raw2",
            request_id=str(uuid.uuid4()), signal_name="poke", signal_input=_payloads("s1"),
            links=[_link("hh6-sws-caller2", 1)],
        )
    )  # fmt: skip
    await svc.signal_workflow_execution(signal(wid, 3))
    await asyncio.sleep(1)
    await svc.terminate_workflow_execution(
        TerminateWorkflowExecutionRequest(
            namespace="default", workflow_execution=WorkflowExecution(workflow_id=wid),
            reason="linked termination", identity="hh6-raw",
            links=[_link("hh6-terminator", 1)],
        )
    )  # fmt: skip
    await r.dump("links-term", wid)


async def versions(r: Recorder) -> None:
    """v6-*: a pinned run continued as new (AUTO_UPGRADE) onto the new current build,
    starts with pinned and one-time overrides to the old build, a child started with an
    auto-upgrade override, and a run continued as new onto a ramping build."""
    tag = uuid.uuid4().hex[:4]

    def worker(build: str) -> Worker:
        return Worker(
            r.client, task_queue=VQ, workflows=HUNT6_WORKFLOWS, activities=HUNT6_ACTIVITIES,
            deployment_config=_deployment(DEP, build),
        )  # fmt: skip

    async def poke(workflow_id: str) -> None:
        await r.client.get_workflow_handle(workflow_id).signal("poke", "go")

    b1 = WorkerDeploymentVersion(DEP, "b1")
    ids = {n: f"hh6-{n}-{tag}" for n in ("hop", "pinned", "onetime", "kid", "ramp")}
    async with worker("b1"):
        await r.set_current(DEP, "b1")
        await r.client.start_workflow(Pinned6.run, 1, id=ids["hop"], task_queue=VQ)
        await asyncio.sleep(2)
        async with worker("b2"):
            await r.set_current(DEP, "b2")
            await asyncio.sleep(1)
            for name, override in (
                ("pinned", PinnedVersioningOverride(b1)),
                ("onetime", OneTimeVersioningOverride(b1)),
            ):
                try:
                    await r.client.start_workflow(
                        Pinned6.run, 0, id=ids[name], task_queue=VQ, versioning_override=override
                    )
                except Exception as e:
                    print(f"v6-{name}: start refused {type(e).__name__} {e}", flush=True)
            await r.client.start_workflow(Parent6.run, "auto", id=ids["kid"], task_queue=VQ)
            await r.client.start_workflow(Pinned6.run, 2, id=ids["ramp"], task_queue=VQ)
            await poke(ids["hop"])
            await asyncio.sleep(2)
            await poke(ids["hop"])
            async with worker("b3"):
                await asyncio.sleep(2)
                r.cli(
                    "worker", "deployment", "set-ramping-version", "--yes",
                    "--deployment-name", DEP, "--build-id", "b3", "--percentage", "100",
                )  # fmt: skip
                await asyncio.sleep(2)
                await poke(ids["ramp"])
                await asyncio.sleep(2)
                await poke(ids["ramp"])
                for name in ("pinned", "onetime"):
                    await poke(ids[name])
                await asyncio.sleep(3)
                for name, workflow_id in ids.items():
                    await _run(r, f"v6-{name}", r.client.get_workflow_handle(workflow_id))
    for name in ("hop", "ramp"):
        await _dump_chain(r, f"v6-{name}", ids[name])
    for name in ("pinned", "onetime", "kid"):
        try:
            await r.dump(f"v6-{name}", ids[name])
        except Exception as e:
            print(f"v6-{name}: {type(e).__name__} {e}", flush=True)
    await r.dump("v6-kid.child", f"{ids['kid']}-kid")


async def reset_links(r: Recorder) -> None:
    """reset-links: a run started and signalled with links, reset to its first workflow
    task (the reset run's start and reapplied signals), then terminated with links."""
    wid = f"hh6-reset-links-{uuid.uuid4().hex[:4]}"
    svc = r.client.workflow_service
    await svc.start_workflow_execution(
        StartWorkflowExecutionRequest(
            namespace="default", workflow_id=wid, workflow_type=WorkflowType(name="Linked6"),
            task_queue=TaskQueue(name=HUNT6), input=_payloads(False), identity="hh6-raw",
            request_id=str(uuid.uuid4()), links=[_link("hh6-somewhere", 1)],
            user_metadata=_meta("reset me"),
        )
    )  # fmt: skip
    await asyncio.sleep(1)
    for n in (1, 2):
        await svc.signal_workflow_execution(
            SignalWorkflowExecutionRequest(
                namespace="default", workflow_execution=WorkflowExecution(workflow_id=wid),
                signal_name="poke", input=_payloads(f"p{n}"), identity="hh6-raw",
                request_id=str(uuid.uuid4()), links=[_link(f"hh6-signaller-{n}", n)],
            )
        )  # fmt: skip
    await asyncio.sleep(1.5)
    base = (await r.client.get_workflow_handle(wid).describe()).run_id
    r.cli("workflow", "reset", "-w", wid, "--type", "FirstWorkflowTask", "--reason", "relink")
    await asyncio.sleep(1.5)
    await svc.terminate_workflow_execution(
        TerminateWorkflowExecutionRequest(
            namespace="default", workflow_execution=WorkflowExecution(workflow_id=wid),
            reason="done", identity="hh6-raw", links=[_link("hh6-terminator", 1)],
        )
    )  # fmt: skip
    await r.dump("reset-links.base", wid, base)
    await r.dump("reset-links", wid)


async def _update_override(r: Recorder, workflow_id: str, override: Any) -> None:
    options = WorkflowExecutionOptions(versioning_override=override._to_proto())
    await r.client.workflow_service.update_workflow_execution_options(
        UpdateWorkflowExecutionOptionsRequest(
            namespace="default", workflow_execution=WorkflowExecution(workflow_id=workflow_id),
            workflow_execution_options=options, identity="hh6-options",
            update_mask=FieldMask(paths=["versioning_override"]),
        )
    )  # fmt: skip


async def versions2(r: Recorder) -> None:
    """v7-*: a pinned run continued as new with no initial behavior after its target
    moved (the continued run inherits its version and declines the new target); a
    child started with a pinned override; a one-time override to the new build set
    by UpdateWorkflowExecutionOptions on a pinned run."""
    tag = uuid.uuid4().hex[:4]

    def worker(build: str) -> Worker:
        return Worker(
            r.client, task_queue=VQ2, workflows=HUNT6_WORKFLOWS, activities=HUNT6_ACTIVITIES,
            deployment_config=_deployment(DEP2, build),
        )  # fmt: skip

    async def poke(workflow_id: str) -> None:
        await r.client.get_workflow_handle(workflow_id).signal("poke", "go")

    ids = {n: f"hh6-v7-{n}-{tag}" for n in ("stay", "kid", "onetime")}
    async with worker("b1"):
        await r.set_current(DEP2, "b1")
        await r.client.start_workflow(Pinned6.run, 3, id=ids["stay"], task_queue=VQ2)
        await r.client.start_workflow(Parent6.run, "pinned", id=ids["kid"], task_queue=VQ2)
        await r.client.start_workflow(Pinned6.run, 0, id=ids["onetime"], task_queue=VQ2)
        await asyncio.sleep(2)
        async with worker("b2"):
            await r.set_current(DEP2, "b2")
            await asyncio.sleep(1)
            await poke(ids["stay"])
            await asyncio.sleep(2)
            await poke(ids["stay"])
            try:
                await _update_override(
                    r,
                    ids["onetime"],
                    OneTimeVersioningOverride(WorkerDeploymentVersion(DEP2, "b2")),
                )
            except Exception as e:
                print(f"v7-onetime: options refused {type(e).__name__} {e}", flush=True)
            await asyncio.sleep(1)
            await poke(ids["onetime"])
            for name, workflow_id in ids.items():
                await _run(r, f"v7-{name}", r.client.get_workflow_handle(workflow_id))
    await _dump_chain(r, "v7-stay", ids["stay"])
    for name in ("kid", "onetime"):
        await r.dump(f"v7-{name}", ids[name])
    await r.dump("v7-kid.child", f"{ids['kid']}-kid")


async def nexus_meta(r: Recorder) -> None:
    """nexus-meta: Nexus operations with summaries (and the workflow-run one's
    handler run); uws-meta: update-with-start with a summary, details and a priority."""
    _endpoint(r)
    tag = uuid.uuid4().hex[:4]
    async with Worker(
        r.client, task_queue=NX, workflows=[Nexus6, NxTarget], nexus_service_handlers=[NxHandler()]
    ):
        await asyncio.sleep(1)
        wid = f"hh6-nexus-meta-{tag}"
        await _run(
            r, "nexus-meta", await r.client.start_workflow(Nexus6.run, id=wid, task_queue=NX)
        )
        await r.dump("nexus-meta", wid)
        await r.dump("nexus-meta.handler", f"{wid}.handler")
    wid = f"hh6-uws-meta-{tag}"
    start = WithStartWorkflowOperation(
        Linked6.run, False, id=wid, task_queue=HUNT6, static_summary="update-with-start",
        static_details="with details", priority=Priority(priority_key=1),
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )  # fmt: skip
    answer = await r.client.execute_update_with_start_workflow(
        Linked6.bump, 1, start_workflow_operation=start
    )
    print(f"uws-meta: {answer}", flush=True)
    await r.client.get_workflow_handle(wid).signal("poke", "one")
    await asyncio.sleep(1)
    await r.client.get_workflow_handle(wid).terminate("recorded")
    await r.dump("uws-meta", wid)


async def versions3(r: Recorder) -> None:
    """v8-*: children of an auto-upgrading parent and of a parent started with a pinned
    override, on the parent's queue with no override of their own."""
    tag = uuid.uuid4().hex[:4]
    auto = VersioningBehavior.AUTO_UPGRADE
    config = WorkerDeploymentConfig(
        WorkerDeploymentVersion(DEP3, "b1"), use_worker_versioning=True,
        default_versioning_behavior=auto,
    )  # fmt: skip
    async with Worker(
        r.client, task_queue=VQ3, workflows=HUNT6_WORKFLOWS, activities=HUNT6_ACTIVITIES,
        deployment_config=config,
    ):  # fmt: skip
        await r.set_current(DEP3, "b1")
        await asyncio.sleep(1)
        ids = {n: f"hh6-v8-{n}-{tag}" for n in ("auto", "pinned")}
        await r.client.start_workflow(Parent6.run, "none", id=ids["auto"], task_queue=VQ3)
        pinned = PinnedVersioningOverride(WorkerDeploymentVersion(DEP3, "b1"))
        await r.client.start_workflow(
            Parent6.run, "none", id=ids["pinned"], task_queue=VQ3, versioning_override=pinned
        )
        for name, workflow_id in ids.items():
            await _run(r, f"v8-{name}", r.client.get_workflow_handle(workflow_id))
            await r.dump(f"v8-{name}", workflow_id)
            await r.dump(f"v8-{name}.child", f"{workflow_id}-kid")


async def versions4(r: Recorder) -> None:
    """v9-*: a run started with a pinned override continued as new (no initial
    behavior); overrides set by `temporal workflow update-options` (one-time, pinned,
    unset); a reset (raw ResetWorkflowExecution) with a post-reset operation setting a
    pinned override to the new build and a priority."""
    tag = uuid.uuid4().hex[:4]

    def worker(build: str) -> Worker:
        return Worker(
            r.client, task_queue=VQ4, workflows=HUNT6_WORKFLOWS, activities=HUNT6_ACTIVITIES,
            deployment_config=_deployment(DEP4, build),
        )  # fmt: skip

    async def poke(workflow_id: str) -> None:
        await r.client.get_workflow_handle(workflow_id).signal("poke", "go")

    ids = {n: f"hh6-v9-{n}-{tag}" for n in ("chain", "cli", "reset")}
    b1, b2 = WorkerDeploymentVersion(DEP4, "b1"), WorkerDeploymentVersion(DEP4, "b2")
    async with worker("b1"):
        await r.set_current(DEP4, "b1")
        await r.client.start_workflow(
            Pinned6.run, 3, id=ids["chain"], task_queue=VQ4,
            versioning_override=PinnedVersioningOverride(b1),
        )  # fmt: skip
        for name in ("cli", "reset"):
            await r.client.start_workflow(Pinned6.run, 0, id=ids[name], task_queue=VQ4)
        await asyncio.sleep(2)
        async with worker("b2"):
            await r.set_current(DEP4, "b2")
            await asyncio.sleep(1)
            await poke(ids["chain"])
            await asyncio.sleep(2)
            await poke(ids["chain"])
            name_args = ["--versioning-override-deployment-name", DEP4]
            for args in (
                ["one_time", *name_args, "--versioning-override-build-id", "b2"],
                ["pinned", *name_args, "--versioning-override-build-id", "b1"],
                ["unspecified"],
            ):
                try:
                    r.cli("workflow", "update-options", "-w", ids["cli"],
                          "--versioning-override-behavior", *args)  # fmt: skip
                except subprocess.CalledProcessError as e:
                    print(f"v9-cli: {args[0]} refused: {e.stderr.strip()[-160:]}", flush=True)
                await asyncio.sleep(0.5)
            await poke(ids["cli"])
            await _post_reset_pinned(r, ids["reset"], b2)
            await asyncio.sleep(1)
            await poke(ids["reset"])
            for name, workflow_id in ids.items():
                await _run(r, f"v9-{name}", r.client.get_workflow_handle(workflow_id))
    await _dump_chain(r, "v9-chain", ids["chain"])
    await r.dump("v9-cli", ids["cli"])
    runs = await _chain(r, ids["reset"])
    await r.dump("v9-reset", ids["reset"], runs[-1])


async def _post_reset_pinned(r: Recorder, workflow_id: str, version: Any) -> None:
    handle = r.client.get_workflow_handle(workflow_id)
    history = await handle.fetch_history()
    completed = [e.event_id for e in history.events if e.event_type == 7]  # WFT completed
    override = PinnedVersioningOverride(version)._to_proto()
    options = PostResetOperation.UpdateWorkflowOptions(
        workflow_execution_options=WorkflowExecutionOptions(
            versioning_override=override, priority=ApiPriority(priority_key=2)
        ),
        update_mask=FieldMask(paths=["versioning_override", "priority"]),
    )
    await r.client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace="default",
            workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=history.run_id),
            reason="hh6 post-reset override", workflow_task_finish_event_id=completed[0],
            request_id=str(uuid.uuid4()), identity="hh6-raw",
            post_reset_operations=[PostResetOperation(update_workflow_options=options)],
        )
    )  # fmt: skip
    await r.dump("v9-reset.base", workflow_id, history.run_id)


async def groups(r: Recorder) -> None:
    """groups.*: every command in an event group (Groups6), continued as new once."""
    wid = f"hh6-groups-{uuid.uuid4().hex[:4]}"
    await _run(
        r, "groups", await r.client.start_workflow(Groups6.run, True, id=wid, task_queue=HUNT6)
    )
    await _dump_chain(r, "groups", wid)


PARTS = (
    meta,
    links,
    versions,
    reset_links,
    versions2,
    nexus_meta,
    versions3,
    versions4,
    groups,
    prio,
    versions5,
    kids,
    retries,
)


async def hunt6(r: Recorder) -> None:
    """The shapes of unseen_workflows_hunt6.py (HUNT6_PARTS=name,... for a few)."""
    names = os.environ.get("HUNT6_PARTS", "")
    chosen = [p for p in PARTS if (p.__name__ in names.split(",") if names else True)]
    async with Worker(
        r.client, task_queue=HUNT6, workflows=HUNT6_WORKFLOWS, activities=HUNT6_ACTIVITIES
    ):
        await asyncio.gather(*(_guarded(r, part) for part in chosen))
