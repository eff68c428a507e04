"""`handle(state, request, now)`: the history service as one pure function.

Every request to one run's history service goes through here: the run's mutable
state (None before the run exists), the request, and the current time in; an
`Outcome` - new state, events appended in Temporal's batch order, outbox tasks, reply
- out. Nothing is mutated and nothing is read from outside the arguments.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from core.requests import (
    ActivityRetryTask,
    ActivityTimeoutTask,
    AttachToRun,
    Error,
    FireTimer,
    Heartbeat,
    NexusTimeoutTask,
    PauseActivity,
    RecordActivityTaskHeartbeat,
    RecordActivityTaskStarted,
    RecordChildExecutionCompleted,
    RecordChildExecutionStarted,
    RecordExternalResult,
    RecordNexusOperationResult,
    RecordStartChildExecutionFailed,
    RecordWorkflowTaskStarted,
    Request,
    RequestCancelWorkflowExecution,
    ResetActivity,
    ResetStickyTaskQueue,
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
    UnpauseActivity,
    UpdateActivityOptions,
    UpdateWorkflowExecution,
    UpdateWorkflowExecutionOptions,
    UserTimerTask,
    WorkflowRunTimeoutTask,
    WorkflowTaskTimeoutTask,
)
from core.statemachine.history.limits import DEFAULT_LIMITS, Limits
from core.statemachine.history.service import (
    activity,
    activity_ops,
    activity_options,
    attach,
    chain,
    child,
    commands,
    enforce,
    execution,
    external,
    nexus,
    options_update,
    timer,
    update,
    workflow_task,
)
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.txn import Outcome, unchanged

__all__ = ["HandleFn", "Outcome", "StartFn", "admit_start", "handle", "signal_with_start", "start"]

# The signatures of `start` and `handle`, for callers that take the service as a
# parameter (a benchmark timing its calls, the simulator's history hosts, mutants).
StartFn = Callable[[StartWorkflowExecution, int], Outcome]
HandleFn = Callable[[MutableState, Request, int], Outcome]


def start(request: StartWorkflowExecution, now: int) -> Outcome:
    """Start a new run (its id must not be in use: see `handle` for an existing one;
    `admit_start` says whether the server takes the request at all)."""
    return execution.start_workflow_execution(request, now)


def admit_start(
    request: StartWorkflowExecution | SignalWithStartWorkflowExecution,
    limits: Limits = DEFAULT_LIMITS,
) -> Error | None:
    """InvalidArgument if the server refuses this start (or signal-with-start) for its
    size (LIMIT-BLOB-SIZE, LIMIT-MEMO-SIZE, LIMIT-SEARCH-ATTRIBUTES-SIZE); else None.
    The host calls it before `start` or `signal_with_start`, as the server validates a
    start before it creates the run."""
    admitted = enforce.admit(request, limits)
    return admitted if isinstance(admitted, Error) else None


def signal_with_start(
    state: MutableState | None, request: SignalWithStartWorkflowExecution, now: int
) -> Outcome:
    """Signal the run if it is running, else start a new one with the signal."""
    return execution.signal_with_start_workflow_execution(state, request, now)


def handle(
    state: MutableState, request: Request, now: int, limits: Limits = DEFAULT_LIMITS
) -> Outcome:
    """Apply one request to an existing run (see the module docstring), under the
    server's `limits` (enforce.py)."""
    if type(request) in _SIZED:
        admitted = enforce.admit(request, limits)
        if isinstance(admitted, Error):
            return unchanged(state, admitted)
    else:
        admitted = request
    outcome = _dispatch(state, admitted, now, limits)
    before = state.wft
    if before is not None and before.speculative:
        wft = outcome.state.wft
        if (
            wft is not None
            and before.stamp == wft.stamp  # it was pending before this request's events
            and (outcome.events or len(outcome.state.buffered) > len(state.buffered))
            and outcome.state.running
        ):  # the speculative task is written first, then the request goes on as before
            written = workflow_task.write_speculative(state)
            again = _dispatch(written.state, admitted, now, limits)
            events, tasks = written.events + again.events, written.tasks + again.tasks
            outcome = dataclasses.replace(again, events=events, tasks=tasks)
    converted = admitted is not request and type(request) is RecordActivityTaskHeartbeat
    if converted and not isinstance(outcome.reply, Error):  # the activity failed: stop it
        outcome = dataclasses.replace(outcome, reply=Heartbeat(cancel_requested=True))
    if outcome.state is state:  # nothing changed: no limit to check (`enforce_history`)
        return outcome
    return enforce.enforce_history(state, outcome, now, limits)


_SIZED = frozenset(enforce.SIZED_REQUESTS)


def _dispatch(state: MutableState, request: Request, now: int, limits: Limits) -> Outcome:
    # the most frequent requests first (timer tasks, workflow tasks, activities); no
    # request class derives from another, so the order decides nothing else
    if isinstance(request, FireTimer):
        return _fire(state, request.task, now)
    if isinstance(request, RecordWorkflowTaskStarted):
        return workflow_task.record_workflow_task_started(state, request, now, limits)
    if isinstance(request, RespondWorkflowTaskCompleted):
        return commands.respond_workflow_task_completed(state, request, now, limits)
    if isinstance(request, _ACTIVITY_REQUESTS):
        return activity.handle(state, request, now)
    if isinstance(request, SignalWorkflowExecution):
        return execution.signal_workflow_execution(state, request, now)
    if isinstance(request, RespondWorkflowTaskFailed):
        return commands.respond_workflow_task_failed(state, request, now)
    if isinstance(request, RequestCancelWorkflowExecution):
        return execution.request_cancel_workflow_execution(state, request, now)
    if isinstance(request, TerminateWorkflowExecution):
        return execution.terminate_workflow_execution(state, request, now)
    if isinstance(request, SignalWithStartWorkflowExecution):
        return execution.signal_with_start_workflow_execution(state, request, now)
    if isinstance(
        request,
        (
            RecordChildExecutionStarted,
            RecordChildExecutionCompleted,
            RecordStartChildExecutionFailed,
        ),
    ):
        return child.handle(state, request, now)
    if isinstance(request, RecordExternalResult):
        return external.handle(state, request, now)
    if isinstance(request, RecordNexusOperationResult):
        return nexus.handle(state, request, now)
    if isinstance(request, UpdateWorkflowExecution):
        return update.update_workflow_execution(state, request, now)
    if isinstance(request, AttachToRun):
        return attach.attach_to_run(state, request, now)
    if isinstance(request, UpdateWorkflowExecutionOptions):
        return options_update.update_options(state, request, now, limits)
    if isinstance(request, ResetStickyTaskQueue):
        return workflow_task.reset_sticky_task_queue(state, now)
    if isinstance(request, (PauseActivity, UnpauseActivity, ResetActivity)):
        return activity_ops.handle(state, request, now)
    if isinstance(request, UpdateActivityOptions):
        return activity_options.handle(state, request, now)
    return execution.start_again(state, request, now)


_ACTIVITY_REQUESTS = (
    RecordActivityTaskStarted,
    RespondActivityTaskCompleted,
    RecordActivityTaskHeartbeat,
    RespondActivityTaskFailed,
    RespondActivityTaskCanceled,
)


def _fire(state: MutableState, task: TimerTask, now: int) -> Outcome:
    # the most frequent first, as in `_dispatch`
    if isinstance(task, WorkflowTaskTimeoutTask):
        return workflow_task.workflow_task_timeout(state, task, now)
    if isinstance(task, (ActivityTimeoutTask, ActivityRetryTask)):
        return activity.handle(state, task, now)
    if isinstance(task, UserTimerTask):
        return timer.user_timer_fired(state, task, now)
    if isinstance(task, WorkflowRunTimeoutTask):
        return chain.workflow_run_timeout(state, task, now)
    if isinstance(task, NexusTimeoutTask):
        return nexus.timeout_fired(state, task, now)
    return execution.workflow_backoff_timer_fired(state, task, now)
