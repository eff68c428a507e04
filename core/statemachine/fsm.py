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

Rows that decide. A row may also name a *guard* and a *handler*, as sdk-core's `fsm!`
rows name theirs (``Scheduled --(Complete(attrs), on_complete)--> Completed``): several
rows may share a source and an input when they differ by guard, and `decide` picks the
first whose guard holds (guarded rows in the order written, then the one unguarded row,
which is the "otherwise"). The caller runs the handler the chosen row names and stores
the row's target as the entity's new state, so the table decides what happens and the
handlers only carry it out (service-side entities, e.g. service/activity.py).

A driving row also says what its handler writes: `writes`, the entity's events it
appends (in order), and `retracts`, buffered events of the entity it deletes so the run
never writes them; `overtakes` names the entity's buffered events its writes go in front
of (written now, while they are flushed after the batch). The caller checks `writes` and
`retracts` after the handler ran (`check_effect`), as it
checks the target (`check_target`), so the declaration cannot drift from the code; THM-3.1
reads the declarations to build the event language a service table can write. A handler
that does not do what its row says raises `RowBroken` (rule ``INV-TABLE-ROW``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Generic, TypeVar

from core.enums import EventType
from core.errors import InvalidDefinition, InvalidTransition
from core.fastinit import fast_init_all

S = TypeVar("S", bound=Enum)
I = TypeVar("I", bound=Enum)  # noqa: E741 - the conventional name for an input alphabet


@dataclass(frozen=True, slots=True)
class Row(Generic[S, I]):
    """One transition: in `source`, on `input` (and when `guard` holds, if it names
    one), go to `target`, emit `outputs` and run the handler named `handler`, which
    writes the events `writes` and deletes the buffered events `retracts`; its writes
    precede the entity's buffered events of the types in `overtakes`."""

    source: S
    input: I
    target: S
    outputs: tuple[str, ...] = ()
    guard: str = ""
    handler: str = ""
    writes: tuple[EventType, ...] = ()
    retracts: tuple[EventType, ...] = ()
    overtakes: tuple[EventType, ...] = ()

    def label(self) -> str:
        """``INPUT [guard] / handler``: how diagrams and counterexamples name the row."""
        text = str(self.input.value)
        if self.guard:
            text += f" [{self.guard}]"
        if self.handler:
            text += f" / {self.handler}"
        return text


@dataclass(frozen=True, slots=True)
class Table(Generic[S, I]):
    """A validated transition table.

    `initial` is the state an entity is in when it is created; `terminal` states have
    no outgoing rows. `rule` is the ID (``H9``, ...) that an invalid transition of
    this machine violates. `next` holds the unguarded rows; `choices` every row of a
    (state, input) pair, guarded ones first, in the order `decide` tries them.
    """

    name: str
    rule: str
    states: tuple[S, ...]
    inputs: tuple[I, ...]
    initial: S
    terminal: frozenset[S]
    rows: tuple[Row[S, I], ...]
    next: Mapping[tuple[S, I], Row[S, I]]
    choices: Mapping[tuple[S, I], tuple[Row[S, I], ...]]

    @property
    def guards(self) -> frozenset[str]:
        return frozenset(r.guard for r in self.rows if r.guard)

    @property
    def handlers(self) -> frozenset[str]:
        return frozenset(r.handler for r in self.rows if r.handler)


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
    guarded: dict[tuple[S, I], list[Row[S, I]]] = {}
    for row in built:
        _check_row_types(name, row, state_type, input_type)
        key = (row.source, row.input)
        alternatives = guarded.setdefault(key, [])
        if row.guard and any(r.guard == row.guard for r in alternatives):
            raise InvalidDefinition(
                f"{name}: duplicate row for {row.source.name} on {row.input.name} [{row.guard}]"
            )
        if row.guard:
            alternatives.append(row)
            continue
        if key in index:
            raise InvalidDefinition(
                f"{name}: duplicate row for {row.source.name} on {row.input.name}"
            )
        index[key] = row
    choices = {
        key: (*guarded.get(key, ()), *((index[key],) if key in index else ()))
        for key in {*index, *(k for k, v in guarded.items() if v)}
    }
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
        choices=MappingProxyType(choices),
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


def _no_guard(guard: str) -> bool:
    raise InvalidDefinition(f"guard {guard!r} asked of a caller that evaluates no guards")


def decide(
    table: Table[S, I], state: S, input_: I, holds: Callable[[str], bool] = _no_guard
) -> Row[S, I]:
    """The row that decides `input_` in `state`: the first guarded row whose guard
    `holds`, else the unguarded row; raises `InvalidTransition` if there is none."""
    for row in table.choices.get((state, input_), ()):
        if not row.guard or holds(row.guard):
            return row
    raise InvalidTransition(table.name, state.name, input_.name)


ROW_RULE = "INV-TABLE-ROW"


class RowBroken(InvalidTransition, InvalidDefinition):
    """A handler did not do what its row says (`ROW_RULE`): the entity made a transition
    its table does not have, because the row's definition (its handler) is wrong."""

    def __init__(self, table: str, row: Row[S, I], message: str) -> None:
        InvalidDefinition.__init__(
            self,
            f"{table}: handler {row.handler or '(none)'} of {row.source.name} on "
            f"{row.input.name} {message}",
        )
        self.machine, self.state, self.input = table, row.source.name, row.input.name


def check_target(table: Table[S, I], row: Row[S, I], stored: S) -> None:
    """Raise `RowBroken` unless the state a handler left the entity in is the row's target."""
    if stored is not row.target:
        raise RowBroken(
            table.name, row, f"left the entity in {stored.name}, the row says {row.target.name}"
        )


def check_effect(
    table: Table[S, I],
    row: Row[S, I],
    written: Iterable[EventType],
    retracted: Iterable[EventType] = (),
) -> None:
    """Raise `RowBroken` unless a handler wrote the row's `writes` and deleted its
    `retracts`, in order."""
    effect = (tuple(written), tuple(retracted))
    if effect != (row.writes, row.retracts):
        raise RowBroken(
            table.name,
            row,
            f"wrote {_names(effect[0])} and deleted {_names(effect[1])}, the row says "
            f"{_names(row.writes)} and {_names(row.retracts)}",
        )


def _names(events: tuple[EventType, ...]) -> str:
    return "(" + ", ".join(e.name for e in events) + ")"


def allowed_inputs(table: Table[S, I], state: S) -> tuple[I, ...]:
    """The inputs `state` accepts, in the order the input enum declares them."""
    return tuple(i for i in table.inputs if (state, i) in table.choices)


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
        label = row.input.name
        if row.guard:
            label += f" [{row.guard}]"
        if row.handler:
            label += f" / {row.handler}"
        lines.append(f'  {row.source.name} -> {row.target.name} [label="{label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
