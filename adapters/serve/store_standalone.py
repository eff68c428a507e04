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

SCHEMA = """CREATE TABLE IF NOT EXISTS standalone_activities (
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


class StandaloneStore:
    """The rows of one store file; `position` keeps the runs of an activity id in the
    order they were started."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        with store.transaction():
            store.db.execute(SCHEMA)
        row = store.db.execute("SELECT MAX(position) FROM standalone_activities").fetchone()
        self._next = (row[0] or 0) + 1

    def read(self) -> Iterator[Saved]:
        query = "SELECT row FROM standalone_activities ORDER BY position"
        for (blob,) in self.store.db.execute(query).fetchall():
            saved = pickle.loads(blob)  # the server's own file (store.py)
            assert isinstance(saved, Saved)
            yield saved

    def save(self, saved: Saved) -> None:
        run_id = saved.activity.run_id
        db = self.store.db
        found = db.execute(
            "SELECT position FROM standalone_activities WHERE run_id = ?", (run_id,)
        ).fetchone()
        position = found[0] if found else self._next
        if not found:
            self._next += 1
        blob = pickle.dumps(saved, protocol=pickle.HIGHEST_PROTOCOL)
        with self.store.transaction():
            db.execute(
                "INSERT OR REPLACE INTO standalone_activities VALUES (?, ?, ?)",
                (run_id, position, blob),
            )

    def delete(self, run_id: str) -> None:
        with self.store.transaction():
            self.store.db.execute("DELETE FROM standalone_activities WHERE run_id = ?", (run_id,))
