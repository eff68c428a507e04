"""History shards: the workflow-to-shard map, range-id ownership and fenced writes.

```
              RangeAcquired             OwnershipLost | Stop           FinishStop
  Acquiring ────────────────▶ Acquired ──────────────────────▶ Stopping ──────────▶ Stopped
   │    ▲  WriteOutcomeUnknown   │                                ▲
   │    └────────────────────────┘                                │
   └─────────────────── OwnershipLost | Stop ─────────────────────┘
```

docs/temporal-semantics.md#history-shards (`service/history/shard/context_impl.go`,
`common/util.go`, `task_key_generator.go`,
`common/persistence/cassandra/mutable_state_store.go`):

- **Mapping.** A workflow lives on shard ``Fingerprint32(namespaceID + "_" + workflowID) %
  numShards + 1``; shard ids start at 1. The standard library has no farmhash, so
  `fingerprint32` here is a *pinned* stand-in (the first four bytes, big-endian, of the
  SHA-256 of the UTF-8 key). It is **not** Temporal's farm.Fingerprint32 and maps ids to
  different shards than a real server; only its properties matter to the model: it is
  deterministic across processes and platforms and spreads ids evenly.
- **Ownership.** A host acquires a shard by a conditional update of the shard row that
  increments `range_id` (`renewRangeLocked`). The store keeps one row per shard; `acquire`
  is that read-increment-write, atomic, so any two acquisitions are ordered and the later
  one owns the shard.
- **Task ids.** An owner allocates task ids from its range only:
  ``[range_id << 20, (range_id + 1) << 20)`` (``RangeSizeBits = 20``). Ranges of different
  range ids are disjoint, so ids never collide across owners. An exhausted range is renewed
  by acquiring again.
- **Fencing.** Every execution write carries the writer's `range_id` and the execution
  record version it read. `conditional_write` applies it only if both still match the
  store; otherwise it returns `ShardOwnershipLost` or `ConditionFailed` (values, not
  exceptions). Since acquiring bumps the range, a stale owner can never pass
  (``INV-SINGLE-SHARD-WRITER``). Temporal conditions on the DB record version (or, for old
  records, on next_event_id); the model conditions on the version and stores next_event_id.
- **Lifecycle.** A host's shard context goes Acquiring -> Acquired -> Stopping -> Stopped.
  `ShardOwnershipLostError` stops it; a write whose outcome is unknown sends it back to
  Acquiring, whose re-acquisition bumps the range and so fences the write in doubt
  (`handleWriteErrorLocked`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeAlias

from core.errors import BadInput, InvalidTransition
from core.fastenum import Enum
from core.fastinit import fast_init_all
from core.statemachine.fsm import make_table, step

RULE = "INV-SINGLE-SHARD-WRITER"

RANGE_SIZE_BITS = 20
"""`task_key_generator.go`: a range id owns 2**20 task ids."""

NO_OWNER = ""


# --- the shard map -------------------------------------------------------------------------


@lru_cache(maxsize=1 << 16)  # every write and every task add hashes its key again
def fingerprint32(key: str) -> int:
    """Pinned 32-bit fingerprint of `key` (SHA-256 prefix; *not* farm.Fingerprint32)."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "big")


@lru_cache(maxsize=1 << 16)  # every fenced write asks again for the same few runs
def shard_for(namespace_id: str, workflow_id: str, num_shards: int) -> int:
    """The 1-based shard that owns ``(namespace_id, workflow_id)`` (`WorkflowIDToHistoryShard`)."""
    if num_shards < 1:
        raise BadInput(f"num_shards must be at least 1, got {num_shards}")
    return fingerprint32(f"{namespace_id}_{workflow_id}") % num_shards + 1


def task_id_range(range_id: int) -> range:
    """The task ids owned by `range_id`: ``[range_id << 20, (range_id + 1) << 20)``."""
    return range(range_id << RANGE_SIZE_BITS, (range_id + 1) << RANGE_SIZE_BITS)


# --- the shard context lifecycle -----------------------------------------------------------


class ShardState(Enum):
    ACQUIRING = "Acquiring"
    ACQUIRED = "Acquired"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


class ShardInput(Enum):
    RANGE_ACQUIRED = "RangeAcquired"
    WRITE_OUTCOME_UNKNOWN = "WriteOutcomeUnknown"
    OWNERSHIP_LOST = "OwnershipLost"
    STOP = "Stop"
    FINISH_STOP = "FinishStop"


TABLE = make_table(
    "shard context",
    RULE,
    ShardState,
    ShardInput,
    ShardState.ACQUIRING,
    [
        (ShardState.ACQUIRING, ShardInput.RANGE_ACQUIRED, ShardState.ACQUIRED),
        (ShardState.ACQUIRING, ShardInput.OWNERSHIP_LOST, ShardState.STOPPING),
        (ShardState.ACQUIRING, ShardInput.STOP, ShardState.STOPPING),
        (ShardState.ACQUIRED, ShardInput.WRITE_OUTCOME_UNKNOWN, ShardState.ACQUIRING),
        (ShardState.ACQUIRED, ShardInput.OWNERSHIP_LOST, ShardState.STOPPING),
        (ShardState.ACQUIRED, ShardInput.STOP, ShardState.STOPPING),
        (ShardState.STOPPING, ShardInput.FINISH_STOP, ShardState.STOPPED),
    ],
)


@dataclass(frozen=True, slots=True)
class ShardContext:
    """One host's view of one shard: lifecycle state, its range and next task id."""

    shard_id: int
    host: str
    state: ShardState = ShardState.ACQUIRING
    range_id: int = 0
    next_task_id: int = 0


def start(shard_id: int, host: str) -> ShardContext:
    """A new shard context on `host`, about to acquire `shard_id`."""
    return ShardContext(shard_id, host)


def transition(ctx: ShardContext, input_: ShardInput) -> ShardContext:
    """Apply a lifecycle input that does not touch the store (stop, lost, unknown write)."""
    if input_ is ShardInput.RANGE_ACQUIRED:
        raise BadInput("RangeAcquired comes only from acquire()")
    new_state, _ = step(TABLE, ctx.state, input_)
    return ShardContext(ctx.shard_id, ctx.host, new_state, ctx.range_id, ctx.next_task_id)


# --- the store: shard rows and execution records -------------------------------------------


@dataclass(frozen=True, slots=True)
class ShardRecord:
    shard_id: int
    range_id: int = 0
    owner: str = NO_OWNER


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    namespace_id: str
    workflow_id: str
    run_id: str
    db_version: int
    next_event_id: int


@dataclass(frozen=True, slots=True)
class StoreState:
    """What persistence holds: one row per shard (index ``i`` is shard ``i + 1``) and the
    execution records, sorted by ``(namespace_id, workflow_id, run_id)``."""

    shards: tuple[ShardRecord, ...]
    executions: tuple[ExecutionRecord, ...] = ()

    @property
    def num_shards(self) -> int:
        return len(self.shards)


def initial_store(num_shards: int) -> StoreState:
    """An empty store with `num_shards` unowned shard rows at range id 0."""
    if num_shards < 1:
        raise BadInput(f"num_shards must be at least 1, got {num_shards}")
    return StoreState(tuple(ShardRecord(i) for i in range(1, num_shards + 1)))


def shard_record(store: StoreState, shard_id: int) -> ShardRecord:
    shards = store.shards
    if not 1 <= shard_id <= len(shards):
        raise BadInput(f"shard id {shard_id} outside 1..{len(shards)}")
    return shards[shard_id - 1]


def acquire(store: StoreState, ctx: ShardContext) -> tuple[StoreState, ShardContext]:
    """`renewRangeLocked`: bump the shard row's range id and make `ctx` its owner.

    `ctx` must be Acquiring. Every earlier owner's range id is now stale.
    """
    new_state, _ = step(TABLE, ctx.state, ShardInput.RANGE_ACQUIRED)
    row = shard_record(store, ctx.shard_id)
    new_range = row.range_id + 1
    shards = list(store.shards)
    shards[ctx.shard_id - 1] = ShardRecord(ctx.shard_id, new_range, ctx.host)
    new_ctx = ShardContext(
        ctx.shard_id, ctx.host, new_state, new_range, task_id_range(new_range).start
    )
    return StoreState(tuple(shards), store.executions), new_ctx


def allocate_task_id(ctx: ShardContext) -> tuple[ShardContext, int | None]:
    """The next task id of `ctx`'s range, or None when the range is exhausted (re-acquire)."""
    state, range_id, task_id = ctx.state, ctx.range_id, ctx.next_task_id
    if state is not _ACQUIRED:
        raise InvalidTransition(TABLE.name, state.name, "AllocateTaskId")
    if task_id >= (range_id + 1) << RANGE_SIZE_BITS:  # task_id_range's stop
        return ctx, None
    return ShardContext(ctx.shard_id, ctx.host, state, range_id, task_id + 1), task_id


_ACQUIRED = ShardState.ACQUIRED  # bound once: read on every allocation


# --- fenced writes -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Write:
    """An execution write: conditional on the writer's range id and the version it read.

    `expected_version` 0 means "create: the record must not exist yet".
    """

    shard_id: int
    range_id: int
    namespace_id: str
    workflow_id: str
    run_id: str
    expected_version: int
    next_event_id: int


@dataclass(frozen=True, slots=True)
class WriteOk:
    db_version: int


@dataclass(frozen=True, slots=True)
class ShardOwnershipLost:
    shard_id: int
    writer_range_id: int
    current_range_id: int


@dataclass(frozen=True, slots=True)
class ConditionFailed:
    expected_version: int
    actual_version: int


WriteResult: TypeAlias = WriteOk | ShardOwnershipLost | ConditionFailed


def conditional_write(store: StoreState, write: Write) -> tuple[StoreState, WriteResult]:
    """Apply `write` only if its range id and expected version both match the store."""
    namespace_id, workflow_id, run_id = write.namespace_id, write.workflow_id, write.run_id
    shards = store.shards
    expected_shard = shard_for(namespace_id, workflow_id, len(shards))
    if write.shard_id != expected_shard:
        raise BadInput(
            f"{namespace_id}/{workflow_id} lives on shard {expected_shard}, not {write.shard_id}"
        )
    row = shard_record(store, expected_shard)
    if write.range_id != row.range_id:
        return store, ShardOwnershipLost(write.shard_id, write.range_id, row.range_id)
    executions = store.executions
    index = i = -1
    for r in executions:
        i += 1
        if r.run_id == run_id and r.workflow_id == workflow_id and r.namespace_id == namespace_id:
            index = i
            break
    actual = executions[index].db_version if index >= 0 else 0
    if write.expected_version != actual:
        return store, ConditionFailed(write.expected_version, actual)
    record = ExecutionRecord(namespace_id, workflow_id, run_id, actual + 1, write.next_event_id)
    if index >= 0:
        records = (
            (record,)
            if len(executions) == 1
            else (*executions[:index], record, *executions[index + 1 :])
        )
    else:
        records = tuple(sorted((*executions, record), key=_record_key))
    return StoreState(store.shards, records), WriteOk(actual + 1)


def _record_key(r: ExecutionRecord) -> tuple[str, str, str]:
    return (r.namespace_id, r.workflow_id, r.run_id)


def on_write_result(ctx: ShardContext, result: WriteResult) -> ShardContext:
    """What a write's result does to the writer's context: ownership lost stops it."""
    if isinstance(result, ShardOwnershipLost):
        return transition(ctx, ShardInput.OWNERSHIP_LOST)
    return ctx


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
