"""The hostile-caller load test: official temporalio workers run 40 concurrent workflows
on `tmodel serve` (127.0.0.1, bounded in count and time) while a second client floods
it with bad requests: bytes that are no protobuf, starts in an unknown namespace,
oversized signals, forged task tokens, bursts of long polls it abandons. Every bad
request gets its status, every workflow completes with the right result, and the
invariant report written when the server stops shows every invariant held."""

from __future__ import annotations

import asyncio
import collections
import json
import signal
import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.worker import Worker

from adapters.serve.process import launch
from tests.adapters.serve.sdk import bounded
from tests.adapters.serve.serving import ROOT
from tests.adapters.serve.test_faults import Leaf, Mixed, flaky

SERVICE = "/temporal.api.workflowservice.v1.WorkflowService/"
WORKFLOWS = 40
Code = grpc.StatusCode
# What each kind of bad request must be answered with (the Temporal server's status).
EXPECTED = {
    "garbage": {Code.INTERNAL},
    "unknown namespace": {Code.NOT_FOUND},
    "oversized signal": {Code.INVALID_ARGUMENT},
    "forged token": {Code.INVALID_ARGUMENT},
    "abandoned poll": {Code.CANCELLED},
}


def _stub(channel: grpc.aio.Channel, rpc: str) -> Any:
    return channel.unary_unary(
        SERVICE + rpc,
        request_serializer=lambda m: m if isinstance(m, bytes) else m.SerializeToString(),
    )


async def _answer(kind: str, call: Any, seen: collections.Counter[tuple[str, Code]]) -> None:
    try:
        await call
        code = Code.OK
    except grpc.aio.AioRpcError as error:
        code = error.code()
    except asyncio.CancelledError:
        code = Code.CANCELLED
    seen[(kind, code)] += 1


async def flood(address: str, stop: asyncio.Event, seen: collections.Counter[Any]) -> None:
    """Bad requests, a few hundred a second, until `stop`."""
    big = common_pb.Payloads(payloads=[common_pb.Payload(data=b"x" * (3 * 2**20))])
    async with grpc.aio.insecure_channel(address) as channel:
        while not stop.is_set():
            start = ws.StartWorkflowExecutionRequest(
                namespace=f"nope-{uuid.uuid4()}", workflow_id="x", request_id="r"
            )
            signal_ = ws.SignalWorkflowExecutionRequest(
                namespace="default", signal_name="word", input=big
            )
            signal_.workflow_execution.workflow_id = "mixed-0"
            forged = ws.RespondActivityTaskCompletedRequest(
                namespace="default", task_token=b"\x00not a token"
            )
            calls = [
                ("garbage", _stub(channel, "StartWorkflowExecution")(b"\xff\xfe\xfd", timeout=5)),
                ("unknown namespace", _stub(channel, "StartWorkflowExecution")(start, timeout=5)),
                ("oversized signal", _stub(channel, "SignalWorkflowExecution")(signal_, timeout=5)),
                ("forged token", _stub(channel, "RespondActivityTaskCompleted")(forged, timeout=5)),
            ]
            polls = [
                _stub(channel, "PollActivityTaskQueue")(
                    ws.PollActivityTaskQueueRequest(
                        namespace="hostile", task_queue=tq_pb.TaskQueue(name=f"bait-{i % 7}")
                    ),
                    timeout=30,
                )
                for i in range(50)
            ]
            await asyncio.gather(*(_answer(kind, call, seen) for kind, call in calls))
            await asyncio.sleep(0.2)
            for poll in polls:
                poll.cancel()  # the caller leaves mid long poll
            await asyncio.gather(*(_answer("abandoned poll", poll, seen) for poll in polls))


@pytest.mark.asyncio
@bounded
async def test_workers_finish_every_workflow_while_a_client_floods_bad_requests(
    tmp_path: Path,
) -> None:
    report = tmp_path / "report.json"
    proc, address = launch(
        "--namespace",
        "default",
        "--namespace",
        "hostile",
        "--json-report",
        str(report),
        cwd=str(ROOT),
    )
    stop, seen = asyncio.Event(), collections.Counter[Any]()
    try:
        client = await Client.connect(address)
        flooding = asyncio.create_task(flood(address, stop, seen))
        workers = [  # two worker processes' worth: each with a client of its own
            Worker(
                await Client.connect(address),
                task_queue="load",
                workflows=[Mixed, Leaf],
                activities=[flaky],
            )
            for _ in range(2)
        ]
        async with workers[0], workers[1]:
            handles = [
                await client.start_workflow(Mixed.run, n, id=f"mixed-{n}", task_queue="load")
                for n in range(WORKFLOWS)
            ]
            for n, handle in enumerate(handles):
                await handle.signal(Mixed.word, f"a{n}")
                await handle.signal(Mixed.word, f"b{n}")
            results = await asyncio.gather(*(handle.result() for handle in handles))
            # Answered while the workflows ran: the flood overlapped them.
            during = sum(n for (kind, _), n in seen.items() if kind != "abandoned poll")
        stop.set()
        await flooding
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert results == [f"M{n}/{n * n}/a{n}+b{n}" for n in range(WORKFLOWS)]
    for kind, code in seen:
        assert code in EXPECTED[kind], (kind, code)
    assert {kind for kind, _ in seen} == set(EXPECTED)  # every kind was sent
    # At least a whole round of the four kinds was answered before the last workflow
    # finished (how many depends on the machine's speed, not on the server).
    assert during >= len(EXPECTED) - 1
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert proc.returncode == 0 and doc["ok"], out
    assert doc["runs"]["closed"] == 2 * WORKFLOWS
