"""`tmodel serve --store PATH`: standalone Nexus operations outlive the process.

Each run's record and start request are written to the store when the record changes
(adapters/serve/standalone_nexus.py). After a SIGKILL and a start on the same file: a
terminated run is described as it closed; a run whose start no handler had taken is
sent again to the endpoint's queue (made again: endpoints are not stored), with the
same request id; a run whose
schedule-to-start timer was armed before the kill times out; a run deleted after the
restart stays deleted across the next one.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import nexus_pb2 as nexus_enums
from temporalio.api.nexus.v1 import message_pb2 as nexus_pb
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from adapters.serve.process import stop
from tests.adapters.serve.sdk import bounded, eventually
from tests.adapters.serve.test_store import free_port, start

QUEUE = "nexus-store"


def _restart(server: subprocess.Popen[str], store: Path, port: int) -> subprocess.Popen[str]:
    server.send_signal(signal.SIGKILL)
    server.wait()
    return start(store, port)


def _start(operation_id: str) -> ws.StartNexusOperationExecutionRequest:
    return ws.StartNexusOperationExecutionRequest(
        namespace="default", operation_id=operation_id, endpoint=QUEUE, service="S", operation="o"
    )


def _describe(operation_id: str) -> ws.DescribeNexusOperationExecutionRequest:
    return ws.DescribeNexusOperationExecutionRequest(namespace="default", operation_id=operation_id)


async def _connect(port: int) -> Client:
    for _ in range(100):
        try:
            return await Client.connect(f"127.0.0.1:{port}")
        except RuntimeError:
            pass
    return await Client.connect(f"127.0.0.1:{port}")


@pytest.mark.asyncio
@bounded
async def test_standalone_nexus_operations_outlive_a_sigkill(tmp_path: Path) -> None:
    store, port = tmp_path / "store.db", free_port()
    server = start(store, port)
    try:
        client = await _connect(port)
        service = client.workflow_service
        target = nexus_pb.EndpointTarget.Worker(namespace="default", task_queue=QUEUE)
        spec = nexus_pb.EndpointSpec(name=QUEUE, target=nexus_pb.EndpointTarget(worker=target))
        await client.operator_service.create_nexus_endpoint(
            ops.CreateNexusEndpointRequest(spec=spec)
        )
        await service.start_nexus_operation_execution(_start("ended"))
        ended = ws.TerminateNexusOperationExecutionRequest(
            namespace="default", operation_id="ended", reason="gone"
        )
        await service.terminate_nexus_operation_execution(ended)
        waiting = await service.start_nexus_operation_execution(_start("waiting"))
        before = (await service.describe_nexus_operation_execution(_describe("waiting"))).info
        timing = _start("timing-out")
        timing.schedule_to_start_timeout.FromSeconds(3)
        await service.start_nexus_operation_execution(timing)
        await service.start_nexus_operation_execution(_start("doomed"))
        server = _restart(server, store, port)

        client = await _connect(port)
        service = client.workflow_service
        # endpoints are kept in memory only: made again, the runs' backed-off starts find it
        await client.operator_service.create_nexus_endpoint(
            ops.CreateNexusEndpointRequest(spec=spec)
        )
        info = (await service.describe_nexus_operation_execution(_describe("ended"))).info
        assert info.status == nexus_enums.NEXUS_OPERATION_EXECUTION_STATUS_TERMINATED
        poll = ws.PollNexusTaskQueueRequest(
            namespace="default", task_queue=tq_pb.TaskQueue(name=QUEUE), identity="after"
        )
        seen = set()
        for _ in range(3):  # waiting's, timing-out's and doomed's starts, sent again
            task = await service.poll_nexus_task_queue(poll)
            seen.add(task.request.start_operation.request_id)
        assert before.request_id in seen
        info = (await service.describe_nexus_operation_execution(_describe("waiting"))).info
        assert info.run_id == waiting.run_id and info.request_id == before.request_id

        async def timed_out() -> bool:
            described = await service.describe_nexus_operation_execution(_describe("timing-out"))
            return described.info.status == nexus_enums.NEXUS_OPERATION_EXECUTION_STATUS_TIMED_OUT

        await eventually(timed_out)
        delete = ws.DeleteNexusOperationExecutionRequest(namespace="default", operation_id="doomed")
        await service.delete_nexus_operation_execution(delete)
        server = _restart(server, store, port)

        client = await _connect(port)
        with pytest.raises(RPCError) as gone:
            await client.workflow_service.describe_nexus_operation_execution(_describe("doomed"))
        assert gone.value.status == RPCStatusCode.NOT_FOUND
    finally:
        stop(server)
