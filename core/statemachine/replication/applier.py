"""Applying a history replication task to a passive cluster's copy of a run.

```
  task ──▶ run absent? ── starts at event 1 ──▶ Create
              │ no               └── else ─────▶ Resync (from the start)
              ▼
   local branch with the deepest LCA ── LCA is its last item? ──▶ that branch
              │ no                                                   │
              ▼                                                      ▼
   fork a new branch at the LCA ─────────────────────────▶ order: first id vs next id
                                          < : Duplicate   > : Resync (gap)   = : append
                                                                             │
         incoming version < current's last: Backfill (a losing branch; reapply its inputs)
         incoming branch is the current one: Append / Close
         otherwise: the incoming branch becomes current: SwitchOpen / SwitchClosed
```

Rules (Temporal server, `service/history/ndc/`):

- **Task.** A history replication task carries a batch of events and the source's
  version history up to the batch's last event (`replication_task.go`;
  `service/history/replication/raw_task_converter.go`). A batch's events are
  consecutive and their versions never decrease; each event's version is the one the
  task's items give its id (checked: a mismatch is `BadInput`).
- **Missing run.** Events that do not start the run, for a run this cluster lacks, are
  resent from the start (`history_replicator.go`,
  `applyNonStartEventsMissingMutableState`: RetryReplication).
- **Branch choice.** `branch_manager.go` `prepareBranch`: the local branch whose LCA
  with the incoming history is deepest; if the LCA is that branch's last item the batch
  continues it, otherwise a new branch is forked at the LCA (`createNewBranch`).
- **Order.** Against the chosen branch (or the fork's items): a batch starting before the
  next event id is a duplicate and is dropped whole (`DoContinue` false, counted as
  `DuplicateReplicationEventsCounter`); one starting after it leaves a gap and asks the
  source to resend the events in between (`verifyEventsOrder` returns RetryReplication
  with the last local item and the batch's first event). A fork made for a duplicate
  or a gap is not kept.
- **Conflict.** `conflict_resolver.go` `GetOrRebuildCurrentMutableState`: a batch whose
  version is below the current branch's last version stays where it landed (Backfill:
  `BackfillWorkflow`, whose inputs are reapplied, see `reapply.py`); the same version on
  another branch is an error; otherwise the batch's branch becomes current and the run
  is rebuilt from it (the higher version wins).
- **Reset runs.** The model ships a reset run's copied prefix in its first task, so it
  starts at event 1 like any run. Temporal sends only the events after the reset point
  and the passive side forks the base run itself (`applyNonStartEventsResetWorkflow`);
  the resulting history is the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import BadInput
from core.fastenum import Enum
from core.fastinit import fast_init_all
from core.statemachine.replication import version_history as vh
from core.statemachine.replication.replica import (
    Event,
    Events,
    RunInput,
    RunReplica,
    RunState,
    check_batch,
    extend_branch,
    lifecycle,
    with_state,
)


@dataclass(frozen=True, slots=True)
class ReplicationTask:
    """A history replication task from cluster `source` for run `run_id`: `events` and
    the source branch's version history up to the last of them."""

    source: str
    run_id: str
    items: vh.Items
    events: Events

    @property
    def version(self) -> int:
        return self.events[-1].version


@dataclass(frozen=True, slots=True)
class ResyncRequest:
    """RetryReplication: ask the source for the events of run `run_id` strictly after
    `start` (None: from the first event) and strictly before `end`, on the source's
    branch that holds `end`."""

    run_id: str
    start: vh.Item | None
    end: vh.Item


class Outcome(Enum):
    CREATED = "Created"
    APPLIED = "Applied"
    BACKFILLED = "Backfilled"
    SWITCHED = "Switched"
    DUPLICATE = "Duplicate"
    RESYNC = "Resync"


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying a task did. `losing` are the batch's events when they landed on a
    non-current branch (Backfilled): the input of the events reapplier."""

    replica: RunReplica
    outcome: Outcome
    resync: ResyncRequest | None = None
    losing: Events = ()


def check_task(task: ReplicationTask) -> None:
    """`BadInput` unless the batch is well formed and agrees with the task's items."""
    check_batch(task.events)
    if vh.last_item(task.items) != vh.item(task.events[-1].event_id, task.version):
        raise BadInput("a task's version history must end at its last event")
    for event in task.events:
        if vh.event_version(task.items, event.event_id) != event.version:
            raise BadInput(f"event {event.event_id}'s version disagrees with the task's items")


def apply_task(replica: RunReplica, task: ReplicationTask) -> Applied:
    """Apply `task` to this cluster's copy of the run (see the module docstring)."""
    check_task(task)
    if task.run_id != replica.run_id:
        raise BadInput(f"task for run {task.run_id} applied to run {replica.run_id}")
    first = task.events[0]
    if replica.state is RunState.ABSENT:
        if first.event_id != vh.FIRST_EVENT_ID:
            lifecycle(replica, RunInput.RESYNC)
            return Applied(replica, Outcome.RESYNC, ResyncRequest(task.run_id, None, _at(first)))
        created = with_state(replica, lifecycle(replica, RunInput.CREATE))
        return Applied(_extend(created, 0, task.events), Outcome.CREATED)
    index, common = vh.find_lca_branch(replica.histories, task.items)
    base = replica.histories.histories[index]
    fork = not vh.is_lca_appendable(base, common)
    items = vh.copy_until_lca(base, common) if fork else base
    next_id = vh.last_item(items).event_id + 1
    if first.event_id < next_id:
        return Applied(
            with_state(replica, lifecycle(replica, RunInput.DUPLICATE)), Outcome.DUPLICATE
        )
    if first.event_id > next_id:
        lifecycle(replica, RunInput.RESYNC)
        request = ResyncRequest(task.run_id, vh.last_item(items), _at(first))
        return Applied(replica, Outcome.RESYNC, request)
    if fork:
        replica, index = _fork(replica, index, items)
    return _resolve(replica, index, task)


def _at(event: Event) -> vh.Item:
    return vh.item(event.event_id, event.version)


def _fork(replica: RunReplica, index: int, items: vh.Items) -> tuple[RunReplica, int]:
    """`createNewBranch`: a new branch with `items`, holding branch `index`'s events up
    to the fork point."""
    histories, new_index = vh.add_branch(replica.histories, items)
    prefix = replica.branches[index][: vh.last_item(items).event_id]
    branches = (*replica.branches, prefix)
    return RunReplica(
        replica.run_id, replica.state, histories, branches, replica.reapplied
    ), new_index


def _extend(replica: RunReplica, index: int, events: Events) -> RunReplica:
    extended = extend_branch(replica, index, events)
    if index == extended.histories.current and events[-1].closes:
        return with_state(extended, lifecycle(extended, RunInput.CLOSE))
    return extended


def _resolve(replica: RunReplica, index: int, task: ReplicationTask) -> Applied:
    """`GetOrRebuildCurrentMutableState`, then the write, for a batch that goes on
    branch `index` right after its last event."""
    current = replica.histories.current
    current_last = vh.last_item(replica.histories.current_history)
    if task.version < current_last.version:
        lifecycle(replica, RunInput.BACKFILL)
        return Applied(
            extend_branch(replica, index, task.events), Outcome.BACKFILLED, None, task.events
        )
    if index == current:
        lifecycle(replica, RunInput.APPEND)
        return Applied(_extend(replica, index, task.events), Outcome.APPLIED)
    if task.version == current_last.version:
        raise BadInput(
            "replication task version equals the current branch's last write version "
            "on another branch"
        )
    return Applied(
        make_current(extend_branch(replica, index, task.events), index), Outcome.SWITCHED
    )


def make_current(replica: RunReplica, index: int) -> RunReplica:
    """Branch `index` made current and the run rebuilt from it: open or closed as that
    branch is (SwitchOpen / SwitchClosed)."""
    switched = RunReplica(
        replica.run_id,
        replica.state,
        vh.set_current(replica.histories, index),
        replica.branches,
        replica.reapplied,
    )
    closed = switched.current_events[-1].closes
    state = lifecycle(switched, RunInput.SWITCH_CLOSED if closed else RunInput.SWITCH_OPEN)
    return with_state(switched, state)


# --- the source side ---------------------------------------------------------------------


def task_for(
    replica: RunReplica, source: str, first: int, last: int, branch: int | None = None
) -> ReplicationTask:
    """The task `source` sends for events ``first..last`` of a branch of its copy
    (the current one by default): those events and the branch's items up to `last`."""
    index = replica.histories.current if branch is None else branch
    events = replica.branches[index]
    if not 1 <= first <= last <= len(events):
        raise BadInput(f"events {first}..{last} are not on branch {index} of run {replica.run_id}")
    batch = events[first - 1 : last]
    end = vh.item(last, batch[-1].version)
    items = vh.copy_until_lca(replica.histories.histories[index], end)
    return ReplicationTask(source, replica.run_id, items, batch)


def answer_resync(
    replica: RunReplica, source: str, request: ResyncRequest
) -> ReplicationTask | None:
    """The source's answer to a resync request: the missing events of its branch that
    holds `request.end` (`GetWorkflowExecutionRawHistoryV2` between the two items), or
    None if it has no such branch or nothing lies in between."""
    for index, items in enumerate(replica.histories.histories):
        if vh.contains(items, request.end):
            first = 1 if request.start is None else request.start.event_id + 1
            last = request.end.event_id - 1
            if first > last:
                return None
            return task_for(replica, source, first, last, index)
    return None


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
