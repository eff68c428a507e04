"""A store file that is not what store.py writes: another program's database, a
damaged store, a crafted pickle. Each is refused with one line (StoreError; exit 2 from
`tmodel serve`), nothing in it runs, and the file is left byte for byte as it was."""

from __future__ import annotations

import builtins
import dataclasses
import hashlib
import io
import os
import pickle
import sqlite3
import subprocess
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.serve.store import (
    SqliteStore,
    StoreError,
    _dump,
    _load,
    _Unpickler,
    open_store,
)
from core import requests as rq
from core.events.history_event import HistoryEvent
from core.statemachine import shard as shardlib
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.state import MutableState
from sim import persistence as simpersistence
from sim.config import FaultPlan, SimConfig
from sim.faults import Faults
from sim.kernel import T0, Kernel
from sim.persistence import Mutation, OutboxTask
from sim.run import simulate
from sim.server import SHARDS as SERVED_SHARDS
from tests.adapters.serve.serving import refused

SHARDS = 4


def faults() -> Faults:
    return Faults(Kernel(0), FaultPlan())


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_store(path: Path, shards: int = SHARDS) -> None:
    """A store with one run, its events, an outbox task and a namespace."""
    p, _ = open_store(str(path), faults(), shards)
    start = rq.StartWorkflowExecution("default", "wf", "run-wf", "T", "q", "r")
    out = service.start(start, T0)
    shard = shardlib.shard_for("default", "wf", shards)
    ctx = p.acquire(shardlib.start(shard, "history-0"))
    ctx, task_id = shardlib.allocate_task_id(ctx)
    assert task_id is not None and out.tasks
    task = OutboxTask(task_id, "run-wf", "wf", out.tasks[0], "default")
    mutation = Mutation("run-wf", "wf", 0, out.state, out.events)
    assert isinstance(p.write(ctx, (mutation,), (task,)), shardlib.WriteOk)
    p.store.save_namespaces([{"name": "default", "id": "ns-1"}])
    p.store.close()


def damage(path: Path, sql: str, *args: object) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(sql, args)
    db.close()


class Run:
    """A pickle that runs `call(*args)` when loaded, as a crafted store would hold."""

    def __init__(self, call: Callable[..., object], *args: object) -> None:
        self.call, self.args = call, args

    def __reduce__(self) -> tuple[Callable[..., object], tuple[object, ...]]:
        return self.call, self.args


DAMAGES: dict[str, tuple[str, tuple[object, ...]]] = {
    "generation-x": ("UPDATE meta SET value = 'x' WHERE key = 'generation'", ()),
    "generation-huge": ("UPDATE meta SET value = ? WHERE key = 'generation'", ("9" * 5000,)),
    "namespaces-not-json": ("INSERT OR REPLACE INTO meta VALUES ('namespaces', '[{')", ()),
    "namespaces-deep": ("INSERT OR REPLACE INTO meta VALUES ('namespaces', ?)", ("[" * 99999,)),
    "namespaces-object": ("INSERT OR REPLACE INTO meta VALUES ('namespaces', '{}')", ()),
    "namespace-no-id": ("INSERT OR REPLACE INTO meta VALUES ('namespaces', '[{\"name\": 1}]')", ()),
    "namespace-retention": (
        "INSERT OR REPLACE INTO meta VALUES ('namespaces', ?)",
        ('[{"name": "a", "id": "b", "retention_ns": "x"}]',),
    ),
    "event-empty": ("UPDATE events SET event = x''", ()),
    "event-text": ("UPDATE events SET event = 'abc'", ()),
    "event-not-an-event": ("UPDATE events SET event = ?", (pickle.dumps(5),)),
    "event-gap": ("DELETE FROM events WHERE position = 0", ()),
    "state-none": ("UPDATE executions SET state = ?", (pickle.dumps(None),)),
    "state-garbage": ("UPDATE executions SET state = ?", (b"\x80\x05garbage",)),
    "version-text": ("UPDATE executions SET version = 'x'", ()),
    "shard-past-the-last": ("UPDATE executions SET shard_id = 99", ()),
    "range-id-text": ("UPDATE shards SET range_id = 'x' WHERE shard_id = 1", ()),
    "shard-row-gone": ("DELETE FROM shards WHERE shard_id = 2", ()),
    "task-not-a-task": ("UPDATE tasks SET task = ?", (pickle.dumps("task"),)),
    "task-id-changed": ("UPDATE tasks SET task_id = task_id + 1", ()),
    "table-dropped": ("DROP TABLE events", ()),
    "format-gone": ("DELETE FROM meta WHERE key = 'format'", ()),
}


@pytest.mark.parametrize("name", sorted(DAMAGES))
def test_a_damaged_store_is_refused_and_left_as_it_was(tmp_path: Path, name: str) -> None:
    path = tmp_path / "store.db"
    make_store(path)
    sql, args = DAMAGES[name]
    damage(path, sql, *args)
    before = digest(path)
    with pytest.raises(StoreError) as refusal:
        open_store(str(path), faults(), SHARDS)
    assert "\n" not in str(refusal.value)
    assert digest(path) == before


def test_a_clean_store_counts_its_openings(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    make_store(path)
    for generation in (1, 2):
        p, opened = open_store(str(path), faults(), SHARDS)
        assert opened.generation == generation
        assert list(opened.runs) == ["run-wf"] and len(opened.outbox) == 1
        p.store.close()


def test_another_programs_database_is_refused_untouched(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.execute("INSERT INTO notes VALUES ('keep me')")
    db.commit()
    db.close()
    before = digest(other)
    with pytest.raises(StoreError, match="not a store of this tmodel"):
        SqliteStore(str(other), SHARDS)
    assert "not a store of this tmodel" in refused("--store", str(other))
    assert digest(other) == before
    assert sorted(os.listdir(tmp_path)) == ["other.db"]


CRAFTED: dict[str, Callable[[Path], object]] = {
    "os.system": lambda marker: Run(os.system, f"touch {marker}"),
    "builtins.exec": lambda marker: Run(builtins.exec, f"open({str(marker)!r}, 'w')"),
    "subprocess.call": lambda marker: Run(subprocess.call, ["touch", str(marker)]),
    # inside an allowed value, and a function of an allowed module
    "nested": lambda marker: [Run(os.system, f"touch {marker}")],
    "model-function": lambda marker: Run(simpersistence.check_transaction, marker),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
@pytest.mark.parametrize("column", ["events.event", "executions.state", "tasks.task"])
def test_a_crafted_pickle_runs_nothing(tmp_path: Path, name: str, column: str) -> None:
    path, marker = tmp_path / "store.db", tmp_path / "ran"
    make_store(path)
    table, field = column.split(".")
    damage(path, f"UPDATE {table} SET {field} = ?", pickle.dumps(CRAFTED[name](marker)))
    before = digest(path)
    with pytest.raises(StoreError, match="not a value of the model"):
        open_store(str(path), faults(), SHARDS)
    assert not marker.exists()
    assert digest(path) == before


def test_serve_refuses_a_crafted_or_damaged_store_in_one_line(tmp_path: Path) -> None:
    path, marker = tmp_path / "store.db", tmp_path / "ran"
    make_store(path, SERVED_SHARDS)
    damage(path, "UPDATE executions SET state = ?", pickle.dumps(Run(os.system, f"touch {marker}")))
    before = digest(path)
    assert "not a value of the model" in refused("--store", str(path))
    assert not marker.exists() and digest(path) == before
    damage(path, "UPDATE meta SET value = 'x' WHERE key = 'generation'")
    damage(path, "UPDATE executions SET state = ?", _dump(None))
    before = digest(path)
    assert "damaged" in refused("--store", str(path))
    assert digest(path) == before


def _reached(kind: Any, seen: set[type]) -> None:
    """Every class a value annotated `kind` may hold, into `seen`."""
    origin = typing.get_origin(kind)
    if origin is typing.Literal:
        return
    if origin is not None:
        for arg in typing.get_args(kind):
            _reached(arg, seen)
        kind = origin
    if not isinstance(kind, type) or kind in seen:
        return
    seen.add(kind)
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        for f in dataclasses.fields(kind):
            assert hints[f.name] is not Any, f"{kind.__qualname__}.{f.name} is Any"
            _reached(hints[f.name], seen)


def test_the_unpickler_takes_every_class_a_store_holds() -> None:
    seen: set[type] = set()
    for root in (MutableState, HistoryEvent, OutboxTask):
        _reached(root, seen)
    unpickler = _Unpickler(io.BytesIO(b""))
    for kind in seen:
        if kind.__module__ in ("builtins", "types"):
            continue
        assert unpickler.find_class(kind.__module__, kind.__qualname__) is kind


def test_what_a_simulation_writes_loads_back(monkeypatch: pytest.MonkeyPatch) -> None:
    apply = simpersistence.Persistence._apply
    count = 0

    def checked(self: Any, ctx: Any, mutations: Any, tasks: Any) -> Any:
        nonlocal count
        for m in mutations:
            assert _load(_dump(m.state), MutableState, "state") == m.state
            for event in m.events:
                assert _load(_dump(event), HistoryEvent, "event") == event
        for task in tasks:
            assert _load(_dump(task), OutboxTask, "task") == task
        count += 1
        return apply(self, ctx, mutations, tasks)

    monkeypatch.setattr(simpersistence.Persistence, "_apply", checked)
    simulate(SimConfig(seed=3, workflows=20, faults="swarm"))
    assert count > 20
