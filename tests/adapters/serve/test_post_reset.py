"""A reset's post-reset operations on `tmodel serve`: an UpdateWorkflowOptions operation
is applied to the new run after what the reset reapplies, with no identity
(`performPostResetOperations`, service/history/ndc/workflow_resetter.go), and any other
operation is refused (`validatePostResetOperationInputs`,
service/history/api/resetworkflow/api.go). The expectations are the 1.32 dev server's
answers to the same raw calls (measured 2026-12-06): the event types of the new run and
the refusal's words, which name the Go type of the operation."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from google.protobuf import field_mask_pb2, json_format
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.workflow.v1 import message_pb2 as workflow_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.adapters.serve.sdk import bounded, execution, first_workflow_task

Op = workflow_pb.PostResetOperation


def _reset(
    workflow_id: str, *operations: workflow_pb.PostResetOperation
) -> ws.ResetWorkflowExecutionRequest:
    return ws.ResetWorkflowExecutionRequest(
        namespace="default",
        workflow_execution=execution(workflow_id),
        reason="post-reset",
        workflow_task_finish_event_id=4,
        request_id=str(uuid.uuid4()),
        identity="resetter",
        post_reset_operations=list(operations),
    )


@pytest.mark.asyncio
@bounded
async def test_post_reset_options_update_follows_the_reset_and_a_signal_is_refused(
    address: str,
) -> None:
    client = await Client.connect(address)
    service = client.workflow_service
    workflow_id = f"post-reset-{uuid.uuid4()}"
    task = await first_workflow_task(client, "default", workflow_id)
    await service.respond_workflow_task_completed(
        ws.RespondWorkflowTaskCompletedRequest(
            namespace="default", task_token=task.task_token, identity="raw"
        ),
        timeout=timedelta(seconds=10),
    )
    signal = Op(signal_workflow=Op.SignalWorkflow(signal_name="s"))
    with pytest.raises(RPCError) as refused:
        await service.reset_workflow_execution(_reset(workflow_id, signal))
    assert refused.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert refused.value.message == (
        "unsupported post reset operation: *workflow.PostResetOperation_SignalWorkflow_"
    )
    options = workflow_pb.WorkflowExecutionOptions(priority=common_pb.Priority(priority_key=3))
    update = Op(
        update_workflow_options=Op.UpdateWorkflowOptions(
            workflow_execution_options=options,
            update_mask=field_mask_pb2.FieldMask(paths=["priority.priority_key"]),
        )
    )
    reset = await service.reset_workflow_execution(_reset(workflow_id, update))
    history = await service.get_workflow_execution_history(
        ws.GetWorkflowExecutionHistoryRequest(
            namespace="default", execution=execution(workflow_id, reset.run_id)
        )
    )
    events = [json_format.MessageToDict(e) for e in history.history.events]
    assert [e["eventType"] for e in events] == [
        "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
        "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
        "EVENT_TYPE_WORKFLOW_TASK_STARTED",
        "EVENT_TYPE_WORKFLOW_TASK_FAILED",
        "EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED",
        "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
    ]
    assert events[4]["workflowExecutionOptionsUpdatedEventAttributes"] == {
        "priority": {"priorityKey": 3},
        "unsetVersioningOverride": True,
    }
    await client.get_workflow_handle(workflow_id).terminate()
