"""DescribeWorkflowExecution of a child as the dev server shows it: its parent's
namespace id; its start's request id, the parent's run id, the Initiated event's id and
version joined by colons; and one more state transition than its writes, the
scheduling of its first workflow task once the parent recorded the start. Serve left
out the parent's namespace id, made the request id "RUN/ID" and counted one transition
fewer, and a visibility query on StateTransitionCount still one fewer. The slow twin
finds the same on the dev server."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from tests.adapters.serve.sdk import ACTIVITIES, WORKFLOWS, Parent, Waiter, bounded, connected

INITIATED = 5  # Parent's StartChildWorkflowExecutionInitiated: after its first task's events
EXPECTED: dict[str, object] = {
    "parent namespace id is the namespace's": True,
    "request ids": [f"PARENT-RUN:{INITIATED}:0"],
    "state transitions, waiting": 4,
    "state transitions, completed": 7,
    "found by its count": 1,
}


async def _describe(client: Client, workflow_id: str) -> ws.DescribeWorkflowExecutionResponse:
    return (await client.get_workflow_handle(workflow_id).describe()).raw_description


async def observed(address: str) -> dict[str, object]:
    client = await connected(address)
    queue = f"child-{uuid.uuid4().hex[:8]}"
    child_id = f"{queue}-c"
    out: dict[str, object] = {}
    async with Worker(client, task_queue=queue, workflows=WORKFLOWS, activities=ACTIVITIES):
        parent = await client.start_workflow(
            Parent.run, args=[child_id, queue], id=f"{queue}-p", task_queue=queue
        )
        for _ in range(100):  # until the child's first workflow task has completed
            try:
                child = await _describe(client, child_id)
                if child.workflow_execution_info.history_length >= 4:
                    break
            except RPCError:  # not started yet
                pass
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the child did not complete its first workflow task")
        namespace = await client.workflow_service.describe_namespace(
            ws.DescribeNamespaceRequest(namespace="default")
        )
        info = child.workflow_execution_info
        out["parent namespace id is the namespace's"] = (
            info.parent_namespace_id == namespace.namespace_info.id
        )
        run_id = parent.result_run_id or ""
        out["request ids"] = [
            key.replace(run_id, "PARENT-RUN")
            for key in child.workflow_extended_info.request_id_infos
        ]
        out["state transitions, waiting"] = info.state_transition_count
        await client.get_workflow_handle(child_id).signal(Waiter.finish, "done")
        await parent.result()
        done = await _describe(client, child_id)
        out["state transitions, completed"] = done.workflow_execution_info.state_transition_count
        # a visibility query on the count finds the closed child by the same figure
        query = f"WorkflowId = '{child_id}' AND StateTransitionCount = 7"
        for _ in range(50):  # visibility is written after the close
            found = (await client.count_workflows(query)).count
            if found:
                break
            await asyncio.sleep(0.1)
        out["found by its count"] = found
    return out


@pytest.mark.asyncio
@bounded
async def test_a_child_is_described_as_the_server_describes_it(address: str) -> None:
    assert await observed(address) == EXPECTED


@pytest.mark.slow
def test_the_dev_server_describes_it_alike(dev_address: str) -> None:
    assert asyncio.run(observed(dev_address)) == EXPECTED
