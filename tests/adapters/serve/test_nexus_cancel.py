"""A caller's cancellation of a Nexus operation through `tmodel serve`: the caller
workflow starts a workflow-run operation whose handler workflow waits to be canceled,
then cancels the operation (RequestCancelNexusOperation). Its history
(NexusOperationCancelRequested, the cancel request's outcome
NexusOperationCancelRequestCompleted, and NexusOperationCanceled when the handler's
workflow closes canceled) and the handler workflow's equal the dev server's, field for
field with ids renamed (adapters/history_compare.py), recorded in
tests/fixtures/serve/nexus_cancel_dev.json by the same scenario; the slow test checks
the record against a dev server.

Cases, one per cancellation type the SDK offers: WAIT_COMPLETED (the caller sees the
cancellation once the operation is Canceled), WAIT_REQUESTED (once the handler
acknowledged the cancel request), TRY_CANCEL (as soon as the command is sent) and
ABANDON (no cancel request: the server is not told). And two refusals, a raw worker's
commands: a cancel of an operation that does not exist, and a second cancel of the same
operation (BAD_REQUEST_CANCEL_NEXUS_OPERATION_ATTRIBUTES). With TRY_CANCEL the caller closes
in the workflow task that requested the cancel, and the server never sends it (the
executor drops the task of a closed run): the handler's run is terminated by the test.

`python -m tests.adapters.serve.test_nexus_cancel HOST:PORT` prints the record.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import nexusrpc
import pytest
import pytest_asyncio
from temporalio import nexus, workflow
from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_enums
from temporalio.api.nexus.v1 import message_pb2 as nexus_pb
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from tests.adapters.serve.nexus_record import differences, history
from tests.adapters.serve.sdk import bounded, connected, first_workflow_task

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "serve" / "nexus_cancel_dev.json"
ENDPOINT = "nexus-cancel-endpoint"
QUEUE = "nexus-cancel"


@workflow.defn(sandboxed=False)
class NexusWaiter:
    """The handler's workflow: it waits until it is canceled, and closes canceled a
    second later (so that the caller's workflow task after the cancel request's outcome
    is done before the operation's outcome arrives, on either server)."""

    @workflow.run
    async def run(self, value: str) -> str:
        try:
            await workflow.wait_condition(lambda: False)
        except asyncio.CancelledError:
            await workflow.sleep(1)
            raise
        return value


@nexusrpc.service
class CancelOps:
    wait: nexusrpc.Operation[str, str]


@nexusrpc.handler.service_handler(service=CancelOps)
class CancelOpsHandler:
    @nexus.workflow_run_operation
    async def wait(
        self, ctx: nexus.WorkflowRunOperationContext, value: str
    ) -> nexus.WorkflowHandle[str]:
        return await ctx.start_workflow(NexusWaiter.run, value, id=f"nexus-waiter-{value}")


@workflow.defn(sandboxed=False)
class NexusCancelCaller:
    @workflow.run
    async def run(self, cancellation: str, value: str) -> str:
        client = workflow.create_nexus_client(endpoint=ENDPOINT, service=CancelOps)
        handle = await client.start_operation(
            CancelOps.wait,
            value,
            cancellation_type=workflow.NexusOperationCancellationType[cancellation],
        )
        handle.cancel()
        try:
            result: str = await handle
            return result
        except Exception as error:  # what the caller saw, as its result
            cause = error.__cause__
            return f"{type(error).__name__}: {error} / {type(cause).__name__}: {cause}"


CASES = ("WAIT_COMPLETED", "WAIT_REQUESTED", "TRY_CANCEL", "ABANDON")


async def _settled(client: Client, workflow_id: str, last: str) -> None:
    """Wait until the history's last event is of type `last` (an outcome written after
    the caller closed, or the handler run's close)."""
    for _ in range(100):
        events = await history(client, workflow_id)
        if events and events[-1]["eventType"] == last:
            return
        await asyncio.sleep(0.1)


async def transcript(client: Client) -> dict[str, Any]:
    target = nexus_pb.EndpointTarget.Worker(namespace="default", task_queue=QUEUE)
    spec = nexus_pb.EndpointSpec(name=ENDPOINT, target=nexus_pb.EndpointTarget(worker=target))
    service = client.operator_service
    listed = await service.list_nexus_endpoints(ops.ListNexusEndpointsRequest(name=ENDPOINT))
    if not listed.endpoints:
        await service.create_nexus_endpoint(ops.CreateNexusEndpointRequest(spec=spec))
    out: dict[str, Any] = {}
    async with Worker(
        client,
        task_queue=QUEUE,
        workflows=[NexusCancelCaller, NexusWaiter],
        nexus_service_handlers=[CancelOpsHandler()],
    ):
        for cancellation in CASES:
            value = cancellation.lower().replace("_", "-")
            workflow_id = f"nexus-cancel-{value}"
            result = await client.execute_workflow(
                NexusCancelCaller.run,
                args=[cancellation, value],
                id=workflow_id,
                task_queue=QUEUE,
                execution_timeout=timedelta(seconds=60),
            )
            waiter = f"nexus-waiter-{value}"
            if cancellation in ("ABANDON", "TRY_CANCEL"):  # the handler is never told
                await asyncio.sleep(0.5)
                await client.get_workflow_handle(waiter).terminate(reason="not told")
            else:
                await _settled(client, waiter, "EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED")
                await _settled(client, workflow_id, "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED")
            out[cancellation] = {
                "result": result,
                "history": await history(client, workflow_id),
                "handler": await history(client, waiter),
            }
    return out


REFUSALS = ("unknown", "twice")
IDLE_ENDPOINT = "nexus-cancel-idle"  # its task queue has no worker: operations stay scheduled


def _cancel(scheduled_event_id: int) -> command_pb.Command:
    kind = command_enums.COMMAND_TYPE_REQUEST_CANCEL_NEXUS_OPERATION
    attrs = command_pb.RequestCancelNexusOperationCommandAttributes(
        scheduled_event_id=scheduled_event_id
    )
    return command_pb.Command(
        command_type=kind, request_cancel_nexus_operation_command_attributes=attrs
    )


async def _respond(client: Client, token: bytes, *commands: command_pb.Command) -> str:
    """Complete the workflow task; the error the server answers with ("" for none)."""
    try:
        await client.workflow_service.respond_workflow_task_completed(
            ws.RespondWorkflowTaskCompletedRequest(
                namespace="default", task_token=token, identity="raw", commands=list(commands)
            )
        )
    except RPCError as error:
        return f"{error.status.name}: {error.message}"
    return ""


async def _until_task_failed(client: Client, workflow_id: str) -> list[Any]:
    """The history up to its WorkflowTaskFailed; the run is then terminated."""
    for _ in range(100):
        events = await history(client, workflow_id)
        kinds = [e["eventType"] for e in events]
        if "EVENT_TYPE_WORKFLOW_TASK_FAILED" in kinds:
            await client.get_workflow_handle(workflow_id).terminate(reason="seen")
            return events[: kinds.index("EVENT_TYPE_WORKFLOW_TASK_FAILED") + 1]
        await asyncio.sleep(0.1)
    return events


async def _idle_endpoint(client: Client, name: str = IDLE_ENDPOINT) -> None:
    """Register `name`, whose task queue (of the same name) has no worker."""
    target = nexus_pb.EndpointTarget.Worker(namespace="default", task_queue=name)
    spec = nexus_pb.EndpointSpec(name=name, target=nexus_pb.EndpointTarget(worker=target))
    service = client.operator_service
    listed = await service.list_nexus_endpoints(ops.ListNexusEndpointsRequest(name=name))
    if not listed.endpoints:
        await service.create_nexus_endpoint(ops.CreateNexusEndpointRequest(spec=spec))


async def refusals(client: Client) -> dict[str, Any]:
    """Cancel requests the server refuses, as a raw worker sends them: for an operation
    that does not exist, and a second one for the same (scheduled, not started)
    operation in one workflow task."""
    await _idle_endpoint(client)
    out: dict[str, Any] = {}
    task = await first_workflow_task(client, "default", "nexus-cancel-unknown")
    answer = await _respond(client, task.task_token, _cancel(99))
    history = await _until_task_failed(client, "nexus-cancel-unknown")
    out["unknown"] = {"result": answer, "history": history}

    workflow_id = "nexus-cancel-twice"
    task = await first_workflow_task(client, "default", workflow_id)
    schedule = command_pb.Command(
        command_type=command_enums.COMMAND_TYPE_SCHEDULE_NEXUS_OPERATION,
        schedule_nexus_operation_command_attributes=command_pb.ScheduleNexusOperationCommandAttributes(
            endpoint=IDLE_ENDPOINT, service="Idle", operation="never"
        ),
    )
    await _respond(client, task.task_token, schedule)
    await client.get_workflow_handle(workflow_id).signal("wake")
    poll = ws.PollWorkflowTaskQueueRequest(
        namespace="default", task_queue=tq_pb.TaskQueue(name=workflow_id), identity="raw"
    )
    task = await client.workflow_service.poll_workflow_task_queue(
        poll, timeout=timedelta(seconds=20)
    )
    answer = await _respond(client, task.task_token, _cancel(5), _cancel(5))
    out["twice"] = {"result": answer, "history": await _until_task_failed(client, workflow_id)}
    return out


def _recorded(cases: tuple[str, ...]) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(FIXTURE.read_text())
    return {case: record[case] for case in cases}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    yield await Client.connect(address)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_cancellations_are_recorded_as_the_dev_server_records_them(client: Client) -> None:
    seen = await transcript(client)
    assert differences(seen, _recorded(CASES)) == []


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_refused_cancel_requests_fail_the_workflow_task_as_on_the_dev_server(
    client: Client,
) -> None:
    seen = await refusals(client)
    assert differences(seen, _recorded(REFUSALS)) == []


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_cancel_task_carries_the_operation_and_its_header(client: Client) -> None:
    """A raw handler: the cancel request it polls names the operation (service,
    operation, token) and carries the header of the caller's Scheduled event, as the
    executor sends it (executors.go loadArgsForCancelation)."""
    workflow_id = "nexus-cancel-header"
    await _idle_endpoint(client, workflow_id)
    task = await first_workflow_task(client, "default", workflow_id)
    attrs = command_pb.ScheduleNexusOperationCommandAttributes(
        endpoint=workflow_id, service="Idle", operation="wait", nexus_header={"X-Case": "h"}
    )
    kind = command_enums.COMMAND_TYPE_SCHEDULE_NEXUS_OPERATION
    command = command_pb.Command(
        command_type=kind, schedule_nexus_operation_command_attributes=attrs
    )
    assert await _respond(client, task.task_token, command) == ""
    service = client.workflow_service
    nexus_poll = ws.PollNexusTaskQueueRequest(
        namespace="default", identity="raw", task_queue=tq_pb.TaskQueue(name=workflow_id)
    )
    start = await service.poll_nexus_task_queue(nexus_poll, timeout=timedelta(seconds=20))
    answer = nexus_pb.Response()
    answer.start_operation.async_success.operation_token = "token-1"
    await service.respond_nexus_task_completed(
        ws.RespondNexusTaskCompletedRequest(
            namespace="default", identity="raw", task_token=start.task_token, response=answer
        )
    )
    poll = ws.PollWorkflowTaskQueueRequest(
        namespace="default", task_queue=tq_pb.TaskQueue(name=workflow_id), identity="raw"
    )
    task = await service.poll_workflow_task_queue(poll, timeout=timedelta(seconds=20))
    assert await _respond(client, task.task_token, _cancel(5)) == ""
    cancel = await service.poll_nexus_task_queue(nexus_poll, timeout=timedelta(seconds=20))
    await client.get_workflow_handle(workflow_id).terminate(reason="seen")
    request = cancel.request
    assert request.WhichOneof("variant") == "cancel_operation"
    named = request.cancel_operation
    assert (named.service, named.operation, named.operation_token) == ("Idle", "wait", "token-1")
    assert request.header["x-case"] == "h"


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_record_is_what_the_dev_server_writes(dev_address: str) -> None:
    async def record() -> dict[str, Any]:
        client = await connected(dev_address)
        return {**await transcript(client), **await refusals(client)}

    assert differences(asyncio.run(record()), json.loads(FIXTURE.read_text())) == []


if __name__ == "__main__":

    async def _main(address: str) -> None:
        client = await connected(address)
        print(json.dumps({**await transcript(client), **await refusals(client)}, indent=1))

    asyncio.run(_main(sys.argv[1]))
