"""An update that a reset reapplies reaches the worker through its UpdateAdmitted event
only. The server sends an update's request as a protocol message on the workflow task
unless the update came from an UpdateAdmitted event, whose request the worker reads from
the history (`Update.Send` in service/history/workflow/update/update.go: a nil request
means "admitted by event", and no message goes out). Sending both made the SDK run the
update twice and fail every workflow task of the reset run with a non-determinism error
("Invalid transition while handling update response ... in state
CompletedImmediately"), so the run never went on. Found by recording the
reset-mid-all scenario of scripts/record_unseen.py against `tmodel serve`. Also: the
history size a reset writes on a task it starts itself."""

from __future__ import annotations

import uuid

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import event_type_pb2 as ev
from temporalio.api.enums.v1 import failed_cause_pb2 as causes
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.worker import Worker

from tests.adapters.serve.sdk import (
    bounded,
    eventually,
    first_workflow_task,
    reset_request,
)


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
            reset_request(workflow_id, base.run_id, first_completed, "reapply an update")
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


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_reset_that_starts_the_task_itself_reports_the_history_size(
    client: Client,
) -> None:
    """A reset to a task that a worker holds as a transient retry (nothing of it written)
    writes that task's WorkflowTaskStarted itself, with the rebuilt run's size, as any
    start does (tests/fixtures/unseen-histories/held-reset.json: 264 bytes, the size of
    the two events before it). `tmodel serve` wrote 0: the store knows the size, the
    reset was not told it."""
    workflow_id = f"wf-{uuid.uuid4()}"
    service = client.workflow_service
    task = await first_workflow_task(client, "default", workflow_id)
    failed = ws.RespondWorkflowTaskFailedRequest(
        namespace="default", task_token=task.task_token, identity="raw"
    )
    await service.respond_workflow_task_failed(failed)
    poll = ws.PollWorkflowTaskQueueRequest(
        namespace="default", task_queue=tq_pb.TaskQueue(name=workflow_id), identity="raw"
    )
    held = await service.poll_workflow_task_queue(poll)  # the retry, held unwritten
    assert held.attempt == 2
    base = await client.get_workflow_handle(workflow_id).fetch_history()
    first_started = next(
        e.event_id for e in base.events if e.event_type == ev.EVENT_TYPE_WORKFLOW_TASK_STARTED
    )
    # the point as the CLI's FirstWorkflowTask reset gives it for a run with no completed
    # task: the first task's Started, so the rebuilt run holds the task scheduled only
    reset = await service.reset_workflow_execution(
        reset_request(workflow_id, base.run_id, first_started, "while held")
    )
    history = await client.get_workflow_handle(workflow_id, run_id=reset.run_id).fetch_history()
    started = history.events[first_started - 1]
    assert started.event_type == ev.EVENT_TYPE_WORKFLOW_TASK_STARTED
    assert started.workflow_task_started_event_attributes.identity == "history-service"
    written = started.workflow_task_started_event_attributes.history_size_bytes
    original = base.events[first_started - 1].workflow_task_started_event_attributes
    assert written == original.history_size_bytes > 0  # the same two events before it
