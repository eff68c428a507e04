"""A child that continues as new: the parent's ChildWorkflowExecutionCompleted names the
run that closed the child's chain, not the run the parent started
(service/history/api/recordchildworkflowcompleted/api.go writes the request's
child execution, which the closing run sends)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio import workflow
from temporalio.api.enums.v1 import event_type_pb2 as ev
from temporalio.client import Client
from temporalio.worker import Worker

from tests.adapters.serve.sdk import bounded, connected

QUEUE = "child-chain"


@workflow.defn(sandboxed=False)
class Hops:
    @workflow.run
    async def run(self, left: int) -> str:
        if left > 0:
            workflow.continue_as_new(left - 1)
        return workflow.info().run_id


@workflow.defn(sandboxed=False)
class HopsParent:
    @workflow.run
    async def run(self, child_id: str) -> str:
        return str(await workflow.execute_child_workflow(Hops.run, 2, id=child_id))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chain_client(client: Client) -> AsyncIterator[Client]:
    async with Worker(client, task_queue=QUEUE, workflows=[Hops, HopsParent]):
        yield client


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_parent_names_the_run_that_closed_the_childs_chain(
    chain_client: Client,
) -> None:
    await _the_parent_names_the_last_run(chain_client)


@pytest.mark.slow
@pytest.mark.ci_sample
@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_real_dev_server_names_the_same_run(dev_address: str) -> None:
    client = await connected(dev_address)
    async with Worker(client, task_queue=QUEUE, workflows=[Hops, HopsParent]):
        await _the_parent_names_the_last_run(client)


async def _the_parent_names_the_last_run(chain_client: Client) -> None:
    child_id = f"child-{uuid.uuid4()}"
    parent = await chain_client.start_workflow(
        HopsParent.run, child_id, id=f"parent-{uuid.uuid4()}", task_queue=QUEUE
    )
    last_run = await parent.result()
    started = first_run = ""
    async for event in parent.fetch_history_events():
        if event.event_type == ev.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
            first_run = (
                event.child_workflow_execution_started_event_attributes.workflow_execution.run_id
            )
        if event.event_type == ev.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
            attributes = event.child_workflow_execution_completed_event_attributes
            started = attributes.workflow_execution.run_id
    assert first_run and last_run != first_run  # the child did continue as new
    assert started == last_run
    described = await chain_client.get_workflow_handle(child_id).describe()
    assert described.run_id == last_run
