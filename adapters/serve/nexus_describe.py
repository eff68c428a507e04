"""The completion callbacks DescribeWorkflowExecution lists (`callbacks`): each callback
a run was started with (its Started event's) or had attached later (a
WorkflowExecutionOptionsUpdated event's, core attach.py), with the time of the event
that registered it, the trigger (the run's close) and its state
(service/history/api/describeworkflow/api.go; the callback state machine in
components/callbacks/statemachine.go): STANDBY while the run is open, SCHEDULED once it
closed, then SUCCEEDED (or FAILED) on its one attempt, with that attempt's time, as
nexus_callbacks.py called it.

Not modelled: the server's retries of a failed call (BACKING_OFF, the next attempt's
time, the last failure); a call here is made once (nexus_callbacks.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from temporalio.api.enums.v1 import common_pb2 as common_enums
from temporalio.api.workflow.v1 import message_pb2 as workflow_pb

from core.enums import EventType
from core.events import HistoryEvent, OpaqueAttributes, WorkflowExecutionStartedEventAttributes
from core.opaque import Opaque

from . import convert

if TYPE_CHECKING:
    from .frontend import Frontend


def registered(events: tuple[HistoryEvent, ...] | list[HistoryEvent]) -> list[tuple[Any, int]]:
    """Each completion callback of the run, in the order the run keeps them, with the
    time of the event that registered it."""
    out: list[tuple[Any, int]] = []
    for event in events:
        attrs = event.attributes
        given: Opaque | None = None
        if isinstance(attrs, WorkflowExecutionStartedEventAttributes):
            given = attrs.completion_callbacks
        elif event.event_type is EventType.WORKFLOW_EXECUTION_OPTIONS_UPDATED and isinstance(
            attrs, OpaqueAttributes
        ):
            fields = attrs.value.value()
            if isinstance(fields, dict) and "attachedCompletionCallbacks" in fields:
                given = Opaque.of(fields["attachedCompletionCallbacks"])
        listed = given.value() if given is not None else None
        time = event.event_time or 0
        out.extend((c, time) for c in (listed if isinstance(listed, list) else []))
    return out


def callback_infos(
    fe: Frontend, run_id: str, running: bool, events: tuple[HistoryEvent, ...] | list[HistoryEvent]
) -> list[workflow_pb.CallbackInfo]:
    infos = []
    for index, (callback, time) in enumerate(registered(events)):
        info = workflow_pb.CallbackInfo()
        convert.fill(info.callback, callback)
        info.trigger.workflow_closed.SetInParent()
        info.registration_time.CopyFrom(convert.timestamp(time))
        called = fe.callbacks_called.get((run_id, index))
        if running:
            info.state = common_enums.CALLBACK_STATE_STANDBY
        elif called is None:
            info.state = common_enums.CALLBACK_STATE_SCHEDULED
        else:
            took, when = called
            info.state = (
                common_enums.CALLBACK_STATE_SUCCEEDED
                if took
                else common_enums.CALLBACK_STATE_FAILED
            )
            info.attempt = 1
            info.last_attempt_complete_time.CopyFrom(convert.timestamp(when))
        infos.append(info)
    return infos
