"""Seeded bugs for the multi-cluster model, made by wrapping the real replication core.

Nothing here changes `core`: each mutant calls the real function and bends its answer
(or its input) the way a buggy implementation would. `proofs/models/multi_cluster.py`
switches one on only from its ``broken=`` parameter; a checker run on it must end in a
counterexample naming the invariant the bug breaks.

- ``lower-version``: a batch that loses the conflict becomes current anyway (the last
  batch to arrive wins), and nothing is reapplied. Breaks ``INV-REPL-CONVERGENCE``;
  Temporal keeps the branch with the higher version current
  (`service/history/ndc/conflict_resolver.go`).
- ``no-reapply``: the losing branch's signals are dropped. Breaks
  ``INV-REPL-NO-LOST-SIGNAL``; Temporal reapplies them
  (`ndc/transaction_manager.go`, `backfillWorkflowEventsReapply`).
- ``stale-active``: a cluster trusts its namespace record's active flag and writes under
  the run's newest version even when that version is another cluster's. Breaks
  ``INV-REPL-VERSION-OWNER``; Temporal refuses the transaction
  (`workflow/mutable_state_impl.go`, `closeTransactionWithPolicyCheck`).
- ``no-bump``: a failover moves the active cluster but keeps the failover version.
  Breaks ``INV-REPL-ONE-ACTIVE``; Temporal raises it to the new active cluster's next
  version (`service/frontend/namespace_handler.go`, `GetNextFailoverVersion`).
- ``no-dedup``: the reapplier forgets which events it already reapplied, so a forward
  delivered twice is reapplied twice. Breaks ``INV-REPL-IDEMPOTENT``; Temporal checks
  `IsResourceDuplicated` (`ndc/workflow_resetter.go`, `reapplyEvents`).
- ``reset-keeps-close``: the reset that reapplies events to a closed run starts the new
  run from the base's last event, its close included, so the new run has a close event
  followed by more events. Breaks ``INV-REPL-CLOSES-ONCE``; Temporal resets to the last
  completed workflow task, before the close (`service/history/ndc/transaction_manager.go`,
  `backfillWorkflowEventsReapply`: `GetLastCompletedWorkflowTaskStartedEventId`).
"""

from __future__ import annotations

from core.enums import EventType
from core.statemachine.replication import endpoint
from core.statemachine.replication import namespace as ns
from core.statemachine.replication import version_history as vh
from core.statemachine.replication.applier import Outcome, ReplicationTask, task_for
from core.statemachine.replication.endpoint import Forward, Received, WorkflowCopies
from core.statemachine.replication.replica import (
    Event,
    RunReplica,
    RunState,
    items_for,
    last_write_version,
    with_state,
)
from core.statemachine.replication.versions import ClusterMetadata

VARIANTS = (
    "lower-version",
    "no-reapply",
    "stale-active",
    "no-bump",
    "no-dedup",
    "reset-keeps-close",
)


def write_local(
    broken: str | None,
    meta: ClusterMetadata,
    record: ns.NamespaceRecord,
    cluster: str,
    copies: WorkflowCopies,
    event_type: EventType,
    request_id: str,
) -> tuple[WorkflowCopies, ReplicationTask] | None:
    """`endpoint.write_local`, or under ``stale-active`` one that skips the ownership check."""
    if broken != "stale-active":
        return endpoint.write_local(meta, record, cluster, copies, event_type, request_id)
    run = copies.current
    if run is None or record.active_cluster != cluster:
        return None
    version = max(record.failover_version, last_write_version(run))
    return endpoint.append_event(copies, run, version, cluster, event_type, request_id)


def failover(
    broken: str | None, meta: ClusterMetadata, record: ns.NamespaceRecord, target: str
) -> ns.NamespaceRecord:
    """`namespace.failover`, or under ``no-bump`` one that keeps the version."""
    moved = ns.failover(meta, record, target)
    if broken == "no-bump":
        return ns.NamespaceRecord(moved.name, moved.active_cluster, record.failover_version)
    return moved


def receive(
    broken: str | None,
    meta: ClusterMetadata,
    record: ns.NamespaceRecord,
    cluster: str,
    copies: WorkflowCopies,
    task: ReplicationTask,
) -> Received:
    """`endpoint.receive`, bent by ``lower-version``, ``no-reapply``, ``no-dedup`` or
    ``reset-keeps-close``."""
    if broken == "no-dedup":
        copies = _forgetful(copies)
    got = endpoint.receive(meta, record, cluster, copies, task)
    applied = got.applied
    if applied is None:
        return got
    if applied.outcome is Outcome.BACKFILLED and broken in ("lower-version", "no-reapply"):
        run = applied.replica if broken == "no-reapply" else _switch_to(applied.replica, task)
        return Received(copies.put(run), applied)
    if broken == "reset-keeps-close" and len(got.copies.runs) > len(copies.runs):
        return _keep_close(got, copies, cluster)
    return got


def receive_forward(
    broken: str | None,
    meta: ClusterMetadata,
    record: ns.NamespaceRecord,
    cluster: str,
    copies: WorkflowCopies,
    forward: Forward,
) -> Received | None:
    """`endpoint.receive_forward`, or under ``no-dedup`` one that forgot what it reapplied."""
    if broken == "no-dedup":
        copies = _forgetful(copies)
    return endpoint.receive_forward(meta, record, cluster, copies, forward)


def _keep_close(got: Received, before: WorkflowCopies, cluster: str) -> Received:
    """The reset run `got` made, rebuilt from the base's events *with* its close."""
    new, base = got.copies.runs[-1], before.runs[-1]
    kept = tuple(e for e in base.current_events if not e.closes)
    added = tuple(
        Event(len(base.current_events) + i + 1, e.version, e.event_type, e.origin, e.request_id)
        for i, e in enumerate(new.current_events[len(kept) :])
    )
    events = (*base.current_events, *added)
    items = items_for((), events)
    run = RunReplica(
        new.run_id, RunState.RUNNING, vh.VersionHistories((items,)), (events,), new.reapplied
    )
    sent = task_for(run, cluster, 1, len(events))
    return Received(got.copies.put(run), got.applied, (sent,))


def _forgetful(copies: WorkflowCopies) -> WorkflowCopies:
    return WorkflowCopies(
        tuple(RunReplica(r.run_id, r.state, r.histories, r.branches) for r in copies.runs)
    )


def _switch_to(run: RunReplica, task: ReplicationTask) -> RunReplica:
    """`run` with the branch that took `task` made current, whatever its version."""
    end = vh.item(task.events[-1].event_id, task.version)
    index = next(i for i, items in enumerate(run.histories.histories) if vh.contains(items, end))
    switched = RunReplica(
        run.run_id, run.state, vh.set_current(run.histories, index), run.branches, run.reapplied
    )
    closed = switched.current_events[-1].closes
    return with_state(switched, RunState.CLOSED if closed else RunState.RUNNING)
