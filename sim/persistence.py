"""Persistence: an in-memory, transactional store with writes fenced by range id.

What it holds (Temporal's executions store, `common/persistence/`): the shard rows
(range id and owner, kept in `core.statemachine.shard.StoreState` and bumped by its
`acquire`), one record per run (mutable state, the appended history events, a version),
the current run of each workflow id, and per shard the outbox: transfer and timer tasks
written in the same transaction as the events that caused them, deleted when their
queue processor acks them (the ack level is the lowest task id still pending).

A write is one transaction over several runs of one shard. It is applied only if the
writer's range id is the shard row's (`conditional_write`, INV-SINGLE-SHARD-WRITER) and
each run's version is the one the writer read. Faults: a transient error (nothing
written) or a timeout whose write may or may not have happened - the writer cannot
tell, so its shard goes back to Acquiring and re-reads (`handleWriteErrorLocked`).
Every commit is logged with the range id it carried, for the invariant checkers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.events import HistoryEvent
from core.fastinit import fast_init_all
from core.statemachine import shard as shardlib
from core.statemachine.history.service.requests import Task
from core.statemachine.history.service.state import MutableState
from sim.faults import Faults


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
class OutboxTask:
    task_id: int
    run_id: str
    workflow_id: str
    task: Task
    namespace: str


@dataclass(frozen=True, slots=True)
class TransientError:
    pass


@dataclass(frozen=True, slots=True)
class Timeout:
    applied: bool  # known to the simulator only; the writer cannot see it


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
    range_check: bool = True  # False only for the `no-range-check` mutant
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
        if self.faults.chance("persistence-error"):
            return TransientError()
        if self.faults.chance("persistence-timeout"):
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
        row_range = self.range_id(ctx.shard_id)
        if self.range_check and ctx.range_id != row_range:
            return shardlib.ShardOwnershipLost(ctx.shard_id, ctx.range_id, row_range)
        runs = self.runs
        for m in mutations:
            record = runs.get(m.run_id)
            actual = record.version if record is not None else 0
            if actual != m.expected_version:
                return shardlib.ConditionFailed(m.expected_version, actual)
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

        box = self.outbox.setdefault(ctx.shard_id, {})
        for task in tasks:
            box[task.task_id] = task
        if self.on_commit is not None:
            self.on_commit(Commit(ctx.shard_id, ctx.range_id, row_range), mutations)
        return shardlib.WriteOk(0)

    def complete_task(self, ctx: shardlib.ShardContext, task_id: int) -> bool:
        """Ack an outbox task (fenced by range id); False if the writer lost the shard."""
        if self.range_check and ctx.range_id != self.range_id(ctx.shard_id):
            return False
        self.outbox.get(ctx.shard_id, {}).pop(task_id, None)
        return True

    def pending(self, shard: int) -> list[OutboxTask]:
        """The shard's outbox from its ack level, in task id order (re-read on failover)."""
        box = self.outbox.get(shard, {})
        return [box[task_id] for task_id in sorted(box)]

    def is_pending(self, shard: int, task_id: int) -> bool:
        return task_id in self.outbox.get(shard, {})


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
