"""What the official Python SDK's own integration tests found `tmodel serve` doing
differently from the dev server, each reproduced here through temporalio on its own
(this file does not use the SDK repository's tests): one server for the module, one
event loop per test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from tests.adapters.serve.serving import serve


@workflow.defn(name="SdkChild", sandboxed=False)
class SdkChild:
    @workflow.run
    async def run(self) -> str:
        return workflow.info().workflow_id


@workflow.defn(name="SdkParent", sandboxed=False)
class SdkParent:
    @workflow.run
    async def run(self, child_id: str) -> str:
        return str(await workflow.execute_child_workflow(SdkChild.run, id=child_id))


@workflow.defn(name="SdkRetried", sandboxed=False)
class SdkRetried:
    """Fails its first attempt; a later one returns its input and the memo it sees."""

    @workflow.run
    async def run(self, text: str) -> list[str | int]:
        info = workflow.info()
        if info.attempt == 1:
            raise ApplicationError("first attempt fails")
        return [text, info.attempt, str(workflow.memo_value("tag", ""))]


WORKFLOWS = [SdkChild, SdkParent, SdkRetried]


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    with serve() as address:
        yield address


def run_with_worker(address: str, body: Callable[[Client, str], Awaitable[None]]) -> None:
    """Connect, run a worker for this module's workflows on a fresh queue, run `body`."""

    async def main() -> None:
        client = await Client.connect(address)
        queue = f"q-{uuid.uuid4()}"
        async with Worker(client, task_queue=queue, workflows=WORKFLOWS):
            await body(client, queue)

    asyncio.run(main())


def test_describe_and_list_name_the_root_of_the_runs_tree(address: str) -> None:
    """A top-level run is its own root; a child's root is its parent's
    (WorkflowExecutionInfo.root_execution, which the SDK shows as root_id/root_run_id)."""

    async def body(client: Client, queue: str) -> None:
        parent_id, child_id = f"p-{uuid.uuid4()}", f"c-{uuid.uuid4()}"
        parent = await client.start_workflow(
            SdkParent.run,
            child_id,
            id=parent_id,
            task_queue=queue,
            execution_timeout=timedelta(seconds=30),
        )
        assert await parent.result() == child_id
        top = await parent.describe()
        assert (top.root_id, top.root_run_id) == (parent_id, parent.result_run_id)
        child = await client.get_workflow_handle(child_id).describe()
        assert child.parent_id == parent_id
        assert (child.root_id, child.root_run_id) == (parent_id, parent.result_run_id)
        listed = [w async for w in client.list_workflows(f"WorkflowId = '{child_id}'")]
        assert [(w.root_id, w.root_run_id) for w in listed] == [(parent_id, parent.result_run_id)]

    run_with_worker(address, body)


def test_a_retried_run_starts_with_the_first_runs_input_and_memo(address: str) -> None:
    """A workflow retry's next run gets the failed run's input, header, memo and search
    attributes again (the SDK's test_retry_policy: the second attempt lost its argument)."""

    async def body(client: Client, queue: str) -> None:
        handle = await client.start_workflow(
            SdkRetried.run,
            "the input",
            id=f"r-{uuid.uuid4()}",
            task_queue=queue,
            memo={"tag": "kept"},
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=1)),
            execution_timeout=timedelta(seconds=30),
        )
        assert await handle.result() == ["the input", 2, "kept"]

    run_with_worker(address, body)
