"""The transition-coverage gate: every row of every transition table is exercised.

Each table's `next` mapping is swapped for a recording one, then the workloads run:
the validator over the real corpus, synthetic histories and the per-rule broken
histories; the pure history service over the requests behind the real corpus; and the
targeted scenarios in `coverage_scenarios.py` and `reset_scenarios.py` (history) and
`coverage_matching.py` (matching, shards) for rows the corpus never reaches; for the
replay machines, the twins replaying the corpus, a few live programs and
`coverage_replay.py`. A row no workload takes fails the test, with its table, state
and input named.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from adapters.conform.derive import reproduce
from adapters.conform.requests import CannotReproduce
from core.statemachine import fsm
from core.statemachine.fsm import Row, Table
from core.statemachine.history.service import activity, child, execution, external, timer, update
from core.statemachine.history.service import workflow_task as service_wft
from core.statemachine.history.validator import MACHINE_MODULES, validate
from core.statemachine.replay import activity as replay_activity
from core.statemachine.replay import cancel_external, marker, signal_external
from core.statemachine.replay import child as replay_child
from core.statemachine.replay import execution as replay_execution
from core.statemachine.replay import timer as replay_timer
from core.statemachine.replay import update as replay_update
from core.statemachine.replay.driver import replay
from sim.synthetic import synthetic_history
from tests.conftest import corpus_events, corpus_files
from tests.core.statemachine import coverage_matching, coverage_scenarios
from tests.core.statemachine.history.service import entity_walks, reset_scenarios
from tests.core.statemachine.history.service.test_conformance import base_of
from tests.core.statemachine.history.test_rules import BROKEN
from tests.core.statemachine.replay import coverage_replay
from tests.core.statemachine.replay.live import LiveRun
from tests.core.statemachine.replay.programs import PROGRAMS
from tests.core.statemachine.replay.test_twins import TWINNED, TWINS, twin_of

SERVICE_TABLES: list[Table[Any, Any]] = [
    service_wft.TABLE,
    activity.TABLE,
    timer.TABLE,
    child.TABLE,
    external.TABLE,
    update.TABLE,
    execution.TABLE,
]
REPLAY_TABLES: list[Table[Any, Any]] = [
    replay_activity.TABLE,
    replay_timer.TABLE,
    replay_child.TABLE,
    signal_external.TABLE,
    cancel_external.TABLE,
    marker.TABLE,
    marker.LOCAL_ACTIVITY_TABLE,
    replay_update.TABLE,
    replay_execution.TABLE,
]
ALL_TABLES = (
    [m.TABLE for m in MACHINE_MODULES] + SERVICE_TABLES + coverage_matching.TABLES + REPLAY_TABLES
)
PROGRAM = [
    ["activity", 1],
    ["child", [["timer", 1], ["local", "fail"]]],
    ["fanout", 2],
    ["race", 0.5],
    ["race", 3],
    ["signal", 1],
    ["side_effect"],
    ["local", "greet"],
]


class _Recording(Mapping[Any, Any]):
    def __init__(self, inner: Mapping[Any, Any], hits: set[Any]) -> None:
        self.inner, self.hits = inner, hits

    def __getitem__(self, key: Any) -> Any:
        value = self.inner[key]
        self.hits.add(key)
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        if key in self.inner:
            self.hits.add(key)
            return self.inner[key]
        return default

    def __iter__(self) -> Iterator[Any]:
        return iter(self.inner)

    def __len__(self) -> int:
        return len(self.inner)

    def __contains__(self, key: object) -> bool:
        return key in self.inner


@contextmanager
def recording(tables: list[Table[Any, Any]]) -> Iterator[dict[str, set[Any]]]:
    """Record the rows taken: by `step` (its key) and by `decide` (key and guard)."""
    hits: dict[str, set[Any]] = {t.name: set() for t in tables}
    originals = [t.next for t in tables]
    for table in tables:
        object.__setattr__(table, "next", _Recording(table.next, hits[table.name]))
    decide = fsm.decide

    def recorded(table: Table[Any, Any], state: Any, input_: Any, *holds: Any) -> Any:
        row = decide(table, state, input_, *holds)
        if table.name in hits:
            hits[table.name].add((row.source, row.input, row.guard))
        return row

    fsm.decide = recorded  # type: ignore[assignment]
    try:
        yield hits
    finally:
        fsm.decide = decide
        for table, original in zip(tables, originals, strict=True):
            object.__setattr__(table, "next", original)


def taken(row: Row[Any, Any], hits: set[Any]) -> bool:
    return (row.source, row.input, row.guard) in hits or (
        not row.guard and (row.source, row.input) in hits
    )


def _workloads() -> None:
    for path in corpus_files():
        events = corpus_events(path.name)
        validate(events)
        # A history the model cannot reproduce is named by the conformance test.
        with contextlib.suppress(CannotReproduce):
            reproduce(events, base_of(path.name))
    for seed in range(3):
        validate(synthetic_history(2_000, seed=seed))
    for build, _ in BROKEN.values():
        validate(build().events)
    coverage_scenarios.run_all()
    reset_scenarios.run_all()
    coverage_matching.run_all()
    for name in TWINNED:
        replay(TWINS[twin_of(name)], corpus_events(name))
    for seed in range(10):
        live = LiveRun(PROGRAMS, seed)
        live.start("Program", "wf", PROGRAM, 1)
        live.signal("wf", "poke", 0)
        live.run()
    coverage_replay.run_all()
    entity_walks.run_all()


def test_every_row_of_every_table_is_exercised() -> None:
    with recording(ALL_TABLES) as hits:
        _workloads()
    missing = [
        f"{t.name}: {row.source.name} --{row.label()}-->"
        for t in ALL_TABLES
        for row in t.rows
        if not taken(row, hits[t.name])
    ]
    assert missing == []


def test_the_gate_sees_a_row_nothing_takes() -> None:
    """With the targeted scenarios left out, rows the corpus never reaches are reported."""
    with recording(ALL_TABLES) as hits:
        for path in corpus_files()[:3]:
            validate(corpus_events(path.name))
    missed = [row for t in ALL_TABLES for row in t.rows if not taken(row, hits[t.name])]
    assert missed, "three small histories cannot exercise every row"
