"""Workflows of tests/fixtures/unseen-histories, part six (the `hunt4` scenario of
record_unseen.py, driven by unseen_hunt4_scenario.py): activities whose retries run out
of schedule-to-close time (a backoff, a failure's next retry delay), heartbeat timeouts
whose details the last failure carries, a non-retryable type after a heartbeat timeout,
workflow retries past the execution timeout, cron runs with a retry policy, signals and
signal-with-start during a workflow retry's backoff, a fan-out of activities (some
dispatched eagerly), timers and children in one task, an eager start whose first tasks
fail, a worker slower than the task timeout on the sticky queue, a cancel requested twice
and ignored, and child, activity and continue-as-new timeouts the server normalises.

The scenario starts its own worker (unsandboxed: a few workflows keep state across
attempts in module globals) on `hh-hunt4`, on a dev server with eager activities on and
the search attributes of unseen_workflows_hunt.py registered::

    temporal server start-dev --ip 127.0.0.1 --headless --port 17233 --http-port 17234 \\
      --dynamic-config-value system.enableActivityEagerExecution=true \\
      --search-attribute HhKw=Keyword --search-attribute HhInt=Int ...
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ServerError,
    TerminatedError,
    TimeoutError,
    TimeoutType,
)

HUNT4 = "hh-hunt4"
SHORT = timedelta(seconds=20)
SECOND = timedelta(seconds=1)


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


_SEEN: dict[str, int] = {}  # per workflow id: how often the code took a path (unsandboxed)


@activity.defn
async def h4_echo(text: str) -> str:
    return text


@activity.defn
async def h4_fail(kind: str) -> str:
    """Fails as `kind` says: at once, with a long next retry delay, after a heartbeat
    and then silence (a heartbeat timeout), or silent on its first attempt and then
    failing with a type the retry policy names non-retryable."""
    attempt = activity.info().attempt
    if kind == "fast":
        raise ApplicationError(f"fast failure of attempt {attempt}")
    if kind == "delay":
        raise ApplicationError("retry me later", next_retry_delay=timedelta(seconds=5))
    if kind == "h4fatal":
        raise ApplicationError("fatal at once", type="H4Fatal")
    if kind == "hang":
        activity.heartbeat(f"beat of attempt {attempt}", attempt)
        await asyncio.sleep(4)
        return "too late"
    if attempt == 1:
        activity.heartbeat("first beat", {"progress": 1})
        await asyncio.sleep(4)
        return "too late"
    activity.heartbeat("second beat", list(activity.info().heartbeat_details))
    raise ApplicationError("fatal after a heartbeat timeout", "detail", type="H4Fatal")


@activity.defn
async def h4_odd(kind: str) -> str:
    """Completed from outside (the scenario fails it by id with `odd(kind)`), or, as
    "sleep", "silent" and "long", outliving its start-to-close or heartbeat timeout."""
    if kind in ("sleep", "silent", "long"):
        await asyncio.sleep(5 if kind == "long" else 3)
        return "too late"
    activity.raise_complete_async()


def odd(kind: str, attempt: int) -> Exception:
    """A failure other than an application error, as `kind` says."""
    message = f"{kind} (attempt {attempt})"
    if kind == "cancelled":
        return CancelledError(message)
    if kind == "terminated":
        return TerminatedError(message)
    if kind == "server":
        return ServerError(message, non_retryable=True)
    if kind == "server-retryable":
        return ServerError(message)
    start_to_close = kind == "start-to-close"
    timeout = TimeoutType.START_TO_CLOSE if start_to_close else TimeoutType.SCHEDULE_TO_START
    return TimeoutError(message, type=timeout, last_heartbeat_details=[])


ODD = ("cancelled", "terminated", "server", "server-retryable", "start-to-close", "timeout")


@workflow.defn
class OddFailures:
    """Activities (three attempts each, the scenario fails them by id) failing with a
    canceled, a terminated, a server (non-retryable or not) and a timeout failure
    (START_TO_CLOSE, which the policy names non-retryable by its TemporalTimeout type, and
    SCHEDULE_TO_START); and two whose start-to-close and heartbeat timeouts the policy
    names so."""

    @workflow.run
    async def run(self) -> list[str]:
        listed = ["TemporalTimeout:StartToClose", "TemporalTimeout:Heartbeat"]
        policy = RetryPolicy(
            initial_interval=timedelta(seconds=0.3), maximum_attempts=3,
            non_retryable_error_types=listed,
        )  # fmt: skip
        one = timedelta(seconds=1)
        calls = [
            workflow.execute_activity(
                h4_odd, kind, activity_id=kind, start_to_close_timeout=SHORT, retry_policy=policy
            )
            for kind in ODD
        ]
        calls.append(
            workflow.execute_activity(
                h4_odd, "sleep", activity_id="sleep", start_to_close_timeout=one,
                retry_policy=policy,
            )
        )  # fmt: skip
        calls.append(
            workflow.execute_activity(
                h4_odd, "silent", activity_id="silent", start_to_close_timeout=SHORT,
                heartbeat_timeout=one, retry_policy=policy,
            )
        )  # fmt: skip
        results = await asyncio.gather(*calls, return_exceptions=True)
        return [f"{type(r).__name__}: {r}"[:100] for r in results]


@workflow.defn
class Swept:
    """Three activities started eagerly with the completion that schedules them (one
    attempt each), all outliving their 1 s start-to-close timeout: one timer task times
    them out together."""

    @workflow.run
    async def run(self) -> list[str]:
        calls = [
            workflow.execute_activity(
                h4_odd, "sleep", activity_id=f"sleep{i}", start_to_close_timeout=SECOND,
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
            for i in range(3)
        ]  # fmt: skip
        results = await asyncio.gather(*calls, return_exceptions=True)
        return [f"{type(r).__name__}: {r}"[:100] for r in results]


@activity.defn
async def h4_stubborn(kind: str) -> str:
    """ "fail": fails at once (retried after 3 s); "zero": completed from outside (the
    scenario fails it by id asking for a 0 s next retry delay); "beat": heartbeats until
    its cancel comes, then fails instead of reporting the cancel."""
    if kind == "fail":
        raise ApplicationError(f"attempt {activity.info().attempt} fails")
    if kind == "zero":
        activity.raise_complete_async()
    try:
        for i in range(50):
            activity.heartbeat(i)
            await asyncio.sleep(0.2)
    except asyncio.CancelledError:
        raise ApplicationError("failed after its cancel was requested") from None
    return "never cancelled"


@workflow.defn
class CancelsInBackoff:
    """Two activities cancelled during their retry backoff (WAIT_CANCELLATION_COMPLETED
    and TRY_CANCEL), one failing after its cancel was requested (TRY_CANCEL), one failed
    from outside asking for a 0 s next retry delay."""

    @workflow.run
    async def run(self) -> list[str]:
        policy = RetryPolicy(initial_interval=timedelta(seconds=3), maximum_attempts=5)
        wait = workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
        try_ = workflow.ActivityCancellationType.TRY_CANCEL
        handles = [
            workflow.start_activity(
                h4_stubborn, "fail", activity_id=f"backoff-{name}", start_to_close_timeout=SHORT,
                retry_policy=policy, cancellation_type=kind,
            )
            for name, kind in (("wait", wait), ("try", try_))
        ]  # fmt: skip
        beat = workflow.start_activity(
            h4_stubborn, "beat", activity_id="beat", start_to_close_timeout=SHORT,
            heartbeat_timeout=SECOND, retry_policy=policy, cancellation_type=try_,
        )  # fmt: skip
        zero = workflow.start_activity(
            h4_stubborn, "zero", activity_id="zero", start_to_close_timeout=SHORT,
            retry_policy=policy,
        )  # fmt: skip
        await workflow.sleep(1)
        for handle in (*handles, beat):
            handle.cancel()
        results = await asyncio.gather(*handles, beat, zero, return_exceptions=True)
        await workflow.sleep(1.5)  # the cancelled activity's failure arrives meanwhile
        return [f"{type(r).__name__}: {r}"[:100] for r in results]


@workflow.defn
class CancelThenTimeout:
    """Two activities that never learn of their cancel (no heartbeats) and outlive a
    timeout after it: the schedule-to-close one, and the start-to-close one."""

    @workflow.run
    async def run(self) -> list[str]:
        wait = workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
        handles = [
            workflow.start_activity(
                h4_odd, "long", activity_id="s2c", schedule_to_close_timeout=s(3),
                start_to_close_timeout=s(10), cancellation_type=wait,
            ),
            workflow.start_activity(
                h4_odd, "long", activity_id="s2c-later", schedule_to_close_timeout=s(10),
                start_to_close_timeout=s(2), cancellation_type=wait,
                retry_policy=RetryPolicy(maximum_attempts=1),
            ),
        ]  # fmt: skip
        await workflow.sleep(1)
        for handle in handles:
            handle.cancel()
        results = await asyncio.gather(*handles, return_exceptions=True)
        return [f"{type(r).__name__}: {r}"[:100] for r in results]


@workflow.defn
class Unasked:
    """An activity the client reports cancelled by id though nobody asked it to cancel."""

    @workflow.run
    async def run(self) -> str:
        try:
            return await workflow.execute_activity(
                h4_odd, "unasked", activity_id="unasked", start_to_close_timeout=SHORT
            )
        except ActivityError as e:
            return f"{type(e.cause).__name__}: {e.cause}"


@workflow.defn
class FailsOddly:
    """Fails its run with a failure other than an application error, or, as "activity",
    with the uncaught ActivityError of an activity that failed with an H4Fatal."""

    @workflow.run
    async def run(self, kind: str) -> None:
        if kind == "activity":  # an uncaught ActivityError whose cause is an H4Fatal
            policy = RetryPolicy(maximum_attempts=1)
            await workflow.execute_activity(
                h4_fail, "h4fatal", start_to_close_timeout=SECOND, retry_policy=policy
            )
        raise odd(kind, workflow.info().attempt)


@workflow.defn
class Deadlines:
    """Five activities scheduled in one task: one whose backoff outruns its
    schedule-to-close timeout (shorter than its start-to-close), two whose failure's next
    retry delay does (one under a maximum interval shorter than that delay), one timing
    out on its heartbeat with one attempt allowed, one timing
    out on its heartbeat and then failing with a non-retryable type."""

    @workflow.run
    async def run(self) -> list[str]:
        three, ten, one = (timedelta(seconds=s) for s in (3, 10, 1))
        calls = [
            workflow.execute_activity(
                h4_fail, "fast", activity_id="fast", schedule_to_close_timeout=three,
                start_to_close_timeout=ten, retry_policy=RetryPolicy(initial_interval=2 * one),
            ),
            workflow.execute_activity(
                h4_fail, "delay", activity_id="delay", schedule_to_close_timeout=three
            ),
            workflow.execute_activity(
                h4_fail, "delay", activity_id="delay-capped", schedule_to_close_timeout=three,
                retry_policy=RetryPolicy(maximum_interval=one),
            ),
            workflow.execute_activity(
                h4_fail, "hang", activity_id="hang", start_to_close_timeout=ten,
                heartbeat_timeout=one, retry_policy=RetryPolicy(maximum_attempts=1),
            ),
            workflow.execute_activity(
                h4_fail, "fatal", activity_id="fatal", start_to_close_timeout=ten,
                heartbeat_timeout=one,
                retry_policy=RetryPolicy(
                    initial_interval=one / 2, non_retryable_error_types=["H4Fatal"]
                ),
            ),
        ]  # fmt: skip
        results = await asyncio.gather(*calls, return_exceptions=True)
        return [f"{type(r).__name__}: {r}"[:100] for r in results]


@workflow.defn
class FailsAlways:
    """Fails every run (the workflow's retry policy and cron schedule decide what next)."""

    @workflow.run
    async def run(self, text: str) -> None:
        raise ApplicationError(f"{text} fails (attempt {workflow.info().attempt})")


@workflow.defn
class DelayedFailure:
    """Its first attempt fails asking for a next retry delay of `seconds`; the retry
    completes."""

    @workflow.run
    async def run(self, seconds: float) -> str:
        if workflow.info().attempt == 1:
            raise ApplicationError("retry me later", next_retry_delay=timedelta(seconds=seconds))
        return f"attempt {workflow.info().attempt}"


@workflow.defn
class RetriedThenContinued:
    """Its first attempt fails; the retry continues as new; the continued run completes."""

    @workflow.run
    async def run(self, continued: bool) -> str:
        if continued:
            return f"continued run, attempt {workflow.info().attempt}"
        if workflow.info().attempt == 1:
            raise ApplicationError("the first attempt fails")
        workflow.continue_as_new(True)


@workflow.defn
class SecondTry:
    """Its first attempt fails; the retry waits for a signal (sent during its backoff)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @workflow.signal
    def s(self, text: str) -> None:
        self.seen.append(text)

    @workflow.run
    async def run(self) -> list[str]:
        if workflow.info().attempt == 1:
            raise ApplicationError("the first attempt fails")
        await workflow.wait_condition(lambda: len(self.seen) >= 2)
        return self.seen


@workflow.defn
class Kid4:
    @workflow.run
    async def run(self, n: int) -> int:
        await workflow.sleep(0.2 + (n % 3) * 0.1)
        return n


@workflow.defn
class FanOut:
    """n activities, n timers and n // 4 children, all started in the first task."""

    @workflow.run
    async def run(self, n: int) -> int:
        wid = workflow.info().workflow_id
        acts = [
            workflow.execute_activity(h4_echo, f"a{i}", start_to_close_timeout=SHORT)
            for i in range(n)
        ]
        timers = [workflow.sleep(0.5 + (i % 5) * 0.3) for i in range(n)]
        kids = [
            workflow.execute_child_workflow(Kid4.run, i, id=f"{wid}-k{i}") for i in range(n // 4)
        ]
        done = await asyncio.gather(*acts, *timers, *kids)
        return len(done)


@workflow.defn
class FailsFirstTasks:
    """Its first `n` workflow tasks fail (the worker runs unsandboxed); then an activity."""

    @workflow.run
    async def run(self, n: int) -> str:
        wid = workflow.info().workflow_id
        _SEEN[wid] = _SEEN.get(wid, 0) + 1
        if _SEEN[wid] <= n:
            raise RuntimeError(f"task {_SEEN[wid]} fails")
        return await workflow.execute_activity(h4_echo, "after", start_to_close_timeout=SHORT)


@workflow.defn
class SlowOnce:
    """Waits for a signal; the task that sees the first one blocks longer than the task
    timeout (once: the worker runs unsandboxed), then a timer and a second signal."""

    def __init__(self) -> None:
        self.n = 0

    @workflow.signal
    def poke(self) -> None:
        self.n += 1

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.n > 0)
        key = workflow.info().workflow_id + "/slow"
        if not _SEEN.get(key):
            _SEEN[key] = 1
            time.sleep(1.5)  # a worker slower than the 1 s task timeout
        await workflow.sleep(0.3)
        await workflow.wait_condition(lambda: self.n > 1)
        return self.n


@workflow.defn
class Stubborn:
    """Ignores the cancel request: runs an activity after it and completes."""

    @workflow.run
    async def run(self) -> str:
        with contextlib.suppress(asyncio.CancelledError):
            await workflow.sleep(30)
        done = await workflow.execute_activity(h4_echo, "ignored", start_to_close_timeout=SHORT)
        await workflow.sleep(0.5)
        return done


@workflow.defn
class Normalised:
    """Children, an activity and a continue-as-new whose timeouts the server caps: a
    child's run timeout over its execution timeout, task timeouts over run timeouts, an
    activity's timeouts over the run's, a continue-as-new's run timeout over its chain's
    execution timeout."""

    @workflow.run
    async def run(self, again: bool) -> str:
        wid = workflow.info().workflow_id
        if not again:
            await workflow.execute_child_workflow(Kid4.run, 0, id=wid + "-a")
            return "continued"
        await workflow.execute_child_workflow(
            Kid4.run, 1, id=wid + "-x", execution_timeout=s(5), run_timeout=s(30),
            task_timeout=s(60),
        )  # fmt: skip
        await workflow.execute_child_workflow(
            Kid4.run, 2, id=wid + "-r", run_timeout=s(10), task_timeout=s(20)
        )
        await workflow.execute_activity(
            h4_echo, "capped", schedule_to_close_timeout=s(3600), start_to_close_timeout=s(7200),
            heartbeat_timeout=s(9000),
        )  # fmt: skip
        await workflow.execute_activity(
            h4_echo, "no start-to-close", schedule_to_close_timeout=s(50),
        )  # fmt: skip
        workflow.continue_as_new(False, run_timeout=s(600), task_timeout=s(100))


HUNT4_WORKFLOWS = [
    Deadlines, FailsAlways, DelayedFailure, SecondTry, RetriedThenContinued, Kid4, FanOut,
    FailsFirstTasks, SlowOnce, Stubborn, Normalised, OddFailures, FailsOddly, Swept,
    CancelsInBackoff, CancelThenTimeout, Unasked,
]  # fmt: skip
HUNT4_ACTIVITIES: list[Callable[..., Any]] = [h4_echo, h4_fail, h4_odd, h4_stubborn]
