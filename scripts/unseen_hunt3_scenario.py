"""The `hunt3` scenario of record_unseen.py: drives unseen_workflows_hunt3.py (see its
docstring for the dev servers' flags) and dumps every history it makes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from google.protobuf.any_pb2 import Any as AnyProto
from temporalio.api.enums.v1 import WorkflowTaskFailedCause
from temporalio.api.failure.v1 import Failure
from temporalio.api.protocol.v1 import Message
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.update.v1 import Rejection
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskFailedRequest,
)
from temporalio.client import WithStartWorkflowOperation, WorkflowHandle, WorkflowUpdateStage
from temporalio.common import Priority, RetryPolicy, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from unseen_workflows_hunt3 import (
    _FAILED,
    HUNT3,
    HUNT3_ACTIVITIES,
    HUNT3_WORKFLOWS,
    Abandoner,
    BeatsElsewhere,
    BreaksLater,
    Breeder,
    Broken,
    Caller,
    Counting,
    CronRun,
    FailsOnce,
    Growing,
    Hopper,
    LocalOut,
    LocalPast,
    Outcome,
    Picky,
    Prioritized,
    Resettable3,
    UpsertThenGo,
)

if TYPE_CHECKING:
    from record_unseen import Recorder


async def _run(r: Recorder, name: str, handle: WorkflowHandle[Any, Any]) -> None:
    try:
        await asyncio.wait_for(r.run(name, handle), 60)
    except Exception as e:
        print(f"{name}: {type(e).__name__} {e}", flush=True)


async def _start(r: Recorder, wf: Any, *args: Any, **options: Any) -> WorkflowHandle[Any, Any]:
    options.setdefault("task_queue", HUNT3)
    return await r.client.start_workflow(wf, *args, **options)


async def _chain(r: Recorder, workflow_id: str, run_id: str | None = None) -> list[str]:
    """The run ids of the chain ending at `run_id` (the latest run without it)."""
    chain: list[str] = []
    # a history's run_id is its first event's original run id: a reset run's names its base
    run_id = run_id or (await r.client.get_workflow_handle(workflow_id).describe()).run_id
    while True:
        history = await r.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        chain.insert(0, run_id)
        run_id = history.events[
            0
        ].workflow_execution_started_event_attributes.continued_execution_run_id
        if not run_id:
            return chain


async def _dump_chain(r: Recorder, name: str, workflow_id: str) -> None:
    for i, run_id in enumerate(await _chain(r, workflow_id)):
        await r.dump(f"{name}.run{i + 1}", workflow_id, run_id)


async def sizes(r: Recorder) -> None:
    """size-can.*, size-and-count: on the server with low history limits."""
    h = await _start(r, Growing.run, True, id="hh3-size-can")
    await _run(r, "size-can", r.client.get_workflow_handle(h.id))
    await _dump_chain(r, "size-can", h.id)
    h = await _start(r, Counting.run, id="hh3-size-and-count")
    await _run(r, "size-and-count", h)
    await r.dump("size-and-count", h.id)


async def reuse(r: Recorder) -> None:
    """reuse-*: starts and update-with-start under ALLOW_DUPLICATE_FAILED_ONLY and
    TERMINATE_IF_RUNNING."""
    failed_only = WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
    wid = "hh3-reuse-failed-only"
    h = await _start(r, Outcome.run, "fail", id=wid)
    await _run(r, "reuse: the failed run", h)
    h2 = await _start(r, Outcome.run, "now", id=wid, id_reuse_policy=failed_only)
    await _run(r, "reuse: after the failure", h2)
    try:
        await _start(r, Outcome.run, "now", id=wid, id_reuse_policy=failed_only)
        print("  failed-only after a completion: started", flush=True)
    except Exception as e:
        print(f"  failed-only after a completion: {type(e).__name__}", flush=True)
    await r.dump("reuse-failed-only.failed", wid, h.result_run_id)
    await r.dump("reuse-failed-only.next", wid, h2.result_run_id)
    # update-with-start under ALLOW_DUPLICATE_FAILED_ONLY on a failed run
    wid = "hh3-uws-failed-only"
    h = await _start(r, Outcome.run, "fail", id=wid)
    await _run(r, "uws failed-only: the failed run", h)
    op = WithStartWorkflowOperation(
        Outcome.run, "wait", id=wid, task_queue=HUNT3, id_reuse_policy=failed_only,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )  # fmt: skip
    got = await r.client.execute_update_with_start_workflow(
        Outcome.poke, 1, start_workflow_operation=op
    )
    print(f"  uws failed-only: {got}", flush=True)
    started = await op.workflow_handle()
    await started.signal(Outcome.release)
    await _run(r, "uws-failed-only", started)
    await r.dump("uws-failed-only", wid, started.result_run_id)
    # TERMINATE_IF_RUNNING: a start terminates the running run; then update-with-start
    # with TERMINATE_EXISTING on the new running run
    wid = "hh3-terminate-if-running"
    h = await _start(r, Outcome.run, "wait", id=wid)
    await asyncio.sleep(0.5)
    h2 = await _start(
        r, Outcome.run, "wait", id=wid, id_reuse_policy=WorkflowIDReusePolicy.TERMINATE_IF_RUNNING
    )
    await asyncio.sleep(0.5)
    op = WithStartWorkflowOperation(
        Outcome.run, "wait", id=wid, task_queue=HUNT3,
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )  # fmt: skip
    got = await r.client.execute_update_with_start_workflow(
        Outcome.poke, 7, start_workflow_operation=op
    )
    h3 = await op.workflow_handle()
    await h3.signal(Outcome.release)
    await _run(r, "terminate-if-running", h3)
    await r.dump("terminate-if-running.first", wid, h.result_run_id)
    await r.dump("terminate-if-running.second", wid, h2.result_run_id)
    await r.dump("terminate-if-running.uws", wid, h3.result_run_id)


async def breeders(r: Recorder) -> None:
    """breeder.*: children of every parent close policy, running when the parent
    continues as new."""
    h = await _start(r, Breeder.run, True, id="hh3-breeder")
    await _run(r, "breeder", r.client.get_workflow_handle(h.id))
    await asyncio.sleep(2)
    await _dump_chain(r, "breeder", h.id)
    for i in range(3):
        await r.dump(f"breeder.k{i}", f"{h.id}-k{i}")
    await r.dump("breeder.k0g0", f"{h.id}-k0-g0")
    for i in range(3):
        for g in range(2):
            with contextlib.suppress(Exception):
                await r.client.get_workflow_handle(f"{h.id}-k{i}-g{g}").terminate("cleanup")


async def callers(r: Recorder) -> None:
    """caller: signals and cancels to a child, to a continued id, to a closing run."""
    other = await _start(r, Hopper.run, True, id="hh3-hopper")
    await asyncio.sleep(1)
    h = await _start(r, Caller.run, other.id, id="hh3-caller")
    await _run(r, "caller", h)
    await _run(r, "hopper", r.client.get_workflow_handle(other.id))
    await asyncio.sleep(0.5)
    await r.dump("caller", h.id)
    await r.dump("caller.kid2", h.id + "-kid2")
    await _dump_chain(r, "hopper", other.id)


async def crons(r: Recorder) -> None:
    """cron-*: cron runs that fail, time out, continue as new, or are signalled."""
    for how, extra in (
        ("fail", {}),
        ("slow", {"run_timeout": timedelta(seconds=1)}),
        ("can", {}),
        ("signalled", {}),
    ):
        wid = f"hh3-cron-{how}"
        h = await _start(r, CronRun.run, how, id=wid, cron_schedule="@every 3s", **extra)
        first = h.first_execution_run_id
        if how == "signalled":
            await asyncio.sleep(1.5)
            await h.signal(CronRun.s, "to the first run")
        for _ in range(100):  # until a third run has started
            desc = await r.client.get_workflow_handle(wid).describe()
            if desc.run_id not in (first,):
                runs = await _chain(r, wid)
                if len(runs) >= 2:
                    break
            await asyncio.sleep(0.3)
        if how == "signalled":
            await r.client.get_workflow_handle(wid).signal(CronRun.s, "between the runs")
        runs = await _chain(r, wid)
        await asyncio.sleep(4)
        runs = await _chain(r, wid)
        with contextlib.suppress(Exception):
            await r.client.get_workflow_handle(wid).terminate("recorded")
        for i, run_id in enumerate(runs[:3]):
            await r.dump(f"cron-{how}.run{i + 1}", wid, run_id)


async def retries(r: Recorder) -> None:
    """retry-nonretryable-type, retry-backoff-delay.*."""
    policy = RetryPolicy(
        initial_interval=timedelta(milliseconds=300), maximum_attempts=4,
        non_retryable_error_types=["Fatal"],
    )  # fmt: skip
    h = await _start(r, Picky.run, "Fatal", id="hh3-retry-fatal", retry_policy=policy)
    await _run(r, "retry-fatal", h)
    await r.dump("retry-fatal", h.id)
    h = await _start(
        r, Picky.run, "Again", id="hh3-retry-delay", retry_policy=policy,
        start_delay=timedelta(seconds=1),
    )  # fmt: skip
    await _run(r, "retry-delay", h)
    await _dump_chain(r, "retry-delay", h.id)


async def locals_(r: Recorder) -> None:
    """local-past: a local activity retried past a 1 s task timeout; locals beside timers."""
    h = await _start(r, LocalPast.run, id="hh3-local-past", task_timeout=timedelta(seconds=1))
    await _run(r, "local-past", h)
    await r.dump("local-past", h.id)
    h = await _start(r, UpsertThenGo.run, True, id="hh3-upsert-can", memo={"gone": "soon"})
    await _run(r, "upsert-can", r.client.get_workflow_handle(h.id))
    await _dump_chain(r, "upsert-can", h.id)


def _completed(history: Any, n: int) -> int:
    ids: list[int] = [e.event_id for e in history.events if e.event_type == 7]
    return ids[n]


async def resets(r: Recorder) -> None:
    """reset3-*: chains of resets, resets before a child, of a closed run with signals
    and updates after the point, of a continued chain's first run, to a failed task, and
    while an activity heartbeats."""
    for exclude in ("None", "Signal", "Update", "All"):
        wid = f"hh3-reset-closed-{exclude.lower()}"
        h = await _start(r, Resettable3.run, 0.0, id=wid)
        await asyncio.sleep(1.2)
        await h.signal(Resettable3.s, "a")
        await h.execute_update(Resettable3.u, "x")
        await h.signal(Resettable3.s, "done")
        await _run(r, wid, h)
        base = await h.fetch_history()
        extra = [] if exclude == "None" else ["--reapply-exclude", exclude]
        r.cli(
            "workflow", "reset", "-w", wid, "-r", base.run_id, "--event-id",
            str(_completed(base, 0)), "--reason", f"closed {exclude}", *extra,
        )  # fmt: skip
        await asyncio.sleep(1.5)
        again = r.client.get_workflow_handle(wid)
        with contextlib.suppress(Exception):
            await again.signal(Resettable3.s, "done")
        await _run(r, f"{wid} reset", again)
        await r.dump(f"reset-closed-{exclude.lower()}.base", wid, base.run_id)
        await r.dump(f"reset-closed-{exclude.lower()}", wid)
        if exclude == "None":  # a chain: reset the reset run to its first task
            first_reset = (await again.fetch_history()).run_id
            r.cli(
                "workflow", "reset", "-w", wid, "-r", first_reset, "--type",
                "FirstWorkflowTask", "--reason", "a reset of a reset",
            )  # fmt: skip
            await asyncio.sleep(1.5)
            third = r.client.get_workflow_handle(wid)
            with contextlib.suppress(Exception):  # the reapplied signal may have ended it
                await third.signal(Resettable3.s, "done")
            await _run(r, "reset-chain", third)
            await r.dump("reset-chain", wid)


async def resets2(r: Recorder) -> None:
    """reset-beating.*, reset-failed-task.*, reset-can-first.*."""
    if os.environ.get("HUNT3_ONLY_CAN_FIRST"):
        return await _reset_can_first(r)
    # reset while an activity heartbeats
    wid = "hh3-reset-beating"
    h = await _start(r, Resettable3.run, 4.0, id=wid)
    await asyncio.sleep(2.0)
    base = await h.fetch_history()
    r.cli(
        "workflow", "reset", "-w", wid, "-r", base.run_id, "--type", "LastWorkflowTask",
        "--reason", "while beating",
    )  # fmt: skip
    await asyncio.sleep(6)
    again = r.client.get_workflow_handle(wid)
    await again.signal(Resettable3.s, "done")
    await _run(r, "reset-beating", again)
    await r.dump("reset-beating.base", wid, base.run_id)
    await r.dump("reset-beating", wid)
    # reset to a failed workflow task
    wid = "hh3-reset-failed-task"
    h = await _start(r, FailsOnce.run, id=wid)
    await asyncio.sleep(1.5)
    await h.signal(FailsOnce.s, "done")
    await _run(r, "reset-failed-task base", h)
    base = await h.fetch_history()
    failed = [e.event_id for e in base.events if e.event_type == 9]  # WorkflowTaskFailed
    r.cli(
        "workflow", "reset", "-w", wid, "-r", base.run_id, "--event-id", str(failed[0]),
        "--reason", "to the failed task",
    )  # fmt: skip
    await asyncio.sleep(1.5)
    again = r.client.get_workflow_handle(wid)
    with contextlib.suppress(Exception):
        await again.signal(FailsOnce.s, "done")
    await _run(r, "reset-failed-task", again)
    await r.dump("reset-failed-task.base", wid, base.run_id)
    await r.dump("reset-failed-task", wid)
    await _reset_can_first(r)


async def _reset_can_first(r: Recorder) -> None:
    """reset-can-first.*: a reset of a continued chain's first run."""
    wid = "hh3-reset-can-first2"
    h = await _start(r, Hopper.run, True, id=wid)
    await asyncio.sleep(2.5)  # the first run has continued as new
    first = h.first_execution_run_id or ""
    continued = (await _chain(r, wid))[-1]
    r.cli(
        "workflow", "reset", "-w", wid, "-r", first, "--type", "FirstWorkflowTask",
        "--reason", "the chain's first run",
    )  # fmt: skip
    await asyncio.sleep(1.5)
    for run_id in await _chain(r, wid):
        with contextlib.suppress(Exception):
            await r.client.get_workflow_handle(wid, run_id=run_id).signal(Hopper.release)
    await asyncio.sleep(1)
    runs = await _chain(r, wid)
    await r.dump("reset-can-first.base", wid, first)
    await r.dump("reset-can-first.old2", wid, continued)
    for i, run_id in enumerate(runs):
        await r.dump(f"reset-can-first.run{i + 1}", wid, run_id)


async def more(r: Recorder) -> None:
    """priority-*, abandoned-update, uws-refused, sws-terminate, local-out."""
    h = await _start(
        r, Prioritized.run, True, id="hh3-priority",
        priority=Priority(priority_key=2, fairness_key="wf", fairness_weight=1.5),
    )  # fmt: skip
    await _run(r, "priority", r.client.get_workflow_handle(h.id))
    await _dump_chain(r, "priority", h.id)
    await r.dump("priority.kid", h.id + "-kid")
    h = await _start(r, Abandoner.run, 1.5, id="hh3-abandoned-update")
    await asyncio.sleep(0.5)
    for _ in range(20):
        await h.signal(Abandoner.tick)
    await asyncio.sleep(1.5)
    with contextlib.suppress(Exception):
        await h.start_update(Abandoner.hang, wait_for_stage=WorkflowUpdateStage.ACCEPTED)
    await h.signal(Abandoner.release)
    await _run(r, "abandoned-update", h)
    await r.dump("abandoned-update", h.id)
    op = WithStartWorkflowOperation(
        Abandoner.run, 0.0, id="hh3-uws-refused", task_queue=HUNT3,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )  # fmt: skip
    try:
        await r.client.execute_update_with_start_workflow(
            Abandoner.picky, -1, start_workflow_operation=op
        )
    except Exception as e:
        print(f"  uws refused: {type(e).__name__}", flush=True)
    started = await op.workflow_handle()
    await started.signal(Abandoner.release)
    await _run(r, "uws-refused", started)
    await r.dump("uws-refused", started.id)
    wid = "hh3-sws-terminate"
    h = await _start(r, Abandoner.run, 0.0, id=wid)
    await asyncio.sleep(0.5)
    h2 = await _start(
        r, Abandoner.run, 0.0, id=wid, start_signal="tick",
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )  # fmt: skip
    await h2.signal(Abandoner.release)
    await _run(r, "sws-terminate", h2)
    await r.dump("sws-terminate.first", wid, h.first_execution_run_id)
    await r.dump("sws-terminate.second", wid)
    h = await _start(r, LocalOut.run, id="hh3-local-out")
    await _run(r, "local-out", h)
    await r.dump("local-out", h.id)


async def broken(r: Recorder) -> None:
    """broken-*: tasks failing until a signal, an update during the failing attempts, an
    update whose handler fails its (speculative) task once, a timer cancelled after it
    fired, and a reset of a reset run after the point it was reset to."""
    h = await _start(r, Broken.run, "until-fixed", id="hh3-broken-fixed")
    await asyncio.sleep(2.5)
    try:
        got = await asyncio.wait_for(h.execute_update(Broken.flaky, "ok-at-once"), 3)
        print(f"  update while broken: {got}", flush=True)
    except Exception as e:
        print(f"  update while broken: {type(e).__name__}", flush=True)
    await asyncio.sleep(0.5)
    await h.signal(Broken.fix)
    await asyncio.sleep(1)
    await h.signal(Broken.finish)
    await _run(r, "broken-fixed", h)
    await r.dump("broken-fixed", h.id)
    _FAILED.add("ok-at-once")
    h = await _start(r, Broken.run, "plain", id="hh3-broken-update")
    await asyncio.sleep(0.5)
    try:
        got = await asyncio.wait_for(h.execute_update(Broken.flaky, "fails-once"), 20)
        print(f"  flaky update: {got}", flush=True)
    except Exception as e:
        print(f"  flaky update: {type(e).__name__} {e}", flush=True)
    await h.signal(Broken.finish)
    await _run(r, "broken-update", h)
    await r.dump("broken-update", h.id)
    h = await _start(r, Broken.run, "fired-cancel", id="hh3-fired-cancel")
    await asyncio.sleep(3)
    await h.signal(Broken.finish)
    await _run(r, "fired-cancel", h)
    await r.dump("fired-cancel", h.id)
    # a reset of a reset run to its last task, after the point it was reset to
    wid = "hh3-reset-closed-signal"
    first_reset = await r.client.get_workflow_handle(wid).fetch_history()
    r.cli(
        "workflow", "reset", "-w", wid, "-r", first_reset.run_id, "--type", "LastWorkflowTask",
        "--reason", "a reset of a reset, later",
    )  # fmt: skip
    await asyncio.sleep(1.5)
    again = r.client.get_workflow_handle(wid)
    with contextlib.suppress(Exception):
        await again.signal(Resettable3.s, "done")
    await _run(r, "reset-chain2", again)
    await r.dump("reset-chain2", wid)


async def _raw_fail(r: Recorder, queue: str) -> None:
    """A raw poller takes the queue's next workflow task and fails it."""
    service = r.client.workflow_service
    poll = PollWorkflowTaskQueueRequest(
        namespace="default", task_queue=TaskQueue(name=queue), identity="raw-poller"
    )
    task = await service.poll_workflow_task_queue(poll)
    await service.respond_workflow_task_failed(
        RespondWorkflowTaskFailedRequest(
            namespace="default", task_token=task.task_token, identity="raw-poller",
            cause=WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
            failure=Failure(message="failed by a raw poller"),
        )
    )  # fmt: skip


async def transient(r: Recorder) -> None:
    """transient-signals: the first task fails (a raw poller), and two signals arrive
    while nobody polls its transient retry; transient-two-fails: the retry fails too
    (attempt 2, a raw poller), then two signals, then a worker."""
    for name, fails in (("transient-signals", 1), ("transient-two-fails", 2)):
        queue = f"hh3-raw-{name}"
        h = await r.client.start_workflow(Broken.run, "plain", id=f"hh3-{name}", task_queue=queue)
        for _ in range(fails):
            await _raw_fail(r, queue)
        await asyncio.sleep(0.5)
        await h.signal(Broken.fix)
        await asyncio.sleep(0.5)
        await h.signal(Broken.fix)
        await asyncio.sleep(0.5)
        async with Worker(
            r.client, task_queue=queue, workflows=HUNT3_WORKFLOWS, activities=HUNT3_ACTIVITIES,
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):  # fmt: skip
            await asyncio.sleep(1)
            await h.signal(Broken.finish)
            await _run(r, name, h)
        await r.dump(name, h.id)


async def speculative(r: Recorder) -> None:
    """speculative-signal: with no worker polling, an update's speculative task waits
    unstarted while a signal arrives; then a worker takes it."""
    queue = "hh3-raw-speculative"
    worker = partial(
        Worker, r.client, task_queue=queue, workflows=HUNT3_WORKFLOWS,
        activities=HUNT3_ACTIVITIES, workflow_runner=UnsandboxedWorkflowRunner(),
    )  # fmt: skip
    async with worker():
        h = await r.client.start_workflow(
            Broken.run, "plain", id="hh3-speculative-signal", task_queue=queue
        )
        await asyncio.sleep(1)
    _FAILED.add("spec")
    update = asyncio.ensure_future(h.execute_update(Broken.flaky, "spec"))
    await asyncio.sleep(1)
    await h.signal(Broken.fix)
    await asyncio.sleep(0.5)
    await h.signal(Broken.fix)
    await asyncio.sleep(0.5)
    async with worker():
        print(f"  the update: {await asyncio.wait_for(update, 20)}", flush=True)
        await h.signal(Broken.finish)
        await _run(r, "speculative-signal", h)
    await r.dump("speculative-signal", h.id)


async def _raw_poll(r: Recorder, queue: str) -> Any:
    poll = PollWorkflowTaskQueueRequest(
        namespace="default", task_queue=TaskQueue(name=queue), identity="raw-poller"
    )
    return await r.client.workflow_service.poll_workflow_task_queue(poll)


async def raw(r: Recorder) -> None:
    """raw-*: workflow tasks held by a raw poller that never answers (a speculative one,
    a transient one) while signals and updates arrive, and an update to a transient task
    nobody polls."""
    two = timedelta(seconds=2)
    for name in ("raw-spec-timeout", "raw-transient-held", "raw-transient-update"):
        queue = f"hh3-{name}"
        worker = partial(
            Worker, r.client, task_queue=queue, workflows=HUNT3_WORKFLOWS,
            activities=HUNT3_ACTIVITIES, workflow_runner=UnsandboxedWorkflowRunner(),
        )  # fmt: skip
        update: asyncio.Future[Any] | None = None
        if name == "raw-spec-timeout":
            async with worker():
                h = await r.client.start_workflow(
                    Broken.run, "plain", id=f"hh3-{name}", task_queue=queue, task_timeout=two
                )
                await asyncio.sleep(1)
            _FAILED.add(name)
            update = asyncio.ensure_future(h.execute_update(Broken.flaky, name))
            await _raw_poll(r, queue)  # the speculative task, never answered
        else:
            h = await r.client.start_workflow(
                Broken.run, "plain", id=f"hh3-{name}", task_queue=queue, task_timeout=two
            )
            await _raw_fail(r, queue)
            if name == "raw-transient-held":
                await _raw_poll(r, queue)  # attempt 2, never answered
            else:
                _FAILED.add(name)
                update = asyncio.ensure_future(h.execute_update(Broken.flaky, name))
        await asyncio.sleep(0.5)
        await h.signal(Broken.fix)
        await asyncio.sleep(3)  # past the held task's 2 s timeout
        async with worker():
            if update is not None:
                with contextlib.suppress(Exception):
                    print(f"  {name} update: {await asyncio.wait_for(update, 20)}", flush=True)
            await h.signal(Broken.finish)
            await _run(r, name, h)
        await r.dump(name, h.id)


async def held(r: Recorder) -> None:
    """breaks-later: a timer fires and an activity completes while failing retries are
    held; held-terminate, held-cancel: a raw poller holds a transient task when the run
    is terminated, or a cancel is requested."""
    h = await _start(r, BreaksLater.run, id="hh3-breaks-later", task_timeout=timedelta(seconds=3))
    await asyncio.sleep(0.5)
    await h.signal(BreaksLater.brk)
    await asyncio.sleep(6)
    await h.signal(BreaksLater.fix)
    await _run(r, "breaks-later", h)
    await r.dump("breaks-later", h.id)
    for name in ("held-terminate", "held-cancel"):
        queue = f"hh3-{name}"
        h = await r.client.start_workflow(
            Broken.run, "plain", id=f"hh3-{name}", task_queue=queue,
            task_timeout=timedelta(seconds=2),
        )  # fmt: skip
        await _raw_fail(r, queue)
        await _raw_poll(r, queue)  # attempt 2, held
        await asyncio.sleep(0.3)
        if name == "held-terminate":
            await h.terminate("while a transient task was held")
            await asyncio.sleep(0.5)
        else:
            await h.cancel()
            await asyncio.sleep(2.5)
            async with Worker(
                r.client, task_queue=queue, workflows=HUNT3_WORKFLOWS,
                activities=HUNT3_ACTIVITIES, workflow_runner=UnsandboxedWorkflowRunner(),
            ):  # fmt: skip
                await _run(r, name, h)
        await r.dump(name, h.id)


_KILLED_WORKER = """
import asyncio, sys
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from unseen_workflows_hunt3 import HUNT3_ACTIVITIES, HUNT3_WORKFLOWS
async def main():
    client = await Client.connect(sys.argv[1])
    async with Worker(client, task_queue=sys.argv[2], workflows=HUNT3_WORKFLOWS,
                      activities=HUNT3_ACTIVITIES, workflow_runner=UnsandboxedWorkflowRunner()):
        print("polling", flush=True)
        await asyncio.Event().wait()
asyncio.run(main())
"""


async def held2(r: Recorder) -> None:
    """held-update: an update while a raw poller holds a transient task (no event: the
    next attempt stays transient); sticky-spec-killed: an update's speculative task goes
    to the sticky queue of a worker killed by SIGKILL; held-reset: a run reset while a
    raw poller holds its transient task."""
    queue = "hh3-held-update"
    worker = partial(
        Worker, r.client, task_queue=queue, workflows=HUNT3_WORKFLOWS,
        activities=HUNT3_ACTIVITIES, workflow_runner=UnsandboxedWorkflowRunner(),
    )  # fmt: skip
    h = await r.client.start_workflow(
        Broken.run, "plain", id="hh3-held-update", task_queue=queue,
        task_timeout=timedelta(seconds=2),
    )  # fmt: skip
    await _raw_fail(r, queue)
    await _raw_poll(r, queue)  # attempt 2, held
    _FAILED.add("held-update")
    update = asyncio.ensure_future(h.execute_update(Broken.flaky, "held-update"))
    await asyncio.sleep(3)
    async with worker():
        with contextlib.suppress(Exception):
            print(f"  held-update: {await asyncio.wait_for(update, 20)}", flush=True)
        await h.signal(Broken.finish)
        await _run(r, "held-update", h)
    await r.dump("held-update", h.id)
    # the sticky queue's worker dies; an update's speculative task goes there
    queue = "hh3-sticky-spec"
    here = os.path.dirname(os.path.abspath(__file__))
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WORKER, r.address, queue], cwd=here,
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        await asyncio.to_thread(child.stdout.readline)
        h = await r.client.start_workflow(
            Broken.run, "plain", id="hh3-sticky-spec-killed", task_queue=queue
        )
        await asyncio.sleep(2)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    _FAILED.add("sticky-spec")
    update = asyncio.ensure_future(h.execute_update(Broken.flaky, "sticky-spec"))
    await asyncio.sleep(12)  # past the sticky schedule-to-start timeout
    async with worker(task_queue=queue):
        with contextlib.suppress(Exception):
            print(f"  sticky-spec: {await asyncio.wait_for(update, 20)}", flush=True)
        await h.signal(Broken.finish)
        await _run(r, "sticky-spec-killed", h)
    await r.dump("sticky-spec-killed", h.id)
    # a reset while a raw poller holds the transient task
    queue = "hh3-held-reset"
    h = await r.client.start_workflow(
        Broken.run, "plain", id="hh3-held-reset", task_queue=queue,
        task_timeout=timedelta(seconds=2),
    )  # fmt: skip
    await _raw_fail(r, queue)
    await _raw_poll(r, queue)
    await asyncio.sleep(0.3)
    base = (await h.describe()).run_id
    r.cli(
        "workflow", "reset", "-w", h.id, "-r", base, "--type", "FirstWorkflowTask",
        "--reason", "while held",
    )  # fmt: skip
    await asyncio.sleep(0.5)
    async with worker(task_queue=queue):
        again = r.client.get_workflow_handle(h.id)
        await again.signal(Broken.finish)
        await _run(r, "held-reset", again)
    await r.dump("held-reset.base", h.id, base)
    await r.dump("held-reset", h.id, (await again.describe()).run_id)


async def rejected(r: Recorder) -> None:
    """spec-rejected-signal: a raw poller takes an update's speculative task, a signal
    arrives while it holds it, and it answers with nothing but the update's rejection."""
    queue = "hh3-spec-rejected"
    worker = partial(
        Worker, r.client, task_queue=queue, workflows=HUNT3_WORKFLOWS,
        activities=HUNT3_ACTIVITIES, workflow_runner=UnsandboxedWorkflowRunner(),
    )  # fmt: skip
    async with worker():
        h = await r.client.start_workflow(
            Broken.run, "plain", id="hh3-spec-rejected-signal", task_queue=queue
        )
        await asyncio.sleep(1)
    update = asyncio.ensure_future(h.execute_update(Broken.flaky, "rejected"))
    task = await _raw_poll(r, queue)
    await h.signal(Broken.fix)
    await asyncio.sleep(0.3)
    request = task.messages[0]
    rejection = Rejection(
        rejected_request_message_id=request.id,
        rejected_request_sequencing_event_id=task.history.events[-1].event_id,
        failure=Failure(message="rejected by a raw poller"),
    )
    body = AnyProto()
    body.Pack(rejection)
    reply = Message(
        id=f"{request.protocol_instance_id}/reject",
        protocol_instance_id=request.protocol_instance_id,
        body=body,
    )
    await r.client.workflow_service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(
            namespace="default", task_token=task.task_token, identity="raw-poller",
            messages=[reply],
        )
    )  # fmt: skip
    with contextlib.suppress(Exception):
        print(f"  the update: {await asyncio.wait_for(update, 10)}", flush=True)
    async with worker():
        await h.signal(Broken.finish)
        await _run(r, "spec-rejected-signal", h)
    await r.dump("spec-rejected-signal", h.id)


async def beats(r: Recorder) -> None:
    """spec-heartbeats: an update's speculative task waits unpolled while an activity
    on another queue heartbeats (mutable state written, no events)."""
    queue = "hh3-beats-wf"
    worker = partial(
        Worker, r.client, task_queue=queue, workflows=HUNT3_WORKFLOWS,
        activities=HUNT3_ACTIVITIES, workflow_runner=UnsandboxedWorkflowRunner(),
    )  # fmt: skip
    acts = Worker(r.client, task_queue="hh3-beats-acts", activities=HUNT3_ACTIVITIES)
    async with acts:
        async with worker():
            h = await r.client.start_workflow(
                BeatsElsewhere.run, id="hh3-spec-heartbeats", task_queue=queue
            )
            await asyncio.sleep(1)
        update = asyncio.ensure_future(h.execute_update(BeatsElsewhere.poke))
        await asyncio.sleep(3)  # heartbeats meanwhile
        async with worker():
            with contextlib.suppress(Exception):
                print(f"  the update: {await asyncio.wait_for(update, 20)}", flush=True)
            await asyncio.sleep(4)
            await h.signal(BeatsElsewhere.finish)
            await _run(r, "spec-heartbeats", h)
    await r.dump("spec-heartbeats", h.id)


PARTS = (
    beats,
    rejected,
    held2,
    held,
    raw,
    speculative,
    transient,
    broken,
    more,
    sizes,
    reuse,
    breeders,
    callers,
    crons,
    retries,
    locals_,
    resets,
    resets2,
)


async def hunt3(r: Recorder) -> None:
    """The shapes of unseen_workflows_hunt3.py (set HUNT3_PARTS=name,... for a few;
    `sizes` only on its own server)."""
    names = os.environ.get("HUNT3_PARTS", "")
    chosen = [p for p in PARTS if (p.__name__ in names.split(",") if names else p is not sizes)]
    async with Worker(
        r.client, task_queue=HUNT3, workflows=HUNT3_WORKFLOWS, activities=HUNT3_ACTIVITIES,
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):  # fmt: skip
        for part in chosen:
            try:
                await part(r)
            except Exception as e:
                print(f"{part.__name__}: {type(e).__name__} {e}", flush=True)
