"""Twins of the scenario library's workflows (adapters/conform/scenarios/workflows.py)
in the model's workflow API: activities, timers, signals, queries, updates.

Each class has the type name the official SDK recorded under and does what the
original does, operation for operation, so that its replay of the history the original
wrote must succeed.
"""

from __future__ import annotations

from typing import Any

from core import workflow
from core.workflow import (
    ActivityCancellationType,
    ActivityError,
    ApplicationError,
    CancelledError,
    Context,
    RetryPolicy,
)

SHORT = 10
FAST_RETRY = RetryPolicy(initial_interval=workflow.SECOND // 10, maximum_attempts=5)
NO_RETRY = RetryPolicy(maximum_attempts=1)


@workflow.defn(name="SingleActivityWorkflow")
class SingleActivity:
    @workflow.run
    async def run(self, wf: Context, name: str) -> Any:
        return await wf.execute_activity("greet", name, start_to_close_timeout=SHORT)


@workflow.defn(name="ActivityRetryWorkflow")
class ActivityRetry:
    @workflow.run
    async def run(self, wf: Context, failures: int) -> Any:
        return await wf.execute_activity(
            "fail_first_attempts", failures, start_to_close_timeout=SHORT, retry_policy=FAST_RETRY
        )


@workflow.defn(name="NonRetryableActivityWorkflow")
class NonRetryable:
    @workflow.run
    async def run(self, wf: Context, reason: str) -> Any:
        return await wf.execute_activity("reject", reason, start_to_close_timeout=SHORT)


@workflow.defn(name="StartToCloseTimeoutWorkflow")
class StartToCloseTimeout:
    @workflow.run
    async def run(self, wf: Context, seconds: float) -> Any:
        return await wf.execute_activity(
            "slow_first_attempt", seconds, start_to_close_timeout=1, retry_policy=FAST_RETRY
        )


@workflow.defn(name="HeartbeatTimeoutWorkflow")
class HeartbeatTimeout:
    @workflow.run
    async def run(self, wf: Context, seconds: float, retry: bool) -> Any:
        try:
            return await wf.execute_activity(
                "heartbeat_then_stall",
                seconds,
                start_to_close_timeout=30,
                heartbeat_timeout=1,
                retry_policy=FAST_RETRY if retry else NO_RETRY,
            )
        except ActivityError as err:
            return f"gave up: {err.cause}"


@workflow.defn(name="ScheduleToCloseTimeoutWorkflow")
class ScheduleToCloseTimeout:
    @workflow.run
    async def run(self, wf: Context, seconds: float) -> Any:
        try:
            return await wf.execute_activity(
                "sleep_for", seconds, schedule_to_close_timeout=2, start_to_close_timeout=30
            )
        except ActivityError as err:
            return f"gave up: {err.cause}"


@workflow.defn(name="ScheduleToStartTimeoutWorkflow")
class ScheduleToStartTimeout:
    @workflow.run
    async def run(self, wf: Context, unpolled_task_queue: str) -> Any:
        try:
            return await wf.execute_activity(
                "greet",
                "nobody",
                task_queue=unpolled_task_queue,
                schedule_to_start_timeout=1,
                start_to_close_timeout=SHORT,
            )
        except ActivityError as err:
            return f"gave up: {err.cause}"


@workflow.defn(name="ActivityCancelWorkflow")
class ActivityCancel:
    @workflow.run
    async def run(self, wf: Context, cancellation_type: str) -> Any:
        handle = wf.start_activity(
            "heartbeat_until_cancelled",
            30.0,
            start_to_close_timeout=60,
            heartbeat_timeout=1,
            cancellation_type=ActivityCancellationType[cancellation_type],
        )
        await wf.sleep(1)
        handle.cancel()
        try:
            outcome = await handle
        except ActivityError as err:
            outcome = f"activity ended: {err.cause}"
        await wf.sleep(2)
        return outcome


@workflow.defn(name="FanOutWorkflow")
class FanOut:
    @workflow.run
    async def run(self, wf: Context, width: int) -> Any:
        calls = [
            wf.execute_activity("greet", f"branch {i}", start_to_close_timeout=SHORT)
            for i in range(width)
        ]
        return list(await wf.gather(*calls))


@workflow.defn(name="SagaWorkflow")
class Saga:
    @workflow.run
    async def run(self, wf: Context, failing_step: int) -> Any:
        done: list[int] = []
        try:
            for step in (1, 2, 3):
                await wf.execute_activity(
                    "saga_step", step, step == failing_step, start_to_close_timeout=SHORT
                )
                done.append(step)
        except ActivityError as err:
            for step in reversed(done):
                await wf.execute_activity("compensate", step, start_to_close_timeout=SHORT)
            raise ApplicationError("saga rolled back", non_retryable=True) from err
        return [f"step {s}" for s in done]


@workflow.defn(name="LocalActivitiesWorkflow")
class LocalActivities:
    @workflow.run
    async def run(self, wf: Context, failures: int) -> Any:
        first = await wf.execute_local_activity("greet", "local", start_to_close_timeout=2)
        second = await wf.execute_local_activity(
            "fail_first_attempts", failures, start_to_close_timeout=2, retry_policy=FAST_RETRY
        )
        return [first, second]


@workflow.defn(name="LongLocalActivityWorkflow")
class LongLocalActivity:
    @workflow.run
    async def run(self, wf: Context, seconds: float) -> Any:
        return await wf.execute_local_activity(
            "sleep_for", seconds, start_to_close_timeout=seconds + 1
        )


@workflow.defn(name="WorkerKilledWorkflow")
class WorkerKilled:
    @workflow.run
    async def run(self, wf: Context, seconds: float) -> Any:
        return await wf.execute_activity(
            "heartbeat_long_on_first_attempt",
            seconds,
            start_to_close_timeout=60,
            heartbeat_timeout=2,
            retry_policy=FAST_RETRY,
        )


@workflow.defn(name="TimersWorkflow")
class Timers:
    @workflow.run
    async def run(self, wf: Context, seconds: float) -> Any:
        await wf.sleep(seconds)
        await wf.sleep(seconds)
        await wf.gather(wf.sleep(seconds), wf.sleep(2 * seconds))
        return "timers done"


@workflow.defn(name="TimerCancelWorkflow")
class TimerCancel:
    @workflow.run
    async def run(self, wf: Context, seconds: float) -> Any:
        long_sleep = wf.create_task(wf.sleep(3600))
        await wf.sleep(seconds)
        long_sleep.cancel()
        try:
            await long_sleep
        except CancelledError:
            return "long timer cancelled"
        return "long timer fired?"


@workflow.defn(name="ApprovalWorkflow")
class Approval:
    def __init__(self) -> None:
        self.approved_by: str | None = None

    @workflow.signal
    def approve(self, wf: Context, who: str) -> None:
        self.approved_by = who

    @workflow.run
    async def run(self, wf: Context, deadline_seconds: float) -> Any:
        try:
            await wf.wait_condition(lambda: self.approved_by is not None, timeout=deadline_seconds)
        except TimeoutError:
            return "approval expired"
        return f"approved by {self.approved_by}"


@workflow.defn(name="SignalsWorkflow")
class Signals:
    def __init__(self) -> None:
        self.items: list[str] = []

    @workflow.signal
    def add(self, wf: Context, item: str) -> None:
        self.items.append(item)

    @workflow.query
    def count(self, wf: Context) -> int:
        return len(self.items)

    @workflow.run
    async def run(self, wf: Context, expected: int) -> Any:
        await wf.wait_condition(lambda: len(self.items) >= expected)
        return self.items


@workflow.defn(name="BusyTaskWorkflow")
class BusyTask:
    def __init__(self) -> None:
        self.messages: list[str] = []

    @workflow.signal
    def add(self, wf: Context, message: str) -> None:
        self.messages.append(message)

    @workflow.run
    async def run(self, wf: Context, seconds: float) -> Any:
        await wf.execute_local_activity("sleep_for", seconds, start_to_close_timeout=2)
        await wf.wait_condition(lambda: bool(self.messages))
        return self.messages


@workflow.defn(name="QueryWorkflow")
class Query:
    def __init__(self) -> None:
        self.stage = "starting"
        self.finished = False

    @workflow.query
    def current_stage(self, wf: Context) -> str:
        return self.stage

    @workflow.signal
    def finish(self, wf: Context) -> None:
        self.finished = True

    @workflow.run
    async def run(self, wf: Context, name: str) -> Any:
        greeting = await wf.execute_activity("greet", name, start_to_close_timeout=SHORT)
        self.stage = "waiting"
        await wf.wait_condition(lambda: self.finished)
        self.stage = "done"
        return greeting


@workflow.defn(name="UpdatesWorkflow")
class Updates:
    def __init__(self) -> None:
        self.total = 0
        self.finished = False

    @workflow.update
    async def add(self, wf: Context, value: int) -> int:
        if value > 5:
            await wf.execute_activity("greet", f"update {value}", start_to_close_timeout=SHORT)
        self.total += value
        return self.total

    @add.validator
    def validate_add(self, wf: Context, value: int) -> None:
        if value < 0:
            raise ValueError(f"negative value {value} rejected")

    @workflow.signal
    def finish(self, wf: Context) -> None:
        self.finished = True

    @workflow.run
    async def run(self, wf: Context) -> Any:
        await wf.wait_condition(lambda: self.finished and wf.all_handlers_finished())
        return self.total
