"""Broken variants of replication (tests only), one list for the simulator
(`sim/multicluster.py`, named ``repl-<name>``) and the checker model
(`proofs/models/multi_cluster.py`, ``broken=<name>``): each must be caught by both, and
by its TLA+ revert config. Built by bending the answers of the real core
(`core.statemachine.replication.endpoint`, `namespace`); nothing in core knows of them.

- ``lower-version``: a batch that loses the conflict becomes current anyway and nothing
  is reapplied (INV-REPL-CONVERGENCE; Temporal keeps the branch with the higher last
  version, `service/history/ndc/conflict_resolver.go`).
- ``no-reapply``: the losing branch's signals are dropped (INV-REPL-NO-LOST-SIGNAL;
  `ndc/transaction_manager.go`, `backfillWorkflowEventsReapply`).
- ``no-forward``: a passive cluster backfills a losing batch and does not forward its
  signals to the active cluster (INV-REPL-NO-LOST-SIGNAL; case 2 of
  `backfillWorkflowEventsReapply`, `workflow/context.go` `ReapplyEvents`). With two
  clusters every such forward is of the active cluster's own events, which it drops
  (GAP-REPL-OWN-CLUSTER-REAPPLY): this mutant loses the same signals without the drop,
  so it shows the invariant excuses that drop and no other loss.
- ``stale-active``: a cluster whose record names it active writes under the run's
  newest version even when another cluster owns it (INV-REPL-VERSION-OWNER;
  `workflow/mutable_state_impl.go`, `closeTransactionWithPolicyCheck`).
- ``no-bump``: a failover moves the active cluster but keeps the version
  (INV-REPL-ONE-ACTIVE; `common/cluster/metadata.go`, `GetNextFailoverVersion`).
- ``no-dedup``: the reapplier forgets which events it already reapplied, so a batch or
  forward delivered twice is reapplied twice (INV-REPL-IDEMPOTENT; Temporal checks
  `IsResourceDuplicated`, `ndc/workflow_resetter.go`, `reapplyEvents`).
- ``reset-keeps-close``: the reset that reapplies events to a closed run starts the new
  run from the base's last event, its close included (INV-REPL-CLOSES-ONCE; Temporal
  resets to the last completed workflow task, before the close:
  `GetLastCompletedWorkflowTaskStartedEventId` in `backfillWorkflowEventsReapply`).
- ``current-by-arrival``: the last run to arrive becomes the workflow's current run, and
  a run keeps its place when it changes, whatever `endpoint.happens_after` says
  (INV-REPL-CONVERGENCE: two clusters that receive two reset runs in different orders
  end on different current runs; Temporal creates an older run as a zombie,
  `ndc/transaction_manager_new_workflow.go`). The TLA+ spec does not replicate reset
  runs (it records their signals in ``resetRuns``), so this mutant has no revert config.
"""

from __future__ import annotations

import dataclasses

from core.enums import EventType
from core.statemachine.replication import endpoint
from core.statemachine.replication import namespace as ns
from core.statemachine.replication import version_history as vh
from core.statemachine.replication.applier import (
    Outcome,
    ReplicationTask,
    make_current,
    task_for,
)
from core.statemachine.replication.endpoint import Forward, Received, WorkflowCopies
from core.statemachine.replication.replica import (
    Event,
    RunReplica,
    RunState,
    items_for,
    last_write_version,
)
from core.statemachine.replication.versions import ClusterMetadata

MUTANTS: dict[str, str] = {
    "lower-version": "INV-REPL-CONVERGENCE",
    "no-reapply": "INV-REPL-NO-LOST-SIGNAL",
    "no-forward": "INV-REPL-NO-LOST-SIGNAL",
    "stale-active": "INV-REPL-VERSION-OWNER",
    "no-bump": "INV-REPL-ONE-ACTIVE",
    "no-dedup": "INV-REPL-IDEMPOTENT",
    "reset-keeps-close": "INV-REPL-CLOSES-ONCE",
    "current-by-arrival": "INV-REPL-CONVERGENCE",
}
"""Each mutant and the invariant that catches it."""

PREFIX = "repl-"
REPL_MUTANTS: dict[str, str] = {PREFIX + name: rule for name, rule in MUTANTS.items()}
"""The same, under the simulator's names (``--mutant`` shares one namespace)."""


class Mutant:
    """The correct behaviour: the core's functions as they are. A variant overrides
    `write_local` or `failover`, or bends a receipt through `_seen` (the copies the
    core is given) and `_bent` (what it answered)."""

    def write_local(
        self,
        meta: ClusterMetadata,
        record: ns.NamespaceRecord,
        cluster: str,
        copies: WorkflowCopies,
        event_type: EventType,
        request_id: str = "",
        run_id: str | None = None,
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
        got = endpoint.receive(meta, record, cluster, self._seen(copies), task)
        return self._bent(got, copies, cluster, task)

    def receive_forward(
        self,
        meta: ClusterMetadata,
        record: ns.NamespaceRecord,
        cluster: str,
        copies: WorkflowCopies,
        forward: Forward,
    ) -> Received | None:
        return endpoint.receive_forward(meta, record, cluster, self._seen(copies), forward)

    def failover(
        self, meta: ClusterMetadata, record: ns.NamespaceRecord, target: str
    ) -> ns.NamespaceRecord:
        return ns.failover(meta, record, target)

    def _seen(self, copies: WorkflowCopies) -> WorkflowCopies:
        return copies

    def _bent(
        self, got: Received, copies: WorkflowCopies, cluster: str, task: ReplicationTask
    ) -> Received:
        return got


class _NoReapply(Mutant):
    """A losing branch's events are backfilled and never reapplied to the current one."""

    def _bent(
        self, got: Received, copies: WorkflowCopies, cluster: str, task: ReplicationTask
    ) -> Received:
        applied = got.applied
        if applied is None or applied.outcome is not Outcome.BACKFILLED:
            return got
        return Received(copies.put(self._kept(applied.replica, task)), applied)

    def _kept(self, replica: RunReplica, task: ReplicationTask) -> RunReplica:
        return replica


class _LowerVersion(_NoReapply):
    """As `_NoReapply`, and the backfilled (lower-version) branch is made current."""

    def _kept(self, replica: RunReplica, task: ReplicationTask) -> RunReplica:
        end = vh.item(task.events[-1].event_id, task.version)
        index = next(i for i, h in enumerate(replica.histories.histories) if vh.contains(h, end))
        return make_current(replica, index)


class _NoForward(Mutant):
    """A passive cluster keeps the losing batch and forwards nothing."""

    def _bent(
        self, got: Received, copies: WorkflowCopies, cluster: str, task: ReplicationTask
    ) -> Received:
        return got if got.forward is None else Received(got.copies, got.applied, got.send)


class _StaleActive(Mutant):
    def write_local(
        self,
        meta: ClusterMetadata,
        record: ns.NamespaceRecord,
        cluster: str,
        copies: WorkflowCopies,
        event_type: EventType,
        request_id: str = "",
        run_id: str | None = None,
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


class _NoDedup(Mutant):
    """Every run forgets what was reapplied to it before each receipt."""

    def _seen(self, copies: WorkflowCopies) -> WorkflowCopies:
        return WorkflowCopies(
            tuple(RunReplica(r.run_id, r.state, r.histories, r.branches) for r in copies.runs)
        )


class _ResetKeepsClose(Mutant):
    def _bent(
        self, got: Received, copies: WorkflowCopies, cluster: str, task: ReplicationTask
    ) -> Received:
        applied = got.applied
        reset = len(got.copies.runs) > len(copies.runs)  # a new run: the losers' reset
        if applied is None or applied.outcome is not Outcome.BACKFILLED or not reset:
            return got
        return _keep_close(got, copies, cluster)


def _keep_close(got: Received, before: WorkflowCopies, cluster: str) -> Received:
    """The reset run `got` made, rebuilt from the base's events *with* its close."""
    new, base = got.copies.runs[-1], before.runs[-1]
    kept = tuple(e for e in base.current_events if not e.closes)
    added = tuple(
        Event(len(base.current_events) + i + 1, e.version, e.event_type, e.origin, e.request_id)
        for i, e in enumerate(new.current_events[len(kept) :])
    )
    events = (*base.current_events, *added)
    run = RunReplica(
        new.run_id,
        RunState.RUNNING,
        vh.VersionHistories((items_for((), events),)),
        (events,),
        new.reapplied,
    )
    sent = task_for(run, cluster, 1, len(events))
    return Received(got.copies.put(run), got.applied, (sent,))


class _CurrentByArrival(Mutant):
    def _bent(
        self, got: Received, copies: WorkflowCopies, cluster: str, task: ReplicationTask
    ) -> Received:
        known = {run.run_id for run in copies.runs}
        runs = tuple(got.copies.run(run.run_id) for run in copies.runs) + tuple(
            run for run in got.copies.runs if run.run_id not in known
        )
        return dataclasses.replace(got, copies=WorkflowCopies(runs))


_VARIANTS: dict[str, type[Mutant]] = {
    "lower-version": _LowerVersion,
    "no-reapply": _NoReapply,
    "no-forward": _NoForward,
    "stale-active": _StaleActive,
    "no-bump": _NoBump,
    "no-dedup": _NoDedup,
    "reset-keeps-close": _ResetKeepsClose,
    "current-by-arrival": _CurrentByArrival,
}


def mutant_for(name: str | None) -> Mutant:
    """The behaviour for mutant `name` (either naming; None: the correct one);
    ValueError for a name no replication mutant has."""
    if name is None:
        return Mutant()
    plain = name.removeprefix(PREFIX)
    if plain not in _VARIANTS:
        raise ValueError(f"unknown multi-cluster mutant {name!r}")
    return _VARIANTS[plain]()
