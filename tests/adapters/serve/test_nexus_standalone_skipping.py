"""Standalone Nexus operations under `tmodel serve --time-skipping`: an operation whose
endpoint no worker polls holds nothing, so an idle server's clock jumps to its
schedule-to-close timeout (standalone_nexus.py `next_timer`) and it times out at once,
an hour early by the wall clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import nexus_pb2 as nexus_enums
from temporalio.api.nexus.v1 import message_pb2 as nexus_pb
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client

from tests.adapters.serve.sdk import bounded, eventually

SERVE_ARGS = ("--time-skipping",)
QUEUE = "nobody-polls"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    yield await Client.connect(address)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_an_idle_server_skips_to_the_schedule_to_close_timeout(client: Client) -> None:
    target = nexus_pb.EndpointTarget.Worker(namespace="default", task_queue=QUEUE)
    spec = nexus_pb.EndpointSpec(name=QUEUE, target=nexus_pb.EndpointTarget(worker=target))
    await client.operator_service.create_nexus_endpoint(ops.CreateNexusEndpointRequest(spec=spec))
    start = ws.StartNexusOperationExecutionRequest(
        namespace="default", operation_id="hour", endpoint=QUEUE, service="S", operation="o"
    )
    start.schedule_to_close_timeout.FromSeconds(3600)
    await client.workflow_service.start_nexus_operation_execution(start)
    describe = ws.DescribeNexusOperationExecutionRequest(namespace="default", operation_id="hour")

    async def timed_out() -> bool:
        info = (await client.workflow_service.describe_nexus_operation_execution(describe)).info
        return info.status == nexus_enums.NEXUS_OPERATION_EXECUTION_STATUS_TIMED_OUT

    await eventually(timed_out)
    info = (await client.workflow_service.describe_nexus_operation_execution(describe)).info
    span = info.close_time.ToNanoseconds() - info.schedule_time.ToNanoseconds()
    # the clock jumped to the timeout; what real time passed after the jump counts too
    assert 3600 * 1_000_000_000 <= span < 3660 * 1_000_000_000
