"""Deadlock detection (sim/deadlock.py): workflow code that does not yield is stopped
within the bound, in the guard itself, in the replay engine, and in a simulated worker,
which fails the workflow task as an SDK worker does. A spinning loop here gives up on
its own after `GIVE_UP` seconds, so a guard that failed to fire fails the test instead
of hanging it."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from types import FrameType, SimpleNamespace
from typing import Any, cast

import pytest

from core import workflow
from core.enums import EventType
from core.errors import PotentialDeadlock
from core.events import WorkflowTaskFailedEventAttributes
from core.opaque import Opaque
from core.statemachine.replay.driver import answer_task, replay
from core.workflow import Context
from sim import deadlock, workloads
from sim.config import SimConfig
from sim.deadlock import DeadlockGuard
from sim.replay_code import ReplayCode
from sim.run import simulate
from sim.workloads import Script, Workload
from tests.conftest import corpus_events

BOUND = 0.05  # seconds: short, so the tests are quick
GIVE_UP = 10.0  # a spin ends by itself after this long (the guard did not fire)


def spin() -> str:
    """Busy-loop without yielding; return normally only if nothing stopped it."""
    end = time.monotonic() + GIVE_UP
    while time.monotonic() < end:
        pass
    return "never stopped"


def test_the_guard_stops_a_spin_and_nothing_fires_afterwards() -> None:
    guard = DeadlockGuard(BOUND)
    with pytest.raises(PotentialDeadlock, match=r"ran 0\.05 s without yielding"), guard():
        spin()
    with guard():
        pass  # an activation that yields at once
    time.sleep(4 * BOUND)  # the timer may still fire: outside an activation it is ignored
    signal.raise_signal(signal.SIGALRM)  # and so is any other SIGALRM


def test_each_activation_gets_the_whole_bound() -> None:
    """The timer armed for one activation must not cut the next one short."""
    guard = DeadlockGuard(4 * BOUND)
    with guard():
        pass
    time.sleep(3 * BOUND)  # the pending timer now fires 1 bound into the next activation
    with guard():
        end = time.monotonic() + 2 * BOUND
        while time.monotonic() < end:  # busy for half the bound: not a deadlock
            pass
    with pytest.raises(PotentialDeadlock), guard():
        spin()


def test_a_spin_that_swallows_the_first_interrupt_is_interrupted_again() -> None:
    swallowed = []
    with pytest.raises(PotentialDeadlock), DeadlockGuard(BOUND)():
        try:
            spin()
        except PotentialDeadlock as first:
            swallowed.append(first)
        spin()  # the timer repeats: this one is interrupted too
    assert swallowed


def test_code_catching_exception_does_not_swallow_it() -> None:
    # suppressing Exception is what workflow code may well do
    with pytest.raises(PotentialDeadlock), DeadlockGuard(BOUND)(), contextlib.suppress(Exception):
        spin()


def test_nested_entries_share_one_timer() -> None:
    guard = DeadlockGuard(BOUND)
    with pytest.raises(PotentialDeadlock), guard():
        with guard():
            pass  # leaving the inner one must not disarm the outer
        spin()


def test_a_shorter_bound_is_not_held_to_a_longer_pending_timer() -> None:
    """A timer armed for a long bound must not stretch a shorter guard's bound."""
    with DeadlockGuard(GIVE_UP)():
        pass  # leaves a timer due in GIVE_UP seconds
    began = time.monotonic()
    with pytest.raises(PotentialDeadlock), DeadlockGuard(BOUND)():
        spin()
    assert time.monotonic() - began < GIVE_UP / 2


def test_entering_makes_no_system_call_while_a_timer_is_due(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The guard's cost: many short activations arm the timer once, and never ask the
    kernel whether it is pending."""
    deadlock._disarm()
    calls: list[str] = []
    real_set = signal.setitimer

    def setitimer(which: int, seconds: float, interval: float = 0.0) -> tuple[float, float]:
        calls.append("set")
        return real_set(which, seconds, interval)

    def getitimer(which: int) -> tuple[float, float]:
        calls.append("get")
        raise AssertionError("the guard asked the kernel")

    monkeypatch.setattr(signal, "setitimer", setitimer)
    monkeypatch.setattr(signal, "getitimer", getitimer)
    guard = DeadlockGuard(4 * BOUND)
    for _ in range(1000):
        with guard():
            pass
    assert calls == ["set"]
    with pytest.raises(PotentialDeadlock), guard():
        spin()  # and the one timer still bounds them


def test_the_guard_is_never_interrupted_in_its_own_bookkeeping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An error raised inside its own __exit__ would leave it counting an activation
    that has ended; the handler waits for the code instead."""
    monkeypatch.setattr(deadlock._Bounded, "guard", DeadlockGuard(BOUND))
    monkeypatch.setattr(deadlock._Bounded, "started", time.monotonic() - 1)  # long over
    try:
        leaving = SimpleNamespace(f_code=DeadlockGuard.__exit__.__code__)
        deadlock._expired(signal.SIGALRM, cast(FrameType, leaving))  # no error here
        with pytest.raises(PotentialDeadlock):
            deadlock._expired(signal.SIGALRM, None)  # but in the code it bounds
    finally:
        deadlock._disarm()  # the handler re-armed the timer


EXITS_WHILE_A_TIMER_IS_PENDING = """
import atexit, signal, time
# Registered first, so it runs last: the interpreter's own shutdown, which puts the
# default action (terminate) back, taking longer than the timer has left.
atexit.register(lambda: (signal.signal(signal.SIGALRM, signal.SIG_DFL), time.sleep(0.5)))
from sim.deadlock import DeadlockGuard
with DeadlockGuard(0.2)():
    pass
"""


def test_a_timer_still_pending_at_exit_does_not_kill_the_process() -> None:
    done = subprocess.run([sys.executable, "-c", EXITS_WHILE_A_TIMER_IS_PENDING], timeout=60)
    assert done.returncode == 0  # not -SIGALRM ("Alarm clock")


def test_at_exit_the_timer_stops_and_a_late_alarm_is_ignored() -> None:
    with DeadlockGuard(GIVE_UP)():
        pass  # installs the handler and leaves a timer pending
    try:
        deadlock._at_exit()
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        assert signal.getsignal(signal.SIGALRM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the next guard installs its own


def test_off_the_main_thread_the_guard_does_nothing() -> None:
    entered: list[object] = []
    guard = DeadlockGuard(BOUND)
    worker = threading.Thread(target=lambda: entered.append(guard()))
    worker.start()
    worker.join()
    assert entered and entered[0] is not guard  # a no-op context, not the armed guard


def test_a_bound_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        DeadlockGuard(0)


@workflow.defn(name="TimersWorkflow")
class SpinsAfterOneTimer:
    @workflow.run
    async def run(self, wf: Context, seconds: float) -> str:
        await wf.sleep(seconds)
        return spin()


TIMERS = corpus_events("timers.json")


def test_replay_names_the_workflow_task_that_spun() -> None:
    with pytest.raises(PotentialDeadlock) as caught:
        replay(workflow.definition(SpinsAfterOneTimer), TIMERS, guard=DeadlockGuard(BOUND))
    assert caught.value.where == "the workflow task started at event 8"


def test_a_live_task_that_spins_fails_and_is_not_cached() -> None:
    live = TIMERS[:8]  # ends at the WorkflowTaskStarted the timer's firing scheduled
    cached, answer = answer_task(
        workflow.definition(SpinsAfterOneTimer), None, live, guard=DeadlockGuard(BOUND)
    )
    assert cached is None
    assert answer.failure is not None and "potential deadlock (TMPRL1101)" in answer.failure


@workflow.defn(name="SpinWorkflow")
class Spins:
    @workflow.run
    async def run(self, wf: Context) -> str:
        return spin()


def _spinning_workload() -> Workload:
    def code() -> ReplayCode:
        return ReplayCode({"SpinWorkflow": workflow.definition(Spins)}, DeadlockGuard(BOUND))

    def script(rng: Any, index: int) -> Script:
        return Script("SpinWorkflow", Opaque.of(None), ())

    mixed = workloads.WORKLOADS["mixed"]
    return Workload("spin", code, script, replace(mixed.behaviour, workflow_task_failure=0.0))


def test_a_simulated_worker_fails_the_task_of_code_that_spins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(workloads.WORKLOADS, "spin", _spinning_workload())
    # A second of virtual time: each of its tasks spins for the bound before failing.
    result = simulate(
        SimConfig(seed=0, workflows=1, workload="spin", faults=(), max_virtual_time=10**9)
    )
    failed = [
        e.attributes
        for events in result.histories.values()
        for e in events
        if e.event_type is EventType.WORKFLOW_TASK_FAILED
    ]
    assert failed, "the spinning workflow's task never failed"
    for attributes in failed:
        assert isinstance(attributes, WorkflowTaskFailedEventAttributes)
        message = _message(attributes.failure)
        assert message.startswith("potential deadlock (TMPRL1101)"), message


def _message(failure: Opaque | None) -> str:
    body = failure.value() if failure is not None else None
    return str(body.get("message", "")) if isinstance(body, dict) else ""
