"""The seed's application patterns as workflows written with core.workflow.

Each pattern is a workflow definition plus how a client drives it: its input (drawn
from the run's RNG) and what the client does afterwards (signals, updates, cancels).
The simulator runs them through the replay engine, so every workflow task of every
run is real workflow code replayed against its history - THM-3.1 in the loop.

Activity names say what a real system would do; the simulator's activity workers
only count attempts and side effects, so results are opaque strings.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from core import workflow
from core.workflow import (
    ActivityCancellationType,
    ActivityError,
    ActivityHandle,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    Context,
    RetryPolicy,
)

RETRY = RetryPolicy(initial_interval=workflow.SECOND // 5, maximum_attempts=4)
TIMEOUT = 3  # seconds, start-to-close for every activity


def _call(wf: Context, name: str, *args: Any) -> ActivityHandle:
    """Schedule the activity; the caller awaits the handle (``await _call(...)``) for
    its result. Every call is awaited at once, in the coroutine that makes it, so the
    command is produced exactly where `execute_activity`'s would be - without the two
    coroutines (this one's and execute_activity's) every resumption passed through."""
    return wf.start_activity(name, *args, start_to_close_timeout=TIMEOUT, retry_policy=RETRY)


@workflow.defn(name="Saga")
class Saga:
    """Book three things; if one fails for good, undo what was booked, newest first."""

    @workflow.run
    async def run(self, wf: Context, steps: int) -> list[str]:
        done: list[int] = []
        try:
            for step in range(steps):
                await _call(wf, "book", step)
                done.append(step)
        except ActivityError as error:
            for step in reversed(done):
                await _call(wf, "compensate", step)
            raise ApplicationError("saga rolled back", type="SagaFailed") from error
        return [f"booked {s}" for s in done]


@workflow.defn(name="FanOut")
class FanOut:
    """Start a batch of activities at once and wait for all of them."""

    @workflow.run
    async def run(self, wf: Context, width: int) -> int:
        async def one(i: int) -> bool:
            try:
                await _call(wf, "process", i)
            except ActivityError:
                return False
            return True

        results = await wf.gather(*(one(i) for i in range(width)))
        return sum(1 for r in results if r)


@workflow.defn(name="Polling")
class Polling:
    """Ask an external system every so often until it is ready (bounded)."""

    @workflow.run
    async def run(self, wf: Context, rounds: int) -> int:
        for attempt in range(rounds):
            await _call(wf, "poll", attempt)
            await wf.sleep(1)
        return rounds


@workflow.defn(name="Batch")
class Batch:
    """Work through items a chunk at a time, continuing as new after each chunk."""

    @workflow.run
    async def run(self, wf: Context, remaining: int, chunk: int) -> str:
        for item in range(min(chunk, remaining)):
            await _call(wf, "handle_item", remaining - item)
        left = remaining - chunk
        if left > 0:
            wf.continue_as_new(left, chunk)
        return "batch done"


@workflow.defn(name="Approval")
class Approval:
    """Human in the loop: wait for approval (a signal) or a deadline; an update can
    change the amount while it waits."""

    def __init__(self) -> None:
        self.approved: bool | None = None
        self.amount = 100

    @workflow.signal
    def decide(self, wf: Context, approved: bool) -> None:
        self.approved = approved

    @workflow.update
    def set_amount(self, wf: Context, amount: int) -> int:
        self.amount = amount
        return self.amount

    @set_amount.validator
    def check_amount(self, wf: Context, amount: int) -> None:
        if amount < 0:
            raise ValueError("amount must not be negative")

    @workflow.query
    def status(self, wf: Context) -> str:
        return "pending" if self.approved is None else ("approved" if self.approved else "rejected")

    @workflow.run
    async def run(self, wf: Context, deadline: float) -> str:
        try:
            await wf.wait_condition(lambda: self.approved is not None, timeout=deadline)
        except TimeoutError:
            return "expired"
        if self.approved:
            await _call(wf, "pay", self.amount)
            return "paid"
        return "rejected"


@workflow.defn(name="OrderStateMachine")
class OrderStateMachine:
    """An order moved through its states by signals: placed, packed, shipped."""

    NEXT: ClassVar[dict[str, str]] = {"placed": "packed", "packed": "shipped"}

    def __init__(self) -> None:
        self.state = "placed"
        self.pending = 0

    @workflow.signal
    def advance(self, wf: Context, _: int) -> None:
        self.pending += 1

    @workflow.run
    async def run(self, wf: Context, timeout: float) -> str:
        while self.state != "shipped":
            try:
                await wf.wait_condition(lambda: self.pending > 0, timeout=timeout)
            except TimeoutError:
                return f"stuck in {self.state}"
            self.pending -= 1
            await _call(wf, f"enter_{self.NEXT[self.state]}")
            self.state = self.NEXT[self.state]
        return self.state


@workflow.defn(name="Parent")
class Parent:
    """Run children and collect their results (a child's failure is reported)."""

    @workflow.run
    async def run(self, wf: Context, children: int) -> list[str]:
        info = wf.info()

        async def child(i: int) -> str:
            child_id = f"{info.workflow_id}/child-{i}"
            try:
                return str(await wf.execute_child_workflow("FanOut", 2, id=child_id))
            except ChildWorkflowError:
                return "child failed"

        return list(await wf.gather(*(child(i) for i in range(children))))


@workflow.defn(name="Counter")
class Counter:
    """A long-lived loop that keeps its history short with continue-as-new."""

    @workflow.run
    async def run(self, wf: Context, count: int, limit: int) -> int:
        await wf.sleep(0.5)
        await _call(wf, "tick", count)
        if count + 1 < limit:
            wf.continue_as_new(count + 1, limit)
        return count + 1


@workflow.defn(name="Reminder")
class Reminder:
    """Timers: a few reminders in a row, one of them racing an activity."""

    @workflow.run
    async def run(self, wf: Context, reminders: int) -> str:
        for i in range(reminders):
            await wf.sleep(1 + i)
        timer = wf.create_task(wf.sleep(2))
        handle = wf.start_activity("remind", start_to_close_timeout=TIMEOUT, retry_policy=RETRY)
        await wf.wait([timer, handle])
        if not timer.done():
            timer.cancel()
        try:
            await handle
        except ActivityError:
            return "reminder failed"
        return "reminded"


@workflow.defn(name="Cancellable")
class Cancellable:
    """Waits a long time; when cancelled it cleans up and ends canceled."""

    @workflow.run
    async def run(self, wf: Context, seconds: float) -> str:
        try:
            await wf.sleep(seconds)
        except CancelledError:
            await _call(wf, "cleanup")
            raise
        return "not cancelled"


@workflow.defn(name="CancelAtDeadline")
class CancelAtDeadline:
    """A heartbeating activity (one with a heartbeat timeout: a heartbeat is how its
    worker learns of a cancel request) raced against a deadline: if the deadline comes
    first, the workflow asks to cancel the activity and waits until the attempt closes -
    canceled if the worker acknowledged the cancel, or completed, failed or timed out.

    Temporal writes ActivityTaskStarted of an activity with a retry policy only when the
    attempt closes (`service/history/workflow/mutable_state_impl.go`,
    AddActivityTaskStartedEvent), so a cancel requested while the attempt runs gives the
    history Scheduled, CancelRequested, Started, Canceled (or another close): replay
    must take ActivityTaskStarted after the cancel request."""

    @workflow.run
    async def run(self, wf: Context, deadline: float) -> str:
        handle = wf.start_activity(
            "transcode",
            start_to_close_timeout=TIMEOUT,
            heartbeat_timeout=1,
            retry_policy=RETRY,
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        timer = wf.create_task(wf.sleep(deadline))
        await wf.wait([timer, handle])
        if handle.done():
            timer.cancel()
        else:
            handle.cancel()
        try:
            await handle
        except ActivityError as error:
            return "cancelled" if isinstance(error.cause, CancelledError) else "failed"
        return "transcoded"


# --- how clients drive each pattern ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Drive:
    """A pattern's input and what a client does after starting it.

    `actions` are (delay in ms after the start, kind, n) with kind one of signal,
    update, cancel, query; `signal`/`update` name the handler.
    """

    workflow_type: str
    args: tuple[Any, ...]
    actions: tuple[tuple[int, str, int], ...] = ()
    signal: str = ""
    update: str = ""
    query: str = ""


def _saga(rng: random.Random) -> Drive:
    return Drive("Saga", (rng.randint(2, 4),))


def _fan_out(rng: random.Random) -> Drive:
    return Drive("FanOut", (rng.randint(2, 6),))


def _polling(rng: random.Random) -> Drive:
    return Drive("Polling", (rng.randint(1, 3),))


def _batch(rng: random.Random) -> Drive:
    return Drive("Batch", (rng.randint(2, 6), 2))


def _approval(rng: random.Random) -> Drive:
    actions: list[tuple[int, str, int]] = [(rng.randint(10, 400), "update", rng.randint(-5, 500))]
    if rng.random() < 0.8:
        actions.append((rng.randint(50, 3_000), "signal", int(rng.random() < 0.7)))
    actions.append((rng.randint(10, 500), "query", 0))
    return Drive(
        "Approval", (5.0,), tuple(actions), signal="decide", update="set_amount", query="status"
    )


def _state_machine(rng: random.Random) -> Drive:
    actions = tuple((rng.randint(10, 2_000), "signal", i) for i in range(rng.randint(1, 3)))
    return Drive("OrderStateMachine", (6.0,), actions, signal="advance")


def _children(rng: random.Random) -> Drive:
    return Drive("Parent", (rng.randint(1, 2),))


def _counter(rng: random.Random) -> Drive:
    return Drive("Counter", (0, rng.randint(1, 3)))


def _timers(rng: random.Random) -> Drive:
    return Drive("Reminder", (rng.randint(0, 2),))


def _cancellation(rng: random.Random) -> Drive:
    actions = ((rng.randint(100, 2_000), "cancel", 0),) if rng.random() < 0.8 else ()
    return Drive("Cancellable", (4.0,), actions)


def _activity_cancellation(rng: random.Random) -> Drive:
    # Activities take 5..200 ms in the simulator (sim/workloads.py Behaviour): a deadline
    # in that range lets the cancel request reach the activity while an attempt runs,
    # before it was dispatched, or after it closed.
    return Drive("CancelAtDeadline", (rng.randint(10, 250) / 1_000,))


PATTERNS: dict[str, Callable[[random.Random], Drive]] = {
    "saga": _saga,
    "fan-out": _fan_out,
    "polling": _polling,
    "batch": _batch,
    "human-in-the-loop": _approval,
    "state-machine": _state_machine,
    "child-workflows": _children,
    "continue-as-new": _counter,
    "timers": _timers,
    "cancellation": _cancellation,
    "activity-cancellation": _activity_cancellation,
}

DEFINITIONS: dict[str, workflow.Definition] = {
    workflow.definition(cls).name: workflow.definition(cls)
    for cls in (
        Saga,
        FanOut,
        Polling,
        Batch,
        Approval,
        OrderStateMachine,
        Parent,
        Counter,
        Reminder,
        Cancellable,
        CancelAtDeadline,
    )
}


def mixed(rng: random.Random) -> Drive:
    """One of the patterns, chosen by the run's RNG."""
    return PATTERNS[rng.choice(sorted(PATTERNS))](rng)


@workflow.defn(name="BenchWorkflow")
class TwoActivitiesAndTimer:
    """The workflow `tmodel bench simulate` also runs on a real dev server (the same
    shape as adapters/bench_real_workflow.py): an activity, a 10 ms timer, an activity
    given the first one's result."""

    @workflow.run
    async def run(self, wf: Context, n: int) -> Any:
        first = await wf.execute_activity("bench-activity", n, start_to_close_timeout=30)
        await wf.sleep(0.01)
        return await wf.execute_activity("bench-activity", first, start_to_close_timeout=30)


def two_activities_and_timer(rng: random.Random) -> Drive:
    return Drive("BenchWorkflow", (rng.randint(0, 1_000),))


BENCH_DEFINITIONS: dict[str, workflow.Definition] = {
    "BenchWorkflow": workflow.definition(TwoActivitiesAndTimer)
}
