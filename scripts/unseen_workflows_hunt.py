"""Workflows of tests/fixtures/unseen-histories, part three (the `hunt` scenario of
record_unseen.py): races between buffered events and a run's close, workflow task
failures and timeouts of several causes, activity and child timeouts, updates, local
activities, child cancellation types, signals to self, search attributes of every type.

scripts/unseen_hunt_scenario.py drives them: it starts its own worker on the queue
`hh-hunt` and a raw poller (the API's PollWorkflowTaskQueue, answered by hand or never)
for the task timeouts. The server must
be started with the search attributes HhKw, HhText, HhInt, HhDouble, HhBool, HhTime and
HhList registered and a lowered blob size limit::

    temporal server start-dev --ip 127.0.0.1 --headless --port 17233 --http-port 17234 \\
      --dynamic-config-value limit.blobSize.error=200000 \\
      --dynamic-config-value limit.blobSize.warn=100000 \\
      --search-attribute HhKw=Keyword --search-attribute HhText=Text ... HhList=KeywordList
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import (
    RetryPolicy,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ChildWorkflowCancellationType, ParentClosePolicy

HUNT = "hh-hunt"
NEVER = "hh-hunt-nobody"  # a queue no worker polls
SHORT = timedelta(seconds=10)


@activity.defn
async def h_sleep(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@activity.defn
async def h_fail(message: str) -> str:
    raise ApplicationError(f"{message} (attempt {activity.info().attempt})", type="HuntFail")


@activity.defn
async def h_slow_fail(seconds: float) -> str:
    await asyncio.sleep(seconds)
    raise ApplicationError(f"slow failure (attempt {activity.info().attempt})")


@activity.defn
async def h_heartbeat_long(seconds: float) -> str:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        activity.heartbeat(round(end - loop.time(), 1))
        await asyncio.sleep(0.3)
    return "heartbeat done"


@workflow.defn
class RaceClose:
    """The last task runs a 2 s local activity while the client sends a signal (or the
    activity/timer started earlier finishes): `how` says how the run then closes."""

    def __init__(self) -> None:
        self.signals: list[str] = []
        self.left_pending: asyncio.Future[None] | None = None

    @workflow.signal
    def s(self, value: str) -> None:
        self.signals.append(value)

    @workflow.update
    def u(self, value: str) -> str:
        self.signals.append(value)
        return "updated"

    @workflow.run
    async def run(self, how: str) -> str:
        if how == "activity":
            workflow.start_activity(h_sleep, 0.8, start_to_close_timeout=SHORT)
        if how == "timer":
            workflow.start_activity(h_sleep, 0.0, start_to_close_timeout=SHORT)
            await asyncio.sleep(0.01)
            self.left_pending = asyncio.ensure_future(asyncio.sleep(1))
        await workflow.execute_local_activity(h_sleep, 2.0, start_to_close_timeout=SHORT)
        if how == "fail":
            raise ApplicationError("failing with a signal buffered", non_retryable=True)
        if how == "can":
            workflow.continue_as_new("done")
        if how == "done":
            return "second run"
        return f"closed with {self.signals}"


@workflow.defn
class HuntBadSearchAttribute:
    @workflow.run
    async def run(self) -> None:
        key = SearchAttributeKey.for_keyword("HhNotRegistered")
        workflow.upsert_search_attributes([key.value_set("x")])
        await asyncio.sleep(60)


@workflow.defn
class HuntBigResult:
    @workflow.run
    async def run(self, where: str) -> str:
        if where == "activity":
            await workflow.execute_activity(h_sleep, 0.0, start_to_close_timeout=SHORT)
            await workflow.execute_activity(
                "h_echo_nobody", "z" * 250_000, start_to_close_timeout=SHORT, task_queue=NEVER
            )
        return "z" * 250_000


@workflow.defn
class ActivityTimeouts:
    """schedule-to-start on an unpolled queue, schedule-to-close ending retries, and
    start-to-close retried until the attempts run out."""

    @workflow.run
    async def run(self) -> list[str]:
        out: list[str] = []
        calls = [
            workflow.execute_activity(
                "h_nobody", schedule_to_start_timeout=timedelta(seconds=1),
                start_to_close_timeout=SHORT, task_queue=NEVER,
            ),
            workflow.execute_activity(
                h_fail, "until schedule-to-close", schedule_to_close_timeout=timedelta(seconds=2),
                retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=400),
                                         backoff_coefficient=1.0),
            ),
            workflow.execute_activity(
                h_sleep, 3.0, start_to_close_timeout=timedelta(seconds=1),
                retry_policy=RetryPolicy(maximum_attempts=2,
                                         initial_interval=timedelta(milliseconds=200)),
            ),
            workflow.execute_activity(
                h_slow_fail, 0.6, schedule_to_close_timeout=timedelta(seconds=1),
                retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
            ),
        ]  # fmt: skip
        for result in await asyncio.gather(*calls, return_exceptions=True):
            out.append(type(result).__name__ + ": " + str(getattr(result, "cause", result)))
        return out


@workflow.defn
class HuntKid:
    @workflow.run
    async def run(self, how: str) -> str:
        if how == "sleep":
            await asyncio.sleep(30)
        if how == "cancel-slow":
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                await workflow.execute_activity(h_sleep, 1.0, start_to_close_timeout=SHORT)
                raise
        if how == "fail":
            raise ApplicationError("the kid fails", non_retryable=False)
        return how


@workflow.defn
class ChildTimeouts:
    """a child with a 1 s run timeout and two attempts; one with a run timeout and none."""

    @workflow.run
    async def run(self) -> list[str]:
        out = []
        for suffix, retry in (("-retry", RetryPolicy(maximum_attempts=2)), ("-once", None)):
            try:
                await workflow.execute_child_workflow(
                    HuntKid.run, "sleep", id=workflow.info().workflow_id + suffix,
                    run_timeout=timedelta(seconds=1), retry_policy=retry,
                )  # fmt: skip
            except Exception as e:
                out.append(f"{type(e).__name__}: {getattr(e, 'cause', None)!r}")
        return out


@workflow.defn
class ChildCancelTypes:
    """children started, then cancelled with each cancellation type."""

    @workflow.run
    async def run(self) -> list[str]:
        wid = workflow.info().workflow_id
        kinds = [
            ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
            ChildWorkflowCancellationType.WAIT_CANCELLATION_REQUESTED,
            ChildWorkflowCancellationType.ABANDON,
            ChildWorkflowCancellationType.TRY_CANCEL,
        ]
        handles = []
        for i, kind in enumerate(kinds):
            handles.append(
                await workflow.start_child_workflow(
                    HuntKid.run,
                    "cancel-slow",
                    id=f"{wid}-{i}",
                    cancellation_type=kind,
                    parent_close_policy=ParentClosePolicy.ABANDON,
                )
            )
        await asyncio.sleep(0.5)
        out = []
        for h in handles:
            h.cancel()
            try:
                await h
            except Exception as e:
                out.append(type(e).__name__)
        return out


@workflow.defn
class SelfSignals:
    """signals its own run, signals a closed run, asks its own run to cancel."""

    def __init__(self) -> None:
        self.got: list[str] = []

    @workflow.signal
    def s(self, value: str) -> None:
        self.got.append(value)

    @workflow.run
    async def run(self, closed_id: str) -> list[str]:
        me = workflow.get_external_workflow_handle(workflow.info().workflow_id)
        await me.signal(SelfSignals.s, "from myself")
        await workflow.wait_condition(lambda: bool(self.got))
        with contextlib.suppress(Exception):
            await workflow.get_external_workflow_handle(closed_id).signal("s", "too late")
        with contextlib.suppress(Exception):
            await workflow.get_external_workflow_handle(closed_id).cancel()
        await me.cancel()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            return [*self.got, "cancelled by myself"]
        return self.got


KW = SearchAttributeKey.for_keyword("HhKw")
TEXT = SearchAttributeKey.for_text("HhText")
INT = SearchAttributeKey.for_int("HhInt")
DOUBLE = SearchAttributeKey.for_float("HhDouble")
BOOL = SearchAttributeKey.for_bool("HhBool")
TIME = SearchAttributeKey.for_datetime("HhTime")
LIST = SearchAttributeKey.for_keyword_list("HhList")


@workflow.defn
class SearchAttributesAll:
    @workflow.run
    async def run(self) -> str:
        when = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
        workflow.upsert_search_attributes(
            [KW.value_set("k"), TEXT.value_set("some text"), INT.value_set(42),
             DOUBLE.value_set(2.5), BOOL.value_set(True), TIME.value_set(when),
             LIST.value_set(["a", "b"])]
        )  # fmt: skip
        await asyncio.sleep(0.1)
        workflow.upsert_search_attributes(
            [INT.value_set(43), LIST.value_unset(), BOOL.value_set(False)]
        )
        await workflow.execute_child_workflow(
            HuntKid.run, "typed", id=workflow.info().workflow_id + "-c",
            search_attributes=TypedSearchAttributes([SearchAttributePair(KW, "child")]),
        )  # fmt: skip
        return "upserted"


@workflow.defn
class UpdatesHunt:
    def __init__(self) -> None:
        self.n = 0
        self.release = False

    @workflow.update
    async def add(self, k: int) -> int:
        if k < 0:
            raise ApplicationError("negative, failed after acceptance")
        self.n += k
        return self.n

    @workflow.signal
    def go(self) -> None:
        self.release = True

    @workflow.run
    async def run(self, can: int) -> int:
        await workflow.execute_local_activity(h_sleep, 1.5, start_to_close_timeout=SHORT)
        await workflow.wait_condition(lambda: self.release)
        if can:
            await workflow.wait_condition(workflow.all_handlers_finished)
            workflow.continue_as_new(0)
        return self.n


@workflow.defn
class LocalHunt:
    """a local activity longer than the task timeout (tasks extended by heartbeats), a
    local activity failing over several tasks, and one cancelled."""

    @workflow.run
    async def run(self) -> list[str]:
        out = [await workflow.execute_local_activity(h_sleep, 5.0, start_to_close_timeout=SHORT)]
        try:
            await workflow.execute_local_activity(
                h_fail, "local", start_to_close_timeout=SHORT,
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1),
                                         backoff_coefficient=2.0, maximum_attempts=4),
                local_retry_threshold=timedelta(seconds=1),
            )  # fmt: skip
        except Exception as e:
            out.append(type(e).__name__)
        h = workflow.start_local_activity(h_sleep, 5.0, start_to_close_timeout=SHORT)
        await asyncio.sleep(1)
        h.cancel()
        try:
            await h
        except Exception as e:
            out.append(type(e).__name__)
        return out


@workflow.defn
class RetriedRun:
    """fails its first attempt; the server retries the workflow as a new run."""

    @workflow.run
    async def run(self) -> str:
        if workflow.info().attempt < 2:
            raise ApplicationError("first attempt fails")
        return f"attempt {workflow.info().attempt}"


@workflow.defn
class WaitForever:
    def __init__(self) -> None:
        self.done = False

    @workflow.signal
    def s(self, value: str) -> None:
        self.done = value == "stop"

    @workflow.query
    def state(self) -> bool:
        return self.done

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done)
        return "stopped"


@workflow.defn
class OpenActivity:
    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity(h_sleep, 3.0, start_to_close_timeout=SHORT)
        return "done"


@workflow.defn
class CronShort:
    @workflow.run
    async def run(self) -> str:
        await asyncio.sleep(1)
        return "tick"


@activity.defn
async def h_heartbeat_flaky() -> str:
    """Attempt 1 heartbeats once with details, then goes silent past its heartbeat
    timeout; attempt 2 reads the details and finishes."""
    info = activity.info()
    if info.attempt == 1:
        activity.heartbeat("half way")
        await asyncio.sleep(2.5)
    return f"attempt {info.attempt} saw {list(info.heartbeat_details)}"


@workflow.defn
class RaceSecond:
    """The first task starts a 1 s activity; the second (woken by a 0.2 s timer) runs a
    2 s local activity, during which the activity completes (or the client cancels),
    then ends the run as `how` says."""

    @workflow.run
    async def run(self, how: str) -> str:
        workflow.start_activity(h_sleep, 1.0, start_to_close_timeout=SHORT)
        await asyncio.sleep(0.2)
        await workflow.execute_local_activity(h_sleep, 2.0, start_to_close_timeout=SHORT)
        if how == "fail":
            raise ApplicationError("failing with an activity result buffered")
        if how == "can":
            workflow.continue_as_new("done")
        return how


@workflow.defn
class KidTwice:
    """Starts a child whose id is already running: StartChildWorkflowExecutionFailed."""

    @workflow.run
    async def run(self, busy_id: str) -> str:
        try:
            await workflow.start_child_workflow(HuntKid.run, "sleep", id=busy_id)
        except Exception as e:
            return type(e).__name__
        return "started"


@workflow.defn
class CancelSelf:
    """Asks its own run to cancel, then signals and cancels a closed run."""

    @workflow.run
    async def run(self, closed_id: str) -> list[str]:
        out = []
        for step in ("signal", "cancel"):
            other = workflow.get_external_workflow_handle(closed_id)
            try:
                await (other.signal("s", "late") if step == "signal" else other.cancel())
            except Exception as e:
                out.append(f"{step}: {type(e).__name__}")
        me = workflow.get_external_workflow_handle(workflow.info().workflow_id)
        try:
            await me.cancel()
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            out.append("cancelled")
        except Exception as e:
            out.append(f"self: {type(e).__name__}")
        return out


@workflow.defn
class HeartbeatRetry:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            h_heartbeat_flaky, start_to_close_timeout=SHORT,
            heartbeat_timeout=timedelta(seconds=1),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200)),
        )  # fmt: skip


@workflow.defn
class EagerOne:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(h_sleep, 0.1, start_to_close_timeout=SHORT)


@workflow.defn
class UpdateLate:
    """The last task runs a 2 s local activity and continues as new (or the handler of
    an update runs one while the history is read)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @workflow.update
    async def u(self, value: str) -> str:
        if value == "slow":
            await workflow.execute_local_activity(h_sleep, 2.0, start_to_close_timeout=SHORT)
        self.seen.append(value)
        return f"run saw {self.seen}"

    @workflow.signal
    def s(self, value: str) -> None:
        self.seen.append(value)

    @workflow.run
    async def run(self, how: str) -> list[str]:
        if how == "can":
            await workflow.execute_local_activity(h_sleep, 2.0, start_to_close_timeout=SHORT)
            workflow.continue_as_new("next")
        await workflow.wait_condition(lambda: "stop" in self.seen)
        return self.seen


@workflow.defn
class ResetPending:
    """A timer and an activity pending when the run is reset to its first task."""

    def __init__(self) -> None:
        self.done = False

    @workflow.signal
    def s(self, value: str) -> None:
        self.done = value == "stop"

    @workflow.run
    async def run(self) -> str:
        timer = asyncio.ensure_future(asyncio.sleep(60))
        act = workflow.start_activity(h_sleep, 30.0, start_to_close_timeout=timedelta(minutes=2))
        await workflow.wait_condition(lambda: self.done)
        timer.cancel()
        act.cancel()
        return "reset and stopped"


HUNT_WORKFLOWS = [
    RaceClose, HuntBadSearchAttribute, HuntBigResult, ActivityTimeouts, HuntKid,
    ChildTimeouts, ChildCancelTypes, SelfSignals, SearchAttributesAll, UpdatesHunt,
    LocalHunt, RetriedRun, WaitForever, OpenActivity, CronShort, RaceSecond, KidTwice,
    CancelSelf, HeartbeatRetry, EagerOne, UpdateLate, ResetPending,
]  # fmt: skip
HUNT_ACTIVITIES: list[Callable[..., Any]] = [
    h_sleep,
    h_fail,
    h_slow_fail,
    h_heartbeat_long,
    h_heartbeat_flaky,
]
