#!/usr/bin/env python3
"""Record the histories of tests/fixtures/unseen-histories from a Temporal dev server.

Dev tool. Each scenario below runs workflows of unseen_workflows.py and
unseen_workflows_more.py (Python SDK) and writes every history it makes in four forms:
`NAME.sdk.json` (the SDK's `fetch_history().to_json()`, the form the fixtures keep),
`NAME.cli.json` (`temporal workflow show --output json`), `NAME.http.json` (the server
HTTP API's answer, shorthand payloads) and `NAME.httpraw.json` (the same with
`?noPayloadShorthand=true`). The TypeScript histories (`ts-*`) were recorded by
`scripts/unseen_ts/` (see its README), the `old*-sdk` ones by `scripts/unseen_old_sdk.py`
with temporalio 1.7.0 and 1.1.0; the scenarios `ts` and `old` save them. The `hunt`
scenario (unseen_hunt_scenario.py) needs the server flags unseen_workflows_hunt.py names;
`hunt2` (unseen_hunt2_scenario.py) those of unseen_workflows_hunt2.py, `hunt3`
(unseen_hunt3_scenario.py) those of unseen_workflows_hunt3.py, `hunt4`
(unseen_hunt4_scenario.py) those of unseen_workflows_hunt4.py, `hunt5`
(unseen_hunt5_scenario.py) those of unseen_workflows_hunt5.py, `hunt6`
(unseen_hunt6_scenario.py) those of unseen_workflows_hunt6.py; `ts-hunt2` saves what
scripts/unseen_ts/hunt2.js ran; `nexus` (unseen_nexus.py) records Nexus operations and
UpdateWorkflowExecutionOptions; `hidden-retry` (unseen_hidden_retry.py) an activity retried
without a trace before it timed out waiting to start; `la-force-close`
(unseen_la_force_close.py) runs closed by a timeout or a terminate while a local activity
keeps their workflow task going; `complete-by-id` (unseen_complete_by_id.py) activities
completed by id while no attempt of theirs runs; `eager` and `eager-off`
(unseen_eager.py) activities the SDK asks to run eagerly, `eager-off` on a server
started with `--dynamic-config-value system.enableActivityEagerExecution=false`.
Start the dev server first, with its HTTP API:

    temporal server start-dev --ip 127.0.0.1 --headless --port 17233 --http-port 17234

Usage::

    python scripts/record_unseen.py [--address HOST:PORT] [--http HOST:PORT]
                                    [--out DIR] [SCENARIO ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import tempfile
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion, WorkflowIDConflictPolicy
from temporalio.worker import Worker, WorkerDeploymentConfig
from unseen_activities import ACTIVITIES
from unseen_complete_by_id import complete_by_id
from unseen_eager import eager, eager_off
from unseen_hidden_retry import hidden_retry
from unseen_hunt2_scenario import hunt2, ts_hunt2
from unseen_hunt3_scenario import hunt3
from unseen_hunt4_scenario import hunt4
from unseen_hunt5_scenario import hunt5
from unseen_hunt6_scenario import hunt6
from unseen_hunt_scenario import hunt
from unseen_la_force_close import la_force_close
from unseen_nexus import nexus_scenario
from unseen_workflows import (
    CanNewQueueWorkflow,
    FailureChainWorkflow,
    LargePayloadWorkflow,
    LingeringChild,
    ManyEventsWorkflow,
    MissingExternalWorkflow,
    NdeV1,
    NdeV2,
    ParentClosePolicyWorkflow,
    TimersSideWorkflow,
    UnhandledCommandWorkflow,
)
from unseen_workflows_more import (
    CancelDuringTask,
    CancelIgnored,
    CanWithSignals,
    ChildCancelEarly,
    ChildRetryStates,
    Delayed,
    ExecTimeoutPending,
    HeaderInterceptor,
    HeadersEverywhere,
    KidThat,
    OperatedActivities,
    ResetMe,
    Resettable,
    ReuseAfterCancel,
    SignalMe,
    StuckTask,
    VAuto,
    VChild,
    Versioned,
    VParent,
    Waiter,
)

from adapters.dev_server import temporal_binary

WORKFLOWS = [
    MissingExternalWorkflow,
    LingeringChild,
    ParentClosePolicyWorkflow,
    FailureChainWorkflow,
    UnhandledCommandWorkflow,
    CanNewQueueWorkflow,
    LargePayloadWorkflow,
    ManyEventsWorkflow,
    TimersSideWorkflow,
    SignalMe,
    HeadersEverywhere,
    Waiter,
    CancelDuringTask,
    CanWithSignals,
    ChildCancelEarly,
    ExecTimeoutPending,
    ResetMe,
    Resettable,
    ReuseAfterCancel,
    CancelIgnored,
    Delayed,
    OperatedActivities,
    ChildRetryStates,
    KidThat,
    StuckTask,
]
QUEUE = "hh-q"


class Recorder:
    def __init__(self, client: Client, address: str, http: str, out: Path) -> None:
        self.client, self.address, self.http, self.out = client, address, http, out
        self.temporal = temporal_binary() or "temporal"

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [self.temporal, *args, "--address", self.address],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def _http(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://{self.http}{path}", timeout=60) as answer:
            return json.loads(answer.read())

    async def dump(self, name: str, workflow_id: str, run_id: str | None = None) -> None:
        history = await self.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        run_id = run_id or history.run_id
        (self.out / f"{name}.sdk.json").write_text(history.to_json())
        shown = self.cli("workflow", "show", "-w", workflow_id, "-r", run_id, "-o", "json")
        (self.out / f"{name}.cli.json").write_text(shown)
        query = (
            f"/api/v1/namespaces/default/workflows/{workflow_id}/history?execution.runId={run_id}"
        )
        for suffix, extra in (("http", ""), ("httpraw", "&noPayloadShorthand=true")):
            if not self.http:  # `--http ''`: a server without the HTTP API (tmodel serve)
                break
            answer = self._http(query + extra)
            (self.out / f"{name}.{suffix}.json").write_text(json.dumps(answer, indent=2))
        print(f"  {name}: {len(history.events)} events", flush=True)

    async def run(self, name: str, handle: WorkflowHandle[Any, Any]) -> None:
        try:
            print(f"{name}: {await handle.result()!r:.200}", flush=True)
        except WorkflowFailureError as e:
            print(f"{name}: failed {e.cause!r:.200}", flush=True)

    async def start(self, workflow: Any, *args: Any, **options: Any) -> WorkflowHandle[Any, Any]:
        options.setdefault("task_queue", QUEUE)
        return await self.client.start_workflow(workflow, *args, **options)

    async def set_current(self, deployment: str, build: str) -> None:
        for _ in range(30):  # the deployment exists once its first poller is seen
            try:
                self.cli(
                    "worker", "deployment", "set-current-version", "--yes",
                    "--deployment-name", deployment, "--build-id", build,
                )  # fmt: skip
                return
            except subprocess.CalledProcessError:
                await asyncio.sleep(1)
        raise RuntimeError(f"could not make {deployment}.{build} current")


async def simple(r: Recorder) -> None:
    """missing-external, pcp-*, failure-chain, timers-memo."""
    h = await r.start(MissingExternalWorkflow.run, id="hh-missing-external")
    await r.run("missing-external", h)
    await r.dump("missing-external", h.id)
    for policy in ("REQUEST_CANCEL", "TERMINATE"):
        name = "pcp-" + policy.lower().replace("_", "-")
        h = await r.start(ParentClosePolicyWorkflow.run, policy, id=f"hh-{name}")
        await r.run(name, h)
        await asyncio.sleep(3)
        await r.dump(name, h.id)
        await r.dump(name + ".child", h.id + "-child")
    h = await r.start(FailureChainWorkflow.run, id="hh-failure-chain")
    await r.run("failure-chain", h)
    await r.dump("failure-chain", h.id)
    h = await r.start(TimersSideWorkflow.run, id="hh-timers-memo")
    await r.run("timers-memo", h)
    await r.dump("timers-memo", h.id)


async def tasks(r: Recorder) -> None:
    """unhandled-command, can-new-queue, cancel-during-task, can-with-signals,
    reuse-after-cancel."""
    h = await r.start(UnhandledCommandWorkflow.run, id="hh-unhandled-command")
    await h.signal(UnhandledCommandWorkflow.sig, "first")
    await asyncio.sleep(0.8)  # the last task's local activity runs
    await h.signal(UnhandledCommandWorkflow.sig, "during the local activity")
    await r.run("unhandled-command", h)
    await r.dump("unhandled-command", h.id)
    h = await r.start(CanNewQueueWorkflow.run, 0, id="hh-can-new-queue")
    first = (await h.fetch_history()).run_id
    await r.run("can-new-queue", r.client.get_workflow_handle(h.id))
    await r.dump("can-new-queue.run1", h.id, first)
    await r.dump("can-new-queue.run2", h.id)
    h = await r.start(CancelDuringTask.run, id="hh-cancel-during-task")
    await asyncio.sleep(0.7)
    await h.cancel()
    await r.run("cancel-during-task", h)
    await r.dump("cancel-during-task", h.id)
    h = await r.start(CanWithSignals.run, 0, id="hh-can-with-signals")
    first = (await h.fetch_history()).run_id
    await h.signal(CanWithSignals.s, "one")
    await asyncio.sleep(0.7)
    await h.signal(CanWithSignals.s, "during the local activity")
    await asyncio.sleep(3)
    await h.signal(CanWithSignals.s, "to run 2")
    await r.run("can-with-signals", r.client.get_workflow_handle(h.id))
    await r.dump("can-with-signals.run1", h.id, first)
    await r.dump("can-with-signals.run2", h.id)
    h = await r.start(ReuseAfterCancel.run, id="hh-reuse-after-cancel")
    await r.run("reuse-after-cancel", h)
    await r.dump("reuse-after-cancel", h.id)


async def clients(r: Recorder) -> None:
    """terminate-existing, updates-mixed, child-cancel-early, exec-timeout-pending,
    delayed-cancel, delayed-sws, cancel-ignored."""
    h1 = await r.start(Waiter.run, id="hh-terminate-existing")
    await asyncio.sleep(0.5)
    terminate = WorkflowIDConflictPolicy.TERMINATE_EXISTING
    h2 = await r.start(Waiter.run, id=h1.id, id_conflict_policy=terminate)
    await h2.signal(Waiter.release)
    await r.run("terminate-existing", h2)
    await r.dump("terminate-existing.run1", h1.id, h1.result_run_id)
    await r.dump("terminate-existing.run2", h2.id, h2.result_run_id)
    h = await r.start(Waiter.run, id="hh-updates-mixed")
    await h.execute_update(Waiter.bump, 2)
    with contextlib.suppress(WorkflowUpdateFailedError):  # the validator rejects it
        await h.execute_update(Waiter.bump, -1)
    use_existing = WorkflowIDConflictPolicy.USE_EXISTING
    op = WithStartWorkflowOperation(
        Waiter.run, id=h.id, task_queue=QUEUE, id_conflict_policy=use_existing
    )
    await r.client.execute_update_with_start_workflow(Waiter.bump, 5, start_workflow_operation=op)
    await h.signal(Waiter.release)
    try:
        await h.execute_update(Waiter.bump, 1)  # aborted: the run closes
    except Exception as e:
        print(f"  the late update: {type(e).__name__}", flush=True)
    await r.run("updates-mixed", h)
    await r.dump("updates-mixed", h.id)
    h = await r.start(ChildCancelEarly.run, id="hh-child-cancel-early")
    await r.run("child-cancel-early", h)
    await asyncio.sleep(1)
    await r.dump("child-cancel-early", h.id)
    await r.dump("child-cancel-early.child", h.id + "-c")
    three = timedelta(seconds=3)
    h = await r.start(ExecTimeoutPending.run, id="hh-exec-timeout-pending", execution_timeout=three)
    await r.run("exec-timeout-pending", h)
    await r.dump("exec-timeout-pending", h.id)
    await r.client.get_workflow_handle(h.id + "-c").terminate("cleanup")
    h = await r.start(Delayed.run, id="hh-delayed-cancel", start_delay=timedelta(seconds=5))
    await asyncio.sleep(0.5)
    await h.signal(Delayed.s)
    await h.cancel()  # ends the delay: the run closes canceled at once
    await asyncio.sleep(0.5)
    await r.dump("delayed-cancel", h.id)
    h = await r.start(
        Delayed.run, id="hh-delayed-sws", start_delay=timedelta(seconds=2), start_signal="s"
    )
    await h.signal(Delayed.s)
    await r.run("delayed-sws", h)
    await r.dump("delayed-sws", h.id)
    h = await r.start(CancelIgnored.run, id="hh-cancel-ignored")
    await r.run("cancel-ignored", h)
    await r.dump("cancel-ignored", h.id)


async def headers(r: Recorder) -> None:
    """headers.*: a worker whose interceptor writes a header on every command."""
    worker = Worker(
        r.client,
        task_queue="hh-headers",
        workflows=[HeadersEverywhere, SignalMe],
        activities=ACTIVITIES,
        interceptors=[HeaderInterceptor()],
    )
    async with worker:
        h = await r.start(HeadersEverywhere.run, 0, id="hh-headers", task_queue="hh-headers")
        first = (await h.fetch_history()).run_id
        await r.run("headers", r.client.get_workflow_handle(h.id))
        await r.dump("headers.run1", h.id, first)
        await r.dump("headers.run2", h.id)
        await r.dump("headers.child", h.id + "-c")


async def resets(r: Recorder) -> None:
    """reset-first-noreapply.*, reset-mid-noupdate.*, reset-mid-all.*."""
    h = await r.start(ResetMe.run, id="hh-reset-last")
    await h.signal(ResetMe.s, "a")
    await asyncio.sleep(1)
    await h.signal(ResetMe.s, "b")
    await r.run("reset base", h)
    base = h.result_run_id or ""
    r.cli(
        "workflow", "reset", "-w", h.id, "-r", base, "--type", "FirstWorkflowTask",
        "--reason", "hh test", "--reapply-exclude", "Signal",
    )  # fmt: skip
    await asyncio.sleep(1)
    again = r.client.get_workflow_handle(h.id)
    await again.signal(ResetMe.s, "c")
    await again.signal(ResetMe.s, "d")
    await r.run("reset-first-noreapply", again)
    await r.dump("reset-first-noreapply.base", h.id, base)
    await r.dump("reset-first-noreapply", h.id)
    for name, extra in (
        ("reset-mid-noupdate", ["--reapply-exclude", "Update"]),
        ("reset-mid-all", []),
    ):
        h = await r.start(Resettable.run, id=f"hh-{name}")
        await asyncio.sleep(1)
        await h.signal(Resettable.s, "a")
        await h.execute_update(Resettable.u, "x")
        await h.signal(Resettable.s, "b")
        await asyncio.sleep(1)
        history = await h.fetch_history()
        completed = [e.event_id for e in history.events if e.event_type == 7]  # WFT completed
        r.cli(
            "workflow", "reset", "-w", h.id, "-r", history.run_id,
            "--event-id", str(completed[2]), "--reason", name, *extra,
        )  # fmt: skip
        await asyncio.sleep(1)
        again = r.client.get_workflow_handle(h.id)
        await again.execute_update(Resettable.u, "y")
        await again.signal(Resettable.s, "c")
        await again.signal(Resettable.s, "done")
        await r.run(name, again)
        await r.dump(f"{name}.base", h.id, history.run_id)
        await r.dump(name, h.id)
        await r.client.get_workflow_handle(h.id + "-c").terminate("cleanup")


def _deployment(
    name: str, build: str, versioned: bool = True, default: VersioningBehavior | None = None
) -> WorkerDeploymentConfig:
    behavior = default or (
        VersioningBehavior.PINNED if versioned else VersioningBehavior.UNSPECIFIED
    )
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(name, build),
        use_worker_versioning=versioned,
        default_versioning_behavior=behavior,
    )


async def versions(r: Recorder) -> None:
    """versioned, v-pinned-chain.*, v-unversioned-named, v-auto-upgrade."""
    for name, queue, deployment, wf, child in (
        ("versioned", "hh-ver", "hhdep", Versioned, False),
        ("v-pinned-chain", "hh-v1", "hhdep1", VParent, True),
    ):
        worker = Worker(
            r.client,
            task_queue=queue,
            workflows=[wf, VChild],
            activities=ACTIVITIES,
            deployment_config=_deployment(deployment, "b1"),
        )
        async with worker:
            await r.set_current(deployment, "b1")
            args = [0] if child else []
            h = await r.start(wf.run, *args, id=f"hh-{name}", task_queue=queue)
            first = (await h.fetch_history()).run_id
            await r.run(name, r.client.get_workflow_handle(h.id))
            if not child:
                await r.dump(name, h.id)
                continue
            await r.dump(f"{name}.run1", h.id, first)
            await r.dump(f"{name}.run2", h.id)
            await r.dump(f"{name}.child", h.id + "-c")
    unversioned = _deployment("hhdep2", "b1", versioned=False)
    async with Worker(
        r.client, task_queue="hh-v2", workflows=[VChild], activities=ACTIVITIES,
        deployment_config=unversioned,
    ):  # fmt: skip
        h = await r.start(VChild.run, id="hh-v-unversioned-named", task_queue="hh-v2")
        await r.run("v-unversioned-named", h)
        await r.dump("v-unversioned-named", h.id)
    unspecified = VersioningBehavior.UNSPECIFIED
    first_build = _deployment("hhdep3", "b1", default=unspecified)
    async with Worker(
        r.client, task_queue="hh-v3", workflows=[VAuto], activities=ACTIVITIES,
        deployment_config=first_build,
    ):  # fmt: skip
        await r.set_current("hhdep3", "b1")
        h = await r.start(VAuto.run, id="hh-v-auto-upgrade", task_queue="hh-v3")
        await asyncio.sleep(2)
        second_build = _deployment("hhdep3", "b2", default=unspecified)
        async with Worker(
            r.client, task_queue="hh-v3", workflows=[VAuto], activities=ACTIVITIES,
            deployment_config=second_build,
        ):  # fmt: skip
            await asyncio.sleep(1)
            await r.set_current("hhdep3", "b2")
            await asyncio.sleep(1)
            await h.signal(VAuto.poke)
            await r.run("v-auto-upgrade", h)
        await r.dump("v-auto-upgrade", h.id)


async def nde(r: Recorder) -> None:
    """nde-fixed: a worker with changed code fails a task; the original code finishes."""
    queue = "hh-nde"
    for code, seconds in ((NdeV1, 0.8), (NdeV2, 4.0)):
        async with Worker(
            r.client, task_queue=queue, workflows=[code], activities=ACTIVITIES,
            max_cached_workflows=0,
        ):  # fmt: skip
            if code is NdeV1:
                h = await r.start("NdeWorkflow", id="hh-nde-fixed", task_queue=queue)
            await asyncio.sleep(seconds)
    async with Worker(
        r.client, task_queue=queue, workflows=[NdeV1], activities=ACTIVITIES,
        max_cached_workflows=0,
    ):  # fmt: skip
        await r.run("nde-fixed", h)
    await r.dump("nde-fixed", h.id)


async def operated(r: Recorder) -> None:
    """operated-activities: `temporal activity` on a running workflow's activities."""
    flag = Path(tempfile.mkdtemp()) / "flag"
    h = await r.start(OperatedActivities.run, str(flag), id="hh-operated-activities")
    steps: list[tuple[float, list[str]]] = [
        (2.5, ["update-options", "--activity-id", "flaky", "--retry-initial-interval", "2s",
               "--retry-maximum-attempts", "50"]),
        (1.0, ["pause", "--activity-id", "flaky"]),
        (2.5, ["unpause", "--activity-id", "flaky"]),
        (1.5, ["reset", "--activity-id", "flaky"]),
    ]  # fmt: skip
    for pause, step in steps:
        await asyncio.sleep(pause)
        r.cli("activity", step[0], "-w", h.id, *step[1:])
    await asyncio.sleep(1)
    flag.touch()
    await asyncio.sleep(4)
    r.cli("activity", "complete", "-w", h.id, "--activity-id", "external",
          "--result", '"done by the CLI"')  # fmt: skip
    await asyncio.sleep(1.5)
    r.cli("activity", "fail", "-w", h.id, "--activity-id", "external-fail",
          "--reason", "failed by the CLI", "--detail", '"some detail"')  # fmt: skip
    await r.run("operated-activities", h)
    await r.dump("operated-activities", h.id)


async def sizes(r: Recorder) -> None:
    """large-payload, many-events (recorded, too large to keep as fixtures)."""
    h = await r.start(LargePayloadWorkflow.run, "x" * 900_000, id="hh-large-payload")
    await r.run("large-payload", h)
    await r.dump("large-payload", h.id)
    h = await r.start(ManyEventsWorkflow.run, 36, id="hh-many-events")
    await r.run("many-events", h)
    await r.dump("many-events", h.id)


async def ts(r: Recorder) -> None:
    """ts-*: the histories `node scripts/unseen_ts/worker.js` made."""
    second = await r.client.get_workflow_handle("hh-ts-mixed").fetch_history()
    started = second.events[0].workflow_execution_started_event_attributes
    await r.dump("ts-mixed.run1", "hh-ts-mixed", started.continued_execution_run_id)
    await r.dump("ts-mixed.run2", "hh-ts-mixed", second.run_id)
    for name, workflow_id in (
        ("ts-mixed.child0", "hh-ts-mixed-c0"),
        ("ts-mixed.badchild0", "hh-ts-mixed-bad0"),
        ("ts-fails", "hh-ts-fails"),
        ("ts-cancels", "hh-ts-cancels"),
        ("ts-cancels.child", "hh-ts-cancels-req"),
        ("ts-badcode", "hh-ts-badcode"),
        ("ts-signalled", "hh-ts-signalled"),
    ):
        await r.dump(name, workflow_id)


async def old(r: Recorder) -> None:
    """old-sdk.*, old1-sdk.*: the histories scripts/unseen_old_sdk.py made with
    temporalio 1.7.0 and 1.1.0."""
    for name in ("old", "old1"):
        await r.dump(f"{name}-sdk", f"hh-{name}-sdk")
        await r.dump(f"{name}-sdk.child", f"hh-{name}-sdk-c")


async def tails(r: Recorder) -> None:
    """child-retry-states, stuck-task (read while its third attempt is pending)."""
    h = await r.start(ChildRetryStates.run, id="hh-child-retry-states")
    await r.run("child-retry-states", h)
    await r.dump("child-retry-states", h.id)
    h = await r.start(StuckTask.run, id="hh-stuck-task")
    for _ in range(100):  # until the third attempt has started (a transient task)
        events = (await h.fetch_history()).events
        last = events[-1].workflow_task_scheduled_event_attributes.attempt
        if len(events) > 1 and events[-2].workflow_task_scheduled_event_attributes.attempt >= 3:
            break
        await asyncio.sleep(0.1 if last < 3 else 0.02)
    await r.dump("stuck-task", h.id)
    await h.terminate("recorded")


SCENARIOS: dict[str, Callable[[Recorder], Awaitable[None]]] = {
    "simple": simple,
    "tasks": tasks,
    "tails": tails,
    "clients": clients,
    "headers": headers,
    "resets": resets,
    "versions": versions,
    "nde": nde,
    "operated": operated,
    "sizes": sizes,
    "ts": ts,
    "old": old,
    "hunt": hunt,
    "hunt2": hunt2,
    "ts-hunt2": ts_hunt2,
    "nexus": nexus_scenario,
    "hunt3": hunt3,
    "hunt4": hunt4,
    "hunt5": hunt5,
    "hunt6": hunt6,
    "hidden-retry": hidden_retry,
    "la-force-close": la_force_close,
    "complete-by-id": complete_by_id,
    "eager": eager,
    "eager-off": eager_off,
}


# saved from elsewhere, or recorded from a server started with other flags
NOT_BY_DEFAULT = ("ts", "old", "ts-hunt2", "eager-off")


async def main(args: argparse.Namespace) -> None:
    client = await Client.connect(args.address)
    args.out.mkdir(parents=True, exist_ok=True)
    recorder = Recorder(client, args.address, args.http, args.out)
    async with (
        Worker(client, task_queue=QUEUE, workflows=WORKFLOWS, activities=ACTIVITIES),
        Worker(client, task_queue=QUEUE + "-next", workflows=WORKFLOWS, activities=ACTIVITIES),
    ):
        for name in args.scenarios or [n for n in SCENARIOS if n not in NOT_BY_DEFAULT]:
            await SCENARIOS[name](recorder)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", default="127.0.0.1:17233")
    parser.add_argument(
        "--http", default="127.0.0.1:17234", help="the HTTP API's address ('': do not read it)"
    )
    parser.add_argument("--out", type=Path, default=Path("unseen-out"))
    parser.add_argument("scenarios", nargs="*", choices=[[], *SCENARIOS], metavar="SCENARIO")
    asyncio.run(main(parser.parse_args()))
