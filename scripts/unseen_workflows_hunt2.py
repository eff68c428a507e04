"""Workflows of tests/fixtures/unseen-histories, part four (the `hunt2` scenario of
record_unseen.py): activities completed and heartbeated from outside by task token and
by id, a failure's next retry delay, retries capped by the maximum interval, a
non-retryable workflow failure under a retry policy, patches, memo upserts and a search
attribute removed, a continue-as-new to another queue and type, a signal during a start
delay, an update the validator rejects, a cancel with an activity and a child of
different cancellation types, and the history count's suggest-continue-as-new flag.

The scenario starts its own worker on `hh-hunt2` (and `hh-hunt2-next`). The server must
be started with the keyword search attribute HhKw registered and a low history count
for suggestContinueAsNew::

    temporal server start-dev --ip 127.0.0.1 --headless --port 17233 --http-port 17234 \\
      --dynamic-config-value limit.historyCount.suggestContinueAsNew=20 \\
      --search-attribute HhKw=Keyword
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import (
    RetryPolicy,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ActivityCancellationType, ChildWorkflowCancellationType

HUNT2 = "hh-hunt2"
NEXT = "hh-hunt2-next"
SHORT = timedelta(seconds=20)
KW = SearchAttributeKey.for_keyword("HhKw")
TOKENS: dict[str, bytes] = {}


@activity.defn
async def h2_async(key: str) -> str:
    TOKENS[key] = activity.info().task_token
    activity.raise_complete_async()


@activity.defn
async def h2_next_delay(times: int) -> str:
    attempt = activity.info().attempt
    if attempt <= times:
        raise ApplicationError(
            f"wait then retry (attempt {attempt})", next_retry_delay=timedelta(milliseconds=700)
        )
    return f"done at attempt {attempt}"


@activity.defn
async def h2_next_delay_long(times: int) -> str:
    attempt = activity.info().attempt
    if attempt <= times:
        raise ApplicationError(
            f"wait longer (attempt {attempt})", next_retry_delay=timedelta(milliseconds=1500)
        )
    return f"done at attempt {attempt}"


@activity.defn
async def h2_flaky(times: int) -> str:
    attempt = activity.info().attempt
    if attempt <= times:
        raise ApplicationError(f"flaky (attempt {attempt})")
    return f"done at attempt {attempt}"


@activity.defn
async def h2_wait_cancel(seconds: float) -> str:
    try:
        for _ in range(int(seconds / 0.2)):
            activity.heartbeat()
            await asyncio.sleep(0.2)
    except asyncio.CancelledError:
        await asyncio.sleep(0.3)
        raise
    return "not cancelled"


@workflow.defn
class AsyncDone:
    """Three activities that complete asynchronously: by token, by id, failed by id."""

    @workflow.run
    async def run(self) -> list[str]:
        got: list[str] = []
        for key in ("token", "id", "fail"):
            once = RetryPolicy(maximum_attempts=1)
            try:
                done = await workflow.execute_activity(
                    h2_async, key, activity_id=key, start_to_close_timeout=SHORT,
                    heartbeat_timeout=SHORT, retry_policy=once,
                )  # fmt: skip
                got.append(done)
            except Exception as e:
                got.append(f"failed: {e.__cause__}")
        return got


@workflow.defn
class RetryDelays:
    """A failure's next_retry_delay, then retries capped by maximum_interval."""

    @workflow.run
    async def run(self) -> list[str]:
        first = await workflow.execute_activity(
            h2_next_delay, 2, start_to_close_timeout=SHORT,
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )  # fmt: skip
        capped = RetryPolicy(
            initial_interval=timedelta(milliseconds=100), backoff_coefficient=4.0,
            maximum_interval=timedelta(milliseconds=300), maximum_attempts=5,
        )  # fmt: skip
        second = await workflow.execute_activity(
            h2_flaky, 3, start_to_close_timeout=SHORT, retry_policy=capped
        )
        return [first, second]


@workflow.defn
class NonRetryable:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(0.1)
        raise ApplicationError("no retry for this one", type="Final", non_retryable=True)


@workflow.defn
class Patched:
    """patched and deprecate_patch in one run, memo upserts, HhKw set then removed."""

    @workflow.run
    async def run(self) -> str:
        out = "new" if workflow.patched("p-one") else "old"
        workflow.deprecate_patch("p-two")
        workflow.upsert_memo({"stage": "one", "n": 1})
        workflow.upsert_search_attributes([KW.value_set("kw-one")])
        await workflow.sleep(0.1)
        workflow.upsert_memo({"stage": "two", "n": None})
        workflow.upsert_search_attributes([KW.value_unset()])
        await workflow.sleep(0.1)
        if workflow.patched("p-three"):
            out += "+three"
        return out


@workflow.defn
class Mover:
    """Continues as new as Landed on another task queue."""

    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(0.1)
        workflow.continue_as_new(args=["landed"], workflow="Landed", task_queue=NEXT)


@workflow.defn(name="Landed")
class Landed:
    @workflow.run
    async def run(self, arg: str) -> str:
        await workflow.sleep(0.1)
        return f"landed with {arg}"


@workflow.defn
class Delayed:
    def __init__(self) -> None:
        self.got: list[str] = []

    @workflow.signal
    def s(self, value: str) -> None:
        self.got.append(value)

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: "stop" in self.got)
        return self.got


@workflow.defn
class Guarded:
    def __init__(self) -> None:
        self.total = 0
        self.done = False

    @workflow.update
    def add(self, n: int) -> int:
        self.total += n
        return self.total

    @add.validator
    def check(self, n: int) -> None:
        if n < 0:
            raise ValueError("negative")

    @workflow.signal
    def stop(self) -> None:
        self.done = True

    @workflow.query
    def state(self) -> int:
        return self.total

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.total


@workflow.defn
class Kid:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.sleep(60)
        except asyncio.CancelledError:
            await workflow.sleep(0.3)
            raise
        return "slept"


@workflow.defn
class CancelMixed:
    """Cancelled while an activity (WAIT_CANCELLATION_COMPLETED), an activity (TRY_CANCEL)
    and a child (WAIT_CANCELLATION_REQUESTED) run."""

    @workflow.run
    async def run(self) -> str:
        a = workflow.start_activity(
            h2_wait_cancel, 30.0, start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=timedelta(seconds=2),
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )  # fmt: skip
        b = workflow.start_activity(
            h2_wait_cancel, 30.0, start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=timedelta(seconds=2),
            cancellation_type=ActivityCancellationType.TRY_CANCEL,
        )  # fmt: skip
        kid = await workflow.start_child_workflow(
            Kid.run, id=workflow.info().workflow_id + "-kid",
            cancellation_type=ChildWorkflowCancellationType.WAIT_CANCELLATION_REQUESTED,
        )  # fmt: skip
        try:
            await asyncio.gather(a, b, kid)
        except asyncio.CancelledError:
            for t in (a, b, kid):
                with contextlib.suppress(BaseException):
                    await t
            raise
        return "not cancelled"


@workflow.defn
class CancelAbandon:
    """Cancelled while an activity and a child, both ABANDON, run."""

    @workflow.run
    async def run(self) -> str:
        a = workflow.start_activity(
            h2_wait_cancel, 3.0, start_to_close_timeout=timedelta(seconds=60),
            cancellation_type=ActivityCancellationType.ABANDON,
        )  # fmt: skip
        kid = await workflow.start_child_workflow(
            Kid.run, id=workflow.info().workflow_id + "-kid",
            cancellation_type=ChildWorkflowCancellationType.ABANDON,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )  # fmt: skip
        await asyncio.gather(a, kid)
        return "not cancelled"


@workflow.defn
class OutOfTime:
    """Starts a child and an activity that outlive the run's execution timeout."""

    @workflow.run
    async def run(self) -> str:
        a = workflow.start_activity(
            h2_wait_cancel, 10.0, start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=timedelta(seconds=2),
        )  # fmt: skip
        kid = await workflow.start_child_workflow(Kid.run, id=workflow.info().workflow_id + "-kid")
        await asyncio.gather(a, kid)
        return "in time"


@workflow.defn
class LocalDelay:
    """A local activity whose failures ask for a 1.5 s next retry delay, over the local
    retry threshold of 1 s: the SDK waits on a workflow timer between attempts."""

    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_local_activity(
            h2_next_delay_long, 2, start_to_close_timeout=SHORT,
            local_retry_threshold=timedelta(seconds=1),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )  # fmt: skip


@workflow.defn
class SilentAsync:
    """An activity that completes asynchronously but nobody completes or heartbeats it:
    it times out on its 1 s heartbeat timeout, is retried once, and times out again."""

    @workflow.run
    async def run(self) -> str:
        try:
            return await workflow.execute_activity(
                h2_async, "silent", start_to_close_timeout=SHORT,
                heartbeat_timeout=timedelta(seconds=1),
                retry_policy=RetryPolicy(maximum_attempts=2,
                                         initial_interval=timedelta(milliseconds=200)),
            )  # fmt: skip
        except Exception as e:
            return f"failed: {e.__cause__}"


@workflow.defn
class CanCarries:
    """Continues as new once with a new memo and search attributes."""

    @workflow.run
    async def run(self, first: bool) -> str:
        await workflow.sleep(0.05)
        if first:
            workflow.continue_as_new(
                args=[False], memo={"carried": "yes", "round": 2},
                search_attributes=TypedSearchAttributes([SearchAttributePair(KW, "carried")]),
            )  # fmt: skip
        return "second run"


@workflow.defn
class Longish:
    """Timers until the server suggests continue-as-new, then continues once."""

    @workflow.run
    async def run(self, again: bool) -> int:
        n = 0
        while not workflow.info().is_continue_as_new_suggested() and n < 40:
            await workflow.sleep(0.01)
            n += 1
        if again:
            workflow.continue_as_new(False)
        return n


@workflow.defn(name="Changing")
class ChangingOld:
    """The first version: a timer, then waits for a signal."""

    def __init__(self) -> None:
        self.done = False

    @workflow.signal
    def s(self) -> None:
        self.done = True

    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(0.2)
        await workflow.wait_condition(lambda: self.done)
        return "old"


@workflow.defn(name="Changing")
class ChangingNew:
    """The changed version: an activity where the timer was (non-determinism)."""

    def __init__(self) -> None:
        self.done = False

    @workflow.signal
    def s(self) -> None:
        self.done = True

    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity(h2_flaky, 0, start_to_close_timeout=SHORT)
        await workflow.wait_condition(lambda: self.done)
        return "new"


@workflow.defn(name="Patching")
class PatchingOld:
    """The patched version: a marker, then a timer, then waits for a signal."""

    def __init__(self) -> None:
        self.done = False

    @workflow.signal
    def s(self) -> None:
        self.done = True

    @workflow.run
    async def run(self) -> str:
        if workflow.patched("p-move"):
            await workflow.sleep(0.2)
        await workflow.wait_condition(lambda: self.done)
        return "patched"


@workflow.defn(name="Patching")
class PatchingNew:
    """The next version: the patch deprecated, the new code only."""

    def __init__(self) -> None:
        self.done = False

    @workflow.signal
    def s(self) -> None:
        self.done = True

    @workflow.run
    async def run(self) -> str:
        workflow.deprecate_patch("p-move")
        await workflow.sleep(0.2)
        await workflow.wait_condition(lambda: self.done)
        await workflow.sleep(0.1)
        return "deprecated"


@workflow.defn
class Chain:
    """A child that continues as new `left` times."""

    @workflow.run
    async def run(self, left: int) -> str:
        await workflow.sleep(0.05)
        if left:
            workflow.continue_as_new(left - 1)
        return "end of the chain"


@workflow.defn
class Middle:
    """Starts a grandchild with REQUEST_CANCEL and waits forever."""

    @workflow.run
    async def run(self) -> None:
        await workflow.start_child_workflow(
            Kid.run, id=workflow.info().workflow_id + "-g",
            parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
        )  # fmt: skip
        await workflow.wait_condition(lambda: False)


@workflow.defn
class Top:
    """A child chain that continues as new twice, then a child (TERMINATE on close)
    with a grandchild (REQUEST_CANCEL); completes while the middle one runs."""

    @workflow.run
    async def run(self) -> str:
        me = workflow.info().workflow_id
        got = await workflow.execute_child_workflow(Chain.run, 2, id=me + "-chain")
        await workflow.start_child_workflow(Middle.run, id=me + "-mid")
        await workflow.sleep(0.5)
        return got


HUNT2_WORKFLOWS = [
    AsyncDone, RetryDelays, NonRetryable, Patched, Mover, Landed, Delayed, Guarded, Kid,
    CancelMixed, CancelAbandon, OutOfTime, LocalDelay, SilentAsync, CanCarries, Longish,
    Chain, Middle, Top,
]  # fmt: skip
HUNT2_ACTIVITIES: list[Callable[..., Any]] = [
    h2_async,
    h2_next_delay,
    h2_next_delay_long,
    h2_flaky,
    h2_wait_cancel,
]
