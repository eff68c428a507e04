"""Replay of damaged histories and of code that misbehaves: every case ends in one of
the engine's typed errors or a failed workflow task, never in an arbitrary exception.

The guard (`Execution(guard=...)`) is tested here without a clock: a stand-in that
counts the activations it bounds and can raise `PotentialDeadlock` the way the real one
(sim/deadlock.py, tests/sim/test_deadlock.py) does from its timer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace

import pytest

from core import payloads, workflow
from core.errors import BadPayload, Nondeterminism, PotentialDeadlock
from core.events import (
    HistoryEvent,
    TimerFiredEventAttributes,
    WorkflowExecutionStartedEventAttributes,
)
from core.opaque import Opaque
from core.statemachine.replay.driver import answer_task, replay
from core.workflow import Context
from tests.conftest import corpus_events
from tests.core.statemachine.replay import twins

TIMERS = corpus_events("timers.json")


def _with_start_input(events: tuple[HistoryEvent, ...], body: Opaque) -> tuple[HistoryEvent, ...]:
    first = events[0]
    assert isinstance(first.attributes, WorkflowExecutionStartedEventAttributes)
    attributes = replace(first.attributes, input=body)
    return (replace(first, attributes=attributes), *events[1:])


def test_a_close_event_naming_an_entity_of_another_kind_is_nondeterminism() -> None:
    events = list(corpus_events("activity-cancel-wait-completed.json"))
    fired = events[6]
    assert isinstance(fired.attributes, TimerFiredEventAttributes)
    events[6] = replace(fired, attributes=replace(fired.attributes, started_event_id=5))
    with pytest.raises(Nondeterminism) as caught:
        replay(workflow.definition(twins.ActivityCancel), events)
    assert caught.value.event_id == 7
    assert caught.value.produced == "the activity of event 5, which TIMER_FIRED cannot name"


def test_an_undecodable_payload_is_named_by_its_event() -> None:
    broken = Opaque.of({"payloads": [{"metadata": {"encoding": "eA=="}, "data": "e30="}]})
    events = _with_start_input(TIMERS, broken)
    with pytest.raises(BadPayload, match=r"^event 1 \(WORKFLOW_EXECUTION_STARTED\): payload"):
        replay(workflow.definition(twins.Timers), events)
    cached, answer = answer_task(workflow.definition(twins.Timers), None, events[:3])
    assert cached is None and answer.failure is not None
    assert answer.failure.startswith("cannot decode a payload: event 1")


def test_input_that_does_not_fit_the_run_method_fails_the_task() -> None:
    two = payloads.to_payloads([0.5, 0.5])
    assert two is not None
    events = _with_start_input(TIMERS, two)
    _, answer = answer_task(workflow.definition(twins.Timers), None, events[:3])
    assert answer.failure is not None
    assert answer.failure.startswith("TypeError: Timers.run() takes 3 positional arguments")
    with pytest.raises(Nondeterminism, match="a failed workflow task"):
        replay(workflow.definition(twins.Timers), events)


@workflow.defn(name="TimersWorkflow")
class BrokenConstructor:
    def __init__(self) -> None:
        raise RuntimeError("no state today")

    @workflow.run
    async def run(self, wf: Context, seconds: float) -> str:
        return "unreachable"


def test_a_constructor_that_raises_fails_the_task() -> None:
    _, answer = answer_task(workflow.definition(BrokenConstructor), None, TIMERS[:3])
    assert answer.failure == "RuntimeError: no state today"


class CountingGuard:
    """Counts the activations it bounds; raises `PotentialDeadlock` on entering number
    `trip` (as the timer would while that activation's code spins)."""

    def __init__(self, trip: int = 0) -> None:
        self.trip = trip
        self.entered = 0
        self.inside = False

    def __call__(self) -> AbstractContextManager[object]:
        return self._bound()

    @contextmanager
    def _bound(self) -> Iterator[None]:
        self.entered += 1
        if self.entered == self.trip:
            raise PotentialDeadlock(2.0)
        self.inside = True
        try:
            yield
        finally:
            self.inside = False


def test_the_guard_bounds_each_activation_once() -> None:
    guard = CountingGuard()
    result = replay(workflow.definition(twins.Timers), TIMERS, guard=guard)
    assert guard.entered == len(result.tasks) == 5 and not guard.inside


def test_a_deadlock_names_the_workflow_task() -> None:
    with pytest.raises(PotentialDeadlock) as caught:
        replay(workflow.definition(twins.Timers), TIMERS, guard=CountingGuard(trip=2))
    assert str(caught.value) == (
        "potential deadlock (TMPRL1101): workflow code ran 2 s without yielding "
        "in the workflow task started at event 8"
    )


@workflow.defn(name="TimersWorkflow")
class InterruptedInsideItsCode:
    """Code that the guard's error reaches inside a coroutine, with handlers around it."""

    @workflow.run
    async def run(self, wf: Context, seconds: float) -> str:
        try:
            raise PotentialDeadlock(2.0)  # what the timer's signal handler does
        except Exception:
            return "caught"  # must not be reached: it is not an Exception


@workflow.defn(name="SignalsWorkflow")
class InterruptedInASignalHandler:
    @workflow.signal
    def add(self, wf: Context, item: str) -> None:
        raise PotentialDeadlock(2.0)

    @workflow.run
    async def run(self, wf: Context, expected: int) -> None:
        await wf.wait_condition(lambda: False)


@pytest.mark.parametrize(
    ("code", "history"),
    [(InterruptedInsideItsCode, "timers.json"), (InterruptedInASignalHandler, "signals.json")],
)
def test_the_guards_error_leaves_the_code_and_the_scheduler(code: type, history: str) -> None:
    """It is not the code's own error: the run must not fail with it (which would send
    FailWorkflowExecution) nor the handler keep it as a bug; the activation ends."""
    events = corpus_events(history)
    with pytest.raises(PotentialDeadlock):
        replay(workflow.definition(code), events)
    live = [i for i, e in enumerate(events) if e.event_type.name == "WORKFLOW_TASK_STARTED"]
    cached, answer = answer_task(workflow.definition(code), None, events[: live[-1] + 1])
    assert cached is None and answer.commands == ()
    assert answer.failure is not None and "potential deadlock" in answer.failure
