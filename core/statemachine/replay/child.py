"""SDK-side child workflow machine (sdk-core `child_workflow_state_machine.rs`).

```
  Created ──Initiated──▶ Initiated ──ChildStarted──▶ Started ──Completed/Failed/Canceled/
     │                      │                                  TimedOut/Terminated──▶ Closed
     └─cancel─▶ CanceledBeforeSent   └──StartChildWorkflowExecutionFailed──▶ StartFailed
```

Two futures hang on a child: its start (`resolve_start`, the run id) and its result
(`resolve`). A start failure fails both. Cancelling a child whose command was not sent
drops the command; a started child is cancelled through a RequestCancelExternal for it
alone (`Context._cancel_started_child`), so this machine sees only its close.
"""

from __future__ import annotations

from core.enums import EventType
from core.fastenum import Enum
from core.statemachine.fsm import Row, Table, make_table


class SdkChildState(Enum):
    CREATED = "Created"
    INITIATED = "Initiated"
    STARTED = "Started"
    START_FAILED = "StartFailed"
    CLOSED = "Closed"
    CANCELED_BEFORE_SENT = "CanceledBeforeSent"


class ChildInput(Enum):
    INITIATED = "StartChildWorkflowExecutionInitiated"
    STARTED = "ChildWorkflowExecutionStarted"
    START_FAILED = "StartChildWorkflowExecutionFailed"
    CLOSED = "ChildWorkflowExecutionCompleted|Failed|Canceled|TimedOut|Terminated"
    CANCEL = "cancel"


S, I = SdkChildState, ChildInput  # noqa: E741 - the input alphabet, as in fsm.py

TABLE: Table[Enum, Enum] = make_table(
    "replay-child-workflow",
    "THM-3.1",
    S,
    I,
    S.CREATED,
    [
        (S.CREATED, I.INITIATED, S.INITIATED),
        Row(S.CREATED, I.CANCEL, S.CANCELED_BEFORE_SENT, ("drop_command", "resolve_cancelled")),
        Row(S.INITIATED, I.STARTED, S.STARTED, ("resolve_start",)),
        Row(S.INITIATED, I.START_FAILED, S.START_FAILED, ("resolve_start_failed",)),
        Row(S.STARTED, I.CLOSED, S.CLOSED, ("resolve",)),
        (S.INITIATED, I.CANCEL, S.INITIATED),  # the start is abandoned; the child runs on
    ],
)

EVENT_INPUTS: dict[EventType, ChildInput] = {
    EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED: I.INITIATED,
    EventType.CHILD_WORKFLOW_EXECUTION_STARTED: I.STARTED,
    EventType.START_CHILD_WORKFLOW_EXECUTION_FAILED: I.START_FAILED,
    EventType.CHILD_WORKFLOW_EXECUTION_COMPLETED: I.CLOSED,
    EventType.CHILD_WORKFLOW_EXECUTION_FAILED: I.CLOSED,
    EventType.CHILD_WORKFLOW_EXECUTION_CANCELED: I.CLOSED,
    EventType.CHILD_WORKFLOW_EXECUTION_TIMED_OUT: I.CLOSED,
    EventType.CHILD_WORKFLOW_EXECUTION_TERMINATED: I.CLOSED,
}
