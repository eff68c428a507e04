"""SDK-side machine for cancelling another workflow (sdk-core `cancel_external_state_machine.rs`).

```
  Created ──RequestCancelExternalWorkflowExecutionInitiated──▶ Initiated
  Initiated ──ExternalWorkflowExecutionCancelRequested──▶ Requested      (resolve)
  Initiated ──RequestCancelExternalWorkflowExecutionFailed──▶ Failed     (resolve: error)
```
"""

from __future__ import annotations

from core.enums import EventType
from core.fastenum import Enum
from core.statemachine.fsm import Row, Table, make_table


class SdkCancelExternalState(Enum):
    CREATED = "Created"
    INITIATED = "Initiated"
    REQUESTED = "Requested"
    FAILED = "Failed"


class CancelExternalInput(Enum):
    INITIATED = "RequestCancelExternalWorkflowExecutionInitiated"
    REQUESTED = "ExternalWorkflowExecutionCancelRequested"
    FAILED = "RequestCancelExternalWorkflowExecutionFailed"


S, I = SdkCancelExternalState, CancelExternalInput  # noqa: E741 - the input alphabet, as in fsm.py

TABLE: Table[Enum, Enum] = make_table(
    "replay-cancel-external",
    "THM-3.1",
    S,
    I,
    S.CREATED,
    [
        (S.CREATED, I.INITIATED, S.INITIATED),
        Row(S.INITIATED, I.REQUESTED, S.REQUESTED, ("resolve",)),
        Row(S.INITIATED, I.FAILED, S.FAILED, ("resolve",)),
    ],
)

EVENT_INPUTS: dict[EventType, CancelExternalInput] = {
    EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: I.INITIATED,
    EventType.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED: I.REQUESTED,
    EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: I.FAILED,
}
