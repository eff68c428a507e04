"""The `hunt` scenario of record_unseen.py: drives unseen_workflows_hunt.py (see its
docstring for the dev server's flags) and dumps every history it makes."""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import TaskQueueKind
from temporalio.api.taskqueue.v1 import StickyExecutionAttributes, TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    RespondWorkflowTaskCompletedRequest,
)
from temporalio.client import WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import RetryPolicy, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.worker import Worker
from unseen_workflows_hunt import (
    HUNT,
    HUNT_ACTIVITIES,
    HUNT_WORKFLOWS,
    ActivityTimeouts,
    CancelSelf,
    ChildCancelTypes,
    ChildTimeouts,
    CronShort,
    EagerOne,
    HeartbeatRetry,
    HuntBadSearchAttribute,
    HuntBigResult,
    KidTwice,
    LocalHunt,
    OpenActivity,
    RaceClose,
    RaceSecond,
    ResetPending,
    RetriedRun,
    SearchAttributesAll,
    SelfSignals,
    UpdateLate,
    UpdatesHunt,
    WaitForever,
)

if TYPE_CHECKING:
    from record_unseen import Recorder


async def _run(r: Recorder, name: str, handle: WorkflowHandle[Any, Any]) -> None:
    try:
        await asyncio.wait_for(r.run(name, handle), 90)
    except Exception as e:
        print(f"{name}: {type(e).__name__} {e}", flush=True)


async def _start(r: Recorder, wf: Any, *args: Any, **options: Any) -> WorkflowHandle[Any, Any]:
    options.setdefault("task_queue", HUNT)
    return await r.client.start_workflow(wf, *args, **options)


async def _runs(r: Recorder, workflow_id: str) -> list[str]:
    """The run ids of a chain, first to last (from the last run's predecessors)."""
    chain: list[str] = []
    run_id: str | None = None
    while True:
        history = await r.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        chain.insert(0, history.run_id)
        previous = history.events[0].workflow_execution_started_event_attributes
        run_id = previous.continued_execution_run_id
        if not run_id:
            return chain


async def races(r: Recorder) -> None:
    for how in ("complete", "fail", "update"):
        name = f"race-{how}"
        h = await _start(r, RaceClose.run, "complete" if how == "update" else how, id=f"hh-{name}")
        await asyncio.sleep(0.8)
        if how == "update":
            with contextlib.suppress(Exception):
                await asyncio.wait_for(h.execute_update(RaceClose.u, "during"), 10)
        else:
            await h.signal(RaceClose.s, "during the last task")
        await _run(r, name, h)
        await r.dump(name, h.id)
    for how in ("activity", "timer"):
        name = f"race-{how}"
        h = await _start(r, RaceClose.run, how, id=f"hh-{name}")
        await _run(r, name, h)
        await r.dump(name, h.id)


async def failures(r: Recorder) -> None:
    h = await _start(r, HuntBadSearchAttribute.run, id="hh-bad-search-attribute")
    await asyncio.sleep(4)
    await h.terminate("recorded")
    await r.dump("bad-search-attribute", h.id)
    for where in ("result", "activity"):
        name = f"big-{where}"
        h = await _start(r, HuntBigResult.run, where, id=f"hh-{name}")
        await asyncio.sleep(4)
        with contextlib.suppress(Exception):
            await h.terminate("recorded")
        await r.dump(name, h.id)


async def timeouts(r: Recorder) -> None:
    h = await _start(r, ActivityTimeouts.run, id="hh-activity-timeouts")
    await _run(r, "activity-timeouts", h)
    await r.dump("activity-timeouts", h.id)
    h = await _start(r, ChildTimeouts.run, id="hh-child-timeouts")
    await _run(r, "child-timeouts", h)
    await r.dump("child-timeouts", h.id)
    for suffix in ("retry", "once"):
        runs = await _runs(r, f"{h.id}-{suffix}")
        for i, run_id in enumerate(runs):
            await r.dump(f"child-timeouts.{suffix}{i + 1}", f"{h.id}-{suffix}", run_id)
    retry = RetryPolicy(maximum_attempts=2, initial_interval=timedelta(milliseconds=300))
    h = await _start(
        r, WaitForever.run, id="hh-run-timeout-retry",
        run_timeout=timedelta(seconds=1), retry_policy=retry,
    )  # fmt: skip
    await _run(r, "run-timeout-retry", h)
    for i, run_id in enumerate(await _runs(r, h.id)):
        await r.dump(f"run-timeout-retry.run{i + 1}", h.id, run_id)
    h = await _start(
        r, WaitForever.run, id="hh-exec-vs-run", execution_timeout=timedelta(seconds=3),
        run_timeout=timedelta(seconds=1), retry_policy=RetryPolicy(initial_interval=timedelta(
            milliseconds=200)),
    )  # fmt: skip
    await _run(r, "exec-vs-run", h)
    runs = await _runs(r, h.id)
    await r.dump("exec-vs-run.first", h.id, runs[0])
    await r.dump("exec-vs-run.last", h.id, runs[-1])
    h = await _start(
        r, CronShort.run, id="hh-cron-exec-timeout", cron_schedule="@every 2s",
        execution_timeout=timedelta(seconds=5),
    )  # fmt: skip
    await asyncio.sleep(7)
    runs = await _runs(r, h.id)
    await r.dump("cron-exec-timeout.first", h.id, runs[0])
    await r.dump("cron-exec-timeout.last", h.id, runs[-1])


async def raw(r: Recorder) -> None:
    """wft-timeout: a raw poller takes the first task and never answers;
    sticky-timeout: a raw poller answers with a sticky queue nobody polls."""
    service = r.client.workflow_service
    for name, queue in (("wft-timeout", "hh-raw1"), ("sticky-timeout", "hh-raw2")):
        h = await r.client.start_workflow(
            WaitForever.run, id=f"hh-{name}", task_queue=queue, task_timeout=timedelta(seconds=1)
        )
        poll = PollWorkflowTaskQueueRequest(
            namespace="default", task_queue=TaskQueue(name=queue), identity="raw-poller"
        )
        task = await service.poll_workflow_task_queue(poll)
        if name == "sticky-timeout":
            sticky = StickyExecutionAttributes(
                worker_task_queue=TaskQueue(
                    name=queue + "-sticky", kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY,
                    normal_name=queue,
                ),
                schedule_to_start_timeout=Duration(seconds=1),
            )  # fmt: skip
            await service.respond_workflow_task_completed(
                RespondWorkflowTaskCompletedRequest(
                    namespace="default",
                    task_token=task.task_token,
                    identity="raw-poller",
                    sticky_attributes=sticky,
                )
            )
            await h.signal(WaitForever.s, "to the sticky queue")
        await asyncio.sleep(2.5)
        async with Worker(r.client, task_queue=queue, workflows=HUNT_WORKFLOWS,
                          activities=HUNT_ACTIVITIES):  # fmt: skip
            await asyncio.sleep(1)
            await h.signal(WaitForever.s, "stop")
            await _run(r, name, h)
        await r.dump(name, h.id)


async def children(r: Recorder) -> None:
    h = await _start(r, ChildCancelTypes.run, id="hh-child-cancel-types")
    await _run(r, "child-cancel-types", h)
    await asyncio.sleep(2)
    await r.dump("child-cancel-types", h.id)
    for i in (0, 1):
        await r.dump(f"child-cancel-types.child{i}", f"{h.id}-{i}")
    closed = await _start(r, WaitForever.run, id="hh-closed-target")
    await closed.signal(WaitForever.s, "stop")
    await _run(r, "closed-target", closed)
    h = await _start(r, SelfSignals.run, closed.id, id="hh-self-signals")
    await _run(r, "self-signals", h)
    await r.dump("self-signals", h.id)
    h = await _start(r, SearchAttributesAll.run, id="hh-search-attributes")
    await _run(r, "search-attributes", h)
    await r.dump("search-attributes", h.id)
    await r.dump("search-attributes.child", h.id + "-c")


async def updates(r: Recorder) -> None:
    for name, can in (("updates-hunt", 0), ("updates-can", 1)):
        h = await _start(r, UpdatesHunt.run, can, id=f"hh-{name}")
        await asyncio.sleep(0.3)
        calls = [h.execute_update(UpdatesHunt.add, k) for k in (1, 2, -1, 3)]
        for result in await asyncio.gather(*calls, return_exceptions=True):
            print(f"  update: {result!r:.80}", flush=True)
        await h.signal(UpdatesHunt.go)
        await _run(r, name, r.client.get_workflow_handle(h.id))
        runs = await _runs(r, h.id)
        await r.dump(name if not can else f"{name}.run1", h.id, runs[0])
        if can:
            await r.dump(f"{name}.run2", h.id, runs[-1])
    # update-with-start on the closed updates-hunt: a new run
    op = WithStartWorkflowOperation(
        UpdatesHunt.run, 0, id="hh-updates-hunt", task_queue=HUNT,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )  # fmt: skip
    result = await r.client.execute_update_with_start_workflow(
        UpdatesHunt.add, 7, start_workflow_operation=op
    )
    print(f"  update-with-start on the closed run: {result}", flush=True)
    h = await op.workflow_handle()
    await h.signal(UpdatesHunt.go)
    await _run(r, "uws-closed", h)
    await r.dump("uws-closed", h.id, h.result_run_id)


async def locals_(r: Recorder) -> None:
    h = await _start(r, LocalHunt.run, id="hh-local-hunt", task_timeout=timedelta(seconds=2))
    await _run(r, "local-hunt", h)
    await r.dump("local-hunt", h.id)


async def starts(r: Recorder) -> None:
    retry = RetryPolicy(maximum_attempts=2, initial_interval=timedelta(milliseconds=300))
    h = await _start(r, RetriedRun.run, id="hh-retried-run", retry_policy=retry)
    await _run(r, "retried-run", h)
    runs = await _runs(r, h.id)
    await r.dump("retried-run.run1", h.id, runs[0])
    await r.dump("retried-run.run2", h.id, runs[-1])
    # signal-with-start on a completed run, then on a terminated one (FAILED_ONLY)
    h = await _start(r, WaitForever.run, id="hh-sws-closed")
    await h.signal(WaitForever.s, "stop")
    await _run(r, "sws-closed base", h)
    first = h.result_run_id
    h2 = await _start(r, WaitForever.run, id=h.id, start_signal="s", start_signal_args=["x"])
    await h2.terminate("ended to be started again")
    only_failed = WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
    h3 = await _start(
        r, WaitForever.run, id=h.id, start_signal="s", start_signal_args=["stop"],
        id_reuse_policy=only_failed,
    )  # fmt: skip
    await _run(r, "sws-closed", h3)
    await r.dump("sws-closed.run1", h.id, first)
    await r.dump("sws-closed.run2", h.id, h2.result_run_id)
    await r.dump("sws-closed.run3", h.id, h3.result_run_id)
    # queries only (no events), and a history read while an activity runs
    h = await _start(r, WaitForever.run, id="hh-queried")
    for _ in range(3):
        await h.query(WaitForever.state)
    await h.signal(WaitForever.s, "stop")
    await _run(r, "queried", h)
    await r.dump("queried", h.id)
    h = await _start(r, OpenActivity.run, id="hh-open-activity")
    await asyncio.sleep(1.2)
    await r.dump("open-activity.open", h.id)
    await _run(r, "open-activity", h)
    await r.dump("open-activity", h.id)


async def more(r: Recorder) -> None:
    """race-second-*, child-id-busy, cancel-self, heartbeat-retry, eager-start."""
    for how in ("fail", "can", "complete-cancel"):
        name = f"race-second-{how}"
        h = await _start(r, RaceSecond.run, how, id=f"hh-{name}")
        if how == "complete-cancel":
            await asyncio.sleep(0.9)
            await h.cancel()  # during the second task's local activity
        await _run(r, name, h)
        runs = await _runs(r, h.id)
        await r.dump(name if len(runs) == 1 else f"{name}.run1", h.id, runs[0])
        if len(runs) > 1:
            await r.dump(f"{name}.run2", h.id, runs[-1])
    busy = await _start(r, WaitForever.run, id="hh-busy-kid")
    h = await _start(r, KidTwice.run, busy.id, id="hh-child-id-busy")
    await _run(r, "child-id-busy", h)
    await r.dump("child-id-busy", h.id)
    await busy.signal(WaitForever.s, "stop")
    await _run(r, "busy-kid", busy)
    h = await _start(r, CancelSelf.run, busy.id, id="hh-cancel-self")
    await _run(r, "cancel-self", h)
    await r.dump("cancel-self", h.id)
    h = await _start(r, HeartbeatRetry.run, id="hh-heartbeat-retry")
    await _run(r, "heartbeat-retry", h)
    await r.dump("heartbeat-retry", h.id)
    h = await _start(r, EagerOne.run, id="hh-eager-start", request_eager_start=True)
    await _run(r, "eager-start", h)
    await r.dump("eager-start", h.id)


async def late(r: Recorder) -> None:
    """update-during-can.*, update-open, reset-pending.*."""
    h = await _start(r, UpdateLate.run, "can", id="hh-update-during-can")
    await asyncio.sleep(0.8)
    try:  # sent while the task that continues as new runs: it lands on the next run
        print(f"  the update: {await asyncio.wait_for(h.execute_update(UpdateLate.u, 'x'), 20)}")
    except Exception as e:
        print(f"  the update: {type(e).__name__} {e}", flush=True)
    runs = await _runs(r, h.id)
    nxt = r.client.get_workflow_handle(h.id)
    await nxt.signal(UpdateLate.s, "stop")
    await _run(r, "update-during-can", nxt)
    runs = await _runs(r, h.id)
    await r.dump("update-during-can.run1", h.id, runs[0])
    await r.dump("update-during-can.run2", h.id, runs[-1])
    h = await _start(r, UpdateLate.run, "wait", id="hh-update-open")
    await asyncio.sleep(0.5)
    pending = asyncio.ensure_future(h.execute_update(UpdateLate.u, "slow"))
    await asyncio.sleep(1.0)  # the update's task runs its local activity
    await r.dump("update-open.during", h.id)
    await pending
    await h.signal(UpdateLate.s, "stop")
    await _run(r, "update-open", h)
    await r.dump("update-open", h.id)
    h = await _start(r, ResetPending.run, id="hh-reset-pending")
    await asyncio.sleep(1.5)
    base = (await h.fetch_history()).run_id
    r.cli(
        "workflow", "reset", "-w", h.id, "-r", base, "--type", "FirstWorkflowTask",
        "--reason", "hh reset with pending work",
    )  # fmt: skip
    await asyncio.sleep(1)
    again = r.client.get_workflow_handle(h.id)
    await again.signal(ResetPending.s, "stop")
    await _run(r, "reset-pending", again)
    await r.dump("reset-pending.base", h.id, base)
    await r.dump("reset-pending", h.id)


PARTS = (races, failures, timeouts, raw, children, updates, locals_, starts, more, late)


async def hunt(r: Recorder) -> None:
    """The shapes of unseen_workflows_hunt.py (set HUNT_PARTS=name,... for a few)."""
    names = os.environ.get("HUNT_PARTS", "")
    chosen = [p for p in PARTS if not names or p.__name__ in names.split(",")]
    async with Worker(
        r.client, task_queue=HUNT, workflows=HUNT_WORKFLOWS, activities=HUNT_ACTIVITIES
    ):
        for part in chosen:
            try:
                await part(r)
            except Exception as e:
                print(f"{part.__name__}: {type(e).__name__} {e}", flush=True)
