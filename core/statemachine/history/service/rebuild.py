"""Mutable state rebuilt from a history: the server's state rebuilder, as a fold.

```
  events 1..n ──▶ fold, one handler per event type (APPLY) ──▶ MutableState
                                                                 └─ refresh_tasks ─▶ tasks
```

Temporal rebuilds a run's mutable state from its events when it resets a run
(`service/history/ndc/state_rebuilder.go`, Rebuild) and on a standby cluster: each
event is applied to a fresh mutable state (`applyEvents` in
`service/history/workflow/mutable_state_rebuilder.go`), then every task the state
implies is generated again (`service/history/workflow/task_refresher.go`). The rules,
and what `handle` relies on afterwards:

- What the history does not hold is not rebuilt: buffered events (none), stickiness
  (cleared before every batch, `ClearStickyTaskQueue`: a rebuilt run has no sticky
  worker), the ids of signal requests, updates admitted in memory only, and the
  transient part of an activity (its retries, a start not written yet).
- The run starts at the rebuild's `now` (`NewMutableState(..., now)`), so its run
  timeout counts from then.
- A WorkflowTaskStarted event sets the task's attempt to 1 (`ApplyWorkflowTaskStartedEvent`
  in workflow_task_state_machine.go). A WorkflowTaskFailed or TimedOut event raises the
  next attempt by one, except a SCHEDULE_TO_START timeout (`failWorkflowTask`; with
  stickiness cleared the sticky exception never applies); with the next attempt above
  1 and no task pending, a transient task is pending
  (`ApplyTransientWorkflowTaskScheduled`), written nowhere until it completes.
- Stamps start afresh: workflow tasks count from 1, every activity is at stamp 1 and
  attempt 1 (its earlier attempts are invisible in the history).
- Nexus operations and options updates are folded as rebuild_nexus.py says.
- An event type the model does not keep state for raises ValueError, as the server
  answers an unknown event type with InvalidArgument (`applyHSMEvent`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

from core.enums import EventType, TimeoutType, VersioningBehavior
from core.events import (
    HistoryEvent,
    UpsertWorkflowSearchAttributesEventAttributes,
    WorkflowExecutionStartedEventAttributes,
    WorkflowPropertiesModifiedEventAttributes,
    WorkflowTaskCompletedEventAttributes,
    WorkflowTaskScheduledEventAttributes,
    WorkflowTaskStartedEventAttributes,
    WorkflowTaskTimedOutEventAttributes,
)
from core.fastinit import fast_init_all
from core.opaque import Opaque
from core.requests import Task
from core.statemachine.history.limits import DEFAULT_LIMITS, merged
from core.statemachine.history.service import rebuild_fold as f
from core.statemachine.history.service import rebuild_nexus as nx
from core.statemachine.history.service import reset_points, worker_versions
from core.statemachine.history.service.rebuild_fold import Fold, attrs_of, time_of
from core.statemachine.history.service.refresh import refresh_tasks
from core.statemachine.history.service.run_timeouts import DEFAULT_WORKFLOW_TASK_TIMEOUT
from core.statemachine.history.service.state import (
    DEFAULT_RETENTION,
    MutableState,
    ParentInfo,
    RunStatus,
    retry_carry_of,
)
from core.statemachine.matching.run_versioning import RunVersioning, override_of, version_of

E = EventType


@dataclasses.dataclass(frozen=True, slots=True)
class Rebuilt:
    """A run's mutable state rebuilt from its events, and the tasks it implies."""

    state: MutableState
    tasks: tuple[Task, ...]


def rebuild(
    events: Sequence[HistoryEvent],
    namespace: str,
    workflow_id: str,
    run_id: str,
    request_id: str,
    now: int,
    namespace_id: str = "",
    retention: int = DEFAULT_RETENTION,
) -> Rebuilt:
    """Fold `events` (a history from event 1) into the mutable state of run `run_id`.

    `request_id` becomes the run's start request id (the server passes it on to
    `ApplyWorkflowExecutionStartedEvent`); `now` is the run's start time; the namespace's
    id and retention come from its registry, as on the server. Raises ValueError for a
    history the fold cannot read (not starting with WorkflowExecutionStarted, a
    reference to nothing pending, an unmodelled event type).
    """
    if not events or events[0].event_type is not E.WORKFLOW_EXECUTION_STARTED:
        raise ValueError("a history to rebuild starts with WorkflowExecutionStarted")
    ids = RunIds(namespace, namespace_id, workflow_id, run_id, request_id, retention)
    started = attrs_of(events[0], WorkflowExecutionStartedEventAttributes)
    fold = Fold(_started(events[0], ids, now), now, started.versioning_override)
    for event in events[1:]:
        handler = APPLY.get(event.event_type)
        if handler is None:
            raise ValueError(f"event {event.event_id}: {event.event_type.name} cannot be rebuilt")
        handler(fold, event)
    state = fold.frozen(events[-1].event_id + 1)
    return Rebuilt(state, refresh_tasks(state, events))


@dataclasses.dataclass(frozen=True, slots=True)
class RunIds:
    """What a rebuild is told rather than reads: the run's names and its namespace's."""

    namespace: str
    namespace_id: str
    workflow_id: str
    run_id: str
    request_id: str
    retention: int


def _started(event: HistoryEvent, ids: RunIds, now: int) -> MutableState:
    """The run as WorkflowExecutionStarted makes it (`ApplyWorkflowExecutionStartedEvent`):
    its root is the one the event names (a child's), else the run itself."""
    a = attrs_of(event, WorkflowExecutionStartedEventAttributes)
    parent, root = a.parent_workflow_execution, a.root_workflow_execution
    backoff = a.first_workflow_task_backoff or 0
    return MutableState(
        namespace=ids.namespace,
        workflow_id=ids.workflow_id,
        run_id=ids.run_id,
        workflow_type=a.workflow_type.name if a.workflow_type is not None else "",
        task_queue=a.task_queue.name if a.task_queue is not None else "",
        start_time=now,
        workflow_task_timeout=a.workflow_task_timeout or DEFAULT_WORKFLOW_TASK_TIMEOUT,
        run_timeout=a.workflow_run_timeout or 0,
        execution_timeout=a.workflow_execution_timeout or 0,
        explicit_execution_timeout=a.workflow_execution_timeout is not None,
        explicit_run_timeout=a.workflow_run_timeout is not None,
        first_run_id=a.first_execution_run_id or ids.run_id,
        start_request_id=ids.request_id,
        attempt=a.attempt or 1,
        retry_policy=a.retry_policy,
        parent=(
            ParentInfo(parent.workflow_id, parent.run_id, a.parent_initiated_event_id)
            if parent is not None
            else None
        ),
        backoff_pending=bool(backoff),
        next_event_id=2,
        namespace_id=ids.namespace_id,
        execution_time=now + backoff,
        root=(root.workflow_id, root.run_id) if root else (ids.workflow_id, ids.run_id),
        reset_points=reset_points.from_json(a.prev_auto_reset_points),
        retention=ids.retention,
        memo=a.memo,
        search_attributes=a.search_attributes,
        priority=a.priority,
        retry_carry=retry_carry_of(a),
        cron_schedule=a.cron_schedule,
        last_completion_result=a.last_completion_result,
        execution_expiration=a.workflow_execution_expiration_time or 0,
        completion_callbacks=a.completion_callbacks,
        start_links=event.links,
    )


# --- workflow tasks ------------------------------------------------------------------


def _wft_scheduled(fold: Fold, event: HistoryEvent) -> None:
    a = attrs_of(event, WorkflowTaskScheduledEventAttributes)
    timeout = a.start_to_close_timeout or fold.start.workflow_task_timeout
    fold.schedule_wft(event.event_id, a.attempt or 1, time_of(fold, event), timeout)
    fold.state["backoff_pending"] = False


def _wft_started(fold: Fold, event: HistoryEvent) -> None:
    a = attrs_of(event, WorkflowTaskStartedEventAttributes)
    wft = fold.wft
    if wft is None or wft.scheduled_event_id != a.scheduled_event_id:
        raise ValueError(f"event {event.event_id} starts a workflow task that is not pending")
    fold.wft = dataclasses.replace(
        wft,
        started_event_id=event.event_id,
        started_time=time_of(fold, event),
        request_id=a.request_id,
        identity=a.identity,
        attempt=1,
        worker_version=a.worker_version,
        history_size_bytes=a.history_size_bytes,
        suggest_continue_as_new=a.suggest_continue_as_new_reasons,
    )
    fold.state["wft_attempt"] = 1


def _wft_completed(fold: Fold, event: HistoryEvent) -> None:
    a = attrs_of(event, WorkflowTaskCompletedEventAttributes)
    fold.wft = None
    fold.state["wft_attempt"] = 1
    fold.state["last_completed_wft_started_event_id"] = a.started_event_id
    points = fold.state.get("reset_points", fold.start.reset_points)
    assert isinstance(points, tuple)
    fold.state["reset_points"] = reset_points.with_completion(
        points,
        reset_points.build_id_of(a.worker_version, a.deployment_version),
        fold.start.run_id,
        event.event_id,
        time_of(fold, event),
        not (fold.children or fold.signals_out or fold.cancels_out),
        a.binary_checksum,
    )
    # the run's most recent stamp and BuildIds, as the completion itself set them
    fold.state["most_recent_worker_version"] = a.worker_version
    build_ids = fold.state.get("build_ids", ())
    assert isinstance(build_ids, tuple)
    # the run's versioning as the completion left it: the start's override, else what
    # the completion reports (versioning.py `completed`)
    given = a.deployment_version
    own = version_of(given.value()) if given is not None else None
    if a.versioning_behavior is VersioningBehavior.UNSPECIFIED:  # (versioning.py `completed`)
        own = None
    fold.own = (a.versioning_behavior, own)
    behavior, version = override_of(fold.override)
    if behavior is VersioningBehavior.UNSPECIFIED:
        behavior, version = fold.own
    fold.state["build_ids"] = worker_versions.build_ids_after(
        build_ids,
        a.worker_version,
        DEFAULT_LIMITS.search_attribute_value_size,
        RunVersioning(behavior, version),
    )


def _wft_failed(fold: Fold, event: HistoryEvent) -> None:
    _wft_closed(fold, event, increment=True)


def _wft_timed_out(fold: Fold, event: HistoryEvent) -> None:
    a = attrs_of(event, WorkflowTaskTimedOutEventAttributes)
    _wft_closed(fold, event, increment=a.timeout_type is not TimeoutType.SCHEDULE_TO_START)


def _wft_closed(fold: Fold, event: HistoryEvent, increment: bool) -> None:
    attempt = fold.wft_attempt + 1 if increment else 1
    fold.wft = None
    fold.state["wft_attempt"] = attempt
    if attempt > 1:  # the transient next attempt (its id is fixed in `frozen`)
        timeout = fold.start.workflow_task_timeout
        fold.schedule_wft(event.event_id + 1, attempt, fold.now, timeout)


# --- the run -------------------------------------------------------------------------


def _cancel_requested(fold: Fold, event: HistoryEvent) -> None:
    fold.state["cancel_requested"] = True


def _closed(status: RunStatus) -> Callable[[Fold, HistoryEvent], None]:
    def close(fold: Fold, event: HistoryEvent) -> None:
        fold.wft = None
        fold.state["status"] = status
        fold.state["close_event_id"] = event.event_id

    return close


def _search_attributes_upserted(fold: Fold, event: HistoryEvent) -> None:
    a = attrs_of(event, UpsertWorkflowSearchAttributesEventAttributes)
    current = fold.state.get("search_attributes", fold.start.search_attributes)
    old = current if isinstance(current, Opaque) else None
    fold.state["search_attributes"] = merged(old, a.search_attributes, "indexedFields")


def _properties_modified(fold: Fold, event: HistoryEvent) -> None:
    a = attrs_of(event, WorkflowPropertiesModifiedEventAttributes)
    current = fold.state.get("memo", fold.start.memo)
    old = current if isinstance(current, Opaque) else None
    fold.state["memo"] = merged(old, a.upserted_memo, "fields")


def _no_state(fold: Fold, event: HistoryEvent) -> None:
    """Events the service keeps nothing for (a signal's request id is kept in mutable
    state only, never rebuilt: `ApplyWorkflowExecutionSignaled`)."""


# What each event type does to the rebuilt state (`applyEvents` in
# mutable_state_rebuilder.go, one case per type). WorkflowExecutionStarted is read by
# `rebuild` itself; a type missing here cannot be rebuilt.
APPLY: Mapping[EventType, Callable[[Fold, HistoryEvent], None]] = MappingProxyType(
    {
        E.WORKFLOW_TASK_SCHEDULED: _wft_scheduled,
        E.WORKFLOW_TASK_STARTED: _wft_started,
        E.WORKFLOW_TASK_COMPLETED: _wft_completed,
        E.WORKFLOW_TASK_FAILED: _wft_failed,
        E.WORKFLOW_TASK_TIMED_OUT: _wft_timed_out,
        E.ACTIVITY_TASK_SCHEDULED: f.activity_scheduled,
        E.ACTIVITY_TASK_STARTED: f.activity_started,
        E.ACTIVITY_TASK_CANCEL_REQUESTED: f.activity_cancel_requested,
        E.ACTIVITY_TASK_COMPLETED: f.activity_closed,
        E.ACTIVITY_TASK_FAILED: f.activity_closed,
        E.ACTIVITY_TASK_TIMED_OUT: f.activity_closed,
        E.ACTIVITY_TASK_CANCELED: f.activity_closed,
        E.TIMER_STARTED: f.timer_started,
        E.TIMER_FIRED: f.timer_closed,
        E.TIMER_CANCELED: f.timer_closed,
        E.START_CHILD_WORKFLOW_EXECUTION_INITIATED: f.child_initiated,
        E.CHILD_WORKFLOW_EXECUTION_STARTED: f.child_started,
        E.START_CHILD_WORKFLOW_EXECUTION_FAILED: f.child_closed,
        E.CHILD_WORKFLOW_EXECUTION_COMPLETED: f.child_closed,
        E.CHILD_WORKFLOW_EXECUTION_FAILED: f.child_closed,
        E.CHILD_WORKFLOW_EXECUTION_CANCELED: f.child_closed,
        E.CHILD_WORKFLOW_EXECUTION_TIMED_OUT: f.child_closed,
        E.CHILD_WORKFLOW_EXECUTION_TERMINATED: f.child_closed,
        E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: f.signal_initiated,
        E.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED: f.signal_resolved,
        E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: f.signal_resolved,
        E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: f.cancel_initiated,
        E.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED: f.cancel_resolved,
        E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: f.cancel_resolved,
        E.WORKFLOW_EXECUTION_UPDATE_ADMITTED: f.update_admitted,
        E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED: f.update_accepted,
        E.WORKFLOW_EXECUTION_UPDATE_COMPLETED: f.update_completed,
        E.WORKFLOW_EXECUTION_CANCEL_REQUESTED: _cancel_requested,
        E.WORKFLOW_EXECUTION_SIGNALED: _no_state,
        E.MARKER_RECORDED: _no_state,
        E.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: _search_attributes_upserted,
        E.WORKFLOW_PROPERTIES_MODIFIED: _properties_modified,
        E.WORKFLOW_EXECUTION_COMPLETED: _closed(RunStatus.COMPLETED),
        E.WORKFLOW_EXECUTION_FAILED: _closed(RunStatus.FAILED),
        E.WORKFLOW_EXECUTION_TIMED_OUT: _closed(RunStatus.TIMED_OUT),
        E.WORKFLOW_EXECUTION_CANCELED: _closed(RunStatus.CANCELED),
        E.WORKFLOW_EXECUTION_TERMINATED: _closed(RunStatus.TERMINATED),
        E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW: _closed(RunStatus.CONTINUED_AS_NEW),
        E.WORKFLOW_EXECUTION_OPTIONS_UPDATED: nx.options_updated,
        E.NEXUS_OPERATION_SCHEDULED: nx.nexus_scheduled,
        E.NEXUS_OPERATION_STARTED: nx.nexus_started,
        E.NEXUS_OPERATION_COMPLETED: nx.nexus_closed,
        E.NEXUS_OPERATION_FAILED: nx.nexus_closed,
        E.NEXUS_OPERATION_CANCELED: nx.nexus_closed,
        E.NEXUS_OPERATION_TIMED_OUT: nx.nexus_closed,
        E.NEXUS_OPERATION_CANCEL_REQUESTED: nx.nexus_cancel_requested,
        E.NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED: nx.nexus_cancel_answered,
        E.NEXUS_OPERATION_CANCEL_REQUEST_FAILED: nx.nexus_cancel_answered,
    }
)

__all__ = ["APPLY", "Rebuilt", "rebuild", "refresh_tasks"]

fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
