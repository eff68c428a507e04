"""Workflows and activities driven by ``scripts/record_histories.py``.

They live in their own module (not in the script run as ``__main__``) so the
temporalio workflow sandbox can re-import them by name. Every workflow is
small and exists to make the real server write one particular shape of
history; the docstrings say which.

This is a dev tool: nothing under ``src/`` or ``tests/`` imports it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

# Retries must be quick so the whole recording takes minutes, not hours.
FAST_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=1.0,
    maximum_interval=timedelta(seconds=1),
)
NO_RETRY = RetryPolicy(maximum_attempts=1)
SHORT = timedelta(seconds=10)
# Core keeps a timer per local-activity attempt and panics (noisily, but
# harmlessly) if the worker shuts down before it fires, so local activities
# get short start-to-close timeouts and their workers linger past them.
LOCAL_TIMEOUT = timedelta(seconds=2)

# Registered on the dev server with ``start-dev --search-attribute``.
KEYWORD_ATTR = SearchAttributeKey.for_keyword("RecorderStage")
INT_ATTR = SearchAttributeKey.for_int("RecorderCount")
SEARCH_ATTRIBUTE_FLAGS = ("RecorderStage=Keyword", "RecorderCount=Int")


# --------------------------------------------------------------------------
# Activities (all async, so workers need no executor)
# --------------------------------------------------------------------------


@activity.defn
async def greet(name: str) -> str:
    return f"hello {name}"


@activity.defn
async def fail_first_attempts(failures: int) -> str:
    """Fails retryably on the first ``failures`` attempts, then succeeds."""
    attempt = activity.info().attempt
    if attempt <= failures:
        raise ApplicationError(f"transient failure on attempt {attempt}", type="Transient")
    return f"succeeded on attempt {attempt}"


@activity.defn
async def reject(reason: str) -> str:
    raise ApplicationError(reason, type="Rejected", non_retryable=True)


@activity.defn
async def slow_first_attempt(seconds: float) -> str:
    """Outlives its start-to-close timeout on attempt 1 only."""
    attempt = activity.info().attempt
    if attempt == 1:
        await asyncio.sleep(seconds)
    return f"finished attempt {attempt}"


@activity.defn
async def heartbeat_then_stall(seconds: float) -> str:
    """Attempt 1 heartbeats briefly then goes silent so the heartbeat times out."""
    attempt = activity.info().attempt
    for i in range(3):
        activity.heartbeat(f"attempt {attempt} beat {i}")
        await asyncio.sleep(0.2)
    if attempt == 1:
        await asyncio.sleep(seconds)
    return f"finished attempt {attempt}"


@activity.defn
async def heartbeat_until_cancelled(seconds: float) -> str:
    """Heartbeats (the only way a Python activity learns of a cancel)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    try:
        while loop.time() < deadline:
            activity.heartbeat("working")
            await asyncio.sleep(0.2)
    except asyncio.CancelledError:
        # A little cleanup time makes WAIT_CANCELLATION_COMPLETED observable.
        await asyncio.sleep(0.5)
        raise
    return "never cancelled"


@activity.defn
async def heartbeat_long_on_first_attempt(seconds: float) -> str:
    """Attempt 1 runs long (its worker gets killed); later attempts are quick."""
    attempt = activity.info().attempt
    if attempt == 1:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            activity.heartbeat("alive")
            await asyncio.sleep(0.2)
    return f"finished attempt {attempt}"


@activity.defn
async def sleep_for(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return f"slept {seconds}s"


@activity.defn
async def saga_step(step: int, fail: bool) -> str:
    if fail:
        raise ApplicationError(f"step {step} failed", type="StepFailed", non_retryable=True)
    return f"step {step} done"


@activity.defn
async def compensate(step: int) -> str:
    return f"step {step} compensated"


ALL_ACTIVITIES: list[Callable[..., Any]] = [
    greet,
    fail_first_attempts,
    reject,
    slow_first_attempt,
    heartbeat_then_stall,
    heartbeat_until_cancelled,
    heartbeat_long_on_first_attempt,
    sleep_for,
    saga_step,
    compensate,
]


# --------------------------------------------------------------------------
# Activity-centric workflows
# --------------------------------------------------------------------------


@workflow.defn
class SingleActivityWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(greet, name, start_to_close_timeout=SHORT)


@workflow.defn
class ActivityRetryWorkflow:
    @workflow.run
    async def run(self, failures: int) -> str:
        return await workflow.execute_activity(
            fail_first_attempts, failures, start_to_close_timeout=SHORT, retry_policy=FAST_RETRY
        )


@workflow.defn
class NonRetryableActivityWorkflow:
    """The activity error propagates, so the workflow itself fails."""

    @workflow.run
    async def run(self, reason: str) -> str:
        return await workflow.execute_activity(reject, reason, start_to_close_timeout=SHORT)


@workflow.defn
class StartToCloseTimeoutWorkflow:
    @workflow.run
    async def run(self, seconds: float) -> str:
        return await workflow.execute_activity(
            slow_first_attempt,
            seconds,
            start_to_close_timeout=timedelta(seconds=1),
            retry_policy=FAST_RETRY,
        )


@workflow.defn
class HeartbeatTimeoutWorkflow:
    """With ``retry`` the timed-out attempt is retried (and leaves no event of
    its own); without it the ActivityTaskTimedOut is caught by the workflow."""

    @workflow.run
    async def run(self, seconds: float, retry: bool) -> str:
        try:
            return await workflow.execute_activity(
                heartbeat_then_stall,
                seconds,
                start_to_close_timeout=timedelta(seconds=30),
                heartbeat_timeout=timedelta(seconds=1),
                retry_policy=FAST_RETRY if retry else NO_RETRY,
            )
        except ActivityError as err:
            return f"gave up: {err.cause}"


@workflow.defn
class ScheduleToCloseTimeoutWorkflow:
    """Caught activity timeout: the workflow still completes."""

    @workflow.run
    async def run(self, seconds: float) -> str:
        try:
            return await workflow.execute_activity(
                sleep_for,
                seconds,
                schedule_to_close_timeout=timedelta(seconds=2),
                start_to_close_timeout=timedelta(seconds=30),
            )
        except ActivityError as err:
            return f"gave up: {err.cause}"


@workflow.defn
class ScheduleToStartTimeoutWorkflow:
    """Schedules onto a task queue nobody polls, so the activity never starts."""

    @workflow.run
    async def run(self, unpolled_task_queue: str) -> str:
        try:
            return await workflow.execute_activity(
                greet,
                "nobody",
                task_queue=unpolled_task_queue,
                schedule_to_start_timeout=timedelta(seconds=1),
                start_to_close_timeout=SHORT,
            )
        except ActivityError as err:
            return f"gave up: {err.cause}"


@workflow.defn
class ActivityCancelWorkflow:
    """Starts a heartbeating activity, then cancels it with the given type."""

    @workflow.run
    async def run(self, cancellation_type: str) -> str:
        handle = workflow.start_activity(
            heartbeat_until_cancelled,
            30.0,
            start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=timedelta(seconds=1),
            cancellation_type=workflow.ActivityCancellationType[cancellation_type],
        )
        await workflow.sleep(1)  # long enough for the activity to be running
        handle.cancel()
        try:
            outcome = await handle
        except ActivityError as err:
            outcome = f"activity ended: {err.cause}"
        # With TRY_CANCEL / ABANDON the workflow moves on before the activity
        # has acknowledged; waiting lets the late acknowledgement reach history.
        await workflow.sleep(2)
        return outcome


@workflow.defn
class FanOutWorkflow:
    @workflow.run
    async def run(self, width: int) -> list[str]:
        calls = [
            workflow.execute_activity(greet, f"branch {i}", start_to_close_timeout=SHORT)
            for i in range(width)
        ]
        return list(await asyncio.gather(*calls))


@workflow.defn
class SagaWorkflow:
    """Step 3 fails; finished steps are compensated in reverse order."""

    @workflow.run
    async def run(self, failing_step: int) -> list[str]:
        done: list[int] = []
        try:
            for step in (1, 2, 3):
                await workflow.execute_activity(
                    saga_step, args=[step, step == failing_step], start_to_close_timeout=SHORT
                )
                done.append(step)
        except ActivityError as err:
            for step in reversed(done):
                await workflow.execute_activity(compensate, step, start_to_close_timeout=SHORT)
            raise ApplicationError("saga rolled back", non_retryable=True) from err
        return [f"step {s}" for s in done]


@workflow.defn
class LocalActivitiesWorkflow:
    """Two local activities, one of which retries inside the worker."""

    @workflow.run
    async def run(self, failures: int) -> list[str]:
        first = await workflow.execute_local_activity(
            greet, "local", start_to_close_timeout=LOCAL_TIMEOUT
        )
        second = await workflow.execute_local_activity(
            fail_first_attempts,
            failures,
            start_to_close_timeout=LOCAL_TIMEOUT,
            retry_policy=FAST_RETRY,
        )
        return [first, second]


@workflow.defn
class LongLocalActivityWorkflow:
    """A local activity longer than the WFT timeout forces WFT heartbeats."""

    @workflow.run
    async def run(self, seconds: float) -> str:
        return await workflow.execute_local_activity(
            sleep_for, seconds, start_to_close_timeout=timedelta(seconds=seconds + 1)
        )


@workflow.defn
class WorkerKilledWorkflow:
    @workflow.run
    async def run(self, seconds: float) -> str:
        return await workflow.execute_activity(
            heartbeat_long_on_first_attempt,
            seconds,
            start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=timedelta(seconds=2),
            retry_policy=FAST_RETRY,
        )


# --------------------------------------------------------------------------
# Timers, signals, queries, updates
# --------------------------------------------------------------------------


@workflow.defn
class TimersWorkflow:
    """Sequential sleeps, then two concurrent ones."""

    @workflow.run
    async def run(self, seconds: float) -> str:
        await workflow.sleep(seconds)
        await workflow.sleep(seconds)
        await asyncio.gather(workflow.sleep(seconds), workflow.sleep(2 * seconds))
        return "timers done"


@workflow.defn
class TimerCancelWorkflow:
    """A long sleep cancelled (via its asyncio task) once a short one fires."""

    @workflow.run
    async def run(self, seconds: float) -> str:
        long_sleep = asyncio.create_task(workflow.sleep(3600))
        await workflow.sleep(seconds)
        long_sleep.cancel()
        try:
            await long_sleep
        except asyncio.CancelledError:
            return "long timer cancelled"
        return "long timer fired?"


@workflow.defn
class ApprovalWorkflow:
    """Human-in-the-loop: wait for an approval signal with a deadline."""

    def __init__(self) -> None:
        self.approved_by: str | None = None

    @workflow.signal
    def approve(self, who: str) -> None:
        self.approved_by = who

    @workflow.run
    async def run(self, deadline_seconds: float) -> str:
        try:
            await workflow.wait_condition(
                lambda: self.approved_by is not None,
                timeout=timedelta(seconds=deadline_seconds),
            )
        except TimeoutError:
            return "approval expired"
        return f"approved by {self.approved_by}"


@workflow.defn
class SignalsWorkflow:
    """Collects ``expected`` signals, answering queries meanwhile."""

    def __init__(self) -> None:
        self.items: list[str] = []

    @workflow.signal
    def add(self, item: str) -> None:
        self.items.append(item)

    @workflow.query
    def count(self) -> int:
        return len(self.items)

    @workflow.run
    async def run(self, expected: int) -> list[str]:
        await workflow.wait_condition(lambda: len(self.items) >= expected)
        return self.items


@workflow.defn
class BusyTaskWorkflow:
    """A local activity keeps the first WFT in flight while a signal arrives,
    so the server buffers the signal and writes it after WFTCompleted."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    @workflow.signal
    def add(self, message: str) -> None:
        self.messages.append(message)

    @workflow.run
    async def run(self, seconds: float) -> list[str]:
        await workflow.execute_local_activity(
            sleep_for, seconds, start_to_close_timeout=LOCAL_TIMEOUT
        )
        await workflow.wait_condition(lambda: bool(self.messages))
        return self.messages


@workflow.defn
class QueryWorkflow:
    """Runs an activity, then waits for ``finish`` while answering queries."""

    def __init__(self) -> None:
        self.stage = "starting"
        self.finished = False

    @workflow.query
    def current_stage(self) -> str:
        return self.stage

    @workflow.signal
    def finish(self) -> None:
        self.finished = True

    @workflow.run
    async def run(self, name: str) -> str:
        greeting = await workflow.execute_activity(greet, name, start_to_close_timeout=SHORT)
        self.stage = "waiting"
        await workflow.wait_condition(lambda: self.finished)
        self.stage = "done"
        return greeting


@workflow.defn
class UpdatesWorkflow:
    """Accepts non-negative updates (one of which runs an activity)."""

    def __init__(self) -> None:
        self.total = 0
        self.finished = False

    @workflow.update
    async def add(self, value: int) -> int:
        if value > 5:
            # An update whose handler blocks, so Accepted and Completed are
            # separated by other events.
            await workflow.execute_activity(greet, f"update {value}", start_to_close_timeout=SHORT)
        self.total += value
        return self.total

    @add.validator
    def validate_add(self, value: int) -> None:
        if value < 0:
            raise ValueError(f"negative value {value} rejected")

    @workflow.signal
    def finish(self) -> None:
        self.finished = True

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.finished and workflow.all_handlers_finished())
        return self.total


# --------------------------------------------------------------------------
# Children, external workflows, continue-as-new
# --------------------------------------------------------------------------


@workflow.defn
class ChildWorkflow:
    @workflow.run
    async def run(self, fail: bool) -> str:
        greeting = await workflow.execute_activity(greet, "child", start_to_close_timeout=SHORT)
        if fail:
            raise ApplicationError("child gives up", type="ChildFailure")
        return greeting


@workflow.defn
class ParentWorkflow:
    """Runs one child; a child failure is caught and reported."""

    @workflow.run
    async def run(self, child_id: str, child_fails: bool) -> str:
        try:
            result = await workflow.execute_child_workflow(
                ChildWorkflow.run, child_fails, id=child_id
            )
        except ChildWorkflowError as err:
            return f"child failed: {err.cause}"
        return f"child said: {result}"


@workflow.defn
class ContinueAsNewWorkflow:
    @workflow.run
    async def run(self, iteration: int, last: int) -> str:
        await workflow.execute_activity(greet, f"run {iteration}", start_to_close_timeout=SHORT)
        if iteration < last:
            workflow.continue_as_new(args=[iteration + 1, last])
        return f"finished after {iteration} runs"


@workflow.defn
class WaitForSignalWorkflow:
    """Target of the external-signal and external-cancel scenarios."""

    def __init__(self) -> None:
        self.message: str | None = None

    @workflow.signal
    def ping(self, message: str) -> None:
        self.message = message

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.wait_condition(lambda: self.message is not None)
        except asyncio.CancelledError:
            await workflow.execute_activity(greet, "cleanup", start_to_close_timeout=SHORT)
            raise
        return f"got {self.message}"


@workflow.defn
class SignalExternalWorkflow:
    @workflow.run
    async def run(self, target_id: str) -> str:
        target: workflow.ExternalWorkflowHandle[WaitForSignalWorkflow]
        target = workflow.get_external_workflow_handle_for(WaitForSignalWorkflow.run, target_id)
        await target.signal(WaitForSignalWorkflow.ping, "from another workflow")
        return "signalled"


@workflow.defn
class CancelExternalWorkflow:
    @workflow.run
    async def run(self, target_id: str) -> str:
        await workflow.get_external_workflow_handle(target_id).cancel()
        return "cancel requested"


# --------------------------------------------------------------------------
# Workflow-level outcomes
# --------------------------------------------------------------------------


@workflow.defn
class CancellableWorkflow:
    """Sleeps until cancelled, runs a cleanup activity, ends canceled."""

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.sleep(3600)
        except asyncio.CancelledError:
            await workflow.execute_activity(greet, "cleanup", start_to_close_timeout=SHORT)
            raise
        return "slept an hour"


@workflow.defn
class SleepWorkflow:
    """Target of terminate and run-timeout: just sleeps."""

    @workflow.run
    async def run(self, seconds: float) -> str:
        await workflow.sleep(seconds)
        return "woke up"


@workflow.defn
class FailingWorkflow:
    @workflow.run
    async def run(self, message: str) -> str:
        await workflow.execute_activity(greet, "before failing", start_to_close_timeout=SHORT)
        raise ApplicationError(message, {"detail": 42}, type="WorkflowFailure")


@workflow.defn
class RetriedWorkflow:
    """Fails its first attempt; the workflow retry policy starts run 2."""

    @workflow.run
    async def run(self) -> str:
        attempt = workflow.info().attempt
        if attempt == 1:
            raise ApplicationError("first attempt fails")
        return f"succeeded on attempt {attempt}"


@workflow.defn
class PatchedWorkflow:
    @workflow.run
    async def run(self) -> str:
        workflow.deprecate_patch("retired-change")
        name = "patched path" if workflow.patched("new-greeting") else "original path"
        return await workflow.execute_activity(greet, name, start_to_close_timeout=SHORT)


@workflow.defn
class SearchAttributesMemoWorkflow:
    @workflow.run
    async def run(self) -> str:
        workflow.upsert_search_attributes(
            [KEYWORD_ATTR.value_set("working"), INT_ATTR.value_set(1)]
        )
        await workflow.execute_activity(greet, "attributes", start_to_close_timeout=SHORT)
        workflow.upsert_memo({"stage": "working", "initial": None})  # None deletes a key
        workflow.upsert_search_attributes([KEYWORD_ATTR.value_set("done"), INT_ATTR.value_unset()])
        return "attributes updated"


@workflow.defn
class ResettableWorkflow:
    """Activity, then waits for ``proceed``; a ``note`` signal gets reapplied."""

    def __init__(self) -> None:
        self.stage = "starting"
        self.notes: list[str] = []
        self.proceed_requested = False

    @workflow.query
    def current_stage(self) -> str:
        return self.stage

    @workflow.signal
    def note(self, text: str) -> None:
        self.notes.append(text)

    @workflow.signal
    def proceed(self) -> None:
        self.proceed_requested = True

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.execute_activity(greet, "before reset", start_to_close_timeout=SHORT)
        self.stage = "waiting"
        await workflow.wait_condition(lambda: self.proceed_requested)
        await workflow.execute_activity(greet, "after reset", start_to_close_timeout=SHORT)
        return self.notes


@workflow.defn
class StickyWorkflow:
    """Waits for ``rounds`` signals, running an activity per signal."""

    def __init__(self) -> None:
        self.received = 0
        self.completed = 0

    @workflow.signal
    def next_round(self) -> None:
        self.received += 1

    @workflow.query
    def rounds_seen(self) -> int:
        return self.received

    @workflow.run
    async def run(self, rounds: int) -> int:
        while self.completed < rounds:
            await workflow.wait_condition(lambda: self.received > self.completed)
            await workflow.execute_activity(
                greet, f"round {self.completed}", start_to_close_timeout=SHORT
            )
            self.completed += 1
        return self.received


# The same workflow type name in two versions: the broken one is served by the
# first worker of the WFT-failure scenario, the fixed one by its replacement.
BUGGY_WORKFLOW_NAME = "DeployFixWorkflow"


@workflow.defn(name=BUGGY_WORKFLOW_NAME)
class BuggyDeployFixWorkflow:
    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity(greet, "first step", start_to_close_timeout=SHORT)
        # A non-Temporal exception fails the workflow *task*, not the workflow,
        # so the server keeps retrying the task until a fixed worker shows up.
        raise RuntimeError("bug: fixed in the next deploy")


@workflow.defn(name=BUGGY_WORKFLOW_NAME)
class FixedDeployFixWorkflow:
    @workflow.run
    async def run(self) -> str:
        first = await workflow.execute_activity(greet, "first step", start_to_close_timeout=SHORT)
        second = await workflow.execute_activity(greet, "second step", start_to_close_timeout=SHORT)
        return f"{first}; {second}"


# Everything except the buggy variant (it shares a type name with the fix).
ALL_WORKFLOWS = [
    SingleActivityWorkflow,
    ActivityRetryWorkflow,
    NonRetryableActivityWorkflow,
    StartToCloseTimeoutWorkflow,
    HeartbeatTimeoutWorkflow,
    ScheduleToCloseTimeoutWorkflow,
    ScheduleToStartTimeoutWorkflow,
    ActivityCancelWorkflow,
    FanOutWorkflow,
    SagaWorkflow,
    LocalActivitiesWorkflow,
    LongLocalActivityWorkflow,
    WorkerKilledWorkflow,
    TimersWorkflow,
    TimerCancelWorkflow,
    ApprovalWorkflow,
    SignalsWorkflow,
    BusyTaskWorkflow,
    QueryWorkflow,
    UpdatesWorkflow,
    ChildWorkflow,
    ParentWorkflow,
    ContinueAsNewWorkflow,
    WaitForSignalWorkflow,
    SignalExternalWorkflow,
    CancelExternalWorkflow,
    CancellableWorkflow,
    SleepWorkflow,
    FailingWorkflow,
    RetriedWorkflow,
    PatchedWorkflow,
    SearchAttributesMemoWorkflow,
    ResettableWorkflow,
    StickyWorkflow,
    FixedDeployFixWorkflow,
]
