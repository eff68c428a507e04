"""`handle(state, request, now)`: the history service as one pure function.

Every request to one run's history service goes through here: the run's mutable
state (None before the run exists), the request, and the current time in; an
`Outcome` - new state, events appended in Temporal's batch order, outbox tasks, reply
- out. Nothing is mutated and nothing is read from outside the arguments.
"""

from __future__ import annotations

from core.statemachine.history.service import (
    activity,
    child,
    commands,
    execution,
    timer,
    update,
    workflow_task,
)
from core.statemachine.history.service.requests import (
    ActivityRetryTask,
    ActivityTimeoutTask,
    FireTimer,
    RecordActivityTaskHeartbeat,
    RecordActivityTaskStarted,
    RecordChildExecutionCompleted,
    RecordChildExecutionStarted,
    RecordExternalResult,
    RecordStartChildExecutionFailed,
    RecordWorkflowTaskStarted,
    Request,
    RequestCancelWorkflowExecution,
    RespondActivityTaskCanceled,
    RespondActivityTaskCompleted,
    RespondActivityTaskFailed,
    RespondWorkflowTaskCompleted,
    RespondWorkflowTaskFailed,
    SignalWithStartWorkflowExecution,
    SignalWorkflowExecution,
    StartWorkflowExecution,
    TerminateWorkflowExecution,
    TimerTask,
    UpdateWorkflowExecution,
    UserTimerTask,
    WorkflowRunTimeoutTask,
    WorkflowTaskTimeoutTask,
)
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.txn import Outcome

__all__ = ["Outcome", "handle", "signal_with_start", "start"]


def start(request: StartWorkflowExecution, now: int) -> Outcome:
    """Start a new run (its id must not be in use: see `handle` for an existing one)."""
    return execution.start(request, now)


def signal_with_start(
    state: MutableState | None, request: SignalWithStartWorkflowExecution, now: int
) -> Outcome:
    """Signal the run if it is running, else start a new one with the signal."""
    return execution.signal_with_start(state, request, now)


def handle(state: MutableState, request: Request, now: int) -> Outcome:
    """Apply one request to an existing run (see the module docstring)."""
    outcome = _dispatch(state, request, now)
    wft, before = outcome.state.wft, state.wft
    if (
        wft is not None
        and wft.unwritten
        and outcome.events
        and before is not None
        and before.stamp == wft.stamp  # it was waiting before this request's events
    ):
        return workflow_task.convert_unwritten(outcome, now)
    return outcome


def _dispatch(state: MutableState, request: Request, now: int) -> Outcome:
    if isinstance(request, RecordWorkflowTaskStarted):
        return workflow_task.record_started(state, request, now)
    if isinstance(request, RespondWorkflowTaskCompleted):
        return commands.respond_completed(state, request, now)
    if isinstance(request, RecordActivityTaskStarted):
        return activity.record_started(state, request, now)
    if isinstance(request, RespondActivityTaskCompleted):
        return activity.complete(state, request, now)
    if isinstance(request, FireTimer):
        return _fire(state, request.task, now)
    if isinstance(request, SignalWorkflowExecution):
        return execution.signal(state, request, now)
    if isinstance(request, RecordActivityTaskHeartbeat):
        return activity.heartbeat(state, request, now)
    if isinstance(request, RespondActivityTaskFailed):
        return activity.failed(state, request, now)
    if isinstance(request, RespondActivityTaskCanceled):
        return activity.canceled(state, request, now)
    if isinstance(request, RespondWorkflowTaskFailed):
        return commands.respond_failed(state, request, now)
    if isinstance(request, RequestCancelWorkflowExecution):
        return execution.request_cancel(state, request, now)
    if isinstance(request, TerminateWorkflowExecution):
        return execution.terminate(state, request, now)
    if isinstance(request, SignalWithStartWorkflowExecution):
        return execution.signal_with_start(state, request, now)
    if isinstance(request, RecordChildExecutionStarted):
        return child.child_started(state, request, now)
    if isinstance(request, RecordChildExecutionCompleted):
        return child.child_completed(state, request, now)
    if isinstance(request, RecordStartChildExecutionFailed):
        return child.start_child_failed(state, request, now)
    if isinstance(request, RecordExternalResult):
        return child.external_result(state, request, now)
    if isinstance(request, UpdateWorkflowExecution):
        return update.admit(state, request, now)
    return execution.start_again(state, request)


def _fire(state: MutableState, task: TimerTask, now: int) -> Outcome:
    if isinstance(task, UserTimerTask):
        return timer.on_fire(state, task, now)
    if isinstance(task, ActivityTimeoutTask):
        return activity.on_timeout(state, task, now)
    if isinstance(task, ActivityRetryTask):
        return activity.on_retry_timer(state, task, now)
    if isinstance(task, WorkflowTaskTimeoutTask):
        return workflow_task.on_timeout(state, task, now)
    if isinstance(task, WorkflowRunTimeoutTask):
        return execution.on_run_timeout(state, task, now)
    return execution.on_backoff(state, task, now)
