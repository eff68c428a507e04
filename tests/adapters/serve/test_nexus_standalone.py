"""Standalone Nexus operations through `tmodel serve` (standalone_nexus.py,
standalone_nexus_rpc.py), driven with temporalio's Nexus client: a synchronous result,
a workflow-run operation completed by its handler run's callback, cancel and terminate,
describe, list and count, the validator's and the id policies' errors, and the Nexus
task a handler gets (a link to the operation itself; a retryable handler error backs
the operation off)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import grpc
import nexusrpc
import nexusrpc.handler
import pytest
import pytest_asyncio
from temporalio import activity, nexus, workflow
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.common.v1.message_pb2 import ActivityType
from temporalio.api.enums.v1 import common_pb2 as common_enums
from temporalio.api.enums.v1 import nexus_pb2 as nexus_enums
from temporalio.api.failure.v1 import message_pb2 as failure_pb
from temporalio.api.nexus.v1 import message_pb2 as nexus_pb
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client, NexusOperationFailureError
from temporalio.common import NexusOperationExecutionStatus
from temporalio.exceptions import CancelledError, TerminatedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.adapters.serve.sdk import bounded, eventually

QUEUE = "nexus-standalone"
ENDPOINT = "nexus-standalone-endpoint"


@dataclass
class Value:
    value: str


@workflow.defn(sandboxed=False)
class Blocking:
    @workflow.run
    async def run(self, value: Value) -> Value:
        await workflow.wait_condition(lambda: False)
        return value


@workflow.defn(sandboxed=False)
class Echo:
    @workflow.run
    async def run(self, value: Value) -> Value:
        return Value("ran:" + value.value)


@activity.defn
async def shout(value: Value) -> Value:
    return Value(value.value.upper())


@nexusrpc.service
class Svc:
    echo: nexusrpc.Operation[Value, Value]
    run: nexusrpc.Operation[Value, Value]
    block: nexusrpc.Operation[Value, Value]
    act: nexusrpc.Operation[Value, Value]


@nexusrpc.handler.service_handler(service=Svc)
class SvcHandler:
    @nexusrpc.handler.sync_operation
    async def echo(self, ctx: nexusrpc.handler.StartOperationContext, value: Value) -> Value:
        return Value("echo:" + value.value)

    @nexus.workflow_run_operation
    async def run(
        self, ctx: nexus.WorkflowRunOperationContext, value: Value
    ) -> nexus.WorkflowHandle[Value]:
        return await ctx.start_workflow(Echo.run, value, id=f"run-{uuid.uuid4()}")

    @nexus.workflow_run_operation
    async def block(
        self, ctx: nexus.WorkflowRunOperationContext, value: Value
    ) -> nexus.WorkflowHandle[Value]:
        return await ctx.start_workflow(Blocking.run, value, id=f"block-{uuid.uuid4()}")

    @nexus.temporal_operation
    async def act(
        self,
        ctx: nexus.TemporalStartOperationContext,
        client: nexus.TemporalNexusClient,
        value: Value,
    ) -> nexus.TemporalOperationResult[Value]:
        """Backed by a standalone activity, which completes the operation by its
        completion callback (activity_callbacks.py)."""
        return await client.start_activity(
            shout, value, id=f"act-{value.value}", start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn(sandboxed=False)
class ActCaller:
    """A workflow caller of the activity-backed operation."""

    @workflow.run
    async def run(self, value: Value) -> Value:
        nexus_client = workflow.create_nexus_client(service=Svc, endpoint=ENDPOINT)
        return await nexus_client.execute_operation(Svc.act, value)


async def _endpoint(client: Client, name: str, queue: str) -> None:
    target = nexus_pb.EndpointTarget.Worker(namespace="default", task_queue=queue)
    spec = nexus_pb.EndpointSpec(name=name, target=nexus_pb.EndpointTarget(worker=target))
    await client.operator_service.create_nexus_endpoint(ops.CreateNexusEndpointRequest(spec=spec))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    client = await Client.connect(address)
    await _endpoint(client, ENDPOINT, QUEUE)
    async with Worker(
        client,
        task_queue=QUEUE,
        nexus_service_handlers=[SvcHandler()],
        workflows=[Blocking, Echo, ActCaller],
        activities=[shout],
    ):
        yield client


def _start_request(operation_id: str, **fields: object) -> ws.StartNexusOperationExecutionRequest:
    values: dict[str, object] = {"endpoint": ENDPOINT, "service": "Svc", "operation": "block"}
    values.update(fields)
    return ws.StartNexusOperationExecutionRequest(
        namespace="default",
        operation_id=operation_id,
        **values,  # type: ignore[arg-type]
    )


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_sync_and_an_async_result_are_polled_and_described(client: Client) -> None:
    nexus_client = client.create_nexus_client(service=Svc, endpoint=ENDPOINT)
    sync = await nexus_client.start_operation(
        Svc.echo,
        Value("a"),
        id=f"sync-{uuid.uuid4()}",
        schedule_to_close_timeout=timedelta(seconds=30),
    )
    assert (await sync.result()).value == "echo:a"
    done = await nexus_client.start_operation(Svc.run, Value("b"), id=f"async-{uuid.uuid4()}")
    assert (await done.result()).value == "ran:b"
    desc = await done.describe()
    assert desc.status == NexusOperationExecutionStatus.COMPLETED and desc.attempt == 1
    raw = desc.raw_description
    assert raw.operation_token and raw.endpoint == ENDPOINT and raw.operation == "run"
    # the handler run's link (its start event), from the start's answer
    assert [link.workflow_event.event_ref.event_id for link in raw.links] == [1]
    info = await client.workflow_service.describe_nexus_operation_execution(
        ws.DescribeNexusOperationExecutionRequest(
            namespace="default", operation_id=done.operation_id, include_outcome=True
        )
    )
    assert info.WhichOneof("outcome") == "result"
    assert info.info.state == common_enums.PENDING_NEXUS_OPERATION_STATE_UNSPECIFIED
    query = f'Endpoint = "{ENDPOINT}" AND Operation = "run"'
    found = [op.operation_id async for op in client.list_nexus_operations(query)]
    assert done.operation_id in found
    assert (await client.count_nexus_operations(f'OperationId = "{sync.operation_id}"')).count == 1


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_cancel_and_terminate_close_a_started_operation(client: Client) -> None:
    nexus_client = client.create_nexus_client(service=Svc, endpoint=ENDPOINT)
    handle = await nexus_client.start_operation(Svc.block, Value("c"), id=f"cancel-{uuid.uuid4()}")
    await handle.cancel()  # before the start's answer, sent once there is a token
    with pytest.raises(NexusOperationFailureError) as err:
        await handle.result()
    assert isinstance(err.value.__cause__, CancelledError)
    desc = await handle.describe()
    assert desc.raw_description.cancellation_info.state == (
        common_enums.NEXUS_OPERATION_CANCELLATION_STATE_SUCCEEDED
    )
    with pytest.raises(RPCError, match="operation already completed"):
        await handle.cancel()
    handle = await nexus_client.start_operation(Svc.block, Value("t"), id=f"term-{uuid.uuid4()}")
    await handle.terminate(reason="enough")
    with pytest.raises(NexusOperationFailureError) as err:
        await handle.result()
    assert isinstance(err.value.__cause__, TerminatedError)


async def _refused(client: Client, req: ws.StartNexusOperationExecutionRequest) -> RPCError:
    with pytest.raises(RPCError) as err:
        await client.workflow_service.start_nexus_operation_execution(req)
    return err.value


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_starts_are_validated_deduplicated_and_refused_as_the_server_does(
    client: Client,
) -> None:
    start = _start_request
    assert "operation_id is required" in str(await _refused(client, start("")))
    missing = await _refused(client, start("x", endpoint="nowhere"))
    assert missing.grpc_status.code == grpc.StatusCode.NOT_FOUND.value[0]
    assert "could not find Nexus endpoint by name: nowhere" in str(missing)
    bad = await _refused(client, start("x", nexus_header={"Request-Timeout": "1s"}))
    assert 'nexus_header contains a disallowed key: "Request-Timeout"' in str(bad)
    idle = f"idle-{uuid.uuid4()}"  # no worker polls it: its operations stay scheduled
    await _endpoint(client, idle, idle)
    op_id = f"dup-{uuid.uuid4()}"

    def idle_start(operation_id: str, **fields: object) -> ws.StartNexusOperationExecutionRequest:
        return start(operation_id, endpoint=idle, **fields)

    first = await client.workflow_service.start_nexus_operation_execution(
        idle_start(op_id, request_id="r1")
    )
    again = await client.workflow_service.start_nexus_operation_execution(
        idle_start(op_id, request_id="r1")
    )
    assert first.started and not again.started and again.run_id == first.run_id
    use = nexus_enums.NEXUS_OPERATION_ID_CONFLICT_POLICY_USE_EXISTING
    existing = await client.workflow_service.start_nexus_operation_execution(
        idle_start(op_id, request_id="r2", id_conflict_policy=use)
    )
    assert not existing.started and existing.run_id == first.run_id
    conflict = await _refused(client, idle_start(op_id, request_id="r3"))
    assert conflict.grpc_status.code == grpc.StatusCode.ALREADY_EXISTS.value[0]
    assert f"request_id=r1, run_id={first.run_id}" in str(conflict)
    term = ws.TerminateNexusOperationExecutionRequest(namespace="default", operation_id=op_id)
    await client.workflow_service.terminate_nexus_operation_execution(term)
    reject = nexus_enums.NEXUS_OPERATION_ID_REUSE_POLICY_REJECT_DUPLICATE
    assert "already started" in str(
        await _refused(client, idle_start(op_id, id_reuse_policy=reject))
    )
    fresh = await client.workflow_service.start_nexus_operation_execution(idle_start(op_id))
    assert fresh.started and fresh.run_id != first.run_id
    await client.workflow_service.delete_nexus_operation_execution(
        ws.DeleteNexusOperationExecutionRequest(namespace="default", operation_id=op_id)
    )


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_handler_gets_a_link_to_the_operation_and_a_retryable_error_backs_off(
    client: Client,
) -> None:
    queue = f"raw-{uuid.uuid4()}"
    await _endpoint(client, queue, queue)
    op_id = f"raw-{uuid.uuid4()}"
    start = _start_request(op_id, endpoint=queue, operation="echo", nexus_header={"X-Mine": "v"})
    start.schedule_to_close_timeout.FromSeconds(60)
    run_id = (await client.workflow_service.start_nexus_operation_execution(start)).run_id
    poll = ws.PollNexusTaskQueueRequest(
        namespace="default", task_queue=tq_pb.TaskQueue(name=queue), identity="raw"
    )
    task = await client.workflow_service.poll_nexus_task_queue(poll)
    url = f"temporal:///namespaces/default/nexus-operations/{op_id}/{run_id}/details"
    kind = "temporal.api.common.v1.Link.NexusOperation"
    request = task.request
    assert request.header["x-mine"] == "v"
    assert request.header["operation-timeout"].endswith("ms")  # what schedule_to_close leaves
    assert request.header["nexus-link"] == f'<{url}>; type="{kind}"'
    assert [(link.url, link.type) for link in request.start_operation.links] == [(url, kind)]
    assert request.start_operation.callback == "temporal://system"
    describe = ws.DescribeNexusOperationExecutionRequest(namespace="default", operation_id=op_id)
    before = await client.workflow_service.describe_nexus_operation_execution(describe)
    assert request.start_operation.request_id == before.info.request_id
    failure = failure_pb.Failure(message="try later")
    failure.nexus_handler_failure_info.type = "INTERNAL"
    await client.workflow_service.respond_nexus_task_failed(
        ws.RespondNexusTaskFailedRequest(
            namespace="default", task_token=task.task_token, identity="raw", failure=failure
        )
    )
    info = (await client.workflow_service.describe_nexus_operation_execution(describe)).info
    assert info.state == common_enums.PENDING_NEXUS_OPERATION_STATE_BACKING_OFF
    assert info.last_attempt_failure.message == "try later" and info.attempt == 1
    assert (
        info.next_attempt_schedule_time.ToNanoseconds()
        > info.last_attempt_complete_time.ToNanoseconds()
    )

    async def retried() -> bool:
        now = await client.workflow_service.describe_nexus_operation_execution(describe)
        return now.info.attempt == 2

    await eventually(retried)
    again = await client.workflow_service.poll_nexus_task_queue(poll)
    assert again.request.start_operation.request_id == before.info.request_id
    await asyncio.sleep(0)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_an_operation_backed_by_a_standalone_activity_ends_by_its_callback(
    client: Client,
) -> None:
    nexus_client = client.create_nexus_client(service=Svc, endpoint=ENDPOINT)
    name = f"x{uuid.uuid4().hex[:8]}"
    handle = await nexus_client.start_operation(Svc.act, Value(name), id=f"act-op-{name}")
    assert (await handle.result()).value == name.upper()
    described = await client.workflow_service.describe_activity_execution(
        ws.DescribeActivityExecutionRequest(namespace="default", activity_id=f"act-{name}")
    )
    [callback] = described.callbacks
    assert callback.info.callback.nexus.url == "temporal://system"
    assert callback.info.state == common_enums.CALLBACK_STATE_SUCCEEDED
    assert callback.trigger.HasField("activity_closed")
    # a workflow caller's operation is completed by the activity's callback too
    caller = await client.execute_workflow(
        ActCaller.run, Value(name + "w"), id=f"act-caller-{name}", task_queue=QUEUE
    )
    assert caller.value == (name + "w").upper()
    refused = ws.StartActivityExecutionRequest(
        namespace="default",
        activity_id=f"elsewhere-{name}",
        activity_type=ActivityType(name="shout"),
        task_queue=tq_pb.TaskQueue(name=QUEUE),
    )
    refused.start_to_close_timeout.FromSeconds(5)
    refused.completion_callbacks.add().nexus.url = "http://example.invalid/callback"
    with pytest.raises(RPCError) as err:
        await client.workflow_service.start_activity_execution(refused)
    assert err.value.grpc_status.code == grpc.StatusCode.UNIMPLEMENTED.value[0]


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_list_and_count_refuse_order_by_as_the_dev_server_does(client: Client) -> None:
    svc = client.workflow_service
    ordered = "OperationId = 'none' ORDER BY OperationId"
    message = "invalid query: operation is not supported: 'ORDER BY' clause"
    for call in (
        svc.list_nexus_operation_executions(
            ws.ListNexusOperationExecutionsRequest(namespace="default", query=ordered)
        ),
        svc.count_nexus_operation_executions(
            ws.CountNexusOperationExecutionsRequest(namespace="default", query=ordered)
        ),
    ):
        with pytest.raises(RPCError) as refused:
            await call
        assert refused.value.status == RPCStatusCode.INVALID_ARGUMENT
        assert refused.value.message == message
    unordered = ws.CountNexusOperationExecutionsRequest(
        namespace="default", query="OperationId = 'none'"
    )
    assert (await svc.count_nexus_operation_executions(unordered)).count == 0


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_an_undefined_search_attribute_is_refused_before_the_endpoint(
    client: Client,
) -> None:
    # the 1.32 dev server's answer to the same start (measured 2026-12-06); with an
    # endpoint that does not exist too, as the request's checks, search attributes last,
    # come before the endpoint's lookup (frontend.go, validator.go in
    # chasm/lib/nexusoperation)
    value = common_pb.Payload(metadata={"encoding": b"json/plain"}, data=b'"x"')
    attributes = common_pb.SearchAttributes(indexed_fields={"NoSuchAttr": value})
    for endpoint in (ENDPOINT, "no-such-endpoint"):
        start = _start_request(
            f"sa-{uuid.uuid4()}", endpoint=endpoint, search_attributes=attributes
        )
        with pytest.raises(RPCError) as refused:
            await client.workflow_service.start_nexus_operation_execution(start)
        assert refused.value.status == RPCStatusCode.INVALID_ARGUMENT
        assert refused.value.message == (
            "Namespace default has no mapping defined for search attribute NoSuchAttr"
        )
