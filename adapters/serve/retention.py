"""Retention and archival in `tmodel serve`.

When a run closes, its deletion is scheduled at its close time plus its namespace's
retention (`service/history/workflow/task_generator.go` GenerateDeleteHistoryEventTask);
with `--archive DIR` its history is also archived at once, as Temporal's archival queue
does at close, into DIR in the layout of the file-system archiver
(adapters/archive/filestore.py). At the deletion time the run is removed from
persistence (execution, history, its outbox tasks, the current-run pointer if it is
still the current run), after the checks of sim/archival.py: closed, its retention
over, and with archival on, its archive read back equal to every committed event (an
archive that is missing is written again first, as the deletion task waits for
archival). A failed check is reported as a violation and the run is kept.

The deletion timers run on the server's clock but are not time-skipping targets (like
the nodes' own retry delays): an idle server does not jump a day ahead to delete what
just closed; a clock that jumps past a deletion time for another reason deletes then.
With `--store` each deletion is made in the file too (one transaction), and a server
reopened on it schedules the deletions of the closed runs it finds.
"""

from __future__ import annotations

import logging

from google.protobuf import json_format

from sim.archival import Deletions, close_time, deletion_problems, digest
from sim.persistence import Mutation, RunRecord

from ..archive.filestore import FileArchive
from .frontend import DEFAULT_RETENTION_NS, Frontend
from .runtime import Runtime

log = logging.getLogger("tmodel.serve.retention")


class Retention:
    def __init__(self, fe: Frontend, archive: FileArchive | None) -> None:
        self.fe = fe
        self.runtime = fe.runtime
        self.archive = archive
        self.deletions = Deletions()
        self.runtime.commit_listeners.append(self._on_commit)

    def start(self) -> None:
        """Schedule the deletion of every closed run already stored (a reopened store)."""
        for record in list(self.runtime.persistence.runs.values()):
            if close_time(record) is not None:
                self._closed(record)

    def _on_commit(self, mutations: tuple[Mutation, ...]) -> None:
        runs = self.runtime.persistence.runs
        for mutation in mutations:
            record = runs.get(mutation.run_id)
            if record is not None and mutation.events and not record.state.running:
                self._closed(record)

    def _ids(self, record: RunRecord) -> tuple[str, str, str] | None:
        namespace = self.fe.namespaces.get(record.state.namespace)
        if namespace is None:
            return None
        return namespace.id, record.workflow_id, record.state.run_id

    def retention(self, record: RunRecord) -> int:
        namespace = self.fe.namespaces.get(record.state.namespace)
        return namespace.retention_ns if namespace is not None else DEFAULT_RETENTION_NS

    def _closed(self, record: RunRecord) -> None:
        closed = close_time(record)
        if closed is None:
            return
        if self.archive is not None:
            self._archive(record)
        kernel = self.runtime.kernel
        due = closed + self.retention(record)
        kernel.after(max(0, due - kernel.tick()), self._delete, record.state.run_id)

    def _archive(self, record: RunRecord) -> bool:
        ids = self._ids(record)
        if ids is None or self.archive is None:
            return False
        protos = self.runtime.history_protos(record.state.run_id, record.events)
        try:
            self.archive.put(*ids, [json_format.MessageToDict(p) for p in protos])
        except OSError:
            log.exception("archiving run %s failed", record.state.run_id)
            return False
        return True

    def _delete(self, run_id: str) -> None:
        record = self.runtime.persistence.runs.get(run_id)
        ids = self._ids(record) if record is not None else None
        if record is None or ids is None:
            return
        monitor = self.runtime.monitor
        committed = monitor.ghost.get(run_id)
        archived = None
        if self.archive is not None:
            archived = self.archive.get(*ids)
            if archived is None and self._archive(record):
                archived = self.archive.get(*ids)
        now = self.runtime.kernel.tick()
        problems = deletion_problems(
            record, now, self.retention(record), committed, archived, self.archive is not None
        )
        for invariant, message in problems:
            monitor.violate(invariant, message, run_id)
        if problems:
            return
        self.deletions.deleted[ids] = digest(archived) if archived is not None else ""
        self._remove(record)

    def _remove(self, record: RunRecord) -> None:
        remove_run(self.runtime, record)

    def recheck(self) -> None:
        """At the report: every deleted run's archive still reads back as it was."""
        archive = self.archive
        if archive is None:
            return
        for invariant, message, run_id in self.deletions.recheck(archive.get):
            self.runtime.monitor.violate(invariant, message, run_id)


def remove_run(runtime: Runtime, record: RunRecord) -> None:
    """Delete the run from persistence (and what the server keeps beside it)."""
    run_id = record.state.run_id
    persistence = runtime.persistence
    persistence.runs.pop(run_id, None)
    key = (record.state.namespace, record.workflow_id)
    if persistence.current.get(key) == run_id:
        del persistence.current[key]
    tasks = [
        (shard, task_id)
        for shard, box in persistence.outbox.items()
        for task_id, task in box.items()
        if task.run_id == run_id
    ]
    for shard, task_id in tasks:
        del persistence.outbox[shard][task_id]
    if runtime.store is not None:  # --store: the file forgets it too
        runtime.store.delete_run(run_id, *key, tasks)
    runtime.protos.pop(run_id, None)
    runtime.open_runs.pop(run_id, None)
    runtime.monitor.ghost.pop(run_id, None)  # nothing of it is left to compare
    runtime.monitor.deleted.add(run_id)
    for host in runtime.cluster.history.values():  # a later request finds it gone
        for owned in list(host.shards.values()):
            host.forget(owned, run_id)
