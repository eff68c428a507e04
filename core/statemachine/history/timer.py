"""User timer lifecycle as written to history (rule H11; open timer ids, H12).

```
            TimerFired
  Started ─────────────▶ Fired
     │ TimerCanceled
     ▼
  Canceled
```

docs/temporal-semantics.md#timer
(`service/history/workflow/mutable_state_impl.go`): StartTimer writes
TimerStarted; the timer queue writes TimerFired (buffered while a workflow task runs);
CancelTimer writes TimerCanceled. If a CancelTimer arrives while the TimerFired is still
buffered, the server deletes the buffered event (`GetAndRemoveTimerFireEvent`), so a
history never shows both. Fired and Canceled name the timer's Started event and repeat
its timer_id; a timer id is unique among open timers (START_TIMER_DUPLICATE_ID).
"""

from __future__ import annotations

from core.enums import EventType
from core.events import (
    TimerCanceledEventAttributes,
    TimerFiredEventAttributes,
    TimerStartedEventAttributes,
)
from core.fastenum import Enum
from core.statemachine.fsm import make_table
from core.statemachine.history.fold import Entity, Fold, Handler, follower, opener

RULE = "H11"
DUPLICATE_ID_RULE = "H12"


class TimerState(Enum):
    STARTED = "Started"
    FIRED = "Fired"
    CANCELED = "Canceled"


class TimerInput(Enum):
    FIRED = "TimerFired"
    CANCELED = "TimerCanceled"


TABLE = make_table(
    "timer",
    RULE,
    TimerState,
    TimerInput,
    TimerState.STARTED,
    [
        (TimerState.STARTED, TimerInput.FIRED, TimerState.FIRED),
        (TimerState.STARTED, TimerInput.CANCELED, TimerState.CANCELED),
    ],
)


def _open(fold: Fold) -> dict[int, Entity[TimerState]]:
    return fold.timers


def _ids(fold: Fold) -> dict[str, int]:
    return fold.timer_ids


HANDLERS: dict[EventType, Handler] = {
    EventType.TIMER_STARTED: opener(
        TimerStartedEventAttributes,
        _open,
        TimerState.STARTED,
        name=lambda a: a.timer_id,
        names=_ids,
        duplicate_rule=DUPLICATE_ID_RULE,
    ),
    EventType.TIMER_FIRED: follower(
        TABLE,
        TimerFiredEventAttributes,
        _open,
        TimerInput.FIRED,
        key=lambda a: a.started_event_id,
        ref_name="started_event_id",
        name=lambda a: a.timer_id,
        names=_ids,
    ),
    EventType.TIMER_CANCELED: follower(
        TABLE,
        TimerCanceledEventAttributes,
        _open,
        TimerInput.CANCELED,
        key=lambda a: a.started_event_id,
        ref_name="started_event_id",
        name=lambda a: a.timer_id,
        names=_ids,
    ),
}
