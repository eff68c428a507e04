"""Workers' calls: PollWorkflowTaskQueue, RespondWorkflowTaskCompleted/Failed,
PollActivityTaskQueue, RespondActivityTaskCompleted/Failed/Canceled and their ById
forms, RecordActivityTaskHeartbeat(ById), ResetStickyTaskQueue.

A poll is a long poll on a matching host; the task matching delivers was recorded
started by history (Record*TaskStarted), whose answer carries the history and token.
A workflow task from a sticky queue carries only the events after the worker's last
completed task (the worker holds the rest in its cache), one from a normal queue the
whole history (`service/history/api/recordworkflowtaskstarted`). Responses become the
core's requests; the history service validates them (stale tokens are NotFound).

A completion's activities that history started eagerly (core eager_activity.py) come
back in RespondWorkflowTaskCompletedResponse.activity_tasks, each as a poll of it would
have answered it. A completion that makes the next workflow task hands it back inline in
its `workflow_task` when the worker asks (`return_new_workflow_task`, which every current
SDK sets): history started it in the same transaction (core inline_task.py) and it is
built as a sticky poll's task is (poll_response.py), so the worker need not poll for it.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.enums.v1.deployment_pb2 import WORKER_VERSIONING_MODE_VERSIONED
from temporalio.api.update.v1 import message_pb2 as update_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core import requests as rq
from core.enums import CommandType, VersioningBehavior, WorkflowTaskFailedCause
from core.errors import BadInput
from core.opaque import Opaque
from core.statemachine import matching as m
from sim.nodes.base import InlineWorkflowTask, StartedActivityTask, StartedWorkflowTask

from . import convert, errors, validate
from .activity_tasks import activity_task_response, eager_activity_tasks
from .deployments import physical_queue, versioned
from .frontend import Frontend
from .limits import poller_note
from .poll_response import workflow_task_response
from .queue_stats import task_kind
from .rpc_interact import complete_noting_updates
from .standalone import Dispatched
from .standalone_rpc import worker_call
from .task_search_attributes import fail_for_search_attributes, type_command_attributes
from .tokens import TaskToken, decode_server_token, decode_task_token

Context = grpc.aio.ServicerContext[Any, Any]
ACTIVITY_GONE = "invalid activityID or activity already timed out or invoking workflow is completed"
KNOWN_COMMANDS = frozenset(kind.value for kind in CommandType if kind.value)  # not UNSPECIFIED


def _build_id(req: Any) -> Opaque | None:
    """The poller's build id as the WorkerVersionStamp history records with the task."""
    build_id = req.worker_version_capabilities.build_id
    return Opaque.of({"buildId": build_id}) if build_id else None


def _note_poller(fe: Frontend, req: Any, task_type: int) -> None:
    """Remember the poll for DescribeTaskQueue (limits.PollerNote)."""
    note = poller_note(req, fe.now())
    fe.pollers.note((req.namespace, req.task_queue.name, task_type), req.identity, note)
    kind = task_kind(task_type)
    fe.runtime.queue_stats.polled(req.namespace, req.task_queue.name, kind, note.time)


def _polled_queue(fe: Frontend, req: Any, task_type: int) -> str:
    """The queue a poll waits on: a versioned poller's version's own queue, after it
    registers its version (deployments.py)."""
    version = versioned(req)
    if version is None or req.task_queue.kind == tq_enums.TASK_QUEUE_KIND_STICKY:
        return str(req.task_queue.name)
    fe.deployments.note_poller(req.namespace, version, req.task_queue.name, task_type)
    return physical_queue(req.task_queue.name, version)


# -- workflow tasks --------------------------------------------------------------------


async def poll_workflow_task_queue(
    fe: Frontend, req: ws.PollWorkflowTaskQueueRequest, context: Context
) -> ws.PollWorkflowTaskQueueResponse:
    fe.namespace(req.namespace)  # the namespace interceptor's check comes first
    validate.poll(req, identity_first=True)
    sticky = req.task_queue.kind == tq_enums.TASK_QUEUE_KIND_STICKY
    _note_poller(fe, req, 1)
    queue = _polled_queue(fe, req, 1)
    query = fe.queries.take(req.namespace, queue, sticky)
    if query is not None:
        response: ws.PollWorkflowTaskQueueResponse = fe.queries.task(query)
        return response
    answer = await fe.runtime.poll(
        req.namespace,
        queue,
        m.TaskKind.WORKFLOW,
        sticky,
        fe.deadline(context),
        req.identity,
        _build_id(req),
    )
    if answer is None:
        return ws.PollWorkflowTaskQueueResponse()
    if isinstance(answer, StartedWorkflowTask):
        return workflow_task_response(fe, req.namespace, answer)
    query_task: ws.PollWorkflowTaskQueueResponse = fe.queries.task(answer)
    return query_task


def _workflow_token(fe: Frontend, data: bytes, namespace: str) -> TaskToken:
    token = decode_task_token(data)
    if token.kind != "workflow":
        raise errors.invalid("Error deserializing task token.")
    fe.namespace(token.namespace)
    return token


def update_messages(messages: Any) -> tuple[rq.UpdateMessage, ...]:
    """A completion's protocol messages as the core's update messages."""
    out: list[rq.UpdateMessage] = []
    for message in messages:
        body = message.body
        sequencing, meta = 0, None
        if body.Is(update_pb.Acceptance.DESCRIPTOR):
            acceptance = update_pb.Acceptance()
            body.Unpack(acceptance)
            kind, outcome = rq.UpdateMessageKind.ACCEPT, None
            sequencing = acceptance.accepted_request_sequencing_event_id
        elif body.Is(update_pb.Rejection.DESCRIPTOR):
            rejection = update_pb.Rejection()
            body.Unpack(rejection)
            kind, outcome = rq.UpdateMessageKind.REJECT, convert.opaque(rejection, "failure")
        elif body.Is(update_pb.Response.DESCRIPTOR):
            response = update_pb.Response()
            body.Unpack(response)
            kind, outcome = rq.UpdateMessageKind.RESPOND, convert.opaque(response, "outcome")
            meta = convert.opaque(response, "meta")  # written on UpdateCompleted as sent
        else:
            raise errors.invalid(f"unknown protocol message body {body.type_url}")
        out.append(
            rq.UpdateMessage(
                message.id, message.protocol_instance_id, kind, outcome, sequencing, meta
            )
        )
    return tuple(out)


def worker_of(
    req: ws.RespondWorkflowTaskCompletedRequest,
) -> tuple[str, rq.WorkerDeploymentOptions | None, VersioningBehavior]:
    """What a completion says of its worker for the WorkflowTaskCompleted event: the
    binary checksum (deprecated; older SDKs send it), the Worker Deployment options and
    the workflow's versioning behavior (the core applies the server's rules to them)."""
    options = None
    if req.HasField("deployment_options"):
        given = req.deployment_options
        options = rq.WorkerDeploymentOptions(
            given.deployment_name,
            given.build_id,
            given.worker_versioning_mode == WORKER_VERSIONING_MODE_VERSIONED,
        )
    return req.binary_checksum, options, VersioningBehavior(req.versioning_behavior)


def _nexus_endpoints(
    fe: Frontend, req: ws.RespondWorkflowTaskCompletedRequest
) -> tuple[tuple[str, str], ...]:
    """The registered endpoints the Nexus commands name, with their ids (the history
    service looks each up in the endpoint registry, commands.go)."""
    names = {
        c.schedule_nexus_operation_command_attributes.endpoint
        for c in req.commands
        if c.HasField("schedule_nexus_operation_command_attributes")
    }
    registry = fe.nexus_endpoints
    if not names or registry is None:
        return ()
    found = (registry.named(name) for name in sorted(names))
    return tuple((e.spec.name, e.id) for e in found if e is not None)


async def respond_workflow_task_completed(
    fe: Frontend, req: ws.RespondWorkflowTaskCompletedRequest, context: Context
) -> ws.RespondWorkflowTaskCompletedResponse:
    if len(req.identity) > validate.MAX_ID_LENGTH:  # workflow_handler.go errIdentityTooLong
        raise errors.invalid("Identity length exceeds limit.")
    token = _workflow_token(fe, req.task_token, req.namespace)
    undefined = type_command_attributes(fe, token.namespace, req.commands)
    if undefined is not None:
        await fail_for_search_attributes(fe, token, req.identity, undefined, context)
    for command in req.commands:  # as history answers it (workflow_task_completed_handler.go)
        if command.command_type not in KNOWN_COMMANDS:
            raise errors.invalid(f"Unknown command type: {command.command_type}")
    try:
        commands = convert.commands_of(req.commands)
    except BadInput as exc:
        raise errors.invalid(str(exc)) from None
    messages = update_messages(req.messages)
    sticky = req.sticky_attributes
    worker_version = (
        convert.opaque(req, "worker_version_stamp")
        if req.HasField("worker_version_stamp")
        else None
    )
    checksum, deployment, behavior = worker_of(req)
    core_request = rq.RespondWorkflowTaskCompleted(
        rq.WorkflowTaskToken(token.scheduled_event_id, token.started_event_id, token.attempt),
        commands,
        identity=req.identity,
        sticky_queue=sticky.worker_task_queue.name,
        sticky_schedule_to_start_timeout=convert.nanos(sticky.schedule_to_start_timeout),
        force_create_new_workflow_task=req.force_create_new_workflow_task,
        return_new_workflow_task=req.return_new_workflow_task,
        messages=messages,
        sdk_metadata=convert.opaque(req, "sdk_metadata"),
        metering_metadata=convert.opaque(req, "metering_metadata"),
        worker_version=worker_version,
        binary_checksum=checksum,
        deployment_options=deployment,
        versioning_behavior=behavior,
        nexus_endpoints=_nexus_endpoints(fe, req),
    )
    answer = await complete_noting_updates(fe, context, token, req.messages, core_request)
    out = ws.RespondWorkflowTaskCompletedResponse()
    if isinstance(answer, InlineWorkflowTask):  # the next task, started for this worker
        out.workflow_task.CopyFrom(workflow_task_response(fe, token.namespace, answer.task))
        answer = answer.reply
    if isinstance(answer, rq.TaskDiscarded):
        out.reset_history_event_id = answer.reset_history_event_id
    if isinstance(answer, rq.WorkflowTaskCompletedOk):
        out.activity_tasks.extend(eager_activity_tasks(fe, token, answer))
    return out


async def respond_workflow_task_failed(
    fe: Frontend, req: ws.RespondWorkflowTaskFailedRequest, context: Context
) -> ws.RespondWorkflowTaskFailedResponse:
    token = _workflow_token(fe, req.task_token, req.namespace)
    try:
        cause = WorkflowTaskFailedCause(req.cause)
    except ValueError:
        cause = WorkflowTaskFailedCause.WORKFLOW_WORKER_UNHANDLED_FAILURE
    failed = rq.RespondWorkflowTaskFailed(
        rq.WorkflowTaskToken(token.scheduled_event_id, token.started_event_id, token.attempt),
        cause,
        convert.opaque(req, "failure"),
        req.identity,
        req.binary_checksum,  # deprecated, sent by older SDKs; WorkflowTaskFailed keeps it
    )
    await fe.call(context, token.namespace, token.workflow_id, token.run_id, failed)
    return ws.RespondWorkflowTaskFailedResponse()


async def reset_sticky_task_queue(
    fe: Frontend, req: ws.ResetStickyTaskQueueRequest, context: Context
) -> ws.ResetStickyTaskQueueResponse:
    """The run's next workflow tasks go to its normal queue, for a worker that left its
    sticky queue (workflow_handler.go ResetStickyTaskQueue, then
    service/history/api/resetstickytaskqueue/api.go)."""
    execution = req.execution if req.HasField("execution") else None
    if execution is None:
        raise errors.invalid("Execution is not set on request.")  # validateExecution
    if not execution.workflow_id:
        raise errors.invalid("WorkflowId is not set on request.")
    if execution.run_id:
        try:
            uuid.UUID(execution.run_id)
        except ValueError:
            raise errors.invalid("Invalid RunId.") from None
    fe.namespace(req.namespace)
    fe.run(req.namespace, execution.workflow_id, execution.run_id)
    reset = rq.ResetStickyTaskQueue()
    await fe.call(context, req.namespace, execution.workflow_id, execution.run_id, reset)
    return ws.ResetStickyTaskQueueResponse()


# -- activity tasks --------------------------------------------------------------------


async def poll_activity_task_queue(
    fe: Frontend, req: ws.PollActivityTaskQueueRequest, context: Context
) -> ws.PollActivityTaskQueueResponse:
    fe.namespace(req.namespace)  # the namespace interceptor's check comes first
    validate.poll(req, identity_first=False)
    _note_poller(fe, req, 2)
    standalone = fe.standalone  # a standalone attempt waiting goes first (standalone.py)
    waiting = standalone.take(req.namespace, req.task_queue.name) if standalone else None
    if waiting is not None and standalone is not None:
        task = standalone.task(waiting, req.identity)
        if task is not None:
            return task
    answer = await fe.runtime.poll(
        req.namespace,
        _polled_queue(fe, req, 2),
        m.TaskKind.ACTIVITY,
        False,
        fe.deadline(context),
        req.identity,
        _build_id(req),
    )
    if isinstance(answer, Dispatched) and standalone is not None:
        return standalone.task(answer, req.identity) or ws.PollActivityTaskQueueResponse()
    if not isinstance(answer, StartedActivityTask):
        return ws.PollActivityTaskQueueResponse()
    return activity_task_response(fe, req.namespace, answer)


def _activity_token(fe: Frontend, data: bytes) -> TaskToken:
    token = decode_server_token(data, {ns.id: name for name, ns in fe.namespaces.items()})
    if token.kind == "workflow":
        # The server has one task token for both kinds of task: a workflow task's names
        # the run, and the activity named by its scheduled event id is looked for there
        # (service/history/api/respondactivitytaskcompleted/api.go and the rest).
        return dataclasses.replace(token, kind="activity")
    if token.kind != "activity":
        raise errors.invalid("Error deserializing task token.")
    return token


def _by_id(fe: Frontend, req: Any) -> TaskToken:
    """The token of a running activity named by workflow id, run id and activity id."""
    fe.namespace(req.namespace)
    if not req.activity_id:
        raise errors.invalid("ActivityId is not set on request.")
    if not req.workflow_id:  # a standalone activity, named by id: no attempt (attempt 0)
        return TaskToken("activity", req.namespace, "", req.run_id, activity_id=req.activity_id)
    # the history service's cache refuses a run id that is no UUID (cache.go)
    validate.run_id(req.run_id, "RunId is not valid UUID.")
    state = fe.state(req.namespace, req.workflow_id, req.run_id)
    if not state.running:
        raise errors.not_found("workflow execution already completed")
    info = next((a for a in state.activities if a.activity_id == req.activity_id), None)
    if info is None:  # as the dev server answers it
        raise errors.not_found(
            f"cannot find pending activity with ActivityID {req.activity_id}, "
            "check workflow execution history for more details"
        )
    return TaskToken(
        "activity",
        req.namespace,
        req.workflow_id,
        state.run_id,
        info.scheduled_event_id,
        attempt=info.attempt,
        activity_id=info.activity_id,
    )


async def _send_activity(fe: Frontend, context: Context, token: TaskToken, req: rq.Request) -> Any:
    fe.namespace(token.namespace)
    # a run that does not exist (or no longer) is the persistence layer's NotFound
    # "workflow execution not found ..." (execution_manager.go), before any activity
    # is looked for (ErrActivityTaskNotFound, history/consts/const.go: ACTIVITY_GONE)
    fe.run(token.namespace, token.workflow_id, token.run_id)
    try:
        return await fe.call(context, token.namespace, token.workflow_id, token.run_id, req)
    except errors.ServiceError as exc:
        if exc.code is grpc.StatusCode.NOT_FOUND and exc.message != (
            "workflow execution already completed"
        ):
            raise errors.not_found(ACTIVITY_GONE) from None
        raise


def _core_token(token: TaskToken) -> rq.ActivityTaskToken:
    return rq.ActivityTaskToken(token.scheduled_event_id, token.attempt)


def _closing_stamp(req: Any) -> Opaque | None:
    """The worker's build id stamp on an activity completion or failure (the ById forms
    have none, as in Temporal, whose frontend builds them without one)."""
    if "worker_version" not in req.DESCRIPTOR.fields_by_name:
        return None
    return convert.opaque(req, "worker_version")


async def _complete(fe: Frontend, context: Context, token: TaskToken, req: Any) -> None:
    done = rq.RespondActivityTaskCompleted(
        _core_token(token),
        convert.opaque(req, "result"),
        req.identity,
        _closing_stamp(req),
        by_id=isinstance(req, ws.RespondActivityTaskCompletedByIdRequest),
    )
    await _send_activity(fe, context, token, done)


async def _fail(fe: Frontend, context: Context, token: TaskToken, req: Any) -> None:
    failure = req.failure
    info = failure.application_failure_info
    failed = rq.RespondActivityTaskFailed(
        _core_token(token),
        convert.opaque(req, "failure"),
        info.type,
        info.non_retryable or failure.server_failure_info.non_retryable,
        req.identity,
        convert.opaque(req, "last_heartbeat_details"),
        _closing_stamp(req),
    )
    await _send_activity(fe, context, token, failed)


async def _cancel(fe: Frontend, context: Context, token: TaskToken, req: Any) -> None:
    canceled = rq.RespondActivityTaskCanceled(
        _core_token(token), convert.opaque(req, "details"), req.identity
    )
    await _send_activity(fe, context, token, canceled)


async def _heartbeat(fe: Frontend, context: Context, token: TaskToken, req: Any) -> rq.Heartbeat:
    """The history service's answer: cancel requested, paused, reset."""
    if not token.workflow_id:  # a standalone activity's (standalone_rpc.py)
        args = (token.namespace, token.activity_id, token.run_id, token.attempt, req)
        effects = worker_call(fe, "heartbeat", *args).effects
        return rq.Heartbeat(
            effects.cancel_requested, effects.activity_paused, effects.activity_reset
        )
    beat = rq.RecordActivityTaskHeartbeat(_core_token(token), convert.opaque(req, "details"))
    answer = await _send_activity(fe, context, token, beat)
    return answer if isinstance(answer, rq.Heartbeat) else rq.Heartbeat(False)


Action = Callable[[Frontend, Context, TaskToken, Any], Awaitable[None]]


def _activity_rpc(action: Action, by_id: bool, response: Callable[[], Any]) -> Any:
    """A Respond/ById handler: the activity named by its token (or by workflow id, run id
    and activity id), then `action`, then the RPC's empty response."""

    async def handler(fe: Frontend, req: Any, context: Context) -> Any:
        token = _by_id(fe, req) if by_id else _activity_token(fe, req.task_token)
        if not token.workflow_id:  # a standalone activity's (standalone_rpc.py)
            kind = action.__name__.strip("_")
            worker_call(
                fe, kind, token.namespace, token.activity_id, token.run_id, token.attempt, req
            )
            return response()
        await action(fe, context, token, req)
        return response()

    return handler


respond_activity_task_completed = _activity_rpc(
    _complete, False, ws.RespondActivityTaskCompletedResponse
)
respond_activity_task_completed_by_id = _activity_rpc(
    _complete, True, ws.RespondActivityTaskCompletedByIdResponse
)
respond_activity_task_failed = _activity_rpc(_fail, False, ws.RespondActivityTaskFailedResponse)
respond_activity_task_failed_by_id = _activity_rpc(
    _fail, True, ws.RespondActivityTaskFailedByIdResponse
)
respond_activity_task_canceled = _activity_rpc(
    _cancel, False, ws.RespondActivityTaskCanceledResponse
)
respond_activity_task_canceled_by_id = _activity_rpc(
    _cancel, True, ws.RespondActivityTaskCanceledByIdResponse
)


async def record_activity_task_heartbeat(
    fe: Frontend, req: ws.RecordActivityTaskHeartbeatRequest, context: Context
) -> ws.RecordActivityTaskHeartbeatResponse:
    beat = await _heartbeat(fe, context, _activity_token(fe, req.task_token), req)
    return ws.RecordActivityTaskHeartbeatResponse(
        cancel_requested=beat.cancel_requested,
        activity_paused=beat.activity_paused,
        activity_reset=beat.activity_reset,
    )


async def record_activity_task_heartbeat_by_id(
    fe: Frontend, req: ws.RecordActivityTaskHeartbeatByIdRequest, context: Context
) -> ws.RecordActivityTaskHeartbeatByIdResponse:
    beat = await _heartbeat(fe, context, _by_id(fe, req), req)
    return ws.RecordActivityTaskHeartbeatByIdResponse(
        cancel_requested=beat.cancel_requested,
        activity_paused=beat.activity_paused,
        activity_reset=beat.activity_reset,
    )


def opaque_text(value: Opaque | None) -> str:
    return value.text if value is not None else ""
