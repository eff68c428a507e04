"""THM-RESULT-AT-MOST-ONCE over the service tables that drive (guards included)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from core import requests as rq
from core.enums import EventType
from core.errors import InvalidDefinition
from core.statemachine import fsm
from core.statemachine.history import activity as history_activity
from core.statemachine.history.service import activity as service_activity
from core.statemachine.history.service import activity_handlers
from core.statemachine.history.service import timer as service_timer
from proofs.theorems import result_at_most_once as ramo
from tests.core.statemachine.coverage_scenarios import Run, activity

A, AI = service_activity.PendingActivityState, service_activity.ActivityInput


def _steps(counterexample: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^\s+\d+\. (.+)$", counterexample, re.M)]


def test_the_core_tables_are_proved() -> None:
    result = ramo.prove()
    assert result.proved, result.counterexample
    # initiation + safety + schedule + one action per distinct row effect, per table
    assert result.obligations == sum(len(ramo.effects(s)) + 3 for s in ramo.core_subjects())


def test_a_completing_row_for_a_closed_activity_is_a_second_result() -> None:
    result = ramo.prove_negative()
    assert not result.proved and result.counterexample is not None
    assert result.counterexample.startswith("activity (service) (modified):")
    steps = _steps(result.counterexample)
    assert steps[1].endswith("schedule (Scheduled) (results written: 0)")
    assert steps[-1].endswith(
        "Closed --RespondActivityTaskCompleted / complete--> Closed (results written: 2)"
    )
    # The driving table decides that step with a handler that writes nothing.
    row = fsm.decide(service_activity.TABLE, A.CLOSED, AI.RESPOND_COMPLETED)
    assert row.handler == "reject_not_found"
    assert ramo.declared_results(row) == 0


def test_removing_the_duplicate_completion_row_is_not_proved() -> None:
    result = ramo.prove_without_guard_row()
    assert not result.proved
    assert result.counterexample == (
        "activity (service) (modified): no row decides Closed on RespondActivityTaskCompleted"
    )


def test_the_theorem_reads_the_driving_table_at_run_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_activity, "TABLE", ramo.without_guard_row().table)
    result = ramo.prove()
    assert not result.proved and "no row decides Closed" in str(result.counterexample)


def test_the_server_answers_a_late_completion_by_that_row() -> None:
    """What the row says is what runs: a second completion is NOT_FOUND, one result."""
    run = Run()
    run.complete(activity("a"))
    sid = max(e.event_id for e in run.events if e.event_type.name == "ACTIVITY_TASK_SCHEDULED")
    token = run.start_activity(sid)
    assert run.send(rq.RespondActivityTaskCompleted(token)) == rq.Ok()
    late = run.send(rq.RespondActivityTaskCompleted(token))
    assert isinstance(late, rq.Error) and late.kind is rq.ErrorKind.NOT_FOUND
    completed = [e for e in run.events if e.event_type.name == "ACTIVITY_TASK_COMPLETED"]
    assert len(completed) == 1


def test_a_handler_off_its_row_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stored state must be the row's target: a heartbeat handler that deletes the
    record (leaving the activity Closed on a Started -> Started row) is refused at once."""
    heartbeat = activity_handlers.HANDLERS["heartbeat"]

    def closing_heartbeat(call: activity_handlers.Call) -> rq.Reply:
        reply = heartbeat(call)
        activity_handlers.drop(call.txn, call.record().scheduled_event_id)
        return reply

    monkeypatch.setitem(activity_handlers.HANDLERS, "heartbeat", closing_heartbeat)
    run = Run()
    run.complete(activity("a"))
    sid = max(e.event_id for e in run.events if e.event_type.name == "ACTIVITY_TASK_SCHEDULED")
    token = run.start_activity(sid)
    with pytest.raises(InvalidDefinition, match="left the entity in CLOSED"):
        run.send(rq.RecordActivityTaskHeartbeat(token))


def test_the_completion_row_decides_what_is_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    """The record is deleted because the row's target is Closed: with the completion row
    ending in Started instead, the server accepts a duplicated completion, and the
    theorem, reading the same table, is not proved."""
    from proofs.theorems.exactly_once import completion_kept

    monkeypatch.setattr(service_activity, "TABLE", completion_kept(service_activity.TABLE))
    run = Run()
    run.complete(activity("a"))
    sid = max(e.event_id for e in run.events if e.event_type.name == "ACTIVITY_TASK_SCHEDULED")
    token = run.start_activity(sid)
    assert run.send(rq.RespondActivityTaskCompleted(token)) == rq.Ok()
    assert run.send(rq.RespondActivityTaskCompleted(token)) == rq.Ok()
    completed = [e for e in run.events if e.event_type.name == "ACTIVITY_TASK_COMPLETED"]
    assert len(completed) == 2
    result = ramo.prove()
    assert not result.proved
    assert "Started --RespondActivityTaskCompleted / complete--> Started" in str(
        result.counterexample
    )


@pytest.mark.parametrize(
    ("index", "row", "expected"),
    [
        (
            1,
            fsm.Row(
                service_timer.PendingTimerState.CLOSED,
                service_timer.TimerInput.FIRE,
                service_timer.PendingTimerState.CLOSED,
                guard="late",
                handler="fire",
                writes=(EventType.TIMER_FIRED,),
            ),
            "Closed --timer task fires [late] / fire--> Closed",
        ),
        (
            1,
            fsm.Row(
                service_timer.PendingTimerState.CLOSED,
                service_timer.TimerInput.CANCEL,
                service_timer.PendingTimerState.CLOSED,
                guard="late",
                handler="cancel",
                writes=(EventType.TIMER_CANCELED,),
            ),
            "Closed --CancelTimer [late] / cancel--> Closed",
        ),
        (
            2,
            fsm.Row(
                history_activity.ActivityState.FAILED,
                history_activity.ActivityInput.COMPLETED,
                history_activity.ActivityState.COMPLETED,
            ),
            "Failed --ActivityTaskCompleted--> Completed",
        ),
        (
            0,
            fsm.Row(
                A.CLOSED,
                AI.HEARTBEAT,
                A.CLOSED,
                guard="late",
                handler="fail",
                writes=(EventType.ACTIVITY_TASK_FAILED,),
            ),
            "Closed --RecordActivityTaskHeartbeat [late] / fail--> Closed",
        ),
    ],
)
def test_injected_bad_row_fails_the_proof(
    index: int, row: fsm.Row[fsm.S, fsm.I], expected: str
) -> None:
    subjects = list(ramo.core_subjects())
    subjects[index] = ramo.with_row(subjects[index], row)
    result = ramo.prove(subjects)
    assert not result.proved and result.counterexample is not None
    assert subjects[index].table.name in result.counterexample
    assert f"{expected} (results written: 2)" in result.counterexample


def test_injected_harmless_row_keeps_the_proof() -> None:
    """A guarded row that writes no result (a heartbeat while backing off) is proved."""
    subjects = list(ramo.core_subjects())
    extra = fsm.Row(A.BACKOFF, AI.HEARTBEAT, A.BACKOFF, guard="x", handler="reject_not_found")
    subjects[0] = ramo.with_row(subjects[0], extra)
    assert ramo.prove(subjects).proved


def test_closed_state_names_must_exist_and_a_driving_table_must_write_results() -> None:
    subject = dataclasses.replace(ramo.core_subjects()[1], closed=frozenset({"Expired"}))
    with pytest.raises(ValueError, match="no state named Expired"):
        ramo.system(subject)
    activity_subject = ramo.core_subjects()[0]
    silent = [dataclasses.replace(r, writes=(), retracts=()) for r in activity_subject.table.rows]
    with pytest.raises(ValueError, match="no row declares a result event"):
        ramo.system(ramo.with_rows(activity_subject, silent))


def _completion_declaring_nothing() -> ramo.AnyTable:
    rows = [
        dataclasses.replace(r, writes=()) if r.handler == "complete" else r
        for r in service_activity.TABLE.rows
    ]
    return ramo.with_rows(ramo.core_subjects()[0], rows).table


def test_a_row_hiding_its_result_is_refused_by_the_server_and_the_proof(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The proof counts results from the rows' declarations; a declaration that leaves
    out the completion its handler writes is caught when the server steps the row
    (INV-TABLE-ROW), and the proof, reading the same table, is not proved."""
    monkeypatch.setattr(service_activity, "TABLE", _completion_declaring_nothing())
    result = ramo.prove()
    assert not result.proved
    assert "/ complete--> Closed (results written: 0)" in str(result.counterexample)
    run = Run()
    run.complete(activity("a"))
    sid = max(e.event_id for e in run.events if e.event_type.name == "ACTIVITY_TASK_SCHEDULED")
    token = run.start_activity(sid)
    with pytest.raises(fsm.RowBroken, match="ACTIVITY_TASK_COMPLETED"):
        run.send(rq.RespondActivityTaskCompleted(token))
