"""The replication invariants as pure predicates (IDs in spec/README.md).

The checker model (`proofs/models/multi_cluster.py`) and the simulator call these same
functions on their states. Each takes plain values: namespace records, run replicas
(one mapping ``run id -> replica`` per cluster), acknowledged request ids.

- ``INV-REPL-ONE-ACTIVE``: no failover version has two clusters whose records make them
  active under it.
- ``INV-REPL-VERSION-OWNER``: every event, on every branch of every copy, carries a
  version owned by the cluster that wrote it.
- ``INV-REPL-CONVERGENCE``: once faults heal and replication drains (the caller decides
  when that is), every cluster has the same runs with the same current branch, and the
  same current run.
- ``INV-REPL-NO-LOST-SIGNAL``: once drained, every acknowledged signal is on the current
  branch of some run of its workflow, in every cluster, unless the reapply API dropped
  it as the active cluster's own event (GAP-REPL-OWN-CLUSTER-REAPPLY: Temporal's own
  behaviour after a failback, see docs/replication.md).
- ``INV-REPL-CLOSES-ONCE``: a current branch holds at most one close event, and it is last.
- ``INV-REPL-IDEMPOTENT``: every branch numbers its events 1..n, and a task delivered
  again once its receiver holds its batch changes nothing.

Signals are reapplied *at least* once, not exactly once: a signal reapplied by one
cluster can be reapplied again, as a different event, by another after a second
failover (Temporal's dedup key is the source run, event id and version:
`service/history/ndc/workflow_resetter.go`), so no predicate here asks for a request id
to be on a branch only once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from core.fastinit import fast_init_all
from core.statemachine.replication.applier import Outcome, ReplicationTask, apply_task
from core.statemachine.replication.namespace import NamespaceRecord
from core.statemachine.replication.replica import RunReplica, RunState
from core.statemachine.replication.version_history import contains, item
from core.statemachine.replication.versions import ClusterMetadata, owns

Copies = Mapping[str, RunReplica]
"""One cluster's copies of a workflow's runs, by run id."""


def one_active(records: Iterable[NamespaceRecord]) -> bool:
    """INV-REPL-ONE-ACTIVE over every cluster's record of one namespace."""
    active: dict[int, str] = {}
    for record in records:
        other = active.setdefault(record.failover_version, record.active_cluster)
        if other != record.active_cluster:
            return False
    return True


def versions_owned(meta: ClusterMetadata, replicas: Iterable[RunReplica]) -> bool:
    """INV-REPL-VERSION-OWNER over some copies of runs."""
    return all(
        owns(meta, event.origin, event.version)
        for replica in replicas
        for branch in replica.branches
        for event in branch
    )


def current_branches(copies: Copies) -> dict[str, tuple[tuple[int, int, str], ...]]:
    """Each present run's current branch as ``(event id, version, event type name)``."""
    return {
        run_id: tuple((e.event_id, e.version, e.event_type.name) for e in replica.current_events)
        for run_id, replica in sorted(copies.items())
        if replica.state is not RunState.ABSENT
    }


def converged(clusters: Sequence[Copies], currents: Sequence[str | None] = ()) -> bool:
    """INV-REPL-CONVERGENCE: the same runs with the same current branches everywhere,
    and, where `currents` gives each cluster's current run of the workflow, the same
    current run (the one that new writes go to)."""
    views = [current_branches(copies) for copies in clusters]
    return all(view == views[0] for view in views[1:]) and len(set(currents)) <= 1


def signals_kept(acknowledged: Iterable[str], copies: Copies, dropped: Iterable[str] = ()) -> bool:
    """INV-REPL-NO-LOST-SIGNAL in one cluster: each acknowledged request id is on the
    current branch of some run, or is one of `dropped`: the request ids the active
    cluster's reapply API dropped as its own (`endpoint.Received.dropped`; the known
    gap GAP-REPL-OWN-CLUSTER-REAPPLY). With `dropped` empty this is the strict
    property, which Temporal does not guarantee."""
    present = {e.request_id for r in copies.values() for e in r.current_events}
    excused = set(dropped)
    return all(rid in present or rid in excused for rid in acknowledged)


def closes_once(replica: RunReplica) -> bool:
    """INV-REPL-CLOSES-ONCE for one copy."""
    events = replica.current_events
    closes = [i for i, e in enumerate(events) if e.closes]
    return not closes or closes == [len(events) - 1]


def well_numbered(replica: RunReplica) -> bool:
    """INV-REPL-IDEMPOTENT, the structural half: every branch holds events 1..n, each once."""
    return all(
        [e.event_id for e in branch] == list(range(1, len(branch) + 1))
        for branch in replica.branches
    )


def holds(replica: RunReplica, task: ReplicationTask) -> bool:
    """Whether `replica` already holds `task`'s batch (its last event, on some branch)."""
    end = item(task.events[-1].event_id, task.version)
    return any(contains(items, end) for items in replica.histories.histories)


def reapplying_changes_nothing(replica: RunReplica, task: ReplicationTask) -> bool:
    """INV-REPL-IDEMPOTENT, the behavioural half: `task` having been applied to give
    `replica`, applying it again is a duplicate that changes nothing."""
    again = apply_task(replica, task)
    return again.outcome is Outcome.DUPLICATE and again.replica == replica


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
