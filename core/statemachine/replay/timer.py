"""SDK-side timer machine (sdk-core `timer_state_machine.rs`).

```
  Created ──TimerStarted──▶ Started ──TimerFired──▶ Fired
     │                         │ cancel
     └─cancel─▶ CanceledBeforeSent   ▼
                          CancelCommandCreated ──TimerCanceled──▶ Canceled
```

Cancelling a started timer sends CancelTimer and resolves the sleeper with
CancelledError at once; cancelling one whose StartTimer was not sent yet just drops
the command; cancelling one whose TimerFired is among the task's events does nothing
(the fire is delivered).
"""

from __future__ import annotations

from core.enums import EventType
from core.fastenum import Enum
from core.statemachine.fsm import Row, Table, make_table


class SdkTimerState(Enum):
    CREATED = "Created"
    STARTED = "Started"
    FIRED = "Fired"
    CANCEL_COMMAND_CREATED = "CancelCommandCreated"
    CANCELED = "Canceled"
    CANCELED_BEFORE_SENT = "CanceledBeforeSent"


class TimerInput(Enum):
    STARTED = "TimerStarted"
    FIRED = "TimerFired"
    CANCELED = "TimerCanceled"
    CANCEL = "cancel"


S, I = SdkTimerState, TimerInput  # noqa: E741 - the input alphabet, as in fsm.py

TABLE: Table[Enum, Enum] = make_table(
    "replay-timer",
    "THM-3.1",
    S,
    I,
    S.CREATED,
    [
        (S.CREATED, I.STARTED, S.STARTED),
        Row(S.CREATED, I.CANCEL, S.CANCELED_BEFORE_SENT, ("drop_command", "resolve_cancelled")),
        Row(S.STARTED, I.FIRED, S.FIRED, ("resolve",)),
        Row(S.STARTED, I.CANCEL, S.CANCEL_COMMAND_CREATED, ("emit_cancel", "resolve_cancelled")),
        (S.CANCEL_COMMAND_CREATED, I.CANCELED, S.CANCELED),
        # Fired in this task's events but not yet delivered: the fire wins, nothing sent.
        (S.FIRED, I.CANCEL, S.FIRED),
    ],
)

EVENT_INPUTS: dict[EventType, TimerInput] = {
    EventType.TIMER_STARTED: I.STARTED,
    EventType.TIMER_FIRED: I.FIRED,
    EventType.TIMER_CANCELED: I.CANCELED,
}
