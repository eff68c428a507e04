"""What a reset reapplies to its new run, event by event.

After the reset point the base run may have received signals and updates, and the
children it had started may have started, failed to start or closed. A reset writes
those again into the new run (`reapplyEvents` and `reapplyChildEvents` in
`service/history/ndc/workflow_resetter.go`, called with isReset):

- a signal as a new WorkflowExecutionSignaled with the same name, input, identity,
  header, request id and links (`AddWorkflowExecutionSignaled`; the sender of an external
  signal is not carried over);
- an update as UpdateAdmitted: an UpdateAdmitted event with its origin, an
  UpdateAccepted with origin REAPPLY from its request, or not at all when the Accepted
  event holds no request (an UpdateAdmitted before it does, and is reapplied itself);
- a child's StartFailed, Started and close events, only for a child the new run has
  pending (a child initiated before the reset point), so that the new run picks up the
  child the base run had started;
- a Nexus operation's Started and close events (Completed, Failed, Canceled, TimedOut),
  only for an operation the new run has pending (scheduled before the reset point), and
  a Started only for one not started there: the event is applied to the operation and
  written again with the same attributes (the event definitions' CherryPick,
  components/nexusoperations/events.go, then `AddHistoryEvent` in `reapplyEvents`); its
  Scheduled, CancelRequested and the cancel's answers are never reapplied (the workflow
  issues those commands again);
- an options update (WorkflowExecutionOptionsUpdated) as a new one with the same
  attributes and links, applied to the new run as the update was (the case in
  `reapplyEvents`; no exclude type switches it off);
- nothing else: cancel requests and terminations are not reapplied by a reset.

Each kind is switched by the request (`ResetWorkflowExecution.reapply_*`). The events
are appended as they come, with no workflow task scheduled in between: the reset
schedules one when all are written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from enum import Enum
from types import MappingProxyType

from core.enums import EventType, RetryState, UpdateAdmittedEventOrigin
from core.events import (
    ChildWorkflowExecutionCanceledEventAttributes,
    ChildWorkflowExecutionCompletedEventAttributes,
    ChildWorkflowExecutionFailedEventAttributes,
    ChildWorkflowExecutionStartedEventAttributes,
    ChildWorkflowExecutionTimedOutEventAttributes,
    HistoryEvent,
    OpaqueAttributes,
    StartChildWorkflowExecutionFailedEventAttributes,
    WorkflowExecutionSignaledEventAttributes,
    WorkflowExecutionUpdateAcceptedEventAttributes,
    WorkflowExecutionUpdateAdmittedEventAttributes,
)
from core.opaque import Opaque
from core.requests import (
    ChildOutcome,
    RecordChildExecutionCompleted,
    RecordChildExecutionStarted,
    RecordStartChildExecutionFailed,
    ResetWorkflowExecution,
)
from core.statemachine.history.service import attach, child, nexus, options_update, update
from core.statemachine.history.service.txn import Txn

E = EventType

_TIMED_OUT = ChildWorkflowExecutionTimedOutEventAttributes


class Reapplied(Enum):
    """What a reset may reapply; each is switched by a field of the request."""

    SIGNAL = "signals"
    UPDATE = "updates"
    CHILD = "children"
    NEXUS = "nexus"
    OPTIONS = "options"


def reapply(txn: Txn, events: Iterable[HistoryEvent], request: ResetWorkflowExecution) -> None:
    """Append to the new run what `events` (of the base run or its chain) hold."""
    switched = {
        Reapplied.SIGNAL: request.reapply_signals,
        Reapplied.UPDATE: request.reapply_updates,
        Reapplied.CHILD: request.reapply_children,
        Reapplied.NEXUS: request.reapply_nexus,
        Reapplied.OPTIONS: True,
    }
    for event in events:
        row = REAPPLY.get(event.event_type)
        if row is not None and switched[row[0]]:
            row[1](txn, event)


def _signal(txn: Txn, event: HistoryEvent) -> None:
    a = event.attributes
    assert isinstance(a, WorkflowExecutionSignaledEventAttributes)
    event_id = txn.append(
        E.WORKFLOW_EXECUTION_SIGNALED,
        WorkflowExecutionSignaledEventAttributes(
            signal_name=a.signal_name,
            input=a.input,
            identity=a.identity,
            header=a.header,
            request_id=a.request_id,
        ),
    )
    # with the base event's links (`reapplyEvents` in ndc/workflow_resetter.go passes
    # event.Links to AddWorkflowExecutionSignaled)
    txn.mark(event_id, links=event.links)


def _update_admitted(txn: Txn, event: HistoryEvent) -> None:
    a = event.attributes
    assert isinstance(a, WorkflowExecutionUpdateAdmittedEventAttributes)
    update.admit_by_event(txn, update.request_update_id(a.request), a.request, a.origin)


def _update_accepted(txn: Txn, event: HistoryEvent) -> None:
    a = event.attributes
    assert isinstance(a, WorkflowExecutionUpdateAcceptedEventAttributes)
    if a.accepted_request is not None:
        reapplied = UpdateAdmittedEventOrigin.REAPPLY
        update.admit_by_event(txn, a.protocol_instance_id, a.accepted_request, reapplied)


# How the new run records a child's close event.
_CHILD_OUTCOMES: Mapping[EventType, ChildOutcome] = MappingProxyType(
    {
        E.CHILD_WORKFLOW_EXECUTION_COMPLETED: ChildOutcome.COMPLETED,
        E.CHILD_WORKFLOW_EXECUTION_FAILED: ChildOutcome.FAILED,
        E.CHILD_WORKFLOW_EXECUTION_CANCELED: ChildOutcome.CANCELED,
        E.CHILD_WORKFLOW_EXECUTION_TIMED_OUT: ChildOutcome.TIMED_OUT,
        E.CHILD_WORKFLOW_EXECUTION_TERMINATED: ChildOutcome.TERMINATED,
    }
)


def _payload(a: object) -> Opaque | None:
    """The result, failure or details a child's close event carries."""
    if isinstance(a, ChildWorkflowExecutionCompletedEventAttributes):
        return a.result
    if isinstance(a, ChildWorkflowExecutionFailedEventAttributes):
        return a.failure
    if isinstance(a, ChildWorkflowExecutionCanceledEventAttributes):
        return a.details
    return None


ChildReport = (
    RecordStartChildExecutionFailed | RecordChildExecutionStarted | RecordChildExecutionCompleted
)


def child_report(event: HistoryEvent) -> ChildReport | None:
    """The report from the child's side that a child event in a parent's history stands
    for: its start failure, its start, or its close with the close event's result,
    failure or details, run id and (for a failure or a timeout) retry state; None for
    any other event. A reset replays it into the new run (below) and `tmodel conform`
    sends it to the model when it meets the event in a recorded history."""
    a = event.attributes
    initiated = getattr(a, "initiated_event_id", 0)
    if not isinstance(initiated, int):
        return None
    if isinstance(a, StartChildWorkflowExecutionFailedEventAttributes):
        return RecordStartChildExecutionFailed(initiated, a.cause)
    if isinstance(a, ChildWorkflowExecutionStartedEventAttributes):
        run_id = a.workflow_execution.run_id if a.workflow_execution is not None else ""
        return RecordChildExecutionStarted(initiated, run_id)
    outcome = _CHILD_OUTCOMES.get(event.event_type)
    if outcome is None:
        return None
    closer = getattr(a, "workflow_execution", None)
    run_id = str(closer.run_id) if closer is not None else ""
    retry_state = (
        a.retry_state
        if isinstance(a, (ChildWorkflowExecutionFailedEventAttributes, _TIMED_OUT))
        else RetryState.RETRY_POLICY_NOT_SET
    )
    return RecordChildExecutionCompleted(initiated, outcome, _payload(a), run_id, retry_state)


def _child_event(txn: Txn, event: HistoryEvent) -> None:
    """Replay a child's later event into the new run (`reapplyChildEvents`) through the
    child's table (service/child.py): a start failure or a start is written for a child
    not started yet, a close for a started one, and any other changes nothing."""
    report = child_report(event)
    if report is not None:
        child.reapply(txn, report)


def _nexus_event(txn: Txn, event: HistoryEvent) -> None:
    """Cherry-pick a Nexus operation's Started or close event into the new run: applied
    to the operation it names if the new run has it pending (a Started only to one not
    started), then written again as it was; any other is skipped (ErrStateMachineNotFound,
    ErrInvalidTransition)."""
    attrs = event.attributes
    value = attrs.value.value() if isinstance(attrs, OpaqueAttributes) else None
    if not isinstance(value, dict):
        return
    scheduled = str(value.get("scheduledEventId", ""))
    pending = txn.state.nexus_operations
    info = next((x for x in pending if str(x.scheduled_event_id) == scheduled), None)
    if info is None:
        return
    if event.event_type is E.NEXUS_OPERATION_STARTED:
        if info.operation_token:
            return
        token = value.get("operationToken") or value.get("operationId")
        started = replace(info, operation_token=str(token or ""))
        txn.set(nexus_operations=tuple(started if x is info else x for x in pending))
        nexus.arm_start_to_close(txn, started)
    else:
        txn.set(nexus_operations=tuple(x for x in pending if x is not info))
    txn.append(event.event_type, attrs)


def _options_updated(txn: Txn, event: HistoryEvent) -> None:
    """Write the options update again and apply it (AddWorkflowExecutionOptionsUpdatedEvent
    with the event's fields and links). The server skips an attach whose request id
    the new run already holds; a request attached after the reset point is not held."""
    attrs = event.attributes
    value = attrs.value.value() if isinstance(attrs, OpaqueAttributes) else None
    if isinstance(value, dict):
        attach.options_updated(txn, value, event.links)
        options_update.apply_updated(txn, value)


_NEXUS_CHERRY_PICKED = (
    E.NEXUS_OPERATION_STARTED,
    E.NEXUS_OPERATION_COMPLETED,
    E.NEXUS_OPERATION_FAILED,
    E.NEXUS_OPERATION_CANCELED,
    E.NEXUS_OPERATION_TIMED_OUT,
)


# What a reset reapplies, by event type, and what switches it.
REAPPLY: Mapping[EventType, tuple[Reapplied, Callable[[Txn, HistoryEvent], None]]] = (
    MappingProxyType(
        {
            E.WORKFLOW_EXECUTION_SIGNALED: (Reapplied.SIGNAL, _signal),
            E.WORKFLOW_EXECUTION_UPDATE_ADMITTED: (Reapplied.UPDATE, _update_admitted),
            E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED: (Reapplied.UPDATE, _update_accepted),
            E.START_CHILD_WORKFLOW_EXECUTION_FAILED: (Reapplied.CHILD, _child_event),
            E.CHILD_WORKFLOW_EXECUTION_STARTED: (Reapplied.CHILD, _child_event),
            **{kind: (Reapplied.CHILD, _child_event) for kind in _CHILD_OUTCOMES},
            **{kind: (Reapplied.NEXUS, _nexus_event) for kind in _NEXUS_CHERRY_PICKED},
            E.WORKFLOW_EXECUTION_OPTIONS_UPDATED: (Reapplied.OPTIONS, _options_updated),
        }
    )
)
