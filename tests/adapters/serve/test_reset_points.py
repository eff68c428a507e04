"""Resets to points other than a workflow task's close, through `tmodel serve`.

The history service takes any point whose previous event ends an event batch with a
workflow task pending (reset_batches.py). After a failed task, the retry pending is
written anew by the reset (its Scheduled event, attempt 1), then started and failed by
it, as the 1.32 dev server did
(tests/fixtures/unseen-histories/reset-point-after-failed.json, recorded by
scripts/unseen_reset_points.py). `tmodel serve` refused the point.
"""

from __future__ import annotations

import json
import uuid

import pytest
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import event_type_pb2 as ev
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client

from adapters.serve.convert import framed_size
from tests.adapters.serve.sdk import bounded, first_workflow_task, reset_request
from tests.conftest import FIXTURES

RECORDED = FIXTURES / "unseen-histories" / "reset-point-after-failed.json"


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_reset_after_a_failed_task_writes_the_retry_anew(client: Client) -> None:
    workflow_id = f"wf-{uuid.uuid4()}"
    service = client.workflow_service
    task = await first_workflow_task(client, "default", workflow_id)
    failed = ws.RespondWorkflowTaskFailedRequest(
        namespace="default", task_token=task.task_token, identity="raw"
    )
    await service.respond_workflow_task_failed(failed)
    await service.signal_workflow_execution(
        ws.SignalWorkflowExecutionRequest(
            namespace="default",
            workflow_execution=common_pb.WorkflowExecution(workflow_id=workflow_id),
            signal_name="note",
            identity="raw",
        )
    )
    base = await client.get_workflow_handle(workflow_id).fetch_history()
    assert base.events[3].event_type == ev.EVENT_TYPE_WORKFLOW_TASK_FAILED
    reset = await service.reset_workflow_execution(
        reset_request(workflow_id, base.run_id, 5, "after the failure")
    )
    history = await client.get_workflow_handle(workflow_id, run_id=reset.run_id).fetch_history()
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))["events"]
    want = [ev.EventType.Value(e["eventType"]) for e in recorded[:9]]
    assert [e.event_type for e in history.events] == want
    scheduled, started = history.events[4], history.events[5]
    assert scheduled.workflow_task_scheduled_event_attributes.attempt == 1
    a = started.workflow_task_started_event_attributes
    assert a.scheduled_event_id == 5 and a.identity == "history-service"
    assert a.history_size_bytes == sum(framed_size(e) for e in base.events[:4])
