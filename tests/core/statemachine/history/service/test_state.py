"""`evolve`, the fast copy of MutableState, and `revise`, the fast copy of a pending
activity's or workflow task's record, behave exactly like dataclasses.replace; a
transaction's draft; an event dated as it is written; the order of the pending
activities `put` keeps."""

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
    WorkflowTaskInfo,
    evolve,
    revise,
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


def _activity() -> ActivityInfo:
    return ActivityInfo(5, "a", "T", "q", RetryPolicy(), 1, 2, 3, 4, 5, 6, identity="w")


def _task() -> WorkflowTaskInfo:
    return WorkflowTaskInfo(3, 1, "q", False, 10, 20, 2, request_id="r")


@pytest.mark.parametrize(
    ("record", "changes"),
    [
        (_activity(), {}),
        (_activity(), {"started": True, "started_time": 9, "identity": "", "attempt": 2}),
        (_activity(), {"retry_policy": RetryPolicy(maximum_attempts=3), "pause": None}),
        (_task(), {"started_event_id": 4, "suggest_continue_as_new": ()}),
        (_task(), {"sticky": True, "speculative": True, "worker_version": None}),
    ],
)
def test_revise_equals_replace(
    record: ActivityInfo | WorkflowTaskInfo, changes: dict[str, object]
) -> None:
    before = dataclasses.replace(record)
    fast = revise(record, **changes)
    slow = dataclasses.replace(record, **changes)  # type: ignore[arg-type]
    assert type(fast) is type(slow) and fast == slow and hash(fast) == hash(slow)
    assert fast is not record and record == before  # the input is untouched
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.attempt = 5  # type: ignore[misc]


@pytest.mark.parametrize("record", [_activity(), _task()])
def test_revise_rejects_unknown_fields(record: ActivityInfo | WorkflowTaskInfo) -> None:
    with pytest.raises(TypeError, match="no field 'nope'"):
        revise(record, nope=1)


def test_an_event_is_dated_as_it_is_written_or_buffered() -> None:
    attributes = TimerFiredEventAttributes(timer_id="t")
    txn = Txn(_state(), 5)
    txn.append(EventType.TIMER_FIRED, attributes)
    txn.append(EventType.TIMER_FIRED, attributes, event_time=3)
    txn.add(EventType.TIMER_FIRED, attributes, event_time=4)
    assert [e.event_time for e in txn.events] == [5, 3, 4]
    txn.hold_workflow_task = True  # buffered: dated all the same
    txn.add(EventType.TIMER_FIRED, attributes, event_time=2)
    txn.add(EventType.TIMER_FIRED, attributes)
    assert [e.event_time for e in txn.state.buffered] == [2, 5]


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
