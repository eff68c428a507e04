"""Starting and steering workflow executions: StartWorkflowExecution,
SignalWithStartWorkflowExecution, SignalWorkflowExecution,
RequestCancelWorkflowExecution, TerminateWorkflowExecution.

Each handler checks the request as `service/frontend/workflow_handler.go` does (its
error messages are the ones in `service/frontend/errors.go`), builds the core request
and sends it to the run's history service. The workflow id conflict policy, which
decides what a start does while a run is open, is applied here before the core's start
(`service/history/api/startworkflow/api.go`); the core applies request-id dedup and the
id reuse policy (what a start may do after a run closed).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import grpc
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import event_type_pb2 as event_enums
from temporalio.api.enums.v1 import reset_pb2 as reset_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core import requests as rq
from core.enums import ContinueAsNewInitiator, WorkflowIdReusePolicy
from core.opaque import JsonValue, Opaque
from core.statemachine.history.limits import DEFAULT_LIMITS
from core.statemachine.history.service import cron, enforce
from core.statemachine.history.service.cron import cron_backoff
from core.statemachine.history.service.execution import start_again, terminate_if_running
from core.statemachine.history.service.reset import reset_request
from sim.nodes.base import StartedWorkflowTask

from . import convert, errors, validate
from .frontend import Frontend, reply_error
from .poll_response import workflow_task_response
from .retention import remove_run
from .rpc_deployments import post_reset_update

Context = grpc.aio.ServicerContext[Any, Any]
SECOND = 1_000_000_000
MAX_ID_LENGTH = 1000  # limit.maxIDLength

_REUSE = {
    wf_enums.WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    wf_enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    wf_enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY: (
        WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
    ),
    wf_enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    wf_enums.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING: (
        WorkflowIdReusePolicy.TERMINATE_IF_RUNNING
    ),
}


def _check_id(name: str, value: str) -> None:
    if len(value) > MAX_ID_LENGTH:
        raise errors.invalid(
            f"{name} exceeds maximum allowed length ({len(value)}/{MAX_ID_LENGTH})"
        )


def start_request(fe: Frontend, req: Any, run_id: str) -> rq.StartWorkflowExecution:
    """The core start for a Start or SignalWithStart request (validated here)."""
    fe.namespace(req.namespace)
    if not req.workflow_id:
        raise errors.invalid("WorkflowId is not set on request.")
    _check_id("WorkflowId", req.workflow_id)
    now = fe.now()
    if hasattr(req, "signal_name"):  # SignalWithStart: ValidateSignalWithStartRequest's order
        _check_cron(req, now)
        validate.signal_with_start(req)
    else:  # prepareStartWorkflowRequest's order
        validate.start(req)
        _check_cron(req, now)
        validate.start_rest(req)
    if not req.request_id:
        raise errors.invalid("RequestId is not set on request.")
    search_attributes = typed_search_attributes(fe, req.namespace, req)  # checked once
    validate.priority(req)
    delay = convert.nanos(req.workflow_start_delay) if req.HasField("workflow_start_delay") else 0
    initiator = ContinueAsNewInitiator.UNSPECIFIED
    if req.cron_schedule:
        # A cron run's first task waits for the schedule's first time after now, and its
        # Started event names the cron schedule as initiator
        # (`CreateHistoryStartWorkflowRequest`, common/util.go).
        delay = cron_backoff(req.cron_schedule, now, now) or 0
        initiator = ContinueAsNewInitiator.CRON_SCHEDULE
    return rq.StartWorkflowExecution(
        namespace=req.namespace,
        workflow_id=req.workflow_id,
        run_id=run_id,
        workflow_type=req.workflow_type.name,
        task_queue=req.task_queue.name,
        request_id=req.request_id,
        input=convert.opaque(req, "input"),
        workflow_task_timeout=convert.nanos(req.workflow_task_timeout),
        run_timeout=convert.nanos(req.workflow_run_timeout),
        execution_timeout=convert.nanos(req.workflow_execution_timeout),
        # a timeout the client sent, zero included, is written as sent (the Go SDK sends
        # 0s for both); one it left unset is not (event_factory.go copies the Duration)
        explicit_run_timeout=req.HasField("workflow_run_timeout"),
        explicit_execution_timeout=req.HasField("workflow_execution_timeout"),
        identity=req.identity,
        first_workflow_task_backoff=delay,
        cron_schedule=req.cron_schedule,
        initiator=initiator,
        retry_policy=convert.opaque(req, "retry_policy"),
        id_reuse_policy=_REUSE.get(
            req.workflow_id_reuse_policy, WorkflowIdReusePolicy.ALLOW_DUPLICATE
        ),
        header=convert.opaque(req, "header"),
        memo=convert.opaque(req, "memo"),
        search_attributes=search_attributes,
        user_metadata=convert.opaque(req, "user_metadata"),
        priority=convert.opaque(req, "priority"),
        namespace_id=fe.namespace(req.namespace).id,
        retention=fe.namespace(req.namespace).retention_ns,
        completion_callbacks=_callbacks(req),
        versioning=_versioning(req),
        links=_links(req.links, getattr(req, "completion_callbacks", ())),
    )


def _versioning(req: Any) -> rq.StartVersioning | None:
    """The client's versioning override, which the Started event keeps (deployments.py
    routes the run by it)."""
    override = convert.opaque(req, "versioning_override")
    return rq.StartVersioning(versioning_override=override) if override is not None else None


def _links(links: Any, callbacks: Any = ()) -> Opaque | None:
    """A request's links as an event's, less those a Nexus callback of the request carries
    already (`dedupLinksFromCallbacks` in service/frontend/workflow_handler.go)."""
    carried = [link for c in callbacks if c.HasField("nexus") for link in c.links]
    kept: list[JsonValue] = [convert.to_json(link) for link in links if link not in carried]
    return Opaque.of(kept) if kept else None


def _callbacks(req: Any) -> Opaque | None:
    """The start's completion callbacks, kept as given (a Nexus operation's handler
    starts its workflow with the caller's; nexus_callbacks.py delivers them)."""
    given = list(getattr(req, "completion_callbacks", ()))
    return Opaque.of([convert.to_json(c) for c in given]) if given else None


def _check_cron(req: Any, now: int) -> None:
    """The frontend's checks of a cron schedule (`ValidateWorkflowStartDelay` in
    chasm/lib/workflow/validator.go, `backoff.ValidateSchedule` in common/backoff/cron.go)."""
    if not req.cron_schedule:
        return
    if req.HasField("workflow_start_delay"):
        raise errors.invalid("CronSchedule and WorkflowStartDelay may not be used together.")
    if not cron.parses(req.cron_schedule):
        raise errors.invalid("invalid CronSchedule.")
    if cron.next_time(req.cron_schedule, now) is None:
        raise errors.invalid("invalid CronSchedule, no time can be found to satisfy the schedule")


def check_search_attributes(fe: Frontend, namespace: str, req: Any) -> None:
    """Every search attribute set must be defined in the namespace."""
    if req.HasField("search_attributes"):
        set_types(fe, namespace, req.search_attributes)


def set_types(fe: Frontend, namespace: str, attributes: Any) -> None:
    """Check every attribute is defined and mark each payload with its type, as the
    server does before it stores them (`common/searchattribute` ValidateAndSetType;
    a null value too)."""
    known = fe.search_attribute_types(namespace)
    for name, payload in attributes.indexed_fields.items():
        kind = known.get(name)
        if name in validate.UNSETTABLE:
            validate.search_attribute(name, kind or "KEYWORD", payload)
        if kind is None:
            raise errors.invalid(_undefined(namespace, name))
        validate.search_attribute(name, kind, payload)
        if "type" not in payload.metadata:
            payload.metadata["type"] = validate.TYPE_NAMES[kind].encode()


def _undefined(namespace: str, name: str) -> str:
    # the dev server's SQL visibility maps aliases to fields (namespace.go)
    return f"Namespace {namespace} has no mapping defined for search attribute {name}"


def undefined_attribute(fe: Frontend, namespace: str, attributes: Any) -> str | None:
    """The error for the first attribute the namespace does not define, if any."""
    known = fe.search_attribute_types(namespace)
    for name in attributes.indexed_fields:
        if name not in known:
            return _undefined(namespace, name)
    return None


def typed_search_attributes(fe: Frontend, namespace: str, req: Any) -> Opaque | None:
    if not req.HasField("search_attributes"):
        return None
    set_types(fe, namespace, req.search_attributes)
    return convert.opaque(req, "search_attributes")


async def _resolve_conflict(
    fe: Frontend, context: Context, req: Any, new_run_id: str
) -> str | None:
    """Apply the id conflict policy to a running run; the run id to answer with when the
    start must not start anything (USE_EXISTING), else None."""
    state = fe.runtime.state(req.namespace, req.workflow_id)
    if state is None or not state.running or state.start_request_id == req.request_id:
        return None
    policy = req.workflow_id_conflict_policy
    if (
        policy == wf_enums.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED
        and req.workflow_id_reuse_policy == wf_enums.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
    ):
        policy = wf_enums.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
    if policy == wf_enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING:
        return state.run_id
    if policy == wf_enums.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING:
        stop = terminate_if_running(new_run_id)
        await fe.call(context, req.namespace, req.workflow_id, state.run_id, stop)
        return None
    raise _already_started(fe, req.namespace, req.workflow_id, "", req.workflow_id_reuse_policy)


# The messages of a start refused while a run is open, or by the id reuse policy after
# it closed (`service/history/api/create_workflow_util.go`).
RUNNING = "Workflow execution is already running. WorkflowId: {}, RunId: {}."
REFUSED_BY_POLICY: dict[int, str] = {
    wf_enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE: "Workflow execution already "
    "finished. WorkflowId: {}, RunId: {}. Workflow Id reuse policy: reject duplicate "
    "workflow Id.",
    wf_enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY: "Workflow execution "
    "already finished successfully. WorkflowId: {}, RunId: {}. Workflow Id reuse policy: "
    "allow duplicate workflow Id if last run failed.",
}


def _already_started(
    fe: Frontend, namespace: str, workflow_id: str, message: str, reuse_policy: int
) -> Exception:
    state = fe.runtime.state(namespace, workflow_id)
    if state is None:
        return errors.invalid(message)
    template = RUNNING if state.running else REFUSED_BY_POLICY.get(reuse_policy)
    if template is not None:
        message = template.format(workflow_id, state.run_id)
    first_run_id = state.first_run_id or state.run_id
    return errors.already_started(message, state.start_request_id, state.run_id, first_run_id)


async def start_workflow_execution(
    fe: Frontend, req: ws.StartWorkflowExecutionRequest, context: Context
) -> ws.StartWorkflowExecutionResponse:
    start = start_request(fe, req, fe.new_id())
    # An eager start is declined when the first task waits (cron, start delay): the
    # core writes no WorkflowTaskStarted then (Starter.prepare, startworkflow/api.go).
    start = dataclasses.replace(start, request_eager_execution=req.request_eager_execution)
    existing = await _resolve_conflict(fe, context, req, start.run_id)
    if existing is not None:
        out = ws.StartWorkflowExecutionResponse(
            run_id=existing,
            first_execution_run_id=_first_run_id(fe, req.namespace, req.workflow_id, existing),
            started=False,
            status=wf_enums.WORKFLOW_EXECUTION_STATUS_RUNNING,
        )
        out.link.CopyFrom(await _use_existing(fe, context, req, start, existing))
        return out
    try:
        await fe.call(context, req.namespace, req.workflow_id, "", start)
    except errors.ServiceError as exc:
        if exc.code is grpc.StatusCode.ALREADY_EXISTS:
            raise _already_started(
                fe, req.namespace, req.workflow_id, exc.message, req.workflow_id_reuse_policy
            ) from None
        raise
    run_id = fe.runtime.current_run_id(req.namespace, req.workflow_id) or start.run_id
    out = ws.StartWorkflowExecutionResponse(
        run_id=run_id,
        first_execution_run_id=_first_run_id(fe, req.namespace, req.workflow_id, run_id),
        started=True,
        status=wf_enums.WORKFLOW_EXECUTION_STATUS_RUNNING,
    )
    # a link to the new run's first event (generateStartedEventRefLink,
    # service/history/api/startworkflow/api.go), which a Nexus handler passes on
    event = out.link.workflow_event
    event.namespace, event.workflow_id, event.run_id = req.namespace, req.workflow_id, run_id
    event.event_ref.event_id = 1
    event.event_ref.event_type = event_enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    if req.request_eager_execution:
        eager = _eager_task(fe, req.namespace, req.workflow_id, run_id)
        if eager is not None:
            out.eager_workflow_task.CopyFrom(eager)
    return out


async def _use_existing(
    fe: Frontend, context: Context, req: Any, start: rq.StartWorkflowExecution, run_id: str
) -> common_pb.Link:
    """A start that met the running `run_id` under USE_EXISTING: attach what its
    OnConflictOptions ask to the run (core attach.py), and answer with a link to the
    run's Started event, or to the event that attached the request id
    (`handleUseExistingWorkflowOnConflictOptions`, service/history/api/startworkflow/api.go)."""
    link = common_pb.Link()
    event = link.workflow_event
    event.namespace, event.workflow_id, event.run_id = req.namespace, req.workflow_id, run_id
    event.event_ref.event_id = 1
    event.event_ref.event_type = event_enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    if not req.HasField("on_conflict_options"):
        return link
    options = req.on_conflict_options
    attach = rq.AttachToRun(
        request_id=req.request_id if options.attach_request_id else "",
        completion_callbacks=start.completion_callbacks
        if options.attach_completion_callbacks
        else None,
        links=start.links if options.attach_links else None,  # (deduplicated as the start's)
    )
    await fe.call(context, req.namespace, req.workflow_id, run_id, attach)
    if options.attach_request_id:
        event.request_id_ref.request_id = req.request_id
        event.request_id_ref.event_type = event_enums.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED
    return link


def _eager_task(
    fe: Frontend, namespace: str, workflow_id: str, run_id: str
) -> ws.PollWorkflowTaskQueueResponse | None:
    """The first workflow task, started by the start itself, as the poll response the
    starter gets in the start's reply (`generateResponse` in startworkflow/api.go); None
    when there is none to hand over: the start was declined eager, or (a retried start)
    the task is no longer the first attempt of the first task (`respondToRetriedRequest`)."""
    record = fe.runtime.record(namespace, workflow_id, run_id)
    if record is None or not record.events:
        return None
    wft = record.state.wft
    if wft is None or not wft.started or wft.started_event_id != 3 or wft.attempt != 1:
        return None
    task = StartedWorkflowTask(
        workflow_id,
        run_id,
        record.state.workflow_type,
        rq.WorkflowTaskStarted(
            rq.WorkflowTaskToken(wft.scheduled_event_id, wft.started_event_id, wft.attempt),
            previous_started_event_id=0,
            next_event_id=wft.started_event_id + 1,
        ),
        tuple(e for e in record.events if e.event_id <= wft.started_event_id),
        (),
    )
    return workflow_task_response(fe, namespace, task)


def signal_request(
    fe: Frontend, namespace: str, req: Any, input_field: str
) -> rq.SignalWorkflowExecution:
    fe.namespace(namespace)
    if not req.signal_name:
        raise errors.invalid("SignalName is not set on request.")
    return rq.SignalWorkflowExecution(
        req.signal_name,
        request_id=req.request_id,
        input=convert.opaque(req, input_field),
        identity=req.identity,
        header=convert.opaque(req, "header"),
        links=_links(req.links),
    )


def _signal_link(namespace: str, workflow_id: str, run_id: str, request_id: str) -> Any:
    """The link a signal answers with: its Signaled event by the request id
    (`GenerateRequestIDRefLink` in service/history/api/link_util.go)."""
    link = common_pb.Link()
    event = link.workflow_event
    event.namespace, event.workflow_id, event.run_id = namespace, workflow_id, run_id
    event.request_id_ref.request_id = request_id
    event.request_id_ref.event_type = event_enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    return link


def _check_reuse(
    fe: Frontend, req: ws.SignalWithStartWorkflowExecutionRequest, start: rq.StartWorkflowExecution
) -> None:
    """A signal-with-start that finds the workflow's current run closed starts a new run
    only as the id reuse policy allows, as a start does (createWorkflowMutationFunction
    in service/history/api/signalwithstartworkflow/signal_with_start_workflow.go, by
    api.ResolveDuplicateWorkflowID): REJECT_DUPLICATE never, ALLOW_DUPLICATE_FAILED_ONLY
    only after a failed, canceled, terminated or timed-out run; refused, it is the
    start's WorkflowExecutionAlreadyStarted. (Checked here, before the history service
    is asked, as the run a closed current run is can change only by a start.)"""
    if req.workflow_id_reuse_policy not in REFUSED_BY_POLICY:
        return
    state = fe.runtime.state(req.namespace, req.workflow_id)
    if state is None or state.running:
        return
    verdict = start_again(state, start, fe.now())
    if isinstance(verdict.reply, rq.Error):
        message = verdict.reply.message
        policy = req.workflow_id_reuse_policy
        raise _already_started(fe, req.namespace, req.workflow_id, message, policy)


async def signal_with_start_workflow_execution(
    fe: Frontend, req: ws.SignalWithStartWorkflowExecutionRequest, context: Context
) -> ws.SignalWithStartWorkflowExecutionResponse:
    start = start_request(fe, req, fe.new_id())
    if not req.signal_name:
        raise errors.invalid("signal not set")  # measured on the dev server
    signal = signal_request(fe, req.namespace, req, "signal_input")
    _check_reuse(fe, req, start)
    before = fe.runtime.current_run_id(req.namespace, req.workflow_id)
    if req.workflow_id_conflict_policy == wf_enums.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING:
        await _resolve_conflict(fe, context, req, start.run_id)
    await fe.call(
        context,
        req.namespace,
        req.workflow_id,
        "",
        rq.SignalWithStartWorkflowExecution(start, signal),
    )
    run_id = fe.runtime.current_run_id(req.namespace, req.workflow_id) or start.run_id
    link = _signal_link(req.namespace, req.workflow_id, run_id, req.request_id)
    return ws.SignalWithStartWorkflowExecutionResponse(
        run_id=run_id,
        first_execution_run_id=_first_run_id(fe, req.namespace, req.workflow_id, run_id),
        started=run_id != before,
        signal_link=link,
    )


def _first_run_id(fe: Frontend, namespace: str, workflow_id: str, run_id: str) -> str:
    """The first run of `run_id`'s chain (continue-as-new, retries, cron), which a start's
    and a signal-with-start's response carry (`FirstExecutionRunId`,
    service/history/api/startworkflow/api.go and signalwithstartworkflow/
    signal_with_start_workflow.go): a new run heads its own chain."""
    state = fe.runtime.state(namespace, workflow_id)
    if state is None or state.run_id != run_id:
        return run_id
    return state.first_run_id or run_id


async def signal_workflow_execution(
    fe: Frontend, req: ws.SignalWorkflowExecutionRequest, context: Context
) -> ws.SignalWorkflowExecutionResponse:
    fe.namespace(req.namespace)  # the namespace interceptor's check comes first
    validate.execution(req, "workflow_execution")
    validate.signal(req)
    signal = signal_request(fe, req.namespace, req, "input")
    # The frontend checks the signal's size before it looks the run up
    # (workflow_handler.go SignalWorkflowExecution); the check is the history service's.
    admitted = enforce.admit(signal, DEFAULT_LIMITS)
    if isinstance(admitted, rq.Error):
        raise reply_error(admitted)
    execution = req.workflow_execution
    fe.run(req.namespace, execution.workflow_id, execution.run_id)
    await fe.call(context, req.namespace, execution.workflow_id, execution.run_id, signal)
    run_id = execution.run_id or fe.runtime.current_run_id(req.namespace, execution.workflow_id)
    link = _signal_link(req.namespace, execution.workflow_id, run_id or "", req.request_id)
    return ws.SignalWorkflowExecutionResponse(link=link)


def _check_first_run(fe: Frontend, req: Any) -> None:
    execution = req.workflow_execution
    state = fe.state(req.namespace, execution.workflow_id, execution.run_id)
    if req.first_execution_run_id and state.first_run_id != req.first_execution_run_id:
        raise errors.not_found(
            "workflow execution not found"
        )  # consts.ErrWorkflowExecutionNotFound


async def request_cancel_workflow_execution(
    fe: Frontend, req: ws.RequestCancelWorkflowExecutionRequest, context: Context
) -> ws.RequestCancelWorkflowExecutionResponse:
    fe.namespace(req.namespace)
    execution = req.workflow_execution
    if not fe.state(req.namespace, execution.workflow_id, execution.run_id).running:
        # "a success even if the target workflow has already finished"
        # (service/history/api/requestcancelworkflow/api.go)
        return ws.RequestCancelWorkflowExecutionResponse()
    _check_first_run(fe, req)
    cancel = rq.RequestCancelWorkflowExecution(
        req.request_id, req.reason, req.identity, links=_links(req.links)
    )
    await fe.call(context, req.namespace, execution.workflow_id, execution.run_id, cancel)
    return ws.RequestCancelWorkflowExecutionResponse()


async def terminate_workflow_execution(
    fe: Frontend, req: ws.TerminateWorkflowExecutionRequest, context: Context
) -> ws.TerminateWorkflowExecutionResponse:
    fe.namespace(req.namespace)
    _check_first_run(fe, req)
    execution = req.workflow_execution
    # a user's terminate says who it was when it does not (workflow_handler.go,
    # defaultUserTerminateReason and defaultUserTerminateIdentity)
    reason = req.reason or "terminated by user via frontend"
    identity = req.identity or "frontend-service"
    details = convert.opaque(req, "details")
    stop = rq.TerminateWorkflowExecution(reason, identity, details, _links(req.links))
    await fe.call(context, req.namespace, execution.workflow_id, execution.run_id, stop)
    return ws.TerminateWorkflowExecutionResponse()


async def delete_workflow_execution(
    fe: Frontend, req: ws.DeleteWorkflowExecutionRequest, context: Context
) -> ws.DeleteWorkflowExecutionResponse:
    """Delete a run (`DeleteWorkflowExecution` in workflow_handler.go, then
    service/history/api/deleteworkflow/api.go): a running one is terminated first, by
    the history service ("Delete workflow execution"), and deleted once closed; a
    closed one is deleted whatever its retention."""
    fe.namespace(req.namespace)
    execution = validate.execution(req, "workflow_execution")
    run = fe.run(req.namespace, execution.workflow_id, execution.run_id)
    if run.state.running:
        stop = rq.TerminateWorkflowExecution(
            "Delete workflow execution", "history-service"
        )  # consts.IdentityHistoryService
        await fe.call(context, req.namespace, execution.workflow_id, run.state.run_id, stop)
    record = fe.runtime.persistence.runs.get(run.state.run_id)
    if record is not None:
        remove_run(fe.runtime, record)
    return ws.DeleteWorkflowExecutionResponse()


async def reset_workflow_execution(
    fe: Frontend, req: ws.ResetWorkflowExecutionRequest, context: Context
) -> ws.ResetWorkflowExecutionResponse:
    """A new run replaying the base run's history up to a workflow task, with what came
    after it reapplied (the core's reset, `service/history/api/resetworkflow/api.go`)."""
    fe.namespace(req.namespace)
    execution = req.workflow_execution
    if not req.request_id:
        raise errors.invalid("RequestId is not set on request.")
    if len(req.request_id) > validate.MAX_ID_LENGTH:
        raise errors.invalid("RequestId length exceeds limit.")
    validate.execution(req, "workflow_execution")
    if req.reset_reapply_type not in reset_enums.ResetReapplyType.values():
        # the handler's InternalError, masked by the frontend
        raise errors.masked(
            f"unknown reset reapply type: {req.reset_reapply_type}", grpc.StatusCode.INTERNAL
        )
    fe.run(req.namespace, execution.workflow_id, execution.run_id)
    post = tuple(post_reset_update(op) for op in req.post_reset_operations)
    reset = reset_request(
        req.reason,
        req.workflow_task_finish_event_id,
        req.request_id,
        req.reset_reapply_type,
        req.reset_reapply_exclude_types,
        req.identity,
    )
    reset = dataclasses.replace(reset, post_reset_options=post)
    answer = await fe.call(context, req.namespace, execution.workflow_id, execution.run_id, reset)
    if not isinstance(answer, rq.WorkflowReset):
        raise errors.ServiceError(grpc.StatusCode.INTERNAL, "reset answered without a run")
    return ws.ResetWorkflowExecutionResponse(run_id=answer.run_id)
