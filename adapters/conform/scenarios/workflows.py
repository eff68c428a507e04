"""Workflows of the scenario library: activities, timers, signals, queries, updates.

Every workflow is small and exists to make a Temporal server write one particular shape
of history; the docstrings say which. (Children, chains, workflow-level outcomes and
operator actions are in `workflows_runs.py`.)
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from adapters.conform.scenarios.activities import (
    FAST_RETRY,
    LOCAL_TIMEOUT,
    NO_RETRY,
    SHORT,
    compensate,
    fail_first_attempts,
    greet,
    heartbeat_long_on_first_attempt,
    heartbeat_then_stall,
    heartbeat_until_cancelled,
    reject,
    saga_step,
    sleep_for,
    slow_first_attempt,
)

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
