"""A standalone Nexus operation: an operation a client starts
(StartNexusOperationExecution), with no workflow calling it.

Temporal runs one as a CHASM execution (`chasm/lib/nexusoperation`):
`operation_statemachine.go` holds the operation's transitions, `operation.go` the
handlers choosing among them (saveInvocationResult, HandleNexusCompletion,
RequestCancel, Terminate), `operation_tasks.go` the validation of its timer tasks, and
`cancellation_statemachine.go` the transitions of the cancel request sent to the
handler. Here the operation is a table (`TABLE`) keyed by the operation's status and
the input, and its cancel request a second one (`CANCEL_TABLE`) keyed by the request's
status; `decide` picks the row (guards first), runs its handler and checks the record
ends in the row's target. The record is immutable: a decision returns the new record
and the effects, the timers to arm, whether a start attempt or a cancel request goes
to the handler now, and the error the caller gets.

An attempt's retry delay is the caller's to draw (the server's retry policy has
jitter); it comes in the event (`Event.delay`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import TypeAlias

from core.fastinit import fast_init_all
from core.opaque import JsonValue, Opaque
from core.statemachine import fsm


class Status(Enum):
    """nexusoperationpb.OperationStatus."""

    SCHEDULED = "Scheduled"
    BACKING_OFF = "BackingOff"
    STARTED = "Started"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELED = "Canceled"
    TIMED_OUT = "TimedOut"
    TERMINATED = "Terminated"


class CancelStatus(Enum):
    """nexusoperationpb.CancellationStatus; REQUESTED is its UNSPECIFIED: asked for, not
    sent yet (the operation has no token until it starts)."""

    REQUESTED = "Unspecified"
    SCHEDULED = "Scheduled"
    BACKING_OFF = "BackingOff"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class Input(Enum):
    SYNC_SUCCEEDED = "the handler answered with a result"
    ASYNC_STARTED = "the handler answered with an operation token"
    ATTEMPT_FAILED = "the start attempt failed"
    ATTEMPT_CANCELED = "the handler answered that the operation was canceled"
    BACKOFF_DONE = "the backoff timer fired"
    COMPLETED = "the completion callback reports a result"
    COMPLETION_FAILED = "the completion callback reports a failure"
    COMPLETION_CANCELED = "the completion callback reports a cancellation"
    SCHEDULE_TO_START_TIMEOUT = "the schedule-to-start timer fired"
    START_TO_CLOSE_TIMEOUT = "the start-to-close timer fired"
    SCHEDULE_TO_CLOSE_TIMEOUT = "the schedule-to-close timer fired"
    REQUEST_CANCEL = "RequestCancelNexusOperationExecution"
    TERMINATE = "TerminateNexusOperationExecution"


class CancelInput(Enum):
    SCHEDULE = "the operation started: send the cancel request"
    DELIVERED = "the handler acknowledged the cancel request"
    FAILED = "the cancel request failed"
    BACKOFF_DONE = "the cancel request's backoff timer fired"


OPEN = frozenset({Status.SCHEDULED, Status.BACKING_OFF, Status.STARTED})
CLOSED = frozenset(Status) - OPEN
ATTEMPT_ANSWERS = (
    Input.SYNC_SUCCEEDED,
    Input.ASYNC_STARTED,
    Input.ATTEMPT_FAILED,
    Input.ATTEMPT_CANCELED,
)
COMPLETIONS = {
    Input.COMPLETED: Status.SUCCEEDED,
    Input.COMPLETION_FAILED: Status.FAILED,
    Input.COMPLETION_CANCELED: Status.CANCELED,
}
TIMEOUT_TYPE = {
    Input.SCHEDULE_TO_START_TIMEOUT: "TIMEOUT_TYPE_SCHEDULE_TO_START",
    Input.START_TO_CLOSE_TIMEOUT: "TIMEOUT_TYPE_START_TO_CLOSE",
    Input.SCHEDULE_TO_CLOSE_TIMEOUT: "TIMEOUT_TYPE_SCHEDULE_TO_CLOSE",
}
ALREADY_COMPLETED = "operation already completed"  # ErrOperationAlreadyCompleted


@dataclass(frozen=True, slots=True)
class Timeouts:
    """The operation's timeouts in ns (0: none), as the validator capped them."""

    schedule_to_close: int = 0
    schedule_to_start: int = 0
    start_to_close: int = 0


@dataclass(frozen=True, slots=True)
class Cancellation:
    """The cancel request (nexusoperationpb.CancellationState)."""

    request_id: str
    reason: str
    identity: str
    requested_time: int
    status: CancelStatus = CancelStatus.REQUESTED
    attempt: int = 0
    last_attempt_complete: int = 0
    last_attempt_failure: Opaque | None = None
    next_attempt: int = 0


@dataclass(frozen=True, slots=True)
class NexusOperation:
    operation_id: str
    run_id: str
    request_id: str  # the server's own, sent to the handler (newStandaloneOperation)
    endpoint: str
    service: str
    operation: str
    timeouts: Timeouts
    schedule_time: int
    status: Status = Status.SCHEDULED
    attempt: int = 1
    last_attempt_complete: int = 0
    last_attempt_failure: Opaque | None = None
    next_attempt: int = 0  # while backing off
    started_time: int = 0
    operation_token: str = ""
    close_time: int = 0
    result: Opaque | None = None
    failure: Opaque | None = None  # the outcome's failure (not an attempt's)
    links: tuple[JsonValue, ...] = ()
    cancellation: Cancellation | None = None
    terminate_request_id: str = ""
    transitions: int = 1

    @property
    def running(self) -> bool:
        return self.status in OPEN

    def outcome_failure(self) -> Opaque | None:
        """Operation.outcome: the outcome's failure, else the last attempt's."""
        if self.running or self.status is Status.SUCCEEDED:
            return None
        return self.failure if self.failure is not None else self.last_attempt_failure


@dataclass(frozen=True, slots=True)
class Timer:
    input: Input | CancelInput
    due: int
    stamp: int  # the attempt a backoff timer belongs to (0 for the timeouts)


@dataclass(frozen=True, slots=True)
class Effects:
    timers: tuple[Timer, ...] = ()
    invoke: bool = False  # a start attempt goes to the handler now
    send_cancel: bool = False  # the cancel request goes to the handler now
    error: tuple[str, str] | None = None  # (gRPC code name, message)


@dataclass(frozen=True, slots=True)
class Event:
    input: Input | CancelInput
    now: int
    attempt: int = 0  # the attempt an answer or a backoff timer belongs to
    retryable: bool = False
    delay: int = 0  # ns: the backoff before the next attempt, if this one is retried
    payload: Opaque | None = None  # a result or a failure
    token: str = ""
    links: tuple[JsonValue, ...] = ()
    start_time: int = 0  # a completion's start time (a completion before the start)
    request_id: str = ""
    identity: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    operation: NexusOperation
    effects: Effects


_S, _I, _C, _CI = Status, Input, CancelStatus, CancelInput
R = fsm.Row


def _rows() -> list[fsm.Row[Status, Input]]:
    rows: list[fsm.Row[Status, Input]] = [
        R(_S.SCHEDULED, _I.SYNC_SUCCEEDED, _S.SUCCEEDED, handler="succeed"),
        R(_S.SCHEDULED, _I.ASYNC_STARTED, _S.STARTED, handler="start"),
        R(_S.SCHEDULED, _I.ATTEMPT_FAILED, _S.BACKING_OFF, guard="retryable", handler="back_off"),
        R(_S.SCHEDULED, _I.ATTEMPT_FAILED, _S.FAILED, handler="fail_attempt"),
        R(_S.SCHEDULED, _I.ATTEMPT_CANCELED, _S.CANCELED, handler="fail_attempt"),
        R(_S.BACKING_OFF, _I.BACKOFF_DONE, _S.BACKING_OFF, guard="stale"),
        R(_S.BACKING_OFF, _I.BACKOFF_DONE, _S.SCHEDULED, handler="reschedule"),
        R(_S.SCHEDULED, _I.BACKOFF_DONE, _S.SCHEDULED),
        R(_S.STARTED, _I.BACKOFF_DONE, _S.STARTED),
        # the schedule-to-start timeout counts while the operation has not started
        # (its task's Validate: TransitionStarted.Possible)
        R(_S.SCHEDULED, _I.SCHEDULE_TO_START_TIMEOUT, _S.TIMED_OUT, handler="time_out"),
        R(_S.BACKING_OFF, _I.SCHEDULE_TO_START_TIMEOUT, _S.TIMED_OUT, handler="time_out"),
        R(_S.STARTED, _I.SCHEDULE_TO_START_TIMEOUT, _S.STARTED),
        R(_S.STARTED, _I.START_TO_CLOSE_TIMEOUT, _S.TIMED_OUT, handler="time_out"),
        R(_S.SCHEDULED, _I.START_TO_CLOSE_TIMEOUT, _S.SCHEDULED),
        R(_S.BACKING_OFF, _I.START_TO_CLOSE_TIMEOUT, _S.BACKING_OFF),
    ]
    for answer in ATTEMPT_ANSWERS:  # an answer to an attempt no longer current
        rows.insert(0, R(_S.SCHEDULED, answer, _S.SCHEDULED, guard="stale"))
        rows += [R(_S.BACKING_OFF, answer, _S.BACKING_OFF), R(_S.STARTED, answer, _S.STARTED)]
    for s in OPEN:
        for completion, target in COMPLETIONS.items():
            rows += [
                R(s, completion, s, guard="other request", handler="reject_not_found"),
                R(s, completion, target, handler="complete"),
            ]
        rows += [
            R(s, _I.SCHEDULE_TO_CLOSE_TIMEOUT, _S.TIMED_OUT, handler="time_out"),
            R(s, _I.REQUEST_CANCEL, s, guard="same cancel request"),
            R(s, _I.REQUEST_CANCEL, s, guard="cancel requested", handler="reject_cancel_again"),
            R(s, _I.REQUEST_CANCEL, s, handler="request_cancel"),
            R(s, _I.TERMINATE, _S.TERMINATED, handler="terminate"),
        ]
    for s in CLOSED:
        rows += [R(s, i, s) for i in (*ATTEMPT_ANSWERS, _I.BACKOFF_DONE, *TIMEOUT_TYPE)]
        rows += [R(s, c, s, handler="reject_invalid") for c in COMPLETIONS]
        rows += [
            # a cancel retried after the close is deduplicated first (RequestCancel)
            R(s, _I.REQUEST_CANCEL, s, guard="same cancel request"),
            R(s, _I.REQUEST_CANCEL, s, handler="reject_completed"),
            R(s, _I.TERMINATE, s, guard="same terminate request"),
            R(s, _I.TERMINATE, s, guard="terminated", handler="reject_terminated"),
        ]
        if s is _S.CANCELED:  # TransitionTerminated's sources include CANCELED
            rows.append(R(s, _I.TERMINATE, _S.TERMINATED, handler="terminate"))
        else:
            rows.append(R(s, _I.TERMINATE, s, handler="reject_invalid"))
    return rows


TABLE = fsm.make_table(
    "standalone Nexus operation", "INV-RESULT-AT-MOST-ONCE", Status, Input, _S.SCHEDULED, _rows()
)

CANCEL_TABLE = fsm.make_table(
    "standalone Nexus operation cancel request",
    "INV-RESULT-AT-MOST-ONCE",
    CancelStatus,
    CancelInput,
    _C.REQUESTED,
    [
        R(_C.REQUESTED, _CI.SCHEDULE, _C.SCHEDULED, handler="send"),
        R(_C.SCHEDULED, _CI.DELIVERED, _C.SUCCEEDED, handler="delivered"),
        R(_C.SCHEDULED, _CI.FAILED, _C.BACKING_OFF, guard="retryable", handler="back_off"),
        R(_C.SCHEDULED, _CI.FAILED, _C.FAILED, handler="failed"),
        R(_C.BACKING_OFF, _CI.BACKOFF_DONE, _C.BACKING_OFF, guard="stale"),
        R(_C.BACKING_OFF, _CI.BACKOFF_DONE, _C.SCHEDULED, handler="send"),
    ],
)


# --- guards ------------------------------------------------------------------------

Guard = Callable[[NexusOperation, Event], bool]


def _same_cancel(o: NexusOperation, e: Event) -> bool:
    return o.cancellation is not None and o.cancellation.request_id == e.request_id


GUARDS: dict[str, Guard] = {
    "retryable": lambda o, e: e.retryable,
    "stale": lambda o, e: e.attempt != o.attempt,
    # a completion naming another request is stale or misrouted (HandleNexusCompletion)
    "other request": lambda o, e: bool(e.request_id) and e.request_id != o.request_id,
    "same cancel request": _same_cancel,
    "cancel requested": lambda o, e: o.cancellation is not None,
    "same terminate request": lambda o, e: (
        o.status is _S.TERMINATED and o.terminate_request_id == e.request_id
    ),
    "terminated": lambda o, e: o.status is _S.TERMINATED,
}
CANCEL_GUARDS: dict[str, Callable[[Cancellation, Event], bool]] = {
    "retryable": lambda c, e: e.retryable,
    "stale": lambda c, e: e.attempt != c.attempt,
}


# --- handlers ----------------------------------------------------------------------

Result: TypeAlias = tuple[NexusOperation, Effects]


def schedule(
    operation_id: str,
    run_id: str,
    request_id: str,
    target: tuple[str, str, str],
    timeouts: Timeouts,
    now: int,
) -> Result:
    """A new operation, scheduled (TransitionScheduled): the first attempt goes to the
    handler now, the schedule-to-start and schedule-to-close timers are armed."""
    endpoint, service, operation = target
    o = NexusOperation(
        operation_id, run_id, request_id, endpoint, service, operation, timeouts, now
    )
    timers = []
    if timeouts.schedule_to_start:
        due = now + timeouts.schedule_to_start
        timers.append(Timer(_I.SCHEDULE_TO_START_TIMEOUT, due, 0))
    if timeouts.schedule_to_close:
        due = now + timeouts.schedule_to_close
        timers.append(Timer(_I.SCHEDULE_TO_CLOSE_TIMEOUT, due, 0))
    return o, Effects(timers=tuple(timers), invoke=True)


def armed(o: NexusOperation) -> tuple[Timer, ...]:
    """The timers that could still change the operation, derived from its record: what
    a server reading the record back arms again."""
    if not o.running:
        return ()
    t = o.timeouts
    timers = []
    if t.schedule_to_close:
        timers.append(Timer(_I.SCHEDULE_TO_CLOSE_TIMEOUT, o.schedule_time + t.schedule_to_close, 0))
    if t.schedule_to_start and o.status is not _S.STARTED:
        timers.append(Timer(_I.SCHEDULE_TO_START_TIMEOUT, o.schedule_time + t.schedule_to_start, 0))
    if t.start_to_close and o.status is _S.STARTED:
        timers.append(Timer(_I.START_TO_CLOSE_TIMEOUT, o.started_time + t.start_to_close, 0))
    if o.status is _S.BACKING_OFF:
        timers.append(Timer(_I.BACKOFF_DONE, o.next_attempt, o.attempt))
    cancel = o.cancellation
    if cancel is not None and cancel.status is _C.BACKING_OFF:
        timers.append(Timer(_CI.BACKOFF_DONE, cancel.next_attempt, cancel.attempt))
    return tuple(timers)


def _closed(o: NexusOperation, status: Status, now: int) -> NexusOperation:
    return replace(o, status=status, close_time=now, next_attempt=0)


def _succeed(o: NexusOperation, e: Event) -> Result:
    o = replace(o, result=e.payload, links=o.links + e.links)
    return _closed(o, _S.SUCCEEDED, e.now), Effects()


def _started(o: NexusOperation, e: Event, at: int) -> Result:
    """TransitionStarted: the token kept, the attempt counted done, the start-to-close
    timer armed, and a cancel requested before the start sent now."""
    o = replace(
        o,
        status=_S.STARTED,
        started_time=at,
        last_attempt_complete=at,
        last_attempt_failure=None,
        next_attempt=0,
        operation_token=e.token,
        links=o.links + e.links,
    )
    timers: tuple[Timer, ...] = ()
    if o.timeouts.start_to_close:
        timers = (Timer(_I.START_TO_CLOSE_TIMEOUT, at + o.timeouts.start_to_close, 0),)
    cancel = o.cancellation
    if cancel is not None and cancel.status is _C.REQUESTED:
        cancel, sent = _decide_cancel(cancel, Event(_CI.SCHEDULE, e.now))
        return replace(o, cancellation=cancel), replace(sent, timers=timers + sent.timers)
    return o, Effects(timers=timers)


def _start(o: NexusOperation, e: Event) -> Result:
    return _started(o, e, e.now)


def _back_off(o: NexusOperation, e: Event) -> Result:
    """transitionAttemptFailed: the failure noted, the next attempt after the delay."""
    due = e.now + e.delay
    o = replace(
        o,
        status=_S.BACKING_OFF,
        last_attempt_complete=e.now,
        last_attempt_failure=e.payload,
        next_attempt=due,
    )
    return o, Effects(timers=(Timer(_I.BACKOFF_DONE, due, o.attempt),))


def _reschedule(o: NexusOperation, e: Event) -> Result:
    o = replace(o, status=_S.SCHEDULED, attempt=o.attempt + 1, next_attempt=0)
    return o, Effects(invoke=True)


def _fail_attempt(o: NexusOperation, e: Event) -> Result:
    """A failed or canceled attempt closes the operation; the failure is the last
    attempt's, not the outcome's (resolveUnsuccessfully fromAttempt)."""
    status = _S.CANCELED if e.input is _I.ATTEMPT_CANCELED else _S.FAILED
    o = replace(o, last_attempt_complete=e.now, last_attempt_failure=e.payload)
    return _closed(o, status, e.now), Effects()


def _operation_input(e: Event) -> Input:
    """The event's input as the operation table's (its handlers are given no other)."""
    if isinstance(e.input, Input):
        return e.input
    raise TypeError(f"not an operation input: {e.input}")


def _complete(o: NexusOperation, e: Event) -> Result:
    """HandleNexusCompletion: a completion before the start's answer starts the
    operation first (its links are the start's), then closes it."""
    if o.status is not _S.STARTED:  # its timers and a cancel to send are moot: it closes
        o, _moot = _started(o, e, e.start_time or e.now)
    status = COMPLETIONS[_operation_input(e)]
    succeeded = status is _S.SUCCEEDED
    o = replace(o, result=e.payload) if succeeded else replace(o, failure=e.payload)
    return _closed(o, status, e.now), Effects()


def _time_out(o: NexusOperation, e: Event) -> Result:
    """The timeout's failure: on a scheduled operation (an attempt under way) recorded
    as the last attempt's, its end now, otherwise as the outcome, as the 1.32.0 dev
    server describes them (the rule of TransitionFailed and TransitionCanceled,
    operation_statemachine.go: attempts execute only in SCHEDULED); the outcome read is
    that failure either way."""
    kind = TIMEOUT_TYPE[_operation_input(e)]
    failure = Opaque.of(
        {"message": "operation timed out", "timeoutFailureInfo": {"timeoutType": kind}}
    )
    if o.status is _S.SCHEDULED:
        o = replace(o, last_attempt_complete=e.now, last_attempt_failure=failure)
    else:
        o = replace(o, failure=failure)
    return _closed(o, _S.TIMED_OUT, e.now), Effects()


def _request_cancel(o: NexusOperation, e: Event) -> Result:
    """RequestCancel: the request kept; sent now if the operation has started (it needs
    the token), else when it starts."""
    cancel = Cancellation(e.request_id, e.reason, e.identity, e.now)
    if o.status is _S.STARTED:
        cancel, effects = _decide_cancel(cancel, Event(_CI.SCHEDULE, e.now))
        return replace(o, cancellation=cancel), effects
    return replace(o, cancellation=cancel), Effects()


def _terminate(o: NexusOperation, e: Event) -> Result:
    info: dict[str, JsonValue] = {"identity": e.identity} if e.identity else {}
    failure = Opaque.of({"message": e.reason, "terminatedFailureInfo": info})
    o = replace(o, failure=failure, terminate_request_id=e.request_id)
    return _closed(o, _S.TERMINATED, e.now), Effects()


def _error(code: str, message: Callable[[NexusOperation], str]) -> Callable[..., Result]:
    return lambda o, e: (o, Effects(error=(code, message(o))))


HANDLERS: dict[str, Callable[[NexusOperation, Event], Result]] = {
    "": lambda o, e: (o, Effects()),
    "succeed": _succeed,
    "start": _start,
    "back_off": _back_off,
    "reschedule": _reschedule,
    "fail_attempt": _fail_attempt,
    "complete": _complete,
    "time_out": _time_out,
    "request_cancel": _request_cancel,
    "terminate": _terminate,
    "reject_not_found": _error("NOT_FOUND", lambda o: "operation not found"),
    "reject_cancel_again": _error(
        "FAILED_PRECONDITION",
        lambda o: (
            "cancellation already requested with request ID "
            + (o.cancellation.request_id if o.cancellation else "")
        ),
    ),
    "reject_completed": _error("FAILED_PRECONDITION", lambda o: ALREADY_COMPLETED),
    "reject_terminated": _error(
        "FAILED_PRECONDITION",
        lambda o: f"already terminated with request ID {o.terminate_request_id}",
    ),
    "reject_invalid": _error(
        "FAILED_PRECONDITION", lambda o: f"invalid transition from {o.status.value}"
    ),
}


CancelResult: TypeAlias = tuple[Cancellation, Effects]


def _send(c: Cancellation, e: Event) -> CancelResult:
    c = replace(c, status=_C.SCHEDULED, attempt=c.attempt + 1, next_attempt=0)
    return c, Effects(send_cancel=True)


def _cancel_back_off(c: Cancellation, e: Event) -> CancelResult:
    due = e.now + e.delay
    c = replace(
        c,
        status=_C.BACKING_OFF,
        last_attempt_complete=e.now,
        last_attempt_failure=e.payload,
        next_attempt=due,
    )
    return c, Effects(timers=(Timer(_CI.BACKOFF_DONE, due, c.attempt),))


def _cancel_ended(c: Cancellation, e: Event) -> CancelResult:
    status = _C.SUCCEEDED if e.input is _CI.DELIVERED else _C.FAILED
    c = replace(c, status=status, last_attempt_complete=e.now, last_attempt_failure=e.payload)
    return c, Effects()


CANCEL_HANDLERS: dict[str, Callable[[Cancellation, Event], CancelResult]] = {
    "": lambda c, e: (c, Effects()),
    "send": _send,
    "back_off": _cancel_back_off,
    "delivered": _cancel_ended,
    "failed": _cancel_ended,
}


# --- deciding ----------------------------------------------------------------------


def _decide_cancel(c: Cancellation, e: Event) -> CancelResult:
    assert isinstance(e.input, CancelInput)
    row = fsm.decide(CANCEL_TABLE, c.status, e.input, lambda g: CANCEL_GUARDS[g](c, e))
    c, effects = CANCEL_HANDLERS[row.handler](c, e)
    fsm.check_target(CANCEL_TABLE, row, c.status)
    return c, effects


def decide(o: NexusOperation, e: Event) -> Decision:
    """The row for the operation's status (or its cancel request's) and the input,
    carried out; an input no row takes raises fsm's InvalidTransition."""
    if isinstance(e.input, CancelInput):
        if o.cancellation is None or not o.running:
            return Decision(o, Effects())  # the cancel request's work ends with the operation
        cancel, effects = _decide_cancel(o.cancellation, e)
        new = replace(o, cancellation=cancel)
    else:
        row = fsm.decide(TABLE, o.status, e.input, lambda g: GUARDS[g](o, e))
        new, effects = HANDLERS[row.handler](o, e)
        fsm.check_target(TABLE, row, new.status)
    if new != o:
        new = replace(new, transitions=o.transitions + 1)
    return Decision(new, effects)


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
