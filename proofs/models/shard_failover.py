"""A history shard failing over between hosts, through the real `core.statemachine.shard`.

A state is the store (`shard.StoreState`: the shard row with its range id and the
execution record with its version), the run's durable event log and transfer outbox as
the store holds them, each host's view (its `ShardContext`, the record version and log
length it last loaded, the outbox task it is executing) and a budget of write attempts.
Every ownership change and every write goes through the real `shard.acquire`,
`shard.allocate_task_id`, `shard.conditional_write`, `shard.on_write_result` and
`shard.transition`; the model adds only the log, the outbox and the hosts.

Actions, per host (``hosts`` of them, default 2):

- ``AcquireShard``: `renewRangeLocked` (`service/history/shard/context_impl.go`): bump
  the range id, become owner, reload the record version and the log. A stopped host
  starts a fresh context first. Acquisitions beyond ``ranges`` are allowed only while
  no host holds the current range (the shard controller must place an orphaned shard).
- ``AppendHistoryEvent``: a fenced write of the next event together with a transfer task
  whose id comes from the writer's range. ShardOwnershipLost stops the context;
  ConditionFailed reloads the view (`handleWriteErrorLocked`).
- ``AppendTimedOut``: the write commits but its outcome is unknown to the host, whose
  context goes back to Acquiring (and will re-acquire, fencing itself).
- ``FinishStop``; ``ExecuteTransferTask`` / ``AckTransferTask``: the transfer queue of
  a host that believes it owns the shard reads the oldest outbox task, executes it, and
  deletes it. A context that stops or goes back to Acquiring drops what it was
  executing, so after failover the new owner executes the task again (at least once).

A paused host is modelled by not stepping it: it keeps believing it owns the shard.

Invariants: ``INV-SINGLE-SHARD-WRITER`` (every committed event was written under the
range id the shard row held when it committed: no owner commits after a later owner
acquired) and ``INV-DURABLE-HISTORY`` (the first event committed at each position is
still there). Eventually-property ``INV-OUTBOX-DRAINED``: under weak fairness every
write attempt is made and every committed transfer task is executed and deleted.

Mutant (``broken=``, `proofs.models.mutants`): ``no-range-check``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from core.statemachine import shard
from proofs.models import mutants

SHARD = 1
KEY = ("ns", "wf", "run-1")
VARIANTS = ("no-range-check",)


class Committed(NamedTuple):
    """One committed event: who wrote it, under which range id, the shard row's range id
    at commit (the fence), and the transfer task written with it."""

    host: str
    writer_range: int
    fence: int
    task_id: int


class Host(NamedTuple):
    ctx: shard.ShardContext
    version: int  # the execution record version the host last loaded or wrote
    length: int  # the log length it last loaded or wrote
    executing: int | None  # the transfer task id it is executing


class State(NamedTuple):
    store: shard.StoreState
    log: tuple[Committed, ...]
    first: tuple[Committed, ...]  # ghost: the first event ever committed at each position
    outbox: tuple[int, ...]  # transfer task ids not yet deleted, oldest first
    hosts: tuple[Host, ...]
    writes: int  # write attempts left


class Action(NamedTuple):
    name: str
    host: int

    def __str__(self) -> str:
        return f"{self.name}(h{self.host + 1})"


ACTION_NAMES = (
    "AcquireShard",
    "AppendHistoryEvent",
    "AppendTimedOut",
    "FinishStop",
    "ExecuteTransferTask",
    "AckTransferTask",
)


class ShardFailover:
    """The bounded model (see the module docstring)."""

    def __init__(
        self, *, hosts: int = 2, ranges: int = 3, writes: int = 3, broken: str | None = None
    ) -> None:
        if broken is not None and broken not in VARIANTS:
            raise ValueError(f"unknown variant {broken!r}")
        self.hosts, self.ranges, self.writes, self.broken = hosts, ranges, writes, broken
        self.name = "shard-failover" + (f" (broken={broken})" if broken else "")
        self.invariants: Mapping[str, Callable[[State], bool]] = {
            "INV-SINGLE-SHARD-WRITER": single_shard_writer,
            "INV-DURABLE-HISTORY": durable_history,
        }
        self.eventually: Mapping[str, Callable[[State], bool]] = {
            "INV-OUTBOX-DRAINED": lambda s: s.writes == 0 and not s.outbox,
        }

    def init_states(self) -> Iterable[State]:
        hosts = tuple(Host(shard.start(SHARD, f"h{i + 1}"), 0, 0, None) for i in range(self.hosts))
        return [State(shard.initial_store(1), (), (), (), hosts, self.writes)]

    def actions(self, state: State) -> Iterable[Action]:
        return [action for action, _ in self.successors(state)]

    def next_state(self, state: State, action: Action) -> State | None:
        if not 0 <= action.host < self.hosts or action.name not in ACTION_NAMES:
            return None
        return self._apply(state, action)

    def successors(self, state: State) -> list[tuple[Action, State]]:
        out = []
        for h in range(self.hosts):
            for name in ACTION_NAMES:
                action = Action(name, h)
                target = self._apply(state, action)
                if target is not None:
                    out.append((action, target))
        return out

    def describe(self, state: State) -> str:
        hosts = ", ".join(
            f"{h.ctx.host} {h.ctx.state.value} range {h.ctx.range_id}" for h in state.hosts
        )
        row = shard.shard_record(state.store, SHARD)
        return f"shard range {row.range_id}, {len(state.log)} events; {hosts}"

    # --- transitions ------------------------------------------------------------------

    def _apply(self, state: State, action: Action) -> State | None:
        host = state.hosts[action.host]
        ctx = host.ctx
        name = action.name
        if name == "AcquireShard":
            return self._acquire(state, action.host)
        if name == "FinishStop":
            if ctx.state is not shard.ShardState.STOPPING:
                return None
            return _put(state, action.host, _drop(host, shard.transition(ctx, _I.FINISH_STOP)))
        if ctx.state is not shard.ShardState.ACQUIRED:
            return None
        if name == "ExecuteTransferTask":
            if host.executing is not None or not state.outbox:
                return None
            return _put(state, action.host, host._replace(executing=state.outbox[0]))
        if name == "AckTransferTask":
            if host.executing is None:
                return None
            outbox = tuple(t for t in state.outbox if t != host.executing)
            return _put(state._replace(outbox=outbox), action.host, _drop(host, ctx))
        if state.writes == 0:
            return None
        return self._write(state, action.host, timed_out=name == "AppendTimedOut")

    def _acquire(self, state: State, index: int) -> State | None:
        host = state.hosts[index]
        ctx = host.ctx
        if ctx.state is shard.ShardState.STOPPED:
            ctx = shard.start(SHARD, ctx.host)
        if ctx.state is not shard.ShardState.ACQUIRING:
            return None
        current = shard.shard_record(state.store, SHARD).range_id
        owned = any(
            h.ctx.state is shard.ShardState.ACQUIRED and h.ctx.range_id == current
            for h in state.hosts
        )
        if current >= self.ranges and owned:
            return None
        store, ctx = shard.acquire(state.store, ctx)
        return _put(state._replace(store=store), index, _load(state, ctx))

    def _write(self, state: State, index: int, *, timed_out: bool) -> State | None:
        host = state.hosts[index]
        ctx, task_id = shard.allocate_task_id(host.ctx)
        assert task_id is not None  # a range holds 2**20 ids; the bounds use a handful
        write = shard.Write(
            SHARD,
            ctx.range_id,
            *KEY,
            expected_version=host.version,
            next_event_id=host.length + 2,
        )
        store, result = mutants.conditional_write(self.broken, state.store, write)
        state = state._replace(writes=state.writes - 1)
        if not isinstance(result, shard.WriteOk):
            if timed_out:
                return None  # a rejected write is not "committed but unknown"
            ctx = shard.on_write_result(ctx, result)
            if isinstance(result, shard.ConditionFailed):
                return _put(state, index, _load(state, ctx)._replace(executing=host.executing))
            return _put(state, index, _drop(host, ctx))
        fence = shard.shard_record(store, SHARD).range_id
        event = Committed(ctx.host, ctx.range_id, fence, task_id)
        position = host.length  # the writer puts the event where it believes the end is
        log = (*state.log[:position], event)
        first = state.first if position < len(state.first) else (*state.first, event)
        state = state._replace(store=store, log=log, first=first, outbox=(*state.outbox, task_id))
        if timed_out:
            lost = shard.transition(ctx, shard.ShardInput.WRITE_OUTCOME_UNKNOWN)
            return _put(state, index, _drop(host, lost))
        return _put(state, index, Host(ctx, result.db_version, host.length + 1, host.executing))


_I = shard.ShardInput


def _load(state: State, ctx: shard.ShardContext) -> Host:
    """A host's view reloaded from the store (after acquiring or a condition failure)."""
    record = next(
        (r for r in state.store.executions if (r.namespace_id, r.workflow_id, r.run_id) == KEY),
        None,
    )
    return Host(ctx, 0 if record is None else record.db_version, len(state.log), None)


def _drop(host: Host, ctx: shard.ShardContext) -> Host:
    """The host's new context; its transfer queue forgets what it was executing."""
    return Host(ctx, host.version, host.length, None)


def _put(state: State, index: int, host: Host) -> State:
    return state._replace(hosts=(*state.hosts[:index], host, *state.hosts[index + 1 :]))


# --- properties ----------------------------------------------------------------------


def single_shard_writer(state: State) -> bool:
    """Every committed event was written under the range id current at its commit."""
    return all(e.writer_range == e.fence for e in state.log)


def durable_history(state: State) -> bool:
    """The first event committed at each position is still there, unchanged."""
    return state.log[: len(state.first)] == state.first
