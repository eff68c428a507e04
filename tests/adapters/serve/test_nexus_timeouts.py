"""A Nexus operation's timeouts through `tmodel serve`, compared field for field (ids
renamed, adapters/history_compare.py) with the real dev server's caller histories,
recorded in tests/fixtures/serve/nexus_timeouts_dev.json by the same scenario; the slow
test checks the record against a dev server.

Cases (and, after them, a poll of the unpolled queue, which gets no task: a timed-out
operation's start is dropped with it): an operation on an endpoint whose task queue no
worker polls, with a schedule-to-close timeout, and with a schedule-to-start timeout; a
workflow-run
operation whose handler workflow never closes, with a schedule-to-close timeout, and
with a start-to-close timeout. Each ends in NexusOperationTimedOut, whose failure is the
server's "nexus operation completed unsuccessfully" caused by "operation timed out"
with the timeout's type (components/nexusoperations/executors.go
recordOperationTimeout); the Scheduled event carries the timeouts, the secondary ones
trimmed to the schedule-to-close one (workflow/commands.go).

`python -m tests.adapters.serve.test_nexus_timeouts HOST:PORT` prints the record.
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
import nexusrpc.handler
import pytest
import pytest_asyncio
from temporalio import nexus, workflow
from temporalio.api.nexus.v1 import message_pb2 as nexus_pb
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.adapters.serve.nexus_record import differences, history
from tests.adapters.serve.sdk import bounded, connected

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "serve" / "nexus_timeouts_dev.json"
ENDPOINT = "nexus-timeouts-endpoint"
UNPOLLED = "nexus-timeouts-unpolled"  # an endpoint whose queue no worker polls
NOBODY = "nexus-timeouts-nobody"  # its queue
QUEUE = "nexus-timeouts"


@workflow.defn(sandboxed=False)
class Forever:
    @workflow.run
    async def run(self, value: str) -> str:
        await workflow.wait_condition(lambda: False)
        return value


@nexusrpc.service
class Slow:
    wait: nexusrpc.Operation[str, str]


@nexusrpc.handler.service_handler(service=Slow)
class SlowHandler:
    @nexus.workflow_run_operation
    async def wait(
        self, ctx: nexus.WorkflowRunOperationContext, value: str
    ) -> nexus.WorkflowHandle[str]:
        return await ctx.start_workflow(Forever.run, value, id=f"nexus-timeouts-{value}")


@workflow.defn(sandboxed=False)
class TimeoutCaller:
    @workflow.run
    async def run(self, endpoint: str, value: str, timeouts: dict[str, float]) -> str:
        client = workflow.create_nexus_client(endpoint=endpoint, service=Slow)
        given = {k: timedelta(seconds=v) for k, v in timeouts.items()}
        try:
            result: str = await client.execute_operation(
                Slow.wait,
                value,
                schedule_to_close_timeout=given.get("schedule_to_close_timeout"),
                schedule_to_start_timeout=given.get("schedule_to_start_timeout"),
                start_to_close_timeout=given.get("start_to_close_timeout"),
            )
            return result
        except Exception as error:  # what the caller saw, as its result
            cause = error.__cause__
            return f"{type(error).__name__}: {error} / {type(cause).__name__}: {cause}"


CASES: tuple[tuple[str, str, dict[str, float]], ...] = (
    (UNPOLLED, "unpolled-close", {"schedule_to_close_timeout": 2.0}),
    (UNPOLLED, "unpolled-start", {"schedule_to_start_timeout": 2.0}),
    (ENDPOINT, "started-close", {"schedule_to_close_timeout": 3.0}),
    (ENDPOINT, "started-start-to-close", {"start_to_close_timeout": 2.0}),
    # a secondary timeout trimmed to the schedule-to-close one (start-to-close: armed
    # only once the operation starts, so the schedule-to-close timeout fires)
    (UNPOLLED, "trimmed", {"schedule_to_close_timeout": 2.0, "start_to_close_timeout": 9.0}),
)


async def _endpoint(client: Client, name: str, queue: str) -> None:
    target = nexus_pb.EndpointTarget.Worker(namespace="default", task_queue=queue)
    spec = nexus_pb.EndpointSpec(name=name, target=nexus_pb.EndpointTarget(worker=target))
    service = client.operator_service
    listed = await service.list_nexus_endpoints(ops.ListNexusEndpointsRequest(name=name))
    if not listed.endpoints:
        await service.create_nexus_endpoint(ops.CreateNexusEndpointRequest(spec=spec))


async def transcript(client: Client) -> dict[str, Any]:
    """Each case's result and the caller's history."""
    await _endpoint(client, ENDPOINT, QUEUE)
    await _endpoint(client, UNPOLLED, NOBODY)
    out: dict[str, Any] = {}
    async with Worker(
        client,
        task_queue=QUEUE,
        workflows=[TimeoutCaller, Forever],
        nexus_service_handlers=[SlowHandler()],
    ):

        async def one(endpoint: str, value: str, timeouts: dict[str, float]) -> None:
            workflow_id = f"nexus-timeouts-caller-{value}"
            result = await client.execute_workflow(
                TimeoutCaller.run,
                args=[endpoint, value, timeouts],
                id=workflow_id,
                task_queue=QUEUE,
                execution_timeout=timedelta(seconds=60),
            )
            out[value] = {"result": result, "history": await history(client, workflow_id)}

        await asyncio.gather(*(one(*case) for case in CASES))
        for _, value, _ in CASES:
            if value.startswith("started"):
                await client.get_workflow_handle(f"nexus-timeouts-{value}").terminate("done")
    return dict(sorted(out.items()))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    yield await Client.connect(address)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_operations_time_out_as_on_the_dev_server(client: Client) -> None:
    seen = await transcript(client)
    assert differences(seen, json.loads(FIXTURE.read_text())) == []
    assert await unpolled_tasks(client) == 0


async def unpolled_tasks(client: Client) -> int:
    """How many tasks a poll of the unpolled endpoint's queue gets, after its operations
    timed out: none, their starts are dropped with them."""
    poll = ws.PollNexusTaskQueueRequest(
        namespace="default", identity="late", task_queue=tq_pb.TaskQueue(name=NOBODY)
    )
    try:
        got = await client.workflow_service.poll_nexus_task_queue(
            poll, timeout=timedelta(seconds=3)
        )
    except RPCError as error:  # a long poll may end at its deadline
        assert error.status is RPCStatusCode.DEADLINE_EXCEEDED
        return 0
    return 1 if got.task_token else 0


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_record_is_what_the_dev_server_writes(dev_address: str) -> None:
    async def record() -> dict[str, Any]:
        return await transcript(await connected(dev_address))

    async def late_poll() -> int:
        return await unpolled_tasks(await connected(dev_address))

    assert differences(asyncio.run(record()), json.loads(FIXTURE.read_text())) == []
    assert asyncio.run(late_poll()) == 0


if __name__ == "__main__":

    async def _main(address: str) -> None:
        print(json.dumps(await transcript(await connected(address)), indent=1))

    asyncio.run(_main(sys.argv[1]))
