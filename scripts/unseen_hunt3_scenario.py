"""The `hunt3` scenario of record_unseen.py: drives unseen_workflows_hunt3.py (see its
docstring for the dev servers' flags) and dumps every history it makes; the parts with
raw pollers are in unseen_hunt3_raw.py."""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio.client import WithStartWorkflowOperation, WorkflowHandle, WorkflowUpdateStage
from temporalio.common import Priority, RetryPolicy, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from unseen_workflows_hunt3 import (
    _FAILED,
    HUNT3,
    HUNT3_ACTIVITIES,
    HUNT3_WORKFLOWS,
    Abandoner,
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


PARTS = (
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
    from unseen_hunt3_raw import RAW_PARTS  # (it imports this module's helpers)

    names = os.environ.get("HUNT3_PARTS", "")
    parts = (*RAW_PARTS, *PARTS)
    chosen = [p for p in parts if (p.__name__ in names.split(",") if names else p is not sizes)]
    async with Worker(
        r.client, task_queue=HUNT3, workflows=HUNT3_WORKFLOWS, activities=HUNT3_ACTIVITIES,
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):  # fmt: skip
        for part in chosen:
            try:
                await part(r)
            except Exception as e:
                print(f"{part.__name__}: {type(e).__name__} {e}", flush=True)
