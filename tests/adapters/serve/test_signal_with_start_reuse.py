"""SignalWithStartWorkflowExecution against a workflow whose current run has closed
starts a new run only as the id reuse policy allows (createWorkflowMutationFunction in
service/history/api/signalwithstartworkflow/signal_with_start_workflow.go, by
api.ResolveDuplicateWorkflowID), as a start does: REJECT_DUPLICATE never,
ALLOW_DUPLICATE_FAILED_ONLY only after a failed (here: terminated) run, ALLOW_DUPLICATE
always. A refusal is the start's ALREADY_EXISTS with WorkflowExecutionAlreadyStartedFailure
and the dev server's message. `tmodel serve` started a new run whatever the policy
(found through the `__temporal_system` signal-with-start, test_nexus_system.py); the slow
test runs the same checks against a dev server.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError

from tests.adapters.serve.sdk import bounded, connected, details

REJECT = wf_enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
FAILED_ONLY = wf_enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
ALLOW = wf_enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE


def _request(
    workflow_id: str, policy: wf_enums.WorkflowIdReusePolicy.ValueType
) -> ws.SignalWithStartWorkflowExecutionRequest:
    return ws.SignalWithStartWorkflowExecutionRequest(
        namespace="default",
        workflow_id=workflow_id,
        workflow_type=common_pb.WorkflowType(name="waits"),
        task_queue=tq_pb.TaskQueue(name=workflow_id),  # a queue of its own
        signal_name="poke",
        request_id=str(uuid.uuid4()),
        workflow_id_reuse_policy=policy,
    )


async def transcript(client: Client) -> dict[str, Any]:
    """Each case's answer: the new run's id, or the refusal's code, message and details."""
    service = client.workflow_service
    tag = uuid.uuid4().hex[:8]
    out: dict[str, Any] = {}
    for case, policy, close in (
        ("reject-after-completed", REJECT, "complete"),
        ("failed-only-after-completed", FAILED_ONLY, "complete"),
        ("failed-only-after-terminated", FAILED_ONLY, "terminate"),
        ("allow-after-completed", ALLOW, "complete"),
    ):
        workflow_id = f"sws-reuse-{case}-{tag}"
        first = await service.signal_with_start_workflow_execution(_request(workflow_id, ALLOW))
        handle = client.get_workflow_handle(workflow_id)
        if close == "terminate":
            await handle.terminate("closed")
        else:  # the run completes: its first workflow task answered with a completion
            poll = ws.PollWorkflowTaskQueueRequest(
                namespace="default", task_queue=tq_pb.TaskQueue(name=workflow_id), identity="raw"
            )
            task = await service.poll_workflow_task_queue(poll)
            done = ws.RespondWorkflowTaskCompletedRequest(
                namespace="default", task_token=task.task_token, identity="raw"
            )
            complete = done.commands.add()
            complete.command_type = command_enums.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION
            complete.complete_workflow_execution_command_attributes.SetInParent()
            await service.respond_workflow_task_completed(done)
        try:
            again = await service.signal_with_start_workflow_execution(
                _request(workflow_id, policy)
            )
        except RPCError as error:
            message = error.message.replace(first.run_id, "<first run>")
            out[case] = [error.status.name, message.replace(workflow_id, "<id>"), details(error)]
        else:
            out[case] = "new run" if again.run_id != first.run_id else "same run"
    return out


def check(seen: dict[str, Any]) -> None:
    failure = ["temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure"]
    assert seen == {
        "reject-after-completed": [
            "ALREADY_EXISTS",
            "Workflow execution already finished. WorkflowId: <id>, RunId: <first run>. "
            "Workflow Id reuse policy: reject duplicate workflow Id.",
            failure,
        ],
        "failed-only-after-completed": [
            "ALREADY_EXISTS",
            "Workflow execution already finished successfully. WorkflowId: <id>, RunId: "
            "<first run>. Workflow Id reuse policy: allow duplicate workflow Id if last run "
            "failed.",
            failure,
        ],
        "failed-only-after-terminated": "new run",
        "allow-after-completed": "new run",
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    yield await Client.connect(address)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_closed_run_is_followed_as_the_reuse_policy_allows(client: Client) -> None:
    check(await transcript(client))


@pytest.mark.slow
@pytest.mark.ci_sample
@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_dev_server_answers_the_same(dev_address: str) -> None:
    check(await transcript(await connected(dev_address)))
