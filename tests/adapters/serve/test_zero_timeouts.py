"""A start that names zero execution and run timeouts has them written as "0s", one that
leaves them unset has them absent (the frontend passes the Durations on as given and
the Started event copies them: service/history/historybuilder/event_factory.go). The Go
SDK's client always sends both, zero when unset. Measured on the dev server (CLI 1.9.1,
server 1.32.0, raw StartWorkflowExecution calls, 2026-12-06): zero -> "0s" and "0s",
unset -> absent, a run timeout alone -> that run timeout and no execution timeout."""

from __future__ import annotations

import uuid

import pytest
from google.protobuf import duration_pb2, json_format
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client

from tests.adapters.serve.sdk import bounded

ZERO = duration_pb2.Duration()
CASES = [
    ({"workflow_execution_timeout": ZERO, "workflow_run_timeout": ZERO}, ("0s", "0s")),
    ({}, (None, None)),
    ({"workflow_run_timeout": duration_pb2.Duration(seconds=30)}, (None, "30s")),
]


@pytest.mark.asyncio
@bounded
@pytest.mark.parametrize(("fields", "written"), CASES)
async def test_given_timeouts_are_written_as_given(
    address: str, fields: dict[str, duration_pb2.Duration], written: tuple[str | None, ...]
) -> None:
    svc = (await Client.connect(address)).workflow_service
    workflow_id = f"zero-timeouts-{uuid.uuid4()}"
    start = ws.StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id=workflow_id,
        workflow_type=common_pb.WorkflowType(name="W"),
        task_queue=tq_pb.TaskQueue(name="zero-timeouts"),
        request_id=str(uuid.uuid4()),
    )
    for name, value in fields.items():
        getattr(start, name).CopyFrom(value)  # set, even when zero
    await svc.start_workflow_execution(start)
    history = await svc.get_workflow_execution_history(
        ws.GetWorkflowExecutionHistoryRequest(
            namespace="default", execution=common_pb.WorkflowExecution(workflow_id=workflow_id)
        )
    )
    started = history.history.events[0].workflow_execution_started_event_attributes
    shown = json_format.MessageToDict(started)
    assert (shown.get("workflowExecutionTimeout"), shown.get("workflowRunTimeout")) == written
