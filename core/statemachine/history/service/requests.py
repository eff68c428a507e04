"""The history service's requests, replies and outbox tasks, as plain values.

Requests mirror the history service's RPCs (`service/history/api/*`) with only the
fields the model acts on. Every reply is either the call's own result or an `Error`
with a kind that says how a caller must react: matching drops a task on NOT_FOUND,
ALREADY_STARTED and OBSOLETE (`service/matching/matching_engine.go`); a worker gives up
on a task whose token is stale (NOT_FOUND); INVALID_ARGUMENT rejects a malformed
request without changing anything.

Tasks are the transactional outbox (reference §6): transfer tasks for matching and
timer tasks for the timer queue, each carrying the keys an executor compares with
mutable state to discard stale work (scheduled event id, attempt, stamp).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from core.commands import Command
from core.enums import TimeoutType, WorkflowTaskFailedCause
from core.opaque import Opaque

# --- requests ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartWorkflowExecution:
    namespace: str
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    request_id: str
    input: Opaque | None = None
    workflow_task_timeout: int = 10_000_000_000
    run_timeout: int = 0
    execution_timeout: int = 0
    identity: str = ""
    first_workflow_task_backoff: int = 0


@dataclass(frozen=True, slots=True)
class SignalWorkflowExecution:
    signal_name: str
    request_id: str = ""
    input: Opaque | None = None
    identity: str = ""


@dataclass(frozen=True, slots=True)
class SignalWithStartWorkflowExecution:
    """Signal the running run, or start one with the signal as its first input."""

    start: StartWorkflowExecution
    signal: SignalWorkflowExecution


@dataclass(frozen=True, slots=True)
class RequestCancelWorkflowExecution:
    request_id: str = ""
    reason: str = ""
    identity: str = ""


@dataclass(frozen=True, slots=True)
class TerminateWorkflowExecution:
    reason: str = ""
    identity: str = ""


@dataclass(frozen=True, slots=True)
class RecordWorkflowTaskStarted:
    """Matching asks history to start a workflow task it is about to dispatch."""

    scheduled_event_id: int
    stamp: int
    request_id: str
    identity: str = ""
    from_sticky_queue: bool = False


@dataclass(frozen=True, slots=True)
class WorkflowTaskToken:
    scheduled_event_id: int
    started_event_id: int
    attempt: int


@dataclass(frozen=True, slots=True)
class RespondWorkflowTaskCompleted:
    token: WorkflowTaskToken
    commands: tuple[Command, ...] = ()
    identity: str = ""
    sticky_queue: str = ""
    sticky_schedule_to_start_timeout: int = 0
    force_create_new_workflow_task: bool = False


@dataclass(frozen=True, slots=True)
class RespondWorkflowTaskFailed:
    token: WorkflowTaskToken
    cause: WorkflowTaskFailedCause = WorkflowTaskFailedCause.WORKFLOW_WORKER_UNHANDLED_FAILURE
    failure: Opaque | None = None
    identity: str = ""


@dataclass(frozen=True, slots=True)
class RecordActivityTaskStarted:
    scheduled_event_id: int
    stamp: int
    request_id: str
    identity: str = ""


@dataclass(frozen=True, slots=True)
class ActivityTaskToken:
    scheduled_event_id: int
    attempt: int


@dataclass(frozen=True, slots=True)
class RecordActivityTaskHeartbeat:
    token: ActivityTaskToken
    details: Opaque | None = None


@dataclass(frozen=True, slots=True)
class RespondActivityTaskCompleted:
    token: ActivityTaskToken
    result: Opaque | None = None
    identity: str = ""


@dataclass(frozen=True, slots=True)
class RespondActivityTaskFailed:
    token: ActivityTaskToken
    failure: Opaque | None = None
    error_type: str = ""
    non_retryable: bool = False
    identity: str = ""


@dataclass(frozen=True, slots=True)
class RespondActivityTaskCanceled:
    token: ActivityTaskToken
    details: Opaque | None = None
    identity: str = ""


# --- outbox tasks (transfer and timer queues) ----------------------------------------


@dataclass(frozen=True, slots=True)
class WorkflowTaskTransfer:
    """Push a workflow task to matching (transfer queue)."""

    scheduled_event_id: int
    task_queue: str
    sticky: bool
    stamp: int
    schedule_to_start_timeout: int = 0


@dataclass(frozen=True, slots=True)
class ActivityTaskTransfer:
    """Push an activity task to matching (transfer queue)."""

    scheduled_event_id: int
    task_queue: str
    stamp: int
    schedule_to_start_timeout: int = 0


@dataclass(frozen=True, slots=True)
class CloseExecutionTransfer:
    """The run closed: notify parent, delete, archive (transfer queue)."""

    run_id: str


@dataclass(frozen=True, slots=True)
class UserTimerTask:
    timer_id: str
    started_event_id: int
    fire_time: int


@dataclass(frozen=True, slots=True)
class ActivityTimeoutTask:
    scheduled_event_id: int
    timeout_type: TimeoutType
    attempt: int
    stamp: int
    fire_time: int


@dataclass(frozen=True, slots=True)
class ActivityRetryTask:
    scheduled_event_id: int
    attempt: int
    stamp: int
    fire_time: int


@dataclass(frozen=True, slots=True)
class WorkflowTaskTimeoutTask:
    scheduled_event_id: int
    timeout_type: TimeoutType
    attempt: int
    stamp: int
    fire_time: int


@dataclass(frozen=True, slots=True)
class WorkflowRunTimeoutTask:
    fire_time: int


@dataclass(frozen=True, slots=True)
class WorkflowBackoffTask:
    """The first workflow task is delayed (continue-as-new, retry, cron, start delay)."""

    fire_time: int


TimerTask = (
    UserTimerTask
    | ActivityTimeoutTask
    | ActivityRetryTask
    | WorkflowTaskTimeoutTask
    | WorkflowRunTimeoutTask
    | WorkflowBackoffTask
)
Task = WorkflowTaskTransfer | ActivityTaskTransfer | CloseExecutionTransfer | TimerTask


@dataclass(frozen=True, slots=True)
class FireTimer:
    """The timer queue executes one of the run's timer tasks."""

    task: TimerTask


Request = (
    StartWorkflowExecution
    | SignalWithStartWorkflowExecution
    | SignalWorkflowExecution
    | RequestCancelWorkflowExecution
    | TerminateWorkflowExecution
    | RecordWorkflowTaskStarted
    | RespondWorkflowTaskCompleted
    | RespondWorkflowTaskFailed
    | RecordActivityTaskStarted
    | RecordActivityTaskHeartbeat
    | RespondActivityTaskCompleted
    | RespondActivityTaskFailed
    | RespondActivityTaskCanceled
    | FireTimer
)

# --- replies -------------------------------------------------------------------------


class ErrorKind(Enum):
    NOT_FOUND = "NotFound"
    ALREADY_STARTED = "TaskAlreadyStarted"
    OBSOLETE = "ObsoleteMatchingTask"
    WORKFLOW_COMPLETED = "WorkflowExecutionAlreadyCompleted"
    ALREADY_EXISTS = "WorkflowExecutionAlreadyStarted"
    INVALID_ARGUMENT = "InvalidArgument"


@dataclass(frozen=True, slots=True)
class Error:
    kind: ErrorKind
    message: str


@dataclass(frozen=True, slots=True)
class Ok:
    """Success with nothing more to say."""


@dataclass(frozen=True, slots=True)
class WorkflowTaskStarted:
    """RecordWorkflowTaskStarted's reply: the token and where the worker's view ends."""

    token: WorkflowTaskToken
    previous_started_event_id: int
    next_event_id: int


@dataclass(frozen=True, slots=True)
class ActivityTaskStarted:
    token: ActivityTaskToken


@dataclass(frozen=True, slots=True)
class Heartbeat:
    cancel_requested: bool


Reply = Ok | Error | WorkflowTaskStarted | ActivityTaskStarted | Heartbeat
