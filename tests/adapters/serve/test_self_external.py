"""A workflow that signals or asks to cancel its own workflow id gets a failure, as if the
target did not exist: the server checks for it before any call
(processSignalExecution / processCancelExecution in
service/history/transfer_queue_active_task_executor.go, "handle workflow signal itself";
the run id does not matter). tests/fixtures/unseen-histories/self-signals.json and
cancel-self.json are the dev server's histories. `tmodel serve` delivered both to the
run itself (found by running scripts/record_unseen.py's `hunt` scenario against it)."""

from __future__ import annotations

import uuid

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import event_type_pb2 as ev
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from tests.adapters.serve.sdk import bounded, eventually


@workflow.defn(name="SelfExternal", sandboxed=False)
class SelfExternal:
    def __init__(self) -> None:
        self.signals: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        me = workflow.get_external_workflow_handle(workflow.info().workflow_id)
        outcomes = []
        for attempt in (me.signal(SelfExternal.s, "from myself"), me.cancel()):
            try:
                await attempt
                outcomes.append("delivered")
            except ApplicationError as e:
                outcomes.append(e.type or "")
        return [*outcomes, *self.signals]

    @workflow.signal
    def s(self, value: str) -> None:
        self.signals.append(value)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_workflow_cannot_signal_or_cancel_itself(client: Client) -> None:
    queue, workflow_id = f"self-{uuid.uuid4()}", f"wf-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[SelfExternal]):
        handle = await client.start_workflow(SelfExternal.run, id=workflow_id, task_queue=queue)
        result = await handle.result()
    assert result == ["ExternalWorkflowExecutionNotFound", "ExternalWorkflowExecutionNotFound"]
    kinds = [e.event_type for e in (await handle.fetch_history()).events]
    assert ev.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED in kinds
    assert ev.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED in kinds
    assert ev.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED not in kinds
    assert ev.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED not in kinds


@workflow.defn(name="Lingering", sandboxed=False)
class Lingering:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(3600)


@workflow.defn(name="CancelAndLeave", sandboxed=False)
class CancelAndLeave:
    """Starts a child, then asks to cancel it and completes in the same workflow task."""

    @workflow.run
    async def run(self) -> str:
        child = await workflow.start_child_workflow(
            Lingering.run, id=workflow.info().workflow_id + "-c"
        )
        child.cancel()
        return "left"


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_run_closed_in_the_batch_sends_no_cancel(client: Client) -> None:
    """The run closes in the batch that asks to cancel its child: the cancel is never
    sent (processCancelExecution does nothing for a closed run), and the child is only
    terminated by the parent close policy (tests/fixtures/unseen-histories/
    child-cancel-early.child.json is the dev server's child)."""
    queue, workflow_id = f"leave-{uuid.uuid4()}", f"wf-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[CancelAndLeave, Lingering]):
        handle = await client.start_workflow(CancelAndLeave.run, id=workflow_id, task_queue=queue)
        assert await handle.result() == "left"
        child = client.get_workflow_handle(workflow_id + "-c")

        async def closed() -> bool:
            described = await child.describe()
            return described.status is not None and described.status.name != "RUNNING"

        await eventually(closed)
    kinds = [e.event_type for e in (await child.fetch_history()).events]
    assert kinds[-1] == ev.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
    assert ev.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED not in kinds
