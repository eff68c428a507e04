"""The `hunt4` scenario of record_unseen.py: drives unseen_workflows_hunt4.py (see its
docstring for the dev server's flags) and dumps every history it makes. Set
HUNT4_PARTS=name,... to run a few parts."""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio.api.failure.v1 import Failure
from temporalio.api.workflowservice.v1 import RespondActivityTaskFailedByIdRequest
from temporalio.client import WorkflowHandle
from temporalio.common import RetryPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from unseen_hunt3_scenario import _chain, _dump_chain, _run
from unseen_workflows_hunt4 import (
    HUNT4,
    HUNT4_ACTIVITIES,
    HUNT4_WORKFLOWS,
    ODD,
    CancelsInBackoff,
    CancelThenTimeout,
    Deadlines,
    DelayedFailure,
    FailsAlways,
    FailsFirstTasks,
    FailsOddly,
    FanOut,
    Normalised,
    OddFailures,
    RetriedThenContinued,
    SecondTry,
    SlowOnce,
    Stubborn,
    Swept,
    Unasked,
)
from unseen_workflows_hunt4 import (
    odd as odd_failure,
)

if TYPE_CHECKING:
    from record_unseen import Recorder


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


async def _start(r: Recorder, wf: Any, *args: Any, **options: Any) -> WorkflowHandle[Any, Any]:
    options.setdefault("task_queue", HUNT4)
    return await r.client.start_workflow(wf, *args, **options)


async def deadlines(r: Recorder) -> None:
    """deadlines: activity retries that run out of time, heartbeat timeouts."""
    h = await _start(r, Deadlines.run, id="hh4-deadlines")
    await _run(r, "deadlines", h)
    await asyncio.sleep(4)  # the silent attempts' late completions, refused
    await r.dump("deadlines", h.id)


async def retries(r: Recorder) -> None:
    """retry-deadline.*: a workflow's retry backoff past its execution timeout;
    delay-past-timeout.*, delay-capped.*: a failure's next retry delay past the execution
    timeout, and one the retry policy's maximum interval caps; retry-can.*: a retry that
    continues as new;
    retry-signal.*: signals and signal-with-start during a retry's backoff."""
    policy = RetryPolicy(initial_interval=_s(2), backoff_coefficient=3)
    h = await _start(
        r, FailsAlways.run, "retry-deadline", id="hh4-retry-deadline", retry_policy=policy,
        execution_timeout=_s(4),
    )  # fmt: skip
    await _run(r, "retry-deadline", h)
    await _dump_chain(r, "retry-deadline", h.id)
    for name, delay, policy, timeout in (
        ("delay-past-timeout", 10, RetryPolicy(), 5),  # the delay outruns the timeout
        ("delay-capped", 10, RetryPolicy(maximum_interval=_s(2)), 6),  # capped: retried
    ):
        h = await _start(
            r, DelayedFailure.run, delay, id=f"hh4-{name}", retry_policy=policy,
            execution_timeout=_s(timeout),
        )  # fmt: skip
        await _run(r, name, h)
        await _dump_chain(r, name, h.id)
    h = await _start(
        r, RetriedThenContinued.run, False, id="hh4-retry-can", execution_timeout=_s(30),
        retry_policy=RetryPolicy(initial_interval=_s(1)),
    )  # fmt: skip
    await _run(r, "retry-can", r.client.get_workflow_handle(h.id))
    await _dump_chain(r, "retry-can", h.id)
    h = await _start(
        r, SecondTry.run, id="hh4-retry-signal", retry_policy=RetryPolicy(initial_interval=_s(3))
    )
    await asyncio.sleep(1)  # the first attempt has failed; the retry waits 3 s
    await h.signal(SecondTry.s, "during the backoff")
    await r.client.start_workflow(
        SecondTry.run, id=h.id, task_queue=HUNT4, start_signal="s",
        start_signal_args=["signal-with-start during the backoff"],
    )  # fmt: skip
    await _run(r, "retry-signal", r.client.get_workflow_handle(h.id))
    await _dump_chain(r, "retry-signal", h.id)


async def crons(r: Recorder) -> None:
    """cron-retry.*: a cron workflow with a retry policy (two attempts) failing every run."""
    policy = RetryPolicy(initial_interval=_s(1), maximum_attempts=2)
    h = await _start(
        r, FailsAlways.run, "cron-retry", id="hh4-cron-retry", retry_policy=policy,
        cron_schedule="@every 4s",
    )  # fmt: skip
    for _ in range(40):
        if len(await _chain(r, h.id)) >= 4:
            break
        await asyncio.sleep(0.5)
    await r.client.get_workflow_handle(h.id).terminate("recorded")
    await _dump_chain(r, "cron-retry", h.id)


async def fanout(r: Recorder) -> None:
    """fanout, fanout.kid0: 32 activities, 32 timers and 8 children in one task."""
    h = await _start(r, FanOut.run, 32, id="hh4-fanout")
    await _run(r, "fanout", h)
    await r.dump("fanout", h.id)
    await r.dump("fanout.kid0", h.id + "-k0")


async def tasks(r: Recorder) -> None:
    """eager-fails: an eager start whose first two tasks fail; slow-sticky: a worker
    slower than the task timeout on its sticky queue; cancel-twice."""
    h = await _start(
        r, FailsFirstTasks.run, 2, id="hh4-eager-fails", request_eager_start=True,
        task_timeout=_s(1),
    )  # fmt: skip
    await _run(r, "eager-fails", h)
    await r.dump("eager-fails", h.id)
    h = await _start(r, SlowOnce.run, id="hh4-slow-sticky", task_timeout=_s(1))
    await asyncio.sleep(1)
    await h.signal(SlowOnce.poke)
    await asyncio.sleep(4)
    await h.signal(SlowOnce.poke)
    await _run(r, "slow-sticky", h)
    await r.dump("slow-sticky", h.id)
    h = await _start(r, Stubborn.run, id="hh4-cancel-twice")
    await asyncio.sleep(0.5)
    await h.cancel()
    await asyncio.sleep(0.3)
    await h.cancel()
    await _run(r, "cancel-twice", h)
    await r.dump("cancel-twice", h.id)


async def normalised(r: Recorder) -> None:
    """normalised.*: timeouts the server caps (children, an activity, continue-as-new)."""
    h = await _start(
        r, Normalised.run, True, id="hh4-normalised", run_timeout=_s(60),
        execution_timeout=_s(120),
    )  # fmt: skip
    await _run(r, "normalised", r.client.get_workflow_handle(h.id))
    await _dump_chain(r, "normalised", h.id)
    await r.dump("normalised.kid-x", h.id + "-x")
    await r.dump("normalised.kid-r", h.id + "-r")


async def odd(r: Recorder) -> None:
    """odd-failures: activities failing with failures other than application errors;
    swept: three activities timed out by one timer task; odd-<kind>.*: workflows retried
    (or not) after such a failure."""
    h = await _start(r, OddFailures.run, id="hh4-odd-failures")
    await asyncio.sleep(1.5)
    for attempt in (1, 2, 3):
        for kind in ODD:
            with contextlib.suppress(Exception):  # (one that is not retried is closed)
                await r.client.get_async_activity_handle(
                    workflow_id=h.id, run_id=None, activity_id=kind
                ).fail(odd_failure(kind, attempt))
        await asyncio.sleep(1.5)
    await _run(r, "odd-failures", h)
    await r.dump("odd-failures", h.id)
    h = await _start(r, Swept.run, id="hh4-swept")
    await _run(r, "swept", h)
    await r.dump("swept", h.id)
    for kind in (
        "terminated",
        "server",
        "server-retryable",
        "start-to-close",
        "timeout",
        "activity",
    ):
        # (the policy also names the type of the activity's failure, which is only the
        # cause of the workflow's: the server retries it)
        listed = ["TemporalTimeout:StartToClose"] + (["H4Fatal"] if kind == "activity" else [])
        policy = RetryPolicy(
            initial_interval=_s(0.5), maximum_attempts=2, non_retryable_error_types=listed
        )
        h = await _start(r, FailsOddly.run, kind, id=f"hh4-odd-{kind}", retry_policy=policy)
        await _run(r, f"odd-{kind}", h)
        await _dump_chain(r, f"odd-{kind}", h.id)


async def cancels(r: Recorder) -> None:
    """cancel-backoff: activities cancelled in their retry backoff, one failing after its
    cancel was requested, one failed by id asking for a 0 s next retry delay;
    unasked-cancel: an activity reported cancelled that nobody asked to cancel;
    cancel-timeout: activities timing out after their cancel was requested."""
    h = await _start(r, CancelsInBackoff.run, id="hh4-cancel-backoff")
    await asyncio.sleep(0.5)
    failure = Failure(message="asks for no delay")
    failure.application_failure_info.type = "Zero"
    failure.application_failure_info.next_retry_delay.SetInParent()
    await r.client.workflow_service.respond_activity_task_failed_by_id(
        RespondActivityTaskFailedByIdRequest(
            namespace="default", workflow_id=h.id, activity_id="zero", failure=failure,
            identity="hh4-raw",
        )
    )  # fmt: skip
    await _run(r, "cancel-backoff", h)
    await r.dump("cancel-backoff", h.id)
    h = await _start(r, Unasked.run, id="hh4-unasked-cancel")
    await asyncio.sleep(1)
    handle = r.client.get_async_activity_handle(
        workflow_id=h.id, run_id=None, activity_id="unasked"
    )
    with contextlib.suppress(Exception):  # (refused, if the server wants a cancel request)
        await handle.report_cancellation("nobody asked")
    await asyncio.sleep(1)
    with contextlib.suppress(Exception):
        await handle.complete("completed instead")
    await _run(r, "unasked-cancel", h)
    await r.dump("unasked-cancel", h.id)
    h = await _start(r, CancelThenTimeout.run, id="hh4-cancel-timeout")
    await _run(r, "cancel-timeout", h)
    await r.dump("cancel-timeout", h.id)


async def ts(r: Recorder) -> None:
    """ts-hunt4, ts-hunt4.kid: what `node scripts/unseen_ts/hunt4.js` ran (only on its own:
    HUNT4_PARTS=ts)."""
    await r.dump("ts-hunt4", "hh-ts-hunt4")
    await r.dump("ts-hunt4.kid", "hh-ts-hunt4-kid")


PARTS = (deadlines, retries, crons, fanout, tasks, normalised, odd, cancels, ts)


async def hunt4(r: Recorder) -> None:
    """The shapes of unseen_workflows_hunt4.py (HUNT4_PARTS=name,... for a few)."""
    names = os.environ.get("HUNT4_PARTS", "")
    chosen = [p for p in PARTS if (p.__name__ in names.split(",") if names else p is not ts)]
    async with Worker(
        r.client, task_queue=HUNT4, workflows=HUNT4_WORKFLOWS, activities=HUNT4_ACTIVITIES,
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):  # fmt: skip
        await asyncio.gather(*(_guarded(r, part) for part in chosen))


async def _guarded(r: Recorder, part: Any) -> None:
    try:
        await part(r)
    except Exception as e:
        print(f"{part.__name__}: {type(e).__name__} {e}", flush=True)
