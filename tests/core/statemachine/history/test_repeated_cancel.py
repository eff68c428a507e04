"""A second ActivityTaskCancelRequested for one activity (rule H9).

The server writes a cancel request for an activity that is no longer pending when its
close is in the buffer (AddActivityTaskCancelRequestedEvent's HasActivityFinishEvent,
service/history/workflow/mutable_state_impl.go): so a batch may ask twice to cancel an
activity no worker started (the first request closed it at once), or ask again for a
running activity that closed while the task ran. Either way the close follows in the
flush that ends the batch. tests/fixtures/found-histories/cancel-twice.json is the dev
server's history of the first case. A repeated request for an activity that stays open
(the server refuses it: "duplicate cancellation") is H9, and so is one whose close does
not follow in that flush."""

from __future__ import annotations

from adapters.temporal_json import decode_history
from core.enums import EventType as E
from core.statemachine.history.validator import validate
from tests.conftest import FIXTURES
from tests.core.statemachine.history.builder import History


def _rules(h: History) -> list[tuple[str, int]]:
    return [(v.rule, v.event_id) for v in validate(h.events).violations]


def _asked_twice(*, started: bool, closes: E | None, later_batch: bool = False) -> History:
    """Activity a0 asked twice to cancel, the second time by the batch of `wtc`;
    `closes` is the close event written in that batch's flush (None: none)."""
    h = History().start()
    wtc = h.workflow_task()
    a = h.add(E.ACTIVITY_TASK_SCHEDULED, activity_id="a0", workflow_task_completed_event_id=wtc)
    if later_batch:  # the first request, by the batch that scheduled it
        h.add(
            E.ACTIVITY_TASK_CANCEL_REQUESTED,
            scheduled_event_id=a,
            workflow_task_completed_event_id=wtc,
        )
    started_id = h.add(E.ACTIVITY_TASK_STARTED, scheduled_event_id=a, attempt=1) if started else 0
    h.add(E.WORKFLOW_EXECUTION_SIGNALED, signal_name="wake")
    wtc = h.workflow_task()
    for _ in range(1 if later_batch else 2):
        first = h.add(
            E.ACTIVITY_TASK_CANCEL_REQUESTED,
            scheduled_event_id=a,
            workflow_task_completed_event_id=wtc,
        )
    if closes is E.ACTIVITY_TASK_CANCELED:
        h.add(
            E.ACTIVITY_TASK_CANCELED,
            scheduled_event_id=a,
            latest_cancel_requested_event_id=first - 1,  # the batch's first request
        )
    elif closes is not None:
        h.add(closes, scheduled_event_id=a, started_event_id=started_id)
    h.add(E.WORKFLOW_TASK_SCHEDULED, attempt=1)
    return h


def test_a_repeated_request_is_valid_when_the_activity_closes_in_the_flush() -> None:
    assert _rules(_asked_twice(started=False, closes=E.ACTIVITY_TASK_CANCELED)) == []


def test_a_request_for_a_running_activity_that_closed_in_flight_is_valid() -> None:
    history = _asked_twice(started=True, closes=E.ACTIVITY_TASK_COMPLETED, later_batch=True)
    assert _rules(history) == []


def test_a_repeated_request_for_an_activity_left_open_is_h9() -> None:
    history = _asked_twice(started=False, closes=None)
    repeated = max(
        e.event_id for e in history.events if e.event_type is E.ACTIVITY_TASK_CANCEL_REQUESTED
    )
    assert _rules(history) == [("H9", repeated)]


def test_a_repeated_request_for_a_running_activity_left_open_is_h9() -> None:
    history = _asked_twice(started=True, closes=None, later_batch=True)
    repeated = max(
        e.event_id for e in history.events if e.event_type is E.ACTIVITY_TASK_CANCEL_REQUESTED
    )
    assert _rules(history) == [("H9", repeated)]


def test_the_dev_servers_history_is_valid() -> None:
    history = decode_history((FIXTURES / "found-histories" / "cancel-twice.json").read_text())
    kinds = [e.event_type for e in history.events]
    assert kinds.count(E.ACTIVITY_TASK_CANCEL_REQUESTED) == 2
    assert validate(history.events).violations == ()
