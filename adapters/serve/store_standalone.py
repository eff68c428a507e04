"""Standalone activities in the `--store` file: one row per run, written whenever the
run's record changes, so a server started again on the file takes its standalone
activities up where they were (as it does workflow runs, store.py).

The row holds the run's namespace, its record (the core's `StandaloneActivity`), the
start request as its protobuf bytes (input, header, search attributes, ...) and the
timers armed for it and not yet fired, pickled as the store's other values are (a file
read only by the tmodel that wrote it). Deleting a run deletes its row. The table is
made on first use, so a store written before it existed opens unchanged.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import dataclass

from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core.statemachine.standalone import activity as sa

from .store import SqliteStore

SCHEMA = """CREATE TABLE IF NOT EXISTS {} (
    run_id TEXT PRIMARY KEY, position INTEGER NOT NULL, row BLOB NOT NULL)"""


@dataclass(frozen=True, slots=True)
class Saved:
    """One run as the file keeps it."""

    namespace: str
    activity: sa.StandaloneActivity
    request: bytes  # ws.StartActivityExecutionRequest, serialized
    timers: tuple[sa.Timer, ...]

    def start_request(self) -> ws.StartActivityExecutionRequest:
        return ws.StartActivityExecutionRequest.FromString(self.request)


class RunRows:
    """The rows of one table of a store file, one pickled value per run (by run id);
    `position` keeps the runs of an id in the order they were started. Standalone
    activities' table is `standalone_activities`, standalone Nexus operations'
    `standalone_nexus_operations` (standalone_nexus.py)."""

    def __init__(self, store: SqliteStore, table: str = "standalone_activities") -> None:
        self.store = store
        self.table = table
        with store.transaction():
            store.db.execute(SCHEMA.format(table))
        row = store.db.execute(f"SELECT MAX(position) FROM {table}").fetchone()
        self._next = (row[0] or 0) + 1

    def rows(self) -> Iterator[object]:
        query = f"SELECT row FROM {self.table} ORDER BY position"
        for (blob,) in self.store.db.execute(query).fetchall():
            yield pickle.loads(blob)  # the server's own file (store.py)

    def put(self, run_id: str, value: object) -> None:
        db = self.store.db
        found = db.execute(
            f"SELECT position FROM {self.table} WHERE run_id = ?", (run_id,)
        ).fetchone()
        position = found[0] if found else self._next
        if not found:
            self._next += 1
        blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        with self.store.transaction():
            db.execute(
                f"INSERT OR REPLACE INTO {self.table} VALUES (?, ?, ?)", (run_id, position, blob)
            )

    def delete(self, run_id: str) -> None:
        with self.store.transaction():
            self.store.db.execute(f"DELETE FROM {self.table} WHERE run_id = ?", (run_id,))


class StandaloneStore(RunRows):
    """Standalone activities' rows."""

    def read(self) -> Iterator[Saved]:
        for saved in self.rows():
            assert isinstance(saved, Saved)
            yield saved

    def save(self, saved: Saved) -> None:
        self.put(saved.activity.run_id, saved)
