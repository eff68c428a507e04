"""Talking to a running workflow: QueryWorkflow and RespondQueryTaskCompleted,
UpdateWorkflowExecution, PollWorkflowExecutionUpdate and ExecuteMultiOperation
(update-with-start).

Queries (`service/history/api/queryworkflow/api.go`, `service/matching` QueryWorkflow):
a query never enters history. It is dispatched as a *query task* straight to a poller
of the run's sticky queue (the worker has the run cached; the task carries no history)
or, when no sticky worker polls, of its normal queue (the task carries the whole
history to replay). Matching only sync-matches query tasks: one waits for a poller until
the caller's deadline. The server waits for any in-flight workflow task to finish
first, so the answer reflects a consistent state (the real server buffers the query
and attaches it to the next task; the answer is the same). A query before the first
workflow task completed is WorkflowNotReady.

Updates (`service/history/workflow/update/`): the history service admits the update
(the core's UpdateWorkflowExecution), a workflow task carries its request to the
worker, and the worker's acceptance, rejection and response come back as protocol
messages on the task's completion. The caller waits for the stage it asked for;
the outcome of a rejection is known only from that completion (it writes no event),
the outcome of a completion is also in history (WorkflowExecutionUpdateCompleted).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import grpc
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import query_pb2 as query_enums
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.enums.v1 import update_pb2 as update_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.failure.v1 import message_pb2 as failure_pb
from temporalio.api.query.v1 import message_pb2 as query_pb
from temporalio.api.update.v1 import message_pb2 as update_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core import requests as rq
from core.enums import EventType
from core.events import WorkflowExecutionUpdateCompletedEventAttributes
from core.statemachine.history.service.state import MutableState, RunStatus

from . import convert, errors, rpc_executions
from .frontend import Frontend
from .tokens import TaskToken, decode_task_token
from .visibility import STATUS_NUMBERS

Context = grpc.aio.ServicerContext[Any, Any]
FAILING_TASK_ATTEMPTS = 3  # queryworkflow/api.go failQueryWorkflowTaskAttemptCount


@dataclass(slots=True)
class PendingQuery:
    id: int
    namespace: str
    workflow_id: str
    run_id: str
    query: query_pb.WorkflowQuery
    future: asyncio.Future[ws.RespondQueryTaskCompletedRequest]
    sticky: bool = False


@dataclass(slots=True)
class Queries:
    """Query tasks waiting for a poller, and those handed out awaiting an answer."""

    fe: Frontend
    ids: Any = field(default_factory=lambda: itertools.count(1))
    pending: dict[int, PendingQuery] = field(default_factory=dict)
    queued: dict[tuple[str, str, bool], deque[int]] = field(default_factory=dict)

    def take(self, namespace: str, queue: str, sticky: bool) -> PendingQuery | None:
        waiting = self.queued.get((namespace, queue, sticky))
        while waiting:
            query = self.pending.get(waiting.popleft())
            if query is not None and not query.future.done():
                return query
        return None

    def task(self, item: object) -> ws.PollWorkflowTaskQueueResponse:
        """The poll response that hands query `item` to a worker."""
        assert isinstance(item, PendingQuery)
        run = self.fe.runtime.record(item.namespace, item.workflow_id, item.run_id)
        out = ws.PollWorkflowTaskQueueResponse(
            task_token=TaskToken(
                "query", item.namespace, item.workflow_id, item.run_id, query_id=item.id
            ).encode(),
            workflow_execution=common_pb.WorkflowExecution(
                workflow_id=item.workflow_id, run_id=item.run_id
            ),
            attempt=1,
        )
        out.query.CopyFrom(item.query)
        out.history.SetInParent()  # present even when empty: the SDK requires it
        if run is not None:
            state = run.state
            out.workflow_type.name = state.workflow_type
            out.previous_started_event_id = state.last_completed_wft_started_event_id
            out.workflow_execution_task_queue.name = state.task_queue
            out.workflow_execution_task_queue.kind = tq_enums.TASK_QUEUE_KIND_NORMAL
            if not item.sticky:
                out.history.events.extend(
                    self.fe.runtime.history_protos(run.state.run_id, run.events)
                )
                out.started_event_id = len(run.events)
        return out

    def answer(self, req: ws.RespondQueryTaskCompletedRequest) -> None:
        token = decode_task_token(req.task_token)
        query = self.pending.get(token.query_id) if token.kind == "query" else None
        if query is None:
            raise errors.not_found("query task not found, or already expired")
        if not query.future.done():
            query.future.set_result(req)

    def enqueue(self, query: PendingQuery, queue: str, sticky: bool) -> None:
        query.sticky = sticky
        if not self.fe.runtime.offer(query.namespace, queue, sticky, query):
            self.queued.setdefault((query.namespace, queue, sticky), deque()).append(query.id)


def _rejected(state: MutableState, condition: int) -> bool:
    status = state.status
    if condition == query_enums.QUERY_REJECT_CONDITION_NOT_OPEN:
        return status is not RunStatus.RUNNING
    if condition == query_enums.QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY:
        return status not in (RunStatus.RUNNING, RunStatus.COMPLETED)
    return False


async def query_workflow(
    fe: Frontend, req: ws.QueryWorkflowRequest, context: Context
) -> ws.QueryWorkflowResponse:
    fe.namespace(req.namespace)
    if not req.HasField("query"):
        raise errors.invalid("WorkflowQuery is not set on request.")
    if not req.query.query_type:
        raise errors.invalid("QueryType is not set on request.")
    run = fe.run(req.namespace, req.execution.workflow_id, req.execution.run_id)
    state = run.state
    if _rejected(state, req.query_reject_condition):
        out = ws.QueryWorkflowResponse()
        out.query_rejected.status = STATUS_NUMBERS[state.status]  # type: ignore[assignment]
        return out
    if not state.running and not state.last_completed_wft_started_event_id:
        raise errors.not_ready("Workflow execution closed before WorkflowTaskStarted event")
    if state.wft_attempt >= FAILING_TASK_ATTEMPTS:
        raise errors.not_ready("Unable to query workflow due to Workflow Task in failed state.")
    # Dispatch straight to a worker only once that is consistent: some workflow task
    # completed, and none is pending (its events came before the query). The real server
    # instead attaches the query to that pending task; the answer reflects the same state.
    while run.state.running and (
        not run.state.last_completed_wft_started_event_id or run.state.wft is not None
    ):
        deadline = fe.deadline(context)
        timeout = (
            None if deadline is None else max(0.0, deadline - asyncio.get_running_loop().time())
        )
        if not await fe.runtime.waiters.change(run.state.run_id, timeout):
            raise errors.deadline("query timed out: the workflow task did not complete")
    state = run.state
    queries: Queries = fe.queries
    future: asyncio.Future[ws.RespondQueryTaskCompletedRequest] = (
        asyncio.get_running_loop().create_future()
    )
    query = PendingQuery(
        next(queries.ids), req.namespace, run.workflow_id, state.run_id, req.query, future
    )
    queries.pending[query.id] = query
    try:
        sticky = bool(state.sticky_queue) and state.running
        if sticky and fe.runtime.has_poller(req.namespace, state.sticky_queue, True):
            queries.enqueue(query, state.sticky_queue, True)
        else:
            queries.enqueue(query, state.task_queue, False)
        deadline = fe.deadline(context)
        loop = asyncio.get_running_loop()
        timeout = None if deadline is None else max(0.0, deadline - loop.time())
        try:
            answer = await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            raise errors.deadline("query timed out: no worker answered") from None
    finally:
        queries.pending.pop(query.id, None)
    if answer.completed_type == query_enums.QUERY_RESULT_TYPE_ANSWERED:
        out = ws.QueryWorkflowResponse()
        out.query_result.CopyFrom(answer.query_result)
        return out
    failure = answer.failure if answer.HasField("failure") else None
    raise errors.query_failed(answer.error_message, failure)


async def respond_query_task_completed(
    fe: Frontend, req: ws.RespondQueryTaskCompletedRequest, context: Context
) -> ws.RespondQueryTaskCompletedResponse:
    fe.namespace(req.namespace)
    fe.queries.answer(req)
    return ws.RespondQueryTaskCompletedResponse()


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
    fe: Frontend, namespace: str, workflow_id: str, run_id: str, update_id: str
) -> UpdateView | None:
    run = fe.runtime.record(namespace, workflow_id, run_id)
    if run is None:
        return None
    rejected = fe.rejections.get((run.state.run_id, update_id))
    if rejected is not None:
        outcome = update_pb.Outcome()
        outcome.failure.CopyFrom(rejected)
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


async def _await_stage(
    fe: Frontend,
    context: Context,
    namespace: str,
    workflow_id: str,
    run_id: str,
    update_id: str,
    wanted: int,
) -> UpdateView:
    loop = asyncio.get_running_loop()
    deadline = fe.deadline(context)
    while True:
        run = fe.runtime.record(namespace, workflow_id, run_id)
        view = _view(fe, namespace, workflow_id, run_id, update_id)
        if view is None:
            if run is not None and not run.state.running:
                raise errors.not_found("workflow execution already completed")
            raise errors.not_found(f"update {update_id} not found")
        if view.stage >= wanted:
            return view
        if run is not None and not run.state.running:
            return _aborted(view)
        timeout = None if deadline is None else max(0.0, deadline - loop.time() - 0.5)
        if not await fe.runtime.waiters.change(run.state.run_id if run else run_id, timeout):
            return view  # the caller polls again (PollWorkflowExecutionUpdate)


# The outcome of an update accepted by a run that closed before completing it
# (service/history/workflow/update/errors_failures.go).
ACCEPTED_UPDATE_COMPLETED_WORKFLOW = failure_pb.Failure(
    message="Workflow Update failed because the Workflow completed before the Update completed.",
    source="Server",
    application_failure_info=failure_pb.ApplicationFailureInfo(
        type="AcceptedUpdateCompletedWorkflow", non_retryable=True
    ),
)


def _aborted(view: UpdateView) -> UpdateView:
    """What the run's closing made of an update it had not completed, as the server's
    registry aborts it (`AbortReasonWorkflowCompleted`, update/abort_reason.go): an
    accepted one completes with a failure, an admitted one is NotFound."""
    if view.stage == STAGE_ACCEPTED:
        outcome = update_pb.Outcome()
        outcome.failure.CopyFrom(ACCEPTED_UPDATE_COMPLETED_WORKFLOW)
        return UpdateView(STAGE_COMPLETED, outcome)
    raise errors.not_found("workflow update was aborted by closing workflow")


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


async def update_workflow_execution(
    fe: Frontend, req: ws.UpdateWorkflowExecutionRequest, context: Context
) -> ws.UpdateWorkflowExecutionResponse:
    fe.namespace(req.namespace)
    meta = req.request.meta
    if not meta.update_id:
        raise errors.invalid("Update meta is not set on request.")
    if not req.request.input.name:
        raise errors.invalid("Update name is not set on request.")
    execution = req.workflow_execution
    state = fe.state(req.namespace, execution.workflow_id, execution.run_id)
    if req.first_execution_run_id and state.first_run_id != req.first_execution_run_id:
        raise errors.not_found("workflow execution not found for the given first execution run id")
    run_id = state.run_id
    existing = _view(fe, req.namespace, execution.workflow_id, run_id, meta.update_id)
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
    )
    return _response(req.namespace, execution.workflow_id, run_id, meta.update_id, view)


async def poll_workflow_execution_update(
    fe: Frontend, req: ws.PollWorkflowExecutionUpdateRequest, context: Context
) -> ws.PollWorkflowExecutionUpdateResponse:
    fe.namespace(req.namespace)
    ref = req.update_ref
    state = fe.state(
        req.namespace, ref.workflow_execution.workflow_id, ref.workflow_execution.run_id
    )
    view = await _await_stage(
        fe,
        context,
        req.namespace,
        ref.workflow_execution.workflow_id,
        state.run_id,
        ref.update_id,
        _stage_wanted(req.wait_policy),
    )
    out = ws.PollWorkflowExecutionUpdateResponse(stage=view.stage)  # type: ignore[arg-type]
    out.update_ref.CopyFrom(ref)
    out.update_ref.workflow_execution.run_id = state.run_id
    if view.outcome is not None:
        out.outcome.CopyFrom(view.outcome)
    return out


async def execute_multi_operation(
    fe: Frontend, req: ws.ExecuteMultiOperationRequest, context: Context
) -> ws.ExecuteMultiOperationResponse:
    """Update-with-start: exactly [Start, Update] on one workflow id."""
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
    if update.workflow_execution.workflow_id != start.workflow_id:
        raise errors.invalid("WorkflowId is not consistent with previous operation(s).")
    if start.cron_schedule:
        raise errors.invalid("CronSchedule is not allowed.")
    if start.request_eager_execution:
        raise errors.invalid("RequestEagerExecution is not supported.")
    if update.workflow_execution.run_id:
        raise errors.invalid("RunId is not allowed.")
    current = fe.runtime.record(start.namespace, start.workflow_id)
    if current is not None and _attaches(fe, current, update.request.meta.update_id):
        update.workflow_execution.run_id = current.state.run_id
        updated = await update_workflow_execution(fe, update, context)
        started = ws.StartWorkflowExecutionResponse(
            run_id=current.state.run_id,
            started=False,
            status=STATUS_NUMBERS[current.state.status],  # type: ignore[arg-type]
        )
    else:
        started = await rpc_executions.start_workflow_execution(fe, start, context)
        update.workflow_execution.run_id = ""
        updated = await update_workflow_execution(fe, update, context)
    out = ws.ExecuteMultiOperationResponse()
    out.responses.add().start_workflow.CopyFrom(started)
    out.responses.add().update_workflow.CopyFrom(updated)
    return out


def _attaches(fe: Frontend, current: Any, update_id: str) -> bool:
    """Does update-with-start attach to the workflow's current run without starting one,
    whatever its policies say? Yes when that run completed the update, or is running
    and knows it (`updateWithStart.Invoke`, service/history/api/multioperation/api.go)."""
    state = current.state
    if (state.run_id, update_id) in fe.rejections:  # a rejection leaves no outcome behind
        return False
    view = _view(fe, state.namespace, current.workflow_id, state.run_id, update_id)
    if view is None:
        return False
    return view.stage == STAGE_COMPLETED or state.running


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
            fe.rejections[(run_id, message.protocol_instance_id)] = failure
            keys.append((run_id, message.protocol_instance_id))
    return keys


__all__ = ["Queries", "wf_enums"]
