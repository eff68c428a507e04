"""A standalone activity: an activity a client starts (StartActivityExecution), run by
the server on its own, with no workflow around it.

Temporal runs one as a CHASM execution (`chasm/lib/activity`): `statemachine.go` holds
its transitions, `activity.go` the handlers that choose among them, and
`activity_tasks.go` the validation of its timer tasks. Here the same machine is a
table (`TABLE`) whose rows decide every input: `decide` picks the row for the
activity's status and the input (guards first), runs the row's handler and checks the
activity ends in the row's target. The record (activity_state.py, whose names this
module passes on) is immutable; a decision returns the new record and its effects:
the timers to arm, when the attempt goes to matching, and the error or answer the
caller gets. The operator commands' rows (pause, unpause, reset, option updates) are
operator.py's.

Retry delays and decisions are the workflow activities' (`service/retry.py`
`next_retry`), the timeouts are normalized as theirs (`activity_tasks.py`
`normalize_timeouts`) and a timeout's failure is built as theirs (`timeout_failure`).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeAlias

from core.enums import RetryState, TimeoutType
from core.fastinit import fast_init_all
from core.opaque import JsonValue, Opaque
from core.statemachine import fsm
from core.statemachine.history.service.activity_tasks import (
    NO_TIME_TO_RETRY_MESSAGE,
    TIMEOUT_MESSAGE,
    TIMEOUT_NAME,
    timeout_failure,
)
from core.statemachine.history.service.retry import next_retry
from core.statemachine.standalone import operator
from core.statemachine.standalone.activity_state import (
    ATTEMPT_RUNNING,
    CLOSED,
    NOT_CANCEL_REQUESTED,
    OPEN,
    TIMEOUT_OF,
    TIMERS,
    WORKER_CALLS,
    Effects,
    Event,
    Input,
    Options,
    StandaloneActivity,
    Status,
    Timer,
    dispatch_effects,
)

_S, _I = Status, Input
__all__ = [  # the record's names, read through this module by the adapters
    "ATTEMPT_RUNNING",
    "NOT_CANCEL_REQUESTED",
    "OPEN",
    "TIMEOUT_OF",
    "TIMERS",
    "WORKER_CALLS",
    "Effects",
    "Event",
    "Input",
    "Options",
    "StandaloneActivity",
    "Status",
    "Timer",
]


Row: TypeAlias = fsm.Row[Status, Input]
R = fsm.Row


def _rows() -> list[Row]:
    rows: list[Row] = [
        R(_S.SCHEDULED, _I.RECORD_STARTED, _S.SCHEDULED, guard="stale dispatch", handler="reject"),
        R(_S.SCHEDULED, _I.RECORD_STARTED, _S.STARTED, handler="start"),
        # By id, a completion needs no attempt in progress (TransitionCompleted's sources)
        R(_S.SCHEDULED, _I.RESPOND_COMPLETED, _S.COMPLETED, guard="by id", handler="complete"),
        R(_S.SCHEDULED, _I.RESPOND_COMPLETED, _S.SCHEDULED, handler="reject"),
        R(_S.SCHEDULED, _I.HEARTBEAT, _S.SCHEDULED, handler="reject"),
        R(_S.SCHEDULED, _I.RESPOND_FAILED, _S.SCHEDULED, handler="reject"),
        R(_S.SCHEDULED, _I.RESPOND_CANCELED, _S.SCHEDULED, handler="reject"),
        # no attempt in progress: a cancel request cancels at once (handleCancellationRequested)
        R(_S.SCHEDULED, _I.REQUEST_CANCEL, _S.CANCELED, handler="cancel_at_once"),
        R(_S.SCHEDULED, _I.SCHEDULE_TO_START_TIMEOUT, _S.SCHEDULED, guard="stale", handler=""),
        R(_S.SCHEDULED, _I.SCHEDULE_TO_START_TIMEOUT, _S.TIMED_OUT, handler="time_out"),
        R(_S.SCHEDULED, _I.START_TO_CLOSE_TIMEOUT, _S.SCHEDULED),
        R(_S.SCHEDULED, _I.HEARTBEAT_TIMEOUT, _S.SCHEDULED),
        R(_S.STARTED, _I.REQUEST_CANCEL, _S.CANCEL_REQUESTED, handler="request_cancel"),
        R(_S.STARTED, _I.RESPOND_CANCELED, _S.STARTED, guard="stale token", handler="reject"),
        R(_S.STARTED, _I.RESPOND_CANCELED, _S.STARTED, handler="reject_not_cancel_requested"),
        R(_S.CANCEL_REQUESTED, _I.RESPOND_CANCELED, _S.CANCEL_REQUESTED, guard="stale token",
          handler="reject"),
        R(_S.CANCEL_REQUESTED, _I.RESPOND_CANCELED, _S.CANCELED, handler="cancel"),
        R(_S.CANCEL_REQUESTED, _I.REQUEST_CANCEL, _S.CANCEL_REQUESTED, guard="same request"),
        R(_S.CANCEL_REQUESTED, _I.REQUEST_CANCEL, _S.CANCEL_REQUESTED,
          handler="reject_cancel_again"),
    ]  # fmt: skip
    for s in (_S.PAUSE_REQUESTED, _S.RESET_REQUESTED):  # as STARTED's
        rows += [
            R(s, _I.REQUEST_CANCEL, _S.CANCEL_REQUESTED, handler="request_cancel"),
            R(s, _I.RESPOND_CANCELED, s, guard="stale token", handler="reject"),
            R(s, _I.RESPOND_CANCELED, s, handler="reject_not_cancel_requested"),
        ]
    for s in ATTEMPT_RUNNING:
        rows += [
            R(s, _I.RECORD_STARTED, s, handler="reject"),
            R(s, _I.HEARTBEAT, s, guard="stale token", handler="reject"),
            R(s, _I.HEARTBEAT, s, handler="heartbeat"),
            R(s, _I.RESPOND_COMPLETED, s, guard="stale token", handler="reject"),
            R(s, _I.RESPOND_COMPLETED, _S.COMPLETED, handler="complete"),
            R(s, _I.RESPOND_FAILED, s, guard="stale token", handler="reject"),
            R(s, _I.SCHEDULE_TO_START_TIMEOUT, s),  # only a scheduled attempt's counts
        ]
        for t in (_I.START_TO_CLOSE_TIMEOUT, _I.HEARTBEAT_TIMEOUT):
            rows.append(R(s, t, s, guard="stale"))
        if s is _S.RESET_REQUESTED:  # the attempt's end carries out the reset, whatever
            # it failed with (tryReschedule, TransitionResetAttemptFailedTo{Paused,Scheduled})
            for i in (_I.RESPOND_FAILED, _I.START_TO_CLOSE_TIMEOUT, _I.HEARTBEAT_TIMEOUT):
                rows += [
                    R(s, i, _S.PAUSED, guard="reset keeps paused", handler="reset_attempt"),
                    R(s, i, _S.SCHEDULED, handler="reset_attempt"),
                ]
            continue
        # no retry once a cancel was requested; a pause requested meanwhile pauses the
        # retry (tryReschedule, TransitionAttemptFailedWhilePauseRequested)
        retry = {
            _S.STARTED: ("retry", _S.SCHEDULED),
            _S.PAUSE_REQUESTED: ("retry_paused", _S.PAUSED),
        }
        if s in retry:
            handler, target = retry[s]
            rows.append(R(s, _I.RESPOND_FAILED, target, guard="retry", handler=handler))
        rows.append(R(s, _I.RESPOND_FAILED, _S.FAILED, handler="fail"))
        for t in (_I.START_TO_CLOSE_TIMEOUT, _I.HEARTBEAT_TIMEOUT):
            if s in retry:
                handler, target = retry[s]
                rows.append(R(s, t, target, guard="retry", handler=handler))
            rows.append(R(s, t, _S.TIMED_OUT, handler="time_out"))
    # paused: no attempt in progress (TransitionCompleted's, TransitionCancelRequested's
    # sources); its dispatch and schedule-to-start timer were voided by the pause
    rows += [
        R(_S.PAUSED, _I.RESPOND_COMPLETED, _S.COMPLETED, guard="by id", handler="complete"),
        R(_S.PAUSED, _I.REQUEST_CANCEL, _S.CANCELED, handler="cancel_at_once"),
    ]
    rows += [
        R(_S.PAUSED, i, _S.PAUSED, handler="reject") for i in (_I.RECORD_STARTED, *WORKER_CALLS)
    ]
    rows += [R(_S.PAUSED, t, _S.PAUSED) for t in TIMERS if t is not _I.SCHEDULE_TO_CLOSE_TIMEOUT]
    for s in OPEN:
        rows += [
            # an update of the options re-arms it; the timer of an older deadline is void
            R(s, _I.SCHEDULE_TO_CLOSE_TIMEOUT, s, guard="not due"),
            R(s, _I.SCHEDULE_TO_CLOSE_TIMEOUT, _S.TIMED_OUT, handler="time_out"),
            R(s, _I.TERMINATE, _S.TERMINATED, handler="terminate"),
        ]
    for s in CLOSED:
        rows += [R(s, i, s, handler="reject") for i in (_I.RECORD_STARTED, *WORKER_CALLS)]
        rows += [R(s, t, s) for t in TIMERS]  # a closed activity's timers do nothing
        rows += [
            R(s, _I.REQUEST_CANCEL, s, guard="same request"),  # deduplicated first
            R(s, _I.REQUEST_CANCEL, s, handler="reject_closed_cancel"),
        ]
        if s is _S.TERMINATED:  # Activity.Terminate: the same request again is a no-op
            rows.append(R(s, _I.TERMINATE, s, guard="same request"))
        rows.append(R(s, _I.TERMINATE, s, handler="reject_closed_terminate"))
    return rows + operator.rows()


TABLE = fsm.make_table(
    "standalone activity", "INV-RESULT-AT-MOST-ONCE", Status, Input, _S.SCHEDULED, _rows()
)


# --- guards ----------------------------------------------------------------------------


def _stale_token(a: StandaloneActivity, e: Event) -> bool:
    """A worker's token names another attempt (a by-id call names none)."""
    return e.attempt != 0 and e.attempt != a.attempt


def _stale_timer(a: StandaloneActivity, e: Event) -> bool:
    """A timer of another attempt, or a heartbeat timer a later heartbeat outdated
    (activity_tasks.go, the timer tasks' Validate)."""
    if e.stamp != a.stamp:
        return True
    if e.input is _I.HEARTBEAT_TIMEOUT:
        last = max(a.started_time, a.heartbeat_time)
        return e.now < last + a.options.heartbeat
    return False


def _same_request(a: StandaloneActivity, e: Event) -> bool:
    known = a.terminate_request_id if e.input is _I.TERMINATE else a.cancel_request_id
    return bool(e.request_id) and e.request_id == known


def retry_decision(a: StandaloneActivity, e: Event) -> tuple[int | None, RetryState]:
    """The delay before the next attempt, or None and why there is none (tryReschedule:
    a timeout is retryable unless the policy lists "TemporalTimeout:<kind>")."""
    timeout = TIMEOUT_OF.get(e.input)
    error_type = f"TemporalTimeout:{TIMEOUT_NAME[timeout]}" if timeout else e.error_type
    return next_retry(
        a.options.retry_policy,
        a.attempt,
        e.now,
        a.deadline,
        error_type,
        e.non_retryable,
        a.status is _S.CANCEL_REQUESTED,
    )


GUARDS: dict[str, Callable[[StandaloneActivity, Event], bool]] = {
    "stale dispatch": lambda a, e: e.stamp != a.stamp,
    "by id": lambda a, e: e.attempt == 0,
    "stale token": _stale_token,
    "stale": _stale_timer,
    "same request": _same_request,
    "retry": lambda a, e: retry_decision(a, e)[0] is not None,
    "not due": lambda a, e: not a.deadline or e.now < a.deadline,
    "reset keeps paused": lambda a, e: a.reset_should_pause,
    **operator.GUARDS,
}


# --- handlers --------------------------------------------------------------------------

Result: TypeAlias = tuple[StandaloneActivity, Effects]


def schedule(activity_id: str, run_id: str, request_id: str, options: Options, now: int) -> Result:
    """A new activity, scheduled (TransitionScheduled): the first attempt dispatched
    after the start delay, the schedule-to-close timer armed once for all attempts."""
    a = StandaloneActivity(
        activity_id,
        run_id,
        request_id,
        options,
        now,
        dispatch_time=now + options.start_delay,
        original_options=options,
    )
    effects = dispatch_effects(a)
    if a.deadline:
        closing = Timer(_I.SCHEDULE_TO_CLOSE_TIMEOUT, a.deadline, 0)
        effects = replace(effects, timers=(*effects.timers, closing))
    return a, effects


def _start(a: StandaloneActivity, e: Event) -> Result:
    a = replace(a, status=_S.STARTED, started_time=e.now, identity=e.identity)
    timers = [Timer(_I.START_TO_CLOSE_TIMEOUT, e.now + a.options.start_to_close, a.stamp)]
    if a.options.heartbeat:
        timers.append(Timer(_I.HEARTBEAT_TIMEOUT, e.now + a.options.heartbeat, a.stamp))
    return a, Effects(timers=tuple(timers))


def _heartbeat(a: StandaloneActivity, e: Event) -> Result:
    a = replace(
        a, heartbeat_details=e.payload, heartbeat_time=e.now, heartbeat_count=a.heartbeat_count + 1
    )
    timers: tuple[Timer, ...] = ()
    if a.options.heartbeat:
        timers = (Timer(_I.HEARTBEAT_TIMEOUT, e.now + a.options.heartbeat, a.stamp),)
    return a, Effects(
        timers=timers,
        cancel_requested=a.status is _S.CANCEL_REQUESTED,
        activity_paused=a.status is _S.PAUSE_REQUESTED,
        activity_reset=a.status is _S.RESET_REQUESTED,
    )


def _closed(a: StandaloneActivity, status: Status, now: int) -> Result:
    """The run closes (RecordCompleted)."""
    return replace(a, status=status, close_time=now), Effects()


def _complete(a: StandaloneActivity, e: Event) -> Result:
    started = a.started_time if a.status in ATTEMPT_RUNNING else e.now  # forced by id
    a = replace(a, started_time=started, complete_time=e.now, identity=e.identity, result=e.payload)
    return _closed(a, _S.COMPLETED, e.now)


def _with_heartbeat(a: StandaloneActivity, e: Event) -> StandaloneActivity:
    """A failure's last heartbeat details count as a heartbeat (HandleFailed)."""
    if e.heartbeat is None:
        return a
    count = a.heartbeat_count + 1
    return replace(a, heartbeat_details=e.heartbeat, heartbeat_time=e.now, heartbeat_count=count)


def _attempt_failure(a: StandaloneActivity, e: Event, final: bool) -> Opaque:
    """What the attempt failed with: the worker's failure (a generic one when it sent
    none), or the timeout's; a final timeout's carries the last heartbeat's details and
    is caused by the attempt before it (TransitionTimedOut), one retried neither
    (createStartToCloseTimeoutFailure, createHeartbeatTimeoutFailure)."""
    timeout = TIMEOUT_OF.get(e.input)
    if timeout is None:
        return e.payload or Opaque.of({"message": "activity task failed without failure details"})
    message = TIMEOUT_MESSAGE.format(TIMEOUT_NAME[timeout])
    if not final:
        return timeout_failure(message, timeout)
    return _caused(timeout_failure(message, timeout, a.heartbeat_details), a.last_failure)


def _caused(failure: Opaque, cause: Opaque | None) -> Opaque:
    if cause is None:
        return failure
    body = failure.value()
    assert isinstance(body, dict)
    return Opaque.of({**body, "cause": cause.value()})


def _retry(a: StandaloneActivity, e: Event) -> Result:
    delay, _state = retry_decision(a, e)
    assert delay is not None  # the row's guard
    a = _with_heartbeat(a, e)
    a = replace(
        a,
        status=_S.SCHEDULED,
        attempt=a.attempt + 1,
        stamp=a.stamp + 1,
        last_failure=_attempt_failure(a, e, final=False),
        complete_time=e.now,
        retry_interval=delay,
        dispatch_time=e.now + delay,
        identity=e.identity or a.identity,
    )
    return a, dispatch_effects(a)


def _retry_paused(a: StandaloneActivity, e: Event) -> Result:
    """The failed attempt counted as a retry's, then paused: no dispatch until an
    unpause, which waits for the retry's time (TransitionAttemptFailedWhilePauseRequested)."""
    retried, _effects = _retry(a, e)
    return replace(retried, status=_S.PAUSED), Effects()


def _reset_attempt(a: StandaloneActivity, e: Event) -> Result:
    """The end of an attempt a reset was deferred for: the failure recorded, then attempt
    1 with no retry pending, the deferred option restore and heartbeat clear done, and
    the activity paused (with `keep_paused` on a paused one) or dispatched at once
    (TransitionResetAttemptFailedToPaused, TransitionResetAttemptFailedToScheduled)."""
    a = _with_heartbeat(a, e)
    restore, clear, pause = a.reset_restore_options, a.reset_clear_heartbeat, a.reset_should_pause
    a = replace(
        a,
        options=operator.restored(a) if restore else a.options,
        attempt=1,
        stamp=a.stamp + 1,
        last_failure=_attempt_failure(a, e, final=False),
        complete_time=e.now,
        retry_interval=0,
        identity=e.identity or a.identity,
        reset_should_pause=False,
        reset_restore_options=False,
        reset_clear_heartbeat=False,
    )
    if clear:
        a = replace(a, heartbeat_details=None, heartbeat_time=0)
    closing = operator.closing_timer(a) if restore else ()
    if pause:
        return replace(a, status=_S.PAUSED, dispatch_time=0), Effects(timers=closing)
    a = replace(a, status=_S.SCHEDULED, dispatch_time=max(e.now, operator.first_dispatch(a)))
    effects = dispatch_effects(a)
    return a, replace(effects, timers=(*effects.timers, *closing))


def _fail(a: StandaloneActivity, e: Event) -> Result:
    _delay, state = retry_decision(a, e)
    a = _with_heartbeat(a, e)
    a = replace(
        a,
        last_failure=_attempt_failure(a, e, final=True),
        retry_state=state,
        complete_time=e.now,
        identity=e.identity,
        retry_interval=0,
    )
    return _closed(a, _S.FAILED, e.now)


def _time_out(a: StandaloneActivity, e: Event) -> Result:
    timeout = TIMEOUT_OF[e.input]
    if timeout in (TimeoutType.SCHEDULE_TO_START, TimeoutType.SCHEDULE_TO_CLOSE):
        message = TIMEOUT_MESSAGE.format(TIMEOUT_NAME[timeout])
        failure = _caused(timeout_failure(message, timeout, a.heartbeat_details), a.last_failure)
        a = replace(a, failure=failure, retry_state=RetryState.TIMEOUT)
        return _closed(a, _S.TIMED_OUT, e.now)
    _delay, state = retry_decision(a, e)
    attempt = _attempt_failure(a, e, final=True)
    closing = None
    if state is RetryState.TIMEOUT:  # no time left to retry: a schedule-to-close timeout
        closing = _caused(
            timeout_failure(
                NO_TIME_TO_RETRY_MESSAGE, TimeoutType.SCHEDULE_TO_CLOSE, a.heartbeat_details
            ),
            a.last_failure,
        )
    a = replace(
        a,
        last_failure=attempt,
        failure=closing,
        retry_state=state,
        complete_time=e.now,
        retry_interval=0,
    )
    return _closed(a, _S.TIMED_OUT, e.now)


def _canceled_failure(details: JsonValue | None, identity: str) -> Opaque:
    info: dict[str, JsonValue] = {"identity": identity} if identity else {}
    if details is not None:
        info = {"details": details, **info}
    return Opaque.of({"message": "Activity canceled", "canceledFailureInfo": info})


def string_payloads(text: str) -> JsonValue:
    """Payloads of one json/plain string, as protojson (payload.EncodeString)."""
    encoding = base64.b64encode(b"json/plain").decode()
    data = base64.b64encode(json.dumps(text).encode()).decode()
    return {"payloads": [{"metadata": {"encoding": encoding}, "data": data}]}


def _cancel_requested(a: StandaloneActivity, e: Event, status: Status) -> StandaloneActivity:
    """The cancel request kept (TransitionCancelRequested's ActivityCancelState)."""
    return replace(
        a,
        status=status,
        cancel_request_id=e.request_id,
        cancel_reason=e.reason,
        cancel_identity=e.identity,
    )


def _request_cancel(a: StandaloneActivity, e: Event) -> Result:
    return _cancel_requested(a, e, _S.CANCEL_REQUESTED), Effects()


def _cancel_at_once(a: StandaloneActivity, e: Event) -> Result:
    failure = _canceled_failure(string_payloads(e.reason), e.identity)
    return _closed(
        replace(_cancel_requested(a, e, _S.CANCELED), failure=failure), _S.CANCELED, e.now
    )


def _cancel(a: StandaloneActivity, e: Event) -> Result:
    details = e.payload.value() if e.payload is not None else None
    failure = _canceled_failure(details, a.cancel_identity)
    return _closed(replace(a, failure=failure, identity=e.identity), _S.CANCELED, e.now)


def _terminate(a: StandaloneActivity, e: Event) -> Result:
    info: dict[str, JsonValue] = {"identity": e.identity} if e.identity else {}
    failure = Opaque.of({"message": e.reason, "terminatedFailureInfo": info})
    a = replace(a, failure=failure, terminate_request_id=e.request_id)
    return _closed(a, _S.TERMINATED, e.now)


def _error(code: str, message: str) -> Callable[[StandaloneActivity, Event], Result]:
    return lambda a, e: (a, Effects(error=(code, message)))


def not_found(activity_id: str) -> str:
    """A worker's call on an attempt that is not running (validateActivityTaskToken),
    or on a closed activity, as the frontend answers it (the dev server's message)."""
    return f"activity not found for ID: {activity_id}"


def _reject(a: StandaloneActivity, e: Event) -> Result:
    return a, Effects(error=("NOT_FOUND", not_found(a.activity_id)))


def _reject_cancel_again(a: StandaloneActivity, e: Event) -> Result:
    message = f"cancellation already requested with request ID {a.cancel_request_id}"
    return a, Effects(error=("FAILED_PRECONDITION", message))


def _reject_closed_cancel(a: StandaloneActivity, e: Event) -> Result:
    message = f"activity is in terminal state {a.status.value}"
    return a, Effects(error=("FAILED_PRECONDITION", message))


def _reject_closed_terminate(a: StandaloneActivity, e: Event) -> Result:
    if a.status is _S.TERMINATED:
        message = f"already terminated with request ID {a.terminate_request_id}"
        return a, Effects(error=("FAILED_PRECONDITION", message))
    # TransitionTerminated.Apply on a closed activity: chasm's invalid-transition error
    return a, Effects(error=("FAILED_PRECONDITION", f"invalid transition from {a.status.value}"))


HANDLERS: dict[str, Callable[[StandaloneActivity, Event], Result]] = {
    "": lambda a, e: (a, Effects()),
    "reject": _reject,
    "reject_not_cancel_requested": _error("INVALID_ARGUMENT", NOT_CANCEL_REQUESTED),
    "reject_cancel_again": _reject_cancel_again,
    "reject_closed_cancel": _reject_closed_cancel,
    "reject_closed_terminate": _reject_closed_terminate,
    "start": _start,
    "heartbeat": _heartbeat,
    "complete": _complete,
    "retry": _retry,
    "retry_paused": _retry_paused,
    "reset_attempt": _reset_attempt,
    "fail": _fail,
    "time_out": _time_out,
    "request_cancel": _request_cancel,
    "cancel_at_once": _cancel_at_once,
    "cancel": _cancel,
    "terminate": _terminate,
    **operator.HANDLERS,
}


@dataclass(frozen=True, slots=True)
class Decision:
    activity: StandaloneActivity
    row: Row
    effects: Effects


def decide(a: StandaloneActivity, e: Event) -> Decision:
    """The row the table picks for `e` in the activity's status, carried out: the new
    record (its transition counted when it changed) and the effects."""
    row = fsm.decide(TABLE, a.status, e.input, lambda g: GUARDS[g](a, e))
    after, effects = HANDLERS[row.handler](a, e)
    fsm.check_target(TABLE, row, after.status)
    if after != a:
        after = dataclasses.replace(after, transitions=a.transitions + 1)
    return Decision(after, row, effects)


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
