"""The event languages of two machines of one entity kind, compared by product
construction: the history side (what the server may write: the validator's table) and
the SDK side (what replay accepts: the replay engine's table).

Theory of operation. For one entity kind (activity, timer, ...) each side is an
automaton over event types, built from the core tables as they are when this runs:

- history side: before the entity exists only its opening event is accepted (e.g.
  ActivityTaskScheduled); then the validator's table decides, its inputs being named
  after the event types they stand for (``"ActivityTaskStarted"`` is
  EventType.ACTIVITY_TASK_STARTED; a name that is no event type is an error);
- SDK side: the replay table, whose event inputs come from the module's
  ``EVENT_INPUTS`` (event type -> input) and whose other inputs are the workflow
  code's commands (cancel, accept, ...). Commands are not events, so they are
  epsilon moves: the SDK side accepts an event sequence if *some* interleaving of
  commands lets its table take every event. The automaton is determinized on the fly
  (sets of table states).

A breadth-first search over the pairs (history state, set of replay states) reachable
by the same event sequence checks at every pair:

1. every event the history side accepts is accepted by the replay side (else: a
   history the server may write that replay rejects as nondeterministic);
2. every event the replay side accepts is accepted by the history side, with two
   differences that are legitimate and stated here: the SDK does not distinguish the
   events it maps to one input (ActivityTaskCompleted|Failed|TimedOut|Canceled all
   resolve the activity's future, so (2) asks that the server may write *one* of
   them there), and a replay row that returns to its own state with no output is the
   SDK ignoring an event (an abandoned activity's later events), which asserts
   nothing about what the server writes.

The first failure, by the shortest event sequence, is the counterexample; `replay`
re-runs it through `fsm.step` on both real tables. Breadth-first order makes it
shortest.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from core.enums import EventType
from core.errors import InvalidTransition
from core.statemachine import fsm

AnyTable = fsm.Table[Any, Any]
PRE = "(not yet opened)"

ACCEPTS_MORE = "replay accepts an event sequence the server never writes"
REJECTS = "the server may write an event sequence replay rejects"


@dataclass(frozen=True, slots=True)
class Pair:
    """The two machines of one entity kind."""

    kind: str
    history: AnyTable
    opener: EventType
    replay: AnyTable
    replay_events: Mapping[EventType, Enum]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    problem: str
    events: tuple[EventType, ...]

    def text(self) -> str:
        names = ", ".join(event_name(e) for e in self.events)
        return f"{self.kind}: {self.problem}: {names}"


def event_name(event: EventType) -> str:
    return "".join(part.capitalize() for part in event.name.split("_"))


def event_of(input_: Enum) -> EventType:
    """The event type a history-table input stands for, by its value (its event name)."""
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", str(input_.value)).upper()
    try:
        return EventType[name]
    except KeyError:
        raise ValueError(f"history input {input_.value!r} names no event type") from None


class Sides:
    def __init__(self, pair: Pair) -> None:
        self.pair = pair
        self.history_inputs = {event_of(i): i for i in pair.history.inputs}
        self.event_inputs = frozenset(pair.replay_events.values())
        self.alphabet = tuple(
            sorted({pair.opener, *self.history_inputs, *pair.replay_events}, key=int)
        )

    def history(self, state: Any, event: EventType) -> Any | None:
        if state == PRE:
            return self.pair.history.initial if event is self.pair.opener else None
        input_ = self.history_inputs.get(event)
        row = self.pair.history.next.get((state, input_)) if input_ is not None else None
        return None if row is None else row.target

    def closure(self, states: frozenset[Any]) -> frozenset[Any]:
        seen, frontier = set(states), list(states)
        while frontier:
            state = frontier.pop()
            for row in self.pair.replay.rows:
                command = row.input not in self.event_inputs
                if command and row.source is state and row.target not in seen:
                    seen.add(row.target)
                    frontier.append(row.target)
        return frozenset(seen)

    def replay(self, states: frozenset[Any], event: EventType, *, acting: bool) -> frozenset[Any]:
        """The replay states after `event`; with `acting`, only by rows that are not the
        SDK ignoring the event (a row back to its source with no output)."""
        input_ = self.pair.replay_events.get(event)
        targets = set()
        for state in states:
            row = self.pair.replay.next.get((state, input_)) if input_ is not None else None
            if row is None or (acting and row.target is state and not row.outputs):
                continue
            targets.add(row.target)
        return self.closure(frozenset(targets))


def compare(pair: Pair) -> tuple[Finding | None, int]:
    """The shortest event sequence on which the two sides differ (or None), and the
    number of product states explored."""
    sides = Sides(pair)
    start = (PRE, sides.closure(frozenset({pair.replay.initial})))
    paths: dict[tuple[Any, frozenset[Any]], tuple[EventType, ...]] = {start: ()}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        history, replay = node
        path = paths[node]
        for event in sides.alphabet:
            h_next = sides.history(history, event)
            r_next = sides.replay(replay, event, acting=False)
            if h_next is not None and not r_next:
                return Finding(pair.kind, REJECTS, (*path, event)), len(paths)
            if sides.replay(replay, event, acting=True) and not _server_may_write(
                sides, history, event
            ):
                return Finding(pair.kind, ACCEPTS_MORE, (*path, event)), len(paths)
            if h_next is None or not r_next:
                continue
            target = (h_next, r_next)
            if target not in paths:
                paths[target] = (*path, event)
                queue.append(target)
    return None, len(paths)


def _server_may_write(sides: Sides, history: Any, event: EventType) -> bool:
    """Whether the history side accepts `event` or an event replay does not tell apart."""
    same = sides.pair.replay_events.get(event)
    alike = [e for e, i in sides.pair.replay_events.items() if i is same]
    if same is None:
        alike = [event]
    return any(sides.history(history, e) is not None for e in alike)


def replay(pair: Pair, events: tuple[EventType, ...]) -> str:
    """Run `events` through `fsm.step` on both real tables; say where each one stops."""
    return f"  {_run_history(pair, events)}\n  {_run_replay(pair, events)}"


def _run_history(pair: Pair, events: tuple[EventType, ...]) -> str:
    name = f"history table {pair.history.name!r}"
    if not events or events[0] is not pair.opener:
        return f"{name}: rejects event 1 (not the opening {event_name(pair.opener)})"
    inputs = {event_of(i): i for i in pair.history.inputs}
    state = pair.history.initial
    for n, event in enumerate(events[1:], 2):
        try:
            state, _ = fsm.step(pair.history, state, inputs[event])
        except (InvalidTransition, KeyError):
            return f"{name}: rejects event {n} ({event_name(event)} in {state.name})"
    return f"{name}: accepts all {len(events)} events"


def _run_replay(pair: Pair, events: tuple[EventType, ...]) -> str:
    name = f"replay table {pair.replay.name!r}"
    sides = Sides(pair)
    states = sides.closure(frozenset({pair.replay.initial}))
    for n, event in enumerate(events, 1):
        after = set()
        input_ = pair.replay_events.get(event)
        for state in states:
            try:
                if input_ is not None:
                    after.add(fsm.step(pair.replay, state, input_)[0])
            except InvalidTransition:
                continue
        states = sides.closure(frozenset(after))
        if not states:
            return f"{name}: rejects event {n} ({event_name(event)}) whatever the commands"
    return f"{name}: accepts all {len(events)} events"
