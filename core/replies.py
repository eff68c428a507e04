"""The history service's replies to the requests of core/requests.py, and the task
tokens a worker sends back with its answers (both modules name them).

Every reply is either the call's own result or an `Error` with a kind that says how a
caller must react (see core/requests.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from core.fastinit import fast_init_all


@dataclass(frozen=True, slots=True)
class WorkflowTaskToken:
    scheduled_event_id: int
    started_event_id: int
    attempt: int


@dataclass(frozen=True, slots=True)
class ActivityTaskToken:
    scheduled_event_id: int
    attempt: int


# --- replies -------------------------------------------------------------------------


class ErrorKind(Enum):
    NOT_FOUND = "NotFound"
    ALREADY_STARTED = "TaskAlreadyStarted"
    OBSOLETE = "ObsoleteMatchingTask"
    WORKFLOW_COMPLETED = "WorkflowExecutionAlreadyCompleted"
    ALREADY_EXISTS = "WorkflowExecutionAlreadyStarted"
    INVALID_ARGUMENT = "InvalidArgument"
    # Retry later: what the request reports on has not been recorded yet (a child's
    # close reported before the parent recorded the child's start).
    NOT_READY = "WorkflowNotReady"
    FAILED_PRECONDITION = "FailedPrecondition"
    # A per-run limit is reached: retry later (an update beyond the in-flight limit).
    RESOURCE_EXHAUSTED = "ResourceExhausted"


@dataclass(frozen=True, slots=True)
class Error:
    kind: ErrorKind
    message: str


@dataclass(frozen=True, slots=True)
class Ok:
    """Success with nothing more to say."""


@dataclass(frozen=True, slots=True)
class TaskDiscarded(Ok):
    """Success, and the speculative workflow task left no events: the worker must roll
    its history back to `reset_history_event_id`, the last completed task's
    WorkflowTaskStarted (`respondworkflowtaskcompleted/api.go`, ResetHistoryEventId).
    The response can carry the next workflow task too, started inline as
    WorkflowTaskCompletedOk's `new_task` is (events or an update came while it ran)."""

    reset_history_event_id: int
    new_task: WorkflowTaskStarted | None = None


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
class WorkflowTaskCompletedOk(Ok):
    """RespondWorkflowTaskCompleted's success, with what the completion started at once
    for the worker that sent it, as the server hands it back in
    RespondWorkflowTaskCompletedResponse (service/history/api/respondworkflowtaskcompleted/):
    the activities it scheduled with `request_eager_execution`, started eagerly
    (`activity_tasks`), and the next workflow task, started inline when the worker asked
    with `return_new_workflow_task` (`new_task`). Empty: nothing was started."""

    activity_tasks: tuple[ActivityTaskStarted, ...] = ()
    new_task: WorkflowTaskStarted | None = None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    cancel_requested: bool
    activity_paused: bool = False  # an operator paused it (PauseActivity)
    activity_reset: bool = False  # an operator reset it (ResetActivity)


@dataclass(frozen=True, slots=True)
class WorkflowReset:
    """ResetWorkflowExecution's reply: the id of the run the reset started (or, for a
    deduplicated request, of the current run)."""

    run_id: str


Reply = (
    Ok
    | TaskDiscarded
    | WorkflowTaskCompletedOk
    | Error
    | WorkflowTaskStarted
    | ActivityTaskStarted
    | Heartbeat
    | WorkflowReset
)


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
