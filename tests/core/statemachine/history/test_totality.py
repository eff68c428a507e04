"""Table totality: every state x input of every entity machine is either a row or an
invalid transition, and the validator never crashes on arbitrary event sequences."""

from __future__ import annotations

import tracemalloc
from enum import Enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.enums import EventType
from core.errors import InvalidTransition
from core.events import ATTRIBUTES_CLASS, HistoryEvent
from core.statemachine.fsm import Table, allowed_inputs, step
from core.statemachine.history.validator import HANDLERS, MACHINE_MODULES, validate
from sim.synthetic import synthetic_history
from tests.core.statemachine.history.mutations import REFERENCE_FIELDS

TABLES: list[Table[Any, Any]] = [m.TABLE for m in MACHINE_MODULES]


@pytest.mark.parametrize("table", TABLES, ids=[t.name for t in TABLES])
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_state_and_input_is_a_row_or_rejected(table: Table[Any, Any], data: Any) -> None:
    if not table.inputs:
        assert table.rows == ()
        return
    state: Enum = data.draw(st.sampled_from(table.states))
    input_: Enum = data.draw(st.sampled_from(table.inputs))
    if (state, input_) in table.next:
        new_state, outputs = step(table, state, input_)
        assert new_state in table.states and isinstance(outputs, tuple)
        assert input_ in allowed_inputs(table, state)
    else:
        with pytest.raises(InvalidTransition):
            step(table, state, input_)
        assert input_ not in allowed_inputs(table, state)


@pytest.mark.parametrize("table", TABLES, ids=[t.name for t in TABLES])
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_random_walks_stay_inside_the_machine(table: Table[Any, Any], data: Any) -> None:
    state = table.initial
    for _ in range(data.draw(st.integers(0, 8))):
        choices = allowed_inputs(table, state)
        if not choices:
            assert state in table.terminal
            break
        state, _ = step(table, state, data.draw(st.sampled_from(choices)))
        assert state in table.states


def test_every_typed_event_type_has_a_handler_or_needs_none() -> None:
    """Event types no machine handles carry no reference the validator could check."""
    unhandled = {t for t in ATTRIBUTES_CLASS if t not in HANDLERS and t < 48}
    assert unhandled == {
        EventType.WORKFLOW_EXECUTION_STARTED,
        EventType.WORKFLOW_EXECUTION_COMPLETED,
        EventType.WORKFLOW_EXECUTION_FAILED,
        EventType.WORKFLOW_EXECUTION_TIMED_OUT,
        EventType.WORKFLOW_EXECUTION_CANCEL_REQUESTED,
        EventType.WORKFLOW_EXECUTION_CANCELED,
        EventType.WORKFLOW_EXECUTION_SIGNALED,
        EventType.WORKFLOW_EXECUTION_TERMINATED,
        EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        EventType.WORKFLOW_EXECUTION_UPDATE_ADMITTED,
        EventType.WORKFLOW_PROPERTIES_MODIFIED_EXTERNALLY,
        EventType.WORKFLOW_PROPERTIES_MODIFIED,
    }


_TYPED = sorted(t for t in ATTRIBUTES_CLASS if 0 < t < 48)
_REFS = REFERENCE_FIELDS


@st.composite
def _event_sequences(draw: Any) -> list[HistoryEvent]:
    n = draw(st.integers(0, 30))
    events = []
    for i in range(n):
        event_type = draw(st.sampled_from(_TYPED))
        cls = ATTRIBUTES_CLASS[event_type]
        fields = {
            name: draw(st.integers(-2, n + 2)) for name in _REFS if name in cls.__dataclass_fields__
        }
        for name in ("timer_id", "activity_id", "marker_name"):
            if name in cls.__dataclass_fields__:
                fields[name] = draw(st.sampled_from(["", "a", "b"]))
        event_id = draw(st.sampled_from([i + 1, i + 1, i + 1, i, i + 3]))
        events.append(HistoryEvent(event_id, event_type, cls(**fields)))
    return events


@settings(max_examples=300, deadline=None)
@given(_event_sequences())
def test_validator_never_crashes_and_reports_known_rules(events: list[HistoryEvent]) -> None:
    result = validate(events)
    assert result.events == len(events)
    assert {v.rule for v in result.violations} <= {f"H{n}" for n in range(1, 20)}
    assert all(isinstance(v.event_id, int) for v in result.violations)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_synthetic_histories_are_valid(seed: int) -> None:
    result = validate(synthetic_history(5_000, seed=seed))
    assert result.violations == ()
    assert result.close_event_type == "WORKFLOW_EXECUTION_COMPLETED"


def _peak(n: int) -> int:
    tracemalloc.start()
    try:
        validate(synthetic_history(n))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_is_bounded_by_open_entities_not_length() -> None:
    small, large = _peak(10_000), _peak(100_000)
    assert large < small * 1.5 + 64 * 1024, (small, large)


def test_memory_check_would_see_a_leak() -> None:
    """The same measurement on a fold that keeps every event grows with the length."""

    def hoard(n: int) -> int:
        tracemalloc.start()
        try:
            kept = list(synthetic_history(n))
            validate(kept)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert hoard(20_000) > 1.5 * hoard(2_000)
