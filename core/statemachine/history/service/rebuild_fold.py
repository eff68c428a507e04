"""The fold behind `rebuild` (rebuild.py): its state, and what the events of pending
entities (activities, timers, children, external requests, updates) do to it.

Each handler mirrors one case of `applyEvents` in
`service/history/workflow/mutable_state_rebuilder.go` (the `Apply*Event` methods of
mutable_state_impl.go): an opening event adds the entity, keyed by the id later events
name it by; a closing event removes it, and raises ValueError if it names nothing
pending (the history is not one the server wrote).
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from core.enums import VersioningBehavior
from core.events import (
    ActivityTaskCancelRequestedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    ActivityTaskStartedEventAttributes,
    ChildWorkflowExecutionStartedEventAttributes,
    HistoryEvent,
    RequestCancelExternalWorkflowExecutionInitiatedEventAttributes,
    SignalExternalWorkflowExecutionInitiatedEventAttributes,
    StartChildWorkflowExecutionInitiatedEventAttributes,
    TimerStartedEventAttributes,
    WorkflowExecution,
    WorkflowExecutionUpdateAcceptedEventAttributes,
    WorkflowExecutionUpdateAdmittedEventAttributes,
    WorkflowExecutionUpdateCompletedEventAttributes,
)
from core.opaque import Opaque
from core.statemachine.history.service.retry import retry_policy
from core.statemachine.history.service.state import (
    ActivityInfo,
    ChildInfo,
    ExternalInfo,
    MutableState,
    NexusOperationInfo,
    TimerInfo,
    UpdateInfo,
    WorkflowTaskInfo,
    evolve,
)
from core.statemachine.history.service.update import request_update_id
from core.statemachine.matching.versioning import DeploymentVersion

A = TypeVar("A")


class Fold:
    """The state being rebuilt (rebuild.py): pending entities keyed by the id that names
    them, and the MutableState fields the events set."""

    __slots__ = (
        "activities",
        "cancels_out",
        "children",
        "nexus",
        "now",
        "override",
        "own",
        "signals_out",
        "start",
        "state",
        "timers",
        "updates",
        "wft",
        "wft_stamp",
    )

    def __init__(self, start: MutableState, now: int, override: Opaque | None = None) -> None:
        self.start = start
        self.now = now
        self.override = override  # the Started event's, or the last options update's
        # the behavior and version the last completion gave the run (versioning.py
        # `completed`), under any override
        self.own: tuple[VersioningBehavior, DeploymentVersion | None] = (
            VersioningBehavior.UNSPECIFIED,
            None,
        )
        self.state: dict[str, object] = {}  # MutableState fields set by the events
        self.wft: WorkflowTaskInfo | None = None
        self.wft_stamp = 0
        self.activities: dict[int, ActivityInfo] = {}
        self.timers: dict[str, TimerInfo] = {}
        self.children: dict[int, ChildInfo] = {}
        self.signals_out: dict[int, ExternalInfo] = {}
        self.cancels_out: dict[int, ExternalInfo] = {}
        self.updates: dict[str, UpdateInfo] = {}
        self.nexus: dict[int, NexusOperationInfo] = {}  # by Scheduled event id (rebuild_nexus.py)

    @property
    def wft_attempt(self) -> int:
        attempt = self.state.get("wft_attempt", 1)
        return attempt if isinstance(attempt, int) else 1

    def schedule_wft(self, scheduled_event_id: int, attempt: int, time: int, timeout: int) -> None:
        self.wft_stamp += 1
        self.wft = WorkflowTaskInfo(
            scheduled_event_id=scheduled_event_id,
            attempt=attempt,
            task_queue=self.start.task_queue,
            sticky=False,
            scheduled_time=time,
            start_to_close_timeout=timeout,
            stamp=self.wft_stamp,
        )
        self.state["wft_attempt"] = attempt

    def frozen(self, next_event_id: int) -> MutableState:
        wft = self.wft
        if wft is not None and wft.unwritten:  # written, if ever, at the end of history
            wft = dataclasses.replace(wft, scheduled_event_id=next_event_id)
        return evolve(
            self.start,
            **self.state,
            next_event_id=next_event_id,
            wft=wft,
            wft_stamp=self.wft_stamp,
            activities=tuple(self.activities[k] for k in sorted(self.activities)),
            timers=tuple(self.timers.values()),
            children=tuple(self.children[k] for k in sorted(self.children)),
            signals_out=tuple(self.signals_out.values()),
            cancels_out=tuple(self.cancels_out.values()),
            updates=tuple(self.updates.values()),
            nexus_operations=tuple(self.nexus[k] for k in sorted(self.nexus)),
        )


def attrs_of(event: HistoryEvent, cls: type[A]) -> A:
    attrs = event.attributes
    if not isinstance(attrs, cls):
        raise ValueError(f"event {event.event_id} carries {type(attrs).__name__}")
    return attrs


def time_of(fold: Fold, event: HistoryEvent) -> int:
    return event.event_time if event.event_time is not None else fold.now


def pop_pending(pending: dict[int, A], event: HistoryEvent, key: str) -> A:
    """Remove the pending entity the event names by `key`; ValueError if none is."""
    ref = getattr(event.attributes, key)
    if not isinstance(ref, int) or ref not in pending:
        raise ValueError(f"event {event.event_id} names {key}={ref}, which is not pending")
    return pending.pop(ref)


# --- activities, timers ------------------------------------------------------------


def activity_scheduled(fold: Fold, event: HistoryEvent) -> None:
    a = attrs_of(event, ActivityTaskScheduledEventAttributes)
    time = time_of(fold, event)
    fold.activities[event.event_id] = ActivityInfo(
        scheduled_event_id=event.event_id,
        activity_id=a.activity_id,
        activity_type=a.activity_type.name if a.activity_type is not None else "",
        task_queue=a.task_queue.name if a.task_queue is not None else fold.start.task_queue,
        retry_policy=retry_policy(a.retry_policy),
        schedule_to_close_timeout=a.schedule_to_close_timeout or 0,
        schedule_to_start_timeout=a.schedule_to_start_timeout or 0,
        start_to_close_timeout=a.start_to_close_timeout or 0,
        heartbeat_timeout=a.heartbeat_timeout or 0,
        first_scheduled_time=time,
        scheduled_time=time,
    )


def activity_started(fold: Fold, event: HistoryEvent) -> None:
    """Written with the activity's close, so seen alone only at the end of a prefix."""
    a = attrs_of(event, ActivityTaskStartedEventAttributes)
    info = pop_pending(fold.activities, event, "scheduled_event_id")
    fold.activities[info.scheduled_event_id] = dataclasses.replace(
        info,
        attempt=a.attempt or 1,
        started=True,
        started_time=time_of(fold, event),
        request_id=a.request_id,
        identity=a.identity,
        last_failure=a.last_failure,
        worker_version=a.worker_version,
    )


def activity_cancel_requested(fold: Fold, event: HistoryEvent) -> None:
    a = attrs_of(event, ActivityTaskCancelRequestedEventAttributes)
    info = pop_pending(fold.activities, event, "scheduled_event_id")
    fold.activities[a.scheduled_event_id] = dataclasses.replace(
        info, cancel_requested_event_id=event.event_id
    )


def activity_closed(fold: Fold, event: HistoryEvent) -> None:
    pop_pending(fold.activities, event, "scheduled_event_id")


def timer_started(fold: Fold, event: HistoryEvent) -> None:
    a = attrs_of(event, TimerStartedEventAttributes)
    expiry = time_of(fold, event) + (a.start_to_fire_timeout or 0)
    fold.timers[a.timer_id] = TimerInfo(a.timer_id, event.event_id, expiry)


def timer_closed(fold: Fold, event: HistoryEvent) -> None:
    timer_id = getattr(event.attributes, "timer_id", "")
    pending = fold.timers.get(timer_id)
    if pending is None:
        raise ValueError(f"event {event.event_id} closes timer {timer_id!r}, not pending")
    started = getattr(event.attributes, "started_event_id", 0)
    if 0 < started < pending.started_event_id:
        # The fire of an earlier timer of this id, buffered while a workflow task was
        # in flight; that task's completion started a new one under the same id, and
        # the fire is flushed after it. The live state dropped the earlier timer when it
        # fired (the timer task's AddTimerFiredEvent deletes it), so the new one stays.
        # Temporal's ReplicateTimerFiredEvent deletes by id alone and would lose it.
        return
    del fold.timers[timer_id]


# --- children and external requests ----------------------------------------------


def child_initiated(fold: Fold, event: HistoryEvent) -> None:
    a = attrs_of(event, StartChildWorkflowExecutionInitiatedEventAttributes)
    kind = a.workflow_type.name if a.workflow_type is not None else ""
    policy = int(a.parent_close_policy) or 1  # the server's default is TERMINATE
    info = ChildInfo(event.event_id, a.workflow_id, kind, policy)
    fold.children[event.event_id] = dataclasses.replace(
        info, namespace=a.namespace, header=a.header, control=a.control
    )


def child_started(fold: Fold, event: HistoryEvent) -> None:
    a = attrs_of(event, ChildWorkflowExecutionStartedEventAttributes)
    info = pop_pending(fold.children, event, "initiated_event_id")
    run_id = a.workflow_execution.run_id if a.workflow_execution is not None else ""
    fold.children[info.initiated_event_id] = dataclasses.replace(
        info, started_event_id=event.event_id, run_id=run_id
    )


def child_closed(fold: Fold, event: HistoryEvent) -> None:
    pop_pending(fold.children, event, "initiated_event_id")


def signal_initiated(fold: Fold, event: HistoryEvent) -> None:
    a = attrs_of(event, SignalExternalWorkflowExecutionInitiatedEventAttributes)
    info = _external(event.event_id, a.workflow_execution)
    fold.signals_out[event.event_id] = dataclasses.replace(info, control=a.control)


def signal_resolved(fold: Fold, event: HistoryEvent) -> None:
    pop_pending(fold.signals_out, event, "initiated_event_id")


def cancel_initiated(fold: Fold, event: HistoryEvent) -> None:
    a = attrs_of(event, RequestCancelExternalWorkflowExecutionInitiatedEventAttributes)
    fold.cancels_out[event.event_id] = _external(event.event_id, a.workflow_execution)


def _external(initiated: int, target: WorkflowExecution | None) -> ExternalInfo:
    target = target or WorkflowExecution()
    return ExternalInfo(initiated, target.workflow_id, target.run_id)


def cancel_resolved(fold: Fold, event: HistoryEvent) -> None:
    pop_pending(fold.cancels_out, event, "initiated_event_id")


# --- updates ------------------------------------------------------------------------


def update_admitted(fold: Fold, event: HistoryEvent) -> None:
    a = attrs_of(event, WorkflowExecutionUpdateAdmittedEventAttributes)
    update_id = request_update_id(a.request)
    fold.updates[update_id] = UpdateInfo(update_id, a.request, admitted_event_id=event.event_id)


def update_accepted(fold: Fold, event: HistoryEvent) -> None:
    a = attrs_of(event, WorkflowExecutionUpdateAcceptedEventAttributes)
    held = fold.updates.get(a.protocol_instance_id)
    fold.updates[a.protocol_instance_id] = UpdateInfo(
        a.protocol_instance_id,
        a.accepted_request if held is None else held.request,
        accepted_event_id=event.event_id,
        admitted_event_id=0 if held is None else held.admitted_event_id,
    )


def update_completed(fold: Fold, event: HistoryEvent) -> None:
    a = attrs_of(event, WorkflowExecutionUpdateCompletedEventAttributes)
    for update_id, info in fold.updates.items():
        if info.accepted_event_id == a.accepted_event_id:
            del fold.updates[update_id]
            done = fold.state.get("completed_updates", frozenset())
            assert isinstance(done, frozenset)
            fold.state["completed_updates"] = done | {update_id}
            return
    raise ValueError(f"event {event.event_id} completes update {a.accepted_event_id}, not open")
