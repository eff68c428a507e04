"""Fixes for what temporalio's other test files found against `tmodel serve`
(docs/serve.md, "The SDK's own tests against tmodel serve"):

- test_service.py test_check_health: a health check for a service the server does not
  know is NOT_FOUND "unknown service" (grpc-go `health/server.go` Check, the health
  server of Temporal's frontend), not SERVING;
- worker/test_extstore.py test_store_metadata_schedule_action: a schedule's action
  keeps its input as given, whatever the payloads' encodings (there a json/protobuf
  reference to externally stored data); the frontend never reads a payload, and each
  start it makes gets the same payloads.

Both were compared with `temporal server start-dev` (CLI 1.9.1, server 1.32), which
answers the same.
"""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import event_type_pb2 as event_enums
from temporalio.api.schedule.v1 import message_pb2 as schedule_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCStatusCode

from tests.adapters.serve.sdk import IDLE, bounded, connected, eventually, execution, rpc_error

pytestmark = pytest.mark.asyncio(loop_scope="module")
SERVED = (
    "",
    "temporal.api.workflowservice.v1.WorkflowService",
    "temporal.api.operatorservice.v1.OperatorService",
)


@bounded
async def test_a_health_check_knows_the_served_services_only(client: Client) -> None:
    assert await client.service_client.check_health()  # the SDK asks for WorkflowService
    for served in SERVED:
        assert await client.service_client.check_health(service=served)
    for unknown in ("whatever", "temporal.server.api.historyservice.v1.HistoryService"):
        error = await rpc_error(client.service_client.check_health(service=unknown))
        assert (error.status, error.message) == (RPCStatusCode.NOT_FOUND, "unknown service")


def _opaque_payloads() -> common_pb.Payloads:
    """Payloads no default converter reads: a json/protobuf one, as external storage
    writes its references, and one a codec encrypted."""
    return common_pb.Payloads(
        payloads=[
            common_pb.Payload(
                metadata={"encoding": b"json/protobuf", "messageType": b"example.Ref"},
                data=b'{"key":"stored-elsewhere"}',
            ),
            common_pb.Payload(
                metadata={"encoding": b"binary/encrypted", "encryption-key-id": b"k1"},
                data=bytes(range(256)),
            ),
        ]
    )


@bounded
async def test_a_schedule_keeps_and_passes_on_its_input_as_given(client: Client) -> None:
    schedule_id = f"opaque-{uuid.uuid4()}"
    workflow_id = f"wf-{schedule_id}"
    given = _opaque_payloads()
    schedule = schedule_pb.Schedule()
    start = schedule.action.start_workflow
    start.workflow_id = workflow_id
    start.workflow_type.name = "Opaque"
    start.task_queue.name = IDLE
    start.input.CopyFrom(given)
    service = client.workflow_service
    await service.create_schedule(
        ws.CreateScheduleRequest(
            namespace="default",
            schedule_id=schedule_id,
            schedule=schedule,
            request_id=str(uuid.uuid4()),
        )
    )
    describe = ws.DescribeScheduleRequest(namespace="default", schedule_id=schedule_id)
    described = await service.describe_schedule(describe)
    assert described.schedule.action.start_workflow.input == given

    await client.get_schedule_handle(schedule_id).trigger()

    async def started() -> bool:
        return (await service.describe_schedule(describe)).info.action_count >= 1

    await eventually(started)
    taken = (await service.describe_schedule(describe)).info.recent_actions[-1]
    run = taken.start_workflow_result.workflow_id
    assert run.startswith(workflow_id)
    history = await service.get_workflow_execution_history(
        ws.GetWorkflowExecutionHistoryRequest(namespace="default", execution=execution(run))
    )
    first = history.history.events[0]
    assert first.event_type == event_enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    assert first.workflow_execution_started_event_attributes.input == given
    await client.get_schedule_handle(schedule_id).delete()


@pytest.mark.slow
@pytest.mark.ci_sample
@bounded
async def test_the_dev_server_answers_the_same(dev_address: str) -> None:
    client = await connected(dev_address)
    await test_a_health_check_knows_the_served_services_only(client)
    await test_a_schedule_keeps_and_passes_on_its_input_as_given(client)
