"""An operator's activity calls: PauseActivity, UnpauseActivity, ResetActivity,
UpdateActivityOptions.

The frontend's checks (service/frontend/workflow_handler.go: the request, the workflow
id, one of the activity selectors, the namespace), then one request to the run's
history service (core/statemachine/history/service/activity_ops.py holds the rules).
The jitter's random offset is drawn here, from the server's seeded RNG, as Temporal's
history service draws it (`rand.Int63n(jitter)`), so the core stays deterministic.
"""

from __future__ import annotations

from typing import Any

import grpc
from temporalio.api.activity.v1 import message_pb2 as activity_pb
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core import requests as rq
from core.statemachine.history.service.activity_options import OptionsUpdated
from core.statemachine.history.service.state import ActivityOptions

from . import convert, errors
from .frontend import Frontend

Context = grpc.aio.ServicerContext[Any, Any]
NO_SELECTOR = "Either Activity.Id or Activity.Type should be set on request."  # errors.go


def _checked(fe: Frontend, req: Any) -> None:
    """The frontend's validation, in its order (PauseActivity and its siblings)."""
    if not req.execution.workflow_id:
        raise errors.invalid("WorkflowId is not set on request.")
    if req.WhichOneof("activity") is None:
        raise errors.invalid(NO_SELECTOR)
    fe.namespace(req.namespace)


def _delay(fe: Frontend, req: Any) -> int:
    """A random offset in [0, jitter) ns (none without a jitter)."""
    jitter = req.jitter.seconds * 1_000_000_000 + req.jitter.nanos
    return fe.rng.randrange(jitter) if jitter > 0 else 0


async def _send(fe: Frontend, context: Context, req: Any, operation: rq.Request) -> None:
    execution = req.execution
    fe.run(req.namespace, execution.workflow_id, execution.run_id)
    await fe.call(context, req.namespace, execution.workflow_id, execution.run_id, operation)


async def pause_activity(
    fe: Frontend, req: ws.PauseActivityRequest, context: Context
) -> ws.PauseActivityResponse:
    _checked(fe, req)
    pause = rq.PauseActivity(
        activity_id=req.id,
        activity_type=req.type,
        identity=req.identity,
        reason=req.reason,
        request_id=req.request_id,
    )
    await _send(fe, context, req, pause)
    return ws.PauseActivityResponse()


async def unpause_activity(
    fe: Frontend, req: ws.UnpauseActivityRequest, context: Context
) -> ws.UnpauseActivityResponse:
    _checked(fe, req)
    unpause = rq.UnpauseActivity(
        activity_id=req.id,
        activity_type=req.type,
        unpause_all=req.unpause_all,
        reset_attempts=req.reset_attempts,
        reset_heartbeat=req.reset_heartbeat,
        delay=_delay(fe, req),
    )
    await _send(fe, context, req, unpause)
    return ws.UnpauseActivityResponse()


async def reset_activity(
    fe: Frontend, req: ws.ResetActivityRequest, context: Context
) -> ws.ResetActivityResponse:
    _checked(fe, req)
    reset = rq.ResetActivity(
        activity_id=req.id,
        activity_type=req.type,
        match_all=req.match_all,
        reset_heartbeat=req.reset_heartbeat,
        keep_paused=req.keep_paused,
        delay=_delay(fe, req),
        restore_original_options=req.restore_original_options,
    )
    await _send(fe, context, req, reset)
    return ws.ResetActivityResponse()


async def update_activity_options(
    fe: Frontend, req: ws.UpdateActivityOptionsRequest, context: Context
) -> ws.UpdateActivityOptionsResponse:
    # The frontend's checks (UpdateActivityOptions in workflow_handler.go); it also
    # validates the options' priority, which the model does not keep.
    _checked(fe, req)
    update = rq.UpdateActivityOptions(
        activity_id=req.id,
        activity_type=req.type,
        match_all=req.match_all,
        options=_options_in(req.activity_options) if req.HasField("activity_options") else None,
        mask=tuple(req.update_mask.paths) if req.HasField("update_mask") else None,
        restore_original=req.restore_original,
    )
    execution = req.execution
    fe.run(req.namespace, execution.workflow_id, execution.run_id)
    reply = await fe.call(context, req.namespace, execution.workflow_id, execution.run_id, update)
    assert isinstance(reply, OptionsUpdated)
    out = ws.UpdateActivityOptionsResponse()
    fill_options(out.activity_options, reply.options)
    if reply.merged:  # the validator marks the merged options' queue NORMAL
        out.activity_options.task_queue.kind = tq_enums.TASK_QUEUE_KIND_NORMAL
    return out


def _options_in(given: activity_pb.ActivityOptions) -> rq.ActivityOptionsInput:
    policy = None
    if given.HasField("retry_policy"):
        p = given.retry_policy
        policy = rq.RetryPolicyInput(
            convert.nanos(p.initial_interval),
            p.backoff_coefficient,
            convert.nanos(p.maximum_interval),
            p.maximum_attempts,
        )
    return rq.ActivityOptionsInput(
        task_queue=given.task_queue.name if given.HasField("task_queue") else None,
        schedule_to_close_timeout=convert.nanos(given.schedule_to_close_timeout),
        schedule_to_start_timeout=convert.nanos(given.schedule_to_start_timeout),
        start_to_close_timeout=convert.nanos(given.start_to_close_timeout),
        heartbeat_timeout=convert.nanos(given.heartbeat_timeout),
        retry_policy=policy,
    )


def fill_options(out: activity_pb.ActivityOptions, options: ActivityOptions) -> None:
    """temporal.api.activity.v1.ActivityOptions of the model's (every timeout written,
    0s when unset, as the server's are; the retry policy's zero fields left out)."""
    out.task_queue.name = options.task_queue
    out.schedule_to_close_timeout.CopyFrom(convert.duration(options.schedule_to_close_timeout))
    out.schedule_to_start_timeout.CopyFrom(convert.duration(options.schedule_to_start_timeout))
    out.start_to_close_timeout.CopyFrom(convert.duration(options.start_to_close_timeout))
    out.heartbeat_timeout.CopyFrom(convert.duration(options.heartbeat_timeout))
    policy = options.retry_policy
    retry = out.retry_policy
    retry.SetInParent()
    if policy.initial_interval:
        retry.initial_interval.CopyFrom(convert.duration(policy.initial_interval))
    retry.backoff_coefficient = policy.backoff_coefficient
    if policy.maximum_interval:
        retry.maximum_interval.CopyFrom(convert.duration(policy.maximum_interval))
    retry.maximum_attempts = policy.maximum_attempts
