"""What a worker sends that the server writes as it came: the binary checksum of a
failed workflow task (deprecated, still sent by older SDKs; WorkflowTaskFailed carries
it: AddWorkflowTaskFailedEvent, service/history/historybuilder/event_factory.go) and the
meta of an update's response (UpdateCompleted copies the worker's, not the request's:
CreateWorkflowExecutionUpdateCompletedEvent; sdk-go of 2023 sent the update id alone).
The test is the worker, with raw calls."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from google.protobuf import any_pb2, json_format
from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_enums
from temporalio.api.enums.v1 import update_pb2 as update_enums
from temporalio.api.protocol.v1 import message_pb2 as protocol_pb
from temporalio.api.update.v1 import message_pb2 as update_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client

from tests.adapters.serve.sdk import bounded, execution, first_workflow_task

POLL = timedelta(seconds=10)


async def _events(client: Client, workflow_id: str) -> list[dict[str, object]]:
    history = await client.workflow_service.get_workflow_execution_history(
        ws.GetWorkflowExecutionHistoryRequest(namespace="default", execution=execution(workflow_id))
    )
    return [json_format.MessageToDict(e) for e in history.history.events]


@pytest.mark.asyncio
@bounded
async def test_a_failed_workflow_task_keeps_the_binary_checksum(address: str) -> None:
    client = await Client.connect(address)
    task = await first_workflow_task(client, "default", "fields-checksum")
    await client.workflow_service.respond_workflow_task_failed(
        ws.RespondWorkflowTaskFailedRequest(
            namespace="default", task_token=task.task_token, identity="raw", binary_checksum="b1"
        )
    )
    failed = [
        e
        for e in await _events(client, "fields-checksum")
        if "workflowTaskFailedEventAttributes" in e
    ]
    assert failed[0]["workflowTaskFailedEventAttributes"]["binaryChecksum"] == "b1"  # type: ignore[index]
    await client.get_workflow_handle("fields-checksum").terminate()


def _message(id_: str, update_id: str, body: object) -> protocol_pb.Message:
    packed = any_pb2.Any()
    packed.Pack(body)  # type: ignore[arg-type]
    return protocol_pb.Message(id=id_, protocol_instance_id=update_id, body=packed)


def _protocol_command(message_id: str) -> command_pb.Command:
    return command_pb.Command(
        command_type=command_enums.COMMAND_TYPE_PROTOCOL_MESSAGE,
        protocol_message_command_attributes=command_pb.ProtocolMessageCommandAttributes(
            message_id=message_id
        ),
    )


@pytest.mark.asyncio
@bounded
async def test_update_completed_writes_the_workers_response_meta(address: str) -> None:
    client = await Client.connect(address)
    service = client.workflow_service
    first = await first_workflow_task(client, "default", "fields-meta")
    await service.respond_workflow_task_completed(
        ws.RespondWorkflowTaskCompletedRequest(
            namespace="default", task_token=first.task_token, identity="raw"
        )
    )
    request = update_pb.Request(
        meta=update_pb.Meta(update_id="u1", identity="caller"), input=update_pb.Input(name="set")
    )
    update = asyncio.create_task(
        service.update_workflow_execution(
            ws.UpdateWorkflowExecutionRequest(
                namespace="default",
                workflow_execution=execution("fields-meta"),
                request=request,
                wait_policy=update_pb.WaitPolicy(
                    lifecycle_stage=update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
                ),
            ),
            timeout=timedelta(seconds=10),
        )
    )
    poll = ws.PollWorkflowTaskQueueRequest(
        namespace="default", task_queue=first.workflow_execution_task_queue, identity="raw"
    )
    second = await service.poll_workflow_task_queue(poll, timeout=POLL)
    (asked,) = second.messages
    accept = _message(
        "u1/accept",
        "u1",
        update_pb.Acceptance(
            accepted_request_message_id=asked.id,
            accepted_request_sequencing_event_id=asked.event_id,
            accepted_request=request,
        ),
    )
    answer = update_pb.Response(meta=update_pb.Meta(update_id="u1"), outcome=update_pb.Outcome())
    respond = _message("u1/complete", "u1", answer)
    await service.respond_workflow_task_completed(
        ws.RespondWorkflowTaskCompletedRequest(
            namespace="default",
            task_token=second.task_token,
            identity="raw",
            messages=[accept, respond],
            commands=[_protocol_command("u1/accept"), _protocol_command("u1/complete")],
        )
    )
    await update
    completed = [
        e["workflowExecutionUpdateCompletedEventAttributes"]
        for e in await _events(client, "fields-meta")
        if "workflowExecutionUpdateCompletedEventAttributes" in e
    ]
    assert completed[0]["meta"] == {"updateId": "u1"}  # type: ignore[index]
    await client.get_workflow_handle("fields-meta").terminate()
