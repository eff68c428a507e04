"""A user timer on the server: every rule of it, as rows of one table that decides.

docs/temporal-semantics.md#timer (`service/history/workflow/mutable_state_impl.go`,
`timer_queue_active_task_executor.go`, `workflow_task_completed_handler.go`
handleCommandCancelTimer): StartTimer (validated by command_handlers.py) writes
TimerStarted and arms a timer task (`start`). A timer task fires every pending timer
expired by its time, in the server's order (`user_timer_fired`): for each, TimerFired is
written (buffered while a workflow task is in flight), and one workflow task is
scheduled after them all. A fired or cancelled timer's task is stale for its own
timer (it may still fire others due by then). CancelTimer of a pending timer writes
TimerCanceled; of a timer that fired while its TimerFired is still buffered, it deletes
that event and cancels instead
(GetAndRemoveTimerFireEvent: docs/temporal-semantics.md#cancel-racing-the-fire).

As for activities (service/activity.py): `classify` turns the task or the command into
the input, `state_of` reads the state off mutable state (a timer no longer pending is
`Closed`), `fsm.decide` picks the row, the handler it names runs, and the state it
leaves is checked to be the row's target and the events it wrote the row's `writes`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TypeAlias

from core.enums import EventType
from core.errors import InvalidDefinition
from core.events import (
    HistoryEvent,
    TimerCanceledEventAttributes,
    TimerFiredEventAttributes,
    TimerStartedEventAttributes,
)
from core.fastenum import Enum
from core.fastinit import fast_init_all
from core.requests import (
    Error,
    ErrorKind,
    Ok,
    Reply,
    UserTimerTask,
)
from core.statemachine import fsm
from core.statemachine.history.service import activity_sweep, row_effect, workflow_task
from core.statemachine.history.service.state import MutableState, TimerInfo
from core.statemachine.history.service.txn import Outcome, Txn, finish, unchanged


class PendingTimerState(Enum):
    """A started user timer on the server (the pending TimerInfo of mutable state)."""

    STARTED = "Started"
    CLOSED = "Closed"  # fired or canceled: its result written, its record deleted


class TimerInput(Enum):
    FIRE = "timer task fires"
    CANCEL = "CancelTimer"


@dataclasses.dataclass(frozen=True, slots=True)
class CancelTimer:
    """The CancelTimer command of a workflow task completion."""

    timer_id: str
    workflow_task_completed_event_id: int
    identity: str


TimerRequest: TypeAlias = UserTimerTask | CancelTimer
_S, _I, E = PendingTimerState, TimerInput, EventType
R = fsm.Row

TABLE = fsm.make_table(
    "timer (service)", "INV-RESULT-AT-MOST-ONCE", PendingTimerState, TimerInput, _S.STARTED,
    [
        R(_S.STARTED, _I.FIRE, _S.STARTED, guard="stale timer", handler="ignore_stale"),
        R(_S.STARTED, _I.FIRE, _S.CLOSED, handler="fire", writes=(E.TIMER_FIRED,)),
        R(_S.STARTED, _I.CANCEL, _S.CLOSED, handler="cancel", writes=(E.TIMER_CANCELED,)),
        R(_S.CLOSED, _I.FIRE, _S.CLOSED, handler="ignore_stale"),
        R(_S.CLOSED, _I.CANCEL, _S.CLOSED, guard="fire buffered", handler="cancel_buffered_fire",
          writes=(E.TIMER_CANCELED,), retracts=(E.TIMER_FIRED,)),
        R(_S.CLOSED, _I.CANCEL, _S.CLOSED, handler="reject_cancel"),
    ],
)  # fmt: skip


def state_of(info: TimerInfo | None) -> PendingTimerState:
    return _S.CLOSED if info is None else _S.STARTED


def classify(request: TimerRequest) -> TimerInput:
    return _I.FIRE if isinstance(request, UserTimerTask) else _I.CANCEL


@dataclasses.dataclass(slots=True)
class Call:
    txn: Txn
    info: TimerInfo | None
    request: TimerRequest

    def record(self) -> TimerInfo:
        if self.info is None:
            raise InvalidDefinition(f"{TABLE.name}: a Closed row read the record")
        return self.info


def decide(txn: Txn, request: TimerRequest) -> Reply:
    """Run the row `request` selects on the timer it names; return the reply."""
    info = txn.state.timer(request.timer_id)
    call = Call(txn, info, request)
    row = fsm.decide(TABLE, state_of(info), classify(request), lambda g: GUARDS[g](call))
    before = row_effect.mark(txn)
    reply = HANDLERS[row.handler](call)
    fsm.check_target(TABLE, row, state_of(txn.state.timer(request.timer_id)))
    row_effect.check(TABLE, row, txn, before)
    return reply


def user_timer_fired(state: MutableState, task: UserTimerTask, now: int) -> Outcome:
    """The timer queue delivers a user timer's task: it fires every pending user timer
    expired by its time, in the server's order, in one transaction, and one workflow
    task follows them all (`executeUserTimerTimeoutTask` in
    service/history/timer_queue_active_task_executor.go, which walks
    `LoadAndSortUserTimers` of service/history/workflow/timer_sequence.go until the
    first timer not yet expired, then schedules the workflow task once).

    The server keeps one task per run, for the earliest pending timer, and makes the
    next after each transaction (`CreateNextUserTimer`); the model arms one task per
    timer at its expiry. That shows the same: whichever task runs first fires every
    timer due by then, and the task of a timer already fired finds nothing left
    (the server's errNoTimerFired; here the timer's own Closed row, `ignore_stale`).
    The task's own timer goes through its rows as before; the others, read off their
    records, are current by construction and take the `fire` row."""
    if not state.running:
        return unchanged(state, _STALE)
    txn = Txn(state, now)
    # IsTimeExpired (service/history/queues/queue_scheduled.go) compares with the later
    # of the time the task runs and its own fire time, both to the millisecond
    reference = max(now, task.fire_time)
    others = [
        UserTimerTask(t.timer_id, t.started_event_id, t.expiry_time)
        for t in state.timers
        if (t.timer_id, t.started_event_id) != (task.timer_id, task.started_event_id)
        and activity_sweep.due(t.expiry_time, reference)
    ]
    reply: Reply = _STALE
    for request in sorted([*others, task], key=sort_key):
        answer = decide(txn, request)
        if request is task:
            reply = answer
    if txn.untouched:
        return unchanged(state, reply)
    workflow_task.schedule(txn)  # one for the batch (updateWorkflowExecution)
    # a timer fired, if not the task's own (an earlier task fired that): the server
    # reports no error then
    return finish(txn, Ok() if isinstance(reply, Error) else reply)


def sort_key(task: UserTimerTask) -> tuple[int, int]:
    """The server's order of user timers: expiry, then started event id
    (`TimerSequenceIDs.Less` in service/history/workflow/timer_sequence.go)."""
    return task.fire_time, task.started_event_id


def start(txn: Txn, timer_id: str, start_to_fire_timeout: int | None, completed_id: int) -> None:
    """StartTimer (its attributes validated by command_handlers.py); the event keeps the
    timeout as given, unset included (`AddTimerStartedEvent` in mutable_state_impl.go)."""
    started = txn.append(
        EventType.TIMER_STARTED,
        TimerStartedEventAttributes(
            timer_id=timer_id,
            start_to_fire_timeout=start_to_fire_timeout,
            workflow_task_completed_event_id=completed_id,
        ),
    )
    info = TimerInfo(timer_id, started, txn.now + (start_to_fire_timeout or 0))
    txn.set(timers=(*txn.state.timers, info))
    txn.task(UserTimerTask(info.timer_id, info.started_event_id, info.expiry_time))


def cancel(txn: Txn, request: CancelTimer) -> bool:
    """CancelTimer; False if rejected (BAD_CANCEL_TIMER_ATTRIBUTES)."""
    return not isinstance(decide(txn, request), Error)


def _drop(txn: Txn, timer_id: str) -> None:
    txn.set(timers=tuple(t for t in txn.state.timers if t.timer_id != timer_id))


def _buffered_fire(call: Call) -> HistoryEvent | None:
    for event in call.txn.state.buffered:
        attrs = event.attributes
        if isinstance(attrs, TimerFiredEventAttributes) and attrs.timer_id == call.request.timer_id:
            return event
    return None


def _stale_timer(call: Call) -> bool:
    task = call.request
    return isinstance(task, UserTimerTask) and (
        task.started_event_id != call.record().started_event_id
    )


GUARDS: dict[str, Callable[[Call], bool]] = {
    "stale timer": _stale_timer,
    "fire buffered": lambda call: _buffered_fire(call) is not None,
}


def _fire(call: Call) -> Reply:
    """Write TimerFired for the task's timer (the row's guard checked that the task is
    the pending timer's own) and delete the timer; `user_timer_fired` schedules the
    workflow task after every timer of the batch."""
    task = call.request
    assert isinstance(task, UserTimerTask)
    call.txn.add(
        EventType.TIMER_FIRED,
        TimerFiredEventAttributes(timer_id=task.timer_id, started_event_id=task.started_event_id),
    )
    _drop(call.txn, task.timer_id)
    return Ok()


def _write_canceled(call: Call, started_event_id: int) -> Reply:
    request = call.request
    assert isinstance(request, CancelTimer)
    call.txn.append(
        EventType.TIMER_CANCELED,
        TimerCanceledEventAttributes(
            timer_id=request.timer_id,
            started_event_id=started_event_id,
            workflow_task_completed_event_id=request.workflow_task_completed_event_id,
            identity=request.identity,
        ),
    )
    _drop(call.txn, request.timer_id)
    return Ok()


def _cancel_buffered_fire(call: Call) -> Reply:
    """The timer fired but its TimerFired is still buffered: delete it, cancel instead
    (the run writes one result for the timer: TimerCanceled)."""
    fired = _buffered_fire(call)
    assert fired is not None and isinstance(fired.attributes, TimerFiredEventAttributes)
    call.txn.set(buffered=tuple(e for e in call.txn.state.buffered if e is not fired))
    return _write_canceled(call, fired.attributes.started_event_id)


_STALE = Error(ErrorKind.NOT_FOUND, "stale user timer")
HANDLERS: dict[str, Callable[[Call], Reply]] = {
    "fire": _fire,
    "cancel": lambda call: _write_canceled(call, call.record().started_event_id),
    "cancel_buffered_fire": _cancel_buffered_fire,
    "ignore_stale": lambda call: _STALE,
    "reject_cancel": lambda call: Error(ErrorKind.INVALID_ARGUMENT, "BAD_CANCEL_TIMER_ATTRIBUTES"),
}


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
