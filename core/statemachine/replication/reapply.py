"""The events reapplier: what a losing branch accepted is not lost.

When a batch lands on a non-current branch (it lost the conflict: `applier.py`,
Backfilled), the inputs it carries from outside the workflow are applied again to the
run's current branch. Rules (Temporal server):

- **What.** Signals, update admissions and acceptances (reapplied as admissions) and a
  cancel request (unless the run already has one) are reapplied; everything else the
  losing branch holds (activity results, timers, its close) goes with the branch
  (`service/history/ndc/workflow_resetter.go`, `reapplyEvents`).
- **Once.** An event is reapplied at most once: the run it goes into remembers the
  ``(source run id, event id, version)`` of each one it reapplied and skips it after
  (`definition.NewEventReappliedID`, `IsResourceDuplicated`); a reset run inherits
  what its base remembered.
- **Where.** Only the namespace's active cluster reapplies, to the workflow's current
  run (the caller passes it: the losing run itself, or the run that reset it): if it is
  running the events are appended to it under the active cluster's version; if it is
  closed the run is *reset* and the events go into the new run; a passive cluster
  forwards them to the active one (`ndc/transaction_manager.go`,
  `backfillWorkflowEventsReapply`; `ndc/events_reapplier.go`).
- **Reset.** Temporal resets to the last completed workflow task and writes a
  WorkflowTaskFailed (reason: events reapplication) before the reapplied events. The
  model's replication core has no workflow tasks: its reset run holds the closed
  branch's events before the close, then the reapplied events.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.enums import EventType
from core.fastenum import Enum
from core.fastinit import fast_init_all
from core.statemachine.replication.replica import (
    Event,
    Events,
    RunReplica,
    RunState,
    absent,
    append_local,
)

_E = EventType
REAPPLIED_AS: dict[EventType, EventType] = {
    _E.WORKFLOW_EXECUTION_SIGNALED: _E.WORKFLOW_EXECUTION_SIGNALED,
    _E.WORKFLOW_EXECUTION_UPDATE_ADMITTED: _E.WORKFLOW_EXECUTION_UPDATE_ADMITTED,
    _E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED: _E.WORKFLOW_EXECUTION_UPDATE_ADMITTED,
    _E.WORKFLOW_EXECUTION_CANCEL_REQUESTED: _E.WORKFLOW_EXECUTION_CANCEL_REQUESTED,
}
"""The event types `reapplyEvents` reapplies, and the type each is reapplied as."""


class ReapplyAction(Enum):
    NOTHING = "Nothing"
    APPEND = "Append"
    RESET = "Reset"
    FORWARD = "Forward"


@dataclass(frozen=True, slots=True)
class ReapplyDecision:
    """What to do with a losing batch: `events` are those still to reapply."""

    action: ReapplyAction
    events: Events = ()


def candidates(replica: RunReplica, losing: Events, source_run_id: str) -> Events:
    """The events of `losing` (from run `source_run_id`) that `reapplyEvents` would
    reapply to `replica`."""
    current = replica.current_events
    cancel_requested = any(e.event_type is _E.WORKFLOW_EXECUTION_CANCEL_REQUESTED for e in current)
    chosen = []
    for event in losing:
        if event.event_type not in REAPPLIED_AS:
            continue
        if (source_run_id, event.event_id, event.version) in replica.reapplied:
            continue
        if event.event_type is _E.WORKFLOW_EXECUTION_CANCEL_REQUESTED and cancel_requested:
            continue
        chosen.append(event)
    return tuple(chosen)


def decide(
    replica: RunReplica, losing: Events, source_run_id: str, is_active: bool
) -> ReapplyDecision:
    """`backfillWorkflowEventsReapply`: reapply to `replica` (the workflow's current run
    here), reset it, forward to the active cluster, or nothing."""
    events = candidates(replica, losing, source_run_id)
    if not events:
        return ReapplyDecision(ReapplyAction.NOTHING)
    if not is_active:
        return ReapplyDecision(ReapplyAction.FORWARD, events)
    if replica.state is RunState.CLOSED:
        return ReapplyDecision(ReapplyAction.RESET, events)
    return ReapplyDecision(ReapplyAction.APPEND, events)


def reapply(
    replica: RunReplica, events: Events, source_run_id: str, version: int, origin: str
) -> tuple[RunReplica, Events]:
    """Append `events` (from `decide`) to the running `replica`'s current branch as new
    events written by `origin` under `version`; returns the replica and the new events.
    Events already reapplied are skipped, so a repeat changes nothing."""
    fresh = candidates(replica, events, source_run_id)
    if not fresh:
        return replica, ()
    written = _renumber(fresh, replica.next_event_id, version, origin)
    updated = append_local(replica, written)
    done = replica.reapplied | _resources(source_run_id, fresh)
    return (
        RunReplica(updated.run_id, updated.state, updated.histories, updated.branches, done),
        written,
    )


def reset_run(
    base: RunReplica,
    new_run_id: str,
    events: Events,
    source_run_id: str,
    version: int,
    origin: str,
) -> tuple[RunReplica, RunReplica]:
    """Reset the closed `base` to reapply `events`: the new run's history is the base's
    current branch before its close, then the events (see the module docstring).
    Returns the base (remembering what it reapplied) and the new run."""
    fresh = candidates(base, events, source_run_id)
    kept = tuple(e for e in base.current_events if not e.closes)
    reapplied = _renumber(fresh, len(kept) + 1, version, origin)
    new = append_local(absent(new_run_id), (*kept, *reapplied))
    done = base.reapplied | _resources(source_run_id, fresh)
    base_after = RunReplica(base.run_id, base.state, base.histories, base.branches, done)
    new_after = RunReplica(new.run_id, new.state, new.histories, new.branches, done)
    return base_after, new_after


def _resources(source_run_id: str, events: Events) -> frozenset[tuple[str, int, int]]:
    return frozenset((source_run_id, e.event_id, e.version) for e in events)


def _renumber(events: Events, first_id: int, version: int, origin: str) -> Events:
    return tuple(
        Event(first_id + i, version, REAPPLIED_AS[e.event_type], origin, e.request_id, e.body)
        for i, e in enumerate(events)
    )


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
