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

The pending Nexus operations it lists (`pending_nexus_operations`,
buildPendingNexusOperationInfo): each operation the run has scheduled and not closed,
with its Scheduled event's endpoint, service, operation, timeouts and time; STARTED once
the handler started it (with its token, also as the deprecated operation id), else
BACKING_OFF while a failed attempt's backoff runs (with the next attempt's time) and
SCHEDULED otherwise; its attempts so far, the last one's end and failure
(nexus_attempts.py). Not described: an operation's cancellation (`cancellation_info`)
and the circuit breaker's BLOCKED state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from temporalio.api.enums.v1 import common_pb2 as common_enums
from temporalio.api.workflow.v1 import message_pb2 as workflow_pb

from core.enums import EventType
from core.events import HistoryEvent, OpaqueAttributes, WorkflowExecutionStartedEventAttributes
from core.opaque import Opaque
from core.statemachine.history.service.nexus import duration_nanos

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
        callback_state(fe, info, (run_id, index), running)
        infos.append(info)
    return infos


def callback_state(fe: Frontend, info: Any, called_as: tuple[str, int], running: bool) -> None:
    """A callback's state (`info` a workflow's or a CHASM execution's CallbackInfo, which
    share these fields): standby while its execution runs, then scheduled until it is
    called (once: succeeded or failed, attempt 1)."""
    called = fe.callbacks_called.get(called_as)
    if running:
        info.state = common_enums.CALLBACK_STATE_STANDBY
    elif called is None:
        info.state = common_enums.CALLBACK_STATE_SCHEDULED
    else:
        took, when = called
        info.state = (
            common_enums.CALLBACK_STATE_SUCCEEDED if took else common_enums.CALLBACK_STATE_FAILED
        )
        info.attempt = 1
        info.last_attempt_complete_time.CopyFrom(convert.timestamp(when))


def pending_nexus_operations(
    fe: Frontend, state: Any, events: tuple[HistoryEvent, ...] | list[HistoryEvent]
) -> list[workflow_pb.PendingNexusOperationInfo]:
    """DescribeWorkflowExecution's pending Nexus operations of the run."""
    if not state.nexus_operations:
        return []
    by_id = {e.event_id: e for e in events}
    log = fe.nexus_tasks.attempts if fe.nexus_tasks is not None else None
    out = []
    for op in state.nexus_operations:
        info = workflow_pb.PendingNexusOperationInfo(
            endpoint=op.endpoint,
            service=op.service,
            operation=op.operation,
            operation_id=op.operation_token,
            operation_token=op.operation_token,
            scheduled_event_id=op.scheduled_event_id,
        )
        event = by_id.get(op.scheduled_event_id)
        attrs = event.attributes if event is not None else None
        if event is not None and isinstance(attrs, OpaqueAttributes):
            fields = attrs.value.value()
            fields = fields if isinstance(fields, dict) else {}
            for name, key in (
                ("schedule_to_close_timeout", "scheduleToCloseTimeout"),
                ("schedule_to_start_timeout", "scheduleToStartTimeout"),
                ("start_to_close_timeout", "startToCloseTimeout"),
            ):
                if fields.get(key) is not None:
                    getattr(info, name).CopyFrom(convert.duration(duration_nanos(fields[key])))
            info.scheduled_time.CopyFrom(convert.timestamp(event.event_time or 0))
        attempts = log.get((state.run_id, op.scheduled_event_id, False)) if log else None
        backing_off = attempts is not None and attempts.next_attempt > 0
        if op.operation_token:
            info.state = common_enums.PENDING_NEXUS_OPERATION_STATE_STARTED
        elif backing_off:
            info.state = common_enums.PENDING_NEXUS_OPERATION_STATE_BACKING_OFF
        else:
            info.state = common_enums.PENDING_NEXUS_OPERATION_STATE_SCHEDULED
        if attempts is not None:
            info.attempt = attempts.count
            if attempts.last_complete:
                info.last_attempt_complete_time.CopyFrom(convert.timestamp(attempts.last_complete))
            if attempts.last_failure is not None:
                info.last_attempt_failure.CopyFrom(attempts.last_failure)
            if backing_off and not op.operation_token:
                info.next_attempt_schedule_time.CopyFrom(convert.timestamp(attempts.next_attempt))
        out.append(info)
    return out
