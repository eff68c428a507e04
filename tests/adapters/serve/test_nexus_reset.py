"""ResetWorkflowExecution of a caller run with a Nexus operation pending, through
`tmodel serve`, as the dev server does it (tests/fixtures/unseen-histories/
nexus-reset.json, the reset of nexus-reset.base.json, recorded by
scripts/unseen_nexus_reset.py): the reset is accepted (the rebuild folds the Nexus
events, core rebuild_nexus.py; it used to refuse them with InvalidArgument), the reset
run holds the operation as it was at the reset point (no cancel, no new schedule), and
the handler run's completion, addressed to the base run, reaches the reset run
(completion.go: a NotFound from the run the callback names is tried again on the
current run).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import nexusrpc
import nexusrpc.handler
import pytest
import pytest_asyncio
from temporalio import nexus, workflow
from temporalio.api.enums.v1 import event_type_pb2 as ev
from temporalio.api.enums.v1 import failed_cause_pb2 as causes
from temporalio.api.nexus.v1 import message_pb2 as nexus_pb
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.client import Client
from temporalio.worker import Worker

from tests.adapters.serve.sdk import bounded, eventually, reset_request

ENDPOINT = "nexus-reset-endpoint"
QUEUE = "nexus-reset"


@workflow.defn(sandboxed=False)
class ResetHandlerRun:
    """The workflow behind the operation: it ends when told to."""

    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self, value: str) -> str:
        await workflow.wait_condition(lambda: self.done)
        return f"ran:{value}"

    @workflow.signal
    def finish(self) -> None:
        self.done = True


@nexusrpc.service
class ResetOps:
    start: nexusrpc.Operation[str, str]


@nexusrpc.handler.service_handler(service=ResetOps)
class ResetOpsHandler:
    @nexus.workflow_run_operation
    async def start(
        self, ctx: nexus.WorkflowRunOperationContext, value: str
    ) -> nexus.WorkflowHandle[str]:
        return await ctx.start_workflow(ResetHandlerRun.run, value, id=f"{value}.handler")


@workflow.defn(sandboxed=False)
class ResetCaller:
    @workflow.run
    async def run(self, value: str) -> str:
        client = workflow.create_nexus_client(endpoint=ENDPOINT, service=ResetOps)
        handle = await client.start_operation(ResetOps.start, value)
        return await handle


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    yield await Client.connect(address)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_run_with_a_pending_nexus_operation_is_reset_and_completes(
    client: Client,
) -> None:
    target = nexus_pb.EndpointTarget.Worker(namespace="default", task_queue=QUEUE)
    spec = nexus_pb.EndpointSpec(name=ENDPOINT, target=nexus_pb.EndpointTarget(worker=target))
    await client.operator_service.create_nexus_endpoint(ops.CreateNexusEndpointRequest(spec=spec))
    workflow_id = f"nexus-reset-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=QUEUE,
        workflows=[ResetCaller, ResetHandlerRun],
        nexus_service_handlers=[ResetOpsHandler()],
    ):
        handle = await client.start_workflow(
            ResetCaller.run, workflow_id, id=workflow_id, task_queue=QUEUE
        )

        async def waiting() -> bool:  # started, and the caller's task after it completed
            kinds = [e.event_type for e in (await handle.fetch_history()).events]
            return (
                ev.EVENT_TYPE_NEXUS_OPERATION_STARTED in kinds
                and kinds[-1] == ev.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
            )

        await eventually(waiting)
        base = await handle.fetch_history()
        last = max(
            e.event_id for e in base.events if e.event_type == ev.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        )
        reset = await client.workflow_service.reset_workflow_execution(
            reset_request(workflow_id, base.run_id, last, "reset with a pending operation")
        )
        assert reset.run_id and reset.run_id != base.run_id
        await client.get_workflow_handle(f"{workflow_id}.handler").signal(ResetHandlerRun.finish)
        again = client.get_workflow_handle(workflow_id, run_id=reset.run_id)
        assert await again.result() == f"ran:{workflow_id}"
    events = (await again.fetch_history()).events
    kinds = [e.event_type for e in events]
    # the operation's events up to the reset point are the base run's, once each
    assert kinds[: last - 1] == [e.event_type for e in base.events[: last - 1]]
    assert kinds.count(ev.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED) == 1
    assert ev.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED not in kinds
    failed = events[last - 1]
    assert failed.event_type == ev.EVENT_TYPE_WORKFLOW_TASK_FAILED
    cause = failed.workflow_task_failed_event_attributes.cause
    assert cause == causes.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
    completed = [e for e in events if e.event_type == ev.EVENT_TYPE_NEXUS_OPERATION_COMPLETED]
    assert len(completed) == 1
    scheduled = next(
        e for e in base.events if e.event_type == ev.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED
    )
    attrs = completed[0].nexus_operation_completed_event_attributes
    assert attrs.scheduled_event_id == scheduled.event_id
    assert attrs.request_id == scheduled.nexus_operation_scheduled_event_attributes.request_id
