"""Signal-an-external-workflow lifecycle in the sender's history (rule H14).

```
             ExternalWorkflowExecutionSignaled
  Initiated ───────────────────────────────────▶ Signaled
      │ SignalExternalWorkflowExecutionFailed
      ▼
   Failed
```

docs/temporal-semantics.md#external-signal-and-cancel
(sdk-core `signal_external_state_machine.rs`; the server's transfer
queue delivers the signal and records the outcome in the sender's history). Both
outcomes name the Initiated event in initiated_event_id.
"""

from __future__ import annotations

from core.enums import EventType
from core.events import (
    ExternalWorkflowExecutionSignaledEventAttributes,
    SignalExternalWorkflowExecutionFailedEventAttributes,
    SignalExternalWorkflowExecutionInitiatedEventAttributes,
)
from core.fastenum import Enum
from core.statemachine.fsm import make_table
from core.statemachine.history.fold import Entity, Fold, Handler, follower, opener

RULE = "H14"


class SignalExternalState(Enum):
    INITIATED = "Initiated"
    SIGNALED = "Signaled"
    FAILED = "Failed"


class SignalExternalInput(Enum):
    SIGNALED = "ExternalWorkflowExecutionSignaled"
    FAILED = "SignalExternalWorkflowExecutionFailed"


_S = SignalExternalState
_I = SignalExternalInput

TABLE = make_table(
    "signal external",
    RULE,
    SignalExternalState,
    SignalExternalInput,
    _S.INITIATED,
    [
        (_S.INITIATED, _I.SIGNALED, _S.SIGNALED),
        (_S.INITIATED, _I.FAILED, _S.FAILED),
    ],
)


def _open(fold: Fold) -> dict[int, Entity[SignalExternalState]]:
    return fold.signals


HANDLERS: dict[EventType, Handler] = {
    EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: opener(
        SignalExternalWorkflowExecutionInitiatedEventAttributes, _open, _S.INITIATED
    ),
    EventType.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED: follower(
        TABLE,
        ExternalWorkflowExecutionSignaledEventAttributes,
        _open,
        _I.SIGNALED,
        key=lambda a: a.initiated_event_id,
        ref_name="initiated_event_id",
    ),
    EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: follower(
        TABLE,
        SignalExternalWorkflowExecutionFailedEventAttributes,
        _open,
        _I.FAILED,
        key=lambda a: a.initiated_event_id,
        ref_name="initiated_event_id",
    ),
}
