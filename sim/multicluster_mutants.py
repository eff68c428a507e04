"""Broken variants of replication for multi-cluster runs (tests only): each must be
caught by the simulator's invariants. Built by bending the answers of the real core
(`core.statemachine.replication.endpoint`, `namespace`); nothing in core knows of them.

- ``repl-lower-version``: a batch that loses the conflict becomes current anyway and
  nothing is reapplied (INV-REPL-CONVERGENCE; Temporal keeps the branch with the higher
  last version, `service/history/ndc/conflict_resolver.go`).
- ``repl-no-reapply``: the losing branch's signals are dropped (INV-REPL-NO-LOST-SIGNAL;
  `ndc/transaction_manager.go`, `backfillWorkflowEventsReapply`).
- ``repl-stale-active``: a cluster whose record names it active writes under the run's
  newest version even when another cluster owns it (INV-REPL-VERSION-OWNER;
  `workflow/mutable_state_impl.go`, `closeTransactionWithPolicyCheck`).
- ``repl-no-bump``: a failover moves the active cluster but keeps the version
  (INV-REPL-ONE-ACTIVE; `common/cluster/metadata.go`, `GetNextFailoverVersion`).
"""

from __future__ import annotations

from core.enums import EventType
from core.statemachine.replication import endpoint
from core.statemachine.replication import namespace as ns
from core.statemachine.replication import version_history as vh
from core.statemachine.replication.applier import Outcome, ReplicationTask
from core.statemachine.replication.endpoint import Forward, Received, WorkflowCopies
from core.statemachine.replication.replica import (
    RunReplica,
    RunState,
    last_write_version,
    with_state,
)
from core.statemachine.replication.versions import ClusterMetadata

REPL_MUTANTS: dict[str, str] = {
    "repl-lower-version": "INV-REPL-CONVERGENCE",
    "repl-no-reapply": "INV-REPL-NO-LOST-SIGNAL",
    "repl-stale-active": "INV-REPL-VERSION-OWNER",
    "repl-no-bump": "INV-REPL-ONE-ACTIVE",
}


class Mutant:
    """The correct behaviour: the core's functions as they are."""

    def write_local(
        self,
        meta: ClusterMetadata,
        record: ns.NamespaceRecord,
        cluster: str,
        copies: WorkflowCopies,
        event_type: EventType,
        request_id: str,
        run_id: str | None,
    ) -> tuple[WorkflowCopies, ReplicationTask] | None:
        return endpoint.write_local(meta, record, cluster, copies, event_type, request_id, run_id)

    def receive(
        self,
        meta: ClusterMetadata,
        record: ns.NamespaceRecord,
        cluster: str,
        copies: WorkflowCopies,
        task: ReplicationTask,
    ) -> Received:
        return endpoint.receive(meta, record, cluster, copies, task)

    def receive_forward(
        self,
        meta: ClusterMetadata,
        record: ns.NamespaceRecord,
        cluster: str,
        copies: WorkflowCopies,
        forward: Forward,
    ) -> Received | None:
        return endpoint.receive_forward(meta, record, cluster, copies, forward)

    def failover(
        self, meta: ClusterMetadata, record: ns.NamespaceRecord, target: str
    ) -> ns.NamespaceRecord:
        return ns.failover(meta, record, target)


class _NoReapply(Mutant):
    """A losing branch's events are backfilled and never reapplied to the current one."""

    def _kept(self, replica: RunReplica, task: ReplicationTask) -> RunReplica:
        return replica

    def receive(
        self,
        meta: ClusterMetadata,
        record: ns.NamespaceRecord,
        cluster: str,
        copies: WorkflowCopies,
        task: ReplicationTask,
    ) -> Received:
        got = super().receive(meta, record, cluster, copies, task)
        applied = got.applied
        if applied is None or applied.outcome is not Outcome.BACKFILLED:
            return got
        return Received(copies.put(self._kept(applied.replica, task)), applied)


class _LowerVersion(_NoReapply):
    """As `_NoReapply`, and the backfilled (lower-version) branch is made current."""

    def _kept(self, replica: RunReplica, task: ReplicationTask) -> RunReplica:
        return _make_current(replica, task)


def _make_current(replica: RunReplica, task: ReplicationTask) -> RunReplica:
    end = vh.item(task.events[-1].event_id, task.version)
    index = next(i for i, h in enumerate(replica.histories.histories) if vh.contains(h, end))
    switched = RunReplica(
        replica.run_id,
        replica.state,
        vh.set_current(replica.histories, index),
        replica.branches,
        replica.reapplied,
    )
    closed = switched.current_events[-1].closes
    return with_state(switched, RunState.CLOSED if closed else RunState.RUNNING)


class _StaleActive(Mutant):
    def write_local(
        self,
        meta: ClusterMetadata,
        record: ns.NamespaceRecord,
        cluster: str,
        copies: WorkflowCopies,
        event_type: EventType,
        request_id: str,
        run_id: str | None,
    ) -> tuple[WorkflowCopies, ReplicationTask] | None:
        run = copies.current if run_id is None else copies.run(run_id)
        if run is None or record.active_cluster != cluster:
            return None
        version = max(record.failover_version, last_write_version(run))
        return endpoint.append_event(copies, run, version, cluster, event_type, request_id)


class _NoBump(Mutant):
    def failover(
        self, meta: ClusterMetadata, record: ns.NamespaceRecord, target: str
    ) -> ns.NamespaceRecord:
        moved = ns.failover(meta, record, target)
        return ns.NamespaceRecord(moved.name, moved.active_cluster, record.failover_version)


_VARIANTS: dict[str, type[Mutant]] = {
    "repl-lower-version": _LowerVersion,
    "repl-no-reapply": _NoReapply,
    "repl-stale-active": _StaleActive,
    "repl-no-bump": _NoBump,
}


def mutant_for(name: str | None) -> Mutant:
    """The behaviour a run uses; ValueError for a name no multi-cluster mutant has."""
    if name is None:
        return Mutant()
    if name not in _VARIANTS:
        raise ValueError(f"unknown multi-cluster mutant {name!r}")
    return _VARIANTS[name]()
