"""Activities on the server: schedule, dispatch, heartbeat, close, retry, time out.

```
             RecordActivityTaskStarted          Respond*Completed | Failed | Canceled
  Scheduled ───────────────────────────▶ Started ──────────────────────────────▶ closed
     ▲  │ schedule-to-start /               │ retryable failure, start-to-close or
     │  │ schedule-to-close timeout         │ heartbeat timeout (no event written)
     │  ▼                                   ▼
     │ closed (TimedOut)                 Backoff ── retry timer ──▶ Scheduled (attempt+1)
     └──────────────────────────────────────┘
```

Rules (docs/temporal-semantics.md#activity;
`service/history/workflow/mutable_state_impl.go`, `activity.go`,
`service/history/api/recordactivitytaskstarted/api.go`, `activity_util.go`):

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
  only after a cancel request.
- Every close schedules a workflow task if none is pending.
"""

from __future__ import annotations

import dataclasses
from enum import Enum

from core.enums import EventType, RetryState, TimeoutType
from core.events import (
    ActivityTaskCanceledEventAttributes,
    ActivityTaskCompletedEventAttributes,
    ActivityTaskFailedEventAttributes,
    ActivityTaskStartedEventAttributes,
    ActivityTaskTimedOutEventAttributes,
)
from core.opaque import JsonValue, Opaque
from core.statemachine import fsm
from core.statemachine.history.service import workflow_task
from core.statemachine.history.service.requests import (
    ActivityRetryTask,
    ActivityTaskStarted,
    ActivityTaskToken,
    ActivityTaskTransfer,
    ActivityTimeoutTask,
    Error,
    ErrorKind,
    Heartbeat,
    Ok,
    RecordActivityTaskHeartbeat,
    RecordActivityTaskStarted,
    RespondActivityTaskCanceled,
    RespondActivityTaskCompleted,
    RespondActivityTaskFailed,
    Task,
)
from core.statemachine.history.service.retry import next_retry
from core.statemachine.history.service.state import ActivityInfo, MutableState
from core.statemachine.history.service.txn import Outcome, Txn, finish, unchanged

E = EventType


class ActivityState(Enum):
    SCHEDULED = "Scheduled"
    STARTED = "Started"
    CANCEL_REQUESTED = "CancelRequested"
    BACKOFF = "Backoff"
    COMPLETED = "Completed"
    FAILED = "Failed"
    TIMED_OUT = "TimedOut"
    CANCELED = "Canceled"


class ActivityInput(Enum):
    RECORD_STARTED = "RecordActivityTaskStarted"
    HEARTBEAT = "RecordActivityTaskHeartbeat"
    RESPOND_COMPLETED = "RespondActivityTaskCompleted"
    RESPOND_FAILED = "RespondActivityTaskFailed"
    RESPOND_FAILED_RETRY = "RespondActivityTaskFailed (retry)"
    RESPOND_CANCELED = "RespondActivityTaskCanceled"
    TIMEOUT = "timeout"
    TIMEOUT_RETRY = "timeout (retry)"
    RETRY_TIMER = "retry timer"
    REQUEST_CANCEL = "RequestCancelActivityTask"


_S = ActivityState
_I = ActivityInput

TABLE = fsm.make_table(
    "activity (service)",
    "INV-RESULT-AT-MOST-ONCE",
    ActivityState,
    ActivityInput,
    _S.SCHEDULED,
    [
        (_S.SCHEDULED, _I.RECORD_STARTED, _S.STARTED),
        (_S.SCHEDULED, _I.TIMEOUT, _S.TIMED_OUT),
        (_S.SCHEDULED, _I.REQUEST_CANCEL, _S.CANCELED),
        (_S.STARTED, _I.HEARTBEAT, _S.STARTED),
        (_S.STARTED, _I.RESPOND_COMPLETED, _S.COMPLETED),
        (_S.STARTED, _I.RESPOND_FAILED, _S.FAILED),
        (_S.STARTED, _I.RESPOND_FAILED_RETRY, _S.BACKOFF),
        (_S.STARTED, _I.TIMEOUT, _S.TIMED_OUT),
        (_S.STARTED, _I.TIMEOUT_RETRY, _S.BACKOFF),
        (_S.STARTED, _I.REQUEST_CANCEL, _S.CANCEL_REQUESTED),
        (_S.CANCEL_REQUESTED, _I.HEARTBEAT, _S.CANCEL_REQUESTED),
        (_S.CANCEL_REQUESTED, _I.RESPOND_CANCELED, _S.CANCELED),
        (_S.CANCEL_REQUESTED, _I.RESPOND_COMPLETED, _S.COMPLETED),
        (_S.CANCEL_REQUESTED, _I.RESPOND_FAILED, _S.FAILED),
        (_S.CANCEL_REQUESTED, _I.TIMEOUT, _S.TIMED_OUT),
        (_S.BACKOFF, _I.RETRY_TIMER, _S.SCHEDULED),
        (_S.BACKOFF, _I.REQUEST_CANCEL, _S.CANCELED),
        (_S.BACKOFF, _I.TIMEOUT, _S.TIMED_OUT),
    ],
)


def state_of(info: ActivityInfo) -> ActivityState:
    """The machine state a pending activity is in, read off its record."""
    if info.started:
        return _S.CANCEL_REQUESTED if info.cancel_requested_event_id else _S.STARTED
    return _S.BACKOFF if info.backoff else _S.SCHEDULED


def transition(info: ActivityInfo, input_: ActivityInput) -> None:
    """Check a transition against TABLE (raises InvalidTransition on a model bug)."""
    fsm.step(TABLE, state_of(info), input_)


def put(txn: Txn, info: ActivityInfo) -> None:
    """Insert or replace a pending activity, keeping the tuple sorted by id."""
    others = [a for a in txn.state.activities if a.scheduled_event_id != info.scheduled_event_id]
    txn.set(
        activities=tuple(sorted([*others, info], key=lambda a: a.scheduled_event_id)),
    )


def drop(txn: Txn, scheduled_event_id: int) -> None:
    txn.set(
        activities=tuple(
            a for a in txn.state.activities if a.scheduled_event_id != scheduled_event_id
        ),
    )


def dispatch(txn: Txn, info: ActivityInfo) -> None:
    """Emit the transfer task for the current attempt, and its schedule-to-start timer."""
    for task in dispatch_tasks(info):
        txn.task(task)


def dispatch_tasks(info: ActivityInfo) -> tuple[Task, ...]:
    """The transfer task of the current attempt and its schedule-to-start timer (due
    `schedule_to_start_timeout` after the attempt was scheduled)."""
    transfer = ActivityTaskTransfer(
        info.scheduled_event_id, info.task_queue, info.stamp, info.schedule_to_start_timeout
    )
    if not info.schedule_to_start_timeout:
        return (transfer,)
    timer = ActivityTimeoutTask(
        info.scheduled_event_id,
        TimeoutType.SCHEDULE_TO_START,
        info.attempt,
        info.stamp,
        info.scheduled_time + info.schedule_to_start_timeout,
    )
    return transfer, timer


def arm_schedule_to_close(txn: Txn, info: ActivityInfo) -> None:
    """The schedule-to-close timer spans all attempts, so it is armed once."""
    for task in schedule_to_close_tasks(info):
        txn.task(task)


def schedule_to_close_tasks(info: ActivityInfo) -> tuple[Task, ...]:
    if not info.schedule_to_close_timeout:
        return ()
    return (
        ActivityTimeoutTask(
            info.scheduled_event_id,
            TimeoutType.SCHEDULE_TO_CLOSE,
            info.attempt,
            info.stamp,
            _deadline(info),
        ),
    )


def _deadline(info: ActivityInfo) -> int:
    if not info.schedule_to_close_timeout:
        return 0
    return info.first_scheduled_time + info.schedule_to_close_timeout


def normalize_timeouts(
    schedule_to_close: int, schedule_to_start: int, start_to_close: int, heartbeat: int, run: int
) -> tuple[int, int, int, int] | None:
    """The four timeouts an activity is scheduled with, each filled in from the others
    and capped by the run timeout (`validateAndNormalizeTimeouts` in
    chasm/lib/activity/validator.go); None when neither schedule-to-close nor
    start-to-close is given. All in ns, 0 meaning unset (or unlimited)."""
    if schedule_to_close > 0:
        schedule_to_start = (
            min(schedule_to_start, schedule_to_close)
            if schedule_to_start > 0
            else schedule_to_close
        )
        start_to_close = (
            min(start_to_close, schedule_to_close) if start_to_close > 0 else schedule_to_close
        )
    elif start_to_close > 0:
        schedule_to_close = run
        if schedule_to_start <= 0:
            schedule_to_start = run
    else:
        return None
    if run > 0:
        schedule_to_close = min(schedule_to_close, run)
        schedule_to_start = min(schedule_to_start, run)
        start_to_close = min(start_to_close, run)
        heartbeat = min(heartbeat, run)
    return schedule_to_close, schedule_to_start, start_to_close, min(heartbeat, start_to_close)


def _by_token(state: MutableState, token: ActivityTaskToken) -> ActivityInfo | Error:
    if not state.running:
        return Error(ErrorKind.WORKFLOW_COMPLETED, "workflow execution is closed")
    info = state.activity(token.scheduled_event_id)
    if info is None or info.attempt != token.attempt or not info.started:
        return Error(ErrorKind.NOT_FOUND, "activity task not found")
    return info


def record_activity_task_started(
    state: MutableState, req: RecordActivityTaskStarted, now: int
) -> Outcome:
    if not state.running:
        return unchanged(state, Error(ErrorKind.WORKFLOW_COMPLETED, "workflow is closed"))
    info = state.activity(req.scheduled_event_id)
    if info is None:
        return unchanged(state, Error(ErrorKind.NOT_FOUND, "activity not found"))
    if info.stamp != req.stamp or info.backoff:
        # An older attempt's task, or one for an attempt whose retry timer has not fired.
        return unchanged(state, Error(ErrorKind.OBSOLETE, "activity was rescheduled"))
    token = ActivityTaskToken(info.scheduled_event_id, info.attempt)
    if info.started:
        if info.request_id == req.request_id:
            return unchanged(state, ActivityTaskStarted(token))
        return unchanged(state, Error(ErrorKind.ALREADY_STARTED, "activity already started"))
    txn = Txn(state, now)
    transition(info, _I.RECORD_STARTED)
    started = dataclasses.replace(
        info,
        started=True,
        started_time=now,
        request_id=req.request_id,
        identity=req.identity,
        last_heartbeat_time=0,
        worker_version=req.worker_version,
    )
    put(txn, started)
    if info.start_to_close_timeout:
        txn.task(
            ActivityTimeoutTask(
                info.scheduled_event_id,
                TimeoutType.START_TO_CLOSE,
                info.attempt,
                info.stamp,
                now + info.start_to_close_timeout,
            )
        )
    if info.heartbeat_timeout:
        txn.task(
            ActivityTimeoutTask(
                info.scheduled_event_id,
                TimeoutType.HEARTBEAT,
                info.attempt,
                info.stamp,
                now + info.heartbeat_timeout,
            )
        )
    return finish(txn, ActivityTaskStarted(token))


def record_activity_task_heartbeat(
    state: MutableState, req: RecordActivityTaskHeartbeat, now: int
) -> Outcome:
    info = _by_token(state, req.token)
    if isinstance(info, Error):
        return unchanged(state, info)
    txn = Txn(state, now)
    transition(info, _I.HEARTBEAT)
    put(txn, dataclasses.replace(info, last_heartbeat_time=now, heartbeat_details=req.details))
    return finish(txn, Heartbeat(cancel_requested=info.cancel_requested_event_id != 0))


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


def _closed(txn: Txn, info: ActivityInfo) -> Outcome:
    drop(txn, info.scheduled_event_id)
    workflow_task.schedule(txn)
    return finish(txn, Ok())


def respond_activity_task_completed(
    state: MutableState, req: RespondActivityTaskCompleted, now: int
) -> Outcome:
    info = _by_token(state, req.token)
    if isinstance(info, Error):
        return unchanged(state, info)
    txn = Txn(state, now)
    transition(info, _I.RESPOND_COMPLETED)
    started = _write_started(txn, info)
    txn.add(
        E.ACTIVITY_TASK_COMPLETED,
        ActivityTaskCompletedEventAttributes(
            result=req.result,
            scheduled_event_id=info.scheduled_event_id,
            started_event_id=started,
            identity=req.identity,
        ),
    )
    return _closed(txn, info)


def respond_activity_task_failed(
    state: MutableState, req: RespondActivityTaskFailed, now: int
) -> Outcome:
    info = _by_token(state, req.token)
    if isinstance(info, Error):
        return unchanged(state, info)
    txn = Txn(state, now)
    delay, retry_state = next_retry(
        info.retry_policy,
        info.attempt,
        now,
        _deadline(info),
        req.error_type,
        req.non_retryable,
        info.cancel_requested_event_id != 0,
    )
    if delay is not None:
        transition(info, _I.RESPOND_FAILED_RETRY)
        _retry(txn, info, delay, req.failure)
        return finish(txn, Ok())
    transition(info, _I.RESPOND_FAILED)
    started = _write_started(txn, dataclasses.replace(info, last_failure=None))
    txn.add(
        E.ACTIVITY_TASK_FAILED,
        ActivityTaskFailedEventAttributes(
            failure=req.failure,
            scheduled_event_id=info.scheduled_event_id,
            started_event_id=started,
            identity=req.identity,
            retry_state=retry_state,
        ),
    )
    return _closed(txn, info)


def _retry(txn: Txn, info: ActivityInfo, delay: int, failure: Opaque | None) -> None:
    """Reschedule the next attempt after `delay`; no event is written."""
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


def respond_activity_task_canceled(
    state: MutableState, req: RespondActivityTaskCanceled, now: int
) -> Outcome:
    info = _by_token(state, req.token)
    if isinstance(info, Error):
        return unchanged(state, info)
    if not info.cancel_requested_event_id:
        return unchanged(
            state, Error(ErrorKind.INVALID_ARGUMENT, "activity cancel was not requested")
        )
    txn = Txn(state, now)
    transition(info, _I.RESPOND_CANCELED)
    started = _write_started(txn, info)
    write_canceled(txn, info, started, req.details, req.identity)
    return _closed(txn, info)


def write_canceled(
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


def activity_retry_timer_fired(state: MutableState, task: ActivityRetryTask, now: int) -> Outcome:
    info = state.activity(task.scheduled_event_id) if state.running else None
    stale = info is None or not info.backoff
    if info is None or stale or info.stamp != task.stamp or info.attempt != task.attempt:
        return unchanged(state, Error(ErrorKind.NOT_FOUND, "stale activity retry timer"))
    txn = Txn(state, now)
    transition(info, _I.RETRY_TIMER)
    rescheduled = dataclasses.replace(info, scheduled_time=now, backoff=False)
    dispatch(txn, rescheduled)
    put(txn, rescheduled)
    return finish(txn, Ok())


def activity_task_timeout(state: MutableState, task: ActivityTimeoutTask, now: int) -> Outcome:
    """An activity timer fired; act only if it still belongs to the current attempt."""
    info = state.activity(task.scheduled_event_id) if state.running else None
    stale = Error(ErrorKind.NOT_FOUND, "stale activity timer")
    if info is None:
        return unchanged(state, stale)
    kind = task.timeout_type
    if kind is not TimeoutType.SCHEDULE_TO_CLOSE and (
        info.stamp != task.stamp or info.attempt != task.attempt
    ):
        return unchanged(state, stale)
    txn = Txn(state, now)
    if kind is TimeoutType.SCHEDULE_TO_START:
        if info.started:
            return unchanged(state, stale)
        return _timed_out(txn, info, kind, RetryState.TIMEOUT)
    if kind is TimeoutType.SCHEDULE_TO_CLOSE:  # any timeout but schedule-to-start that
        # leaves no time to retry is reported this way (processActivityTimeout)
        return _timed_out(txn, info, kind, RetryState.TIMEOUT, NO_TIME_TO_RETRY_MESSAGE)
    if not info.started:
        return unchanged(state, stale)
    if kind is TimeoutType.HEARTBEAT:
        last = info.last_heartbeat_time or info.started_time
        if last + info.heartbeat_timeout > now:  # heartbeats came in: check again later
            txn.task(dataclasses.replace(task, fire_time=last + info.heartbeat_timeout))
            return finish(txn, Ok())
    delay, retry_state = next_retry(
        info.retry_policy,
        info.attempt,
        now,
        _deadline(info),
        cancel_requested=info.cancel_requested_event_id != 0,
    )
    if delay is not None:  # the next attempt sees this timeout as its last failure
        transition(info, _I.TIMEOUT_RETRY)
        _retry(txn, info, delay, timeout_failure(TIMEOUT_MESSAGE.format(_TIMEOUT_NAME[kind]), kind))
        return finish(txn, Ok())
    if retry_state is RetryState.TIMEOUT:  # no time for another attempt before the deadline
        return _timed_out(
            txn, info, TimeoutType.SCHEDULE_TO_CLOSE, retry_state, NO_TIME_TO_RETRY_MESSAGE
        )
    return _timed_out(txn, info, kind, retry_state)


# The failure a timeout writes (timer_queue_active_task_executor.go, processActivityTimeout;
# common/failure/failure.go NewTimeoutFailure; the messages of common/util.go).
TIMEOUT_MESSAGE = "activity {} timeout"
NO_TIME_TO_RETRY_MESSAGE = (
    "Not enough time to schedule next retry before activity ScheduleToClose timeout, "
    "giving up retrying"
)
_TIMEOUT_NAME = {  # Go's TimeoutType.String()
    TimeoutType.START_TO_CLOSE: "StartToClose",
    TimeoutType.SCHEDULE_TO_START: "ScheduleToStart",
    TimeoutType.SCHEDULE_TO_CLOSE: "ScheduleToClose",
    TimeoutType.HEARTBEAT: "Heartbeat",
}


def timeout_failure(message: str, kind: TimeoutType, details: Opaque | None = None) -> Opaque:
    """A temporal.api.failure.v1.Failure with TimeoutFailureInfo, as protojson."""
    info: dict[str, JsonValue] = {"timeoutType": f"TIMEOUT_TYPE_{kind.name}"}
    if details is not None:
        info["lastHeartbeatDetails"] = details.value()
    return Opaque.of({"message": message, "source": "Server", "timeoutFailureInfo": info})


def _timed_out(
    txn: Txn,
    info: ActivityInfo,
    kind: TimeoutType,
    state: RetryState,
    message: str | None = None,
) -> Outcome:
    transition(info, _I.TIMEOUT)
    started = _write_started(txn, info) if info.started else 0
    text = message if message is not None else TIMEOUT_MESSAGE.format(_TIMEOUT_NAME[kind])
    txn.add(
        E.ACTIVITY_TASK_TIMED_OUT,
        ActivityTaskTimedOutEventAttributes(
            failure=timeout_failure(text, kind, info.heartbeat_details),
            scheduled_event_id=info.scheduled_event_id,
            started_event_id=started,
            retry_state=state,
        ),
    )
    return _closed(txn, info)
