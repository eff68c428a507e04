"""What a served workflow task completion hands the model of its worker and of an
update's acceptance: the binary checksum, the Worker Deployment options, the versioning
behavior, and the sequencing event id an acceptance names (the model writes them into
WorkflowTaskCompleted and UpdateAccepted as the server does:
service/history/workflow/workflow_task_state_machine.go `AddWorkflowTaskCompletedEvent`,
service/history/workflow/update/update.go `onAcceptanceMsg`)."""

from __future__ import annotations

from google.protobuf import any_pb2
from temporalio.api.deployment.v1 import message_pb2 as deployment_pb
from temporalio.api.enums.v1 import deployment_pb2 as deployment_enums
from temporalio.api.enums.v1 import workflow_pb2 as workflow_enums
from temporalio.api.protocol.v1 import message_pb2 as protocol_pb
from temporalio.api.update.v1 import message_pb2 as update_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from adapters.serve.rpc_tasks import update_messages, worker_of
from core import requests as rq
from core.enums import VersioningBehavior


def test_an_acceptance_hands_on_the_sequencing_event_it_names() -> None:
    body = any_pb2.Any()
    body.Pack(update_pb.Acceptance(accepted_request_sequencing_event_id=7))
    message = protocol_pb.Message(id="m1", protocol_instance_id="u1", body=body)
    (got,) = update_messages([message])
    assert got.kind is rq.UpdateMessageKind.ACCEPT and got.sequencing_event_id == 7


def test_a_versioned_worker_hands_on_its_deployment_checksum_and_behavior() -> None:
    req = ws.RespondWorkflowTaskCompletedRequest(
        binary_checksum="sum-1",
        deployment_options=deployment_pb.WorkerDeploymentOptions(
            deployment_name="dep",
            build_id="b1",
            worker_versioning_mode=deployment_enums.WORKER_VERSIONING_MODE_VERSIONED,
        ),
        versioning_behavior=workflow_enums.VERSIONING_BEHAVIOR_PINNED,
    )
    assert worker_of(req) == (
        "sum-1",
        rq.WorkerDeploymentOptions("dep", "b1", True),
        VersioningBehavior.PINNED,
    )


def test_a_worker_without_a_deployment_hands_on_nothing() -> None:
    assert worker_of(ws.RespondWorkflowTaskCompletedRequest()) == (
        "",
        None,
        VersioningBehavior.UNSPECIFIED,
    )
    unversioned = ws.RespondWorkflowTaskCompletedRequest(
        deployment_options=deployment_pb.WorkerDeploymentOptions(deployment_name="dep")
    )
    _, options, _ = worker_of(unversioned)
    assert options == rq.WorkerDeploymentOptions("dep", "", False)
