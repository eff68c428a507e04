"""A user's TerminateWorkflowExecution without a reason or identity: the frontend fills
in its defaults before the history service writes WorkflowExecutionTerminated
(service/frontend/workflow_handler.go, defaultUserTerminateReason and
defaultUserTerminateIdentity; the 1.32 dev server writes the same)."""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import event_type_pb2 as ev
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client

from tests.adapters.serve.sdk import IDLE, bounded


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_terminate_without_reason_or_identity_gets_the_frontends(
    client: Client,
) -> None:
    workflow_id = f"terminated-{uuid.uuid4()}"
    handle = await client.start_workflow("Nothing", id=workflow_id, task_queue=IDLE)
    await client.workflow_service.terminate_workflow_execution(
        ws.TerminateWorkflowExecutionRequest(
            namespace="default",
            workflow_execution=common_pb.WorkflowExecution(workflow_id=workflow_id),
        )
    )
    written = [
        event.workflow_execution_terminated_event_attributes
        async for event in handle.fetch_history_events()
        if event.event_type == ev.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
    ]
    assert [(a.reason, a.identity) for a in written] == [
        ("terminated by user via frontend", "frontend-service")
    ]
