"""User timers on the server: start (a command), fire (the timer queue), cancel.

docs/temporal-semantics.md#timer (`service/history/workflow/mutable_state_impl.go`,
`timer_queue_active_task_executor.go`): StartTimer writes TimerStarted and arms a timer
task; when it fires and the timer is still pending, TimerFired is written (buffered
while a workflow task is in flight) and a workflow task is scheduled. A fired or
cancelled timer's task is stale and does nothing.
"""

from __future__ import annotations

from enum import Enum

from core.enums import EventType
from core.events import TimerFiredEventAttributes
from core.statemachine import fsm
from core.statemachine.history.service import workflow_task
from core.statemachine.history.service.requests import (
    Error,
    ErrorKind,
    Ok,
    UserTimerTask,
)
from core.statemachine.history.service.state import MutableState, TimerInfo
from core.statemachine.history.service.txn import Outcome, Txn, finish, unchanged


class TimerState(Enum):
    STARTED = "Started"
    FIRED = "Fired"
    CANCELED = "Canceled"


class TimerInput(Enum):
    FIRE = "timer task fires"
    CANCEL = "CancelTimer"


TABLE = fsm.make_table(
    "timer (service)",
    "INV-RESULT-AT-MOST-ONCE",
    TimerState,
    TimerInput,
    TimerState.STARTED,
    [
        (TimerState.STARTED, TimerInput.FIRE, TimerState.FIRED),
        (TimerState.STARTED, TimerInput.CANCEL, TimerState.CANCELED),
    ],
)


def put(txn: Txn, info: TimerInfo) -> None:
    txn.set(timers=(*txn.state.timers, info))
    txn.task(UserTimerTask(info.timer_id, info.started_event_id, info.expiry_time))


def drop(txn: Txn, timer_id: str) -> None:
    txn.set(timers=tuple(t for t in txn.state.timers if t.timer_id != timer_id))


def user_timer_fired(state: MutableState, task: UserTimerTask, now: int) -> Outcome:
    info = state.timer(task.timer_id) if state.running else None
    if info is None or info.started_event_id != task.started_event_id:
        return unchanged(state, Error(ErrorKind.NOT_FOUND, "stale user timer"))
    txn = Txn(state, now)
    fsm.step(TABLE, TimerState.STARTED, TimerInput.FIRE)
    txn.add(
        EventType.TIMER_FIRED,
        TimerFiredEventAttributes(timer_id=info.timer_id, started_event_id=info.started_event_id),
    )
    drop(txn, info.timer_id)
    workflow_task.schedule(txn)
    return finish(txn, Ok())
