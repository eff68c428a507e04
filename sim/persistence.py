"""Persistence: an in-memory, transactional store with writes fenced by range id.

What it holds (Temporal's executions store, `common/persistence/`): the shard rows
(range id and owner, kept in `core.statemachine.shard.StoreState` and bumped by its
`acquire`), one record per run (mutable state, the appended history events, a version),
the current run of each workflow id, and per shard the outbox: transfer and timer tasks
written in the same transaction as the events that caused them, deleted when their
queue processor acks them (the ack level is the lowest task id still pending).

A write is one transaction over several runs of one shard. Whether it may be applied
is decided by the core: each run's part goes through `core.statemachine.shard.
conditional_write` (looked up when the write is made, so a test may replace it), which
refuses a writer whose range id is not the shard row's (INV-SINGLE-SHARD-WRITER) and a
run whose version is not the one the writer read; one refusal refuses the whole
transaction. This module keeps only the storage (events, states, the outbox) and the
faults. Faults: a transient error (nothing
written) or a timeout whose write may or may not have happened - the writer cannot
tell, so its shard goes back to Acquiring and re-reads (`handleWriteErrorLocked`).
Every commit is logged with the range id it carried, for the invariant checkers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.events import HistoryEvent
from core.fastinit import fast_init_all
from core.requests import Task
from core.statemachine import shard as shardlib
from core.statemachine.history.service.state import MutableState
from sim.core_copy import conditional_write_without_fence
from sim.faults import Faults

WRITE_OK = shardlib.WriteOk(0)  # what a write that went through returns (a value: shared)


@dataclass(slots=True)
class RunRecord:
    shard: int
    workflow_id: str
    state: MutableState
    events: list[HistoryEvent]
    version: int = 1
    size_bytes: int = 0  # the history's encoded size, where a store keeps it (live only)


@dataclass(frozen=True, slots=True)
class Mutation:
    """One run's part of a transaction: create (expected_version 0) or update."""

    run_id: str
    workflow_id: str
    expected_version: int
    state: MutableState
    events: tuple[HistoryEvent, ...]


@dataclass(frozen=True, slots=True)
class ArchiveTask:
    """Archive a closed run's history (Temporal's ArchiveExecutionTask, written at close
    for the archival queue); sim/retention.py executes it."""

    close_time: int
    fire_time: int


@dataclass(frozen=True, slots=True)
class DeleteHistoryTask:
    """Delete a closed run (Temporal's DeleteHistoryEventTask, a timer task at close time
    plus the retention); sim/retention.py executes it."""

    close_time: int
    fire_time: int


RetentionTask = ArchiveTask | DeleteHistoryTask


@dataclass(frozen=True, slots=True)
class OutboxTask:
    task_id: int
    run_id: str
    workflow_id: str
    task: Task | RetentionTask
    namespace: str


@dataclass(frozen=True, slots=True)
class TransientError:
    pass


@dataclass(frozen=True, slots=True)
class Timeout:
    applied: bool  # known to the simulator only; the writer cannot see it


ConditionalWrite = Callable[
    [shardlib.StoreState, shardlib.Write], tuple[shardlib.StoreState, shardlib.WriteResult]
]
WriteResult = (
    shardlib.WriteOk
    | shardlib.ShardOwnershipLost
    | shardlib.ConditionFailed
    | TransientError
    | Timeout
)


@dataclass(slots=True)
class Commit:
    """A committed write as the invariant checkers see it."""

    shard: int
    range_id: int
    row_range_id: int


@dataclass(slots=True)
class Persistence:
    faults: Faults
    shards: shardlib.StoreState
    # False only for the `no-range-check` mutant: writes go through a copy of the core's
    # conditional_write without its range-id check (sim/core_copy.py), acks unfenced.
    range_check: bool = True
    runs: dict[str, RunRecord] = field(default_factory=dict)
    # (namespace, workflow id) -> the id of its current (latest) run
    current: dict[tuple[str, str], str] = field(default_factory=dict)
    outbox: dict[int, dict[int, OutboxTask]] = field(default_factory=dict)
    on_commit: Callable[[Commit, tuple[Mutation, ...]], None] | None = None

    def acquire(self, ctx: shardlib.ShardContext) -> shardlib.ShardContext:
        """Bump the shard row's range id; `ctx` (Acquiring) becomes the owner."""
        self.shards, ctx = shardlib.acquire(self.shards, ctx)
        return ctx

    def range_id(self, shard: int) -> int:
        return shardlib.shard_record(self.shards, shard).range_id

    def write(
        self,
        ctx: shardlib.ShardContext,
        mutations: tuple[Mutation, ...],
        tasks: tuple[OutboxTask, ...],
    ) -> WriteResult:
        faults = self.faults
        rates = faults.rates  # asked first: `chance` draws nothing at a rate of 0
        if rates["persistence-error"] > 0.0 and faults.chance("persistence-error"):
            return TransientError()
        if rates["persistence-timeout"] > 0.0 and faults.chance("persistence-timeout"):
            applied = self.faults.kernel.rng.random() < 0.5
            if applied and isinstance(self._apply(ctx, mutations, tasks), shardlib.WriteOk):
                return Timeout(True)
            return Timeout(False)
        return self._apply(ctx, mutations, tasks)

    def _apply(
        self,
        ctx: shardlib.ShardContext,
        mutations: tuple[Mutation, ...],
        tasks: tuple[OutboxTask, ...],
    ) -> WriteResult:
        runs = self.runs
        records = []
        for m in mutations:
            record = runs.get(m.run_id)
            if record is not None:
                records.append(
                    shardlib.ExecutionRecord(
                        m.state.namespace,
                        m.workflow_id,
                        m.run_id,
                        record.version,
                        record.state.next_event_id,
                    )
                )
        if len(records) > 1:
            records.sort(key=record_key)
        store = shardlib.StoreState(self.shards.shards, tuple(records))
        write = (
            shardlib.conditional_write if self.range_check else conditional_write_without_fence()
        )
        result = check_transaction(store, ctx, mutations, write)
        if not isinstance(result, shardlib.WriteOk):
            return result
        row_range = shardlib.shard_record(self.shards, ctx.shard_id).range_id  # range_id()
        for m in mutations:
            record = runs.get(m.run_id)
            if record is None:
                record = runs[m.run_id] = RunRecord(
                    ctx.shard_id, m.workflow_id, m.state, list(m.events)
                )
                self.current[(m.state.namespace, m.workflow_id)] = m.run_id
            else:
                record.state = m.state
                record.events.extend(m.events)
                record.version += 1

        box = self.outbox.get(ctx.shard_id)
        if box is None:  # (not setdefault, which would build an empty dict every write)
            box = self.outbox[ctx.shard_id] = {}
        for task in tasks:
            box[task.task_id] = task
        if self.on_commit is not None:
            self.on_commit(Commit(ctx.shard_id, ctx.range_id, row_range), mutations)
        return WRITE_OK

    def add_tasks(self, ctx: shardlib.ShardContext, tasks: tuple[OutboxTask, ...]) -> bool:
        """Add tasks to a shard's outbox alone (Temporal's AddHistoryTasks), fenced by
        range id; False if the writer lost the shard or the write failed."""
        if self.range_check and ctx.range_id != self.range_id(ctx.shard_id):
            return False
        if self.faults.chance("persistence-error"):
            return False
        box = self.outbox.setdefault(ctx.shard_id, {})
        for task in tasks:
            box[task.task_id] = task
        return True

    def delete_run(self, ctx: shardlib.ShardContext, run_id: str) -> WriteResult:
        """Delete a run: its record, its outbox tasks and the current-run pointer if it
        is still the current run. The deletion is a write on the run like any other:
        the core's `conditional_write` fences it by range id and the run's version, and
        it meets the same faults."""
        record = self.runs.get(run_id)
        if record is None:
            return shardlib.WriteOk(0)
        if self.faults.chance("persistence-error"):
            return TransientError()
        if self.faults.chance("persistence-timeout"):
            applied = self.faults.kernel.rng.random() < 0.5
            return Timeout(applied and isinstance(self._delete(ctx, record), shardlib.WriteOk))
        return self._delete(ctx, record)

    def _delete(self, ctx: shardlib.ShardContext, record: RunRecord) -> WriteResult:
        state = record.state
        key = (state.namespace, record.workflow_id, state.run_id)
        row = shardlib.ExecutionRecord(*key, record.version, state.next_event_id)
        store = shardlib.StoreState(self.shards.shards, (row,))
        write = (
            shardlib.conditional_write if self.range_check else conditional_write_without_fence()
        )
        unchanged = Mutation(state.run_id, record.workflow_id, record.version, state, ())
        result = check_transaction(store, ctx, (unchanged,), write)
        if not isinstance(result, shardlib.WriteOk):
            return result
        del self.runs[state.run_id]
        if self.current.get(key[:2]) == state.run_id:
            del self.current[key[:2]]
        box = self.outbox.get(record.shard, {})
        for task_id in [i for i, task in box.items() if task.run_id == state.run_id]:
            del box[task_id]
        return result

    def complete_task(self, ctx: shardlib.ShardContext, task_id: int) -> bool:
        """Ack an outbox task (fenced by range id); False if the writer lost the shard."""
        if self.range_check and ctx.range_id != self.range_id(ctx.shard_id):
            return False
        box = self.outbox.get(ctx.shard_id)  # (no empty dict built for a default)
        if box is not None:
            box.pop(task_id, None)
        return True

    def pending(self, shard: int) -> list[OutboxTask]:
        """The shard's outbox from its ack level, in task id order (re-read on failover)."""
        box = self.outbox.get(shard, {})
        return [box[task_id] for task_id in sorted(box)]

    def is_pending(self, shard: int, task_id: int) -> bool:
        return task_id in self.outbox.get(shard, ())


def record_key(record: shardlib.ExecutionRecord) -> tuple[str, str, str]:
    return (record.namespace_id, record.workflow_id, record.run_id)


def check_transaction(
    store: shardlib.StoreState,
    ctx: shardlib.ShardContext,
    mutations: tuple[Mutation, ...],
    write: ConditionalWrite,
) -> shardlib.WriteResult:
    """Each run's part of a transaction through `write` (the core's `conditional_write`)
    against `store` (the shard rows and the records the transaction touches), in order:
    the first refusal, else the last WriteOk."""
    result: shardlib.WriteResult = WRITE_OK
    for m in mutations:
        fenced = shardlib.Write(
            ctx.shard_id,
            ctx.range_id,
            m.state.namespace,
            m.workflow_id,
            m.run_id,
            m.expected_version,
            m.state.next_event_id,
        )
        store, result = write(store, fenced)
        if not isinstance(result, shardlib.WriteOk):
            return result
    return result


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
