"""A rejected update is forgotten once its waiting callers have its rejection, as the
server's update registry forgets it (service/history/workflow/update/registry.go): a
later update with the same id is a new update, which the worker's validator judges
again, and a later poll for it finds no update. Serve used to answer both from the
rejection it had kept. The slow twin finds the same on the dev server."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.api.update.v1 import message_pb2 as update_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.worker import Worker

from tests.adapters.serve.sdk import ACTIVITIES, WORKFLOWS, Waiter, bounded, connected, execution


async def reuse(address: str) -> list[str]:
    """What each step answered."""
    client: Client = await connected(address)
    queue = f"rejected-{uuid.uuid4().hex[:8]}"
    seen: list[str] = []
    async with Worker(client, task_queue=queue, workflows=WORKFLOWS, activities=ACTIVITIES):
        handle = await client.start_workflow(Waiter.run, "start", id=queue, task_queue=queue)
        for value in ("", "new"):  # the validator refuses an empty value
            try:
                seen.append(await handle.execute_update(Waiter.set_value, value, id="u1"))
            except WorkflowUpdateFailedError as error:
                seen.append(f"rejected: {error.cause}")
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(Waiter.set_value, "", id="u2")
        poll = ws.PollWorkflowExecutionUpdateRequest(
            namespace="default",
            update_ref=update_pb.UpdateRef(workflow_execution=execution(queue), update_id="u2"),
        )
        try:
            await client.workflow_service.poll_workflow_execution_update(poll)
            seen.append("poll answered")
        except RPCError as error:
            seen.append(f"poll: {error.status.name} {error.message}")
        seen.append(await handle.query(Waiter.state))
        await handle.terminate()
    return seen


EXPECTED = [
    "rejected: ValueError: an empty value is refused",
    "start",  # the old value: the second u1 was judged again, and accepted
    'poll: NOT_FOUND update "u2" not found',
    "new",
]


@pytest.mark.asyncio
@bounded
async def test_a_rejected_update_id_is_a_new_update_again(address: str) -> None:
    assert await reuse(address) == EXPECTED


@pytest.mark.slow
def test_the_dev_server_forgets_it_too(dev_address: str) -> None:
    assert asyncio.run(reuse(dev_address)) == EXPECTED
