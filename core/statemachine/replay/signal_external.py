"""SDK-side machine for signalling another workflow (sdk-core `signal_external_state_machine.rs`).

```
  Created ──SignalExternalWorkflowExecutionInitiated──▶ Initiated
  Initiated ──ExternalWorkflowExecutionSignaled──▶ Signaled        (resolve)
  Initiated ──SignalExternalWorkflowExecutionFailed──▶ Failed      (resolve: error)
```
"""

from __future__ import annotations

from core.enums import EventType
from core.fastenum import Enum
from core.statemachine.fsm import Row, Table, make_table


class SdkSignalExternalState(Enum):
    CREATED = "Created"
    INITIATED = "Initiated"
    SIGNALED = "Signaled"
    FAILED = "Failed"


class SignalExternalInput(Enum):
    INITIATED = "SignalExternalWorkflowExecutionInitiated"
    SIGNALED = "ExternalWorkflowExecutionSignaled"
    FAILED = "SignalExternalWorkflowExecutionFailed"


S, I = SdkSignalExternalState, SignalExternalInput  # noqa: E741 - the input alphabet, as in fsm.py

TABLE: Table[Enum, Enum] = make_table(
    "replay-signal-external",
    "THM-3.1",
    S,
    I,
    S.CREATED,
    [
        (S.CREATED, I.INITIATED, S.INITIATED),
        Row(S.INITIATED, I.SIGNALED, S.SIGNALED, ("resolve",)),
        Row(S.INITIATED, I.FAILED, S.FAILED, ("resolve",)),
    ],
)

EVENT_INPUTS: dict[EventType, SignalExternalInput] = {
    EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: I.INITIATED,
    EventType.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED: I.SIGNALED,
    EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: I.FAILED,
}
