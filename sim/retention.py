"""Retention and archival in the simulator: closed runs are archived, then deleted.

Theory of operation. With a retention (`SimConfig.retention`), a history host writes,
in the same transaction as a run's close event, the task that ends the run's life
(`service/history/workflow/task_generator.go` GenerateWorkflowCloseTasks): with
archival off, a DeleteHistoryEventTask at close time plus the retention; with archival
on, an ArchiveExecutionTask at close time plus a jittered delay (never past the
retention). The archive task's executor (`service/history/archival_queue_task_executor.go`)
reads the history, writes it to the archive store and only then adds the deletion task
(`addDeletionTask`): deletion waits for archival. Both are outbox tasks of the shard, so
a history host that crashes while archiving, or between archiving and adding the
deletion, leaves the task pending, and the shard's next owner runs it again.

The archive store (`ArchiveStore`) is a separate durable store: a history crash does not
touch it. Archiving takes two steps of virtual time (the history read, then the upload),
so a crash can fall inside it. The deletion is a fenced write on the run
(`Persistence.delete_run`, through the core's `conditional_write`); before it, the
checks of sim/archival.py run against the monitor's own copy of every committed event
(INV-RETENTION, INV-ARCHIVED-BEFORE-DELETE). A deletion that fails them is reported and
not made; one that passes is recorded in the monitor (`Monitor.deleted`), so the
end-of-run INV-DURABLE-HISTORY counts the run as accounted for, and at the end every
deleted run's archive is read back against the monitor's copy (`Deletions.recheck`).

Mutants (`RETENTION_MUTANTS`, tests only): ``delete-before-archive`` writes the deletion
task at close beside the archive task instead of after the archive is written;
``delete-before-retention`` times the deletion at the close itself; ``archive-drops-
last-event`` is an archive store that loses a history's last event.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.event_sets import CLOSE_EVENT_TYPES
from core.events import HistoryEvent
from core.statemachine import shard as shardlib
from sim.archival import ARCHIVED, RETENTION, Deletions, deletion_problems, digest
from sim.invariants import Monitor
from sim.kernel import MS, SECOND, Kernel
from sim.persistence import (
    ArchiveTask,
    DeleteHistoryTask,
    Mutation,
    OutboxTask,
    Persistence,
    RetentionTask,
    Timeout,
    TransientError,
)

if TYPE_CHECKING:
    from sim.nodes.history import HistoryHost, Shard

MINUTE = 60 * SECOND
ARCHIVE_DELAY = 5 * MINUTE  # history.archivalProcessorArchiveDelay (full jitter up to it)
DELETE_JITTER = 30 * MINUTE  # history.retentionTimerJitterDuration (full jitter up to it)
ARCHIVE_STEP = (10 * MS, 500 * MS)  # each of an archive's two steps takes this long
RETRY = 200 * MS

RETENTION_MUTANTS: dict[str, str] = {
    "delete-before-archive": "INV-ARCHIVED-BEFORE-DELETE",
    "delete-before-retention": "INV-RETENTION",
    "archive-drops-last-event": "INV-ARCHIVED-BEFORE-DELETE",
}

# What a run with a retention checks besides the rest (sim/archival.py), for the report.
RETENTION_INVARIANTS: tuple[tuple[str, str], ...] = (
    (RETENTION, "each deletion: the run closed, and its retention is over"),
    (ARCHIVED, "with --archival, each deletion: the archive reads back every committed event"),
)

Key = tuple[str, str, str]  # namespace, workflow id, run id
Item = tuple[int, int, OutboxTask]  # shard id, range id, the task


@dataclass(slots=True)
class ArchiveStore:
    """The archive: run -> its archived history. Durable, apart from persistence."""

    drop_last: bool = False  # the archive-drops-last-event mutant
    histories: dict[Key, tuple[HistoryEvent, ...]] = field(default_factory=dict)

    def put(self, key: Key, events: Sequence[HistoryEvent]) -> None:
        self.histories[key] = tuple(events[:-1] if self.drop_last else events)

    def get(self, namespace: str, workflow_id: str, run_id: str) -> tuple[HistoryEvent, ...] | None:
        return self.histories.get((namespace, workflow_id, run_id))


class Retention:
    """The cluster's retention and archival: the close tasks, their execution, the checks."""

    def __init__(
        self,
        kernel: Kernel,
        persistence: Persistence,
        monitor: Monitor,
        retention: int,
        archival: bool,
        mutant: str | None,
        rng: random.Random,
    ) -> None:
        self.kernel = kernel
        self.rng = rng  # its own stream: the kernel's draws stay as without retention
        self.persistence = persistence
        self.monitor = monitor
        self.retention = retention
        self.archival = archival
        self.mutant = mutant
        self.store = ArchiveStore(drop_last=mutant == "archive-drops-last-event")
        self.deletions = Deletions()
        self.pending: set[str] = set()  # closed runs whose deletion is still to come
        self.kept: set[str] = set()  # runs whose deletion failed its checks
        self.counts: Counter[str] = Counter()  # archived, deleted, re-run tasks...

    def tail(self) -> int:
        """How much longer than its workflows a run may last: the last deletion's time."""
        return self.retention + self._cap(DELETE_JITTER) + 2 * ARCHIVE_STEP[1] + 10 * SECOND

    def idle(self) -> bool:
        """Every closed run is deleted (or kept after a failed check)."""
        runs = self.persistence.runs
        self.pending = {r for r in self.pending if r in runs and r not in self.kept}
        return not self.pending

    # -- at close -------------------------------------------------------------------------
    def close_tasks(self, mutations: Sequence[Mutation]) -> list[tuple[str, RetentionTask]]:
        """The tasks a transaction writes for each run it closes."""
        out: list[tuple[str, RetentionTask]] = []
        for m in mutations:
            close = next((e for e in m.events if e.event_type in CLOSE_EVENT_TYPES), None)
            if close is None:
                continue
            closed = close.event_time or 0
            if not self.archival or self.mutant == "delete-before-archive":
                out.append((m.run_id, self._deletion(closed)))
            if self.archival:
                delay = self._jitter(0, self._cap(ARCHIVE_DELAY))
                out.append((m.run_id, ArchiveTask(closed, closed + delay)))
        return out

    def _deletion(self, closed: int) -> DeleteHistoryTask:
        if self.mutant == "delete-before-retention":
            return DeleteHistoryTask(closed, closed)
        jitter = self._jitter(0, self._cap(DELETE_JITTER))
        return DeleteHistoryTask(closed, closed + self.retention + jitter)

    def _jitter(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def _cap(self, jitter: int) -> int:
        """Temporal's jitters, at most a tenth of the retention: Temporal's retention is a
        day or more, the simulator's may be seconds, and keeps its shape so."""
        return min(jitter, self.retention // 10)

    # -- the queue ------------------------------------------------------------------------
    def process(self, host: HistoryHost, sh: Shard, task: OutboxTask) -> None:
        """A retention task reached `host`'s queues (written now, or re-read on acquire)."""
        t = task.task
        assert isinstance(t, ArchiveTask | DeleteHistoryTask)
        if task.run_id not in self.pending and task.run_id in self.persistence.runs:
            self.pending.add(task.run_id)
        key = (sh.ctx.shard_id, sh.ctx.range_id, task)
        due = t.fire_time - host.faults.skew.get(host.name, 0)
        self.kernel.at(max(due, self.kernel.now), self._fire, host, key)

    def _fire(self, host: HistoryHost, key: Item) -> None:
        shard_id, range_id, task = key
        sh = host.owned_pending(shard_id, range_id, task.task_id)
        if sh is None:
            return
        t = task.task
        assert isinstance(t, ArchiveTask | DeleteHistoryTask)
        early = t.fire_time - host.clock()
        if early > 0:  # this host's clock is behind the task's time
            self.kernel.after(early, self._fire, host, key)
            return
        self.counts["archive" if isinstance(t, ArchiveTask) else "delete"] += 1
        if isinstance(t, ArchiveTask):
            self._read(host, key)
        else:
            self._delete(host, sh, key)

    # -- archival -------------------------------------------------------------------------
    def _read(self, host: HistoryHost, key: Item) -> None:
        """Step one: read the closed run's history from persistence."""
        task = key[2]
        record = self.persistence.runs.get(task.run_id)
        if record is None:  # deleted already: nothing to archive
            _done(host, key)
            return
        events = tuple(record.events)
        self.kernel.after(self._jitter(*ARCHIVE_STEP), self._upload, host, key, events)

    def _upload(self, host: HistoryHost, key: Item, events: tuple[HistoryEvent, ...]) -> None:
        """Step two: write it to the archive, unless the host crashed or lost the shard
        meanwhile (then the task is still pending and its next owner runs it again)."""
        task = key[2]
        if host.owned_pending(key[0], key[1], task.task_id) is None:
            self.counts["archive interrupted"] += 1
            return
        self.store.put((task.namespace, task.workflow_id, task.run_id), events)
        self.counts["archived"] += 1
        self.kernel.after(self._jitter(*ARCHIVE_STEP), self._then_delete, host, key)

    def _then_delete(self, host: HistoryHost, key: Item) -> None:
        """Step three: add the deletion task, then ack the archive task (addDeletionTask)."""
        task = key[2]
        sh = host.owned_pending(key[0], key[1], task.task_id)
        if sh is None:
            self.counts["deletion not added"] += 1
            return
        t = task.task
        assert isinstance(t, ArchiveTask)
        if self.mutant != "delete-before-archive":
            added = host.add_tasks(sh, task, self._deletion(t.close_time))
            if not added:
                self.kernel.after(RETRY, self._then_delete, host, key)
                return
        _done(host, key)

    # -- deletion -------------------------------------------------------------------------
    def _delete(self, host: HistoryHost, sh: Shard, key: Item) -> None:
        task = key[2]
        run_id = task.run_id
        record = self.persistence.runs.get(run_id)
        # Gone, or running again: nothing to delete (executeDeleteHistoryEventTask in
        # service/history/timer_queue_task_executor_base.go ignores a running run).
        if record is None or record.state.running:
            _done(host, key)
            return
        ids = (task.namespace, task.workflow_id, run_id)
        committed = self.monitor.ghost.get(run_id)
        archived = self.store.get(*ids) if self.archival else None
        problems = deletion_problems(
            record, host.clock(), self.retention, committed, archived, self.archival
        )
        for invariant, message in problems:
            self.monitor.violate(invariant, message, run_id)
        if problems:  # reported; the run is kept
            self.kept.add(run_id)
            _done(host, key)
            return
        self.deletions.deleted[ids] = digest(committed) if committed and self.archival else ""
        self.monitor.deleted.add(run_id)
        result = self.persistence.delete_run(sh.ctx, run_id)
        if isinstance(result, TransientError | shardlib.ConditionFailed):
            self.kernel.after(RETRY, self._fire, host, key)
        elif isinstance(result, shardlib.ShardOwnershipLost | Timeout):
            host.write_failed(sh, result)
        else:
            self.counts["deleted"] += 1
            host.forget(sh, run_id)

    # -- at the end -----------------------------------------------------------------------
    def finish(self) -> None:
        """Every deleted run's archive reads back as the monitor's copy of its history."""
        ghost = self.monitor.ghost
        now = Deletions(
            {
                ids: digest(ghost[ids[2]]) if was else ""
                for ids, was in self.deletions.deleted.items()
            }
        )
        for invariant, message, run_id in now.recheck(self.store.get):
            self.monitor.violate(invariant, message, run_id)


def _done(host: HistoryHost, key: Item) -> None:
    """Ack the task: delete it from the outbox, if `host` still owns its shard."""
    host.finish_transfer((key[0], key[1], key[2].task_id), key[2])
