"""What the official Python SDK's own integration tests found `tmodel serve` doing
differently from the dev server, each reproduced here through temporalio on its own
(this file does not use the SDK repository's tests): one server for the module, one
event loop per test."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.common import (
    Priority,
    RetryPolicy,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
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
    """Fails its first attempt; a later one returns its input, attempt, the memo it sees
    and its priority key."""

    @workflow.run
    async def run(self, text: str) -> list[str | int]:
        info = workflow.info()
        if info.attempt == 1:
            raise ApplicationError("first attempt fails")
        memo = str(workflow.memo_value("tag", ""))
        return [text, info.attempt, memo, info.priority.priority_key or 0]


@workflow.defn(name="SdkUpdated", sandboxed=False)
class SdkUpdated:
    """Completes on `finish`; `hang` is accepted and never completes, `echo` answers."""

    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done)
        return "finished"

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.update(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def hang(self) -> str:
        await workflow.wait_condition(lambda: False)
        return "never"

    @workflow.update
    def echo(self, value: str) -> str:
        return value


WORKFLOWS = [SdkChild, SdkParent, SdkRetried, SdkUpdated]


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
    attributes again (the SDK's test_retry_policy: the second attempt lost its argument),
    and keeps its priority, which the Started event carries (test_workflow_priorities)."""

    async def body(client: Client, queue: str) -> None:
        handle = await client.start_workflow(
            SdkRetried.run,
            "the input",
            id=f"r-{uuid.uuid4()}",
            task_queue=queue,
            memo={"tag": "kept"},
            priority=Priority(priority_key=3),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=1)),
            execution_timeout=timedelta(seconds=30),
        )
        assert await handle.result() == ["the input", 2, "kept", 3]

    run_with_worker(address, body)


def test_run_ids_are_version_7_uuids_of_the_start_time(address: str) -> None:
    """The server makes run ids with `uuid.NewV7` (the SDK's test_workflow_info asserts
    the version): the first 48 bits are the start's Unix milliseconds."""

    async def main() -> None:
        client = await Client.connect(address)
        before = time.time_ns() // 1_000_000
        handle = await client.start_workflow(
            "NoWorkerPollsThis", id=f"v7-{uuid.uuid4()}", task_queue=f"q-{uuid.uuid4()}"
        )
        after = time.time_ns() // 1_000_000
        run_id = uuid.UUID(handle.result_run_id or "")
        assert (run_id.version, run_id.variant) == (7, uuid.RFC_4122)
        assert before <= run_id.int >> 80 <= after
        await handle.terminate()

    asyncio.run(main())


def test_a_starts_user_metadata_is_on_its_started_event_and_in_describe(address: str) -> None:
    """The start's summary and details (temporal.api.sdk.v1.UserMetadata) are carried on
    WorkflowExecutionStarted and shown by Describe (the SDK's test_user_metadata_is_set)."""

    async def main() -> None:
        client = await Client.connect(address)
        handle = await client.start_workflow(
            "NoWorkerPollsThis",
            id=f"md-{uuid.uuid4()}",
            task_queue=f"q-{uuid.uuid4()}",
            static_summary="a summary",
            static_details="some details",
        )
        history = await handle.fetch_history()
        first = history.events[0]
        converter = client.data_converter.payload_converter
        assert converter.from_payload(first.user_metadata.summary) == "a summary"
        assert converter.from_payload(first.user_metadata.details) == "some details"
        description = await handle.describe()
        assert await description.static_summary() == "a summary"
        assert await description.static_details() == "some details"
        await handle.terminate()

    asyncio.run(main())


def test_updates_on_a_run_that_closed(address: str) -> None:
    """A run that completes with an update accepted and not completed fails it with the
    server's AcceptedUpdateCompletedWorkflow failure; an update it completed is answered
    again after the close (the SDK's test_unfinished_update_handler, test_async_loop_ordering)."""

    async def body(client: Client, queue: str) -> None:
        handle = await client.start_workflow(
            SdkUpdated.run,
            id=f"u-{uuid.uuid4()}",
            task_queue=queue,
            execution_timeout=timedelta(seconds=30),
        )
        assert await handle.execute_update(SdkUpdated.echo, "hi", id="echo") == "hi"
        hanging = await handle.start_update(
            "hang", id="hang", wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        await handle.signal(SdkUpdated.finish)
        assert await handle.result() == "finished"
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await hanging.result()
        assert isinstance(failed.value.cause, ApplicationError)
        assert failed.value.cause.type == "AcceptedUpdateCompletedWorkflow"
        assert await handle.execute_update(SdkUpdated.echo, "again", id="echo") == "hi"

    run_with_worker(address, body)


def test_update_with_start_attaches_to_an_update_the_run_knows(address: str) -> None:
    """Update-with-start whose update id the current run already has attaches to it, even
    with the FAIL conflict policy, and starts nothing (multioperation/api.go; the SDK's
    test_update_with_start_always_attaches_to_completed_update)."""

    async def body(client: Client, queue: str) -> None:
        workflow_id = f"uws-{uuid.uuid4()}"

        def operation() -> WithStartWorkflowOperation[SdkUpdated, str]:
            return WithStartWorkflowOperation(
                SdkUpdated.run,
                id=workflow_id,
                task_queue=queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                execution_timeout=timedelta(seconds=30),
            )

        first, second = operation(), operation()
        answer = await client.execute_update_with_start_workflow(
            SdkUpdated.echo, "one", id="echo", start_workflow_operation=first
        )
        again = await client.execute_update_with_start_workflow(
            SdkUpdated.echo, "two", id="echo", start_workflow_operation=second
        )
        assert (answer, again) == ("one", "one")
        handle = await first.workflow_handle()
        assert (await second.workflow_handle()).result_run_id == handle.result_run_id
        await handle.signal(SdkUpdated.finish)
        assert await handle.result() == "finished"

    run_with_worker(address, body)


def test_an_undefined_search_attribute_is_refused_as_the_dev_server_refuses_it(
    address: str,
) -> None:
    """The dev server's message (CustomSearchAttributesMapper, common/namespace/
    namespace.go), which the SDK's test_search_attributes_on_dev_server looks for."""

    async def main() -> None:
        client = await Client.connect(address)
        with pytest.raises(RPCError) as refused:
            await client.start_workflow(
                "NoWorkerPollsThis",
                id=f"sa-{uuid.uuid4()}",
                task_queue=f"q-{uuid.uuid4()}",
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(SearchAttributeKey.for_keyword("Undefined"), "x")]
                ),
            )
        assert refused.value.status == RPCStatusCode.INVALID_ARGUMENT
        assert refused.value.message == (
            "Namespace default has no mapping defined for search attribute Undefined"
        )

    asyncio.run(main())
