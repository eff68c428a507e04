"""Which command a command event records, and how both are described to a reader.

The history service writes one event per command, in command order, right after the
WorkflowTaskCompleted that carried them (core/statemachine/history/service/commands.py).
Replay walks those events and the commands the code produced side by side; an event
corresponds to a command when it has the command's kind and the identity the SDKs
compare (sdk-core `workflow_machines.rs`, `handle_command_event`): activity id and
type, timer id, marker name (and patch id / local-activity seq), child workflow id
and type, signal name, target workflow id, update id. Payloads are not compared, as
in the SDKs: changing an activity's input is not nondeterminism.
"""

from __future__ import annotations

from core import payloads
from core.commands import (
    CancelTimerCommandAttributes,
    Command,
    ProtocolMessageCommandAttributes,
    RecordMarkerCommandAttributes,
    RequestCancelActivityTaskCommandAttributes,
    RequestCancelExternalWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
    StartTimerCommandAttributes,
)
from core.enums import CommandType, EventType
from core.errors import BadPayload
from core.event_sets import COMMAND_EVENT_TYPES
from core.events import (
    ActivityTaskCancelRequestedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    HistoryEvent,
    MarkerRecordedEventAttributes,
    RequestCancelExternalWorkflowExecutionInitiatedEventAttributes,
    SignalExternalWorkflowExecutionInitiatedEventAttributes,
    StartChildWorkflowExecutionInitiatedEventAttributes,
    TimerCanceledEventAttributes,
    TimerStartedEventAttributes,
    WorkflowExecutionUpdateAcceptedEventAttributes,
    WorkflowExecutionUpdateCompletedEventAttributes,
)
from core.opaque import JsonValue, Opaque

C, E = CommandType, EventType

# The event type each command is recorded as (PROTOCOL_MESSAGE: accepted or completed).
RECORDED_AS: dict[CommandType, frozenset[EventType]] = {
    C.SCHEDULE_ACTIVITY_TASK: frozenset({E.ACTIVITY_TASK_SCHEDULED}),
    C.REQUEST_CANCEL_ACTIVITY_TASK: frozenset({E.ACTIVITY_TASK_CANCEL_REQUESTED}),
    C.START_TIMER: frozenset({E.TIMER_STARTED}),
    C.CANCEL_TIMER: frozenset({E.TIMER_CANCELED}),
    C.RECORD_MARKER: frozenset({E.MARKER_RECORDED}),
    C.START_CHILD_WORKFLOW_EXECUTION: frozenset({E.START_CHILD_WORKFLOW_EXECUTION_INITIATED}),
    C.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION: frozenset(
        {E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED}
    ),
    C.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION: frozenset(
        {E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED}
    ),
    C.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: frozenset({E.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES}),
    C.MODIFY_WORKFLOW_PROPERTIES: frozenset({E.WORKFLOW_PROPERTIES_MODIFIED}),
    C.COMPLETE_WORKFLOW_EXECUTION: frozenset({E.WORKFLOW_EXECUTION_COMPLETED}),
    C.FAIL_WORKFLOW_EXECUTION: frozenset({E.WORKFLOW_EXECUTION_FAILED}),
    C.CANCEL_WORKFLOW_EXECUTION: frozenset({E.WORKFLOW_EXECUTION_CANCELED}),
    C.CONTINUE_AS_NEW_WORKFLOW_EXECUTION: frozenset({E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW}),
    C.PROTOCOL_MESSAGE: frozenset(
        {E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED, E.WORKFLOW_EXECUTION_UPDATE_COMPLETED}
    ),
}


_NOTHING: frozenset[EventType] = frozenset()  # what an unknown command type is recorded as


def recorded_as(command_type: CommandType) -> EventType | None:
    """The one event type a command is recorded as (None for PROTOCOL_MESSAGE or unknown)."""
    events = RECORDED_AS.get(command_type, frozenset())
    return next(iter(events)) if len(events) == 1 else None


# Events written from commands or protocol messages: replay matches these.
MATCHED_EVENTS: frozenset[EventType] = frozenset().union(*RECORDED_AS.values())
RECORDED_EVENTS: frozenset[EventType] = MATCHED_EVENTS | COMMAND_EVENT_TYPES
"""Events a workflow task's commands write: matched against commands on replay."""


def corresponds(command: Command, event: HistoryEvent, scheduled_id: int = 0) -> bool:
    """Does `event` record `command`? (`scheduled_id`: the activity a cancel names.)

    The two commands most histories are made of, an activity's schedule and a timer's
    start, are compared field by field here: the same comparison as of their identity
    tuples, without building them (a command's and an event's attributes are of the
    class their type names: both constructors check it); a command named by its type
    alone (`_TYPE_ONLY`) corresponds to any event of the type it is recorded as."""
    a, b = command.attributes, event.attributes
    if type(a) is ScheduleActivityTaskCommandAttributes:
        return (
            type(b) is ActivityTaskScheduledEventAttributes
            and a.activity_id == b.activity_id
            and (a.activity_type.name if a.activity_type else "")
            == (b.activity_type.name if b.activity_type else "")
        )
    if type(a) is StartTimerCommandAttributes:
        return type(b) is TimerStartedEventAttributes and a.timer_id == b.timer_id
    if event.event_type not in RECORDED_AS.get(command.command_type, _NOTHING):
        return False
    if command.command_type in _TYPE_ONLY:  # the run's close, most often: nothing more
        return True
    return identity(command, scheduled_id) == event_identity(event)


# Commands whose identity is their type alone (the last line of `identity`, and of
# `event_identity` for the one event each is recorded as): an event of that type
# records one, so `corresponds` does not build the two one-name tuples to compare.
_TYPE_ONLY = frozenset(
    {
        C.COMPLETE_WORKFLOW_EXECUTION,
        C.FAIL_WORKFLOW_EXECUTION,
        C.CANCEL_WORKFLOW_EXECUTION,
        C.CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        C.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        C.MODIFY_WORKFLOW_PROPERTIES,
    }
)


def identity(command: Command, scheduled_id: int = 0) -> tuple[str, ...]:
    a = command.attributes
    if isinstance(a, ScheduleActivityTaskCommandAttributes):
        return ("activity", a.activity_id, a.activity_type.name if a.activity_type else "")
    if isinstance(a, RequestCancelActivityTaskCommandAttributes):
        return ("cancel activity", str(scheduled_id or a.scheduled_event_id))
    if isinstance(a, StartTimerCommandAttributes):
        return ("timer", a.timer_id)
    if isinstance(a, CancelTimerCommandAttributes):
        return ("cancel timer", a.timer_id)
    if isinstance(a, RecordMarkerCommandAttributes):
        return ("marker", a.marker_name, marker_key(a.details))
    if isinstance(a, StartChildWorkflowExecutionCommandAttributes):
        return ("child", a.workflow_id, a.workflow_type.name if a.workflow_type else "")
    if isinstance(a, SignalExternalWorkflowExecutionCommandAttributes):
        target = a.execution.workflow_id if a.execution else ""
        return ("signal external", target, a.signal_name)
    if isinstance(a, RequestCancelExternalWorkflowExecutionCommandAttributes):
        return ("cancel external", a.workflow_id)
    if isinstance(a, ProtocolMessageCommandAttributes):
        update_id, _, kind = a.message_id.rpartition("/")
        return ("update " + kind, update_id)
    return (command.command_type.name,)


def event_identity(event: HistoryEvent) -> tuple[str, ...]:
    a = event.attributes
    if isinstance(a, ActivityTaskScheduledEventAttributes):
        return ("activity", a.activity_id, a.activity_type.name if a.activity_type else "")
    if isinstance(a, ActivityTaskCancelRequestedEventAttributes):
        return ("cancel activity", str(a.scheduled_event_id))
    if isinstance(a, TimerStartedEventAttributes):
        return ("timer", a.timer_id)
    if isinstance(a, TimerCanceledEventAttributes):
        return ("cancel timer", a.timer_id)
    if isinstance(a, MarkerRecordedEventAttributes):
        return ("marker", a.marker_name, marker_key(a.details))
    if isinstance(a, StartChildWorkflowExecutionInitiatedEventAttributes):
        return ("child", a.workflow_id, a.workflow_type.name if a.workflow_type else "")
    if isinstance(a, SignalExternalWorkflowExecutionInitiatedEventAttributes):
        target = a.workflow_execution.workflow_id if a.workflow_execution else ""
        return ("signal external", target, a.signal_name)
    if isinstance(a, RequestCancelExternalWorkflowExecutionInitiatedEventAttributes):
        target = a.workflow_execution.workflow_id if a.workflow_execution else ""
        return ("cancel external", target)
    if isinstance(a, WorkflowExecutionUpdateAcceptedEventAttributes):
        return ("update accept", a.protocol_instance_id)
    if isinstance(a, WorkflowExecutionUpdateCompletedEventAttributes):
        meta = a.meta.value() if a.meta is not None else None
        update_id = meta.get("updateId", "") if isinstance(meta, dict) else ""
        return ("update complete", str(update_id))
    return (_COMMAND_OF.get(event.event_type, event.event_type.name),)


_COMMAND_OF = {
    next(iter(events)): command.name for command, events in RECORDED_AS.items() if len(events) == 1
}


def marker_key(details: Opaque | None) -> str:
    """What tells two markers of one name apart: patch id, local activity or side effect seq."""
    body = details.value() if details is not None else None
    if not isinstance(body, dict):
        return ""
    for field, key in (("patch-data", "id"), ("side-effect-id", ""), ("data", "seq")):
        item = body.get(field)
        if isinstance(item, dict):
            value = _first_value(item)
            if key and isinstance(value, dict):
                return f"{field}={value.get(key)}"
            if not key:
                return f"{field}={value}"
    return ""


def _first_value(payloads_body: dict[str, JsonValue]) -> JsonValue:
    try:
        return payloads.first(Opaque.of(payloads_body))
    except BadPayload:
        return None


def describe_command(command: Command, scheduled_id: int = 0) -> str:
    return f"{command.command_type.name}({', '.join(identity(command, scheduled_id)[1:])})"


def describe_event(event: HistoryEvent) -> str:
    detail = ", ".join(event_identity(event)[1:])
    return f"{event.event_type.name}({detail}) (event {event.event_id})"


def in_batch(event: HistoryEvent, previous: HistoryEvent | None) -> bool:
    """ActivityTaskCanceled written with the cancel request of an unstarted activity.

    RequestCancelActivityTask on an activity that has not started writes
    ActivityTaskCancelRequested and ActivityTaskCanceled together, inside the command
    batch (service/history/workflow/mutable_state_impl.go, AddActivityTaskCanceledEvent
    from the request-cancel command handler); it does not end the batch.
    """
    return (
        previous is not None
        and event.event_type is _CANCELED
        and previous.event_type is _CANCEL_REQUESTED
        and getattr(event.attributes, "latest_cancel_requested_event_id", 0) == previous.event_id
    )


# in_batch runs per event: its members are read once, not off the enum class each time.
_CANCELED = EventType.ACTIVITY_TASK_CANCELED
_CANCEL_REQUESTED = EventType.ACTIVITY_TASK_CANCEL_REQUESTED
