"""What replay does with the events that concern an entity the code started.

`command_recorded`: a command event matched its command (engine.py `_match`); the
entity learns the event id that later events will name (an activity's Scheduled id,
a child's Initiated id) and its machine steps. `resolution`: a later event (activity
closed, timer fired, child started or closed, external request answered) steps the
machine; if the row says ``resolve``, settling the workflow's future is queued - the
engine runs queued resolutions after signals and updates, as the SDKs do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import payloads
from core.commands import Command
from core.enums import EventType
from core.errors import Nondeterminism
from core.events import (
    ActivityTaskCanceledEventAttributes,
    ActivityTaskCompletedEventAttributes,
    ActivityTaskFailedEventAttributes,
    ActivityTaskTimedOutEventAttributes,
    ChildWorkflowExecutionCanceledEventAttributes,
    ChildWorkflowExecutionCompletedEventAttributes,
    ChildWorkflowExecutionFailedEventAttributes,
    ChildWorkflowExecutionStartedEventAttributes,
    ChildWorkflowExecutionTimedOutEventAttributes,
    HistoryEvent,
    MarkerRecordedEventAttributes,
    UpsertWorkflowSearchAttributesEventAttributes,
)
from core.opaque import Opaque
from core.statemachine.replay.definition import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    ExternalWorkflowError,
    TimeoutFailure,
)
from core.statemachine.replay.entity import Entity
from core.statemachine.replay.marker import PATCH_MARKER
from core.statemachine.replay.scheduler import CancelledError, Future

if TYPE_CHECKING:
    from core.statemachine.replay.engine import Execution

E = EventType
CHANGE_VERSION = "TemporalChangeVersion"  # the search attribute a patch call upserts
# Read per command event: read once (a read off the enum class runs EnumType's hook).
_SCHEDULED = E.ACTIVITY_TASK_SCHEDULED


def command_recorded(ex: Execution, command: Command, entity: Entity, event: HistoryEvent) -> None:
    ex.step(entity, entity.inputs[event.event_type])
    if not entity.event_id:
        entity.event_id = event.event_id
        ex.by_event[event.event_id] = entity
    if entity.kind == "activity" and event.event_type is _SCHEDULED:
        entity.scheduled = event.event_id


def resolution(ex: Execution, event: HistoryEvent) -> None:
    """A non-command event about an entity: step its machine, queue its resolution."""
    ref = _reference(event)
    entity = ex.by_event.get(ref)
    if entity is None:
        raise Nondeterminism(
            event.event_id, f"{event.event_type.name} naming event {ref}", "no such command"
        )
    input_ = entity.inputs.get(event.event_type)
    if input_ is None:  # e.g. a TimerFired naming an activity's ActivityTaskScheduled
        raise Nondeterminism(
            event.event_id,
            f"{event.event_type.name} naming event {ref}",
            f"the {entity.kind} of event {ref}, which {event.event_type.name} cannot name",
        )
    outputs = ex.step(entity, input_)
    if "resolve_start" in outputs and entity.start_future is not None:
        a = event.attributes
        assert isinstance(a, ChildWorkflowExecutionStartedEventAttributes)
        run_id = a.workflow_execution.run_id if a.workflow_execution else ""
        _queue(ex, entity.start_future, run_id, None)
    if "resolve_start_failed" in outputs:
        error = ChildWorkflowError(entity.name, entity.key, ApplicationError("start failed"))
        if entity.start_future is not None:
            _queue(ex, entity.start_future, None, error)
        if entity.future is not None:
            _queue(ex, entity.future, None, error)
    if "resolve" in outputs and entity.future is not None:
        value, failure = _outcome(entity, event)
        _queue(ex, entity.future, value, failure)


def _queue(
    ex: Execution, future: Future[object], value: object, error: BaseException | None
) -> None:
    def settle() -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    ex.resolutions.append(settle)


def _reference(event: HistoryEvent) -> int:
    a = event.attributes
    for name in ("scheduled_event_id", "initiated_event_id", "started_event_id"):
        value = getattr(a, name, None)
        if isinstance(value, int) and value:
            return value
    return 0


def _outcome(entity: Entity, event: HistoryEvent) -> tuple[object, BaseException | None]:
    a = event.attributes
    if isinstance(
        a, ActivityTaskCompletedEventAttributes | ChildWorkflowExecutionCompletedEventAttributes
    ):
        return payloads.first(a.result), None
    cause = _cause(a)
    if cause is None:
        return None, None  # a timer fired, an external request was delivered
    if entity.kind == "activity":
        return None, ActivityError(entity.name, entity.key, cause)
    if entity.kind == "child":
        return None, ChildWorkflowError(entity.name, entity.key, cause)
    return None, ExternalWorkflowError(f"{event.event_type.name}")


def _cause(a: object) -> BaseException | None:
    if isinstance(
        a, ActivityTaskFailedEventAttributes | ChildWorkflowExecutionFailedEventAttributes
    ):
        return application_error(a.failure)
    if isinstance(a, ActivityTaskTimedOutEventAttributes):
        return TimeoutFailure(_timeout_type(a.failure))
    if isinstance(a, ChildWorkflowExecutionTimedOutEventAttributes):
        return TimeoutFailure("START_TO_CLOSE")
    if isinstance(
        a, ActivityTaskCanceledEventAttributes | ChildWorkflowExecutionCanceledEventAttributes
    ):
        return CancelledError()
    name = type(a).__name__
    if "Failed" in name or "Terminated" in name:
        return ApplicationError(name.removesuffix("EventAttributes"))
    return None


def application_error(failure: Opaque | None) -> ApplicationError:
    """The ApplicationError a Failure message stands for."""
    body = failure.value() if failure is not None else None
    info = body.get("applicationFailureInfo") if isinstance(body, dict) else None
    non_retryable = bool(info.get("nonRetryable")) if isinstance(info, dict) else False
    return ApplicationError(
        payloads.failure_message(failure),
        type=payloads.failure_type(failure),
        non_retryable=non_retryable,
    )


def _timeout_type(failure: Opaque | None) -> str:
    body = failure.value() if failure is not None else None
    while isinstance(body, dict):
        info = body.get("timeoutFailureInfo")
        if isinstance(info, dict):
            return str(info.get("timeoutType", "")).removeprefix("TIMEOUT_TYPE_")
        body = body.get("cause")
    return ""


def deprecated_patch(event: HistoryEvent) -> str | None:
    """The patch id if `event` is a deprecated patch's marker (which code may omit)."""
    a = event.attributes
    if not isinstance(a, MarkerRecordedEventAttributes) or a.marker_name != PATCH_MARKER:
        return None
    data = patch_data(a.details)
    if data is None or not data[1]:
        return None
    return data[0]


def change_version_upsert(event: HistoryEvent) -> bool:
    """Is `event` the upsert of TemporalChangeVersion alone that a patch call writes?"""
    a = event.attributes
    if not isinstance(a, UpsertWorkflowSearchAttributesEventAttributes):
        return False
    body = a.search_attributes.value() if a.search_attributes is not None else None
    fields = body.get("indexedFields") if isinstance(body, dict) else None
    return isinstance(fields, dict) and list(fields) == [CHANGE_VERSION]


def patch_data(details: Opaque | None) -> tuple[str, bool] | None:
    body = details.value() if details is not None else None
    item = body.get("patch-data") if isinstance(body, dict) else None
    if not isinstance(item, dict):
        return None
    value = payloads.first(Opaque.of(item))
    if not isinstance(value, dict):
        return None
    return str(value.get("id", "")), bool(value.get("deprecated", False))
