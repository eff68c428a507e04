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
tmodel that wrote it, and must be trusted as code is; a file of another format is
refused. SQLite runs in WAL mode with synchronous=NORMAL: a committed transaction
survives the process being killed (not a power cut), and the file is locked
exclusively so a second server cannot share it.

Matching's task queues are not stored (Temporal keeps them in its own tables). On
opening, every open run's waiting workflow task and activity tasks are generated again
by the core's task refresher (`refresh.py`, Temporal's `TaskRefresher`) and put in the
outbox, under a range id the opening acquires, so they reach matching again; a task
that was also still in the outbox arrives twice, and history refuses the second start.
"""

from __future__ import annotations

import json
import pickle
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core import requests as rq
from core.statemachine import shard as shardlib
from core.statemachine.history.service.refresh import refresh_tasks
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


class StoreError(Exception):
    """The store cannot be opened or read (one line for the user)."""


def _dump(value: object) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _load(blob: bytes) -> Any:
    return pickle.loads(blob)  # the server's own file, trusted as code is (see above)


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
        try:
            self.db = sqlite3.connect(path, timeout=0, isolation_level=None)
            self.db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            with self.transaction():
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self._check_format(shards)
        except sqlite3.Error as exc:
            raise StoreError(f"--store {path}: {exc}") from None

    def transaction(self) -> _Transaction:
        return _Transaction(self.db)

    def _check_format(self, shards: int) -> None:
        meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        if not meta:
            self._set("format", FORMAT)
            self._set("shards", str(shards))
            self._set("generation", "0")
            rows = [(i, 0, shardlib.NO_OWNER) for i in range(1, shards + 1)]
            self.db.executemany("INSERT INTO shards VALUES (?, ?, ?)", rows)
            return
        if meta.get("format") != FORMAT:
            raise StoreError(f"--store {self.path}: not a store of this tmodel ({FORMAT})")
        if meta.get("shards") != str(shards):
            raise StoreError(f"--store {self.path}: made for {meta.get('shards')} shards")
        self._set("generation", str(int(meta.get("generation", "0")) + 1))

    def _set(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def _meta(self, key: str, default: str) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row is not None else default

    # -- reading ----------------------------------------------------------------------
    def read(self) -> Opened:
        """Everything the file holds, as the in-memory store's values."""
        try:
            return self._read()
        except (sqlite3.Error, pickle.UnpicklingError, AttributeError, ImportError) as exc:
            raise StoreError(f"--store {self.path}: cannot read it back ({exc})") from None

    def _read(self) -> Opened:
        db = self.db
        rows = db.execute("SELECT shard_id, range_id, owner FROM shards ORDER BY shard_id")
        opened = Opened(shardlib.StoreState(tuple(shardlib.ShardRecord(*r) for r in rows)))
        events: dict[str, list[Any]] = {}
        rows = db.execute("SELECT run_id, event FROM events ORDER BY run_id, position")
        for run_id, blob in rows:
            events.setdefault(run_id, []).append(_load(blob))
        query = "SELECT run_id, workflow_id, shard_id, version, state FROM executions"
        for run_id, workflow_id, shard, version, state in db.execute(query):
            record = RunRecord(shard, workflow_id, _load(state), events.get(run_id, []), version)
            opened.runs[run_id] = record
        for namespace, workflow_id, run_id in db.execute("SELECT * FROM current"):
            opened.current[(namespace, workflow_id)] = run_id
        for shard, task_id, blob in db.execute("SELECT * FROM tasks ORDER BY shard_id, task_id"):
            opened.outbox.setdefault(shard, {})[task_id] = _load(blob)
        opened.namespaces = json.loads(self._meta("namespaces", "[]"))
        opened.generation = int(self._meta("generation", "0"))
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
    opened = store.read()
    return DurablePersistence(faults, store, opened), opened


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
        }
        for r in records
    ]
