"""Updates: UpdateWorkflowExecution, PollWorkflowExecutionUpdate and
ExecuteMultiOperation (update-with-start). Queries are in rpc_queries.py.

Updates (`service/history/workflow/update/`): the history service admits the update
(the core's UpdateWorkflowExecution), a workflow task carries its request to the
worker, and the worker's acceptance, rejection and response come back as protocol
messages on the task's completion. The caller waits for the stage it asked for;
the outcome of a rejection is known only from that completion (it writes no event),
the outcome of a completion is also in history (WorkflowExecutionUpdateCompleted).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from temporalio.api.enums.v1 import update_pb2 as update_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.errordetails.v1 import message_pb2 as details_pb
from temporalio.api.failure.v1 import message_pb2 as failure_pb
from temporalio.api.update.v1 import message_pb2 as update_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core import requests as rq
from core.enums import EventType
from core.events import WorkflowExecutionUpdateCompletedEventAttributes
from core.statemachine.history.service import update
from core.statemachine.history.service.commands import CLOSE_COMMANDS
from sim.nodes.base import Payload

from . import convert, errors, rpc_executions
from .frontend import Frontend
from .tokens import TaskToken
from .visibility import STATUS_NUMBERS

Context = grpc.aio.ServicerContext[Any, Any]


# -- updates ---------------------------------------------------------------------------

STAGE_ADMITTED = update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
STAGE_ACCEPTED = update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
STAGE_COMPLETED = update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED


@dataclass(slots=True)
class UpdateView:
    """Where an update stands, as far as history and the last completions tell."""

    stage: int
    outcome: update_pb.Outcome | None = None


def _view(
    fe: Frontend, namespace: str, workflow_id: str, run_id: str, update_id: str, since: int
) -> UpdateView | None:
    """Where the update stands for a caller that began at rejection serial `since`: a
    rejection recorded before that is forgotten (`Frontend.rejections`)."""
    run = fe.runtime.record(namespace, workflow_id, run_id)
    if run is None:
        return None
    rejected = fe.rejections.get((run.state.run_id, update_id))
    if rejected is not None and rejected[0] > since:
        outcome = update_pb.Outcome()
        outcome.failure.CopyFrom(rejected[1])
        return UpdateView(STAGE_COMPLETED, outcome)
    accepted = False
    for event in run.events:
        attributes = event.attributes
        if event.event_type is EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            if getattr(attributes, "protocol_instance_id", "") == update_id:
                accepted = True
        elif event.event_type is EventType.WORKFLOW_EXECUTION_UPDATE_COMPLETED and isinstance(
            attributes, WorkflowExecutionUpdateCompletedEventAttributes
        ):
            meta = attributes.meta.value() if attributes.meta is not None else {}
            if isinstance(meta, dict) and meta.get("updateId") == update_id:
                return UpdateView(
                    STAGE_COMPLETED, convert.fill(update_pb.Outcome(), attributes.outcome)
                )
    if accepted:
        return UpdateView(STAGE_ACCEPTED)
    if any(u.update_id == update_id for u in run.state.updates):
        return UpdateView(STAGE_ADMITTED)
    return None


UPDATE_SOFT_TIMEOUT = 20.0  # seconds: history.longPollExpirationInterval


async def _await_stage(
    fe: Frontend,
    context: Context,
    namespace: str,
    workflow_id: str,
    run_id: str,
    update_id: str,
    wanted: int,
    since: int,
) -> UpdateView:
    """Wait until the update reaches stage `wanted` or the run closes. As the server's
    `Update.WaitLifecycleStage` (service/history/workflow/update/update.go), with the
    soft timeout history gives it (`history.longPollExpirationInterval`, 20 s;
    updateworkflow/api.go, pollupdate/api.go): when the soft timeout comes first the
    answer is the stage reached, with no outcome, and the caller asks again; when the
    caller's own deadline comes first, the call ends DEADLINE_EXCEEDED (the SDKs raise
    their update RPC timeout error on that, and only on that)."""
    loop = asyncio.get_running_loop()
    deadline = fe.deadline(context)
    soft = loop.time() + UPDATE_SOFT_TIMEOUT
    limit = soft if deadline is None else min(deadline, soft)
    hard = limit == deadline  # the caller's deadline comes first
    while True:
        run = fe.runtime.record(namespace, workflow_id, run_id)
        view = _view(fe, namespace, workflow_id, run_id, update_id, since)
        if view is None:
            if run is not None and not run.state.running:
                raise errors.not_found("workflow execution already completed")
            raise errors.not_found(f'update "{update_id}" not found')  # update/registry.go
        if run is not None and not run.state.running and view.stage != STAGE_COMPLETED:
            # its abort is its outcome, whatever stage was asked (`WaitLifecycleStage`,
            # update/update.go, answers from a ready outcome first)
            return _aborted(view, _continued(run))
        if view.stage >= wanted:
            return view
        remaining = max(0.0, limit - loop.time())
        if not await fe.runtime.waiters.change(run.state.run_id if run else run_id, remaining):
            if hard:
                raise errors.deadline("the update did not reach the stage asked for in time")
            return view  # the caller asks again


# The outcome of an update accepted by a run that closed before completing it
# (service/history/workflow/update/errors_failures.go).
ACCEPTED_UPDATE_COMPLETED_WORKFLOW = failure_pb.Failure(
    message="Workflow Update failed because the Workflow completed before the Update completed.",
    source="Server",
    application_failure_info=failure_pb.ApplicationFailureInfo(
        type="AcceptedUpdateCompletedWorkflow", non_retryable=True
    ),
)


def _aborted(view: UpdateView, continuing: bool) -> UpdateView:
    """What the run's closing made of an update it had not completed, as the server's
    registry aborts it (service/history/workflow/update/abort_reason.go): an accepted
    one completes with a failure; an admitted one is NotFound when the run completed
    (`AbortReasonWorkflowCompleted`), but when the run closed by starting the next run
    of its chain (`AbortReasonWorkflowContinuing`: continue-as-new, retry, cron) it is
    the retryable ErrWorkflowClosing, so that the client sends it again and it lands on
    the new run (respondworkflowtaskcompleted/api.go). The aborted update stays in the
    closed run's registry: a repeated request or a poll naming that run is answered the
    same (`registry.Find`, then the update's stored error)."""
    if view.stage == STAGE_ACCEPTED:
        outcome = update_pb.Outcome()
        outcome.failure.CopyFrom(ACCEPTED_UPDATE_COMPLETED_WORKFLOW)
        return UpdateView(STAGE_COMPLETED, outcome)
    if continuing:
        raise errors.workflow_closing()
    raise errors.not_found(ABORTED_BY_CLOSING)


# update.AbortedByWorkflowClosingErr (service/history/workflow/update/errors_failures.go)
ABORTED_BY_CLOSING = "workflow update was aborted by closing workflow"


def _continued(run: Any) -> bool:
    """Did the closed run start the next run of its chain? Its closing event names it."""
    last = run.events[-1] if run.events else None
    return bool(getattr(last.attributes, "new_execution_run_id", "")) if last else False


def _stage_wanted(wait_policy: Any) -> int:
    stage = wait_policy.lifecycle_stage
    return stage if stage in (STAGE_ADMITTED, STAGE_ACCEPTED, STAGE_COMPLETED) else STAGE_ADMITTED


def _response(
    req_ns: str, workflow_id: str, run_id: str, update_id: str, view: UpdateView
) -> ws.UpdateWorkflowExecutionResponse:
    out = ws.UpdateWorkflowExecutionResponse(stage=view.stage)  # type: ignore[arg-type]
    out.update_ref.workflow_execution.workflow_id = workflow_id
    out.update_ref.workflow_execution.run_id = run_id
    out.update_ref.update_id = update_id
    if view.outcome is not None:
        out.outcome.CopyFrom(view.outcome)
    return out


MAX_UPDATE_ID_LENGTH = 1000  # limit.maxIDLength


def check_update(
    fe: Frontend, req: ws.UpdateWorkflowExecutionRequest
) -> errors.ServiceError | None:
    """The frontend's checks of an update request, in its order; a request without an
    update id is given one (`prepareUpdateWorkflowRequest`, workflow_handler.go)."""
    execution = req.workflow_execution
    if not execution.workflow_id:
        return errors.invalid("WorkflowId is not set on request.")
    if execution.run_id and not _is_uuid(execution.run_id):
        return errors.invalid("Invalid RunId.")
    if not req.request.HasField("meta"):
        return errors.invalid("Update meta is not set on request.")
    if len(req.request.meta.update_id) > MAX_UPDATE_ID_LENGTH:
        return errors.invalid("UpdateId length exceeds limit.")
    if not req.request.meta.update_id:
        req.request.meta.update_id = fe.new_id()
    if not req.request.HasField("input"):
        return errors.invalid("Update input is not set on request.")
    if not req.request.input.name:
        return errors.invalid("Update name is not set on request.")
    if not req.wait_policy.lifecycle_stage:  # the default: wait for the outcome
        req.wait_policy.lifecycle_stage = STAGE_COMPLETED
    if req.wait_policy.lifecycle_stage == STAGE_ADMITTED:
        return errors.ServiceError(
            grpc.StatusCode.PERMISSION_DENIED,
            "UpdateWorkflowExecution issued asynchronously and waiting on update admitted"
            " is not supported.",
            details_pb.PermissionDeniedFailure(),
        )
    return None


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


async def update_workflow_execution(
    fe: Frontend, req: ws.UpdateWorkflowExecutionRequest, context: Context
) -> ws.UpdateWorkflowExecutionResponse:
    fe.namespace(req.namespace)
    refused = check_update(fe, req)
    if refused is not None:
        raise refused
    meta = req.request.meta
    execution = req.workflow_execution
    state = fe.state(req.namespace, execution.workflow_id, execution.run_id)
    if req.first_execution_run_id and state.first_run_id != req.first_execution_run_id:
        raise errors.not_found(
            "workflow execution not found"
        )  # consts.ErrWorkflowExecutionNotFound
    run_id = state.run_id
    since = fe.rejection_serial
    existing = _view(fe, req.namespace, execution.workflow_id, run_id, meta.update_id, since)
    # A closed run still answers for an update it knows, so that a repeated request
    # sees the same result (updateworkflow/api.go: `updateReg.Find` before
    # ErrWorkflowCompleted).
    if not state.running and existing is None:
        raise errors.not_found("workflow execution already completed")
    if existing is None:
        admit = rq.UpdateWorkflowExecution(meta.update_id, convert.opaque(req, "request"))
        await fe.call(context, req.namespace, execution.workflow_id, run_id, admit)
    view = await _await_stage(
        fe,
        context,
        req.namespace,
        execution.workflow_id,
        run_id,
        meta.update_id,
        max(_stage_wanted(req.wait_policy), STAGE_ADMITTED),
        since,
    )
    return _response(req.namespace, execution.workflow_id, run_id, meta.update_id, view)


async def poll_workflow_execution_update(
    fe: Frontend, req: ws.PollWorkflowExecutionUpdateRequest, context: Context
) -> ws.PollWorkflowExecutionUpdateResponse:
    fe.namespace(req.namespace)
    if not req.HasField("update_ref"):
        raise errors.invalid("UpdateRef is not set on request.")  # errUpdateRefNotSet
    ref = req.update_ref
    state = fe.state(
        req.namespace, ref.workflow_execution.workflow_id, ref.workflow_execution.run_id
    )
    workflow_id = ref.workflow_execution.workflow_id
    since = fe.rejection_serial
    if _view(fe, req.namespace, workflow_id, state.run_id, ref.update_id, since) is None:
        # an update the run does not know, open or closed (pollupdate/api.go)
        raise errors.not_found(f'update "{ref.update_id}" not found')
    view = await _await_stage(
        fe,
        context,
        req.namespace,
        ref.workflow_execution.workflow_id,
        state.run_id,
        ref.update_id,
        _stage_wanted(req.wait_policy),
        since,
    )
    out = ws.PollWorkflowExecutionUpdateResponse(stage=view.stage)  # type: ignore[arg-type]
    out.update_ref.CopyFrom(ref)
    out.update_ref.workflow_execution.run_id = state.run_id
    if view.outcome is not None:
        out.outcome.CopyFrom(view.outcome)
    return out


UWS_FAILED = "Update-with-Start could not be executed."  # the frontend's message
USE_EXISTING = wf_enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
NOT_STARTED_DEDUPED = "Workflow was not started: 3"  # startworkflow.StartDeduped, as %v


async def execute_multi_operation(
    fe: Frontend, req: ws.ExecuteMultiOperationRequest, context: Context
) -> ws.ExecuteMultiOperationResponse:
    """Update-with-start: exactly [Start, Update] on one workflow id
    (`ExecuteMultiOperation` in service/frontend/workflow_handler.go, then
    service/history/api/multioperation/api.go). A failure is a MultiOperationExecution
    error with one status per operation, the one not carried out "aborted"."""
    fe.namespace(req.namespace)
    ops = list(req.operations)
    if (
        len(ops) != 2
        or not ops[0].HasField("start_workflow")
        or not ops[1].HasField("update_workflow")
    ):
        raise errors.invalid("Operations have to be exactly [Start, Update].")
    start, update = ops[0].start_workflow, ops[1].update_workflow
    start.namespace = start.namespace or req.namespace  # access.py refused any other
    update.namespace = update.namespace or req.namespace
    start_error, update_error = _check_start(fe, start), _check_update(fe, update)
    if update_error is None and update.workflow_execution.workflow_id != start.workflow_id:
        update_error = errors.invalid("WorkflowId is not consistent with previous operation(s).")
    if start_error is not None or update_error is not None:
        raise errors.multi_operation(
            UWS_FAILED,
            [start_error or errors.operation_aborted(), update_error or errors.operation_aborted()],
        )
    try:
        return await _update_with_start(fe, context, start, update)
    except _AbortedByClosing:
        pass
    # An update the workflow's closing aborted before it was accepted: the history
    # service tries the whole operation once more (it may start a new run now), and then
    # answers Aborted, which clients retry (`Invoke`, multioperation/api.go, with
    # history.enableUpdateWithStartRetry*OnClosedWorkflowAbort, both on by default).
    try:
        return await _update_with_start(fe, context, start, update)
    except _AbortedByClosing:
        aborted = errors.ServiceError(grpc.StatusCode.ABORTED, ABORTED_BY_CLOSING)
        raise errors.multi_operation(UWS_FAILED, [errors.operation_aborted(), aborted]) from None


def _check_start(
    fe: Frontend, start: ws.StartWorkflowExecutionRequest
) -> errors.ServiceError | None:
    """The frontend's checks of the start operation (`convertToHistoryMultiOperationItem`)."""
    try:
        checked = ws.StartWorkflowExecutionRequest()
        checked.CopyFrom(start)
        checked.cron_schedule = ""  # refused below, with update-with-start's own message
        rpc_executions.start_request(fe, checked, "")
        if start.cron_schedule:
            raise errors.invalid("CronSchedule is not allowed.")
        if start.request_eager_execution:
            raise errors.invalid("RequestEagerExecution is not supported.")
        if start.HasField("workflow_start_delay") and convert.nanos(start.workflow_start_delay):
            raise errors.invalid("WorkflowStartDelay is not supported.")
    except errors.ServiceError as exc:
        return exc
    return None


def _check_update(
    fe: Frontend, update: ws.UpdateWorkflowExecutionRequest
) -> errors.ServiceError | None:
    """The frontend's checks of the update operation (`convertToHistoryMultiOperationItem`)."""
    refused = check_update(fe, update)
    if refused is not None:
        return refused
    if update.first_execution_run_id:
        return errors.invalid("FirstExecutionRunId is not allowed.")
    if update.workflow_execution.run_id:
        return errors.invalid("RunId is not allowed.")
    return None


class _AbortedByClosing(Exception):
    """The update of an update-with-start that found a run was aborted by its closing."""


async def _update_with_start(
    fe: Frontend,
    context: Context,
    start: ws.StartWorkflowExecutionRequest,
    update: ws.UpdateWorkflowExecutionRequest,
) -> ws.ExecuteMultiOperationResponse:
    """One try (`updateWithStart.Invoke`, multioperation/api.go). Whatever the policies
    say, an update the current run completed is answered from it, and a running run
    takes the update when it made by this very start, knows the update already, or
    the conflict policy is USE_EXISTING; otherwise a new run starts with the update."""
    current = fe.runtime.record(start.namespace, start.workflow_id)
    update_id = update.request.meta.update_id
    if current is not None:
        state = current.state
        view = _known(fe, current, update_id)
        if view is not None and view.stage == STAGE_COMPLETED:
            started = ws.StartWorkflowExecutionResponse(
                run_id=state.run_id,
                started=False,
                status=STATUS_NUMBERS[state.status],  # type: ignore[arg-type]
            )
            updated = _response(start.namespace, start.workflow_id, state.run_id, update_id, view)
            return _multi_response(started, updated)
        if state.running and (
            state.start_request_id == start.request_id
            or view is not None
            or start.workflow_id_conflict_policy == USE_EXISTING
        ):
            return await _update_running(fe, context, update, state.run_id)
    return await _start_and_update(fe, context, start, update)


def _known(fe: Frontend, current: Any, update_id: str) -> UpdateView | None:
    """Where the current run has the update, if it knows it (a rejection leaves nothing
    behind to answer from)."""
    state = current.state
    since = fe.rejection_serial
    return _view(fe, state.namespace, current.workflow_id, state.run_id, update_id, since)


async def _update_running(
    fe: Frontend, context: Context, update: ws.UpdateWorkflowExecutionRequest, run_id: str
) -> ws.ExecuteMultiOperationResponse:
    """Send the update to the running run `run_id`; nothing is started."""
    request = ws.UpdateWorkflowExecutionRequest()
    request.CopyFrom(update)
    request.workflow_execution.run_id = run_id
    try:
        updated = await update_workflow_execution(fe, request, context)
    except errors.ServiceError as exc:
        if exc.message == ABORTED_BY_CLOSING:
            raise _AbortedByClosing() from None
        raise errors.multi_operation(UWS_FAILED, [errors.operation_aborted(), exc]) from None
    started = ws.StartWorkflowExecutionResponse(
        run_id=run_id, started=False, status=wf_enums.WORKFLOW_EXECUTION_STATUS_RUNNING
    )
    return _multi_response(started, updated)


async def _start_and_update(
    fe: Frontend,
    context: Context,
    start: ws.StartWorkflowExecutionRequest,
    update: ws.UpdateWorkflowExecutionRequest,
) -> ws.ExecuteMultiOperationResponse:
    """Start a new run with the update admitted in the start's own transaction, so that
    its first workflow task carries the update (`startAndUpdateWorkflow` and
    `workflowLeaseCallback`, multioperation/api.go); then wait for the stage asked."""
    namespace, workflow_id = start.namespace, start.workflow_id
    update_id = update.request.meta.update_id
    admit = rq.UpdateWorkflowExecution(update_id, convert.opaque(update, "request"))
    since = fe.rejection_serial
    core_start = dataclasses.replace(
        rpc_executions.start_request(fe, start, fe.new_id()), update=admit
    )
    try:
        if await rpc_executions._resolve_conflict(fe, context, start, core_start.run_id):
            raise AssertionError("USE_EXISTING on a running run updates it (above)")
        await fe.call(context, namespace, workflow_id, "", core_start)
    except errors.ServiceError as exc:
        refused = exc
        if exc.code is grpc.StatusCode.ALREADY_EXISTS and exc.details is None:
            # the id reuse policy refused it: the error names the run in the way
            named = rpc_executions._already_started(
                fe, namespace, workflow_id, exc.message, start.workflow_id_reuse_policy
            )
            refused = named if isinstance(named, errors.ServiceError) else exc
        raise errors.multi_operation(UWS_FAILED, [refused, errors.operation_aborted()]) from None
    state = fe.state(namespace, workflow_id)
    if state.run_id != core_start.run_id:  # the closed run's own start, retried
        raise errors.multi_operation(
            UWS_FAILED, [errors.unavailable(NOT_STARTED_DEDUPED), errors.operation_aborted()]
        )
    try:
        view = await _await_stage(
            fe,
            context,
            namespace,
            workflow_id,
            state.run_id,
            update_id,
            max(_stage_wanted(update.wait_policy), STAGE_ADMITTED),
            since,
        )
    except errors.ServiceError as exc:
        raise errors.multi_operation(UWS_FAILED, [None, exc]) from None
    started = ws.StartWorkflowExecutionResponse(
        run_id=state.run_id,
        started=True,
        status=wf_enums.WORKFLOW_EXECUTION_STATUS_RUNNING,
        first_execution_run_id=state.first_run_id or state.run_id,
    )
    updated = _response(namespace, workflow_id, state.run_id, update_id, view)
    return _multi_response(started, updated)


def _multi_response(
    started: ws.StartWorkflowExecutionResponse, updated: ws.UpdateWorkflowExecutionResponse
) -> ws.ExecuteMultiOperationResponse:
    out = ws.ExecuteMultiOperationResponse()
    out.responses.add().start_workflow.CopyFrom(started)
    out.responses.add().update_workflow.CopyFrom(updated)
    return out


def record_rejections(fe: Frontend, run_id: str, messages: Any) -> list[tuple[str, str]]:
    """Remember the failures of updates a completion rejects (no event records them);
    the keys remembered."""
    keys: list[tuple[str, str]] = []
    for message in messages:
        if message.body.Is(update_pb.Rejection.DESCRIPTOR):
            rejection = update_pb.Rejection()
            message.body.Unpack(rejection)
            failure = failure_pb.Failure()
            failure.CopyFrom(rejection.failure)
            fe.rejection_serial += 1
            fe.rejections[(run_id, message.protocol_instance_id)] = (fe.rejection_serial, failure)
            keys.append((run_id, message.protocol_instance_id))
    return keys


async def complete_noting_updates(
    fe: Frontend,
    context: Context,
    token: TaskToken,
    messages: Any,
    completion: rq.RespondWorkflowTaskCompleted,
) -> Payload:
    """Send a workflow task's completion to history, its answer returned. What it does
    to updates that leaves no event is noted first, so that an update waiting on the
    commit finds its outcome: the rejections among its `messages`, and the failure of
    each update it will leave unprocessed, which the server rejects (core update.py;
    the prediction is checked against what the completion did). Both are forgotten if
    it fails."""
    rejected = record_rejections(fe, token.run_id, messages)
    before = fe.state(token.namespace, token.workflow_id, token.run_id)
    closes = any(c.command_type in CLOSE_COMMANDS for c in completion.commands)
    unprocessed = update.unprocessed_by(before, completion.messages, closes)
    predicted = record_unprocessed(fe, token.run_id, unprocessed, rejected)
    try:
        answer = await fe.call(
            context, token.namespace, token.workflow_id, token.run_id, completion
        )
    except errors.ServiceError:
        for key in (*rejected, *predicted):
            fe.rejections.pop(key, None)
        raise
    after = fe.state(token.namespace, token.workflow_id, token.run_id)
    done = update.unprocessed(before, after)
    for key in predicted:
        if key[1] not in done:
            fe.rejections.pop(key, None)
    if rejected or predicted:
        fe.runtime.waiters.wake(token.run_id)
    return answer


def record_unprocessed(
    fe: Frontend,
    run_id: str,
    update_ids: Sequence[str],
    rejected: Sequence[tuple[str, str]] = (),
) -> list[tuple[str, str]]:
    """Remember the failure of each update the server rejected because the worker's
    completion did not process it (core update.py `reject_unprocessed`); the keys,
    leaving out the updates the same completion rejected itself (`rejected`)."""
    keys: list[tuple[str, str]] = []
    for update_id in update_ids:
        if (run_id, update_id) not in rejected:
            failure = convert.fill(failure_pb.Failure(), update.UNPROCESSED)
            fe.rejection_serial += 1
            fe.rejections[(run_id, update_id)] = (fe.rejection_serial, failure)
            keys.append((run_id, update_id))
    return keys


__all__ = [
    "complete_noting_updates",
    "execute_multi_operation",
    "record_rejections",
    "record_unprocessed",
    "update_workflow_execution",
]
