"""A closing parent's children, through `tmodel serve`: TERMINATE writes the child's
WorkflowExecutionTerminated with reason "by parent close policy" signed
`history-service`; REQUEST_CANCEL writes its WorkflowExecutionCancelRequested signed
`history-service`, with no cause, naming the parent (`applyParentClosePolicy` in
transfer_queue_active_task_executor.go; recorded: `pcp-*.child.json` of the unseen
histories). Serve's transfer queue sends what core's `parent_close_requests` says."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import event_type_pb2 as ev
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker
from temporalio.workflow import ParentClosePolicy

from tests.adapters.serve.sdk import Waiter, bounded

QUEUE = "parent-close"


@workflow.defn(sandboxed=False)
class LeavesChildren:
    """Starts two Waiter children, one per policy, and returns at once."""

    @workflow.run
    async def run(self, prefix: str) -> None:
        for name, policy in (
            ("term", ParentClosePolicy.TERMINATE),
            ("cancel", ParentClosePolicy.REQUEST_CANCEL),
        ):
            await workflow.start_child_workflow(
                Waiter.run,
                "child",
                id=f"{prefix}-{name}",
                task_queue=QUEUE,
                parent_close_policy=policy,
                execution_timeout=timedelta(minutes=5),
            )


async def _event_of(handle: WorkflowHandle[Any, Any], kind: int) -> HistoryEvent:
    """The first event of `kind` in the run's history, once the run has it."""
    for _ in range(100):
        history = await handle.fetch_history()
        found = [e for e in history.events if e.event_type == kind]
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no event of type {kind}")


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_parent_close_requests_are_signed_by_the_history_service(client: Client) -> None:
    prefix = f"pc-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=QUEUE, workflows=[LeavesChildren, Waiter]):
        parent = await client.start_workflow(
            LeavesChildren.run, prefix, id=f"{prefix}-parent", task_queue=QUEUE
        )
        await parent.result()
        term = client.get_workflow_handle(f"{prefix}-term")
        cancel = client.get_workflow_handle(f"{prefix}-cancel")

        terminated = await _event_of(term, ev.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)
        asked = await _event_of(cancel, ev.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    t = terminated.workflow_execution_terminated_event_attributes
    assert (t.reason, t.identity) == ("by parent close policy", "history-service")
    c = asked.workflow_execution_cancel_requested_event_attributes
    assert (c.cause, c.identity) == ("", "history-service")
    assert c.external_workflow_execution.workflow_id == f"{prefix}-parent"
    assert c.external_workflow_execution.run_id == parent.result_run_id
