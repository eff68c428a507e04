"""An activity on the server: every rule of it, as rows of one table that decides.

```
             RecordActivityTaskStarted          Respond*Completed | Failed | Canceled
  Scheduled ───────────────────────────▶ Started ──────────────────────────────▶ Closed
     ▲  │ schedule-to-start /               │ retryable failure, start-to-close or
     │  │ schedule-to-close timeout         │ heartbeat timeout (no event written)
     │  ▼                                   ▼
     │ Closed (TimedOut)                 Backoff ── retry timer ──▶ Scheduled (attempt+1)
     └──────────────────────────────────────┘
```

How it runs: a worker call, a timer task or a cancel command is turned into one
`ActivityInput` by `classify`; the activity's current state is read off its record
(`state_of`: a record no longer pending is `Closed`); `fsm.decide` picks the row (the
first guarded row whose guard holds, else the unguarded one); the handler the row names
carries it out; and the state the handler leaves is checked to be the row's target.
Stale and duplicate requests are rows too: a completion of a closed activity is the row
``Closed --RespondActivityTaskCompleted / reject_not_found--> Closed``.

Rules (docs/temporal-semantics.md#activity; `service/history/workflow/mutable_state_impl.go`,
`activity.go`, `service/history/api/recordactivitytaskstarted/api.go`,
`timer_queue_active_task_executor.go` processActivityTimeout):

- The start of an attempt is kept in mutable state only; ActivityTaskStarted is written
  when the activity closes, immediately before its close event, with the final attempt
  and the last failure. Both are buffered while a workflow task is in flight.
- A retryable failure, a start-to-close timeout and a heartbeat timeout retry the
  activity if the policy allows (`retry.next_retry`): attempt + 1, a new stamp, a retry
  timer, and no event. Schedule-to-start and schedule-to-close timeouts never retry.
- Worker calls carry a token (scheduled id, attempt): a stale one gets NOT_FOUND.
  RecordActivityTaskStarted is idempotent for the same request id; a different request
  for a started attempt gets ALREADY_STARTED, a task of an older stamp OBSOLETE.
- A heartbeat's reply tells the worker whether a cancel was requested; Canceled is legal
  only after a cancel request. A cancel request of an activity not running cancels it
  at once, in the same batch.
- Every close schedules a workflow task if none is pending.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from enum import Enum
from typing import TypeAlias

from core.enums import EventType, RetryState, TimeoutType
from core.errors import InvalidDefinition
from core.events import (
    ActivityTaskCanceledEventAttributes,
    ActivityTaskCancelRequestedEventAttributes,
    ActivityTaskCompletedEventAttributes,
    ActivityTaskFailedEventAttributes,
    ActivityTaskStartedEventAttributes,
    ActivityTaskTimedOutEventAttributes,
)
from core.opaque import Opaque
from core.statemachine import fsm
from core.statemachine.history.service import workflow_task
from core.statemachine.history.service.activity_tasks import (
    NO_TIME_TO_RETRY_MESSAGE,
    TIMEOUT_MESSAGE,
    TIMEOUT_NAME,
    deadline,
    dispatch_tasks,
    schedule_to_close_tasks,
    started_tasks,
    timeout_failure,
)
from core.statemachine.history.service.requests import (
    ActivityRetryTask,
    ActivityTaskStarted,
    ActivityTaskToken,
    ActivityTimeoutTask,
    Error,
    ErrorKind,
    Heartbeat,
    Ok,
    RecordActivityTaskHeartbeat,
    RecordActivityTaskStarted,
    Reply,
    RespondActivityTaskCanceled,
    RespondActivityTaskCompleted,
    RespondActivityTaskFailed,
)
from core.statemachine.history.service.retry import next_retry
from core.statemachine.history.service.state import ActivityInfo, MutableState
from core.statemachine.history.service.txn import Outcome, Txn, finish, unchanged

E = EventType


class ActivityState(Enum):
    """A scheduled activity on the server (the pending ActivityInfo of mutable state)."""

    SCHEDULED = "Scheduled"
    STARTED = "Started"
    CANCEL_REQUESTED = "CancelRequested"  # started, and the workflow asked to cancel it
    BACKOFF = "Backoff"  # waiting for the retry timer of the next attempt
    CLOSED = "Closed"  # its result written and its record deleted (or never known)


class ActivityInput(Enum):
    RECORD_STARTED = "RecordActivityTaskStarted"
    HEARTBEAT = "RecordActivityTaskHeartbeat"
    RESPOND_COMPLETED = "RespondActivityTaskCompleted"
    RESPOND_FAILED = "RespondActivityTaskFailed"
    RESPOND_CANCELED = "RespondActivityTaskCanceled"
    SCHEDULE_TO_START_TIMEOUT = "schedule-to-start timer"
    SCHEDULE_TO_CLOSE_TIMEOUT = "schedule-to-close timer"
    START_TO_CLOSE_TIMEOUT = "start-to-close timer"
    HEARTBEAT_TIMEOUT = "heartbeat timer"
    RETRY_TIMER = "retry timer"
    REQUEST_CANCEL = "RequestCancelActivityTask"


@dataclasses.dataclass(frozen=True, slots=True)
class CancelRequest:
    """The RequestCancelActivityTask command of a workflow task completion."""

    scheduled_event_id: int
    workflow_task_completed_event_id: int


ActivityRequest: TypeAlias = (
    RecordActivityTaskStarted
    | RecordActivityTaskHeartbeat
    | RespondActivityTaskCompleted
    | RespondActivityTaskFailed
    | RespondActivityTaskCanceled
    | ActivityTimeoutTask
    | ActivityRetryTask
    | CancelRequest
)

_S = ActivityState
_I = ActivityInput
_WORKER_CALLS = (_I.HEARTBEAT, _I.RESPOND_COMPLETED, _I.RESPOND_FAILED, _I.RESPOND_CANCELED)
_ATTEMPT_TIMERS = (_I.START_TO_CLOSE_TIMEOUT, _I.HEARTBEAT_TIMEOUT)
R = fsm.Row


def _rows() -> list[fsm.Row[ActivityState, ActivityInput]]:
    rows = [
        R(_S.SCHEDULED, _I.RECORD_STARTED, _S.SCHEDULED, guard="stale stamp", handler="obsolete"),
        R(_S.SCHEDULED, _I.RECORD_STARTED, _S.STARTED, handler="start"),
        R(
            _S.SCHEDULED,
            _I.SCHEDULE_TO_START_TIMEOUT,
            _S.SCHEDULED,
            guard="stale timer",
            handler="ignore_stale_timer",
        ),
        R(_S.SCHEDULED, _I.SCHEDULE_TO_START_TIMEOUT, _S.CLOSED, handler="time_out"),
        R(_S.SCHEDULED, _I.REQUEST_CANCEL, _S.CLOSED, handler="cancel_at_once"),
        R(_S.BACKOFF, _I.RECORD_STARTED, _S.BACKOFF, handler="obsolete"),
        R(_S.BACKOFF, _I.SCHEDULE_TO_START_TIMEOUT, _S.BACKOFF, handler="ignore_stale_timer"),
        R(
            _S.BACKOFF,
            _I.RETRY_TIMER,
            _S.BACKOFF,
            guard="stale timer",
            handler="ignore_stale_timer",
        ),
        R(_S.BACKOFF, _I.RETRY_TIMER, _S.SCHEDULED, handler="reschedule"),
        R(_S.BACKOFF, _I.REQUEST_CANCEL, _S.CLOSED, handler="cancel_at_once"),
        R(_S.STARTED, _I.REQUEST_CANCEL, _S.CANCEL_REQUESTED, handler="request_cancel"),
        R(
            _S.STARTED,
            _I.RESPOND_CANCELED,
            _S.STARTED,
            guard="stale token",
            handler="reject_not_found",
        ),
        R(_S.STARTED, _I.RESPOND_CANCELED, _S.STARTED, handler="reject_cancel_not_requested"),
        R(
            _S.CANCEL_REQUESTED,
            _I.RESPOND_CANCELED,
            _S.CANCEL_REQUESTED,
            guard="stale token",
            handler="reject_not_found",
        ),
        R(_S.CANCEL_REQUESTED, _I.RESPOND_CANCELED, _S.CLOSED, handler="cancel"),
        R(
            _S.CANCEL_REQUESTED,
            _I.REQUEST_CANCEL,
            _S.CANCEL_REQUESTED,
            handler="reject_cancel_command",
        ),
        R(_S.CLOSED, _I.REQUEST_CANCEL, _S.CLOSED, handler="reject_cancel_command"),
    ]
    for s in (_S.STARTED, _S.CANCEL_REQUESTED):  # an attempt running on a worker
        rows += [
            R(s, _I.RECORD_STARTED, s, guard="stale stamp", handler="obsolete"),
            R(s, _I.RECORD_STARTED, s, guard="same request", handler="started_again"),
            R(s, _I.RECORD_STARTED, s, handler="reject_already_started"),
            R(s, _I.HEARTBEAT, s, guard="stale token", handler="reject_not_found"),
            R(s, _I.HEARTBEAT, s, handler="heartbeat"),
            R(s, _I.RESPOND_COMPLETED, s, guard="stale token", handler="reject_not_found"),
            R(s, _I.RESPOND_COMPLETED, _S.CLOSED, handler="complete"),
            R(s, _I.RESPOND_FAILED, s, guard="stale token", handler="reject_not_found"),
            R(s, _I.SCHEDULE_TO_START_TIMEOUT, s, handler="ignore_stale_timer"),
            R(s, _I.HEARTBEAT_TIMEOUT, s, guard="stale timer", handler="ignore_stale_timer"),
            R(s, _I.HEARTBEAT_TIMEOUT, s, guard="heartbeat recent", handler="recheck_heartbeat"),
            R(s, _I.START_TO_CLOSE_TIMEOUT, s, guard="stale timer", handler="ignore_stale_timer"),
        ]
        if s is _S.STARTED:  # no retry once a cancel was requested (retry.go)
            rows += [
                R(s, _I.RESPOND_FAILED, _S.BACKOFF, guard="retry allowed", handler="retry"),
                *(
                    R(s, t, _S.BACKOFF, guard="retry allowed", handler="retry")
                    for t in _ATTEMPT_TIMERS
                ),
                *(
                    R(s, t, _S.CLOSED, guard="no time to retry", handler="time_out_no_time_left")
                    for t in _ATTEMPT_TIMERS
                ),
            ]
        rows += [
            R(s, _I.RESPOND_FAILED, _S.CLOSED, handler="fail"),
            *(R(s, t, _S.CLOSED, handler="time_out") for t in _ATTEMPT_TIMERS),
        ]
    for s in (_S.SCHEDULED, _S.BACKOFF):  # no attempt running: worker calls are stale
        rows += [R(s, i, s, handler="reject_not_found") for i in _WORKER_CALLS]
        rows += [R(s, t, s, handler="ignore_stale_timer") for t in _ATTEMPT_TIMERS]
    for s in (_S.SCHEDULED, _S.STARTED, _S.CANCEL_REQUESTED, _S.BACKOFF):
        rows.append(R(s, _I.SCHEDULE_TO_CLOSE_TIMEOUT, _S.CLOSED, handler="time_out_no_time_left"))
    for s in (_S.SCHEDULED, _S.STARTED, _S.CANCEL_REQUESTED):
        rows.append(R(s, _I.RETRY_TIMER, s, handler="ignore_stale_timer"))
    # The duplicate and late requests of a closed activity: NOT_FOUND, nothing written.
    rows.append(R(_S.CLOSED, _I.RECORD_STARTED, _S.CLOSED, handler="reject_not_found"))
    rows += [R(_S.CLOSED, i, _S.CLOSED, handler="reject_not_found") for i in _WORKER_CALLS]
    rows += [
        R(_S.CLOSED, t, _S.CLOSED, handler="ignore_stale_timer")
        for t in (_I.SCHEDULE_TO_START_TIMEOUT, _I.SCHEDULE_TO_CLOSE_TIMEOUT, *_ATTEMPT_TIMERS)
    ]
    rows.append(R(_S.CLOSED, _I.RETRY_TIMER, _S.CLOSED, handler="ignore_stale_timer"))
    return rows


TABLE = fsm.make_table(
    "activity (service)", "INV-RESULT-AT-MOST-ONCE", ActivityState, ActivityInput,
    _S.SCHEDULED, _rows(),
)  # fmt: skip


def state_of(info: ActivityInfo | None) -> ActivityState:
    """The state an activity is in, read off its pending record (None: not pending)."""
    if info is None:
        return _S.CLOSED
    if info.started:
        return _S.CANCEL_REQUESTED if info.cancel_requested_event_id else _S.STARTED
    return _S.BACKOFF if info.backoff else _S.SCHEDULED


_TIMEOUT_INPUT = {
    TimeoutType.SCHEDULE_TO_START: _I.SCHEDULE_TO_START_TIMEOUT,
    TimeoutType.SCHEDULE_TO_CLOSE: _I.SCHEDULE_TO_CLOSE_TIMEOUT,
    TimeoutType.START_TO_CLOSE: _I.START_TO_CLOSE_TIMEOUT,
    TimeoutType.HEARTBEAT: _I.HEARTBEAT_TIMEOUT,
}


def classify(request: ActivityRequest) -> ActivityInput:
    """The table input a request, a task or a command is."""
    if isinstance(request, ActivityTimeoutTask):
        return _TIMEOUT_INPUT[request.timeout_type]
    return _INPUT_OF[type(request)]


_INPUT_OF: dict[type, ActivityInput] = {
    RecordActivityTaskStarted: _I.RECORD_STARTED,
    RecordActivityTaskHeartbeat: _I.HEARTBEAT,
    RespondActivityTaskCompleted: _I.RESPOND_COMPLETED,
    RespondActivityTaskFailed: _I.RESPOND_FAILED,
    RespondActivityTaskCanceled: _I.RESPOND_CANCELED,
    ActivityRetryTask: _I.RETRY_TIMER,
    CancelRequest: _I.REQUEST_CANCEL,
}


def scheduled_id(request: ActivityRequest) -> int:
    if isinstance(request, (RecordActivityTaskHeartbeat, RespondActivityTaskCompleted)):
        return request.token.scheduled_event_id
    if isinstance(request, (RespondActivityTaskFailed, RespondActivityTaskCanceled)):
        return request.token.scheduled_event_id
    return request.scheduled_event_id


@dataclasses.dataclass(slots=True)
class Call:
    """One request being decided: the transaction, the record it names, the request."""

    txn: Txn
    info: ActivityInfo | None
    request: ActivityRequest

    def record(self) -> ActivityInfo:
        """The pending record (every row that reads it starts from a pending state)."""
        if self.info is None:
            raise InvalidDefinition(f"{TABLE.name}: a Closed row read the record")
        return self.info


Row: TypeAlias = fsm.Row[ActivityState, ActivityInput]


def decide(txn: Txn, request: ActivityRequest) -> tuple[Row, Reply]:
    """Run the row `request` selects on the activity it names; return the row and the
    reply. The state the handler leaves must be the row's target."""
    key = scheduled_id(request)
    info = txn.state.activity(key)
    call = Call(txn, info, request)
    row = fsm.decide(TABLE, state_of(info), classify(request), lambda g: GUARDS[g](call))
    reply = HANDLERS[row.handler](call)
    fsm.check_target(TABLE, row, state_of(txn.state.activity(key)))
    return row, reply


def handle(state: MutableState, request: ActivityRequest, now: int) -> Outcome:
    """A worker call or an activity timer task, on a run's mutable state."""
    if not state.running:  # the run's rule, before any activity is looked up
        if isinstance(request, (ActivityTimeoutTask, ActivityRetryTask)):
            return unchanged(state, _stale(request))
        text = "workflow is closed" if isinstance(request, RecordActivityTaskStarted) else ""
        return unchanged(state, Error(ErrorKind.WORKFLOW_COMPLETED, text or _RUN_CLOSED))
    txn = Txn(state, now)
    _, reply = decide(txn, request)
    return unchanged(state, reply) if txn.untouched else finish(txn, reply)


def schedule(txn: Txn, info: ActivityInfo) -> None:
    """A new activity (ScheduleActivityTask, validated by command_handlers.py): its
    record, the transfer task of attempt 1 and its timers."""
    put(txn, info)
    for task in (*dispatch_tasks(info), *schedule_to_close_tasks(info)):
        txn.task(task)


def request_cancel(txn: Txn, scheduled_event_id: int, completed_id: int) -> bool | None:
    """RequestCancelActivityTask: None if rejected, else whether the activity closed at
    once (then the batch needs a new workflow task)."""
    row, reply = decide(txn, CancelRequest(scheduled_event_id, completed_id))
    if isinstance(reply, Error):
        return None
    return row.target is _S.CLOSED


_RUN_CLOSED = "workflow execution is closed"


# --- guards: named in rows, evaluated only when `decide` reaches their row ---------


def _token_attempt(request: ActivityRequest) -> int:
    if isinstance(
        request,
        (
            RecordActivityTaskHeartbeat,
            RespondActivityTaskCompleted,
            RespondActivityTaskFailed,
            RespondActivityTaskCanceled,
        ),
    ):
        return request.token.attempt
    raise InvalidDefinition(f"{TABLE.name}: a token guard on {type(request).__name__}")


def _stale_stamp(call: Call) -> bool:
    request = call.request
    return isinstance(request, RecordActivityTaskStarted) and request.stamp != call.record().stamp


def _stale_timer(call: Call) -> bool:
    info, task = call.record(), call.request
    if not isinstance(task, (ActivityTimeoutTask, ActivityRetryTask)):
        raise InvalidDefinition(f"{TABLE.name}: a timer guard on {type(task).__name__}")
    return info.stamp != task.stamp or info.attempt != task.attempt


def _same_request(call: Call) -> bool:
    request = call.request
    return (
        isinstance(request, RecordActivityTaskStarted)
        and request.request_id == call.record().request_id
    )


def _heartbeat_recent(call: Call) -> bool:
    info = call.record()
    return (info.last_heartbeat_time or info.started_time) + info.heartbeat_timeout > call.txn.now


def _retry(call: Call) -> tuple[int | None, RetryState]:
    """The retry decision for a failure or an attempt timeout (retry.go)."""
    info, request = call.record(), call.request
    failed = request if isinstance(request, RespondActivityTaskFailed) else None
    return next_retry(
        info.retry_policy,
        info.attempt,
        call.txn.now,
        deadline(info),
        failed.error_type if failed is not None else "",
        failed.non_retryable if failed is not None else False,
        info.cancel_requested_event_id != 0,
    )


GUARDS: dict[str, Callable[[Call], bool]] = {
    "stale stamp": _stale_stamp,
    "stale timer": _stale_timer,
    "stale token": lambda call: _token_attempt(call.request) != call.record().attempt,
    "same request": _same_request,
    "heartbeat recent": _heartbeat_recent,
    "retry allowed": lambda call: _retry(call)[0] is not None,
    "no time to retry": lambda call: _retry(call)[1] is RetryState.TIMEOUT,
}


# --- handlers: what the rows name; each leaves the activity in its row's target ------


def put(txn: Txn, info: ActivityInfo) -> None:
    """Insert or replace a pending activity, keeping the tuple sorted by id."""
    others = [a for a in txn.state.activities if a.scheduled_event_id != info.scheduled_event_id]
    txn.set(
        activities=tuple(sorted([*others, info], key=lambda a: a.scheduled_event_id)),
    )


def _drop(txn: Txn, scheduled_event_id: int) -> None:
    txn.set(
        activities=tuple(
            a for a in txn.state.activities if a.scheduled_event_id != scheduled_event_id
        ),
    )


def _stale(request: ActivityRequest) -> Error:
    if isinstance(request, ActivityRetryTask):
        return Error(ErrorKind.NOT_FOUND, "stale activity retry timer")
    return Error(ErrorKind.NOT_FOUND, "stale activity timer")


def _start(call: Call) -> Reply:
    info, request = call.record(), call.request
    assert isinstance(request, RecordActivityTaskStarted)
    started = dataclasses.replace(
        info,
        started=True,
        started_time=call.txn.now,
        request_id=request.request_id,
        identity=request.identity,
        last_heartbeat_time=0,
        worker_version=request.worker_version,
    )
    put(call.txn, started)
    for task in started_tasks(info, call.txn.now):
        call.txn.task(task)
    return ActivityTaskStarted(ActivityTaskToken(info.scheduled_event_id, info.attempt))


def _started_again(call: Call) -> Reply:  # the same request again: idempotent
    info = call.record()
    return ActivityTaskStarted(ActivityTaskToken(info.scheduled_event_id, info.attempt))


def _heartbeat(call: Call) -> Reply:
    info, request = call.record(), call.request
    assert isinstance(request, RecordActivityTaskHeartbeat)
    put(
        call.txn,
        dataclasses.replace(
            info, last_heartbeat_time=call.txn.now, heartbeat_details=request.details
        ),
    )
    return Heartbeat(cancel_requested=info.cancel_requested_event_id != 0)


def _write_started(txn: Txn, info: ActivityInfo) -> int:
    """ActivityTaskStarted for the closing attempt (returns -123 if buffered)."""
    return txn.add(
        E.ACTIVITY_TASK_STARTED,
        ActivityTaskStartedEventAttributes(
            scheduled_event_id=info.scheduled_event_id,
            identity=info.identity,
            request_id=info.request_id,
            attempt=info.attempt,
            last_failure=info.last_failure,
            worker_version=info.worker_version,
        ),
    )


def _closed(txn: Txn, info: ActivityInfo) -> Reply:
    _drop(txn, info.scheduled_event_id)
    workflow_task.schedule(txn)
    return Ok()


def _complete(call: Call) -> Reply:
    info, request = call.record(), call.request
    assert isinstance(request, RespondActivityTaskCompleted)
    started = _write_started(call.txn, info)
    call.txn.add(
        E.ACTIVITY_TASK_COMPLETED,
        ActivityTaskCompletedEventAttributes(
            result=request.result,
            scheduled_event_id=info.scheduled_event_id,
            started_event_id=started,
            identity=request.identity,
        ),
    )
    return _closed(call.txn, info)


def _fail(call: Call) -> Reply:
    info, request = call.record(), call.request
    assert isinstance(request, RespondActivityTaskFailed)
    started = _write_started(call.txn, dataclasses.replace(info, last_failure=None))
    call.txn.add(
        E.ACTIVITY_TASK_FAILED,
        ActivityTaskFailedEventAttributes(
            failure=request.failure,
            scheduled_event_id=info.scheduled_event_id,
            started_event_id=started,
            identity=request.identity,
            retry_state=_retry(call)[1],
        ),
    )
    return _closed(call.txn, info)


def _retry_later(call: Call) -> Reply:
    """Reschedule the next attempt after the policy's delay; no event is written. The
    next attempt sees this failure (or timeout) as its last failure."""
    info, request, txn = call.record(), call.request, call.txn
    delay = _retry(call)[0]
    assert delay is not None
    if isinstance(request, RespondActivityTaskFailed):
        failure: Opaque | None = request.failure
    else:
        assert isinstance(request, ActivityTimeoutTask)
        kind = request.timeout_type
        failure = timeout_failure(TIMEOUT_MESSAGE.format(TIMEOUT_NAME[kind]), kind)
    retried = dataclasses.replace(
        info,
        attempt=info.attempt + 1,
        stamp=info.stamp + 1,
        started=False,
        started_time=0,
        request_id="",
        scheduled_time=txn.now + delay,
        last_failure=failure,
        last_heartbeat_time=0,
        backoff=True,
    )
    put(txn, retried)
    txn.task(
        ActivityRetryTask(info.scheduled_event_id, retried.attempt, retried.stamp, txn.now + delay)
    )
    return Ok()


def _reschedule(call: Call) -> Reply:  # the retry timer fired: dispatch the next attempt
    rescheduled = dataclasses.replace(call.record(), scheduled_time=call.txn.now, backoff=False)
    for task in dispatch_tasks(rescheduled):
        call.txn.task(task)
    put(call.txn, rescheduled)
    return Ok()


def _recheck_heartbeat(call: Call) -> Reply:  # heartbeats came in: check again later
    info, task = call.record(), call.request
    assert isinstance(task, ActivityTimeoutTask)
    last = info.last_heartbeat_time or info.started_time
    call.txn.task(dataclasses.replace(task, fire_time=last + info.heartbeat_timeout))
    return Ok()


def _time_out(call: Call) -> Reply:
    task = call.request
    assert isinstance(task, ActivityTimeoutTask)
    kind = task.timeout_type
    retry_state = RetryState.TIMEOUT if kind is TimeoutType.SCHEDULE_TO_START else _retry(call)[1]
    return _timed_out(call, kind, retry_state, TIMEOUT_MESSAGE.format(TIMEOUT_NAME[kind]))


def _time_out_no_time_left(call: Call) -> Reply:
    """Schedule-to-close, or any attempt timeout leaving no time to retry before it, is
    reported as a schedule-to-close timeout (processActivityTimeout)."""
    kind = TimeoutType.SCHEDULE_TO_CLOSE
    return _timed_out(call, kind, RetryState.TIMEOUT, NO_TIME_TO_RETRY_MESSAGE)


def _timed_out(call: Call, kind: TimeoutType, retry_state: RetryState, text: str) -> Reply:
    info = call.record()
    started = _write_started(call.txn, info) if info.started else 0
    call.txn.add(
        E.ACTIVITY_TASK_TIMED_OUT,
        ActivityTaskTimedOutEventAttributes(
            failure=timeout_failure(text, kind, info.heartbeat_details),
            scheduled_event_id=info.scheduled_event_id,
            started_event_id=started,
            retry_state=retry_state,
        ),
    )
    return _closed(call.txn, info)


def _write_cancel_requested(call: Call) -> ActivityInfo:
    request = call.request
    assert isinstance(request, CancelRequest)
    info = call.record()
    requested = call.txn.append(
        E.ACTIVITY_TASK_CANCEL_REQUESTED,
        ActivityTaskCancelRequestedEventAttributes(
            scheduled_event_id=info.scheduled_event_id,
            workflow_task_completed_event_id=request.workflow_task_completed_event_id,
        ),
    )
    return dataclasses.replace(info, cancel_requested_event_id=requested)


def _request_cancel(call: Call) -> Reply:  # running on a worker: it learns by heartbeat
    put(call.txn, _write_cancel_requested(call))
    return Ok()


def _cancel_at_once(call: Call) -> Reply:  # never dispatched, or backing off
    info = _write_cancel_requested(call)
    _write_canceled(call.txn, info, 0, None, "")
    _drop(call.txn, info.scheduled_event_id)
    return Ok()


def _cancel(call: Call) -> Reply:
    info, request = call.record(), call.request
    assert isinstance(request, RespondActivityTaskCanceled)
    started = _write_started(call.txn, info)
    _write_canceled(call.txn, info, started, request.details, request.identity)
    return _closed(call.txn, info)


def _write_canceled(
    txn: Txn, info: ActivityInfo, started: int, details: Opaque | None, identity: str
) -> None:
    txn.add(
        E.ACTIVITY_TASK_CANCELED,
        ActivityTaskCanceledEventAttributes(
            details=details,
            latest_cancel_requested_event_id=info.cancel_requested_event_id,
            scheduled_event_id=info.scheduled_event_id,
            started_event_id=started,
            identity=identity,
        ),
    )


_NOT_FOUND = Error(ErrorKind.NOT_FOUND, "activity task not found")
_NOT_FOUND_FOR: dict[type, Error] = {
    RecordActivityTaskStarted: Error(ErrorKind.NOT_FOUND, "activity not found")
}


HANDLERS: dict[str, Callable[[Call], Reply]] = {
    "start": _start,
    "started_again": _started_again,
    "heartbeat": _heartbeat,
    "complete": _complete,
    "fail": _fail,
    "retry": _retry_later,
    "reschedule": _reschedule,
    "recheck_heartbeat": _recheck_heartbeat,
    "time_out": _time_out,
    "time_out_no_time_left": _time_out_no_time_left,
    "request_cancel": _request_cancel,
    "cancel_at_once": _cancel_at_once,
    "cancel": _cancel,
    "obsolete": lambda call: Error(ErrorKind.OBSOLETE, "activity was rescheduled"),
    "reject_already_started": lambda call: Error(
        ErrorKind.ALREADY_STARTED, "activity already started"
    ),
    "reject_not_found": lambda call: _NOT_FOUND_FOR.get(type(call.request), _NOT_FOUND),
    "reject_cancel_not_requested": lambda call: Error(
        ErrorKind.INVALID_ARGUMENT, "activity cancel was not requested"
    ),
    "reject_cancel_command": lambda call: Error(
        ErrorKind.INVALID_ARGUMENT, "BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES"
    ),
    "ignore_stale_timer": lambda call: _stale(call.request),
}
