"""The handlers the rows of service/activity.py name, and the values they work on.

A handler carries out one row: it writes the events, changes the pending record and
emits the tasks the row stands for, and leaves the activity in the row's target state
(activity.decide checks that; for a row ending in Closed, decide itself deletes the
record). Which row runs is decided by the table, never here.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left
from collections.abc import Callable
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
from core.fastinit import fast_init_all
from core.opaque import Opaque
from core.payloads import to_payloads
from core.requests import (
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
from core.statemachine.history.service import workflow_task
from core.statemachine.history.service.activity_tasks import (
    NO_TIME_TO_RETRY_MESSAGE,
    TIMEOUT_MESSAGE,
    TIMEOUT_NAME,
    deadline,
    dispatch_tasks,
    started_tasks,
    timeout_failure,
)
from core.statemachine.history.service.retry import next_retry
from core.statemachine.history.service.state import ActivityInfo, revise
from core.statemachine.history.service.txn import Txn

E = EventType


@dataclasses.dataclass(frozen=True, slots=True)
class CancelRequest:
    """The RequestCancelActivityTask command of a workflow task completion."""

    scheduled_event_id: int
    workflow_task_completed_event_id: int
    identity: str = ""  # the completing worker's


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


@dataclasses.dataclass(slots=True)
class Call:
    """One request being decided: the transaction, the record it names, the request."""

    txn: Txn
    info: ActivityInfo | None
    request: ActivityRequest
    # `retry_decision`'s answer, once asked: a row's guard and its handler both ask, and
    # what it reads (the record, the request, the time) is fixed for the call
    retry: tuple[int | None, RetryState] | None = None

    def record(self) -> ActivityInfo:
        """The pending record (every row that reads it starts from a pending state)."""
        if self.info is None:
            raise InvalidDefinition("activity (service): a Closed row read the record")
        return self.info


def retry_decision(call: Call) -> tuple[int | None, RetryState]:
    """The retry decision for a failure or an attempt timeout (`RetryActivity` in
    service/history/workflow/mutable_state_impl.go, given the worker's failure or the
    timer's timeout failure: processSingleActivityTimeoutTask in
    timer_queue_active_task_executor.go)."""
    if call.retry is not None:
        return call.retry
    info, request = call.record(), call.request
    failed = request if isinstance(request, RespondActivityTaskFailed) else None
    failure = failed.failure if failed is not None else None
    if isinstance(request, ActivityTimeoutTask):
        failure = timeout_failure("", request.timeout_type)
    call.retry = next_retry(
        info.retry_policy,
        info.attempt,
        call.txn.now,
        deadline(info),
        failed.error_type if failed is not None else "",
        failed.non_retryable if failed is not None else False,
        info.cancel_requested_event_id != 0,
        delay_replaces_cap=True,
        failure=failure,
        schedule_timeouts_end=True,
    )
    return call.retry


# --- handlers: what the rows name; each leaves the activity in its row's target ------


def put(txn: Txn, info: ActivityInfo) -> None:
    """Insert or replace a pending activity, keeping the tuple sorted by id (every
    writer of the tuple keeps it so: a binary search finds the place, no sort is needed)."""
    activities = txn.state.activities
    key = info.scheduled_event_id
    at = bisect_left(activities, key, key=_scheduled_id)
    replaced = at < len(activities) and activities[at].scheduled_event_id == key
    txn.set(activities=(*activities[:at], info, *activities[at + replaced :]))


def _scheduled_id(info: ActivityInfo) -> int:
    return info.scheduled_event_id


def drop(txn: Txn, scheduled_event_id: int) -> None:
    """Delete a closed activity's record (activity.decide, for a row ending in Closed)."""
    txn.set(
        activities=tuple(
            a for a in txn.state.activities if a.scheduled_event_id != scheduled_event_id
        ),
    )


def stale_timer_error(request: ActivityRequest) -> Error:
    return _STALE_RETRY_TIMER if isinstance(request, ActivityRetryTask) else _STALE_TIMER


# the replies of a timer with nothing to do (frozen values, built once)
_STALE_RETRY_TIMER = Error(ErrorKind.NOT_FOUND, "stale activity retry timer")
_STALE_TIMER = Error(ErrorKind.NOT_FOUND, "stale activity timer")


def _started(
    info: ActivityInfo, now: int, request_id: str, identity: str, stamp: Opaque | None
) -> ActivityInfo:
    """The record of the attempt started at `now` by `identity`."""
    return revise(
        info,
        started=True,
        started_time=now,
        request_id=request_id,
        identity=identity,
        last_heartbeat_time=0,
        worker_version=stamp,
    )


def _start(call: Call) -> Reply:
    info, request = call.record(), call.request
    assert isinstance(request, RecordActivityTaskStarted)
    started = _started(
        info, call.txn.now, request.request_id, request.identity, request.worker_version
    )
    put(call.txn, started)
    call.txn.task(*started_tasks(info, call.txn.now))
    return ActivityTaskStarted(ActivityTaskToken(info.scheduled_event_id, info.attempt))


def _started_again(call: Call) -> Reply:  # the same request again: idempotent
    info = call.record()
    return ActivityTaskStarted(ActivityTaskToken(info.scheduled_event_id, info.attempt))


def _heartbeat(call: Call) -> Reply:
    info, request = call.record(), call.request
    assert isinstance(request, RecordActivityTaskHeartbeat)
    put(
        call.txn,
        revise(info, last_heartbeat_time=call.txn.now, heartbeat_details=request.details),
    )
    # The reply also tells whether an operator paused or reset the activity
    # (service/history/api/recordactivitytaskheartbeat/api.go).
    return Heartbeat(
        cancel_requested=info.cancel_requested_event_id != 0,
        activity_paused=info.pause is not None,
        activity_reset=info.reset,
    )


def _write_started(txn: Txn, info: ActivityInfo, worker_version: Opaque | None = None) -> int:
    """ActivityTaskStarted for the closing attempt (returns -123 if buffered).

    Its `workerVersion` is the stamp of the request that closes the attempt, not the
    poller's: a completion's or a failure's, none for a timeout or a cancel
    (`addStartedEventForTransientActivity`, called by AddActivityTaskCompletedEvent,
    AddActivityTaskFailedEvent, AddActivityTaskTimedOutEvent and
    AddActivityTaskCanceledEvent in service/history/workflow/mutable_state_impl.go).
    Written when the attempt closes, it carries the time the attempt started, not the
    close's: the same function overwrites the event's time with the ActivityInfo's
    StartedTime."""
    return txn.add(
        E.ACTIVITY_TASK_STARTED,
        ActivityTaskStartedEventAttributes(
            scheduled_event_id=info.scheduled_event_id,
            identity=info.identity,
            request_id=info.request_id,
            attempt=info.attempt,
            last_failure=info.last_failure,
            worker_version=worker_version,
        ),
        event_time=info.started_time or None,  # dated as it is written: no copy after
    )


def _closed(txn: Txn, info: ActivityInfo) -> Reply:
    """After a close event: the record is deleted by activity.decide (the row's target)."""
    if not txn.hold_workflow_task:
        workflow_task.schedule(txn)
    return Ok()


def _complete(call: Call) -> Reply:
    info, request = call.record(), call.request
    assert isinstance(request, RespondActivityTaskCompleted)
    started = _write_started(call.txn, info, request.worker_version)
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


def _force_complete(call: Call) -> Reply:
    """A completion by id of an activity with no attempt running: the attempt is started
    by the completer (its identity, no request id, no build id stamp), then completed at
    once (fabricateStartedEvent in service/history/api/respondactivitytaskcompleted/
    api.go, which calls AddActivityTaskStartedEvent with an empty request id)."""
    info, request = call.record(), call.request
    assert isinstance(request, RespondActivityTaskCompleted)
    call.info = _started(info, call.txn.now, "", request.identity, None)
    return _complete(call)


def _fail(call: Call) -> Reply:
    info, request = call.record(), call.request
    assert isinstance(request, RespondActivityTaskFailed)
    # The final attempt's Started carries the failure of the attempt before it, as on
    # any other close (addStartedEventForTransientActivity in
    # service/history/workflow/mutable_state_impl.go writes ai.RetryLastFailure).
    started = _write_started(call.txn, info, request.worker_version)
    call.txn.add(
        E.ACTIVITY_TASK_FAILED,
        ActivityTaskFailedEventAttributes(
            failure=request.failure,
            scheduled_event_id=info.scheduled_event_id,
            started_event_id=started,
            identity=request.identity,
            retry_state=retry_decision(call)[1],
        ),
    )
    return _closed(call.txn, info)


def _retry_later(call: Call) -> Reply:
    """Reschedule the next attempt after the policy's delay; no event is written. The
    next attempt sees this failure (or timeout) as its last failure."""
    info, request, txn = call.record(), call.request, call.txn
    delay = retry_decision(call)[0]
    assert delay is not None
    details = info.heartbeat_details
    if isinstance(request, RespondActivityTaskFailed):
        failure: Opaque | None = request.failure
        # The failure's heartbeat details are saved as progress first
        # (respondactivitytaskfailed/api.go, UpdateActivityProgress): the retry gets them.
        if request.last_heartbeat_details is not None:
            details = request.last_heartbeat_details
    else:
        assert isinstance(request, ActivityTimeoutTask)
        kind = request.timeout_type
        failure = timeout_failure(TIMEOUT_MESSAGE.format(TIMEOUT_NAME[kind]), kind)
    if info.reset_heartbeats:  # ResetActivity asked for a fresh start of the details
        details = None
    retried = _next_attempt(
        info,
        scheduled_time=txn.now + delay,
        last_failure=failure,
        last_heartbeat_time=0,
        heartbeat_details=details,
        backoff=True,
        last_attempt_complete_time=txn.now,
        # UpdateActivityInfoForRetries (service/history/workflow/activity.go) clears
        # ResetActivity's marks as the next attempt is scheduled.
        reset=False,
        reset_heartbeats=False,
    )
    put(txn, retried)
    txn.task(
        ActivityRetryTask(info.scheduled_event_id, retried.attempt, retried.stamp, txn.now + delay)
    )
    return Ok()


def _retry_paused(call: Call) -> Reply:
    """A paused activity failed: the next attempt is counted and the failure kept, but
    no retry timer is armed until it is unpaused (RetryActivity's paused branch,
    service/history/workflow/mutable_state_impl.go, which also keeps the heartbeat)."""
    info, request = call.record(), call.request
    assert isinstance(request, RespondActivityTaskFailed)
    details = info.heartbeat_details
    if request.last_heartbeat_details is not None:  # saved as progress first
        details = request.last_heartbeat_details
    paused = _next_attempt(
        info,
        last_failure=request.failure,
        heartbeat_details=details,
        backoff=True,
        last_attempt_complete_time=call.txn.now,
    )
    put(call.txn, paused)
    return Ok()


def _next_attempt(info: ActivityInfo, **changes: object) -> ActivityInfo:
    """The activity's next attempt: counted, under a new stamp (so the last attempt's
    tasks and tokens go stale), not started; `changes` set the rest."""
    return revise(
        info,
        attempt=info.attempt + 1,
        stamp=info.stamp + 1,
        started=False,
        started_time=0,
        request_id="",
        **changes,
    )


def _reschedule(call: Call) -> Reply:  # the retry timer fired: dispatch the next attempt
    rescheduled = revise(call.record(), scheduled_time=call.txn.now, backoff=False)
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
    retry_state = (
        RetryState.TIMEOUT if kind is TimeoutType.SCHEDULE_TO_START else retry_decision(call)[1]
    )
    return _timed_out(call, kind, retry_state, TIMEOUT_MESSAGE.format(TIMEOUT_NAME[kind]))


def _time_out_no_time_left(call: Call) -> Reply:
    """Schedule-to-close, or any attempt timeout leaving no time to retry before it, is
    reported as a schedule-to-close timeout (processActivityTimeout). Not so the
    schedule-to-close timer of an activity whose cancel was requested: RetryActivity
    answers RETRY_STATE_CANCEL_REQUESTED before it looks at the timeout, and
    processSingleActivityTimeoutTask (timer_queue_active_task_executor.go) rewrites the
    failure only for RETRY_STATE_TIMEOUT, so the timer's own message stays."""
    kind = TimeoutType.SCHEDULE_TO_CLOSE
    if call.record().cancel_requested_event_id:
        own = TIMEOUT_MESSAGE.format(TIMEOUT_NAME[kind])
        return _timed_out(call, kind, RetryState.CANCEL_REQUESTED, own)
    return _timed_out(call, kind, RetryState.TIMEOUT, NO_TIME_TO_RETRY_MESSAGE)


def _timed_out(call: Call, kind: TimeoutType, retry_state: RetryState, text: str) -> Reply:
    info = call.record()
    started = _write_started(call.txn, info) if info.started else 0
    call.txn.add(
        E.ACTIVITY_TASK_TIMED_OUT,
        ActivityTaskTimedOutEventAttributes(
            failure=timeout_failure(text, kind, info.heartbeat_details, info.last_failure),
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
    return revise(info, cancel_requested_event_id=requested)


def _request_cancel(call: Call) -> Reply:  # running on a worker: it learns by heartbeat
    put(call.txn, _write_cancel_requested(call))
    return Ok()


def _request_cancel_closed(call: Call) -> Reply:  # closed, its close event buffered
    request = call.request
    assert isinstance(request, CancelRequest)
    call.txn.append(
        E.ACTIVITY_TASK_CANCEL_REQUESTED,
        ActivityTaskCancelRequestedEventAttributes(
            scheduled_event_id=request.scheduled_event_id,
            workflow_task_completed_event_id=request.workflow_task_completed_event_id,
        ),
    )
    return Ok()


# The details of an activity cancelled before any attempt ran
# (activityCancellationMsgActivityNotStarted in
# service/history/api/respondworkflowtaskcompleted/workflow_task_completed_handler.go).
NOT_STARTED_DETAILS = to_payloads(["ACTIVITY_ID_NOT_STARTED"])


def _cancel_at_once(call: Call) -> Reply:  # never dispatched, or backing off
    """The server writes ActivityTaskCanceled at once, with the completing worker's
    identity, but through the history builder's buffer, like any activity close
    (bufferEvent in service/history/historybuilder/event_store.go): it lands after the
    batch's command events, with the other buffered events, before the next task; a
    batch that closes the run drops it (FlushBufferToCurrentBatch)."""
    request = call.request
    assert isinstance(request, CancelRequest)
    info = _write_cancel_requested(call)
    _write_canceled(call.txn, info, 0, NOT_STARTED_DETAILS, request.identity, buffer=True)
    return Ok()


def _cancel(call: Call) -> Reply:
    info, request = call.record(), call.request
    assert isinstance(request, RespondActivityTaskCanceled)
    started = _write_started(call.txn, info)
    _write_canceled(call.txn, info, started, request.details, request.identity)
    return _closed(call.txn, info)


def _write_canceled(
    txn: Txn,
    info: ActivityInfo,
    started: int,
    details: Opaque | None,
    identity: str,
    buffer: bool = False,
) -> None:
    (txn.buffer if buffer else txn.add)(
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
    "force_complete": _force_complete,
    "fail": _fail,
    "retry": _retry_later,
    "retry_paused": _retry_paused,
    "reschedule": _reschedule,
    "recheck_heartbeat": _recheck_heartbeat,
    "time_out": _time_out,
    "time_out_no_time_left": _time_out_no_time_left,
    "request_cancel": _request_cancel,
    "request_cancel_closed": _request_cancel_closed,
    "cancel_at_once": _cancel_at_once,
    "cancel": _cancel,
    "obsolete": lambda call: Error(ErrorKind.OBSOLETE, "activity was rescheduled"),
    "reject_already_started": lambda call: Error(
        ErrorKind.ALREADY_STARTED, "activity already started"
    ),
    "reject_not_found": lambda call: _NOT_FOUND_FOR.get(type(call.request), _NOT_FOUND),
    # the server's text (ErrActivityTaskNotCancelRequested, service/history/consts/const.go)
    "reject_cancel_not_requested": lambda call: Error(
        ErrorKind.INVALID_ARGUMENT,
        "unable to mark activity as canceled without activity being request canceled first",
    ),
    "reject_cancel_command": lambda call: Error(
        ErrorKind.INVALID_ARGUMENT, "BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES"
    ),
    "ignore_stale_timer": lambda call: stale_timer_error(call.request),
    "ignore_paused_timer": lambda call: stale_timer_error(call.request),
}


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
