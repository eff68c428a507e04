"""Workflows of tests/fixtures/unseen-histories, part five (the `hunt3` scenario of
record_unseen.py): the history size's suggest-continue-as-new flag (alone and with the
count's), starts and update-with-start under ALLOW_DUPLICATE_FAILED_ONLY and
TERMINATE_IF_RUNNING, a parent continuing as new with children running (each parent
close policy) and grandchildren started in one task, chains of resets, cron runs that
fail, time out, continue as new or are signalled, a workflow retry policy naming a
non-retryable type, signals and cancels to a child, to a continued id and to a run
closing at once, local activities retried past the task timeout and beside timers,
memo and search attribute upserts in the task that continues as new, and workflows
whose tasks fail, or are failed and held by a raw poller, while signals, updates,
timers and activities arrive (unseen_hunt3_raw.py).

The scenario starts its own worker on `hh-hunt3`. Most parts run on a dev server with
the keyword search attribute HhKw registered::

    temporal server start-dev --ip 127.0.0.1 --headless --port 17233 --http-port 17234 \\
      --search-attribute HhKw=Keyword

The `sizes` part needs a second server with low history limits (HUNT3_PARTS=sizes)::

    temporal server start-dev --ip 127.0.0.1 --headless --port 17243 --http-port 17244 \\
      --dynamic-config-value limit.historySize.suggestContinueAsNew=6000 \\
      --dynamic-config-value limit.historySize.warn=4000 \\
      --dynamic-config-value limit.historyCount.suggestContinueAsNew=40
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import Priority, RetryPolicy, SearchAttributeKey, SearchAttributePair
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ParentClosePolicy

HUNT3 = "hh-hunt3"
SHORT = timedelta(seconds=20)
KW = SearchAttributeKey.for_keyword("HhKw")


@activity.defn
async def h3_echo(text: str) -> str:
    return text


@activity.defn
async def h3_beat(seconds: float) -> str:
    for i in range(int(seconds / 0.3)):
        activity.heartbeat(i)
        await asyncio.sleep(0.3)
    return "beaten"


@activity.defn
async def h3_flaky_local(times: int) -> str:
    attempt = activity.info().attempt
    await asyncio.sleep(0.4)
    if attempt <= times:
        raise ApplicationError(f"local flaky (attempt {attempt})")
    return f"local done at attempt {attempt}"


@workflow.defn
class Growing:
    """Activities with 500-byte results until the task says continue-as-new is
    suggested, then a continue-as-new (once); the continued run completes."""

    @workflow.run
    async def run(self, again: bool) -> list[str]:
        seen: list[str] = []
        for i in range(60):
            info = workflow.info()
            if info.is_continue_as_new_suggested():
                seen.append(f"suggested at {i} ({info.get_current_history_size()} bytes)")
                if again:
                    workflow.continue_as_new(False)
                return seen
            await workflow.execute_activity(h3_echo, "x" * 500, start_to_close_timeout=SHORT)
        return seen


@workflow.defn
class Counting:
    """Small timers past the count level, then large activities past the size level: the
    later tasks carry both reasons."""

    @workflow.run
    async def run(self) -> list[str]:
        for _ in range(22):
            await workflow.sleep(0.01)
        for _ in range(8):
            await workflow.execute_activity(h3_echo, "y" * 700, start_to_close_timeout=SHORT)
        return ["suggested" if workflow.info().is_continue_as_new_suggested() else "not"]


@workflow.defn
class Outcome:
    """Completes, fails or waits for a signal, as its argument says."""

    def __init__(self) -> None:
        self.go = False

    @workflow.signal
    def release(self) -> None:
        self.go = True

    @workflow.update
    async def poke(self, n: int) -> int:
        return n + 1

    @workflow.run
    async def run(self, how: str) -> str:
        if how == "fail":
            raise ApplicationError("failed on purpose", type="Planned")
        if how == "wait":
            await workflow.wait_condition(lambda: self.go)
        return how


@workflow.defn
class Idle:
    """A child that waits for a signal, or for its cancel."""

    def __init__(self) -> None:
        self.go = False

    @workflow.signal
    def release(self) -> None:
        self.go = True

    @workflow.run
    async def run(self, spawn: int) -> str:
        for i in range(spawn):
            await workflow.start_child_workflow(
                Idle.run, 0, id=f"{workflow.info().workflow_id}-g{i}",
                parent_close_policy=ParentClosePolicy.TERMINATE,
            )  # fmt: skip
        try:
            await workflow.wait_condition(lambda: self.go)
        except asyncio.CancelledError:
            await workflow.sleep(0.2)
            raise
        return "released"


@workflow.defn
class Breeder:
    """Starts three children in one task (each with two grandchildren of its own, started
    in one task), one per parent close policy, then continues as new while they run; the
    continued run signals and cancels them by id and completes."""

    @workflow.run
    async def run(self, first: bool) -> str:
        me = workflow.info().workflow_id
        policies = [ParentClosePolicy.TERMINATE, ParentClosePolicy.REQUEST_CANCEL,
                    ParentClosePolicy.ABANDON]  # fmt: skip
        if first:
            starts = [
                workflow.start_child_workflow(Idle.run, 2, id=f"{me}-k{i}", parent_close_policy=p)
                for i, p in enumerate(policies)
            ]
            await asyncio.gather(*starts)
            await workflow.sleep(0.5)
            workflow.continue_as_new(False)
        await workflow.sleep(0.5)
        for i in range(3):
            handle = workflow.get_external_workflow_handle(f"{me}-k{i}")
            try:
                await handle.signal(Idle.release)
            except Exception as e:
                workflow.logger.info("signal %s: %s", i, e)
        return "continued"


@workflow.defn
class Caller:
    """Signals and cancels its own running child by id, signals a workflow id whose run
    continued as new (no run id), and cancels a run that closes as the request lands."""

    @workflow.run
    async def run(self, other: str) -> list[str]:
        me = workflow.info().workflow_id
        got: list[str] = []
        kid = await workflow.start_child_workflow(Idle.run, 0, id=f"{me}-kid")
        external = workflow.get_external_workflow_handle(f"{me}-kid")
        await external.signal(Idle.release)
        got.append(await kid)
        kid2 = await workflow.start_child_workflow(Idle.run, 0, id=f"{me}-kid2")
        await workflow.get_external_workflow_handle(f"{me}-kid2").cancel()
        try:
            await kid2
        except Exception as e:
            got.append(f"kid2: {type(e.__cause__).__name__}")
        chain = workflow.get_external_workflow_handle(other)
        await chain.signal(Idle.release)
        got.append("signalled the continued id")
        closer = await workflow.start_child_workflow(Outcome.run, "now", id=f"{me}-closer")
        await asyncio.sleep(0)
        try:
            await workflow.get_external_workflow_handle(f"{me}-closer").cancel()
            got.append("cancel to the closing run accepted")
        except Exception as e:
            got.append(f"cancel to the closing run: {e}")
        got.append(await closer)
        return got


@workflow.defn
class Hopper:
    """Continues as new once, then waits for a signal."""

    def __init__(self) -> None:
        self.go = False

    @workflow.signal
    def release(self) -> None:
        self.go = True

    @workflow.run
    async def run(self, first: bool) -> str:
        if first:
            await workflow.sleep(0.1)
            workflow.continue_as_new(False)
        await workflow.wait_condition(lambda: self.go)
        return "released after continuing"


@workflow.defn
class CronRun:
    """A cron run that fails, sleeps past its run timeout, continues as new or completes
    with the signals it saw, as its input says."""

    def __init__(self) -> None:
        self.signals: list[str] = []

    @workflow.signal
    def s(self, text: str) -> None:
        self.signals.append(text)

    @workflow.run
    async def run(self, how: str) -> str:
        await workflow.sleep(0.2)
        if how == "fail":
            raise ApplicationError("a cron run fails", type="CronFail")
        if how == "slow":
            await workflow.sleep(30)
        if how == "can":
            workflow.continue_as_new("done")
        return f"{how} {self.signals}"


@workflow.defn
class Picky:
    """Fails with the type its retry policy names non-retryable, or a retryable one."""

    @workflow.run
    async def run(self, kind: str) -> str:
        await workflow.sleep(0.1)
        if workflow.info().attempt < 3:
            raise ApplicationError(f"attempt {workflow.info().attempt}", type=kind)
        return "third time"


@workflow.defn
class LocalPast:
    """With a 1 s task timeout: a local activity that fails twice (0.4 s each) and
    retries past the task timeout; then local activities beside timers."""

    @workflow.run
    async def run(self) -> list[str]:
        got = [
            await workflow.execute_local_activity(
                h3_flaky_local,
                2,
                start_to_close_timeout=SHORT,
                retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=300)),
            )
        ]
        both = await asyncio.gather(
            workflow.execute_local_activity(h3_flaky_local, 0, start_to_close_timeout=SHORT),
            workflow.sleep(0.3),
            workflow.execute_local_activity(h3_echo, "beside", start_to_close_timeout=SHORT),
            workflow.sleep(1.5),
        )
        got += [str(x) for x in both]
        return got


@workflow.defn
class UpsertThenGo:
    """Upserts memo and HhKw in the task that continues as new."""

    @workflow.run
    async def run(self, first: bool) -> str:
        if first:
            await workflow.sleep(0.1)
            workflow.upsert_memo({"stage": "leaving", "gone": None})
            workflow.upsert_search_attributes([KW.value_set("on-the-way-out")])
            workflow.continue_as_new(
                False, memo={"stage": "arrived"},
                search_attributes=workflow.info().typed_search_attributes.updated(
                    SearchAttributePair(KW, "carried")
                ),
            )  # fmt: skip
        return "arrived"


@workflow.defn
class Resettable3:
    """A child, an activity heartbeating, signals and updates, for resets."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.done = False

    @workflow.signal
    def s(self, text: str) -> None:
        self.seen.append(text)
        if text == "done":
            self.done = True

    @workflow.update
    async def u(self, text: str) -> list[str]:
        self.seen.append("u:" + text)
        return self.seen

    @workflow.run
    async def run(self, beat: float) -> list[str]:
        me = workflow.info().workflow_id
        await workflow.sleep(0.3)
        if beat:
            await workflow.execute_activity(
                h3_beat, beat, start_to_close_timeout=SHORT, heartbeat_timeout=timedelta(seconds=2)
            )
        kid = await workflow.start_child_workflow(
            Outcome.run, "now", id=f"{me}-kid-{workflow.info().run_id[:8]}"
        )
        self.seen.append(await kid)
        await workflow.wait_condition(lambda: self.done)
        return self.seen


@workflow.defn
class FailsOnce:
    """Its first workflow task fails (a bug fixed by the retry of the task)."""

    def __init__(self) -> None:
        self.done = False

    @workflow.signal
    def s(self, text: str) -> None:
        if text == "done":
            self.done = True

    @workflow.run
    async def run(self) -> str:
        if workflow.info().run_id not in _FAILED:  # the worker runs unsandboxed
            _FAILED.add(workflow.info().run_id)
            raise RuntimeError("a bug the next attempt does not hit")
        await workflow.sleep(0.2)
        await workflow.wait_condition(lambda: self.done)
        return "done"


_FAILED: set[str] = set()


@workflow.defn
class Prioritized:
    """Started with a priority: an activity without one, an activity with its own, a
    child without one, then a continue-as-new without one."""

    @workflow.run
    async def run(self, first: bool) -> str:
        if not first:
            return str(workflow.info().priority)
        await workflow.execute_activity(h3_echo, "plain", start_to_close_timeout=SHORT)
        await workflow.execute_activity(
            h3_echo, "own", start_to_close_timeout=SHORT,
            priority=Priority(priority_key=4, fairness_key="act", fairness_weight=2.0),
        )  # fmt: skip
        await workflow.execute_child_workflow(
            Outcome.run, "now", id=f"{workflow.info().workflow_id}-kid"
        )
        workflow.continue_as_new(False)


@workflow.defn
class Abandoner:
    """An update whose handler waits forever: the run completes while it is accepted
    and unfinished; many signals arrive while a local activity runs."""

    def __init__(self) -> None:
        self.go = False
        self.count = 0

    @workflow.signal
    def tick(self) -> None:
        self.count += 1

    @workflow.signal
    def release(self) -> None:
        self.go = True

    @workflow.update(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def hang(self) -> str:
        await workflow.wait_condition(lambda: False)
        return "never"

    @hang.validator
    def check(self) -> None:
        if self.count < 0:
            raise ValueError("never")

    @workflow.update
    async def picky(self, n: int) -> int:
        return n

    @picky.validator
    def refuse_negative(self, n: int) -> None:
        if n < 0:
            raise ValueError("negative")

    @workflow.run
    async def run(self, local: float) -> int:
        if local:
            await workflow.execute_local_activity(h3_beat, local, start_to_close_timeout=SHORT)
        await workflow.wait_condition(lambda: self.go)
        return self.count


@workflow.defn
class LocalOut:
    """A local activity failing every attempt until its schedule-to-close timeout."""

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_local_activity(
                h3_flaky_local, 99, schedule_to_close_timeout=timedelta(seconds=2),
                retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200)),
            )  # fmt: skip
        except Exception as e:
            return f"gave up: {type(e.__cause__).__name__}"
        return "no"


@workflow.defn
class Broken:
    """Its tasks fail until a signal fixes it; an update whose handler fails the task it
    runs in once; a timer cancelled after it fired while a local activity held the
    task."""

    def __init__(self) -> None:
        self.fixed = False
        self.done = False

    @workflow.signal
    def fix(self) -> None:
        self.fixed = True

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.update
    async def flaky(self, key: str) -> str:
        if key not in _FAILED:  # the worker runs unsandboxed
            _FAILED.add(key)
            raise RuntimeError("the update's handler fails its task once")
        return "updated"

    @workflow.run
    async def run(self, mode: str) -> str:
        if mode == "until-fixed" and not self.fixed:
            raise RuntimeError("broken until the fix signal")
        if mode == "fired-cancel":
            timer = asyncio.ensure_future(workflow.sleep(1))
            await workflow.execute_local_activity(h3_beat, 2.0, start_to_close_timeout=SHORT)
            timer.cancel()
            await workflow.sleep(0.2)
        await workflow.wait_condition(lambda: self.done)
        return mode


@workflow.defn
class BreaksLater:
    """Starts a timer and an activity, then its tasks fail after a `brk` signal until a
    `fix` signal: the timer fires and the activity completes while the SDK holds the
    failing retries (it reports only a first attempt's failure)."""

    def __init__(self) -> None:
        self.broken = False
        self.fixed = False

    @workflow.signal
    def brk(self) -> None:
        self.broken = True

    @workflow.signal
    def fix(self) -> None:
        self.fixed = True

    @workflow.run
    async def run(self) -> str:
        timer = asyncio.ensure_future(workflow.sleep(2))
        act = workflow.start_activity(h3_beat, 3.0, start_to_close_timeout=SHORT)
        await workflow.wait_condition(lambda: self.broken)
        if not self.fixed:
            raise RuntimeError("broken until fixed")
        await asyncio.gather(timer, act)
        return "fixed"


@workflow.defn
class BeatsElsewhere:
    """An activity on another task queue that heartbeats for 6 s, and an update."""

    def __init__(self) -> None:
        self.done = False

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.update
    async def poke(self) -> str:
        return "poked"

    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity(
            h3_beat, 6.0, task_queue="hh3-beats-acts", start_to_close_timeout=SHORT,
            heartbeat_timeout=timedelta(seconds=5),
        )  # fmt: skip
        await workflow.wait_condition(lambda: self.done)
        return "done"


HUNT3_WORKFLOWS = [
    BeatsElsewhere,
    BreaksLater,
    Broken,
    Growing,
    Counting,
    Outcome,
    Idle,
    Breeder,
    Caller,
    Hopper,
    CronRun,
    Picky,
    LocalPast,
    UpsertThenGo,
    Resettable3,
    FailsOnce,
    Prioritized,
    Abandoner,
    LocalOut,
]
HUNT3_ACTIVITIES: list[Callable[..., Any]] = [h3_echo, h3_beat, h3_flaky_local]
