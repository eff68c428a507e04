"""`evolve`, the fast copy of MutableState, behaves exactly like dataclasses.replace; a
transaction's draft; the order of the pending activities `put` keeps."""

from __future__ import annotations

import dataclasses

import pytest

from core.enums import EventType
from core.events import TimerFiredEventAttributes
from core.statemachine.history.service.activity_handlers import put
from core.statemachine.history.service.state import (
    ActivityInfo,
    MutableState,
    RetryPolicy,
    RunStatus,
    evolve,
)
from core.statemachine.history.service.txn import Txn


def _state() -> MutableState:
    return MutableState(
        "ns", "wf", "run", "Flow", "q", 1, 2, 3, 4, signal_request_ids=frozenset({"a"})
    )


@pytest.mark.parametrize(
    "changes",
    [{}, {"next_event_id": 9}, {"status": RunStatus.FAILED, "wft_attempt": 3}, {"timers": ()}],
)
def test_evolve_equals_replace(changes: dict[str, object]) -> None:
    state = _state()
    fast = evolve(state, **changes)
    slow = dataclasses.replace(state, **changes)  # type: ignore[arg-type]
    assert fast == slow and hash(fast) == hash(slow)
    assert fast is not state and state == _state()  # the input is untouched


def test_evolve_rejects_unknown_fields() -> None:
    with pytest.raises(TypeError, match="no field 'nope'"):
        evolve(_state(), nope=1)


def test_evolved_state_is_still_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        evolve(_state()).next_event_id = 5  # type: ignore[misc]


def test_a_transaction_changes_a_private_draft_and_hands_out_a_frozen_state() -> None:
    state = _state()
    txn = Txn(state, 5)
    txn.set(wft_attempt=3)
    txn.append(EventType.TIMER_FIRED, TimerFiredEventAttributes(timer_id="t"))
    txn.set(wft_stamp=7)
    assert state == _state()  # the input is never written
    out = txn.frozen()
    assert type(out) is MutableState
    assert out == dataclasses.replace(state, wft_attempt=3, wft_stamp=7, next_event_id=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.wft_attempt = 9  # type: ignore[misc]
    txn.set(wft_attempt=4)  # a change after freezing makes a new draft ...
    assert out.wft_attempt == 3  # ... and leaves the handed-out state alone
    assert txn.frozen().wft_attempt == 4


def test_a_transaction_without_changes_hands_back_its_input() -> None:
    state = _state()
    assert Txn(state, 5).frozen() is state


def test_put_keeps_the_pending_activities_sorted_by_id_and_replaces_in_place() -> None:
    def info(scheduled_event_id: int, attempt: int = 1) -> ActivityInfo:
        return ActivityInfo(
            scheduled_event_id, "a", "T", "q", RetryPolicy(), 0, 0, 1, 0, 0, 0, attempt
        )

    txn = Txn(_state(), 5)
    for scheduled_event_id in (7, 3, 9, 5):  # one before, one after, one in between
        put(txn, info(scheduled_event_id))
    put(txn, info(5, attempt=2))  # the same id again: replaced where it stands
    assert [(a.scheduled_event_id, a.attempt) for a in txn.state.activities] == [
        (3, 1),
        (5, 2),
        (7, 1),
        (9, 1),
    ]
