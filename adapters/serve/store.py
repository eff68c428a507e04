"""`tmodel serve --store PATH`: executions, history, tasks and shard rows in SQLite.

Theory of operation. The simulator's persistence (sim/persistence.py) keeps the rows
of Temporal's executions store in memory; `DurablePersistence` is the same store with
every transaction also written to a SQLite file first, so a server killed at any
moment (SIGKILL included) and started again on the file finds every write it
acknowledged. A write is one SQLite transaction, and it is fenced as the model fences
it: inside the transaction the shard rows and the execution rows it touches are read
back from the file and the write is checked by `core.statemachine.shard.
conditional_write` (the writer's range id must be the shard row's, each run's version
the one it read) before anything is written; a failed check rolls back and answers
ShardOwnershipLost or ConditionFailed, as the in-memory store does. Acquiring a shard
bumps its row's range id in the file; acking an outbox task deletes its row under the
same fence. Only then does the in-memory copy change, which the server reads from.

What the file holds (one table each): `shards` (range id and owner), `executions`
(a run's mutable state, version, shard, namespace and workflow id), `events` (each
run's history in order), `current` (the current run of each workflow id), `tasks` (the
outbox: transfer and timer tasks not yet done) and `meta` (the format, the number of
shards, the namespaces, how many times the file was opened). States, events and tasks
are stored as Python pickles of the model's own values, so a file is read only by the
tmodel that wrote it. They are read back by an unpickler that builds only the model's
own dataclasses and enums (`STORED_MODULES`) and refuses any other name, so a crafted
file cannot run code. A file is checked before anything is written to it: another
program's database, or a store damaged in any way this module can see (a missing
table, a bad row, a blob that is not the value it should be), is refused and left as
it was. Only once it has loaded cleanly is its generation counted up.

SQLite runs in WAL mode with synchronous=NORMAL: a committed transaction
survives the process being killed (not a power cut), and the file is locked
exclusively so a second server cannot share it.

Matching's task queues are not stored (Temporal keeps them in its own tables). On
opening, every open run's waiting workflow task and activity tasks are generated again
by the core's task refresher (`refresh.py`, Temporal's `TaskRefresher`) and put in the
outbox, under a range id the opening acquires, so they reach matching again; a task
that was also still in the outbox arrives twice, and history refuses the second start.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import io
import json
import pickle
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from core import requests as rq
from core.events.history_event import HistoryEvent
from core.statemachine import shard as shardlib
from core.statemachine.history.service.refresh import refresh_tasks
from core.statemachine.history.service.state import MutableState
from sim.core_copy import conditional_write_without_fence
from sim.faults import Faults
from sim.persistence import (
    Mutation,
    OutboxTask,
    Persistence,
    RunRecord,
    TransientError,
    WriteResult,
    check_transaction,
    record_key,
)

FORMAT = "tmodel-serve-store/1"
LOADER = "loader"  # the owner name of the shard acquisitions made while opening
REFRESHED = (rq.WorkflowTaskTransfer, rq.ActivityTaskTransfer)  # what matching held
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shards (
    shard_id INTEGER PRIMARY KEY, range_id INTEGER NOT NULL, owner TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS executions (
    run_id TEXT PRIMARY KEY, namespace TEXT NOT NULL, workflow_id TEXT NOT NULL,
    shard_id INTEGER NOT NULL, version INTEGER NOT NULL, next_event_id INTEGER NOT NULL,
    events INTEGER NOT NULL, state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL, position INTEGER NOT NULL, event BLOB NOT NULL,
    PRIMARY KEY (run_id, position)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS current (
    namespace TEXT NOT NULL, workflow_id TEXT NOT NULL, run_id TEXT NOT NULL,
    PRIMARY KEY (namespace, workflow_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tasks (
    shard_id INTEGER NOT NULL, task_id INTEGER NOT NULL, task BLOB NOT NULL,
    PRIMARY KEY (shard_id, task_id)) WITHOUT ROWID;
"""


# The modules whose dataclasses and enums the pickles hold: states, events and outbox
# tasks, and the values inside them. test_store_damaged.py walks their fields to keep
# this list whole.
EVENT_MODULES = "activity base child external history_event misc timer update workflow"
STORED_MODULES = frozenset(
    [f"core.events.{name}" for name in [*EVENT_MODULES.split(), "workflow_task"]]
    + [f"core.{name}" for name in ["enums", "nexus_request", "opaque", "requests"]]
    + ["core.request_values"]
    + [f"core.statemachine.{name}" for name in ["matching.versioning", "history.service.state"]]
    + ["core.statemachine.history.service.versioning_state", "core.update_request"]
    + ["sim.persistence"]
)
# Builtins pickle may name for containers (at the protocol written they have opcodes).
STORED_BUILTINS = {"frozenset": frozenset, "set": set}
NAMESPACE_FIELDS = {
    "name": str,
    "id": str,
    "description": str,
    "owner_email": str,
    "retention_ns": int,
    "data": dict,
    "search_attributes": dict,
    "replication_state": int,
}
MAX_GENERATION_DIGITS = 18
T = TypeVar("T")


class StoreError(Exception):
    """The store cannot be opened or read (one line for the user)."""


class Damaged(Exception):
    """What is wrong with a store file (read() reports it as a StoreError)."""


def _dump(value: object) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


class _Unpickler(pickle.Unpickler):
    """Builds only the model's own dataclasses and enums, and a few builtins."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in STORED_BUILTINS:
            return STORED_BUILTINS[name]
        if module in STORED_MODULES and name.isidentifier():
            found = getattr(importlib.import_module(module), name, None)
            if (
                isinstance(found, type)
                and found.__module__ == module
                and (dataclasses.is_dataclass(found) or issubclass(found, enum.Enum))
            ):
                return found
        raise pickle.UnpicklingError(f"names {module}.{name}, not a value of the model")


def _load(blob: object, kind: type[T], what: str) -> T:
    """The value of type `kind` a blob holds; `Damaged` if it holds anything else."""
    if not isinstance(blob, bytes):
        raise Damaged(f"{what} is not a pickle")
    try:
        value = _Unpickler(io.BytesIO(blob)).load()
    except Exception as exc:  # any failure to decode a blob means the blob is damaged
        raise Damaged(f"{what} does not unpickle ({type(exc).__name__}: {exc})") from None
    if not isinstance(value, kind):
        raise Damaged(f"{what} is a {type(value).__name__}, not a {kind.__name__}")
    return value


def _whole(value: object, what: str, least: int = 0) -> int:
    if type(value) is not int or value < least:
        raise Damaged(f"{what} is {value!r}, not a whole number of at least {least}")
    return value


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise Damaged(f"{what} is {value!r}, not text")
    return value


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def _tables() -> dict[str, list[str]]:
    """Each table of SCHEMA and its columns, in order."""
    db = sqlite3.connect(":memory:")
    db.executescript(SCHEMA)
    names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    tables = {name: _columns(db, name) for name in names}
    db.close()
    return tables


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(slots=True)
class Opened:
    """What a store held when it was opened."""

    shards: shardlib.StoreState
    runs: dict[str, RunRecord] = field(default_factory=dict)
    current: dict[tuple[str, str], str] = field(default_factory=dict)
    outbox: dict[int, dict[int, OutboxTask]] = field(default_factory=dict)
    namespaces: list[dict[str, Any]] = field(default_factory=list)
    generation: int = 0  # how many times the file was opened before


class SqliteStore:
    """The SQLite file: opening, reading it whole, and the fenced writes."""

    def __init__(self, path: str, shards: int) -> None:
        self.path = path
        self.shards = shards
        self.created = False  # made new by this opening (no generation to count up)
        try:
            self.db = sqlite3.connect(path, timeout=0, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(_one_line(f"--store {path}: {exc}")) from None
        try:
            self.db.execute("PRAGMA locking_mode=EXCLUSIVE")
            with self.transaction():  # reads only: nothing is written to a file refused
                fresh = self._check_format(shards)
            if fresh:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                with self.transaction():
                    self._create(shards)
                self.created = True
        except (sqlite3.Error, StoreError) as exc:
            self.db.close()
            message = str(exc) if isinstance(exc, StoreError) else f"--store {path}: {exc}"
            raise StoreError(_one_line(message)) from None

    def transaction(self) -> _Transaction:
        return _Transaction(self.db)

    def _check_format(self, shards: int) -> bool:
        """Is the file empty (a store to create)? `StoreError` if it is not a store of
        this format and shard count, with every table. Reads only."""
        names = {row[0] for row in self.db.execute("SELECT name FROM sqlite_master")}
        if not names:
            return True
        meta: dict[object, object] = {}
        if "meta" in names:
            meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") != FORMAT:
            raise StoreError(f"--store {self.path}: not a store of this tmodel ({FORMAT})")
        if meta.get("shards") != str(shards):
            raise StoreError(f"--store {self.path}: made for {meta.get('shards')} shards")
        for table, columns in _tables().items():
            if _columns(self.db, table) != columns:
                raise StoreError(
                    f"--store {self.path}: damaged: table {table} is missing or changed"
                )
        return False

    def _create(self, shards: int) -> None:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                self.db.execute(statement)
        self._set("format", FORMAT)
        self._set("shards", str(shards))
        self._set("generation", "0")
        rows = [(i, 0, shardlib.NO_OWNER) for i in range(1, shards + 1)]
        self.db.executemany("INSERT INTO shards VALUES (?, ?, ?)", rows)

    def loaded(self, opened: Opened) -> None:
        """The file read back cleanly: count this opening (a store made new is
        generation 0), so the server draws ids from a fresh stream."""
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        if not self.created:
            opened.generation += 1
            with self.transaction():
                self._set("generation", str(opened.generation))

    def _set(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def _meta(self, key: str, default: str) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return _text(row[0], f"meta {key}") if row is not None else default

    # -- reading ----------------------------------------------------------------------
    def read(self) -> Opened:
        """Everything the file holds, as the in-memory store's values; `StoreError` if
        anything in it is not what this module writes."""
        try:
            return self._read()
        except sqlite3.Error as exc:
            raise StoreError(
                _one_line(f"--store {self.path}: cannot read it back ({exc})")
            ) from None
        except Damaged as exc:
            raise StoreError(_one_line(f"--store {self.path}: damaged: {exc}")) from None

    def _read(self) -> Opened:
        db = self.db
        shards = []
        rows = db.execute("SELECT shard_id, range_id, owner FROM shards ORDER BY shard_id")
        for shard, range_id, owner in rows:
            _whole(range_id, f"shard {shard!r}'s range id")
            shards.append(shardlib.ShardRecord(shard, range_id, _text(owner, "a shard's owner")))
        if [r.shard_id for r in shards] != list(range(1, self.shards + 1)):
            raise Damaged(f"the shards table does not hold shards 1 to {self.shards}")
        opened = Opened(shardlib.StoreState(tuple(shards)))
        events: dict[str, list[HistoryEvent]] = {}
        rows = db.execute("SELECT run_id, position, event FROM events ORDER BY run_id, position")
        for run_id, position, blob in rows:
            run = events.setdefault(_text(run_id, "an event's run id"), [])
            if position != len(run):
                raise Damaged(f"run {run_id}'s events skip from {len(run)} to {position!r}")
            run.append(_load(blob, HistoryEvent, f"event {position} of run {run_id}"))
        query = "SELECT run_id, workflow_id, shard_id, version, events, state FROM executions"
        for run_id, workflow_id, shard, version, count, state in db.execute(query):
            what = f"run {run_id}"
            _text(run_id, "a run id")
            _text(workflow_id, f"{what}'s workflow id")
            if _whole(shard, f"{what}'s shard", 1) > self.shards:
                raise Damaged(f"{what} is on shard {shard}, past {self.shards}")
            _whole(version, f"{what}'s version", 1)
            if count != len(events.get(run_id, [])):
                raise Damaged(f"{what} counts {count!r} events, the file holds others")
            loaded = _load(state, MutableState, f"{what}'s state")
            record = RunRecord(shard, workflow_id, loaded, events.get(run_id, []), version)
            opened.runs[run_id] = record
        for namespace, workflow_id, run_id in db.execute("SELECT * FROM current"):
            key = (_text(namespace, "a namespace"), _text(workflow_id, "a workflow id"))
            opened.current[key] = _text(run_id, "a current run id")
        for shard, task_id, blob in db.execute("SELECT * FROM tasks ORDER BY shard_id, task_id"):
            if not 1 <= _whole(shard, "a task's shard", 1) <= self.shards:
                raise Damaged(f"a task is on shard {shard}, past {self.shards}")
            what = f"task {task_id!r} of shard {shard}"
            task = _load(blob, OutboxTask, what)
            if task.task_id != _whole(task_id, f"{what}'s id"):
                raise Damaged(f"{what} holds task {task.task_id!r}")
            opened.outbox.setdefault(shard, {})[task_id] = task
        opened.namespaces = _namespaces(self._meta("namespaces", "[]"))
        generation = self._meta("generation", "0")
        if (
            not (generation.isascii() and generation.isdigit())
            or len(generation) > MAX_GENERATION_DIGITS
        ):
            raise Damaged(f"its generation is {generation!r}, not a count")
        opened.generation = int(generation)
        return opened

    def save_namespaces(self, namespaces: list[dict[str, Any]]) -> None:
        with self.transaction():
            self._set("namespaces", json.dumps(namespaces, sort_keys=True))

    # -- writing ----------------------------------------------------------------------
    def acquire(self, shard: int, old_range: int, new_range: int, owner: str) -> None:
        """Bump the shard row's range id (it must still be `old_range`)."""
        with self.transaction():
            done = self.db.execute(
                "UPDATE shards SET range_id = ?, owner = ? WHERE shard_id = ? AND range_id = ?",
                (new_range, owner, shard, old_range),
            )
            if done.rowcount != 1:
                raise StoreError(f"--store {self.path}: shard-{shard} changed under the server")

    def write(
        self,
        ctx: shardlib.ShardContext,
        fenced: bool,
        mutations: tuple[Mutation, ...],
        tasks: tuple[OutboxTask, ...],
    ) -> shardlib.WriteResult:
        """One transaction: check the fence against the file, then write or roll back."""
        with self.transaction() as txn:
            result = self._check(ctx, fenced, mutations)
            if not isinstance(result, shardlib.WriteOk):
                txn.rollback()
                return result
            for m in mutations:
                self._put(ctx.shard_id, m)
            self.db.executemany(
                "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?)",
                [(ctx.shard_id, t.task_id, _dump(t)) for t in tasks],
            )
        return result

    def _check(
        self, ctx: shardlib.ShardContext, fenced: bool, mutations: tuple[Mutation, ...]
    ) -> shardlib.WriteResult:
        rows = self.db.execute("SELECT shard_id, range_id, owner FROM shards ORDER BY shard_id")
        store = shardlib.StoreState(tuple(shardlib.ShardRecord(*r) for r in rows))
        records = []
        for m in mutations:
            row = self.db.execute(
                "SELECT version, next_event_id FROM executions WHERE run_id = ?", (m.run_id,)
            ).fetchone()
            if row is not None:
                key = (m.state.namespace, m.workflow_id, m.run_id)
                records.append(shardlib.ExecutionRecord(*key, row[0], row[1]))
        store = shardlib.StoreState(store.shards, tuple(sorted(records, key=record_key)))
        write = shardlib.conditional_write if fenced else conditional_write_without_fence()
        return check_transaction(store, ctx, mutations, write)

    def _put(self, shard: int, m: Mutation) -> None:
        db = self.db
        row = db.execute("SELECT events FROM executions WHERE run_id = ?", (m.run_id,)).fetchone()
        first = 0 if row is None else int(row[0])
        db.execute(
            "INSERT OR REPLACE INTO executions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                m.run_id,
                m.state.namespace,
                m.workflow_id,
                shard,
                m.expected_version + 1,
                m.state.next_event_id,
                first + len(m.events),
                _dump(m.state),
            ),
        )
        db.executemany(
            "INSERT INTO events VALUES (?, ?, ?)",
            [(m.run_id, first + i, _dump(e)) for i, e in enumerate(m.events)],
        )
        if m.expected_version == 0:
            db.execute(
                "INSERT OR REPLACE INTO current VALUES (?, ?, ?)",
                (m.state.namespace, m.workflow_id, m.run_id),
            )

    def complete_task(self, shard: int, range_id: int, fenced: bool, task_id: int) -> bool:
        """Delete an outbox task, only while the shard row holds `range_id` (if fenced)."""
        with self.transaction():
            row = self.db.execute(
                "SELECT range_id FROM shards WHERE shard_id = ?", (shard,)
            ).fetchone()
            if fenced and (row is None or row[0] != range_id):
                return False
            self.db.execute(
                "DELETE FROM tasks WHERE shard_id = ? AND task_id = ?", (shard, task_id)
            )
        return True

    def delete_run(
        self, run_id: str, namespace: str, workflow_id: str, tasks: list[tuple[int, int]]
    ) -> None:
        """Delete a run (retention): its execution, history and outbox `tasks` (shard,
        task id), and the current-run row if it still names the run, in one transaction."""
        with self.transaction():
            db = self.db
            db.execute("DELETE FROM executions WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM events WHERE run_id = ?", (run_id,))
            db.execute(
                "DELETE FROM current WHERE namespace = ? AND workflow_id = ? AND run_id = ?",
                (namespace, workflow_id, run_id),
            )
            db.executemany("DELETE FROM tasks WHERE shard_id = ? AND task_id = ?", tasks)

    def close(self) -> None:
        self.db.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an exception or on `rollback()`."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.done = False

    def __enter__(self) -> _Transaction:
        self.db.execute("BEGIN IMMEDIATE")
        return self

    def rollback(self) -> None:
        self.db.execute("ROLLBACK")
        self.done = True

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self.done:
            return
        self.db.execute("COMMIT" if error is None else "ROLLBACK")


class DurablePersistence(Persistence):
    """The model's persistence, every change written to a `SqliteStore` first."""

    def __init__(self, faults: Faults, store: SqliteStore, opened: Opened) -> None:
        super().__init__(faults, opened.shards, True, opened.runs, opened.current, opened.outbox)
        self.store = store

    def acquire(self, ctx: shardlib.ShardContext) -> shardlib.ShardContext:
        old = self.range_id(ctx.shard_id)
        shards, acquired = shardlib.acquire(self.shards, ctx)
        self.store.acquire(ctx.shard_id, old, acquired.range_id, ctx.host)
        self.shards = shards
        return acquired

    def _apply(
        self,
        ctx: shardlib.ShardContext,
        mutations: tuple[Mutation, ...],
        tasks: tuple[OutboxTask, ...],
    ) -> WriteResult:
        try:
            durable = self.store.write(ctx, self.range_check, mutations, tasks)
        except sqlite3.Error:
            return TransientError()  # rolled back: nothing was written
        if not isinstance(durable, shardlib.WriteOk):
            return durable
        return super()._apply(ctx, mutations, tasks)

    def complete_task(self, ctx: shardlib.ShardContext, task_id: int) -> bool:
        if not self.store.complete_task(ctx.shard_id, ctx.range_id, self.range_check, task_id):
            return False
        return super().complete_task(ctx, task_id)

    def refresh_matching(self) -> int:
        """Put every open run's waiting workflow and activity task back in the outbox
        (matching's queues were not stored); how many."""
        by_shard: dict[int, list[tuple[str, RunRecord, rq.Task]]] = {}
        for run_id, record in sorted(self.runs.items()):
            for task in refresh_tasks(record.state, record.events):
                if isinstance(task, REFRESHED):
                    by_shard.setdefault(record.shard, []).append((run_id, record, task))
        count = 0
        for shard, waiting in sorted(by_shard.items()):
            ctx = self.acquire(shardlib.start(shard, LOADER))
            box = self.outbox.setdefault(shard, {})
            for run_id, record, task in waiting:
                ctx, task_id = shardlib.allocate_task_id(ctx)
                assert task_id is not None  # a fresh range holds 2**20 ids
                box[task_id] = OutboxTask(
                    task_id, run_id, record.workflow_id, task, record.state.namespace
                )
                count += 1
        return count


def open_store(path: str, faults: Faults, shards: int) -> tuple[DurablePersistence, Opened]:
    """Open (or create) the store at `path`; `StoreError` if it cannot be used."""
    store = SqliteStore(path, shards)
    try:
        opened = store.read()
    except StoreError:
        store.close()
        raise
    store.loaded(opened)
    return DurablePersistence(faults, store, opened), opened


def _namespaces(text: str) -> list[dict[str, Any]]:
    """The namespace rows of the meta table, checked (`namespace_rows` writes them)."""
    try:
        rows = json.loads(text)
    except (ValueError, RecursionError):
        raise Damaged("its namespaces are not JSON") from None
    if not isinstance(rows, list):
        raise Damaged("its namespaces are not a list")
    for row in rows:
        if not isinstance(row, dict) or not {"name", "id"} <= row.keys() <= NAMESPACE_FIELDS.keys():
            raise Damaged(f"a namespace row is {str(row)[:80]!r}")
        for key, kind in NAMESPACE_FIELDS.items():
            value = row.get(key)
            if key in row and (not isinstance(value, kind) or isinstance(value, bool)):
                raise Damaged(f"namespace {str(row['name'])[:80]!r} has a bad {key}")
            if isinstance(value, dict) and not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise Damaged(f"namespace {str(row['name'])[:80]!r} has a bad {key}")
        if row.get("retention_ns", 0) < 0:
            raise Damaged(f"namespace {str(row['name'])[:80]!r} has a negative retention")
    return rows


def namespace_rows(records: Iterable[Any]) -> list[dict[str, Any]]:
    """The frontend's namespace records as the JSON the store keeps."""
    return [
        {
            "name": r.name,
            "id": r.id,
            "description": r.description,
            "owner_email": r.owner_email,
            "retention_ns": r.retention_ns,
            "data": dict(r.data),
            "search_attributes": dict(r.search_attributes),
            "replication_state": r.replication_state,
        }
        for r in records
    ]
