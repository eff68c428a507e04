"""What a rebuilt mutable state must share with the service's own: the check behind the
rebuild and reset tests.

`rebuild(history)` cannot know what the history does not hold. Every field of the
service's state is therefore either *compared* (the history determines it, or it is an
input of the rebuild) or *blind*, with the reason; a test checks that the two lists
cover every field, so a field added to MutableState without saying which it is fails.
The check applies when nothing is buffered (buffered events are not in the history yet).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from core.enums import WorkflowTaskFailedCause
from core.events import HistoryEvent
from core.statemachine.history.service.rebuild import rebuild
from core.statemachine.history.service.state import (
    ActivityInfo,
    MutableState,
    RunStatus,
    UpdateInfo,
    WorkflowTaskInfo,
)

# Fields compared as they are: the inputs of the rebuild, and what the events set.
COMPARED = frozenset(
    {
        # inputs of `rebuild` (namespace, ids, start request id, start time)
        "namespace",
        "namespace_id",
        "retention",
        "workflow_id",
        "run_id",
        "start_request_id",
        "start_time",
        # from WorkflowExecutionStarted
        "workflow_type",
        "task_queue",
        "workflow_task_timeout",
        "run_timeout",
        "execution_timeout",
        "explicit_execution_timeout",  # whether Started has workflowExecutionTimeout
        "explicit_run_timeout",  # whether Started has workflowRunTimeout
        "first_run_id",
        "attempt",
        "retry_policy",
        "priority",  # Started's, when it names one
        "retry_carry",  # Started's input, header, memo, search attributes (with a policy)
        "parent",
        "root",
        "backoff_pending",
        "execution_time",
        "cron_schedule",
        "last_completion_result",
        "execution_expiration",  # Started's workflowExecutionExpirationTime
        "completion_callbacks",
        "start_links",  # the Started event's links
        # from the other events
        "status",
        "next_event_id",
        "close_event_id",
        "cancel_requested",
        "last_completed_wft_started_event_id",
        "reset_points",  # Started's prev_auto_reset_points, one more per build's completion
        "most_recent_worker_version",  # the last WorkflowTaskCompleted's workerVersion
        "build_ids",  # BuildIds, from every WorkflowTaskCompleted's workerVersion
        "timers",
        "children",
        "signals_out",
        "cancels_out",
        "memo",  # Started's, merged with each WorkflowPropertiesModified
        "search_attributes",  # Started's, merged with each UpsertWorkflowSearchAttributes
        "nexus_operations",  # pending: Scheduled, Started, CancelRequested (rebuild_nexus.py)
        "completed_updates",  # the ids of the UpdateCompleted events' updates
    }
)
# Fields compared through a projection (below): their history-determined part.
PROJECTED = frozenset({"wft", "wft_attempt", "activities", "updates"})
# Fields the history does not determine, and why.
BLIND = {
    "wft_stamp": "stamps are in-memory counters; a rebuild counts afresh",
    "buffered": "buffered events are not in the history (checked empty instead)",
    "sticky_queue": "a rebuild clears stickiness (ClearStickyTaskQueue)",
    "sticky_schedule_to_start_timeout": "a rebuild clears stickiness",
    "signal_request_ids": "kept in mutable state only, never in an event",
    "reset_run_id": "set on a reset's base run, written to no event",
    "wft_at_close": "the task a closed run kept, for Describe; a transient one is written "
    "to no event, and the rebuild does not keep it",
    "history_size": "the store's count of the bytes it wrote, reported by the host",
    "pause_search_attribute": "PauseActivity and UnpauseActivity write no event",
    "versioning": "Worker Deployments: revisions and target versions come from matching, "
    "which writes them to no event; a rebuild leaves it unset",
}
# The parts of pending entities the history determines.
ACTIVITY_COMPARED = (
    "scheduled_event_id",
    "activity_id",
    "activity_type",
    "task_queue",
    "retry_policy",
    "schedule_to_close_timeout",
    "schedule_to_start_timeout",
    "start_to_close_timeout",
    "heartbeat_timeout",
    "first_scheduled_time",  # except in a run made by a reset (`projection`)
    "cancel_requested_event_id",
)
ACTIVITY_BLIND = {
    "attempt": "retries leave no event until the activity closes",
    "stamp": "an in-memory counter",
    "started": "ActivityTaskStarted is written with the close",
    "started_time": "as started",
    "request_id": "as started",
    "identity": "as started",
    "last_heartbeat_time": "heartbeats write no event",
    "heartbeat_details": "heartbeats write no event",
    "last_failure": "a retried failure writes no event",
    "backoff": "a retry writes no event",
    "worker_version": "as started",
    "scheduled_time": "the current attempt's, moved by retries",
    "pause": "PauseActivity and UnpauseActivity write no event",
    "reset": "ResetActivity writes no event",
    "reset_heartbeats": "ResetActivity writes no event",
    "last_attempt_complete_time": "a retry writes no event",
    "original_options": "UpdateActivityOptions writes no event",
}
WFT_COMPARED = (
    "scheduled_event_id",
    "started_event_id",
    "scheduled_time",
    "started_time",
    "request_id",
    "identity",
    "start_to_close_timeout",
    "attempt",
    "worker_version",
    "history_size_bytes",
    "suggest_continue_as_new",
)
WFT_BLIND = {
    "task_queue": "stickiness is cleared",
    "sticky": "stickiness is cleared",
    "stamp": "an in-memory counter",
    "speculative": "a speculative task is in no event (projected as no task)",
}
UPDATE_COMPARED = ("update_id", "request", "accepted_event_id", "admitted_event_id")
UPDATE_BLIND = {
    "sent": "whether a started task carried it to a worker: in memory, in no event (the "
    "server's registry is rebuilt with its updates admitted, not sent)",
}


def _wft(state: MutableState) -> object:
    wft = state.wft
    if wft is None or wft.speculative:
        return None
    if wft.unwritten:  # transient: its attempt count is in no event past the first
        return "transient"
    return (tuple(getattr(wft, name) for name in WFT_COMPARED), state.wft_attempt)


def projection(state: MutableState, reset_run: bool = False) -> dict[str, object]:
    """The part of `state` a rebuild from its history must reproduce. In a run a reset
    made (`reset_run`), an activity pending at the reset point counts as first scheduled
    at the reset (`failInflightActivity`), a time no event holds."""
    view: dict[str, object] = {name: getattr(state, name) for name in COMPARED}
    view["timers"] = sorted(state.timers, key=lambda t: t.started_event_id)
    view["wft"] = _wft(state)
    names = [n for n in ACTIVITY_COMPARED if not (reset_run and n == "first_scheduled_time")]
    # A cancel of an activity not yet started drops it at once and buffers its
    # ActivityTaskCanceled; when the same batch closes the run, the service drops the
    # buffer, as Temporal's history builder drops a finished workflow's buffered events
    # (service/history/historybuilder). A started one, whose
    # ActivityTaskStarted is written only with its close, stays pending. So once the run
    # has closed, the history does not say whether a cancel-requested activity is still
    # pending, and those are left out.
    closed = state.status is not RunStatus.RUNNING
    view["activities"] = [
        tuple(getattr(a, n) for n in names)
        for a in state.activities
        if not (closed and a.cancel_requested_event_id)
    ]
    view["updates"] = sorted(
        tuple(getattr(u, n) for n in UPDATE_COMPARED)
        for u in state.updates
        if u.accepted_event_id or u.admitted_event_id  # in memory only: in no event
    )
    return view


def rebuild_problems(state: MutableState, history: Sequence[HistoryEvent]) -> list[str]:
    """How `rebuild(history)` differs from `state`, the service's state after writing
    `history` (empty when nothing differs, or when events are buffered)."""
    if state.buffered:
        return []
    try:
        rebuilt = rebuild(
            history,
            state.namespace,
            state.workflow_id,
            state.run_id,
            state.start_request_id,
            state.start_time,
            state.namespace_id,
            state.retention,
        ).state
    except ValueError as exc:
        return [f"after event {len(history)}: the rebuild failed: {exc}"]
    reset_run = any(
        getattr(e.attributes, "cause", None) is WorkflowTaskFailedCause.RESET_WORKFLOW
        for e in history
    )
    want, got = projection(state, reset_run), projection(rebuilt, reset_run)
    return [
        f"after event {len(history)}: {key} is {got[key]!r}, the service has {want[key]!r}"
        for key in sorted(want)
        if want[key] != got[key]
    ]


def classified(cls: type, *groups: Iterable[str]) -> tuple[set[str], set[str]]:
    """(fields of `cls` in no group, names in the groups that are no field of `cls`)."""
    names = {f.name for f in dataclasses.fields(cls)}
    listed: set[str] = set()
    for group in groups:
        listed |= set(group)
    return names - listed, listed - names


CLASSIFICATIONS: tuple[tuple[type, tuple[Iterable[str], ...]], ...] = (
    (MutableState, (COMPARED, PROJECTED, BLIND)),
    (ActivityInfo, (ACTIVITY_COMPARED, ACTIVITY_BLIND)),
    (WorkflowTaskInfo, (WFT_COMPARED, WFT_BLIND)),
    (UpdateInfo, (UPDATE_COMPARED, UPDATE_BLIND)),
)
