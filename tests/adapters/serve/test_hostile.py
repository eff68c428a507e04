"""Hostile callers: each bad request gets the status the real server gives, and the
server keeps serving everyone else with bounded memory.

The server runs in the test's own event loop (as in test_gate.py) so the tests can
look inside it: after thousands of long polls and a flood of polls under ever new
names, nothing they held is left behind. Expected statuses are the Temporal server's,
from its source (each cited where the server answers it: limits.py, access.py,
gate.py, rpc_tasks.py).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import grpc
import pytest
import pytest_asyncio
from temporalio import activity, workflow
from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.exceptions import ActivityError, ServerError
from temporalio.worker import Worker

from adapters.serve import limits
from adapters.serve.server import Server
from tests.adapters.serve.sdk import Sleeper, bounded

pytestmark = pytest.mark.asyncio(loop_scope="module")
SERVICE = "/temporal.api.workflowservice.v1.WorkflowService/"
MIB = 1024 * 1024


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server() -> AsyncIterator[Server]:
    served = Server("127.0.0.1:0", ("default", "flood"))
    await served.start()
    # The internal worker's standing polls (two per namespace, on the system queue) are
    # the server's own, not callers'; stopped, so what _held counts is the callers'.
    await served.internal.stop()
    yield served
    await served.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def channel(server: Server) -> AsyncIterator[grpc.aio.Channel]:
    options = [("grpc.max_send_message_length", 16 * MIB)]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}", options=options) as chan:
        yield chan


def raw(channel: grpc.aio.Channel, rpc: str, reply: Any = None) -> Any:
    """A stub of `rpc` sending bytes (or a message) and decoding `reply` if given."""
    return channel.unary_unary(
        SERVICE + rpc,
        request_serializer=lambda m: m if isinstance(m, bytes) else m.SerializeToString(),
        response_deserializer=reply.FromString if reply is not None else None,
    )


async def status(call: Any) -> tuple[grpc.StatusCode, str]:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


def start(workflow_id: str, queue: str = "hostile", **fields: Any) -> Any:
    """A StartWorkflowExecutionRequest of a Sleeper; `fields` override the defaults."""
    values: dict[str, Any] = {
        "namespace": "default",
        "workflow_id": workflow_id,
        "workflow_type": common_pb.WorkflowType(name="Sleeper"),
        "task_queue": tq_pb.TaskQueue(name=queue),
        "request_id": str(uuid.uuid4()),
    }
    return ws.StartWorkflowExecutionRequest(**{**values, **fields})


async def still_serves(server: Server, workflow_id: str) -> None:
    """An official client and worker still run a workflow to its end."""
    client = await Client.connect(f"127.0.0.1:{server.port}")
    async with Worker(client, task_queue=f"ok-{workflow_id}", workflows=[Sleeper]):
        handle = await client.start_workflow(
            Sleeper.run, 0.05, id=workflow_id, task_queue=f"ok-{workflow_id}"
        )
        assert await handle.result() >= 0.05


@bounded
async def test_each_bad_request_gets_the_servers_status(
    server: Server, channel: grpc.aio.Channel
) -> None:
    begin = raw(channel, "StartWorkflowExecution")
    big = common_pb.Payload(data=b"x" * (3 * MIB))
    cases = [
        (b"\xff\xff\xff", grpc.StatusCode.INTERNAL, "grpc: error unmarshalling request: "),
        (b"\x12\x02\xff\xfe", grpc.StatusCode.INTERNAL, "grpc: error unmarshalling request: "),
        # a field of the wrong wire type is an unknown field, then the namespace is missing
        (b"\x08\x01", grpc.StatusCode.INVALID_ARGUMENT, "Namespace is empty."),
        (start("ns", namespace="nope"), grpc.StatusCode.NOT_FOUND, "Namespace nope is not found."),
        (start(""), grpc.StatusCode.INVALID_ARGUMENT, "WorkflowId is not set on request."),
        (
            start("big", input=common_pb.Payloads(payloads=[big])),
            grpc.StatusCode.INVALID_ARGUMENT,
            "Blob data size exceeds limit.",
        ),
        (
            start("memo", memo=common_pb.Memo(fields={"m": big})),
            grpc.StatusCode.INVALID_ARGUMENT,
            "Memo size exceeds limit.",
        ),
        (
            start("huge", input=common_pb.Payloads(payloads=[big, big])),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "Received message larger than max",
        ),
    ]
    for request, code, message in cases:
        got = await status(begin(request, timeout=10))
        assert got[0] == code and message in got[1], (
            request if isinstance(request, bytes) else request.workflow_id,
            got,
        )
    signal = ws.SignalWorkflowExecutionRequest(
        namespace="default", signal_name="s", input=common_pb.Payloads(payloads=[big])
    )
    signal.workflow_execution.workflow_id = "anything"
    got = await status(raw(channel, "SignalWorkflowExecution")(signal, timeout=10))
    assert got == (grpc.StatusCode.INVALID_ARGUMENT, "Blob data size exceeds limit.")
    got = await status(raw(channel, "NoSuchMethod")(b"", timeout=10))
    assert got[0] == grpc.StatusCode.UNIMPLEMENTED
    await still_serves(server, "after-bad-requests")


@bounded
async def test_an_unknown_command_is_refused_and_the_task_stays_with_the_worker(
    server: Server, channel: grpc.aio.Channel
) -> None:
    await raw(channel, "StartWorkflowExecution")(start("unknown-command", queue="raw"), timeout=10)
    poll = ws.PollWorkflowTaskQueueRequest(
        namespace="default", task_queue=tq_pb.TaskQueue(name="raw")
    )
    task = await raw(channel, "PollWorkflowTaskQueue", ws.PollWorkflowTaskQueueResponse)(
        poll, timeout=20
    )
    unknown: Any = 99  # no CommandType has this number
    bad = ws.RespondWorkflowTaskCompletedRequest(
        namespace="default",
        task_token=task.task_token,
        commands=[command_pb.Command(command_type=unknown)],
    )
    got = await status(raw(channel, "RespondWorkflowTaskCompleted")(bad, timeout=10))
    assert got == (grpc.StatusCode.INVALID_ARGUMENT, "Unknown command type: 99")
    done = ws.RespondWorkflowTaskCompletedRequest(namespace="default", task_token=task.task_token)
    assert (await status(raw(channel, "RespondWorkflowTaskCompleted")(done, timeout=10)))[0] == (
        grpc.StatusCode.OK
    )


def _poll(channel: grpc.aio.Channel, queue: str, identity: str) -> Any:
    """An activity task poll on `queue` of namespace flood, running."""
    stub = raw(channel, "PollActivityTaskQueue", ws.PollActivityTaskQueueResponse)
    request = ws.PollActivityTaskQueueRequest(
        namespace="flood", task_queue=tq_pb.TaskQueue(name=queue), identity=identity
    )
    return asyncio.ensure_future(stub(request, timeout=60))


def _polls(channel: grpc.aio.Channel, count: int, queue: str) -> list[Any]:
    return [_poll(channel, queue, f"poller-{i}") for i in range(count)]


def _held(server: Server) -> dict[str, int]:
    """What the server holds for polls in flight, counted."""
    runtime = server.runtime
    hosts = runtime.cluster.matching.values()
    return {
        "counted": sum(server.frontend.concurrency.active.values()),
        "waiting": sum(len(w) for w in runtime.waiting_polls.values()),
        "matching pollers": sum(len(s.pollers) for h in hosts for s in h.queues.values()),
        "callbacks": sum(len(h.workers) for h in hosts),
        "poller info": sum(len(h.poller_info) for h in hosts),
        "seen": sum(len(h.seen) for h in hosts),
    }


@activity.defn
async def huge() -> str:
    return "x" * (3 * MIB)  # over the 2 MiB blob limit, under gRPC's 4 MiB


@workflow.defn(sandboxed=False)
class TooBig:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_activity(huge, start_to_close_timeout=timedelta(seconds=30))
        except ActivityError as error:
            cause = error.cause
            assert isinstance(cause, ServerError)
            return f"{cause.message} non-retryable={cause.non_retryable}"
        return "completed"


@bounded
async def test_an_oversized_activity_result_fails_the_activity_once(server: Server) -> None:
    client = await Client.connect(f"127.0.0.1:{server.port}")
    # The worker would refuse to send the result itself (PayloadsTooLarge), as it does
    # against the dev server, from the limits DescribeNamespace reports: the server's
    # own check is what is tested here.
    async with Worker(
        client,
        task_queue="too-big",
        workflows=[TooBig],
        activities=[huge],
        disable_payload_error_limit=True,
    ):
        handle = await client.start_workflow(TooBig.run, id="too-big", task_queue="too-big")
        assert await handle.result() == "Complete result exceeds size limit. non-retryable=True"
    events = [e async for e in handle.fetch_history_events()]
    assert sum(e.HasField("activity_task_failed_event_attributes") for e in events) == 1


async def released(server: Server) -> None:
    """Wait (10 s at most) until the server holds nothing for polls; fail if it does."""
    for _ in range(200):
        if not any(_held(server).values()):
            return
        await asyncio.sleep(0.05)
    assert _held(server) == dict.fromkeys(_held(server), 0)


@bounded
async def test_thousands_of_long_polls_are_bounded_and_released_when_callers_leave(
    server: Server,
) -> None:
    address = f"127.0.0.1:{server.port}"
    flooder = grpc.aio.insecure_channel(address)
    polls = _polls(flooder, 1500, "flood-q")
    while sum(p.done() for p in polls) < 1500 - limits.CONCURRENT_LIMIT:
        await asyncio.sleep(0.05)
    refused = [p for p in polls if p.done()]
    assert len(refused) == 1500 - limits.CONCURRENT_LIMIT  # the rest wait
    for p in refused:
        error = p.exception()
        assert isinstance(error, grpc.aio.AioRpcError)
        assert (error.code(), error.details()) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "namespace concurrent poller limit exceeded",
        )
    held = _held(server)
    assert held["counted"] == held["waiting"] == held["matching pollers"] == limits.CONCURRENT_LIMIT
    await still_serves(server, "during-the-poll-flood")  # another namespace is not starved
    await flooder.close()  # every caller goes away mid long poll
    await released(server)
    # a task that arrives now goes to a live poller, not to one that left
    async with grpc.aio.insecure_channel(address) as fresh:
        request = start("after-the-flood", queue="flood-q")
        request.namespace = "flood"
        await raw(fresh, "StartWorkflowExecution")(request, timeout=10)
        poll = ws.PollWorkflowTaskQueueRequest(
            namespace="flood", task_queue=tq_pb.TaskQueue(name="flood-q")
        )
        task = await raw(fresh, "PollWorkflowTaskQueue", ws.PollWorkflowTaskQueueResponse)(
            poll, timeout=20
        )
        assert task.workflow_execution.workflow_id == "after-the-flood"


@bounded
async def test_a_flood_of_polls_under_new_names_leaves_bounded_state(server: Server) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as flooder:
        for wave in range(4):  # 4 x 500 polls on new queues, each caller leaving mid poll
            calls = [_poll(flooder, f"q-{wave}-{i}", f"id-{wave}-{i}") for i in range(500)]
            while _held(server)["waiting"] < 500:
                await asyncio.sleep(0.05)
            for call in calls:
                call.cancel()
            await released(server)
        many = _polls(flooder, 1100, "one-queue")  # 1,100 identities on one queue
        while _held(server)["waiting"] < 1100:
            await asyncio.sleep(0.05)
        for p in many:
            p.cancel()
    await released(server)
    history = server.frontend.pollers
    one = history.recent(("flood", "one-queue", 2), server.frontend.now())
    assert len(one) == limits.POLLER_HISTORY  # the oldest identities were let go
    runtime = server.runtime
    idle = sum(len(h.queues) for h in runtime.cluster.matching.values())
    assert idle >= 2000  # queues no one polls any more, until they have been idle long enough
    for host in runtime.cluster.matching.values():
        host.unload_idle(runtime.kernel.now + limits.POLLER_TTL, 300 * 10**9)
    history.sweep(server.frontend.now() + limits.POLLER_TTL + 1)
    assert sum(len(h.queues) for h in runtime.cluster.matching.values()) < 10
    assert not any(key[0] == "flood" for key in history.queues)
    assert all(not h.problems for h in runtime.cluster.matching.values())
    await still_serves(server, "after-the-name-flood")
