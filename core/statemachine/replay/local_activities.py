"""Local activities: run inside the worker, remembered by a marker.

A local activity has no command until its result is known (marker.py). Live, the worker
runs it (`LocalActivityRunner`) between two passes of the scheduler, and its
``core_local_activity`` marker joins the task's commands; on replay the result is read
from the marker of the same workflow task (the task's command events, which the driver
hands over as `lookahead`). If that task has no such marker - a workflow task that only
heartbeat while the activity ran - the activity stays pending, as in sdk-core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import payloads
from core.commands import Command, RecordMarkerCommandAttributes
from core.enums import CommandType
from core.events import MarkerRecordedEventAttributes
from core.opaque import JsonValue, Opaque
from core.statemachine.replay.closing import failure_of
from core.statemachine.replay.definition import ActivityError, ApplicationError
from core.statemachine.replay.entity import Entity
from core.statemachine.replay.handles import body
from core.statemachine.replay.marker import LOCAL_ACTIVITY_MARKER, LocalActivityInput
from core.statemachine.replay.recorded import application_error

if TYPE_CHECKING:
    from core.statemachine.replay.engine import Execution, LocalActivityRunner


def settle(ex: Execution, run_local: LocalActivityRunner | None) -> None:
    """Resolve pending local activities until none can be resolved."""
    while ex.local:
        progressed = False
        for entity in list(ex.local):
            outcome = _recorded(ex, entity) if ex.replaying else _run(entity, run_local)
            if outcome is None:
                continue
            ex.local.remove(entity)
            _resolve(ex, entity, *outcome)
            progressed = True
        if not progressed:
            return
        ex.scheduler.run_until_idle()


def _recorded(ex: Execution, entity: Entity) -> tuple[object, Opaque | None] | None:
    for event in ex.lookahead:
        a = event.attributes
        if not isinstance(a, MarkerRecordedEventAttributes):
            continue
        if a.marker_name != LOCAL_ACTIVITY_MARKER:
            continue
        body = a.details.value() if a.details is not None else None
        data = (
            payloads.first(Opaque.of(body["data"]))
            if isinstance(body, dict) and "data" in body
            else None
        )
        if isinstance(data, dict) and data.get("seq") == entity.seq:
            result = body.get("result") if isinstance(body, dict) else None
            value = payloads.first(Opaque.of(result)) if isinstance(result, dict) else None
            return value, a.failure
    return None


def _run(
    entity: Entity, run_local: LocalActivityRunner | None
) -> tuple[object, Opaque | None] | None:
    if run_local is None:
        return None
    try:
        return run_local(entity.name, entity.args or [], 1), None
    except ApplicationError as error:
        return None, failure_of(error)


def _resolve(ex: Execution, entity: Entity, value: object, failure: Opaque | None) -> None:
    outputs = ex.step(entity, LocalActivityInput.RESULT)
    if "emit_marker" in outputs:
        data = {
            "seq": entity.seq,
            "attempt": 1,
            "activity_id": entity.key,
            "activity_type": entity.name,
        }
        details: dict[str, JsonValue] = {"data": body(data)}
        if failure is None:
            details["result"] = body(value)
        ex.emit(
            Command(
                CommandType.RECORD_MARKER,
                RecordMarkerCommandAttributes(
                    marker_name=LOCAL_ACTIVITY_MARKER, details=Opaque.of(details), failure=failure
                ),
            ),
            entity,
        )
    future = entity.future
    if future is None or future.done():
        return
    if failure is None:
        future.set_result(value)
    else:
        future.set_exception(ActivityError(entity.name, entity.key, application_error(failure)))
