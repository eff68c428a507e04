"""An update that a reset reapplies reaches the worker through its UpdateAdmitted event
only. The server sends an update's request as a protocol message on the workflow task
unless the update came from an UpdateAdmitted event, whose request the worker reads from
the history (`Update.Send` in service/history/workflow/update/update.go: a nil request
means "admitted by event", and no message goes out). Sending both made the SDK run the
update twice and fail every workflow task of the reset run with a non-determinism error
("Invalid transition while handling update response ... in state
CompletedImmediately"), so the run never went on. Found by recording the
reset-mid-all scenario of scripts/record_unseen.py against `tmodel serve`."""

from __future__ import annotations

import uuid

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import event_type_pb2 as ev
from temporalio.api.enums.v1 import failed_cause_pb2 as causes
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.worker import Worker

from tests.adapters.serve.sdk import bounded, eventually, execution


@workflow.defn(name="ResetUpdates", sandboxed=False)
class ResetUpdates:
    def __init__(self) -> None:
        self.seen: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: "done" in self.seen)
        return self.seen

    @workflow.signal
    def s(self, value: str) -> None:
        self.seen.append(value)

    @workflow.update
    def u(self, value: str) -> str:
        self.seen.append("u:" + value)
        return value


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_reapplied_update_runs_once_in_the_reset_run(client: Client) -> None:
    queue, workflow_id = f"reset-u-{uuid.uuid4()}", f"wf-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[ResetUpdates]):
        handle = await client.start_workflow(ResetUpdates.run, id=workflow_id, task_queue=queue)
        await handle.signal(ResetUpdates.s, "a")
        assert await handle.execute_update(ResetUpdates.u, "x") == "x"
        await handle.signal(ResetUpdates.s, "b")

        async def settled() -> bool:  # b's workflow task has completed
            events = (await handle.fetch_history()).events
            return events[-1].event_type == ev.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and any(
                e.event_type == ev.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
                and e.workflow_execution_signaled_event_attributes.input.payloads[0].data == b'"b"'
                for e in events
            )

        await eventually(settled)
        base = await handle.fetch_history()
        first_completed = next(
            e.event_id for e in base.events if e.event_type == ev.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        )
        reset = await client.workflow_service.reset_workflow_execution(
            ws.ResetWorkflowExecutionRequest(
                namespace="default",
                workflow_execution=execution(workflow_id, base.run_id),
                reason="reapply an update",
                workflow_task_finish_event_id=first_completed,
                request_id=str(uuid.uuid4()),
            )
        )
        again = client.get_workflow_handle(workflow_id, run_id=reset.run_id)
        assert await again.execute_update(ResetUpdates.u, "y") == "y"
        await again.signal(ResetUpdates.s, "done")
        assert await again.result() == ["a", "u:x", "b", "u:y", "done"]
    events = (await again.fetch_history()).events
    kinds = [e.event_type for e in events]
    assert ev.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED in kinds  # x, reapplied
    failed = [
        e.workflow_task_failed_event_attributes.cause
        for e in events
        if e.event_type == ev.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    assert failed == [causes.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW], failed
