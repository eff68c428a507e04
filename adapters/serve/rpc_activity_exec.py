"""The operator's activity calls of the `temporal activity` commands:
PauseActivityExecution, UnpauseActivityExecution, ResetActivityExecution and
UpdateActivityExecutionOptions.

The frontend validates each request (chasm/lib/activity/validator.go, in its order;
the messages are the dev server's), then the handler routes it
(chasm/lib/activity/handler.go): a request naming a workflow goes to that workflow's
activity, as PauseActivity and its siblings do (rpc_activity_ops.py; the history
service's rules, service/activity_ops.py), forwarding what handler.go forwards; one
naming none goes to the standalone activity of that id, whose table decides
(core/statemachine/standalone/operator.py). A jitter's random offset is drawn here,
from the server's seeded RNG, as the server draws it (`rand.Int63n(jitter)`).
"""

from __future__ import annotations

import uuid
from typing import Any

import grpc
from temporalio.api.activity.v1 import message_pb2 as activity_pb
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core import requests as rq
from core.statemachine.history.service.activity_options import OptionsUpdated
from core.statemachine.history.service.retry import retry_policy
from core.statemachine.standalone import activity as sa

from . import convert, errors
from .frontend import Frontend
from .rpc_activity_ops import _delay, _options_in, fill_options
from .standalone import retry_policy as policy_proto
from .standalone_rpc import _store

Context = grpc.aio.ServicerContext[Any, Any]
# validator.go's allowlist of update_mask paths (supportedActivityOptionsUpdatePaths)
UPDATABLE = frozenset(
    {
        "taskQueue.name",
        "scheduleToCloseTimeout",
        "scheduleToStartTimeout",
        "startToCloseTimeout",
        "heartbeatTimeout",
        "priority",
        "priority.priorityKey",
        "priority.fairnessKey",
        "priority.fairnessWeight",
        "retryPolicy",
        "retryPolicy.initialInterval",
        "retryPolicy.backoffCoefficient",
        "retryPolicy.maximumInterval",
        "retryPolicy.maximumAttempts",
        "startDelay",
    }
)


def _camel(path: str) -> str:
    """util.ConvertPathToCamel, joined."""
    parts = []
    for part in path.split("."):
        head, *rest = part.split("_")
        parts.append(head + "".join(word[:1].upper() + word[1:] for word in rest))
    return ".".join(parts)


def _checked(fe: Frontend, req: Any) -> None:
    """What every one of the four validates (validateAndNormalize*Request): first a
    missing request id is filled in, as the validator does in place
    (validateAndNormalizeRequestID), so a workflow's activity gets one too."""
    if not req.request_id:
        req.request_id = fe.new_id()
    if not req.activity_id:
        raise errors.invalid("activity ID is required")
    if req.run_id:
        try:
            uuid.UUID(req.run_id)
        except ValueError:
            raise errors.invalid("invalid run id: must be a valid UUID") from None
    if "jitter" in req.DESCRIPTOR.fields_by_name and convert.nanos(req.jitter) < 0:
        raise errors.invalid("invalid jitter: negative duration")  # timestamp/duration.go


def _checked_update(fe: Frontend, req: ws.UpdateActivityExecutionOptionsRequest) -> None:
    _checked(fe, req)
    paths = list(req.update_mask.paths)
    if paths and req.restore_original:
        raise errors.invalid("Both UpdateMask and RestoreOriginal are provided")
    if req.restore_original:
        return
    if not req.HasField("activity_options"):
        raise errors.invalid("ActivityOptions are not provided")
    if not req.HasField("update_mask"):
        raise errors.invalid("UpdateMask is not provided")
    if not paths:
        raise errors.invalid("UpdateMask must specify at least one path")
    for path in paths:
        if _camel(path) not in UPDATABLE:
            raise errors.invalid(f'unsupported update_mask path: "{path}"')


async def _to_workflow(fe: Frontend, context: Context, req: Any, operation: rq.Request) -> Any:
    fe.run(req.namespace, req.workflow_id, req.run_id)
    return await fe.call(context, req.namespace, req.workflow_id, req.run_id, operation)


def _to_standalone(fe: Frontend, req: Any, event: sa.Event) -> sa.Decision:
    store = _store(fe)
    entry = store.current(req.namespace, req.activity_id, req.run_id)
    return store.apply(entry, event)


async def pause_activity_execution(
    fe: Frontend, req: ws.PauseActivityExecutionRequest, context: Context
) -> ws.PauseActivityExecutionResponse:
    _checked(fe, req)
    fe.namespace(req.namespace)
    if req.workflow_id:
        pause = rq.PauseActivity(
            activity_id=req.activity_id,
            identity=req.identity,
            reason=req.reason,
            request_id=req.request_id,
        )
        await _to_workflow(fe, context, req, pause)
    else:
        event = sa.Event(
            sa.Input.PAUSE,
            fe.now(),
            identity=req.identity,
            reason=req.reason,
            request_id=req.request_id,
        )
        _to_standalone(fe, req, event)
    return ws.PauseActivityExecutionResponse()


async def unpause_activity_execution(
    fe: Frontend, req: ws.UnpauseActivityExecutionRequest, context: Context
) -> ws.UnpauseActivityExecutionResponse:
    _checked(fe, req)
    fe.namespace(req.namespace)
    if req.workflow_id:  # handler.go forwards the id, the jitter and the identity
        unpause = rq.UnpauseActivity(activity_id=req.activity_id, delay=_delay(fe, req))
        await _to_workflow(fe, context, req, unpause)
    else:
        event = sa.Event(
            sa.Input.UNPAUSE,
            fe.now(),
            identity=req.identity,
            request_id=req.request_id,
            delay=_delay(fe, req),
        )
        _to_standalone(fe, req, event)
    return ws.UnpauseActivityExecutionResponse()


async def reset_activity_execution(
    fe: Frontend, req: ws.ResetActivityExecutionRequest, context: Context
) -> ws.ResetActivityExecutionResponse:
    _checked(fe, req)
    fe.namespace(req.namespace)
    if req.workflow_id:
        reset = rq.ResetActivity(
            activity_id=req.activity_id,
            reset_heartbeat=req.reset_heartbeat,
            keep_paused=req.keep_paused,
            delay=_delay(fe, req),
            restore_original_options=req.restore_original_options,
        )
        await _to_workflow(fe, context, req, reset)
    else:
        event = sa.Event(
            sa.Input.RESET,
            fe.now(),
            identity=req.identity,
            request_id=req.request_id,
            delay=_delay(fe, req),
            keep_paused=req.keep_paused,
            reset_heartbeat=req.reset_heartbeat,
            restore=req.restore_original_options,
        )
        _to_standalone(fe, req, event)
    return ws.ResetActivityExecutionResponse()


def _given(req: ws.UpdateActivityExecutionOptionsRequest) -> rq.ActivityOptionsInput | None:
    """The request's options; a whole retry policy named by the mask with the server's
    defaults filled in (the validator's retrypolicy.EnsureDefaults)."""
    if not req.HasField("activity_options"):
        return None
    given = _options_in(req.activity_options)
    if any(_camel(p) == "retryPolicy" for p in req.update_mask.paths):
        try:
            policy = retry_policy(convert.opaque(req.activity_options, "retry_policy"))
        except ValueError as exc:
            raise errors.invalid(f"invalid retry policy: {exc}") from None
        given = rq.ActivityOptionsInput(
            task_queue=given.task_queue,
            schedule_to_close_timeout=given.schedule_to_close_timeout,
            schedule_to_start_timeout=given.schedule_to_start_timeout,
            start_to_close_timeout=given.start_to_close_timeout,
            heartbeat_timeout=given.heartbeat_timeout,
            retry_policy=rq.RetryPolicyInput(
                policy.initial_interval,
                policy.backoff_coefficient,
                policy.maximum_interval,
                policy.maximum_attempts,
            ),
        )
    return given


async def update_activity_execution_options(
    fe: Frontend, req: ws.UpdateActivityExecutionOptionsRequest, context: Context
) -> ws.UpdateActivityExecutionOptionsResponse:
    _checked_update(fe, req)
    fe.namespace(req.namespace)
    out = ws.UpdateActivityExecutionOptionsResponse()
    mask = tuple(req.update_mask.paths)
    if req.workflow_id:
        update = rq.UpdateActivityOptions(
            activity_id=req.activity_id,
            options=_given(req),
            mask=mask if req.HasField("update_mask") else None,
            restore_original=req.restore_original,
        )
        reply = await _to_workflow(fe, context, req, update)
        assert isinstance(reply, OptionsUpdated)
        fill_options(out.activity_options, reply.options)
        if reply.merged:  # the validator marks the merged options' queue NORMAL
            out.activity_options.task_queue.kind = tq_enums.TASK_QUEUE_KIND_NORMAL
        return out
    event = sa.Event(
        sa.Input.UPDATE_OPTIONS,
        fe.now(),
        identity=req.identity,
        request_id=req.request_id,
        restore=req.restore_original,
        options=_given(req),
        mask=mask,
        start_delay=convert.nanos(req.activity_options.start_delay),
    )
    decision = _to_standalone(fe, req, event)
    _fill_standalone(out.activity_options, decision.activity.options)
    return out


def _fill_standalone(out: activity_pb.ActivityOptions, options: sa.Options) -> None:
    """updateActivityExecutionOptionsResponse: the activity's options now."""
    out.task_queue.name = options.task_queue
    out.task_queue.kind = tq_enums.TASK_QUEUE_KIND_NORMAL  # as the start normalized it
    for name, span in (
        ("schedule_to_close_timeout", options.schedule_to_close),
        ("schedule_to_start_timeout", options.schedule_to_start),
        ("start_to_close_timeout", options.start_to_close),
        ("heartbeat_timeout", options.heartbeat),
        ("start_delay", options.start_delay),
    ):
        getattr(out, name).CopyFrom(convert.duration(span))
    out.retry_policy.CopyFrom(policy_proto(options.retry_policy))
