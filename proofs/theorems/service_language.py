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
replay states, the last event and the two states before it) checks that every event
the service table can write is accepted by the validator's table and by the replay
table (`languages.Sides`: commands are epsilon moves); the first event refused, on the
shortest path, is the counterexample. A row that retracts an event takes it back off
the path, so it needs that event to be the path's last (the row's guard asks that the
event is still buffered: nothing of the entity was written after it); on a path where
it is not, the row cannot be taken.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from core.enums import EventType
from proofs.theorems.languages import AnyTable, Finding, Pair, Sides, event_name, replay

VALIDATOR_REJECTS = "the service may write an event sequence the validator rejects"
REPLAY_REJECTS = "the service may write an event sequence replay rejects"


@dataclass(frozen=True, slots=True)
class ServiceTable:
    """A driving service table and the validator/replay pair of its entity kind."""

    pair: Pair
    service: AnyTable


@dataclass(frozen=True, slots=True)
class _Node:
    service: Any
    history: Any
    replay: frozenset[Any]
    undo: tuple[EventType, Any, frozenset[Any]] | None  # the last event, states before it


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
    start = _Node(table.service.initial, table.pair.history.initial, after_opener, None)
    paths = {start: _Path((opener,), ())}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for row in table.service.rows:
            if row.source is not node.service:
                continue
            path = paths[node]
            moved = _take(sides, node, path, row)
            if isinstance(moved, Finding):
                return moved, (*path.rows, _row_text(row)), len(paths)
            if moved is None:
                continue
            target, events = moved
            if target not in paths:
                paths[target] = _Path(events, (*path.rows, _row_text(row)))
                queue.append(target)
    return None, (), len(paths)


def _take(
    sides: Sides, node: _Node, path: _Path, row: Any
) -> tuple[_Node, tuple[EventType, ...]] | Finding | None:
    """The node after `row` (and the path's events), a Finding if an event it writes is
    refused, or None if the row cannot be taken on this path."""
    history, replay_states, undo, events = node.history, node.replay, node.undo, path.events
    for event in row.retracts:
        if undo is None or undo[0] is not event:
            return None
        _, history, replay_states = undo
        undo, events = None, events[:-1]
    for event in row.writes:
        h_next = sides.history(history, event)
        r_next = sides.replay(replay_states, event, acting=False)
        events = (*events, event)
        if h_next is None or not r_next:
            problem = VALIDATOR_REJECTS if h_next is None else REPLAY_REJECTS
            return Finding(_kind(sides.pair), problem, events)
        undo, history, replay_states = (event, history, replay_states), h_next, r_next
    return _Node(row.target, history, replay_states, undo), events


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
    where = replay(table.pair, finding.events)
    return f"{finding.text()}\n  written by {table.service.name!r} by the rows:{by_rows}\n{where}"
