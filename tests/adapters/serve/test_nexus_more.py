"""Nexus operations through `tmodel serve`, the parts test_nexus_operations.py does not
drive, compared field for field (ids renamed, adapters/history_compare.py) with the real
dev server's answers, recorded in tests/fixtures/serve/nexus_more_dev.json by the same
scenario; the slow test checks the record against a dev server.

- `signal`: a synchronous operation whose handler signal-with-starts a workflow and then
  signals it: the links the handler's requests carry (to the caller's
  NexusOperationScheduled event) go on the callee's WorkflowExecutionStarted and
  WorkflowExecutionSignaled events, and each signal answers with a link to its Signaled
  event by request id, which lands on the caller's NexusOperationCompleted.
- `callbacks`: a workflow-run operation whose handler workflow waits for a signal:
  DescribeWorkflowExecution lists the run's completion callback while it runs and after
  it closed (its state, trigger, attempts).
- `existing`: two operations of one caller that start the same handler workflow with
  the USE_EXISTING conflict policy: the second start attaches its completion callback
  and request id to the running workflow (a WorkflowExecutionOptionsUpdated event) and
  answers with a link to that event, and the workflow's close completes both operations
  (the caller's history is compared up to the second start's answer: the two
  completions race each other and the caller's workflow tasks).

`python -m tests.adapters.serve.test_nexus_more HOST:PORT` prints the record.
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
from google.protobuf import json_format
from temporalio import nexus, workflow
from temporalio.api.nexus.v1 import message_pb2 as nexus_pb
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from adapters.history_compare import compare
from tests.adapters.serve.nexus_record import differences, history
from tests.adapters.serve.sdk import bounded, connected, eventually

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "serve" / "nexus_more_dev.json"
ENDPOINT = "nexus-more-endpoint"
QUEUE = "nexus-more"
CALLEE_QUEUE = "nexus-more-callee"  # no worker polls it until the caller is done
# the times a callback's description carries: present on both sides, values differ
TIMES = frozenset({"registrationTime", "lastAttemptCompleteTime", "nextAttemptScheduleTime"})


@workflow.defn(sandboxed=False)
class Callee:
    def __init__(self) -> None:
        self.received: list[str] = []

    @workflow.run
    async def run(self, expected: int) -> str:
        await workflow.wait_condition(lambda: len(self.received) >= expected)
        return ",".join(self.received)

    @workflow.signal
    def ping(self, message: str) -> None:
        self.received.append(message)


@nexusrpc.service
class More:
    signal: nexusrpc.Operation[str, str]
    wait: nexusrpc.Operation[str, str]


@nexusrpc.handler.service_handler(service=More)
class MoreHandler:
    @nexusrpc.handler.sync_operation
    async def signal(self, ctx: nexusrpc.handler.StartOperationContext, callee: str) -> str:
        client = nexus.client()
        await client.start_workflow(
            Callee.run,
            2,
            id=callee,
            task_queue=CALLEE_QUEUE,
            start_signal="ping",
            start_signal_args=["first"],
        )
        await client.get_workflow_handle(callee).signal(Callee.ping, "second")
        return "signaled"

    @nexus.workflow_run_operation
    async def wait(
        self, ctx: nexus.WorkflowRunOperationContext, handler_id: str
    ) -> nexus.WorkflowHandle[str]:
        return await ctx.start_workflow(
            Callee.run,
            1,
            id=handler_id,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )


@workflow.defn(sandboxed=False)
class MoreCaller:
    @workflow.run
    async def run(self, operation: str, argument: str, count: int) -> list[str]:
        client = workflow.create_nexus_client(endpoint=ENDPOINT, service=More)
        handles = []
        for _ in range(count):  # one after the other: each start is answered first
            handles.append(await client.start_operation(getattr(More, operation), argument))
        results: list[str] = await asyncio.gather(*handles)
        return results


def _started_operations(events: list[Any]) -> int:
    started = "EVENT_TYPE_NEXUS_OPERATION_STARTED"
    return sum(1 for e in events if e["eventType"] == started)


async def _callbacks(client: Client, workflow_id: str) -> list[Any]:
    """The run's callbacks as described, in the order of the operations they complete
    (the server lists them from a map, in no set order)."""
    described = await client.get_workflow_handle(workflow_id).describe()
    listed = [json_format.MessageToDict(c) for c in described.raw_description.callbacks]
    return sorted(listed, key=_scheduled_event_id)


def _scheduled_event_id(callback: Any) -> int:
    link = callback["callback"]["links"][0]["workflowEvent"]
    return int(link["eventRef"]["eventId"])


async def _waiting(client: Client, caller_id: str, handler_id: str, count: int) -> dict[str, Any]:
    """Run `count` operations `wait` of one caller on one handler workflow; its callbacks
    described while it runs and after it closed, and both histories."""
    handle = await client.start_workflow(
        MoreCaller.run,
        args=["wait", handler_id, count],
        id=caller_id,
        task_queue=QUEUE,
        execution_timeout=timedelta(seconds=60),
    )

    async def all_started() -> bool:
        return _started_operations(await history(client, caller_id)) == count

    await eventually(all_started)
    running = await _callbacks(client, handler_id)
    await client.get_workflow_handle(handler_id).signal(Callee.ping, "done")
    result = await handle.result()
    closed: list[Any] = []

    async def delivered() -> bool:
        closed[:] = await _callbacks(client, handler_id)
        return all(c.get("state") == "CALLBACK_STATE_SUCCEEDED" for c in closed)

    await eventually(delivered)
    events = await history(client, caller_id)
    if count > 1:  # the completions race each other and the caller's workflow tasks
        started = [i for i, e in enumerate(events) if e["eventType"].endswith("OPERATION_STARTED")]
        events = events[: started[-1] + 1]
    return {
        "result": result,
        "history": events,
        "handler": await history(client, handler_id),
        "callbacks running": running,
        "callbacks closed": closed,
    }


async def transcript(client: Client) -> dict[str, Any]:
    """Each case's result, the caller's and the handler's histories, and callbacks."""
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
        workflows=[MoreCaller, Callee],
        nexus_service_handlers=[MoreHandler()],
    ):
        result = await client.execute_workflow(
            MoreCaller.run,
            args=["signal", "nexus-more-callee", 1],
            id="nexus-more-signal",
            task_queue=QUEUE,
            execution_timeout=timedelta(seconds=60),
        )
        async with Worker(client, task_queue=CALLEE_QUEUE, workflows=[Callee]):
            callee = await client.get_workflow_handle("nexus-more-callee").result()
        out["signal"] = {
            "result": [result, callee],
            "history": await history(client, "nexus-more-signal"),
            "handler": await history(client, "nexus-more-callee"),
        }
        out["callbacks"] = await _waiting(client, "nexus-more-one", "nexus-more-waiter", 1)
        out["existing"] = await _waiting(client, "nexus-more-two", "nexus-more-shared", 2)
    return out


def _timeless(callbacks: list[Any]) -> list[Any]:
    """A callback description with each timestamp's value blanked (it must be there)."""
    return [{k: "<time>" if k in TIMES else v for k, v in c.items()} for c in callbacks]


def all_differences(seen: dict[str, Any], want: dict[str, Any]) -> list[str]:
    wrong = differences(seen, want)
    for case, recorded in want.items():
        for side in ("callbacks running", "callbacks closed"):
            if side in recorded:
                got = _timeless(seen.get(case, {}).get(side, []))
                found = compare(_timeless(recorded[side]), got)
                if found is not None:
                    wrong.append(f"{case} {side}: {found}")
    return wrong


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    yield await Client.connect(address)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_links_callbacks_and_attached_starts_are_served_as_the_dev_server_serves_them(
    client: Client,
) -> None:
    seen = await transcript(client)
    assert all_differences(seen, json.loads(FIXTURE.read_text())) == []


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_record_is_what_the_dev_server_writes(dev_address: str) -> None:
    async def record() -> dict[str, Any]:
        return await transcript(await connected(dev_address))

    assert all_differences(asyncio.run(record()), json.loads(FIXTURE.read_text())) == []


if __name__ == "__main__":

    async def _main(address: str) -> None:
        print(json.dumps(await transcript(await connected(address)), indent=1))

    asyncio.run(_main(sys.argv[1]))
