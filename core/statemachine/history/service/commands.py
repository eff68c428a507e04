"""RespondWorkflowTaskCompleted: a workflow task's commands become events.

Rules (docs/temporal-semantics.md#workflow-task and #commands;
`service/history/api/respondworkflowtaskcompleted/ workflow_task_completed_handler.go`,
`command_attr_validator.go`):

- A close command (Complete, Fail, Cancel, ContinueAsNew) must be the last command;
  otherwise the request is rejected with InvalidArgument and nothing changes
  (`ValidateCommandSequence`).
- A close command while events are buffered fails the task with UNHANDLED_COMMAND: the
  workflow has not seen those events yet.
- Otherwise WorkflowTaskCompleted is written, then one event per command in command
  order (command_handlers.py), each naming it in workflow_task_completed_event_id; then
  the buffered events are flushed; then a new workflow task is scheduled if the buffer
  held events, if the worker asked for one (`force_create_new_workflow_task`, the
  local-activity heartbeat), or if an activity that had not started was cancelled.
- An activity scheduled with `request_eager_execution` may be started at once, after
  every command and message is handled, and handed back in the reply
  (`WorkflowTaskCompletedOk.activity_tasks`; eager_activity.py). A reply with nothing
  started is a plain Ok.
- A command with bad attributes discards the whole completion: the task fails with the
  command's WorkflowTaskFailedCause (for a transient attempt nothing is written and the
  task is left to time out).
- So does a command over one of the server's limits (enforce.py): the failure carries
  the server's message; a payload, memo or search attributes too large also terminate
  the run, with that message as the reason (LIMIT-* rules).
"""

from __future__ import annotations

import dataclasses

from core.commands import Command
from core.enums import CommandType, WorkflowTaskFailedCause
from core.requests import (
    Error,
    ErrorKind,
    Ok,
    RespondWorkflowTaskCompleted,
    RespondWorkflowTaskFailed,
    TaskDiscarded,
    TerminateWorkflowExecution,
    WorkflowTaskCompletedOk,
)
from core.statemachine.history.limits import DEFAULT_LIMITS, Limits, server_failure
from core.statemachine.history.service import (
    eager_activity,
    execution,
    inline_task,
    update,
    workflow_task,
)
from core.statemachine.history.service.command_handlers import HANDLERS, Batch
from core.statemachine.history.service.enforce import Rejection
from core.statemachine.history.service.outbound import HISTORY_SERVICE
from core.statemachine.history.service.state import RUNNING, MutableState, WorkflowTaskInfo
from core.statemachine.history.service.txn import Outcome, Txn, finish, unchanged

C = CommandType
Cause = WorkflowTaskFailedCause

CLOSE_COMMANDS = frozenset(
    {
        C.COMPLETE_WORKFLOW_EXECUTION,
        C.FAIL_WORKFLOW_EXECUTION,
        C.CANCEL_WORKFLOW_EXECUTION,
        C.CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
    }
)


def respond_workflow_task_completed(
    state: MutableState,
    req: RespondWorkflowTaskCompleted,
    now: int,
    limits: Limits = DEFAULT_LIMITS,
) -> Outcome:
    """Apply a completion (for continue-as-new, `Outcome.new_run` starts the next run)."""
    if state.status is not RUNNING:
        # a closed run has no task to complete: NotFound, not WorkflowCompleted
        # (service/history/api/respondworkflowtaskcompleted/api.go)
        return unchanged(state, Error(ErrorKind.NOT_FOUND, "workflow task not found"))
    wft = workflow_task.current(state, req.token)
    if isinstance(wft, Error):
        return unchanged(state, wft)
    closing = [i for i, c in enumerate(req.commands) if c.command_type in CLOSE_COMMANDS]
    if closing and closing[0] != len(req.commands) - 1:
        return unchanged(
            state, Error(ErrorKind.INVALID_ARGUMENT, "a close command must be the last command")
        )
    if closing and state.buffered:
        return _reject(state, wft, Rejection(Cause.UNHANDLED_COMMAND), req, now)
    if wft.speculative and not req.commands and update.only_rejections(req.messages):
        return _discard_speculative(state, wft, req, now)
    txn = Txn(state, now)
    sequencing = wft.scheduled_event_id
    wtc = workflow_task.complete(txn, wft, req, limits)
    txn.set(
        sticky_queue=req.sticky_queue,
        sticky_schedule_to_start_timeout=req.sticky_schedule_to_start_timeout,
    )
    batch = Batch(
        txn,
        wtc,
        sequencing,
        {m.message_id: m for m in req.messages},
        identity=req.identity,
        limits=limits,
        nexus_endpoints=dict(req.nexus_endpoints),
    )
    for command in req.commands:
        handler = HANDLERS.get(command.command_type)
        if handler is None:
            return unchanged(
                state,
                Error(
                    ErrorKind.INVALID_ARGUMENT,
                    f"command {command.command_type.name} is not modelled yet",
                ),
            )
        first = len(txn.events)
        cause = handler(batch, command)
        if cause is not None:  # bad attributes, or a limit (enforce.py)
            refused = cause if isinstance(cause, Rejection) else Rejection(cause)
            if wft.transient:  # the server drops it and lets the task time out
                return unchanged(state, Error(ErrorKind.INVALID_ARGUMENT, refused.message))
            return _reject(state, wft, refused, req, now)
        if command.user_metadata is not None or command.event_group_markers is not None:
            _mark(txn, first, command)
    for message in list(batch.messages.values()):  # messages no command placed
        if txn.state.running and not update.apply_message(txn, message, sequencing):
            refused = Rejection(Cause.BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE)
            return _reject(state, wft, refused, req, now)
    eager = eager_activity.start(txn, batch.eager_activities, req.identity)
    new_task = None  # the next task, when started inline (inline_task.py)
    if txn.state.status is RUNNING:
        update.reject_unprocessed(txn)  # not when the completion closed the run
        had_buffered = bool(txn.state.buffered)
        txn.flush()
        if had_buffered or batch.new_task or req.force_create_new_workflow_task:
            new_task = inline_task.schedule_next(txn, req, limits=limits)
        elif update.outgoing(txn.state):  # e.g. admitted while this task ran
            new_task = inline_task.schedule_next(txn, req, speculative=True, limits=limits)
    started = eager or new_task is not None
    reply = WorkflowTaskCompletedOk(eager, new_task) if started else Ok()
    return finish(txn, reply, batch.new_run)


def _mark(txn: Txn, index: int, command: Command) -> None:
    """The event a command wrote carries the command's user metadata and event group
    markers (the history builder copies them from the command onto its event)."""
    if index >= len(txn.events):
        return  # a command that wrote no event now (e.g. a protocol message)
    event = txn.events[index]
    txn.events[index] = dataclasses.replace(
        event,
        user_metadata=command.user_metadata or event.user_metadata,
        event_group_markers=command.event_group_markers or event.event_group_markers,
    )


def _reject(
    state: MutableState,
    wft: WorkflowTaskInfo,
    rejection: Rejection,
    req: RespondWorkflowTaskCompleted,
    now: int,
) -> Outcome:
    """Fail the task whose completion `req` the server refused: the event carries a
    server failure worded as the rejection ("Cause: error", or the cause alone, such as
    "UnhandledCommand", which the SDKs match: sdk-core evicts the run as
    UnhandledCommand rather than Fatal), with the completion's identity and binary
    checksum, and the worker's call fails InvalidArgument in the same words
    (`failWorkflowTask` and the error after it in
    service/history/api/respondworkflowtaskcompleted/api.go); a size limit terminates
    the run in the same transaction, with that message as the reason."""
    txn = Txn(state, now)
    message = rejection.message
    failure = server_failure(message, non_retryable=False)
    workflow_task.fail(
        txn,
        wft,
        rejection.cause,
        failure,
        req.identity,
        rejected=True,
        binary_checksum=req.binary_checksum,
    )
    if rejection.terminate:
        execution.terminate(txn, TerminateWorkflowExecution(message, HISTORY_SERVICE))
    else:
        workflow_task.schedule(txn)
    return finish(txn, Error(ErrorKind.INVALID_ARGUMENT, message))


def _discard_speculative(
    state: MutableState, wft: WorkflowTaskInfo, req: RespondWorkflowTaskCompleted, now: int
) -> Outcome:
    """A speculative task that only rejected updates leaves no trace in history."""
    txn = Txn(state, now)
    workflow_task.transition(wft, workflow_task.WorkflowTaskInput.DISCARD)
    for message in req.messages:
        update.apply_message(txn, message, 0)
    update.reject_unprocessed(txn)
    txn.set(
        wft=None,
        sticky_queue=req.sticky_queue,
        sticky_schedule_to_start_timeout=req.sticky_schedule_to_start_timeout,
    )
    new_task = None  # the next task, when started inline (inline_task.py)
    if txn.state.buffered:
        # events buffered while it ran: written now, and a normal task follows them
        # (hasBufferedEventsOrMessages in service/history/api/respondworkflowtaskcompleted/api.go)
        txn.flush()
        new_task = inline_task.schedule_next(txn, req)
    elif update.outgoing(txn.state):  # admitted while this task ran
        new_task = inline_task.schedule_next(txn, req, speculative=True)
    elif state.execution_time > state.start_time and not state.last_completed_wft_started_event_id:
        # no task ever completed: the first task's backoff holds again
        # (IsWorkflowPendingOnWorkflowTaskBackoff, mutable_state_impl.go; update.py)
        txn.set(backoff_pending=True)
    return finish(txn, TaskDiscarded(state.last_completed_wft_started_event_id, new_task))


def respond_workflow_task_failed(
    state: MutableState, req: RespondWorkflowTaskFailed, now: int
) -> Outcome:
    wft = workflow_task.current(state, req.token)
    if isinstance(wft, Error):
        return unchanged(state, wft)
    txn = Txn(state, now)
    workflow_task.fail(
        txn, wft, req.cause, req.failure, req.identity, binary_checksum=req.binary_checksum
    )
    workflow_task.schedule(txn)
    return finish(txn, Ok())
