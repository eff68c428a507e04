"""Nexus operations through `tmodel serve`, driven with temporalio's Nexus API: a
caller workflow schedules an operation on an endpoint whose worker target is a handler
worker; the caller's history (NexusOperationScheduled, then NexusOperationStarted for an
asynchronous operation, NexusOperationCompleted or NexusOperationFailed, and the
workflow tasks that read them) and the handler workflow's equal the real dev server's,
field for field with ids renamed (adapters/history_compare.py), recorded in
tests/fixtures/serve/nexus_operations_dev.json by the same scenario; the slow test
checks the record against a dev server.

Cases: a synchronous result; an operation error (the failure the handler raised is the
cause of the server's "nexus operation completed unsuccessfully"); a non-retryable
handler error; a retryable handler error that succeeds on its second attempt; a
workflow-run operation whose workflow completes, and one whose workflow fails (the
completion comes by the handler run's callback); an endpoint that is not registered (the
workflow task fails with BAD_SCHEDULE_NEXUS_OPERATION_ATTRIBUTES).

`python -m tests.adapters.serve.test_nexus_operations HOST:PORT` prints the record.
"""

from __future__ import annotations

import asyncio
import json
import re
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
from temporalio.api.enums.v1 import event_type_pb2 as event_enums
from temporalio.api.nexus.v1 import message_pb2 as nexus_pb
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from tests.adapters.serve.nexus_record import differences, history
from tests.adapters.serve.sdk import bounded, connected, eventually

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "serve" / "nexus_operations_dev.json"
ENDPOINT = "nexus-ops-endpoint"
QUEUE = "nexus-ops"
# a timestamp of the run (its start plus the execution timeout), not in LEGITIMATE
ATTEMPTS: dict[str, int] = {}  # the handler's starts of each retried operation, by input


@workflow.defn(sandboxed=False)
class NexusHandlerRun:
    @workflow.run
    async def run(self, value: str) -> str:
        if value.startswith("fail"):
            raise ApplicationError(f"handler run failed: {value}", non_retryable=True)
        return f"ran:{value}"


@nexusrpc.service
class Ops:
    echo: nexusrpc.Operation[str, str]
    fail: nexusrpc.Operation[str, str]
    refuse: nexusrpc.Operation[str, str]
    flaky: nexusrpc.Operation[str, str]
    start: nexusrpc.Operation[str, str]


@nexusrpc.handler.service_handler(service=Ops)
class OpsHandler:
    @nexusrpc.handler.sync_operation
    async def echo(self, ctx: nexusrpc.handler.StartOperationContext, value: str) -> str:
        return f"echo:{value}"

    @nexusrpc.handler.sync_operation
    async def fail(self, ctx: nexusrpc.handler.StartOperationContext, value: str) -> str:
        raise nexusrpc.OperationError(f"no {value}", state=nexusrpc.OperationErrorState.FAILED)

    @nexusrpc.handler.sync_operation
    async def refuse(self, ctx: nexusrpc.handler.StartOperationContext, value: str) -> str:
        raise nexusrpc.HandlerError(f"bad {value}", type=nexusrpc.HandlerErrorType.BAD_REQUEST)

    @nexusrpc.handler.sync_operation
    async def flaky(self, ctx: nexusrpc.handler.StartOperationContext, value: str) -> str:
        ATTEMPTS[value] = ATTEMPTS.get(value, 0) + 1
        if ATTEMPTS[value] == 1:
            raise nexusrpc.HandlerError("not yet", type=nexusrpc.HandlerErrorType.UNAVAILABLE)
        return f"attempt {ATTEMPTS[value]}"

    @nexus.workflow_run_operation
    async def start(
        self, ctx: nexus.WorkflowRunOperationContext, value: str
    ) -> nexus.WorkflowHandle[str]:
        return await ctx.start_workflow(NexusHandlerRun.run, value, id=f"nexus-handler-{value}")


@workflow.defn(sandboxed=False)
class NexusCaller:
    @workflow.run
    async def run(self, operation: str, endpoint: str, value: str) -> str:
        client = workflow.create_nexus_client(endpoint=endpoint, service=Ops)
        try:
            result: str = await client.execute_operation(getattr(Ops, operation), value)
            return result
        except Exception as error:  # what the caller saw, as its result
            cause = error.__cause__
            return f"{type(error).__name__}: {error} / {type(cause).__name__}: {cause}"


CASES = (
    ("echo", ENDPOINT, "one"),
    ("fail", ENDPOINT, "two"),
    ("refuse", ENDPOINT, "three"),
    ("flaky", ENDPOINT, "four"),
    ("start", ENDPOINT, "six"),
    ("start", ENDPOINT, "fail-seven"),
)


async def transcript(client: Client) -> dict[str, Any]:
    """Each case's result and the caller's history (protojson events)."""
    target = nexus_pb.EndpointTarget.Worker(namespace="default", task_queue=QUEUE)
    spec = nexus_pb.EndpointSpec(name=ENDPOINT, target=nexus_pb.EndpointTarget(worker=target))
    service = client.operator_service
    listed = await service.list_nexus_endpoints(ops.ListNexusEndpointsRequest(name=ENDPOINT))
    if not listed.endpoints:  # (the test module's server is shared by its tests)
        await service.create_nexus_endpoint(ops.CreateNexusEndpointRequest(spec=spec))
    out: dict[str, Any] = {}
    async with Worker(
        client,
        task_queue=QUEUE,
        workflows=[NexusCaller, NexusHandlerRun],
        nexus_service_handlers=[OpsHandler()],
    ):
        for operation, endpoint, value in CASES:
            workflow_id = f"nexus-{operation}-{value}"
            result = await client.execute_workflow(
                NexusCaller.run,
                args=[operation, endpoint, value],
                id=workflow_id,
                task_queue=QUEUE,
                execution_timeout=timedelta(seconds=60),
            )
            case = out[f"{operation}-{value}"] = {
                "result": result,
                "history": await history(client, workflow_id),
            }
            if operation == "start":
                case["handler"] = await history(client, f"nexus-handler-{value}")
        # an endpoint nobody registered: the caller's workflow task fails
        handle = await client.start_workflow(
            NexusCaller.run,
            args=["echo", "nobody", "five"],
            id="nexus-nobody",
            task_queue=QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,  # a rerun
        )
        failed = event_enums.EVENT_TYPE_WORKFLOW_TASK_FAILED

        async def task_failed() -> bool:
            return failed in [e.event_type async for e in handle.fetch_history_events()]

        await eventually(task_failed)
        await handle.terminate("seen")
        events = await history(client, "nexus-nobody")
        cut = next(i for i, e in enumerate(events) if e["eventType"].endswith("TASK_FAILED"))
        out["nobody"] = {"history": events[: cut + 1]}
    return out


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    yield await Client.connect(address)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_sync_operations_are_recorded_as_the_dev_server_records_them(
    client: Client,
) -> None:
    ATTEMPTS.clear()
    seen = await transcript(client)
    assert differences(seen, json.loads(FIXTURE.read_text())) == []
    assert ATTEMPTS == {"four": 2}  # the retryable handler error was retried once


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_nexus_task_is_shaped_as_the_dev_server_shapes_it(client: Client) -> None:
    """A raw PollNexusTaskQueue: the request the handler gets has the dev server's
    headers (a Go duration as request-timeout), start fields, callback and link."""
    queue = "nexus-raw"
    target = nexus_pb.EndpointTarget.Worker(namespace="default", task_queue=queue)
    spec = nexus_pb.EndpointSpec(name="nexus-raw", target=nexus_pb.EndpointTarget(worker=target))
    await client.operator_service.create_nexus_endpoint(ops.CreateNexusEndpointRequest(spec=spec))
    async with Worker(client, task_queue="nexus-raw-caller", workflows=[NexusCaller]):
        handle = await client.start_workflow(
            NexusCaller.run,
            args=["echo", "nexus-raw", "x"],
            id="nexus-raw",
            task_queue="nexus-raw-caller",
        )
        poll = ws.PollNexusTaskQueueRequest(
            namespace="default", identity="raw", task_queue=tq_pb.TaskQueue(name=queue)
        )
        task = await client.workflow_service.poll_nexus_task_queue(poll)
        await handle.terminate("seen")
    request = task.request
    header = dict(request.header)
    assert set(header) == {
        "user-agent",
        "request-timeout",
        "nexus-request-id",
        "nexus-link",
        "Request-Timeout",
    }
    assert re.fullmatch(r"\d+(\.\d+)?s", header["request-timeout"]), header["request-timeout"]
    start = request.start_operation
    assert (start.service, start.operation, start.callback) == ("Ops", "echo", "temporal://system")
    assert header["nexus-request-id"] == start.request_id and request.endpoint == "nexus-raw"
    run_id = handle.result_run_id
    url = (
        f"temporal:///namespaces/default/workflows/nexus-raw/{run_id}/history"
        "?eventID=5&eventType=NexusOperationScheduled&referenceType=EventReference"
    )
    assert [(link.url, link.type) for link in start.links] == [
        (url, "temporal.api.common.v1.Link.WorkflowEvent")
    ]
    assert set(start.callback_header) == {"temporal-callback-token"}
    assert request.capabilities.temporal_failure_responses


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_record_is_what_the_dev_server_writes(dev_address: str) -> None:
    async def record() -> dict[str, Any]:
        return await transcript(await connected(dev_address))

    ATTEMPTS.clear()
    assert differences(asyncio.run(record()), json.loads(FIXTURE.read_text())) == []


if __name__ == "__main__":

    async def _main(address: str) -> None:
        print(json.dumps(await transcript(await connected(address)), indent=1))

    asyncio.run(_main(sys.argv[1]))
