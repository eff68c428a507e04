"""One user timer task fires every user timer expired by its time, in one transaction,
and one workflow task follows them all (core/statemachine/history/service/timer.py,
from executeUserTimerTimeoutTask in service/history/timer_queue_active_task_executor.go
and LoadAndSortUserTimers in service/history/workflow/timer_sequence.go). Found by a
real history: tests/fixtures/unseen-histories/fanout.json, fourteen TimerFired events
written together."""

from __future__ import annotations

from core import requests as rq
from core.commands import CancelTimerCommandAttributes, Command, StartTimerCommandAttributes
from core.enums import CommandType, EventType
from core.events import TimerFiredEventAttributes
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.rebuild import rebuild
from tests.core.statemachine.coverage_scenarios import Run

S = 10**9
E = EventType


def _timer(timer_id: str, seconds: int) -> Command:
    return Command(CommandType.START_TIMER, StartTimerCommandAttributes(timer_id, seconds * S))


def _task(run: Run, timer_id: str) -> rq.UserTimerTask:
    return next(t for t in run.timers if isinstance(t, rq.UserTimerTask) and t.timer_id == timer_id)


def _fired(events: list[object]) -> list[str]:
    return [
        e.attributes.timer_id  # type: ignore[attr-defined]
        for e in events
        if isinstance(e.attributes, TimerFiredEventAttributes)  # type: ignore[attr-defined]
    ]


def test_one_task_fires_every_expired_timer_in_expiry_order_then_one_workflow_task() -> None:
    run = Run()
    # started in this order; due at 3 s, 1 s and 3 s after the start, and 10 s
    run.complete(_timer("late", 3), _timer("early", 1), _timer("same", 3), _timer("far", 10))
    written = len(run.events)
    # the task of "same" runs 4 s on: it fires the three timers then due, ordered by
    # expiry and then by started event id, and leaves "far" pending
    assert run.send(rq.FireTimer(_task(run, "same")), advance=4 * S) == rq.Ok()
    new = run.events[written:]
    assert [e.event_type for e in new] == [E.TIMER_FIRED] * 3 + [E.WORKFLOW_TASK_SCHEDULED]
    assert _fired(list(new)) == ["early", "late", "same"]
    assert [t.timer_id for t in run.state.timers] == ["far"]
    # the fired timers' own tasks come later and find nothing to do
    for timer_id in ("early", "late"):
        written = len(run.events)
        reply = run.send(rq.FireTimer(_task(run, timer_id)), advance=0)
        assert isinstance(reply, rq.Error) and len(run.events) == written
    run.check()


def test_a_task_whose_timer_was_cancelled_still_fires_the_timers_due() -> None:
    """The server's task does not look at the timer it was made for: it fires what has
    expired (executeUserTimerTimeoutTask)."""
    run = Run()
    run.complete(_timer("gone", 2), _timer("kept", 2))
    run.complete(Command(CommandType.CANCEL_TIMER, CancelTimerCommandAttributes("gone")))
    written = len(run.events)
    assert run.send(rq.FireTimer(_task(run, "gone")), advance=3 * S) == rq.Ok()
    new = run.events[written:]
    assert [e.event_type for e in new] == [E.TIMER_FIRED, E.WORKFLOW_TASK_SCHEDULED]
    assert _fired(list(new)) == ["kept"]
    assert run.state.timers == ()
    run.check()


def test_timers_fired_while_a_workflow_task_runs_are_buffered_together() -> None:
    run = Run()
    run.complete(_timer("a", 1), _timer("b", 1))
    token = run.poll()
    written = len(run.events)
    run.send(rq.FireTimer(_task(run, "b")), advance=2 * S)
    assert len(run.events) == written  # buffered: the task is in flight
    assert _fired(list(run.state.buffered)) == ["a", "b"]
    run.send(rq.RespondWorkflowTaskCompleted(token, ()))
    assert _fired(list(run.events[written:])) == ["a", "b"]
    run.check()


def test_a_rebuilt_run_fires_its_due_timers_together() -> None:
    """After a rebuild (a reset's, refresh.py) the run has a task for each pending timer
    again, and the first to run fires both due timers in one transaction."""
    run = Run()
    run.complete(_timer("x", 2), _timer("y", 1))
    rebuilt = rebuild(run.events, "default", "wf", "run-1", "rebuilt", run.now)
    tasks = [t for t in rebuilt.tasks if isinstance(t, rq.UserTimerTask)]
    assert sorted(t.timer_id for t in tasks) == ["x", "y"]
    (x_task,) = [t for t in tasks if t.timer_id == "x"]
    outcome = service.handle(rebuilt.state, rq.FireTimer(x_task), run.now + 3 * S)
    assert [e.event_type for e in outcome.events] == [
        E.TIMER_FIRED,
        E.TIMER_FIRED,
        E.WORKFLOW_TASK_SCHEDULED,
    ]
    assert _fired(list(outcome.events)) == ["y", "x"]
