"""The shared table machinery: construction checks, step, DOT export."""

from __future__ import annotations

from enum import Enum

import pytest

from core.enums import EventType
from core.errors import InvalidDefinition, InvalidTransition
from core.statemachine.fsm import (
    ROW_RULE,
    Row,
    RowBroken,
    Table,
    allowed_inputs,
    check_effect,
    check_target,
    decide,
    make_table,
    step,
    to_dot,
)


class St(Enum):
    A = "A"
    B = "B"
    C = "C"


class In(Enum):
    GO = "go"
    STOP = "stop"


def test_step_returns_new_state_and_outputs() -> None:
    table = make_table(
        "demo",
        "X1",
        St,
        In,
        St.A,
        [Row(St.A, In.GO, St.B, ("emit",)), (St.B, In.STOP, St.C)],
    )
    assert step(table, St.A, In.GO) == (St.B, ("emit",))
    assert step(table, St.B, In.STOP) == (St.C, ())


def test_invalid_transition_names_machine_state_and_input() -> None:
    table = make_table("demo", "X1", St, In, St.A, [(St.A, In.GO, St.B), (St.B, In.STOP, St.C)])
    with pytest.raises(InvalidTransition, match=r"demo: no transition from A on STOP"):
        step(table, St.A, In.STOP)


def test_terminal_states_are_those_without_rows() -> None:
    table = make_table("demo", "X1", St, In, St.A, [(St.A, In.GO, St.B), (St.B, In.STOP, St.C)])
    assert table.terminal == frozenset({St.C})
    assert allowed_inputs(table, St.A) == (In.GO,)
    assert allowed_inputs(table, St.C) == ()


def test_duplicate_rows_are_rejected() -> None:
    with pytest.raises(InvalidDefinition, match="duplicate row"):
        make_table(
            "demo",
            "X1",
            St,
            In,
            St.A,
            [(St.A, In.GO, St.B), (St.A, In.GO, St.C), (St.B, In.STOP, St.C)],
        )


def test_unreachable_states_are_rejected() -> None:
    with pytest.raises(InvalidDefinition, match="unreachable states: C"):
        make_table("demo", "X1", St, In, St.A, [(St.A, In.GO, St.B)])


def test_rows_with_foreign_states_are_rejected() -> None:
    class Other(Enum):
        Z = "Z"

    with pytest.raises(InvalidDefinition, match="outside St"):
        make_table("demo", "X1", St, In, St.A, [(St.A, In.GO, Other.Z)])


def test_table_mapping_is_read_only() -> None:
    table = make_table("demo", "X1", St, In, St.A, [(St.A, In.GO, St.B), (St.B, In.STOP, St.C)])
    with pytest.raises(TypeError):
        table.next[(St.C, In.GO)] = table.rows[0]  # type: ignore[index]


def test_dot_lists_every_row_and_marks_terminals() -> None:
    table = make_table("demo", "X1", St, In, St.A, [(St.A, In.GO, St.B), (St.B, In.STOP, St.C)])
    dot = to_dot(table)
    assert 'A -> B [label="GO"];' in dot
    assert 'B -> C [label="STOP"];' in dot
    assert 'C [label="C", peripheries=2];' in dot
    assert "__start -> A;" in dot


def _guarded() -> Table[St, In]:
    return make_table(
        "demo",
        "X1",
        St,
        In,
        St.A,
        [
            Row(St.A, In.GO, St.A, guard="stale", handler="ignore"),
            Row(St.A, In.GO, St.B, handler="go"),
            Row(St.B, In.STOP, St.C, guard="allowed", handler="stop"),
        ],
    )


def test_decide_picks_the_first_guard_that_holds_else_the_unguarded_row() -> None:
    table = _guarded()
    assert decide(table, St.A, In.GO, lambda g: g == "stale").handler == "ignore"
    assert decide(table, St.A, In.GO, lambda g: False).handler == "go"
    assert decide(table, St.B, In.STOP, lambda g: True).target is St.C
    with pytest.raises(InvalidTransition, match="no transition from B on STOP"):
        decide(table, St.B, In.STOP, lambda g: False)  # a guarded row with no otherwise
    assert table.next[(St.A, In.GO)].handler == "go"  # `next` keeps the unguarded rows
    assert allowed_inputs(table, St.B) == (In.STOP,)


def test_duplicate_guards_are_rejected_and_the_target_is_checked() -> None:
    with pytest.raises(InvalidDefinition, match=r"duplicate row for A on GO \[g\]"):
        make_table(
            "demo", "X1", St, In, St.A,
            [Row(St.A, In.GO, St.B, guard="g"), Row(St.A, In.GO, St.C, guard="g")],
        )  # fmt: skip
    table = _guarded()
    row = decide(table, St.A, In.GO, lambda g: False)
    check_target(table, row, St.B)
    with pytest.raises(InvalidDefinition, match="handler go of A on GO left the entity in A"):
        check_target(table, row, St.A)


def test_a_handler_must_write_what_its_row_declares() -> None:
    """`check_effect`: the events written and the buffered events deleted, in order; a
    mismatch is a `RowBroken` (an invalid transition and an invalid definition both, so
    the simulator reports it as a violation of `ROW_RULE`)."""
    E = EventType
    row = Row(St.A, In.GO, St.B, handler="go", writes=(E.TIMER_FIRED,))
    table = make_table("demo", "X1", St, In, St.A, [row, Row(St.B, In.GO, St.C)])
    check_effect(table, row, [E.TIMER_FIRED])
    for written, retracted in (
        ((), ()),
        ((E.TIMER_FIRED, E.TIMER_FIRED), ()),
        ((E.TIMER_FIRED,), (E.TIMER_FIRED,)),
    ):
        with pytest.raises(RowBroken, match=r"the row says \(TIMER_FIRED\) and \(\)") as caught:
            check_effect(table, row, written, retracted)
        assert isinstance(caught.value, InvalidTransition) and isinstance(
            caught.value, InvalidDefinition
        )
        assert caught.value.machine == "demo" and ROW_RULE == "INV-TABLE-ROW"
    undo = Row(St.A, In.GO, St.B, writes=(E.TIMER_CANCELED,), retracts=(E.TIMER_FIRED,))
    check_effect(table, undo, [E.TIMER_CANCELED], [E.TIMER_FIRED])
    with pytest.raises(RowBroken):
        check_effect(table, undo, [E.TIMER_CANCELED])


def test_dot_labels_name_guard_and_handler() -> None:
    assert 'A -> A [label="GO [stale] / ignore"];' in to_dot(_guarded())
