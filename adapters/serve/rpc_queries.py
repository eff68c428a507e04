"""Queries: QueryWorkflow and RespondQueryTaskCompleted
(`service/history/api/queryworkflow/api.go`, `service/matching` QueryWorkflow).

A query never enters history. It is dispatched as a *query task* straight to a poller
of the run's sticky queue (the worker has the run cached; the task carries no history)
or, when no sticky worker polls or none answers within the run's sticky
schedule-to-start timeout, of its normal queue (the task carries the whole history to
replay). Matching only sync-matches query tasks: one waits for a poller until
the caller's deadline. The server waits for any in-flight workflow task to finish
first, so the answer reflects a consistent state (the real server buffers the query
and attaches it to the next task; the answer is the same). A query before the first
workflow task completed is WorkflowNotReady.
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
from temporalio.api.query.v1 import message_pb2 as query_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core import requests as rq
from core.statemachine import matching as m
from core.statemachine.history.service.state import MutableState, RunStatus
from sim.kernel import SECOND
from sim.nodes.base import task_queue

from . import errors
from .frontend import Frontend, reply_error
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
                self._count(namespace, queue, sticky, dispatched=True)
                return query
        return None

    def _count(self, namespace: str, queue: str, sticky: bool, dispatched: bool) -> None:
        """A query task counts in its queue's add and dispatch rates as any task
        (DispatchQueryTask and PollTask, service/matching/physical_task_queue_manager.go);
        matching takes it on the root partition here."""
        kind = m.QueueKind.STICKY if sticky else m.QueueKind.NORMAL
        tq = task_queue(queue, m.TaskKind.WORKFLOW, kind, namespace)
        stats = self.fe.runtime.queue_stats
        (stats.dispatched if dispatched else stats.added)(tq, 0, self.fe.now())

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
        self._count(query.namespace, queue, sticky, dispatched=False)
        if self.fe.runtime.offer(query.namespace, queue, sticky, query):
            self._count(query.namespace, queue, sticky, dispatched=True)
        else:
            self.queued.setdefault((query.namespace, queue, sticky), deque()).append(query.id)


HISTORY_CALL_TIMEOUT = 30.0  # seconds: the history client's DefaultTimeout
QUERY_TIMED_OUT = "query timed out before a worker could process it"


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
    # The frontend's call to history has its own deadline, 30 s, whatever the caller's
    # (client/history/client.go DefaultTimeout); it passing ends the query as the
    # frontend words it (QueryWorkflow in service/frontend/workflow_handler.go).
    left = fe.time_left(context)
    if left is not None and left <= HISTORY_CALL_TIMEOUT:
        return await _dispatch(fe, context, req, run)
    try:
        return await asyncio.wait_for(_dispatch(fe, context, req, run), HISTORY_CALL_TIMEOUT)
    except TimeoutError:
        raise errors.deadline(QUERY_TIMED_OUT) from None


async def _dispatch(
    fe: Frontend, context: Context, req: ws.QueryWorkflowRequest, run: Any
) -> ws.QueryWorkflowResponse:
    """The query dispatched to a worker and its answer."""
    # Dispatch straight to a worker only once that is consistent: some workflow task
    # completed, and none is pending (its events came before the query). The real server
    # instead attaches the query to that pending task; the answer reflects the same state.
    while run.state.running and (
        not run.state.last_completed_wft_started_event_id or run.state.wft is not None
    ):
        if not await fe.runtime.waiters.change(run.state.run_id, fe.time_left(context)):
            raise errors.deadline(QUERY_TIMED_OUT)
    state = run.state
    answer = None
    sticky = bool(state.sticky_queue) and state.running
    if sticky and fe.runtime.has_poller(req.namespace, state.sticky_queue, True):
        # The sticky worker gets the run's sticky schedule-to-start timeout to answer;
        # past it the query goes to the normal queue (the caller's deadline permitting).
        bound = state.sticky_schedule_to_start_timeout / SECOND or None
        answer = await _ask(fe, context, req, state, state.sticky_queue, True, bound)
    if answer is None:
        if sticky:  # no worker on the sticky queue, or none answered: the run forgets it
            await _unstick(fe, context, req.namespace, run.workflow_id, state.run_id)
        # by version where the queue is in a Worker Deployment (deployments.py)
        queue = fe.deployments.query_queue(
            fe.runtime, req.namespace, run.workflow_id, state.run_id, state.task_queue
        )
        answer = await _ask(fe, context, req, state, queue, False, None)
        assert answer is not None  # with no bound of its own, only the deadline ends it
    if answer.completed_type == query_enums.QUERY_RESULT_TYPE_ANSWERED:
        out = ws.QueryWorkflowResponse()
        out.query_result.CopyFrom(answer.query_result)
        return out
    failure = answer.failure if answer.HasField("failure") else None
    raise errors.query_failed(answer.error_message, failure)


async def _ask(
    fe: Frontend,
    context: Context,
    req: ws.QueryWorkflowRequest,
    state: MutableState,
    queue: str,
    sticky: bool,
    bound: float | None,
) -> ws.RespondQueryTaskCompletedRequest | None:
    """Dispatch the query as a task on `queue` and wait for the worker's answer: None
    when `bound` seconds pass first (matching's QueryWorkflow times out on the context
    history gave it; an answer sent after that finds no task, as matching's
    deliverQueryResult says), the caller's deadline passing first raises."""
    queries: Queries = fe.queries
    future: asyncio.Future[ws.RespondQueryTaskCompletedRequest] = (
        asyncio.get_running_loop().create_future()
    )
    query = PendingQuery(
        next(queries.ids), req.namespace, state.workflow_id, state.run_id, req.query, future
    )
    queries.pending[query.id] = query
    left = fe.time_left(context)
    bounded = bound is not None and (left is None or bound < left)
    try:
        queries.enqueue(query, queue, sticky)
        return await asyncio.wait_for(asyncio.shield(future), bound if bounded else left)
    except TimeoutError:
        if bounded:
            return None
        raise errors.deadline(QUERY_TIMED_OUT) from None
    finally:
        queries.pending.pop(query.id, None)


async def _unstick(
    fe: Frontend, context: Context, namespace: str, workflow_id: str, run_id: str
) -> None:
    """A query the sticky queue could not take goes to the normal queue, and the run's
    stickiness is cleared first, so that its next workflow task goes there too: the
    server does so when matching answers StickyWorkerUnavailable or the sticky dispatch
    times out (service/history/api/queryworkflow/api.go, ResetStickyTaskQueue; a run
    that has closed meanwhile is no error)."""
    answer = await fe.reply(context, namespace, workflow_id, run_id, rq.ResetStickyTaskQueue())
    if isinstance(answer, rq.Error) and answer.kind is not rq.ErrorKind.WORKFLOW_COMPLETED:
        raise reply_error(answer, workflow_id)


async def respond_query_task_completed(
    fe: Frontend, req: ws.RespondQueryTaskCompletedRequest, context: Context
) -> ws.RespondQueryTaskCompletedResponse:
    fe.namespace(req.namespace)
    fe.queries.answer(req)
    return ws.RespondQueryTaskCompletedResponse()


__all__ = ["Queries"]
