"""A cancel request's and a termination's links go on their events, as the 1.32 dev
server writes them (recorded: `links.run2.json` and `links-term.json` of the unseen
histories; event_factory.go in service/history/historybuilder)."""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import event_type_pb2 as ev
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client

from tests.adapters.serve.sdk import IDLE, bounded


def _link(workflow_id: str) -> common_pb.Link:
    ref = common_pb.Link.WorkflowEvent.EventReference(
        event_id=1, event_type=ev.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    )
    return common_pb.Link(
        workflow_event=common_pb.Link.WorkflowEvent(
            namespace="default", workflow_id=workflow_id, run_id=str(uuid.uuid4()), event_ref=ref
        )
    )


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_cancel_request_and_a_termination_keep_their_links(client: Client) -> None:
    workflow_id = f"linked-{uuid.uuid4()}"
    handle = await client.start_workflow("Nothing", id=workflow_id, task_queue=IDLE)
    execution = common_pb.WorkflowExecution(workflow_id=workflow_id)
    asked, stopped = _link("canceller"), _link("terminator")
    await client.workflow_service.request_cancel_workflow_execution(
        ws.RequestCancelWorkflowExecutionRequest(
            namespace="default", workflow_execution=execution, request_id=str(uuid.uuid4()),
            links=[asked],
        )
    )  # fmt: skip
    await client.workflow_service.terminate_workflow_execution(
        ws.TerminateWorkflowExecutionRequest(
            namespace="default", workflow_execution=execution, links=[stopped]
        )
    )
    links = {
        event.event_type: list(event.links)
        async for event in handle.fetch_history_events()
        if event.links
    }
    assert links == {
        ev.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED: [asked],
        ev.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: [stopped],
    }
