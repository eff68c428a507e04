"""Transition tables as data, and the one piece of machinery that runs them.

Every entity machine in the model (workflow task, activity, timer, child workflow, ...)
is a `Table`: a read-only mapping ``(state, input) -> Row``. Anything not in the
mapping is an invalid transition. Tables are built once, at import, by `make_table`,
which rejects duplicate rows, rows from or to states the machine does not declare,
and states that cannot be reached from the initial state. Diagrams (`to_dot`) and
coverage gates are derived from the same rows, never drawn or listed by hand.

`step(table, state, input)` returns the new state and the row's outputs; it never
mutates anything, and a rejected input raises `InvalidTransition` and leaves the old
state valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Generic, TypeVar

from core.errors import InvalidDefinition, InvalidTransition
from core.fastinit import fast_init_all

S = TypeVar("S", bound=Enum)
I = TypeVar("I", bound=Enum)  # noqa: E741 - the conventional name for an input alphabet


@dataclass(frozen=True, slots=True)
class Row(Generic[S, I]):
    """One transition: in `source`, on `input`, go to `target` and emit `outputs`."""

    source: S
    input: I
    target: S
    outputs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Table(Generic[S, I]):
    """A validated transition table.

    `initial` is the state an entity is in when it is created; `terminal` states have
    no outgoing rows. `rule` is the ID (``H9``, ...) that an invalid transition of
    this machine violates.
    """

    name: str
    rule: str
    states: tuple[S, ...]
    inputs: tuple[I, ...]
    initial: S
    terminal: frozenset[S]
    rows: tuple[Row[S, I], ...]
    next: Mapping[tuple[S, I], Row[S, I]]


def make_table(
    name: str,
    rule: str,
    state_type: type[S],
    input_type: type[I],
    initial: S,
    rows: Iterable[tuple[S, I, S] | Row[S, I]],
) -> Table[S, I]:
    """Build and validate a table; raises `InvalidDefinition` on a malformed one."""
    built: list[Row[S, I]] = []
    for row in rows:
        built.append(row if isinstance(row, Row) else Row(row[0], row[1], row[2]))
    states = tuple(state_type)
    inputs = tuple(input_type)
    index: dict[tuple[S, I], Row[S, I]] = {}
    for row in built:
        _check_row_types(name, row, state_type, input_type)
        key = (row.source, row.input)
        if key in index:
            raise InvalidDefinition(
                f"{name}: duplicate row for {row.source.name} on {row.input.name}"
            )
        index[key] = row
    terminal = frozenset(s for s in states if not any(r.source is s for r in built))
    unreachable = set(states) - _reachable(initial, built)
    if unreachable:
        names = ", ".join(sorted(s.name for s in unreachable))
        raise InvalidDefinition(f"{name}: unreachable states: {names}")
    return Table(
        name=name,
        rule=rule,
        states=states,
        inputs=inputs,
        initial=initial,
        terminal=terminal,
        rows=tuple(built),
        next=MappingProxyType(index),
    )


def _check_row_types(name: str, row: Row[S, I], state_type: type[S], input_type: type[I]) -> None:
    if not isinstance(row.source, state_type) or not isinstance(row.target, state_type):
        raise InvalidDefinition(f"{name}: row {row} uses a state outside {state_type.__name__}")
    if not isinstance(row.input, input_type):
        raise InvalidDefinition(f"{name}: row {row} uses an input outside {input_type.__name__}")


def _reachable(initial: S, rows: list[Row[S, I]]) -> set[S]:
    seen = {initial}
    frontier = [initial]
    while frontier:
        state = frontier.pop()
        for row in rows:
            if row.source is state and row.target not in seen:
                seen.add(row.target)
                frontier.append(row.target)
    return seen


def step(table: Table[S, I], state: S, input_: I) -> tuple[S, tuple[str, ...]]:
    """Apply one input; return ``(new_state, outputs)`` or raise `InvalidTransition`."""
    row = table.next.get((state, input_))
    if row is None:
        raise InvalidTransition(table.name, state.name, input_.name)
    return row.target, row.outputs


def allowed_inputs(table: Table[S, I], state: S) -> tuple[I, ...]:
    """The inputs `state` accepts, in the order the input enum declares them."""
    return tuple(i for i in table.inputs if (state, i) in table.next)


def to_dot(table: Table[S, I]) -> str:
    """Graphviz DOT text of the machine, generated from its rows (for the docs)."""
    lines = [
        f'digraph "{table.name}" {{',
        "  rankdir=LR;",
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        '  __start [shape=point, label=""];',
        f"  __start -> {table.initial.name};",
    ]
    for state in table.states:
        shape = ", peripheries=2" if state in table.terminal else ""
        lines.append(f'  {state.name} [label="{state.name}"{shape}];')
    for row in table.rows:
        lines.append(f'  {row.source.name} -> {row.target.name} [label="{row.input.name}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
