"""A Nexus operation, as the caller's history service records it: the command that
schedules it and the handler's answer to its start, as rows of one table that decides.

```
                                   started             completed | failed | canceled
  ScheduleNexusOperation ▶ Scheduled ───────▶ Started ──────────────────────────────▶ Closed
                               └──── completed | failed | canceled ─────────────────▲
```

How it runs (as service/external.py): the command handler (`schedule`) validates the
command, writes NexusOperationScheduled and the pending record (`nexus_operations`).
Delivering the start to the handler is the host's (the server's outbound queue and
invocation executor, components/nexusoperations/executors.go; `tmodel serve` dispatches
it through its Nexus task queues). The handler's answer to the start, and
later the completion its callback delivers (an asynchronous operation), come back as
one `RecordNexusOperationResult` each, which `classify` turns into a table input; the operation's
state is read off its pending record (none pending is `Closed`); `fsm.decide` picks the
row; the handler writes the outcome event; a row ending in Closed deletes the record.

Rules (components/nexusoperations/workflow/commands.go HandleScheduleCommand;
components/nexusoperations/events.go and statemachine.go):

- The command names a registered endpoint (or the reserved system endpoint, checked by
  nexus_system.py), else the workflow task fails with
  BAD_SCHEDULE_NEXUS_OPERATION_ATTRIBUTES `endpoint "NAME" not found`; the Scheduled
  event records the endpoint's id, a request id the server draws, the header with its
  keys lower-cased, and a schedule-to-close timeout capped at the run timeout.
- An asynchronous start writes NexusOperationStarted (the operation token, also as the
  deprecated operation id, and the handler's links on the event).
- A result writes NexusOperationCompleted (scheduled event id, result, request id); a
  failure NexusOperationFailed and a cancellation NexusOperationCanceled, whose failure
  is the server's "nexus operation completed unsuccessfully" with
  NexusOperationFailureInfo (and the token once started), caused by the handler's
  failure (executors.go createNexusOperationFailure; completion.go). A completion that
  arrives before the start's answer first writes the Started event the answer would
  have (fabricateStartedEventIfMissing), dated at the handler run's start.
- A report about an operation no longer pending (or a second start) is NOT_FOUND and
  changes nothing; so is any report to a closed run.
- The outcome is buffered while a workflow task is in flight, and a workflow task is
  scheduled if none is pending.

The caller's cancellation (components/nexusoperations/workflow/commands.go
HandleCancelCommand; statemachine.go Operation.Cancel; executors.go
saveCancelationResult):

- RequestCancelNexusOperation names a pending operation, else the workflow task fails
  with BAD_REQUEST_CANCEL_NEXUS_OPERATION_ATTRIBUTES; a second request for the same
  operation fails it too. An operation whose outcome is buffered (it closed while the
  task was in flight) may still be canceled: the event is written and nothing follows.
- The command writes NexusOperationCancelRequested and marks the record; the host sends
  the cancel to the handler once the operation has started (at once if it has).
- The handler's acknowledgement writes NexusOperationCancelRequestCompleted, a
  non-retryable failure NexusOperationCancelRequestFailed (both marked worker-may-ignore,
  both workflow-task triggers, events.go); the operation stays pending until its own
  outcome (for a workflow-run operation, the handler run's close, by its callback).

Timeouts (statemachine.go, the timeout tasks; executors.go recordOperationTimeout): the
Scheduled event carries the schedule-to-start and start-to-close timeouts given, each
trimmed to the schedule-to-close one; each set timeout is a timer task of the outbox
(`NexusTimeoutTask`: schedule-to-close and schedule-to-start armed by the schedule,
start-to-close by the start), kept with the run and fired by the timer queue as the
other timers are; its firing (`timeout_fired`) is the table's input naming the timeout
and writes NexusOperationTimedOut (the wrapper caused by "operation timed out" with the
timeout's type), unless the timer is stale for the operation's state (rows above).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from core.commands import Command
from core.enums import EventType, WorkflowTaskFailedCause
from core.errors import InvalidDefinition
from core.events import OpaqueAttributes
from core.fastenum import Enum
from core.opaque import JsonValue, Opaque
from core.requests import NexusTimeoutTask, Ok, RecordNexusOperationResult, Reply
from core.statemachine import fsm
from core.statemachine.history.service import nexus_system
from core.statemachine.history.service.child_events import NOT_PENDING, apply_report
from core.statemachine.history.service.enforce import Rejection
from core.statemachine.history.service.ids import new_run_id
from core.statemachine.history.service.nexus_system import SYSTEM_ENDPOINT
from core.statemachine.history.service.retry import parse_duration
from core.statemachine.history.service.state import (
    MutableState,
    NexusOperationInfo,
)
from core.statemachine.history.service.txn import Outcome, Txn

if TYPE_CHECKING:
    from core.statemachine.history.service.command_handlers import Batch

E = EventType
Cause = WorkflowTaskFailedCause
BAD_ATTRIBUTES = Cause.BAD_SCHEDULE_NEXUS_OPERATION_ATTRIBUTES
# The server's wrapper of an operation's failure (nexusoperations.FailedEventDefinition
# and the caller's view of it, components/nexusoperations/events.go).
FAILED_MESSAGE = "nexus operation completed unsuccessfully"


class PendingNexusOperationState(Enum):
    """A Nexus operation in the caller's mutable state. The SDK side's machine is
    sdk-core's nexus operation state machine."""

    SCHEDULED = "Scheduled"  # its Scheduled event written, the start not answered yet
    STARTED = "Started"  # started asynchronously: its completion comes by callback
    CLOSED = "Closed"  # its outcome written and its record deleted (or never known)


class NexusInput(Enum):
    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    CANCEL_COMPLETED = "cancel_completed"  # the handler acknowledged the cancel request
    CANCEL_FAILED = "cancel_failed"  # the handler refused it (not retryable)
    # a timeout's timer task fired (armed in the outbox: tasks of statemachine.go)
    SCHEDULE_TO_CLOSE_TIMED_OUT = "schedule_to_close_timed_out"
    SCHEDULE_TO_START_TIMED_OUT = "schedule_to_start_timed_out"
    START_TO_CLOSE_TIMED_OUT = "start_to_close_timed_out"


_S = PendingNexusOperationState
_I = NexusInput
R = fsm.Row
_OUTCOMES = (_I.COMPLETED, _I.FAILED, _I.CANCELED)
_CANCEL_ANSWERS = (_I.CANCEL_COMPLETED, _I.CANCEL_FAILED)
_RECORD = {_I.COMPLETED: "record_completed", _I.FAILED: "record_failed"}

TABLE = fsm.make_table(
    "nexus operation (service)",
    "INV-RESULT-AT-MOST-ONCE",
    PendingNexusOperationState,
    NexusInput,
    _S.SCHEDULED,
    [
        R(_S.SCHEDULED, _I.STARTED, _S.STARTED, handler="record_started"),
        *(
            R(source, i, _S.CLOSED, handler=_RECORD.get(i, "record_canceled"))
            for source in (_S.SCHEDULED, _S.STARTED)
            for i in _OUTCOMES
        ),
        # The cancel request's outcome: the operation stays started (the cancel is sent
        # only to a started operation, statemachine.go Operation.Cancel).
        *(R(_S.STARTED, i, _S.STARTED, handler="record_cancel_answer") for i in _CANCEL_ANSWERS),
        *(R(_S.SCHEDULED, i, _S.SCHEDULED, handler="reject_not_found") for i in _CANCEL_ANSWERS),
        # A second answer to the start (a retried start answered twice).
        R(_S.STARTED, _I.STARTED, _S.STARTED, handler="reject_not_found"),
        # Timeouts: schedule-to-close closes a scheduled or started operation; the
        # schedule-to-start timer only one not started yet, the start-to-close one (armed
        # by the start) only a started one; the other is stale (the tasks' Validate).
        *(
            R(source, _I.SCHEDULE_TO_CLOSE_TIMED_OUT, _S.CLOSED, handler="record_timed_out")
            for source in (_S.SCHEDULED, _S.STARTED)
        ),
        R(_S.SCHEDULED, _I.SCHEDULE_TO_START_TIMED_OUT, _S.CLOSED, handler="record_timed_out"),
        R(_S.STARTED, _I.SCHEDULE_TO_START_TIMED_OUT, _S.STARTED, handler="reject_not_found"),
        R(_S.STARTED, _I.START_TO_CLOSE_TIMED_OUT, _S.CLOSED, handler="record_timed_out"),
        R(_S.SCHEDULED, _I.START_TO_CLOSE_TIMED_OUT, _S.SCHEDULED, handler="reject_not_found"),
        # Duplicate and late answers about an operation no longer pending.
        *(R(_S.CLOSED, i, _S.CLOSED, handler="reject_not_found") for i in NexusInput),
    ],
)


# -- the command ----------------------------------------------------------------------


def _attributes(command: Command) -> dict[str, JsonValue] | None:
    attrs = command.attributes
    if not isinstance(attrs, OpaqueAttributes):
        return None
    value = attrs.value.value()
    return value if isinstance(value, dict) else None


def _seconds(duration: JsonValue) -> float:
    """A protojson Duration ("1.5s") in seconds (0 when unset)."""
    return float(duration[:-1]) if isinstance(duration, str) and duration.endswith("s") else 0.0


def _capped_timeout(timeout: JsonValue, run_timeout_ns: int) -> JsonValue:
    """The schedule-to-close timeout trimmed to the run timeout (HandleScheduleCommand:
    unset or longer than a set run timeout becomes the run timeout)."""
    if run_timeout_ns > 0 and (not timeout or _seconds(timeout) * 1e9 > run_timeout_ns):
        whole, frac = divmod(run_timeout_ns, 1_000_000_000)
        return f"{whole}s" if not frac else f"{whole}.{frac:09d}".rstrip("0") + "s"
    return timeout


def schedule(b: Batch, command: Command) -> Cause | Rejection | None:
    """ScheduleNexusOperation: validate, write NexusOperationScheduled and the pending
    record (the host delivers the start)."""
    a = _attributes(command)
    if not a:
        return Rejection(BAD_ATTRIBUTES, "empty ScheduleNexusOperationCommandAttributes", False)
    endpoint = a.get("endpoint")
    name = endpoint if isinstance(endpoint, str) else ""
    endpoint_id = "" if name == SYSTEM_ENDPOINT else b.nexus_endpoints.get(name)
    refused = nexus_system.refusal(a) if name == SYSTEM_ENDPOINT else None
    if endpoint_id is None or refused is not None:
        message = refused or f"endpoint {json.dumps(name)} not found"
        return Rejection(BAD_ATTRIBUTES, message, False)
    s = b.txn.state
    event_id = s.next_event_id  # the Scheduled event's
    # the server draws a random UUID (uuid.NewString); the model derives one
    request_id = new_run_id(s.run_id, f"nexus/{event_id}")
    header = a.get("nexusHeader")
    lowered = {k.lower(): v for k, v in header.items()} if isinstance(header, dict) else {}
    fields: dict[str, JsonValue] = {
        "endpoint": name,
        "service": a.get("service", ""),
        "operation": a.get("operation", ""),
    }
    if "input" in a:
        fields["input"] = a["input"]
    timeout = _capped_timeout(a.get("scheduleToCloseTimeout"), s.run_timeout)
    if timeout:
        fields["scheduleToCloseTimeout"] = timeout
    if lowered:
        fields["nexusHeader"] = lowered
    fields["workflowTaskCompletedEventId"] = str(b.wtc)
    fields["requestId"] = request_id
    if endpoint_id:  # none for the system endpoint (nexus_system.py)
        fields["endpointId"] = endpoint_id
    # the secondary timeouts, each trimmed to the schedule-to-close one (HandleScheduleCommand)
    for key in ("scheduleToStartTimeout", "startToCloseTimeout"):
        secondary = a.get(key)
        if _seconds(secondary) > 0:
            longer = _seconds(timeout) > 0 and _seconds(secondary) > _seconds(timeout)
            fields[key] = timeout if longer else secondary
    attributes = OpaqueAttributes("nexusOperationScheduledEventAttributes", Opaque.of(fields))
    scheduled = b.txn.append(E.NEXUS_OPERATION_SCHEDULED, attributes)
    service, operation = fields["service"], fields["operation"]
    info = NexusOperationInfo(
        scheduled,
        name,
        endpoint_id,
        service if isinstance(service, str) else "",
        operation if isinstance(operation, str) else "",
        request_id,
        start_to_close_timeout=duration_nanos(fields.get("startToCloseTimeout")),
    )
    b.txn.set(nexus_operations=(*s.nexus_operations, info))
    for key, outcome in _SCHEDULE_TIMERS:
        _arm(b.txn, info, outcome, duration_nanos(fields.get(key)))
    return None


# The timers an operation's schedule arms (its Scheduled event's field, the outcome the
# firing reports): statemachine.go's creation tasks (TimeoutTask, ScheduleToStartTimeoutTask).
_SCHEDULE_TIMERS = (
    ("scheduleToCloseTimeout", _I.SCHEDULE_TO_CLOSE_TIMED_OUT),
    ("scheduleToStartTimeout", _I.SCHEDULE_TO_START_TIMED_OUT),
)


def duration_nanos(duration: JsonValue) -> int:
    """A proto JSON Duration ("1.5s") in nanoseconds (0 when unset or malformed)."""
    try:
        return parse_duration(duration) if isinstance(duration, str) else 0
    except ValueError:
        return 0


def _arm(txn: Txn, info: NexusOperationInfo, outcome: NexusInput, span: int) -> None:
    """A timer task of the outbox for one of the operation's timeouts, `span` from now
    (none for an unset timeout)."""
    if span > 0:
        task = NexusTimeoutTask(
            info.scheduled_event_id, info.request_id, outcome.value, txn.now + span
        )
        txn.task(task)


def timeout_fired(state: MutableState, task: NexusTimeoutTask, now: int) -> Outcome:
    """The timer queue delivers a timeout's task: the row for its timeout on the
    operation it was armed for writes NexusOperationTimedOut; a task the operation has
    outlived (closed, started for a schedule-to-start timer, a later operation at the
    same event id) is stale and changes nothing (the tasks' Validate, statemachine.go,
    as the activity timers' stamps, activity.py)."""
    report = RecordNexusOperationResult(task.scheduled_event_id, task.request_id, task.outcome)
    return handle(state, report, now)


def timeout_armed(state: MutableState, task: NexusTimeoutTask) -> bool:
    """Would this timeout's task still time the operation out (a running run, its
    operation pending, the row for it not a stale one)? What a host's time skipping asks
    before jumping to it."""
    info = record_of(state, task.scheduled_event_id)
    if not state.running or info is None or info.request_id != task.request_id:
        return False
    row = fsm.decide(TABLE, state_of(info), NexusInput(task.outcome))
    return row.handler == "record_timed_out"


CANCEL_BAD_ATTRIBUTES = Cause.BAD_REQUEST_CANCEL_NEXUS_OPERATION_ATTRIBUTES
_TERMINAL = {
    E.NEXUS_OPERATION_COMPLETED,
    E.NEXUS_OPERATION_FAILED,
    E.NEXUS_OPERATION_CANCELED,
    E.NEXUS_OPERATION_TIMED_OUT,
}


def _buffered_outcome(state: MutableState, scheduled_event_id: int) -> bool:
    """An outcome of the operation buffered while the workflow task is in flight
    (makeNexusOperationTerminalEventFilter, commands.go)."""
    for event in state.buffered:
        attrs = event.attributes
        if event.event_type in _TERMINAL and isinstance(attrs, OpaqueAttributes):
            value = attrs.value.value()
            if isinstance(value, dict) and value.get("scheduledEventId") == str(scheduled_event_id):
                return True
    return False


def request_cancel(b: Batch, command: Command) -> Cause | Rejection | None:
    """RequestCancelNexusOperation (commands.go HandleCancelCommand): write
    NexusOperationCancelRequested and mark the pending record (the host sends the cancel
    to the handler once the operation has started)."""
    a = _attributes(command)
    if a is None:
        message = "empty CancelNexusOperationCommandAttributes"
        return Rejection(CANCEL_BAD_ATTRIBUTES, message, False)
    raw = a.get("scheduledEventId", 0)
    scheduled_event_id = int(raw) if isinstance(raw, (int, str)) and str(raw).isdigit() else 0
    s = b.txn.state
    info = record_of(s, scheduled_event_id)
    buffered = _buffered_outcome(s, scheduled_event_id)
    if info is None and not buffered:
        message = (
            "requested cancelation for a non-existing or already completed operation"
            f" with scheduled event ID of {scheduled_event_id}"
        )
        return Rejection(CANCEL_BAD_ATTRIBUTES, message, False)
    if info is not None and info.cancel_requested_event_id:
        message = (
            "cancelation was already requested for an operation with scheduled event ID"
            f" {scheduled_event_id}"
        )
        return Rejection(CANCEL_BAD_ATTRIBUTES, message, False)
    fields: dict[str, JsonValue] = {
        "scheduledEventId": str(scheduled_event_id),
        "workflowTaskCompletedEventId": str(b.wtc),
    }
    attributes = OpaqueAttributes("nexusOperationCancelRequestedEventAttributes", Opaque.of(fields))
    requested = b.txn.append(E.NEXUS_OPERATION_CANCEL_REQUESTED, attributes)
    if info is not None:
        _put_record(b.txn, dataclasses.replace(info, cancel_requested_event_id=requested))
    return None


# -- the handler's answers ------------------------------------------------------------


def classify(request: RecordNexusOperationResult) -> NexusInput:
    return NexusInput(request.outcome)


def _put_record(txn: Txn, info: NexusOperationInfo) -> None:
    """`info` in place of the pending record of the same operation."""
    txn.set(
        nexus_operations=tuple(
            info if x.scheduled_event_id == info.scheduled_event_id else x
            for x in txn.state.nexus_operations
        )
    )


def record_of(state: MutableState, scheduled_event_id: int) -> NexusOperationInfo | None:
    return next(
        (x for x in state.nexus_operations if x.scheduled_event_id == scheduled_event_id), None
    )


def state_of(info: NexusOperationInfo | None) -> PendingNexusOperationState:
    if info is None:
        return _S.CLOSED
    return _S.STARTED if info.operation_token else _S.SCHEDULED


Row: TypeAlias = fsm.Row[PendingNexusOperationState, NexusInput]


def decide(txn: Txn, request: RecordNexusOperationResult) -> tuple[Row, Reply]:
    """Run the row `request` selects on the operation it names; return the row and the
    reply. The state the handler leaves must be the row's target."""
    info = _record_for(txn.state, request)
    row = fsm.decide(TABLE, state_of(info), classify(request))
    reply = HANDLERS[row.handler](txn, info, request)
    if row.target is _S.CLOSED and info is not None:
        rest = tuple(
            x for x in txn.state.nexus_operations if x.scheduled_event_id != info.scheduled_event_id
        )
        txn.set(nexus_operations=rest)
    fsm.check_target(TABLE, row, state_of(_record_for(txn.state, request)))
    return row, reply


def _record_for(
    state: MutableState, request: RecordNexusOperationResult
) -> NexusOperationInfo | None:
    """The pending record of the operation `request` is about (None for an answer meant
    for another operation at the same event id: another request id)."""
    info = record_of(state, request.scheduled_event_id)
    return info if info is not None and info.request_id == request.request_id else None


def handle(state: MutableState, request: RecordNexusOperationResult, now: int) -> Outcome:
    """An answer about an operation this run scheduled."""
    return apply_report(state, now, lambda txn: decide(txn, request)[1])


def _write(
    txn: Txn,
    event_type: EventType,
    key: str,
    fields: dict[str, JsonValue],
    links: Opaque | None = None,
    event_time: int | None = None,
    worker_may_ignore: bool = False,
) -> None:
    """Write (or buffer) an event, with the links, time and worker-may-ignore given."""
    event_id = txn.add(event_type, OpaqueAttributes(key, Opaque.of(fields)))
    txn.mark(event_id, links=links, event_time=event_time, worker_may_ignore=worker_may_ignore)


def _started(txn: Txn, info: NexusOperationInfo, request: RecordNexusOperationResult) -> None:
    """NexusOperationStarted, and the record's token (StartedEventDefinition)."""
    token = request.operation_token
    fields: dict[str, JsonValue] = {
        "scheduledEventId": str(info.scheduled_event_id),
        "operationId": token,
        "requestId": info.request_id,
        "operationToken": token,
    }
    key = "nexusOperationStartedEventAttributes"
    event_time = request.start_time if request.outcome != "started" else None
    _write(txn, E.NEXUS_OPERATION_STARTED, key, fields, request.links, event_time)
    _put_record(txn, dataclasses.replace(info, operation_token=token))
    if request.outcome == "started":  # a completion closes the operation at once
        arm_start_to_close(txn, info)


def arm_start_to_close(txn: Txn, info: NexusOperationInfo) -> None:
    """The start-to-close timer a start arms (StartToCloseTimeoutTask, statemachine.go)."""
    _arm(txn, info, _I.START_TO_CLOSE_TIMED_OUT, info.start_to_close_timeout)


def _record_started(
    txn: Txn, info: NexusOperationInfo | None, request: RecordNexusOperationResult
) -> Reply:
    if info is None:
        raise InvalidDefinition(f"{TABLE.name}: a Closed row read the record")
    _started(txn, info, request)
    return Ok()


def _opened(
    txn: Txn, info: NexusOperationInfo | None, request: RecordNexusOperationResult
) -> NexusOperationInfo:
    """The operation's record, started first if a completion arrives before the start's
    answer did (fabricateStartedEventIfMissing)."""
    if info is None:
        raise InvalidDefinition(f"{TABLE.name}: a Closed row read the record")
    if not info.operation_token and request.operation_token:
        _started(txn, info, request)
        return dataclasses.replace(info, operation_token=request.operation_token)
    return info


def _completed(
    txn: Txn, info: NexusOperationInfo | None, request: RecordNexusOperationResult
) -> Reply:
    info = _opened(txn, info, request)
    fields: dict[str, JsonValue] = {"scheduledEventId": str(info.scheduled_event_id)}
    if request.result is not None:
        fields["result"] = request.result.value()
    fields["requestId"] = info.request_id
    key = "nexusOperationCompletedEventAttributes"
    # a start's synchronous result carries the handler's links; a callback's completion
    # (with a token) does not, its links went to the Started event
    links = None if request.operation_token else request.links
    _write(txn, E.NEXUS_OPERATION_COMPLETED, key, fields, links)
    return Ok()


def _failure(info: NexusOperationInfo, cause: Opaque | None) -> dict[str, JsonValue]:
    """createNexusOperationFailure (executors.go)."""
    failure: dict[str, JsonValue] = {"message": FAILED_MESSAGE}
    if cause is not None:
        failure["cause"] = cause.value()
    details: dict[str, JsonValue] = {
        "scheduledEventId": str(info.scheduled_event_id),
        "endpoint": info.endpoint,
        "service": info.service,
        "operation": info.operation,
    }
    if info.operation_token:
        details["operationId"] = info.operation_token
        details["operationToken"] = info.operation_token
    failure["nexusOperationExecutionFailureInfo"] = details
    return failure


def _closed_unsuccessfully(
    txn: Txn, info: NexusOperationInfo | None, request: RecordNexusOperationResult
) -> Reply:
    """NexusOperationFailed or NexusOperationCanceled (handleOperationError)."""
    info = _opened(txn, info, request)
    fields: dict[str, JsonValue] = {
        "scheduledEventId": str(info.scheduled_event_id),
        "failure": _failure(info, request.failure),
        "requestId": info.request_id,
    }
    if request.outcome == "canceled":
        key = "nexusOperationCanceledEventAttributes"
        _write(txn, E.NEXUS_OPERATION_CANCELED, key, fields)
    else:
        key = "nexusOperationFailedEventAttributes"
        _write(txn, E.NEXUS_OPERATION_FAILED, key, fields)
    return Ok()


def _timed_out(
    txn: Txn, info: NexusOperationInfo | None, request: RecordNexusOperationResult
) -> Reply:
    """NexusOperationTimedOut: the server's wrapper caused by "operation timed out" with
    the timeout's type (executors.go recordOperationTimeout)."""
    if info is None:
        raise InvalidDefinition(f"{TABLE.name}: a Closed row read the record")
    timeout_type = "TIMEOUT_TYPE_" + request.outcome.removesuffix("_timed_out").upper()
    cause: JsonValue = {
        "message": "operation timed out",
        "timeoutFailureInfo": {"timeoutType": timeout_type},
    }
    fields: dict[str, JsonValue] = {
        "scheduledEventId": str(info.scheduled_event_id),
        "failure": _failure(info, Opaque.of(cause)),
        "requestId": info.request_id,
    }
    _write(txn, E.NEXUS_OPERATION_TIMED_OUT, "nexusOperationTimedOutEventAttributes", fields)
    return Ok()


def _cancel_answer(
    txn: Txn, info: NexusOperationInfo | None, request: RecordNexusOperationResult
) -> Reply:
    """NexusOperationCancelRequestCompleted or NexusOperationCancelRequestFailed
    (executors.go saveCancelationResult, with recordCancelRequestCompletionEvents on, its
    default): worker-may-ignore, for SDKs that predate them."""
    if info is None:
        raise InvalidDefinition(f"{TABLE.name}: a Closed row read the record")
    fields: dict[str, JsonValue] = {
        "scheduledEventId": str(info.scheduled_event_id),
        "requestedEventId": str(info.cancel_requested_event_id),
    }
    if request.outcome == "cancel_failed":
        if request.failure is not None:
            fields["failure"] = request.failure.value()
        event_type, key = (
            E.NEXUS_OPERATION_CANCEL_REQUEST_FAILED,
            "nexusOperationCancelRequestFailedEventAttributes",
        )
    else:
        event_type, key = (
            E.NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED,
            "nexusOperationCancelRequestCompletedEventAttributes",
        )
    _write(txn, event_type, key, fields, worker_may_ignore=True)
    return Ok()


HANDLERS: dict[
    str, Callable[[Txn, NexusOperationInfo | None, RecordNexusOperationResult], Reply]
] = {
    "record_started": _record_started,
    "record_completed": _completed,
    "record_failed": _closed_unsuccessfully,
    "record_canceled": _closed_unsuccessfully,
    "record_cancel_answer": _cancel_answer,
    "record_timed_out": _timed_out,
    "reject_not_found": lambda txn, info, request: NOT_PENDING,
}
