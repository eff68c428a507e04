"""The `hunt5` scenario of record_unseen.py: drives unseen_workflows_hunt5.py (see its
docstring for the dev server's flags) and dumps every history it makes. Set
HUNT5_PARTS=name,... to run a few parts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from google.protobuf.field_mask_pb2 import FieldMask
from temporalio.api.common.v1 import Callback, Payloads, Priority, WorkflowExecution, WorkflowType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflow.v1 import PostResetOperation, WorkflowExecutionOptions
from temporalio.api.workflowservice.v1 import (
    ResetWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleBackfill,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowHandle,
)
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.converter import default as default_converter
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkerDeploymentConfig
from unseen_hunt3_scenario import _chain, _run
from unseen_hunt4_scenario import _guarded
from unseen_nexus import NX, NxHandler, NxTarget, _endpoint
from unseen_workflows_hunt5 import (
    HUNT5,
    HUNT5_ACTIVITIES,
    HUNT5_WORKFLOWS,
    H5NxCaller,
    H5Target,
    Resettable5,
    TooManyActivities,
    TooManyCancels,
    TooManyChildren,
    TooManySignals,
)

if TYPE_CHECKING:
    from record_unseen import Recorder


def _deployment(name: str, build: str) -> WorkerDeploymentConfig:
    version = WorkerDeploymentVersion(name, build)
    pinned = VersioningBehavior.PINNED
    return WorkerDeploymentConfig(
        version, use_worker_versioning=True, default_versioning_behavior=pinned
    )


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


async def _start(r: Recorder, wf: Any, *args: Any, **options: Any) -> WorkflowHandle[Any, Any]:
    options.setdefault("task_queue", HUNT5)
    return await r.client.start_workflow(wf, *args, **options)


async def limits(r: Recorder) -> None:
    """limit-<kind>: a task past a pending limit, refused once (WorkflowTaskFailed with the
    limit's cause), its retry fine; limit-<kind>-dropped: the retry refused too (dropped:
    no event; it times out after the 2 s task timeout and the third attempt is fine)."""
    for fails in (1, 2):
        tail = "" if fails == 1 else "-dropped"
        opts: dict[str, Any] = {"task_timeout": _s(2)}
        h = await _start(r, TooManyActivities.run, fails, id=f"hh5-acts{tail}", **opts)
        await _run(r, f"limit-activities{tail}", h)
        await r.dump(f"limit-activities{tail}", h.id)
        h = await _start(r, TooManyChildren.run, fails, id=f"hh5-kids{tail}", **opts)
        await _run(r, f"limit-children{tail}", h)
        await r.dump(f"limit-children{tail}", h.id)
        target = await _start(r, H5Target.run, 6, id=f"hh5-signalled{tail}")
        h = await _start(
            r, TooManySignals.run, args=[target.id, fails], id=f"hh5-sigs{tail}", **opts
        )
        await _run(r, f"limit-signals{tail}", h)
        await r.dump(f"limit-signals{tail}", h.id)
        await _run(r, f"limit-signals{tail}.target", target)
        await r.dump(f"limit-signals{tail}.target", target.id)
        targets = [
            (await _start(r, H5Target.run, 30, id=f"hh5-cancelled{tail}-{i}")).id for i in range(3)
        ]
        h = await _start(
            r, TooManyCancels.run, args=[targets, fails], id=f"hh5-cancels{tail}", **opts
        )
        await _run(r, f"limit-cancels{tail}", h)
        await r.dump(f"limit-cancels{tail}", h.id)
        await asyncio.sleep(1)
        await r.dump(f"limit-cancels{tail}.target0", targets[0])


async def resets(r: Recorder) -> None:
    """reset-inflight-update.*: a run reset to the task before an update that was accepted
    and still runs its handler; reset-exclude-all.*: a reset excluding everything
    (`--reapply-exclude All`) with signals and an update after its point."""
    h = await _start(r, Resettable5.run, id="hh5-reset-inflight-update")
    await asyncio.sleep(1)
    await h.signal(Resettable5.s, "a")
    await asyncio.sleep(0.5)
    pending = asyncio.ensure_future(h.execute_update(Resettable5.u, "wait-1"))
    await asyncio.sleep(1)
    history = await h.fetch_history()
    completed = [e.event_id for e in history.events if e.event_type == 7]  # WFT completed
    r.cli(
        "workflow", "reset", "-w", h.id, "-r", history.run_id, "--event-id", str(completed[1]),
        "--reason", "hh5 in-flight update",
    )  # fmt: skip
    await asyncio.sleep(1)
    again = r.client.get_workflow_handle(h.id)
    await again.signal(Resettable5.s, "go")
    with contextlib.suppress(Exception):
        print(f"  the in-flight update: {await asyncio.wait_for(pending, 10)!r}", flush=True)
    await again.signal(Resettable5.s, "done")
    await _run(r, "reset-inflight-update", again)
    await r.dump("reset-inflight-update.base", h.id, history.run_id)
    await r.dump("reset-inflight-update", h.id)
    h = await _start(r, Resettable5.run, id="hh5-reset-exclude-all")
    await asyncio.sleep(1)
    await h.signal(Resettable5.s, "a")
    await h.execute_update(Resettable5.u, "x")
    await h.signal(Resettable5.s, "b")
    await asyncio.sleep(1)
    history = await h.fetch_history()
    r.cli(
        "workflow", "reset", "-w", h.id, "-r", history.run_id, "--type", "FirstWorkflowTask",
        "--reason", "hh5 exclude all", "--reapply-exclude", "All",
    )  # fmt: skip
    await asyncio.sleep(1)
    again = r.client.get_workflow_handle(h.id)
    await again.signal(Resettable5.s, "done")
    await _run(r, "reset-exclude-all", again)
    await r.dump("reset-exclude-all.base", h.id, history.run_id)
    await r.dump("reset-exclude-all", h.id)


async def post_reset(r: Recorder) -> None:
    """reset-post-options.*: a reset (raw ResetWorkflowExecution) with a post-reset
    operation, an options update (a priority) the server applies to the new run
    (`performPostResetOperations` in service/history/ndc/workflow_resetter.go; the server
    refuses a signal operation as unsupported)."""
    h = await _start(r, Resettable5.run, id=f"hh5-reset-post-options-{uuid.uuid4().hex[:6]}")
    await asyncio.sleep(1)
    await h.signal(Resettable5.s, "a")
    await asyncio.sleep(1)
    history = await h.fetch_history()
    completed = [e.event_id for e in history.events if e.event_type == 7]  # WFT completed
    options = PostResetOperation.UpdateWorkflowOptions(
        workflow_execution_options=WorkflowExecutionOptions(priority=Priority(priority_key=3)),
        update_mask=FieldMask(paths=["priority"]),
    )
    await r.client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace="default",
            workflow_execution=WorkflowExecution(workflow_id=h.id, run_id=history.run_id),
            reason="hh5 post-reset operations", workflow_task_finish_event_id=completed[0],
            request_id=str(uuid.uuid4()), identity="hh5-raw",
            post_reset_operations=[PostResetOperation(update_workflow_options=options)],
        )
    )  # fmt: skip
    await asyncio.sleep(1)
    again = r.client.get_workflow_handle(h.id)
    await again.signal(Resettable5.s, "done")
    await _run(r, "reset-post-options", again)
    await r.dump("reset-post-options.base", h.id, history.run_id)
    await r.dump("reset-post-options", h.id)


async def callbacks(r: Recorder) -> None:
    """called-back, called-back-fails: starts with completion callbacks to a loopback
    address nobody listens on (their delivery fails; the history does not show it)."""
    for name, fail in (("called-back", False), ("called-back-fails", True)):
        workflow_id = f"hh5-{name}"
        callback = Callback(
            nexus=Callback.Nexus(url="http://127.0.0.1:9/hh5-callback", header={"X-Hh5": "one"})
        )
        payloads = default_converter().payload_converter.to_payloads([fail])
        await r.client.workflow_service.start_workflow_execution(
            StartWorkflowExecutionRequest(
                namespace="default", workflow_id=workflow_id,
                workflow_type=WorkflowType(name="CalledBack"), task_queue=TaskQueue(name=HUNT5),
                input=Payloads(payloads=payloads), identity="hh5-raw",
                request_id=str(uuid.uuid4()), completion_callbacks=[callback],
            )
        )  # fmt: skip
        await _run(r, name, r.client.get_workflow_handle(workflow_id))
        await r.dump(name, workflow_id)


async def _sys_ids(r: Recorder, division: str) -> list[str]:
    """The workflow ids of the server's own workflows of one namespace division."""
    listed = r.cli(
        "workflow", "list", "-o", "json", "--query", f"TemporalNamespaceDivision = '{division}'"
    )
    return sorted({w["execution"]["workflowId"] for w in json.loads(listed or "[]")})


async def _dump_all(r: Recorder, name: str, workflow_id: str) -> None:
    for i, run_id in enumerate(await _chain(r, workflow_id)):
        await r.dump(f"{name}.run{i + 1}", workflow_id, run_id)


async def schedules(r: Recorder) -> None:
    """scheduler.*: the server's scheduler workflow (Go SDK code run by the server) of a
    schedule that starts runs every 2 s, is triggered, paused, unpaused, updated, made to
    continue as new and deleted; and of one whose runs overlap, backfilled."""
    spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=_s(2))])
    action = ScheduleActionStartWorkflow("CalledBack", False, id="hh5-sched-wf", task_queue=HUNT5)
    handle = await r.client.create_schedule("hh5-sched", Schedule(action=action, spec=spec))
    await asyncio.sleep(5)
    await handle.trigger()
    await asyncio.sleep(1)
    await handle.pause(note="hh5 paused")
    await asyncio.sleep(1)
    await handle.unpause(note="hh5 unpaused")

    def slower(update: ScheduleUpdateInput) -> ScheduleUpdate:
        schedule = update.description.schedule
        schedule.spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=_s(3))])
        return ScheduleUpdate(schedule=schedule)

    await handle.update(slower)
    await asyncio.sleep(4)
    # the scheduler continues as new on this signal (SignalNameForceCAN, workflow.go)
    sched = r.client.get_workflow_handle("temporal-sys-scheduler:hh5-sched")
    await sched.signal("force-continue-as-new")
    await asyncio.sleep(4)
    await handle.delete()
    # runs that outlive the interval (BUFFER_ONE), a backfill of the last 8 s (ALLOW_ALL),
    # a cron-style calendar spec with jitter, and a limited number of actions
    slow = ScheduleActionStartWorkflow("H5Target", 3, id="hh5-overlap-wf", task_queue=HUNT5)
    overlap = Schedule(
        action=slow,
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=_s(1))],
            calendars=[ScheduleCalendarSpec(second=[ScheduleRange(0, 59, 5)])],
            jitter=_s(0.5),
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.BUFFER_ONE),
        state=ScheduleState(limited_actions=True, remaining_actions=4),
    )
    second = await r.client.create_schedule("hh5-overlap", overlap)
    now = datetime.now(UTC)
    await second.backfill(
        ScheduleBackfill(now - _s(8), now - _s(2), overlap=ScheduleOverlapPolicy.ALLOW_ALL)
    )
    await asyncio.sleep(14)
    await second.delete()
    await asyncio.sleep(2)
    for i, workflow_id in enumerate(await _sys_ids(r, "TemporalScheduler")):
        await _dump_all(r, f"scheduler{i}", workflow_id)


async def batches(r: Recorder) -> None:
    """batch-*: the batcher's workflows (the server's Go SDK code) of a batch signal, a
    batch reset and a batch terminate of three runs, and one of those runs."""
    for i in range(3):
        await _start(r, H5Target.run, 60, id=f"hh5-batch-{i}")
    query = "WorkflowId STARTS_WITH 'hh5-batch-'"
    for _ in range(30):
        listed = r.cli("workflow", "list", "-o", "json", "--query", query)
        if len(json.loads(listed or "[]")) >= 3:
            break
        await asyncio.sleep(0.5)
    r.cli("workflow", "signal", "--query", query, "--name", "stop", "--input", '"batch"',
          "--yes", "--reason", "hh5 batch signal")  # fmt: skip
    await asyncio.sleep(3)
    r.cli("workflow", "reset", "--query", query, "--type", "FirstWorkflowTask",
          "--yes", "--reason", "hh5 batch reset")  # fmt: skip
    await asyncio.sleep(3)
    r.cli("workflow", "cancel", "--query", "WorkflowId = 'hh5-batch-2'", "--yes",
          "--reason", "hh5 batch cancel")  # fmt: skip
    await asyncio.sleep(2)
    r.cli("workflow", "terminate", "--query", query, "--yes", "--reason", "hh5 batch terminate")
    await asyncio.sleep(4)
    for i, workflow_id in enumerate(await _sys_ids(r, "TemporalBatcher")):
        await _dump_all(r, f"batch-job{i}", workflow_id)
    await _dump_runs(r, "batch-target", "hh5-batch-0")
    await _dump_runs(r, "batch-cancelled", "hh5-batch-2")


async def _dump_runs(r: Recorder, name: str, workflow_id: str) -> None:
    """Every run of `workflow_id`, oldest first (a reset's base and the reset run)."""
    listed = r.cli("workflow", "list", "-o", "json", "--query", f"WorkflowId = '{workflow_id}'")
    runs = sorted(json.loads(listed or "[]"), key=lambda w: w["startTime"])
    for i, run in enumerate(runs):
        await r.dump(f"{name}.run{i + 1}", workflow_id, run["execution"]["runId"])


async def deployments(r: Recorder) -> None:
    """deployment-*: the server's Worker Deployment workflows (Go SDK code run by the
    server) of a deployment whose build b1 is made current, b2 ramping at 30 %, then
    current, and b1 deleted once drained of pollers."""
    config = _deployment("hh5dep", "b1")
    async with Worker(
        r.client, task_queue="hh5-dep", workflows=HUNT5_WORKFLOWS,
        activities=HUNT5_ACTIVITIES, deployment_config=config,
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):  # fmt: skip
        await r.set_current("hh5dep", "b1")
        async with Worker(
            r.client, task_queue="hh5-dep", workflows=HUNT5_WORKFLOWS,
            activities=HUNT5_ACTIVITIES, deployment_config=_deployment("hh5dep", "b2"),
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):  # fmt: skip
            await asyncio.sleep(2)
            r.cli(
                "worker", "deployment", "set-ramping-version", "--yes",
                "--deployment-name", "hh5dep", "--build-id", "b2", "--percentage", "30",
            )  # fmt: skip
            await asyncio.sleep(1)
            await r.set_current("hh5dep", "b2")
            await asyncio.sleep(3)
    await asyncio.sleep(2)
    with contextlib.suppress(Exception):  # refused while b1 has pollers or is draining
        r.cli("worker", "deployment", "delete-version", "--deployment-name", "hh5dep",
              "--build-id", "b1", "--skip-drainage")  # fmt: skip
    await asyncio.sleep(2)
    for i, workflow_id in enumerate(await _sys_ids(r, "TemporalWorkerDeployment")):
        await _dump_all(r, f"deployment{i}", workflow_id)


async def namespaces(r: Recorder) -> None:
    """system-*: the server's workflows in the temporal-system namespace (the Go SDK's
    client starts them) after `temporal operator namespace delete` of a namespace with a
    running workflow: delete-namespace, its child reclaim-resources and that one's child
    delete-executions; and the task queue scanner's cron run, read while it waits."""
    address = ["--address", r.address]
    r.cli("operator", "namespace", "create", "-n", "hh5-ns", "--retention", "24h")
    await asyncio.sleep(2)
    ns = await Client.connect(r.address, namespace="hh5-ns")
    await ns.start_workflow("H5Target", 30, id="hh5-in-ns", task_queue=HUNT5)
    done = subprocess.run(
        [r.temporal, "operator", "namespace", "delete", "-n", "hh5-ns", "--yes", *address],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    print(f"  namespace delete: {done.stdout.strip()[-60:]}", flush=True)
    await asyncio.sleep(8)
    system = await Client.connect(r.address, namespace="temporal-system")
    listed = r.cli("workflow", "list", "-o", "json", "--namespace", "temporal-system")
    seen: set[str] = set()
    for w in json.loads(listed or "[]"):  # newest first: the latest of each kind
        workflow_id = w["execution"]["workflowId"]
        name = "system-" + workflow_id.split("/")[0].removeprefix("temporal-sys-")
        if name in seen:
            continue
        seen.add(name)
        history = await system.get_workflow_handle(workflow_id).fetch_history()
        (r.out / f"{name}.sdk.json").write_text(history.to_json())
        print(f"  {name}: {len(history.events)} events", flush=True)


async def nexus_ops(r: Recorder) -> None:
    """nexus-unstarted-<type>: an operation whose handler keeps failing with a retryable
    error, cancelled before it starts, with each cancellation type; nexus-many: ten
    operations scheduled in one task (and the handler runs of two)."""
    _endpoint(r)
    tag = uuid.uuid4().hex[:6]
    async with Worker(
        r.client, task_queue=NX, workflows=[H5NxCaller, NxTarget],
        nexus_service_handlers=[NxHandler()],
    ):  # fmt: skip
        await asyncio.sleep(1)
        for shape in ("unstarted-try", "unstarted-wait-completed", "unstarted-wait-requested",
                      "unstarted-abandon", "many"):  # fmt: skip
            wid = f"hh5-nx-{shape}-{tag}"
            h = await r.client.start_workflow(H5NxCaller.run, shape, id=wid, task_queue=NX)
            if shape.startswith("unstarted-wait"):  # waits until the operation starts
                await asyncio.sleep(4)
                await r.dump(f"nexus-{shape}", wid)
                await h.terminate("recorded")
                continue
            await _run(r, f"nexus-{shape}", h)
            await asyncio.sleep(2)
            await r.dump(f"nexus-{shape}", wid)
        for i in range(2):
            await r.dump(f"nexus-many.handler{i}", f"hh5-nx-many-{tag}.handler{i}")


async def cli(r: Recorder) -> None:
    """cli-*: runs the temporal CLI started (its Go SDK client names execution and run
    timeouts of 0s): a plain start, a start with every option the CLI has, a
    signal-with-start, an update-with-start; a signal and an update sent by the CLI."""
    tag = uuid.uuid4().hex[:6]
    q = ["--type", "Resettable5", "-t", HUNT5]
    runs = {
        "cli-plain": ["workflow", "start", *q],
        "cli-options": [
            "workflow", "start", *q, "--execution-timeout", "60s", "--run-timeout", "30s",
            "--task-timeout", "5s", "--memo", 'm="v"', "--headers", 'h="x"',
            "--priority-key", "2", "--fairness-key", "fk", "--fairness-weight", "2.5",
            "--static-summary", "a summary", "--static-details", "some details",
            "--start-delay", "1s", "--search-attribute", 'HhKw="k"',
        ],
        "cli-sws": [
            "workflow", "signal-with-start", *q, "--signal-name", "s", "--signal-input", '"x"',
        ],
        "cli-uws": [
            "workflow", "execute-update-with-start", *q, "--update-name", "u",
            "--update-input", '"x"', "--id-conflict-policy", "Fail",
        ],
    }  # fmt: skip
    for name, args in runs.items():
        wid = f"hh5-{name}-{tag}"
        for step in (
            [*args, "-w", wid],
            ["workflow", "signal", "-w", wid, "--name", "s", "-i", '"by the CLI"'],
            ["workflow", "update", "execute", "-w", wid, "--name", "u", "-i", '"y"'],
            ["workflow", "signal", "-w", wid, "--name", "s", "-i", '"done"'],
        ):
            try:
                await asyncio.to_thread(r.cli, *step)
            except subprocess.CalledProcessError as e:
                print(f"  {name}: {step[1]} refused: {e.stderr.strip()[-120:]}", flush=True)
            await asyncio.sleep(1.5 if step[0] != "workflow" or step[1] != "signal" else 0.2)
        await _run(r, name, r.client.get_workflow_handle(wid))
        await r.dump(name, wid)


PARTS = (
    limits,
    resets,
    post_reset,
    callbacks,
    schedules,
    batches,
    deployments,
    namespaces,
    nexus_ops,
    cli,
)


async def hunt5(r: Recorder) -> None:
    """The shapes of unseen_workflows_hunt5.py (HUNT5_PARTS=name,... for a few)."""
    names = os.environ.get("HUNT5_PARTS", "")
    chosen = [p for p in PARTS if (p.__name__ in names.split(",") if names else True)]
    async with Worker(
        r.client, task_queue=HUNT5, workflows=HUNT5_WORKFLOWS, activities=HUNT5_ACTIVITIES,
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):  # fmt: skip
        await asyncio.gather(*(_guarded(r, part) for part in chosen))
