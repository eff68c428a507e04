"""The `hunt2` scenario of record_unseen.py: drives unseen_workflows_hunt2.py (see its
docstring for the dev server's flags) and dumps every history it makes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio.client import WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import RetryPolicy, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker
from unseen_workflows_hunt2 import (
    HUNT2,
    HUNT2_ACTIVITIES,
    HUNT2_WORKFLOWS,
    NEXT,
    TOKENS,
    AsyncDone,
    CanCarries,
    CancelAbandon,
    CancelMixed,
    ChangingNew,
    ChangingOld,
    Delayed,
    Guarded,
    LocalDelay,
    Longish,
    Mover,
    NonRetryable,
    OutOfTime,
    Patched,
    PatchingNew,
    PatchingOld,
    RetryDelays,
    SilentAsync,
    Top,
)

if TYPE_CHECKING:
    from record_unseen import Recorder


async def _run(r: Recorder, name: str, handle: WorkflowHandle[Any, Any]) -> None:
    try:
        await asyncio.wait_for(r.run(name, handle), 60)
    except Exception as e:
        print(f"{name}: {type(e).__name__} {e}", flush=True)


async def _start(r: Recorder, wf: Any, *args: Any, **options: Any) -> WorkflowHandle[Any, Any]:
    options.setdefault("task_queue", HUNT2)
    return await r.client.start_workflow(wf, *args, **options)


async def _wait_token(key: str) -> None:
    for _ in range(100):
        if key in TOKENS:
            return
        await asyncio.sleep(0.1)


async def outside(r: Recorder) -> None:
    """async-complete: by token, heartbeat and complete by id, fail by id."""
    h = await _start(r, AsyncDone.run, id="hh2-async-complete")
    await _wait_token("token")
    await r.client.get_async_activity_handle(task_token=TOKENS["token"]).complete("by token")
    await _wait_token("id")
    by_id = r.client.get_async_activity_handle(workflow_id=h.id, run_id=None, activity_id="id")
    await by_id.heartbeat("beat by id")
    await asyncio.sleep(0.3)
    await by_id.complete("by id")
    await _wait_token("fail")
    fail = r.client.get_async_activity_handle(workflow_id=h.id, run_id=None, activity_id="fail")
    await fail.fail(ApplicationError("failed from outside", type="Outside"))
    await _run(r, "async-complete", h)
    await r.dump("async-complete", h.id)


async def retries(r: Recorder) -> None:
    h = await _start(r, RetryDelays.run, id="hh2-retry-delays")
    await _run(r, "retry-delays", h)
    await r.dump("retry-delays", h.id)
    h = await _start(
        r, NonRetryable.run, id="hh2-non-retryable",
        retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=200)),
    )  # fmt: skip
    await _run(r, "non-retryable", h)
    await r.dump("non-retryable", h.id)


async def marks(r: Recorder) -> None:
    h = await _start(r, Patched.run, id="hh2-patched-memo", memo={"stage": "zero"})
    await _run(r, "patched-memo", h)
    await r.dump("patched-memo", h.id)
    h = await _start(r, Mover.run, id="hh2-can-elsewhere")
    await _run(r, "can-elsewhere", r.client.get_workflow_handle(h.id))
    await asyncio.sleep(0.5)
    await r.dump("can-elsewhere.run1", h.id, h.first_execution_run_id)
    await r.dump("can-elsewhere.run2", h.id)


async def delays(r: Recorder) -> None:
    h = await _start(r, Delayed.run, id="hh2-signal-in-delay", start_delay=timedelta(seconds=2))
    await h.signal(Delayed.s, "during the delay")
    await asyncio.sleep(0.5)
    await h.signal(Delayed.s, "stop")
    await _run(r, "signal-in-delay", h)
    await r.dump("signal-in-delay", h.id)
    h = await _start(r, Delayed.run, id="hh2-delay-cancel", start_delay=timedelta(seconds=2))
    await asyncio.sleep(0.3)
    await h.cancel()
    await _run(r, "delay-cancel", h)
    await r.dump("delay-cancel", h.id)


async def late_ones(r: Recorder) -> None:
    """exec-timeout-family.*, sws-delay: a run timing out with a child and an activity
    open; signal-with-start with a start delay, signalled again during the delay."""
    h = await _start(r, OutOfTime.run, id="hh2-exec-timeout-family",
                     execution_timeout=timedelta(seconds=2))  # fmt: skip
    await _run(r, "exec-timeout-family", h)
    await asyncio.sleep(1.5)
    await r.dump("exec-timeout-family", h.id)
    await r.dump("exec-timeout-family.kid", h.id + "-kid")
    h = await _start(
        r, Delayed.run, id="hh2-sws-delay", start_delay=timedelta(seconds=2),
        start_signal="s", start_signal_args=["with the start"],
    )  # fmt: skip
    await asyncio.sleep(0.5)
    await h.signal(Delayed.s, "stop")
    await _run(r, "sws-delay", h)
    await r.dump("sws-delay", h.id)


async def in_delay(r: Recorder) -> None:
    """update-in-delay: an update sent during a start delay waits for the first task."""
    h = await _start(r, Guarded.run, id="hh2-update-in-delay", start_delay=timedelta(seconds=2))
    await asyncio.sleep(0.3)
    try:
        got = await asyncio.wait_for(h.execute_update(Guarded.add, 4), 15)
        print(f"  update in the delay: {got}", flush=True)
    except Exception as e:
        print(f"  update in the delay: {type(e).__name__} {e}", flush=True)
    await h.signal(Guarded.stop)
    await _run(r, "update-in-delay", h)
    await r.dump("update-in-delay", h.id)
    h = await _start(r, LocalDelay.run, id="hh2-local-delay")
    await _run(r, "local-delay", h)
    await r.dump("local-delay", h.id)
    h = await _start(r, SilentAsync.run, id="hh2-silent-async")
    await _run(r, "silent-async", h)
    await r.dump("silent-async", h.id)
    h = await _start(r, CanCarries.run, True, id="hh2-can-carries", memo={"carried": "no"})
    await _run(r, "can-carries", r.client.get_workflow_handle(h.id))
    await r.dump("can-carries.run1", h.id, h.first_execution_run_id)
    await r.dump("can-carries.run2", h.id)


async def guards(r: Recorder) -> None:
    h = await _start(r, Guarded.run, id="hh2-update-rejected")
    await asyncio.sleep(0.3)
    for n in (-1, 2, -5):
        with contextlib.suppress(Exception):
            print(f"  update {n}: {await h.execute_update(Guarded.add, n)}", flush=True)
    await h.signal(Guarded.stop)
    await _run(r, "update-rejected", h)
    print(f"  query on the closed run: {await h.query(Guarded.state)}", flush=True)
    await r.dump("update-rejected", h.id)


async def cancels(r: Recorder) -> None:
    h = await _start(r, CancelMixed.run, id="hh2-cancel-mixed")
    await asyncio.sleep(1.5)
    await h.cancel()
    await _run(r, "cancel-mixed", h)
    await asyncio.sleep(1)
    await r.dump("cancel-mixed", h.id)
    await r.dump("cancel-mixed.kid", h.id + "-kid")
    h = await _start(r, CancelAbandon.run, id="hh2-cancel-abandon")
    await asyncio.sleep(1.0)
    await h.cancel()
    await _run(r, "cancel-abandon", h)
    await asyncio.sleep(3)
    await r.dump("cancel-abandon", h.id)
    kid = r.client.get_workflow_handle(h.id + "-kid")
    await kid.cancel()
    await _run(r, "cancel-abandon.kid", kid)
    await r.dump("cancel-abandon.kid", kid.id)


async def counts(r: Recorder) -> None:
    h = await _start(r, Longish.run, True, id="hh2-suggest-can")
    await _run(r, "suggest-can", r.client.get_workflow_handle(h.id))
    await r.dump("suggest-can.run1", h.id, h.first_execution_run_id)
    await r.dump("suggest-can.run2", h.id)


async def changed(r: Recorder) -> None:
    """nde-changed: the first task ran on the old code, the next on changed code."""
    old, new = [*HUNT2_WORKFLOWS, ChangingOld], [*HUNT2_WORKFLOWS, ChangingNew]
    queue = "hh2-changing"
    async with Worker(r.client, task_queue=queue, workflows=old, activities=HUNT2_ACTIVITIES,
                      max_cached_workflows=0):  # fmt: skip
        h = await _start(r, ChangingOld.run, id="hh2-nde-changed", task_queue=queue)
        await asyncio.sleep(1.0)
    async with Worker(r.client, task_queue=queue, workflows=new, activities=HUNT2_ACTIVITIES,
                      max_cached_workflows=0):  # fmt: skip
        await h.signal(ChangingNew.s)
        await asyncio.sleep(3)
    await h.terminate("recorded after the non-determinism")
    await r.dump("nde-changed", h.id)
    # patch-versions: a run begun on patched code ends on code that deprecates the patch
    queue = "hh2-patching"
    async with Worker(r.client, task_queue=queue, workflows=[*HUNT2_WORKFLOWS, PatchingOld],
                      max_cached_workflows=0):  # fmt: skip
        h = await _start(r, PatchingOld.run, id="hh2-patch-versions", task_queue=queue)
        await asyncio.sleep(1.0)
    async with Worker(r.client, task_queue=queue, workflows=[*HUNT2_WORKFLOWS, PatchingNew],
                      max_cached_workflows=0):  # fmt: skip
        await h.signal(PatchingNew.s)
        await _run(r, "patch-versions", h)
    await r.dump("patch-versions", h.id)


async def families(r: Recorder) -> None:
    h = await _start(r, Top.run, id="hh2-family")
    await _run(r, "family", h)
    await asyncio.sleep(1.5)
    await r.dump("family", h.id)
    runs = await _chain(r, h.id + "-chain")
    for i, run_id in enumerate(runs):
        await r.dump(f"family.chain{i + 1}", h.id + "-chain", run_id)
    await r.dump("family.mid", h.id + "-mid")
    await r.dump("family.grandchild", h.id + "-mid-g")


async def _chain(r: Recorder, workflow_id: str) -> list[str]:
    chain: list[str] = []
    run_id: str | None = None
    while True:
        history = await r.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        chain.insert(0, history.run_id)
        run_id = history.events[
            0
        ].workflow_execution_started_event_attributes.continued_execution_run_id
        if not run_id:
            return chain


async def with_start(r: Recorder) -> None:
    """uws-*: update-with-start on a running workflow under USE_EXISTING, and under FAIL."""
    h = await _start(r, Guarded.run, id="hh2-uws-running")
    await asyncio.sleep(0.3)
    for policy in (WorkflowIDConflictPolicy.USE_EXISTING, WorkflowIDConflictPolicy.FAIL):
        op = WithStartWorkflowOperation(
            Guarded.run, id=h.id, task_queue=HUNT2, id_conflict_policy=policy
        )
        try:
            got = await r.client.execute_update_with_start_workflow(
                Guarded.add, 5, start_workflow_operation=op
            )
            print(f"  uws {policy.name}: {got}", flush=True)
        except Exception as e:
            print(f"  uws {policy.name}: {type(e).__name__} {e}", flush=True)
    await h.signal(Guarded.stop)
    await _run(r, "uws-running", h)
    await r.dump("uws-running", h.id)
    # on the closed run: REJECT_DUPLICATE refuses; ALLOW_DUPLICATE starts a new run;
    # then TERMINATE_EXISTING on that running run
    started: list[str] = []
    for reuse, conflict in (
        (WorkflowIDReusePolicy.REJECT_DUPLICATE, WorkflowIDConflictPolicy.FAIL),
        (WorkflowIDReusePolicy.ALLOW_DUPLICATE, WorkflowIDConflictPolicy.FAIL),
        (WorkflowIDReusePolicy.ALLOW_DUPLICATE, WorkflowIDConflictPolicy.TERMINATE_EXISTING),
    ):
        op = WithStartWorkflowOperation(
            Guarded.run, id=h.id, task_queue=HUNT2, id_reuse_policy=reuse,
            id_conflict_policy=conflict,
        )  # fmt: skip
        try:
            got = await r.client.execute_update_with_start_workflow(
                Guarded.add, 3, start_workflow_operation=op
            )
            print(f"  uws {reuse.name} {conflict.name}: {got}", flush=True)
            started.append((await op.workflow_handle()).result_run_id or "")
        except Exception as e:
            print(f"  uws {reuse.name} {conflict.name}: {type(e).__name__} {e}", flush=True)
    last = r.client.get_workflow_handle(h.id)
    await last.signal(Guarded.stop)
    await _run(r, "uws-reuse", last)
    await r.dump("uws-reuse.terminated", h.id, started[0])
    await r.dump("uws-reuse.last", h.id, started[-1])


_KILLED_WORKER = """
import asyncio, sys
from temporalio.client import Client
from temporalio.worker import Worker
from unseen_workflows_hunt2 import HUNT2_ACTIVITIES, HUNT2_WORKFLOWS
async def main():
    client = await Client.connect(sys.argv[1])
    async with Worker(client, task_queue="hh2-killed", workflows=HUNT2_WORKFLOWS,
                      activities=HUNT2_ACTIVITIES):
        print("polling", flush=True)
        await asyncio.Event().wait()
asyncio.run(main())
"""


async def killed(r: Recorder) -> None:
    """sticky-killed: the worker holding the run's sticky queue dies by SIGKILL (no
    shutdown); a signal's task times out on the sticky queue and another worker takes it
    from the normal queue."""
    here = os.path.dirname(os.path.abspath(__file__))
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WORKER, r.address], cwd=here, stdout=subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        await asyncio.to_thread(child.stdout.readline)
        h = await _start(r, Delayed.run, id="hh2-sticky-killed", task_queue="hh2-killed")
        await asyncio.sleep(2)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    await h.signal(Delayed.s, "to a dead worker")
    await asyncio.sleep(12)  # past the SDK's sticky schedule-to-start timeout (10 s)
    async with Worker(r.client, task_queue="hh2-killed", workflows=HUNT2_WORKFLOWS,
                      activities=HUNT2_ACTIVITIES):  # fmt: skip
        await h.signal(Delayed.s, "stop")
        await _run(r, "sticky-killed", h)
    await r.dump("sticky-killed", h.id)


PARTS = (
    outside,
    retries,
    marks,
    delays,
    guards,
    cancels,
    counts,
    changed,
    families,
    with_start,
    killed,
    late_ones,
    in_delay,
)


async def hunt2(r: Recorder) -> None:
    """The shapes of unseen_workflows_hunt2.py (set HUNT2_PARTS=name,... for a few)."""
    names = os.environ.get("HUNT2_PARTS", "")
    chosen = [p for p in PARTS if not names or p.__name__ in names.split(",")]
    async with (
        Worker(r.client, task_queue=HUNT2, workflows=HUNT2_WORKFLOWS, activities=HUNT2_ACTIVITIES),
        Worker(r.client, task_queue=NEXT, workflows=HUNT2_WORKFLOWS, activities=HUNT2_ACTIVITIES),
    ):
        for part in chosen:
            try:
                await part(r)
            except Exception as e:
                print(f"{part.__name__}: {type(e).__name__} {e}", flush=True)


async def ts_hunt2(r: Recorder) -> None:
    """ts-hunt2.*: the histories `node scripts/unseen_ts/hunt2.js` made."""
    runs = await _chain(r, "hh-ts-hunt2")
    await r.dump("ts-hunt2.run1", "hh-ts-hunt2", runs[0])
    await r.dump("ts-hunt2.run2", "hh-ts-hunt2", runs[-1])
