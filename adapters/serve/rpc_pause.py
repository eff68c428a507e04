"""PauseWorkflowExecution and UnpauseWorkflowExecution, as a server answers them with
workflow pause turned off, its default.

Pausing a whole workflow run is an experimental feature of the server, off unless the
dynamic config `frontend.WorkflowPauseEnabled` turns it on for a namespace; the model
does not have it (`tmodel conform` reports its events as not modelled, SCOPE-PAUSE).
So the answers are those of a server where it is off (service/frontend/
workflow_handler.go): a pause is refused UNIMPLEMENTED "workflow pause is not enabled
for namespace: NS"; an unpause, which the frontend passes to the history service
without that check, finds no run paused (service/history/api/unpauseworkflow/api.go):
FailedPrecondition "workflow is not paused." for a running run, NotFound for a closed
or unknown one.
"""

from __future__ import annotations

from typing import Any

import grpc
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from . import errors, validate
from .frontend import Frontend

Context = grpc.aio.ServicerContext[Any, Any]


async def pause_workflow_execution(
    fe: Frontend, req: ws.PauseWorkflowExecutionRequest, context: Context
) -> ws.PauseWorkflowExecutionResponse:
    fe.namespace(req.namespace)
    raise errors.ServiceError(
        grpc.StatusCode.UNIMPLEMENTED,
        f"workflow pause is not enabled for namespace: {req.namespace}",
    )


async def unpause_workflow_execution(
    fe: Frontend, req: ws.UnpauseWorkflowExecutionRequest, context: Context
) -> ws.UnpauseWorkflowExecutionResponse:
    fe.namespace(req.namespace)
    for field in ("reason", "request_id", "identity"):  # the frontend's size checks
        if len(getattr(req, field)) > validate.MAX_ID_LENGTH:
            raise errors.invalid(f"{field.replace('_', ' ')} is too long.")
    if not req.workflow_id:  # the history service's cache (cache.go)
        raise errors.invalid("Can't load workflow execution.  WorkflowId not set.")
    validate.run_id(req.run_id, "RunId is not valid UUID.")
    if not fe.state(req.namespace, req.workflow_id, req.run_id).running:
        raise errors.not_found("workflow execution already completed")
    raise errors.failed_precondition("workflow is not paused.")
