"""Cancel-an-external-workflow lifecycle in the requester's history (rule H15).

```
             ExternalWorkflowExecutionCancelRequested
  Initiated ──────────────────────────────────────────▶ CancelRequested
      │ RequestCancelExternalWorkflowExecutionFailed
      ▼
   Failed
```

docs/temporal-semantics.md#external-signal-and-cancel
(sdk-core `cancel_external_state_machine.rs`). The target run receives
WorkflowExecutionCancelRequested naming this Initiated event in
external_initiated_event_id; the requester's history records only that the request
was delivered (or failed), never whether the target actually closed.
"""

from __future__ import annotations

from core.enums import EventType
from core.events import (
    ExternalWorkflowExecutionCancelRequestedEventAttributes,
    RequestCancelExternalWorkflowExecutionFailedEventAttributes,
    RequestCancelExternalWorkflowExecutionInitiatedEventAttributes,
)
from core.fastenum import Enum
from core.statemachine.fsm import make_table
from core.statemachine.history.fold import Entity, Fold, Handler, follower, opener

RULE = "H15"


class CancelExternalState(Enum):
    INITIATED = "Initiated"
    CANCEL_REQUESTED = "CancelRequested"
    FAILED = "Failed"


class CancelExternalInput(Enum):
    CANCEL_REQUESTED = "ExternalWorkflowExecutionCancelRequested"
    FAILED = "RequestCancelExternalWorkflowExecutionFailed"


_S = CancelExternalState
_I = CancelExternalInput

TABLE = make_table(
    "cancel external",
    RULE,
    CancelExternalState,
    CancelExternalInput,
    _S.INITIATED,
    [
        (_S.INITIATED, _I.CANCEL_REQUESTED, _S.CANCEL_REQUESTED),
        (_S.INITIATED, _I.FAILED, _S.FAILED),
    ],
)


def _open(fold: Fold) -> dict[int, Entity[CancelExternalState]]:
    return fold.cancels


HANDLERS: dict[EventType, Handler] = {
    EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: opener(
        RequestCancelExternalWorkflowExecutionInitiatedEventAttributes, _open, _S.INITIATED
    ),
    EventType.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED: follower(
        TABLE,
        ExternalWorkflowExecutionCancelRequestedEventAttributes,
        _open,
        _I.CANCEL_REQUESTED,
        key=lambda a: a.initiated_event_id,
        ref_name="initiated_event_id",
    ),
    EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: follower(
        TABLE,
        RequestCancelExternalWorkflowExecutionFailedEventAttributes,
        _open,
        _I.FAILED,
        key=lambda a: a.initiated_event_id,
        ref_name="initiated_event_id",
    ),
}
