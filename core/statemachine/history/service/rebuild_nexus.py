"""The rebuild's handlers (rebuild.py) for Nexus operations and options updates, and
the timer tasks a rebuilt operation implies (refresh.py).

Nexus operations (the event definitions' `Apply` in components/nexusoperations/
events.go; the HSM tree is rebuilt from the history as the other entities are):

- NexusOperationScheduled adds the pending operation under its event id
  (ScheduledEventDefinition.Apply, AddChild), with the endpoint, service, operation,
  request id and start-to-close timeout the event records (as nexus.py `schedule`).
- NexusOperationStarted gives it its operation token (TransitionStarted; the token, or
  the deprecated operation id an older server wrote alone).
- NexusOperationCompleted, Failed, Canceled and TimedOut delete it
  (`node.Parent.DeleteChild`).
- NexusOperationCancelRequested marks it (a Cancelation child machine: the model's
  `cancel_requested_event_id`); CancelRequestCompleted and CancelRequestFailed move that
  child only, which the model does not keep, so the operation stays as it was.
- An event naming no pending operation raises ValueError (the server's
  transitionOperation answers hsm.ErrStateMachineNotFound).

WorkflowExecutionOptionsUpdated (`ApplyWorkflowExecutionOptionsUpdatedEvent` in
service/history/workflow/mutable_state_impl.go): a versioning override, or its unset,
replaces the run's override, and a change of the run's effective behavior or version
rewrites BuildIds (as options_update.py); a priority, when the event names one,
replaces the run's (a nil one leaves it); attached completion callbacks are appended to
the run's (`addCompletionCallbacks`, as attach.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from core.enums import EventType
from core.events import HistoryEvent, OpaqueAttributes
from core.nexus_request import NexusTimeoutTask
from core.opaque import JsonValue, Opaque
from core.statemachine.history.limits import DEFAULT_LIMITS
from core.statemachine.history.service.nexus import duration_nanos
from core.statemachine.history.service.options_update import updated_fields
from core.statemachine.history.service.rebuild_fold import Fold
from core.statemachine.history.service.state import MutableState, NexusOperationInfo
from core.statemachine.history.service.versioning_state import VersioningInfo

E = EventType


def fields_of(event: HistoryEvent) -> dict[str, JsonValue]:
    """The attributes of an event the codec keeps as JSON (OpaqueAttributes)."""
    attrs = event.attributes
    value = attrs.value.value() if isinstance(attrs, OpaqueAttributes) else None
    if not isinstance(value, dict):
        raise ValueError(f"event {event.event_id} carries no attributes the rebuild can read")
    return value


def _text(fields: dict[str, JsonValue], key: str) -> str:
    value = fields.get(key)
    return value if isinstance(value, str) else ""


def _int(fields: dict[str, JsonValue], key: str) -> int:
    """An int64 as proto JSON writes it (a string), or as a number."""
    value = fields.get(key)
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else 0


# --- Nexus operations -----------------------------------------------------------------


def nexus_scheduled(fold: Fold, event: HistoryEvent) -> None:
    a = fields_of(event)
    fold.nexus[event.event_id] = NexusOperationInfo(
        event.event_id,
        _text(a, "endpoint"),
        _text(a, "endpointId"),
        _text(a, "service"),
        _text(a, "operation"),
        _text(a, "requestId"),
        start_to_close_timeout=duration_nanos(a.get("startToCloseTimeout")),
    )


def _pending(fold: Fold, event: HistoryEvent) -> NexusOperationInfo:
    scheduled = _int(fields_of(event), "scheduledEventId")
    info = fold.nexus.get(scheduled)
    if info is None:
        raise ValueError(f"event {event.event_id} names Nexus operation {scheduled}, not pending")
    return info


def nexus_started(fold: Fold, event: HistoryEvent) -> None:
    a = fields_of(event)
    info = _pending(fold, event)
    token = _text(a, "operationToken") or _text(a, "operationId")
    fold.nexus[info.scheduled_event_id] = dataclasses.replace(info, operation_token=token)


def nexus_closed(fold: Fold, event: HistoryEvent) -> None:
    del fold.nexus[_pending(fold, event).scheduled_event_id]


def nexus_cancel_requested(fold: Fold, event: HistoryEvent) -> None:
    info = _pending(fold, event)
    fold.nexus[info.scheduled_event_id] = dataclasses.replace(
        info, cancel_requested_event_id=event.event_id
    )


def nexus_cancel_answered(fold: Fold, event: HistoryEvent) -> None:
    _pending(fold, event)  # the operation stays pending, and marked


# --- options updates ------------------------------------------------------------------


def options_updated(fold: Fold, event: HistoryEvent) -> None:
    build_ids = fold.state.get("build_ids", ())
    callbacks = fold.state.get("completion_callbacks", fold.start.completion_callbacks)
    assert isinstance(build_ids, tuple)
    assert callbacks is None or isinstance(callbacks, Opaque)
    versioning = VersioningInfo(fold.override, *fold.own)
    limit = DEFAULT_LIMITS.search_attribute_value_size
    changes = updated_fields(versioning, build_ids, callbacks, fields_of(event), limit)
    info = changes.pop("versioning", None)
    if isinstance(info, VersioningInfo):
        fold.override = info.override  # the fold keeps the rest of the run's versioning
    fold.state.update(changes)


# --- the timers a rebuilt operation implies -------------------------------------------

# Each timeout's field, and the outcome its task's firing reports (nexus.py NexusInput).
_OUTCOME_OF = {
    "scheduleToCloseTimeout": "schedule_to_close_timed_out",
    "scheduleToStartTimeout": "schedule_to_start_timed_out",
    "startToCloseTimeout": "start_to_close_timed_out",
}
_CREATION_TIMERS = ("scheduleToCloseTimeout", "scheduleToStartTimeout")


def nexus_timeout_tasks(
    state: MutableState, events: Sequence[HistoryEvent]
) -> list[NexusTimeoutTask]:
    """The timeout tasks of each pending operation (Operation.RegenerateTasks in
    components/nexusoperations/statemachine.go): schedule-to-close and schedule-to-start
    counted from its Scheduled event, start-to-close from its Started event. The
    schedule-to-start task of a started operation is regenerated too, and is stale when
    it fires (nexus.py's table). Its start (or cancel) is delivered by the host."""
    pending = {x.scheduled_event_id: x for x in state.nexus_operations}
    tasks: list[NexusTimeoutTask] = []
    for event in events:
        if event.event_type is E.NEXUS_OPERATION_SCHEDULED:
            info = pending.get(event.event_id)
            spans = [(key, duration_nanos(fields_of(event).get(key))) for key in _CREATION_TIMERS]
        elif event.event_type is E.NEXUS_OPERATION_STARTED:
            info = pending.get(_int(fields_of(event), "scheduledEventId"))
            spans = [("startToCloseTimeout", info.start_to_close_timeout if info else 0)]
        else:
            continue
        for key, span in spans:
            if info is not None and span > 0:
                fire = (event.event_time or state.start_time) + span
                outcome = _OUTCOME_OF[key]
                tasks.append(
                    NexusTimeoutTask(info.scheduled_event_id, info.request_id, outcome, fire)
                )
    return tasks


__all__ = [
    "nexus_cancel_answered",
    "nexus_cancel_requested",
    "nexus_closed",
    "nexus_scheduled",
    "nexus_started",
    "nexus_timeout_tasks",
    "options_updated",
]
