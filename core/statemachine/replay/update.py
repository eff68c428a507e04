"""SDK-side update machine (sdk-core `update_state_machine.rs`).

```
  Admitted ──reject──▶ Rejected                       (message only: no event)
  Admitted ──accept──▶ AcceptSent ──UpdateAccepted──▶ Accepted ──respond──▶ ResponseSent
                          │ respond                                              │
                          ▼                                                       │
                       BothSent ──UpdateAccepted──▶ ResponseSent ──UpdateCompleted──▶ Completed
```

Live, an update arrives as a request with the workflow task; the validator runs and
the update is accepted or rejected. On replay only accepted updates exist: an
UpdateAccepted event of the workflow task being replayed admits the update again and
the validator is skipped (the SDKs do the same). Acceptance and response are protocol
messages placed by PROTOCOL_MESSAGE commands, so they are matched like commands.
"""

from __future__ import annotations

from core.enums import EventType
from core.fastenum import Enum
from core.statemachine.fsm import Row, Table, make_table


class SdkUpdateState(Enum):
    ADMITTED = "Admitted"
    REJECTED = "Rejected"
    ACCEPT_SENT = "AcceptSent"
    BOTH_SENT = "BothSent"
    ACCEPTED = "Accepted"
    RESPONSE_SENT = "ResponseSent"
    COMPLETED = "Completed"


class UpdateInput(Enum):
    REJECT = "reject"
    ACCEPT = "accept"
    RESPOND = "respond"
    ACCEPTED = "WorkflowExecutionUpdateAccepted"
    COMPLETED = "WorkflowExecutionUpdateCompleted"


S, I = SdkUpdateState, UpdateInput  # noqa: E741 - the input alphabet, as in fsm.py

TABLE: Table[Enum, Enum] = make_table(
    "replay-update",
    "THM-3.1",
    S,
    I,
    S.ADMITTED,
    [
        Row(S.ADMITTED, I.REJECT, S.REJECTED, ("emit_reject",)),
        Row(S.ADMITTED, I.ACCEPT, S.ACCEPT_SENT, ("emit_accept",)),
        Row(S.ACCEPT_SENT, I.RESPOND, S.BOTH_SENT, ("emit_respond",)),
        (S.ACCEPT_SENT, I.ACCEPTED, S.ACCEPTED),
        (S.BOTH_SENT, I.ACCEPTED, S.RESPONSE_SENT),
        Row(S.ACCEPTED, I.RESPOND, S.RESPONSE_SENT, ("emit_respond",)),
        (S.RESPONSE_SENT, I.COMPLETED, S.COMPLETED),
    ],
)

EVENT_INPUTS: dict[EventType, UpdateInput] = {
    EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED: I.ACCEPTED,
    EventType.WORKFLOW_EXECUTION_UPDATE_COMPLETED: I.COMPLETED,
}
