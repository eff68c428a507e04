"""SDK-side machine of the run itself: running, asked to cancel, closing, closed.

```
  Running ──WorkflowExecutionCancelRequested──▶ CancelRequested
     │ code ends                                    │ code ends
     ▼                                              ▼
  CloseCommandCreated ──Completed/Failed/Canceled/ContinuedAsNew──▶ Closed
  Running|CancelRequested ──Terminated/TimedOut──▶ Closed
```

The server writes one CancelRequested per run (a second request changes nothing,
core/statemachine/history/service/execution.py), and a task whose close command was
written is never followed by a termination, so neither has a row.

How the code ends picks the close command (temporalio `_workflow_instance.py`,
`_run_top_level_workflow_function`): a return value completes the run; a
`ContinueAsNewError` continues it; a cancellation after a cancel request cancels it;
a workflow error (ApplicationError, ActivityError, ...) fails it; any other exception
is a bug in the code and fails the workflow *task*, so the server retries it.
"""

from __future__ import annotations

from core.enums import EventType
from core.fastenum import Enum
from core.statemachine.fsm import Row, Table, make_table


class SdkExecutionState(Enum):
    RUNNING = "Running"
    CANCEL_REQUESTED = "CancelRequested"
    CLOSE_COMMAND_CREATED = "CloseCommandCreated"
    CLOSED = "Closed"


class ExecutionInput(Enum):
    CANCEL_REQUESTED = "WorkflowExecutionCancelRequested"
    CODE_ENDED = "code ended"
    CLOSED = "close event"
    ENDED_BY_SERVER = "WorkflowExecutionTerminated|TimedOut"


S, I = SdkExecutionState, ExecutionInput  # noqa: E741 - the input alphabet, as in fsm.py

TABLE: Table[Enum, Enum] = make_table(
    "replay-execution",
    "THM-3.1",
    S,
    I,
    S.RUNNING,
    [
        Row(S.RUNNING, I.CANCEL_REQUESTED, S.CANCEL_REQUESTED, ("cancel_run",)),
        Row(S.RUNNING, I.CODE_ENDED, S.CLOSE_COMMAND_CREATED, ("emit_close",)),
        Row(S.CANCEL_REQUESTED, I.CODE_ENDED, S.CLOSE_COMMAND_CREATED, ("emit_close",)),
        (S.CLOSE_COMMAND_CREATED, I.CLOSED, S.CLOSED),
        (S.RUNNING, I.ENDED_BY_SERVER, S.CLOSED),
        (S.CANCEL_REQUESTED, I.ENDED_BY_SERVER, S.CLOSED),
    ],
)

EVENT_INPUTS: dict[EventType, ExecutionInput] = {
    EventType.WORKFLOW_EXECUTION_CANCEL_REQUESTED: I.CANCEL_REQUESTED,
    EventType.WORKFLOW_EXECUTION_COMPLETED: I.CLOSED,
    EventType.WORKFLOW_EXECUTION_FAILED: I.CLOSED,
    EventType.WORKFLOW_EXECUTION_CANCELED: I.CLOSED,
    EventType.WORKFLOW_EXECUTION_CONTINUED_AS_NEW: I.CLOSED,
    EventType.WORKFLOW_EXECUTION_TERMINATED: I.ENDED_BY_SERVER,
    EventType.WORKFLOW_EXECUTION_TIMED_OUT: I.ENDED_BY_SERVER,
}
