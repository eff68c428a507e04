"""The events reapplier: losing-branch signals are reapplied once, or reset into a new run."""

from __future__ import annotations

from core.enums import EventType
from core.statemachine.replication import applier, reapply, replica
from core.statemachine.replication.applier import Outcome
from core.statemachine.replication.reapply import ReapplyAction
from core.statemachine.replication.replica import Event, RunReplica, RunState
from tests.core.statemachine.replication.build import (
    COMPLETED,
    SIGNALED,
    last_task,
    started,
    write,
)

E = EventType


def conflict(*, b_closes: bool, a_events: tuple[EventType, ...] = (SIGNALED,)) -> applier.Applied:
    """`a` (v1) writes `a_events` during a partition while `b` (failed over to, v2)
    writes; `a`'s batch then reaches `b`: what applying it did there."""
    a = started()
    b = applier.apply_task(replica.absent("r1"), last_task(a, "a")).replica
    b = write(b, "b", 2, COMPLETED if b_closes else SIGNALED, "" if b_closes else "b1")
    batch = tuple(
        Event(2 + i, 1, kind, "a", f"a{i}" if kind in reapply.REAPPLIED_AS else "")
        for i, kind in enumerate(a_events)
    )
    a = replica.append_local(a, batch)
    applied = applier.apply_task(b, last_task(a, "a", len(batch)))
    assert applied.outcome is Outcome.BACKFILLED
    return applied


def test_running_winner_gets_the_signal_appended_once() -> None:
    applied = conflict(b_closes=False)
    decision = reapply.decide(applied.replica, applied.losing, "r1", is_active=True)
    assert decision.action is ReapplyAction.APPEND
    run, written = reapply.reapply(applied.replica, decision.events, "r1", 2, "b")
    assert [(e.event_id, e.version, e.origin, e.request_id) for e in written] == [(3, 2, "b", "a0")]
    assert run.current_events[-1] == written[0]
    again, none = reapply.reapply(run, decision.events, "r1", 2, "b")
    assert again == run and none == ()
    assert reapply.decide(run, applied.losing, "r1", is_active=True).action is ReapplyAction.NOTHING


def test_only_inputs_from_outside_are_reapplied() -> None:
    kinds = (
        E.WORKFLOW_TASK_SCHEDULED,
        E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        E.WORKFLOW_EXECUTION_CANCEL_REQUESTED,
        E.ACTIVITY_TASK_SCHEDULED,
        E.WORKFLOW_EXECUTION_COMPLETED,
    )
    applied = conflict(b_closes=False, a_events=kinds)
    decision = reapply.decide(applied.replica, applied.losing, "r1", is_active=True)
    assert [e.event_type for e in decision.events] == [
        E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        E.WORKFLOW_EXECUTION_CANCEL_REQUESTED,
    ]
    run, written = reapply.reapply(applied.replica, decision.events, "r1", 2, "b")
    assert [e.event_type for e in written] == [
        E.WORKFLOW_EXECUTION_UPDATE_ADMITTED,
        E.WORKFLOW_EXECUTION_CANCEL_REQUESTED,
    ]
    # a second cancel request is not reapplied to a run that already has one
    second = (Event(9, 1, E.WORKFLOW_EXECUTION_CANCEL_REQUESTED, "a", "c2"),)
    assert reapply.candidates(run, second, "r1") == ()


def test_a_passive_cluster_forwards() -> None:
    applied = conflict(b_closes=False)
    decision = reapply.decide(applied.replica, applied.losing, "r1", is_active=False)
    assert decision.action is ReapplyAction.FORWARD and len(decision.events) == 1


def test_closed_winner_is_reset_into_a_new_run() -> None:
    applied = conflict(b_closes=True)
    assert applied.replica.state is RunState.CLOSED
    decision = reapply.decide(applied.replica, applied.losing, "r1", is_active=True)
    assert decision.action is ReapplyAction.RESET
    base, new = reapply.reset_run(applied.replica, "r2", decision.events, "r1", 2, "b")
    assert new.state is RunState.RUNNING and new.run_id == "r2"
    assert [(e.event_type, e.request_id) for e in new.current_events] == [
        (E.WORKFLOW_EXECUTION_STARTED, ""),
        (SIGNALED, "a0"),
    ]
    assert base.current_events == applied.replica.current_events
    assert ("r1", 2, 1) in base.reapplied and base.reapplied == new.reapplied
    assert (
        reapply.decide(base, applied.losing, "r1", is_active=True).action is ReapplyAction.NOTHING
    )
    assert reapply.decide(new, applied.losing, "r1", is_active=True).action is ReapplyAction.NOTHING


def test_nothing_to_reapply() -> None:
    applied = conflict(b_closes=False, a_events=(E.TIMER_STARTED,))
    assert (
        reapply.decide(applied.replica, applied.losing, "r1", True).action is ReapplyAction.NOTHING
    )
    run: RunReplica = applied.replica
    assert reapply.reapply(run, applied.losing, "r1", 2, "b") == (run, ())
