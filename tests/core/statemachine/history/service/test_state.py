"""`evolve`, the fast copy of MutableState, behaves exactly like dataclasses.replace."""

from __future__ import annotations

import dataclasses

import pytest

from core.statemachine.history.service.state import MutableState, RunStatus, evolve


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
