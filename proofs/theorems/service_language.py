"""The event language a driving service table can write, checked against the validator
and replay (THM-3.1's service half).

Theory of operation. A service table (`core/statemachine/history/service/`: activity,
timer) decides; each of its rows declares what its handler writes (`fsm.Row.writes`,
the entity's events in order) and which buffered events it deletes (`retracts`), and
the service checks at run time that the handler did exactly that (`fsm.check_effect`).
Read as an automaton over events, the table writes: the entity's opening event (written
by the command that creates it, e.g. ActivityTaskScheduled), then, along any path of
rows from the table's initial state, each row's `writes`. Guards are not evaluated:
a guarded row may be taken wherever its source state is (an over-approximation, so
the check is sound: it covers every sequence the code can write, and maybe more).

A breadth-first search over the product (service state, validator state, set of
replay states, the last row's events with the states before each) checks that every
event the service table can write is accepted by the validator's table and by the
replay table (`languages.Sides`: commands are epsilon moves); the first event refused,
on the shortest path, is the counterexample. A row that retracts an event takes it back
off the path, so it needs that event to be the path's last (the row's guard asks that
the event is still buffered: nothing of the entity was written after it); on a path
where it is not, the row cannot be taken. A row that overtakes buffered events (an
activity's close, buffered while a workflow task ran, which a cancel request written in
that task's batch precedes) needs the last row's events to end with some of them: its
own events go in front of that tail, which is then read again after them.

A row taken on a worker's command (`ServiceTable.commands`: the service input and the
replay output that emits that command) is taken only where the SDK side can emit it, and
the replay side goes on from the states that emitting it leads to. So a sequence only a
worker that is no SDK could cause (an activity asked twice to cancel, which the server
writes and the SDK never asks) is not held against the service. Since that narrows the
search, a row that writes events but is taken on no path is reported too (`UNCHECKED`):
the check would otherwise say nothing about it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.enums import EventType
from proofs.theorems.languages import AnyTable, Finding, Pair, Sides, event_name, replay

VALIDATOR_REJECTS = "the service may write an event sequence the validator rejects"
REPLAY_REJECTS = "the service may write an event sequence replay rejects"
UNCHECKED = "a row that writes events is taken on no path, so nothing it writes is checked"


@dataclass(frozen=True, slots=True)
class ServiceTable:
    """A driving service table and the validator/replay pair of its entity kind;
    `commands` maps a service input that is a worker's command to the output of the
    replay rows that emit it."""

    pair: Pair
    service: AnyTable
    commands: Mapping[Any, str] = field(default_factory=dict)


# One event of the last row, with the validator and replay states before it.
_Undo = tuple[EventType, Any, frozenset[Any]]


@dataclass(frozen=True, slots=True)
class _Node:
    service: Any
    history: Any
    replay: frozenset[Any]
    undo: tuple[_Undo, ...]  # the last row's events, each with the states before it


@dataclass(frozen=True, slots=True)
class _Path:
    events: tuple[EventType, ...]
    rows: tuple[str, ...]


def compare(table: ServiceTable) -> tuple[Finding | None, tuple[str, ...], int]:
    """The shortest event sequence the service table can write that the validator or
    replay refuses (or None), the rows that write it, and the product states explored."""
    sides = Sides(table.pair)
    opener = table.pair.opener
    start_replay = sides.closure(frozenset({table.pair.replay.initial}))
    after_opener = sides.replay(start_replay, opener, acting=False)
    if not after_opener:
        return Finding(_kind(table.pair), REPLAY_REJECTS, (opener,)), (), 1
    start = _Node(table.service.initial, table.pair.history.initial, after_opener, ())
    paths = {start: _Path((opener,), ())}
    queue = deque([start])
    taken: set[int] = set()
    while queue:
        node = queue.popleft()
        for n, row in enumerate(table.service.rows):
            if row.source is not node.service:
                continue
            path = paths[node]
            moved = _take(sides, table, node, path, row)
            if isinstance(moved, Finding):
                return moved, (*path.rows, _row_text(row)), len(paths)
            if moved is None:
                continue
            taken.add(n)
            target, events = moved
            if target not in paths:
                paths[target] = _Path(events, (*path.rows, _row_text(row)))
                queue.append(target)
    unchecked = tuple(
        _row_text(row) for n, row in enumerate(table.service.rows) if row.writes and n not in taken
    )
    if unchecked:  # e.g. a row whose declared order no SDK command sequence can reach
        return Finding(_kind(table.pair), UNCHECKED, ()), unchecked, len(paths)
    return None, (), len(paths)


def _take(
    sides: Sides, table: ServiceTable, node: _Node, path: _Path, row: Any
) -> tuple[_Node, tuple[EventType, ...]] | Finding | None:
    """The node after `row` (and the path's events), a Finding if an event it writes is
    refused, or None if the row cannot be taken on this path."""
    history, replay_states, undo, events = node.history, node.replay, node.undo, path.events
    for event in row.retracts:
        if not undo or undo[-1][0] is not event:
            return None
        _, history, replay_states = undo[-1]
        undo, events = undo[:-1], events[:-1]
    tail: tuple[EventType, ...] = ()
    if row.overtakes:
        kept = len(undo)
        while kept and undo[kept - 1][0] in row.overtakes:
            kept -= 1
        if kept == len(undo):
            return None  # nothing of the entity is buffered for it to go in front of
        tail = tuple(e for e, _, _ in undo[kept:])
        _, history, replay_states = undo[kept]
        events = events[: len(events) - len(tail)]
    emits = table.commands.get(row.input)
    if emits is not None:
        replay_states = _emitting(sides, replay_states, emits)
        if not replay_states:
            return None  # no SDK sends this command here
    written: list[_Undo] = []
    for event in (*row.writes, *tail):
        h_next = sides.history(history, event)
        r_next = sides.replay(replay_states, event, acting=False)
        events = (*events, event)
        if h_next is None or not r_next:
            problem = VALIDATOR_REJECTS if h_next is None else REPLAY_REJECTS
            return Finding(_kind(sides.pair), problem, events)
        written.append((event, history, replay_states))
        history, replay_states = h_next, r_next
    # what a later row may retract or overtake: the buffered tail read again, or else
    # this row's own events (a row that writes nothing leaves the last row's)
    if tail:
        undo = tuple(written[len(row.writes) :])
    elif written:
        undo = tuple(written)
    return _Node(row.target, history, replay_states, undo), events


def _emitting(sides: Sides, states: frozenset[Any], output: str) -> frozenset[Any]:
    """The replay states right after a row that emits `output` (a command), from any
    of `states`, closed under further commands."""
    targets = frozenset(
        r.target for r in sides.pair.replay.rows if r.source in states and output in r.outputs
    )
    return sides.closure(targets) if targets else frozenset()


def _kind(pair: Pair) -> str:
    return f"{pair.kind} (service)"


def _row_text(row: Any) -> str:
    writes = ", ".join(event_name(e) for e in row.writes) or "nothing"
    return f"{row.source.name} --{row.label()}--> {row.target.name} writes {writes}"


def check(table: ServiceTable) -> str | None:
    """The counterexample text (the sequence, the rows that write it, where each real
    table stops on it), or None if the service table writes only what both accept."""
    finding, rows, _ = compare(table)
    if finding is None:
        return None
    by_rows = "".join(f"\n  row {n}. {text}" for n, text in enumerate(rows, 1))
    if finding.problem == UNCHECKED:
        return f"{_kind(table.pair)}: {UNCHECKED}:{by_rows}"
    where = replay(table.pair, finding.events)
    return f"{finding.text()}\n  written by {table.service.name!r} by the rows:{by_rows}\n{where}"
