"""THM-3.1's service half: the event language a driving service table writes (its rows'
declared `writes`) is accepted by the validator and by replay (proofs/theorems/
service_language.py); a row changed on the service side is a counterexample."""

from __future__ import annotations

import dataclasses

from core.enums import EventType
from core.statemachine import fsm
from core.statemachine.history import activity as history_activity
from core.statemachine.history.service import activity as service_activity
from core.statemachine.history.service import timer
from proofs.theorems import replay_determinism as thm
from proofs.theorems import service_language
from proofs.theorems.service_language import ServiceTable

E = EventType
T = timer.PendingTimerState
A = service_activity.PendingActivityState


def _services() -> dict[str, ServiceTable]:
    return {t.pair.kind: t for t in thm.core_services(thm.core_pairs())}


def _timer_with(change: dict[str, fsm.Row[T, timer.TimerInput]]) -> ServiceTable:
    """The timer's service table with the rows of the named handlers replaced."""
    rows = []
    for row in timer.TABLE.rows:
        key = f"{row.source.name}/{row.handler}"
        rows.append(change.get(key, row))
    table = fsm.make_table("timer (changed)", "", T, timer.TimerInput, T.STARTED, rows)
    return dataclasses.replace(_services()["timer"], service=table)


def test_the_core_service_tables_write_what_both_sides_accept() -> None:
    result = thm.prove()
    assert result.proved, result.counterexample
    assert result.obligations == 2 * len(thm.core_pairs()) + 2
    for table in _services().values():
        finding, rows, explored = service_language.compare(table)
        assert finding is None and rows == ()
        assert explored > 2  # more than the start: the search went along the rows


def test_a_closed_timer_fired_again_is_a_counterexample() -> None:
    again = fsm.Row(
        T.CLOSED, timer.TimerInput.FIRE, T.CLOSED, handler="fire", writes=(E.TIMER_FIRED,)
    )
    table = _timer_with({"CLOSED/ignore_stale": again})
    finding, rows, _ = service_language.compare(table)
    assert finding is not None
    assert finding.events == (E.TIMER_STARTED, E.TIMER_FIRED, E.TIMER_FIRED)
    assert finding.problem == service_language.VALIDATOR_REJECTS
    assert [r.split(" ")[0] for r in rows] == ["STARTED", "CLOSED"]
    text = service_language.check(table)
    assert text is not None and "history table 'timer': rejects event 3" in text


def test_a_retract_takes_the_buffered_event_back() -> None:
    """Cancelling a timer whose TimerFired is still buffered deletes it: the run writes
    TimerStarted, TimerCanceled. Without its declared retract the same row would write
    TimerCanceled after TimerFired, which the validator rejects."""
    (buffered,) = [r for r in timer.TABLE.rows if r.handler == "cancel_buffered_fire"]
    assert buffered.retracts == (E.TIMER_FIRED,)
    table = _timer_with({"CLOSED/cancel_buffered_fire": dataclasses.replace(buffered, retracts=())})
    finding, _, _ = service_language.compare(table)
    assert finding is not None
    assert finding.events == (E.TIMER_STARTED, E.TIMER_FIRED, E.TIMER_CANCELED)


def test_a_validator_row_removed_is_found_from_the_service_side() -> None:
    """The service writes ActivityTaskTimedOut for a Scheduled activity (schedule-to-start
    timeout); a validator without that row is refused by the service half too."""
    s, i = history_activity.ActivityState, history_activity.ActivityInput
    service = _services()["activity"]
    pair = dataclasses.replace(
        service.pair, history=thm.without_row(history_activity.TABLE, s.SCHEDULED, i.TIMED_OUT)
    )
    finding, rows, _ = service_language.compare(dataclasses.replace(service, pair=pair))
    assert finding is not None
    assert finding.events == (E.ACTIVITY_TASK_SCHEDULED, E.ACTIVITY_TASK_TIMED_OUT)
    assert rows and rows[-1].startswith("SCHEDULED --")


def _activity_with_cancel_of_closed(overtakes: tuple[E, ...]) -> ServiceTable:
    """The activity's service table with its row for a cancel of an activity whose close
    is buffered declaring `overtakes` instead."""
    service = _services()["activity"]
    rows = [
        dataclasses.replace(r, overtakes=overtakes) if r.handler == "request_cancel_closed" else r
        for r in service_activity.TABLE.rows
    ]
    table = fsm.make_table(
        "activity (changed)", "", A, service_activity.ActivityInput, A.SCHEDULED, rows
    )
    return dataclasses.replace(service, service=table)


def test_a_cancel_request_goes_in_front_of_the_buffered_close() -> None:
    """A workflow task asks to cancel an activity that closed while it ran: the request
    is written in the task's batch, the buffered close after it (the dev server's
    tests/fixtures/found-histories/cancel-after-timeout.json). Without its declared
    `overtakes` the row would write the request after the close: no SDK asks to cancel
    an activity it has seen close, so no path takes the row, and the check reports it as
    unchecked rather than passing it unseen."""
    (row,) = [r for r in service_activity.TABLE.rows if r.handler == "request_cancel_closed"]
    assert E.ACTIVITY_TASK_TIMED_OUT in row.overtakes
    changed = _activity_with_cancel_of_closed(overtakes=())
    finding, rows, _ = service_language.compare(changed)
    assert finding is not None and finding.problem == service_language.UNCHECKED
    assert len(rows) == 1 and rows[0].startswith("CLOSED --RequestCancelActivityTask [close")
    text = service_language.check(changed)
    assert text is not None and "request_cancel_closed" in text


def test_without_the_synchronisation_the_row_out_of_order_is_a_counterexample() -> None:
    changed = _activity_with_cancel_of_closed(overtakes=())
    finding, rows, _ = service_language.compare(dataclasses.replace(changed, commands={}))
    assert finding is not None and finding.problem != service_language.UNCHECKED
    assert finding.events[-1] is E.ACTIVITY_TASK_CANCEL_REQUESTED
    assert rows[-1].startswith("CLOSED --")


def test_a_second_cancel_no_sdk_sends_is_not_held_against_the_service() -> None:
    """The server writes a second cancel request when one batch asks twice (the dev
    server's tests/fixtures/found-histories/cancel-twice.json), and replay refuses it;
    only a worker that is no SDK asks twice. Without the command synchronisation the
    service half reports that sequence."""
    service = _services()["activity"]
    assert service.commands
    unsynchronised = dataclasses.replace(service, commands={})
    finding, _, _ = service_language.compare(unsynchronised)
    assert finding is not None and finding.problem != service_language.UNCHECKED
    assert finding.events.count(E.ACTIVITY_TASK_CANCEL_REQUESTED) == 2
