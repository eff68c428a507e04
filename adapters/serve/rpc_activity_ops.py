"""An operator's activity calls: PauseActivity, UnpauseActivity, ResetActivity.

The frontend's checks (service/frontend/workflow_handler.go: the request, the workflow
id, one of the activity selectors, the namespace), then one request to the run's
history service (core/statemachine/history/service/activity_ops.py holds the rules).
The jitter's random offset is drawn here, from the server's seeded RNG, as Temporal's
history service draws it (`rand.Int63n(jitter)`), so the core stays deterministic.
"""

from __future__ import annotations

from typing import Any

import grpc
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core import requests as rq

from . import errors
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
    # restore_original_options has nothing to restore: options are never updated here
    # (UpdateActivityOptions is not served).
    reset = rq.ResetActivity(
        activity_id=req.id,
        activity_type=req.type,
        match_all=req.match_all,
        reset_heartbeat=req.reset_heartbeat,
        keep_paused=req.keep_paused,
        delay=_delay(fe, req),
    )
    await _send(fe, context, req, reset)
    return ws.ResetActivityResponse()
