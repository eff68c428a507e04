"""A child started with no id reuse policy and no parent close policy (the TypeScript SDK
sends both unspecified) gets the server's defaults before its initiated event is
written: ALLOW_DUPLICATE and TERMINATE (handleCommandStartChildWorkflow in
service/history/api/respondworkflowtaskcompleted/workflow_task_completed_handler.go,
SetDefaultWorkflowIdReusePolicy and SetDefaultParentClosePolicy in
common/enums/defaults.go). The model wrote them unspecified and the child's start then
refused an id whose earlier run had closed (WORKFLOW_ALREADY_EXISTS): the fourth hunt's
TypeScript workflow, run a second time on one `tmodel serve`. Through temporalio, whose
workflow sends the unspecified values as given."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import cast

import pytest
import pytest_asyncio
from temporalio import workflow
from temporalio.api.enums.v1 import EventType, ParentClosePolicy, WorkflowIdReusePolicy
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.worker import Worker

from tests.adapters.serve.sdk import bounded

QUEUE = "child-policy-defaults"
UNSPECIFIED_REUSE = cast(WorkflowIDReusePolicy, 0)
UNSPECIFIED_CLOSE = cast(workflow.ParentClosePolicy, 0)


@workflow.defn(name="DefaultsKid", sandboxed=False)
class DefaultsKid:
    @workflow.run
    async def run(self) -> str:
        return "kid done"


@workflow.defn(name="DefaultsParent", sandboxed=False)
class DefaultsParent:
    @workflow.run
    async def run(self, kid: str) -> str:
        result: str = await workflow.execute_child_workflow(
            DefaultsKid.run,
            id=kid,
            id_reuse_policy=UNSPECIFIED_REUSE,
            parent_close_policy=UNSPECIFIED_CLOSE,
        )
        return result


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    client = await Client.connect(address)
    async with Worker(client, task_queue=QUEUE, workflows=[DefaultsParent, DefaultsKid]):
        yield client


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_an_unspecified_child_policy_gets_the_servers_default(client: Client) -> None:
    kid = f"kid-{uuid.uuid4()}"
    for _ in range(2):  # the second start finds the first child run closed
        handle = await client.start_workflow(
            DefaultsParent.run, kid, id=f"parent-{uuid.uuid4()}", task_queue=QUEUE
        )
        assert await handle.result() == "kid done"
        initiated = next(
            e.start_child_workflow_execution_initiated_event_attributes
            for e in (await handle.fetch_history()).events
            if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
        )
        assert (
            initiated.workflow_id_reuse_policy
            == WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
        )
        assert initiated.parent_close_policy == ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE
