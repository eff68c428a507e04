"""Two clusters replicating a global namespace's workflow, through the real replication core.

A state is, per cluster, its record of the namespace (`namespace.NamespaceRecord`) and
its copies of the workflow's runs (`endpoint.WorkflowCopies`); per direction, the queue
of messages one cluster has for the other (replication tasks, forwarded reapplications,
namespace updates); whether the clusters are partitioned; the signals
acknowledged to clients; and budgets. Every write, delivery and failover goes through the
real `core.statemachine.replication` functions (`endpoint.write_local`,
`endpoint.receive`, `endpoint.receive_forward`, `endpoint.resync_answer`,
`namespace.failover`, `namespace.apply_replicated`); the model adds only the queues.

The workflow's run ``r1`` starts in cluster ``a`` (failover version 1) and is replicated
to ``b`` before the model begins. A second run appears when a losing signal must be
reapplied to a closed run: the active cluster resets it into ``r1/reset1@b`` (if b is
active), which is replicated like ``r1``. Actions:

- ``Signal(c)`` / ``Complete(c)``: a client signals (the signal is acknowledged if the
  write succeeds) or the workflow completes, written by cluster `c` if its record and the
  run let it (`write_version`); the task joins `c`'s queue.
- ``Partition`` / ``Heal``: once each; while partitioned nothing is delivered.
- ``ForcedFailover(c)``: the operator fails the namespace over to `c` on `c`'s own record
  (reachable in a partition); the new record joins `c`'s queue (namespace replication).
  ``failovers`` of them (default 1; 2 fails over and back).
- ``StartHandover(c)`` / ``CompleteHandover(c)`` / ``AbortHandover(c)``: a graceful
  failover away from active cluster `c` (``graceful`` of them, default 0): `c`'s record
  goes to Handover and `c` stops writing; once `c` has no replication task left for the
  other cluster (`service/worker/migration/handover_workflow.go` waits for the standby
  to drain), `c` fails the namespace over to it; or it gives up and goes back to Normal.
- ``Deliver(i, k)``: cluster `i`'s ``k``-th queued message reaches the other cluster, in
  any order (reordering). A message leaves the queue when the receiver acknowledges it;
  a replication task that leaves a gap makes the receiver fetch the missing events from
  the source (the resync answer, `endpoint.resync_answer`) and stays queued; a forward
  the receiver cannot yet take stays queued (NamespaceNotActive).
  ``DeliverKeep(i, k)`` delivers but loses the acknowledgement, so the message will be
  delivered again (duplication; ``dups`` of them). A lost message is one delivered late:
  the sender keeps every task until it is acknowledged
  (`service/history/replication/stream_sender.go`, ack levels), so loss is the absence
  of a delivery, which the search covers.

Invariants (spec/README.md), every one the predicate in
`core.statemachine.replication.invariants`: ``INV-REPL-ONE-ACTIVE``,
``INV-REPL-VERSION-OWNER``, ``INV-REPL-CLOSES-ONCE``, ``INV-REPL-IDEMPOTENT`` in every
state; ``INV-REPL-CONVERGENCE`` and ``INV-REPL-NO-LOST-SIGNAL`` in every *drained*
state (healed, or never partitioned, and both queues empty).

INV-REPL-NO-LOST-SIGNAL excuses exactly the signals the active cluster's reapply API
dropped as its own (`endpoint.Received.dropped`, kept in the state as ``dropped``):
Temporal's gap GAP-REPL-OWN-CLUSTER-REAPPLY, reached with ``failovers=2`` (a forced
failover and a failback). `strict_no_lost_signal`, the property without the excuse, is
not an invariant of the model: it fails there, as it does in Temporal.

Mutants (``broken=``, `sim.multicluster_mutants`, shared with the simulator):
``lower-version``, ``no-reapply``, ``no-forward`` (needs ``failovers=2``),
``stale-active``, ``no-bump``, ``no-dedup``, ``reset-keeps-close``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple, TypeAlias, TypeVar

from core.enums import EventType
from core.statemachine.replication import applier, endpoint, invariants
from core.statemachine.replication import namespace as ns
from core.statemachine.replication.endpoint import Forward, WorkflowCopies
from core.statemachine.replication.replica import RunReplica
from core.statemachine.replication.versions import make_metadata
from sim.multicluster_mutants import MUTANTS, mutant_for

META = make_metadata(10, {"a": 1, "b": 2})
CLUSTERS = ("a", "b")
NAMESPACE = "global-ns"
VARIANTS = tuple(MUTANTS)

Value = TypeVar("Value")
Message: TypeAlias = applier.ReplicationTask | Forward | ns.NamespaceRecord


class State(NamedTuple):
    records: tuple[ns.NamespaceRecord, ...]
    copies: tuple[WorkflowCopies, ...]
    queues: tuple[tuple[Message, ...], ...]  # queues[i]: from cluster i to the other one
    phase: int  # 0 before the partition, 1 partitioned, 2 healed
    acked: tuple[str, ...]  # request ids of acknowledged signals
    dropped: tuple[str, ...]  # request ids the reapply API dropped as the receiver's own
    signals: int  # budgets left
    closes: int
    failovers: int
    dups: int
    graceful: int


class Action(NamedTuple):
    name: str
    cluster: int
    k: int = 0

    def __str__(self) -> str:
        where = CLUSTERS[self.cluster]
        return (
            f"{self.name}({where}, {self.k})" if "Deliver" in self.name else f"{self.name}({where})"
        )


class MultiCluster:
    """The bounded model (see the module docstring)."""

    def __init__(
        self,
        *,
        signals: int = 2,
        closes: int = 1,
        failovers: int = 1,
        dups: int = 1,
        graceful: int = 0,
        broken: str | None = None,
    ) -> None:
        if broken is not None and broken not in VARIANTS:
            raise ValueError(f"unknown variant {broken!r}")
        self.signals, self.closes, self.failovers, self.dups = signals, closes, failovers, dups
        self.graceful = graceful
        self.broken = broken
        self.mutant = mutant_for(broken)
        self.name = "multi-cluster" + (f" (broken={broken})" if broken else "")
        self.invariants: Mapping[str, Callable[[State], bool]] = {
            "INV-REPL-ONE-ACTIVE": one_active,
            "INV-REPL-VERSION-OWNER": version_owner,
            "INV-REPL-CLOSES-ONCE": closes_once,
            "INV-REPL-IDEMPOTENT": self.idempotent,
            "INV-REPL-CONVERGENCE": convergence,
            "INV-REPL-NO-LOST-SIGNAL": no_lost_signal,
        }

    def init_states(self) -> Iterable[State]:
        record = ns.register(META, NAMESPACE, "a")
        started = endpoint.write_local(
            META, record, "a", WorkflowCopies(), EventType.WORKFLOW_EXECUTION_STARTED, run_id="r1"
        )
        assert started is not None
        copies, task = started
        passive = endpoint.receive(META, record, "b", WorkflowCopies(), task).copies
        return [
            State(
                (record, record),
                (copies, passive),
                ((), ()),
                0,
                (),
                (),
                self.signals,
                self.closes,
                self.failovers,
                self.dups,
                self.graceful,
            )
        ]

    def actions(self, state: State) -> Iterable[Action]:
        return [action for action, _ in self.successors(state)]

    def next_state(self, state: State, action: Action) -> State | None:
        if action.cluster not in (0, 1):
            return None
        return self._apply(state, action)

    def successors(self, state: State) -> list[tuple[Action, State]]:
        out = []
        for action in self._candidates(state):
            target = self._apply(state, action)
            if target is not None:
                out.append((action, target))
        return out

    def describe(self, state: State) -> str:
        parts = []
        for c, name in enumerate(CLUSTERS):
            record = state.records[c]
            runs = " ".join(
                f"{r.run_id}:{r.state.value}[{','.join(str(e.version) for e in r.current_events)}]"
                for r in state.copies[c].runs
            )
            parts.append(f"{name}: active {record.active_cluster}@{record.failover_version} {runs}")
        queued = "/".join(str(len(q)) for q in state.queues)
        return f"{'; '.join(parts)}; queued {queued}; phase {state.phase}"

    def idempotent(self, state: State) -> bool:
        """INV-REPL-IDEMPOTENT: branches are numbered 1..n, and every queued task whose
        batch its receiver already holds would change nothing if delivered again
        (through this model's receive, so a mutant's is checked)."""
        if not all(invariants.well_numbered(run) for run in _runs(state)):
            return False
        for c, queue in enumerate(state.queues):
            r = 1 - c
            copies = state.copies[r]
            for message in queue:
                if not isinstance(message, applier.ReplicationTask):
                    continue
                if not invariants.holds(copies.run(message.run_id), message):
                    continue
                again = self.mutant.receive(META, state.records[r], CLUSTERS[r], copies, message)
                if again.copies != copies or again.send or again.forward is not None:
                    return False
        return True

    # --- transitions ------------------------------------------------------------------

    def _candidates(self, state: State) -> list[Action]:
        names = (
            "Signal",
            "Complete",
            "ForcedFailover",
            "StartHandover",
            "CompleteHandover",
            "AbortHandover",
        )
        found = [Action(n, c) for c in (0, 1) for n in names]
        found += [Action("Partition", 0), Action("Heal", 0)]
        for c in (0, 1):
            for k in range(len(state.queues[c])):
                found.append(Action("Deliver", c, k))
                found.append(Action("DeliverKeep", c, k))
        return found

    def _apply(self, state: State, action: Action) -> State | None:
        name, c = action.name, action.cluster
        if name == "Partition":
            return state._replace(phase=1) if state.phase == 0 else None
        if name == "Heal":
            return state._replace(phase=2) if state.phase == 1 else None
        if name == "Signal":
            return self._write(state, c, EventType.WORKFLOW_EXECUTION_SIGNALED)
        if name == "Complete":
            return self._write(state, c, EventType.WORKFLOW_EXECUTION_COMPLETED)
        if name == "ForcedFailover":
            return self._failover(state, c)
        if name.endswith("Handover"):
            return self._handover(state, c, name)
        if state.phase == 1 or action.k >= len(state.queues[c]):
            return None
        if name == "DeliverKeep":
            if state.dups == 0:
                return None
            delivered = self._deliver(state, c, action.k, keep=True)
            return None if delivered is None else delivered._replace(dups=state.dups - 1)
        return self._deliver(state, c, action.k, keep=False)

    def _write(self, state: State, c: int, event_type: EventType) -> State | None:
        signal = event_type is EventType.WORKFLOW_EXECUTION_SIGNALED
        if (state.signals if signal else state.closes) == 0:
            return None
        request_id = f"s{self.signals - state.signals + 1}" if signal else ""
        written = self.mutant.write_local(
            META, state.records[c], CLUSTERS[c], state.copies[c], event_type, request_id
        )
        if written is None:
            return None
        copies, task = written
        state = _put(state, c, copies=copies, send=(task,))
        if signal:
            return state._replace(acked=(*state.acked, request_id), signals=state.signals - 1)
        return state._replace(closes=state.closes - 1)

    def _failover(self, state: State, c: int) -> State | None:
        record = state.records[c]
        if state.failovers == 0 or record.active_cluster == CLUSTERS[c]:
            return None
        moved = self.mutant.failover(META, record, CLUSTERS[c])
        records = _set(state.records, c, moved)
        state = state._replace(records=records, failovers=state.failovers - 1)
        return _put(state, c, send=(moved,))

    def _handover(self, state: State, c: int, name: str) -> State | None:
        record = state.records[c]
        if record.active_cluster != CLUSTERS[c]:
            return None
        handing_over = record.state is ns.ReplicationState.HANDOVER
        if name == "StartHandover":
            if state.graceful == 0 or handing_over:
                return None
            records = _set(state.records, c, ns.start_handover(record))
            return state._replace(records=records, graceful=state.graceful - 1)
        if not handing_over:
            return None
        if name == "AbortHandover":
            return state._replace(records=_set(state.records, c, ns.abort_handover(record)))
        if any(isinstance(m, applier.ReplicationTask) for m in state.queues[c]):
            return None  # the standby has not drained yet
        moved = self.mutant.failover(META, record, CLUSTERS[1 - c])
        return _put(state._replace(records=_set(state.records, c, moved)), c, send=(moved,))

    def _deliver(self, state: State, c: int, k: int, *, keep: bool) -> State | None:
        message = state.queues[c][k]
        r = 1 - c
        queues = state.queues if keep else _set(state.queues, c, _drop(state.queues[c], k))
        state = state._replace(queues=queues)
        record, copies, name = state.records[r], state.copies[r], CLUSTERS[r]
        if isinstance(message, ns.NamespaceRecord):
            return state._replace(
                records=_set(state.records, r, ns.apply_replicated(record, message))
            )
        if isinstance(message, Forward):
            got = self.mutant.receive_forward(META, record, name, copies, message)
            if got is None:
                return None  # not active there yet: the forward stays queued
            if got.dropped:
                dropped = {*state.dropped, *(e.request_id for e in got.dropped)}
                state = state._replace(dropped=tuple(sorted(dropped)))
            return _put(state, r, copies=got.copies, send=got.send)
        got = self.mutant.receive(META, record, name, copies, message)
        if got.retry:
            return None  # nothing kept: the task stays queued
        if got.resync is not None:
            return self._resend(state, c, k, message, got.resync, keep=keep)
        extra: tuple[Message, ...] = () if got.forward is None else (got.forward,)
        return _put(state, r, copies=got.copies, send=(*got.send, *extra))

    def _resend(
        self,
        state: State,
        c: int,
        k: int,
        task: applier.ReplicationTask,
        request: applier.ResyncRequest,
        *,
        keep: bool,
    ) -> State | None:
        """A task that left a gap: the receiver fetches the missing events from the
        source and applies them (`history resender`, synchronous within the task's
        execution); the task stays queued, to be delivered again."""
        answer = endpoint.resync_answer(state.copies[c], CLUSTERS[c], request)
        if answer is None or keep:
            return None
        r = 1 - c
        queued = (*state.queues[c][:k], task, *state.queues[c][k:])
        state = state._replace(queues=_set(state.queues, c, queued))
        got = self.mutant.receive(META, state.records[r], CLUSTERS[r], state.copies[r], answer)
        if got.resync is not None:
            return None
        extra: tuple[Message, ...] = () if got.forward is None else (got.forward,)
        return _put(state, r, copies=got.copies, send=(*got.send, *extra))


def _set(values: tuple[Value, ...], index: int, value: Value) -> tuple[Value, ...]:
    return (*values[:index], value, *values[index + 1 :])


def _drop(queue: tuple[Message, ...], k: int) -> tuple[Message, ...]:
    return (*queue[:k], *queue[k + 1 :])


def _put(
    state: State, c: int, *, copies: WorkflowCopies | None = None, send: tuple[Message, ...] = ()
) -> State:
    """`state` with cluster `c`'s copies replaced and `send` appended to its queue."""
    if copies is not None:
        state = state._replace(copies=_set(state.copies, c, copies))
    if send:
        state = state._replace(queues=_set(state.queues, c, (*state.queues[c], *send)))
    return state


# --- properties ----------------------------------------------------------------------


def _runs(state: State) -> Iterable[RunReplica]:
    return (run for copies in state.copies for run in copies.runs)


def drained(state: State) -> bool:
    """Faults healed (or never happened) and nothing left to deliver."""
    return state.phase != 1 and not any(state.queues)


def one_active(state: State) -> bool:
    return invariants.one_active(state.records)


def version_owner(state: State) -> bool:
    return invariants.versions_owned(META, _runs(state))


def closes_once(state: State) -> bool:
    return all(invariants.closes_once(run) for run in _runs(state))


def _by_id(copies: WorkflowCopies) -> dict[str, RunReplica]:
    return {run.run_id: run for run in copies.runs}


def convergence(state: State) -> bool:
    return not drained(state) or invariants.converged(
        [_by_id(c) for c in state.copies], [c.current_id for c in state.copies]
    )


def no_lost_signal(state: State) -> bool:
    return not drained(state) or all(
        invariants.signals_kept(state.acked, _by_id(c), state.dropped) for c in state.copies
    )


def strict_no_lost_signal(state: State) -> bool:
    """INV-REPL-NO-LOST-SIGNAL without its excuse: what Temporal does *not* guarantee
    (GAP-REPL-OWN-CLUSTER-REAPPLY); tests check that the model breaks it."""
    return not drained(state) or all(
        invariants.signals_kept(state.acked, _by_id(c)) for c in state.copies
    )
