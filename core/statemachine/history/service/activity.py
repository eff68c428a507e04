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
carries it out; a row ending in Closed deletes the record (here, not in a handler, so
the row's target is what is stored); and the state the handler leaves is checked to be
the row's target, and the events it wrote the row's `writes` (`row_effect`).
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
- Worker calls carry a token (scheduled id, attempt): a stale one gets NOT_FOUND. A
  completion by activity id names no attempt, and completes an activity no attempt of
  which runs by starting one for the completer first (the "by id" rows).
  RecordActivityTaskStarted is idempotent for the same request id; a different request
  for a started attempt gets ALREADY_STARTED, a task of an older stamp OBSOLETE.
- A heartbeat's reply tells the worker whether a cancel was requested; Canceled is legal
  only after a cancel request. A cancel request of an activity not running cancels it
  at once, in the same batch.
- Every close schedules a workflow task if none is pending.
- An operator's pause (activity_ops.py) is a flag on the record, not a state: while it
  is set no timer of the activity fires, and a running attempt's retryable failure
  counts the attempt and waits without a retry timer (the "paused" and "paused retry"
  rows; LoadAndSortActivityTimers in timer_sequence.go, RetryActivity in
  mutable_state_impl.go).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TypeAlias

from core.enums import EventType, RetryState, TimeoutType
from core.errors import InvalidDefinition
from core.fastenum import Enum
from core.requests import (
    ActivityRetryTask,
    ActivityTimeoutTask,
    Error,
    ErrorKind,
    Ok,
    RecordActivityTaskHeartbeat,
    RecordActivityTaskStarted,
    Reply,
    RespondActivityTaskCanceled,
    RespondActivityTaskCompleted,
    RespondActivityTaskFailed,
)
from core.statemachine import fsm
from core.statemachine.history.service import activity_sweep, row_effect, workflow_task
from core.statemachine.history.service.activity_handlers import (
    HANDLERS,
    ActivityRequest,
    Call,
    CancelRequest,
    drop,
    put,
    retry_decision,
    stale_timer_error,
)
from core.statemachine.history.service.activity_tasks import (
    dispatch_tasks,
    schedule_to_close_tasks,
)
from core.statemachine.history.service.state import RUNNING, ActivityInfo, MutableState
from core.statemachine.history.service.txn import Outcome, Txn, finish, unchanged

E = EventType


class PendingActivityState(Enum):
    """A scheduled activity on the server (the pending ActivityInfo of mutable state).

    Named, and its first three values, as the API's PendingActivityState
    (temporal/api/enums/v1/workflow.proto); the SDK side's machine is
    `core.statemachine.replay.activity.SdkActivityState`, the validator's
    `core.statemachine.history.activity.ActivityState` (an event-level lifecycle)."""

    SCHEDULED = "Scheduled"
    STARTED = "Started"
    CANCEL_REQUESTED = "CancelRequested"  # started, and the workflow asked to cancel it
    BACKOFF = "Backoff"  # waiting for the retry timer of the next attempt
    CLOSED = "Closed"  # its result written and its record deleted (or never known)


# The events that close an activity, in the order the validator's table names them.
_CLOSE_EVENTS = (
    E.ACTIVITY_TASK_COMPLETED,
    E.ACTIVITY_TASK_FAILED,
    E.ACTIVITY_TASK_TIMED_OUT,
    E.ACTIVITY_TASK_CANCELED,
)


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


_S = PendingActivityState
_I = ActivityInput
_WORKER_CALLS = (_I.HEARTBEAT, _I.RESPOND_COMPLETED, _I.RESPOND_FAILED, _I.RESPOND_CANCELED)
_ATTEMPT_TIMERS = (_I.START_TO_CLOSE_TIMEOUT, _I.HEARTBEAT_TIMEOUT)
R = fsm.Row


def _rows() -> list[fsm.Row[PendingActivityState, ActivityInput]]:
    # A paused activity has no timers: its timeouts and retry timer are not loaded
    # while it is paused (LoadAndSortActivityTimers in service/history/workflow/
    # timer_sequence.go; the retry timer's `ai.Paused` check in
    # timer_queue_active_task_executor.go); unpausing arms them again (activity_ops.py).
    timers = (_I.SCHEDULE_TO_START_TIMEOUT, _I.SCHEDULE_TO_CLOSE_TIMEOUT, _I.RETRY_TIMER)
    rows = [
        R(s, t, s, guard="paused", handler="ignore_paused_timer")
        for s in (_S.SCHEDULED, _S.STARTED, _S.CANCEL_REQUESTED, _S.BACKOFF)
        for t in (*timers, *_ATTEMPT_TIMERS)
    ]
    rows += [
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
        # An activity that closed while the workflow task ran has its close event in
        # the buffer: the cancel request is written and does nothing more
        # (AddActivityTaskCancelRequestedEvent's HasActivityFinishEvent in
        # service/history/workflow/mutable_state_impl.go, historybuilder/event_store.go).
        R(
            _S.CLOSED,
            _I.REQUEST_CANCEL,
            _S.CLOSED,
            guard="close buffered",
            handler="request_cancel_closed",
            overtakes=(E.ACTIVITY_TASK_STARTED, *_CLOSE_EVENTS),
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
                # A retryable failure of a paused activity counts the attempt and waits,
                # without a retry timer and whatever the policy's attempts or deadline
                # say, for the unpause (RetryActivity, mutable_state_impl.go).
                R(s, _I.RESPOND_FAILED, _S.BACKOFF, guard="paused retry", handler="retry_paused"),
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
        # but a completion by activity id completes it, its start made up first
        # (fabricateStartedEvent, service/history/api/respondactivitytaskcompleted/api.go;
        # failures, cancels and heartbeats by id of it get NotFound as any stale call:
        # IsActivityTaskNotFoundForToken in service/history/api/activity_util.go)
        rows.append(R(s, _I.RESPOND_COMPLETED, _S.CLOSED, guard="by id", handler="force_complete"))
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
    return [dataclasses.replace(r, writes=_writes(r)) for r in rows]


# The events each handler writes (every other handler writes none); a running attempt's
# close writes ActivityTaskStarted first (the start is kept in mutable state until then).
_HANDLER_WRITES = {
    "complete": (E.ACTIVITY_TASK_COMPLETED,),
    "fail": (E.ACTIVITY_TASK_FAILED,),
    "cancel": (E.ACTIVITY_TASK_CANCELED,),
    "time_out": (E.ACTIVITY_TASK_TIMED_OUT,),
    "time_out_no_time_left": (E.ACTIVITY_TASK_TIMED_OUT,),
    "request_cancel": (E.ACTIVITY_TASK_CANCEL_REQUESTED,),
    "request_cancel_closed": (E.ACTIVITY_TASK_CANCEL_REQUESTED,),
    "cancel_at_once": (E.ACTIVITY_TASK_CANCEL_REQUESTED, E.ACTIVITY_TASK_CANCELED),
    "force_complete": (E.ACTIVITY_TASK_STARTED, E.ACTIVITY_TASK_COMPLETED),
}


def _writes(row: fsm.Row[PendingActivityState, ActivityInput]) -> tuple[EventType, ...]:
    """The row's `writes` (fsm.Row), checked against what its handler wrote at run time."""
    events = _HANDLER_WRITES.get(row.handler, ())
    running = row.source in (_S.STARTED, _S.CANCEL_REQUESTED)
    if running and events and events[-1] is not E.ACTIVITY_TASK_CANCEL_REQUESTED:
        return (E.ACTIVITY_TASK_STARTED, *events)  # the attempt's close event follows
    return events


TABLE = fsm.make_table(
    "activity (service)", "INV-RESULT-AT-MOST-ONCE", PendingActivityState, ActivityInput,
    _S.SCHEDULED, _rows(),
)  # fmt: skip


def state_of(info: ActivityInfo | None) -> PendingActivityState:
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


Row: TypeAlias = fsm.Row[PendingActivityState, ActivityInput]


def decide(txn: Txn, request: ActivityRequest) -> tuple[Row, Reply]:
    """Run the row `request` selects on the activity it names; return the row and the
    reply. The state the handler leaves must be the row's target."""
    key = scheduled_id(request)
    info = txn.state.activity(key)
    call = Call(txn, info, request)
    row = fsm.decide(TABLE, state_of(info), classify(request), lambda g: GUARDS[g](call))
    before = row_effect.mark(txn)
    reply = HANDLERS[row.handler](call)
    if row.target is _S.CLOSED and row.source is not _S.CLOSED:
        drop(txn, key)  # the table closes it (DeleteActivity, mutable_state_impl.go)
    fsm.check_target(TABLE, row, state_of(txn.state.activity(key)))
    row_effect.check(TABLE, row, txn, before)
    return row, reply


def handle(state: MutableState, request: ActivityRequest, now: int) -> Outcome:
    """A worker call or an activity timer task, on a run's mutable state."""
    if state.status is not RUNNING:  # the run's rule, before any activity is looked up
        if isinstance(request, (ActivityTimeoutTask, ActivityRetryTask)):
            return unchanged(state, stale_timer_error(request))
        text = "workflow is closed" if isinstance(request, RecordActivityTaskStarted) else ""
        return unchanged(state, Error(ErrorKind.WORKFLOW_COMPLETED, text or _RUN_CLOSED))
    txn = Txn(state, now)
    # a timer task times out every expired activity timer, in the server's order
    # (activity_sweep.py); the one it names keeps its own rows (stale, recheck)
    others = _other_expired(state, request, now)
    if not others or not isinstance(request, ActivityTimeoutTask):
        _, reply = decide(txn, request)
        return unchanged(state, reply) if txn.untouched else finish(txn, reply)
    closed = False
    txn.hold_workflow_task = True  # one workflow task after all the closes
    for task in sorted([*others, request], key=activity_sweep.sort_key):
        if task is request:
            row, reply = decide(txn, request)
            closed = closed or (row.target is _S.CLOSED and row.source is not _S.CLOSED)
        elif activity_sweep.still_current(txn.state, task):
            closed = decide(txn, task)[0].target is _S.CLOSED or closed
    txn.hold_workflow_task = False
    if not txn.wft_in_flight:  # the closes follow every Started event (reorderBuffer)
        txn.flush()
    if closed:
        workflow_task.schedule(txn)
    if txn.untouched:
        return unchanged(state, reply)
    # the task did time something out, if not the timer it names (an earlier one in
    # the sweep closed that activity): the server reports no error then
    return finish(txn, Ok() if isinstance(reply, Error) else reply)


def _other_expired(
    state: MutableState, request: ActivityRequest, now: int
) -> list[ActivityTimeoutTask]:
    """The expired activity timers besides the one a timer task names (none for any
    other request)."""
    if not isinstance(request, ActivityTimeoutTask):
        return []
    named = (request.scheduled_event_id, request.timeout_type)
    return [
        t for t in activity_sweep.expired(state, now)
        if (t.scheduled_event_id, t.timeout_type) != named
    ]  # fmt: skip


def schedule(txn: Txn, info: ActivityInfo, dispatch: bool = True) -> None:
    """A new activity (ScheduleActivityTask, validated by command_handlers.py): its
    record, the transfer task of attempt 1 and its timers. Without `dispatch` (an
    activity granted eager execution, eager_activity.py) it has no transfer task, and
    no schedule-to-start timer: it is started in the same transaction, and the server
    arms that timer only for an activity not started (`bypassTaskGeneration` of
    AddActivityTaskScheduledEvent, mutable_state_impl.go; timer_sequence.go)."""
    put(txn, info)
    txn.task(*(dispatch_tasks(info) if dispatch else ()), *schedule_to_close_tasks(info))


def request_cancel(
    txn: Txn, scheduled_event_id: int, completed_id: int, identity: str = ""
) -> bool | None:
    """RequestCancelActivityTask (from the worker `identity`): None if rejected, else
    whether the activity closed at once (then the batch needs a new workflow task)."""
    row, reply = decide(txn, CancelRequest(scheduled_event_id, completed_id, identity))
    if isinstance(reply, Error):
        return None
    return row.target is _S.CLOSED and row.source is not _S.CLOSED


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


def _by_id(request: ActivityRequest) -> bool:
    return isinstance(request, RespondActivityTaskCompleted) and request.by_id


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
    last = info.last_heartbeat_time or info.started_time
    return not activity_sweep.due(last + info.heartbeat_timeout, call.txn.now)


def _close_buffered(call: Call) -> bool:
    """Whether the activity's close event is buffered or written by this transaction
    (HasActivityFinishEvent looks in the buffer and in the batches not yet persisted)."""
    key = scheduled_id(call.request)
    return any(
        e.event_type in _CLOSE_EVENTS and getattr(e.attributes, "scheduled_event_id", 0) == key
        for e in (*call.txn.state.buffered, *call.txn.events)
    )


GUARDS: dict[str, Callable[[Call], bool]] = {
    "close buffered": _close_buffered,
    "stale stamp": _stale_stamp,
    "stale timer": _stale_timer,
    # a completion by id names no attempt: the token's attempt is only checked when the
    # token names a scheduled event (IsActivityTaskNotFoundForToken, activity_util.go)
    "stale token": lambda call: (
        _token_attempt(call.request) != call.record().attempt and not _by_id(call.request)
    ),
    "by id": lambda call: _by_id(call.request),
    "same request": _same_request,
    "heartbeat recent": _heartbeat_recent,
    "paused": lambda call: call.record().pause is not None,
    "paused retry": lambda call: (
        call.record().pause is not None
        and retry_decision(call)[1] is not RetryState.NON_RETRYABLE_FAILURE
    ),
    "retry allowed": lambda call: retry_decision(call)[0] is not None,
    "no time to retry": lambda call: retry_decision(call)[1] is RetryState.TIMEOUT,
}
