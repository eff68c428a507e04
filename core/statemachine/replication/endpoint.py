"""One cluster's side of replication for one workflow: local writes, received tasks,
forwarded reapplications.

```
  write_local ──▶ append to the current run ──▶ task to send
  receive(task) ──▶ apply_task ──▶ Created / Applied / Switched / Duplicate: done
                               ├─▶ Resync: a request for the source
                               └─▶ Backfilled ──▶ reapply.decide on the workflow's current run
                                                   Append ──▶ reapplied events ──▶ task to send
                                                   Reset  ──▶ a new run       ──▶ task to send
                                                   Forward ──▶ to the active cluster
  receive_forward ──▶ as Backfilled above, for the events other clusters wrote, if this
                      cluster is active (else: retry later); its own are dropped
  active but unable to write now (Handover; a newer version owned elsewhere): retry later
```

This is `service/history/ndc/history_replicator.go` and `transaction_manager.go`
(`backfillWorkflowEventsReapply`) at the scale of one workflow: the runs of a workflow
id at one cluster, oldest first, the last being the workflow's current run. It keeps no
queues and does no I/O: every message it would send is returned, for the caller (the
simulator, the checker model) to deliver, drop, duplicate or reorder.

A run reset to reapply events is named ``<base run id>/reset<n>@<cluster>``
(`reset_run_id`), unique and the same in every replay. Which
run is current is decided as Temporal decides it (`happens_after`), not by arrival: a
run created elsewhere that arrives after a newer one is kept as a zombie.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.enums import EventType
from core.fastinit import fast_init_all
from core.statemachine.replication import reapply
from core.statemachine.replication.applier import (
    Applied,
    Outcome,
    ReplicationTask,
    ResyncRequest,
    answer_resync,
    apply_task,
    task_for,
)
from core.statemachine.replication.namespace import NamespaceRecord, write_version
from core.statemachine.replication.reapply import ReapplyAction
from core.statemachine.replication.replica import (
    Event,
    Events,
    RunReplica,
    RunState,
    absent,
    append_local,
    last_write_version,
)
from core.statemachine.replication.versions import ClusterMetadata, owns


@dataclass(frozen=True, slots=True)
class WorkflowCopies:
    """One cluster's copies of a workflow's runs; the last is the workflow's current
    run (the one new writes, reapplications and resets go to), the others are kept in
    the order they stopped being current or arrived as zombies."""

    runs: tuple[RunReplica, ...] = ()

    @property
    def current(self) -> RunReplica | None:
        return self.runs[-1] if self.runs else None

    @property
    def current_id(self) -> str | None:
        return self.runs[-1].run_id if self.runs else None

    def run(self, run_id: str) -> RunReplica:
        for run in self.runs:
            if run.run_id == run_id:
                return run
        return absent(run_id)

    def put(self, run: RunReplica) -> WorkflowCopies:
        """`run` stored, and made the current run if it happens after the current one
        (`happens_after`). A new run that does not is kept as a zombie, behind the
        current run (`transaction_manager_new_workflow.go`, CreateAsZombie); a known
        run that now does becomes current (`transaction_manager_existing_workflow.go`,
        UpdateAsCurrent / SuppressCurrentAndUpdateAsCurrent)."""
        runs = self.runs
        others = tuple(old for old in runs if old.run_id != run.run_id)
        if len(others) == len(runs):  # a new run
            if not others or happens_after(run, others[-1]):
                return WorkflowCopies((*others, run))
            return WorkflowCopies((*others[:-1], run, others[-1]))
        if runs[-1].run_id == run.run_id or happens_after(run, runs[-1]):
            return WorkflowCopies((*others, run))
        return WorkflowCopies(tuple(run if old.run_id == run.run_id else old for old in runs))


RESET_SUFFIX = "/reset"


def reset_run_id(copies: WorkflowCopies, base_run_id: str, cluster: str) -> str:
    """The id of the run `cluster` creates to reapply events to a closed run:
    ``<first run id>/reset<n>@<cluster>``, `n` one more than the highest `n` of the runs
    the cluster holds. Temporal's run ids are random UUIDs; these are unique too (a
    cluster never uses an `n` twice, and two clusters never share a name) and the same
    in every replay, and `n` orders a cluster's resets after every run it held."""
    index = 1 + max((creation_index(run.run_id) for run in copies.runs), default=0)
    return f"{base_run_id.split('/')[0]}{RESET_SUFFIX}{index}@{cluster}"


def creation_index(run_id: str) -> int:
    """0 for the workflow's first run, `n` for `reset_run_id`'s runs."""
    _, _, rest = run_id.partition(RESET_SUFFIX)
    return int(rest.partition("@")[0]) if rest else 0


def happens_after(this: RunReplica, that: RunReplica) -> bool:
    """`ndc/workflow.go` `workflowHappensAfter`: the run whose last write version is
    higher is the newer; on a tie Temporal compares the two runs' last event task ids.
    The model has no task ids. Runs whose last events share a version were both last
    written by the one cluster that owns it, which writes only to its current run and
    creates each reset run (then current) with a higher `creation_index` than every run
    it holds, so the higher index was written last. The run ids break any tie left, so
    that every cluster picks the same current run."""
    mine, theirs = last_write_version(this), last_write_version(that)
    if mine != theirs:
        return mine > theirs
    order = (creation_index(this.run_id), this.run_id)
    return order > (creation_index(that.run_id), that.run_id)


@dataclass(frozen=True, slots=True)
class Forward:
    """Losing-branch events of run `source_run_id` for the active cluster to reapply
    (`workflow.Context.ReapplyEvents`, answered by the history API ReapplyEvents). The
    caller delivers it to the cluster the forwarding cluster's record names active."""

    source_run_id: str
    events: Events


@dataclass(frozen=True, slots=True)
class Received:
    """What a received message did: the new copies, the applier's answer (None for a
    forward), the tasks this cluster must now send, a forward, a resync request, and
    whether the message must be delivered again later with nothing kept now (`retry`).

    `dropped` are the forwarded events (those with a request id) that the reapply API
    left out as this cluster's own. This cluster may hold them on its current branch
    now and still lose them when a higher version's branch replaces it: a signal lost
    that way is Temporal's known gap GAP-REPL-OWN-CLUSTER-REAPPLY (spec/README.md),
    the one loss INV-REPL-NO-LOST-SIGNAL excuses."""

    copies: WorkflowCopies
    applied: Applied | None = None
    send: tuple[ReplicationTask, ...] = ()
    forward: Forward | None = None
    resync: ResyncRequest | None = None
    retry: bool = False
    dropped: Events = ()


def version_for(
    meta: ClusterMetadata, record: NamespaceRecord, cluster: str, run: RunReplica | None
) -> int | None:
    """`namespace.write_version` for a write to `run` (None: a new run)."""
    return write_version(meta, record, cluster, last_write_version(run))


def write_local(
    meta: ClusterMetadata,
    record: NamespaceRecord,
    cluster: str,
    copies: WorkflowCopies,
    event_type: EventType,
    request_id: str = "",
    run_id: str | None = None,
) -> tuple[WorkflowCopies, ReplicationTask] | None:
    """`cluster` writes one event to the workflow's current run (or starts run `run_id`
    with it): the new copies and the task to send, or None if the cluster may not write
    (not active, Handover, a newer version owned elsewhere, or the run is closed)."""
    run = copies.current if run_id is None else copies.run(run_id)
    if run is None:
        return None
    version = version_for(meta, record, cluster, run)
    if version is None:
        return None
    return append_event(copies, run, version, cluster, event_type, request_id)


def append_event(
    copies: WorkflowCopies,
    run: RunReplica,
    version: int,
    cluster: str,
    event_type: EventType,
    request_id: str = "",
) -> tuple[WorkflowCopies, ReplicationTask] | None:
    """Append one event to `run` under `version`, *without* asking whether `cluster` may
    write (`write_local` asks); None if the run is closed, or absent and the event does
    not start it."""
    if run.state is RunState.CLOSED:
        return None
    if run.state is RunState.ABSENT and event_type is not EventType.WORKFLOW_EXECUTION_STARTED:
        return None
    event = Event(run.next_event_id, version, event_type, cluster, request_id)
    written = append_local(run, (event,))
    return copies.put(written), task_for(written, cluster, event.event_id, event.event_id)


def receive(
    meta: ClusterMetadata,
    record: NamespaceRecord,
    cluster: str,
    copies: WorkflowCopies,
    task: ReplicationTask,
) -> Received:
    """Apply a replication task at `cluster`, then reapply what lost (see above). If the
    losing events must be reapplied here but this cluster cannot write now (Handover, or
    the run holds a newer version of another cluster), nothing is kept and the answer
    says `retry`: Temporal's transaction fails and the task is executed again later."""
    applied = apply_task(copies.run(task.run_id), task)
    if applied.outcome is Outcome.RESYNC:
        return Received(copies, applied, resync=applied.resync)
    backfilled = copies.put(applied.replica)
    if applied.outcome is not Outcome.BACKFILLED:
        return Received(backfilled, applied)
    done = _reapply(meta, record, cluster, backfilled, Forward(task.run_id, applied.losing))
    if done.retry:
        return Received(copies, applied, retry=True)
    return Received(done.copies, applied, done.send, done.forward)


def receive_forward(
    meta: ClusterMetadata,
    record: NamespaceRecord,
    cluster: str,
    copies: WorkflowCopies,
    forward: Forward,
) -> Received | None:
    """The active cluster reapplies forwarded events; None if `cluster` is not active,
    or cannot write now, so the sender retries later."""
    if copies.current is None or record.active_cluster != cluster:
        return None
    # events this cluster wrote itself are not reapplied: "the reapply is from the same
    # cluster" (`service/history/api/reapplyevents/api.go`, `Invoke`: it compares
    # `ClusterNameForFailoverVersion(event version)` with the current cluster). Nothing
    # checks that the cluster still holds them on a current branch: after a failback it
    # may not, or may lose them later (see `Received.dropped`).
    foreign = tuple(e for e in forward.events if not owns(meta, cluster, e.version))
    done = _reapply(meta, record, cluster, copies, Forward(forward.source_run_id, foreign))
    if done.retry:
        return None
    own = tuple(e for e in forward.events if e.request_id and owns(meta, cluster, e.version))
    return Received(done.copies, done.applied, done.send, done.forward, dropped=own)


def _reapply(
    meta: ClusterMetadata,
    record: NamespaceRecord,
    cluster: str,
    copies: WorkflowCopies,
    losing: Forward,
) -> Received:
    """`backfillWorkflowEventsReapply`: the active cluster (by its record's active
    cluster name) reapplies to the workflow's current run; a passive one forwards."""
    target = copies.current
    assert target is not None  # a backfilled task was just applied to a run of `copies`
    active = record.active_cluster == cluster
    decision = reapply.decide(target, losing.events, losing.source_run_id, active)
    if decision.action is ReapplyAction.NOTHING:
        return Received(copies)
    if decision.action is ReapplyAction.FORWARD:
        return Received(copies, forward=Forward(losing.source_run_id, decision.events))
    version = version_for(meta, record, cluster, target)
    if version is None:
        return Received(copies, retry=True)
    if decision.action is ReapplyAction.APPEND:
        run, written = reapply.reapply(
            target, decision.events, losing.source_run_id, version, cluster
        )
        first, last = written[0].event_id, written[-1].event_id
        return Received(copies.put(run), send=(task_for(run, cluster, first, last),))
    new_id = reset_run_id(copies, target.run_id, cluster)
    base, new = reapply.reset_run(
        target, new_id, decision.events, losing.source_run_id, version, cluster
    )
    sent = task_for(new, cluster, 1, len(new.current_events))
    return Received(copies.put(base).put(new), send=(sent,))


def resync_answer(
    copies: WorkflowCopies, cluster: str, request: ResyncRequest
) -> ReplicationTask | None:
    """The source's answer to a resync request (`applier.answer_resync`); None if it
    has nothing to send."""
    run = copies.run(request.run_id)
    if run.state is RunState.ABSENT:
        return None
    return answer_resync(run, cluster, request)


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
