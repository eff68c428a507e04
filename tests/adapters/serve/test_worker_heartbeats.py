"""Worker heartbeats: the workers that heartbeat are listed, counted and described
(`temporal worker list`, `count`, `describe`), as the dev server lists them.

One scenario runs against `tmodel serve` and, in the slow twin, against the dev server,
and both must give the same facts: a temporalio worker heartbeating every second
(its Runtime's `worker_heartbeat_interval`) is listed Running while it runs and
ShuttingDown after it stops (its last heartbeat, which ShutdownWorker carries); then
heartbeats sent by hand are filtered by the query fields of matching's worker query
engine (an unknown field, NOT or IN lists nothing, without error), paged by instance
key, and a heartbeat with status SHUTDOWN removes its worker. Names drawn for the run
are replaced by "P" and the hash of a masked error by "HASH". The eviction of a worker
5 to 6 minutes after its last heartbeat is checked on the registry with a clock of its
own (waiting for it on a server would take minutes).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from google.protobuf import timestamp_pb2
from temporalio.api.enums.v1 import common_pb2 as enums
from temporalio.api.worker.v1 import message_pb2 as worker_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.runtime import Runtime, TelemetryConfig
from temporalio.service import RPCError
from temporalio.worker import Worker

from adapters.serve import errors
from adapters.serve.worker_registry import MINUTE, WorkerRegistry
from tests.adapters.serve.sdk import WORKFLOWS, bounded, connected

SECOND = 10**9


def _stamp(text: str) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromJsonString(text)
    return out


def crafted(p: str) -> list[worker_pb.WorkerHeartbeat]:
    """Four workers' heartbeats: a, b, c on P-q1/P-q2, s on a system queue."""
    a = worker_pb.WorkerHeartbeat(
        worker_instance_key=f"{p}-a",
        worker_identity="id-a",
        task_queue=f"{p}-q1",
        sdk_name="sdk-x",
        sdk_version="1.0",
        status=enums.WORKER_STATUS_RUNNING,
        start_time=_stamp("2024-01-01T00:00:00Z"),
        heartbeat_time=_stamp("2024-01-01T00:01:00Z"),
    )
    a.host_info.host_name = "host-1"
    a.deployment_version.deployment_name = "dep"
    a.deployment_version.build_id = "b1"
    b = worker_pb.WorkerHeartbeat(
        worker_instance_key=f"{p}-b",
        worker_identity="id-b",
        task_queue=f"{p}-q2",
        sdk_name="sdk-y",
        sdk_version="2.0",
        status=enums.WORKER_STATUS_SHUTTING_DOWN,
        start_time=_stamp("2025-01-01T00:00:00Z"),
    )
    b.host_info.host_name = "host-2"
    c = worker_pb.WorkerHeartbeat(
        worker_instance_key=f"{p}-c", task_queue=f"{p}-q1", status=enums.WORKER_STATUS_RUNNING
    )
    s = worker_pb.WorkerHeartbeat(
        worker_instance_key=f"{p}-s",
        task_queue=f"temporal-sys-{p}",
        status=enums.WORKER_STATUS_RUNNING,
    )
    return [a, b, c, s]


# query ({p}: the run's prefix) -> which of a, b, c it lists, or the error it gives
QUERIES: dict[str, Any] = {
    "": "abc",
    "TaskQueue = '{p}-q1'": "ac",
    'TaskQueue = "{p}-q1"': "ac",
    "TaskQueue STARTS_WITH '{p}-'": "abc",
    "TaskQueue NOT STARTS_WITH '{p}-q1'": "b",
    "TaskQueue <> '{p}-q1'": "b",
    "taskqueue = '{p}-q1'": "",
    "WorkerStatus = 'ShuttingDown'": "b",
    "Status = 'Running'": "ac",
    "`Status` = 'Running'": "",
    "WorkerStatus = 'WORKER_STATUS_RUNNING'": "",
    "DeploymentName = 'dep' AND BuildId = 'b1'": "a",
    "DeploymentName IS NULL": "bc",
    "HostName != 'host-1'": "bc",
    "WorkerIdentity IS NOT NULL": "ab",
    "SdkName = 'sdk-x' OR (SdkName = 'sdk-y' AND SdkVersion = '2.0')": "ab",
    "StartTime >= '2024-06-01T00:00:00Z'": "b",
    "StartTime < '2024-06-01T00:00:00Z'": "ac",
    "StartTime < 1": "c",
    "StartTime IS NULL": "c",
    "HeartbeatTime BETWEEN '2023-01-01T00:00:00Z' AND '2024-06-01T00:00:00Z'": "a",
    "HeartbeatTime NOT BETWEEN '2023-01-01T00:00:00Z' AND '2024-06-01T00:00:00Z'": "",
    "StartTime > 'yesterday'": "",
    "Bogus = 'x' OR TaskQueue = '{p}-q1'": "",
    "TaskQueue = '{p}-q1' OR Bogus = 'x'": "ac",
    "NOT TaskQueue = '{p}-q1'": "",
    "TaskQueue IN ('{p}-q1')": "",
    "TaskQueue LIKE '{p}%'": "",
    "TaskQueue = ''": "",
    "TaskQueue = 5": "",
    "TaskQueue": "",
    "TaskQueue = '{p}-q1' ORDER BY StartTime DESC": "ac",
    "TaskQueue = '{p}-q1' GROUP BY TaskQueue": "ac",
    "TaskQueue = '{p}-q1' LIMIT 1": (
        "INVALID_ARGUMENT",
        "operation is not supported: 'limit' clause",
    ),
    "TaskQueue =": ("INVALID_ARGUMENT", "malformed query: syntax error at position 39"),
    "TaskQueue = 'x' extra": (
        "INVALID_ARGUMENT",
        "malformed query: syntax error at position 49 near 'extra'",
    ),
    "   ": ("INVALID_ARGUMENT", "malformed query: syntax error at position 1"),
    "where TaskQueue = 'x'": ("UNKNOWN", "something went wrong, please retry (HASH)"),
}


def _error(error: RPCError, p: str) -> tuple[str, str]:
    message = re.sub(r"retry \([0-9a-f]{8}\)", "retry (HASH)", error.message)
    return error.status.name, message.replace(p, "P")


async def sdk_worker(address: str, p: str) -> dict[str, Any]:
    """A temporalio worker heartbeating every second, while it runs and after it stops."""
    runtime = Runtime(telemetry=TelemetryConfig(), worker_heartbeat_interval=timedelta(seconds=1))
    client = await Client.connect(address, runtime=runtime)
    service = client.workflow_service
    mine = ws.ListWorkersRequest(namespace="default", query=f"TaskQueue = '{p}'")
    facts: dict[str, Any] = {}
    async with Worker(client, task_queue=p, workflows=WORKFLOWS):
        for _ in range(200):
            listed = await service.list_workers(mine)
            if listed.workers_info:
                break
            await asyncio.sleep(0.1)
        first = listed.workers_info[0].worker_heartbeat
        key = first.worker_instance_key
        summary = listed.workers[0]
        facts["listed"] = (len(listed.workers_info), enums.WorkerStatus.Name(first.status))
        facts["summary"] = (summary.worker_instance_key == key, summary.task_queue == p)
        facts["sdk"] = first.sdk_name
        for _ in range(100):  # the next heartbeat replaces the first
            described = await service.describe_worker(
                ws.DescribeWorkerRequest(namespace="default", worker_instance_key=key)
            )
            later = described.worker_info.worker_heartbeat
            if later.heartbeat_time.ToNanoseconds() > first.heartbeat_time.ToNanoseconds():
                break
            await asyncio.sleep(0.1)
        facts["beats again"] = later.heartbeat_time.ToNanoseconds() > (
            first.heartbeat_time.ToNanoseconds()
        )
        count = await service.count_workers(
            ws.CountWorkersRequest(namespace="default", query=mine.query)
        )
        facts["counted"] = count.count
    after = await service.describe_worker(
        ws.DescribeWorkerRequest(namespace="default", worker_instance_key=key)
    )
    facts["after shutdown"] = enums.WorkerStatus.Name(after.worker_info.worker_heartbeat.status)
    return facts


async def listing(address: str) -> dict[str, Any]:
    """Everything the scenario finds, with the run's names replaced by P."""
    p = f"hb{uuid.uuid4().hex[:8]}"
    client = await connected(address)  # the dev server may take a while to listen
    service = client.workflow_service
    described = await service.describe_namespace(ws.DescribeNamespaceRequest(namespace="default"))
    facts: dict[str, Any] = {
        "declared": described.namespace_info.capabilities.worker_heartbeats,
        "sdk worker": await sdk_worker(address, p),
    }
    beats = crafted(p)
    await service.record_worker_heartbeat(
        ws.RecordWorkerHeartbeatRequest(namespace="default", identity="t", worker_heartbeat=beats)
    )
    ours = {f"{p}-{x}": x for x in "abc"}
    found: dict[str, Any] = {}
    for text, _ in QUERIES.items():
        request = ws.ListWorkersRequest(namespace="default", query=text.replace("{p}", p))
        try:
            listed = await service.list_workers(request)
        except RPCError as error:
            found[text] = _error(error, p)
            continue
        keys = [w.worker_heartbeat.worker_instance_key for w in listed.workers_info]
        found[text] = "".join(sorted(ours[k] for k in keys if k in ours))
    facts["queries"] = found
    system = f"TaskQueue = 'temporal-sys-{p}'"
    facts["system"] = [
        len((await service.list_workers(ws.ListWorkersRequest(**args))).workers_info)
        for args in (
            {"namespace": "default", "query": system},
            {"namespace": "default", "query": system, "include_system_workers": True},
        )
    ]
    ours_query = f"TaskQueue STARTS_WITH '{p}-'"
    pages: list[tuple[list[str], str]] = []
    token = b""
    while True:
        page = await service.list_workers(
            ws.ListWorkersRequest(
                namespace="default", query=ours_query, page_size=2, next_page_token=token
            )
        )
        keys = [w.worker_heartbeat.worker_instance_key.replace(p, "P") for w in page.workers_info]
        pages.append((keys, page.next_page_token.decode().replace(p, "P")))
        token = page.next_page_token
        if not token:
            break
    facts["pages"] = pages
    try:
        await service.list_workers(
            ws.ListWorkersRequest(
                namespace="default", query=ours_query, page_size=1, next_page_token=b"xx"
            )
        )
    except RPCError as error:
        facts["bad token"] = _error(error, p)
    count = ws.CountWorkersRequest(namespace="default", query=ours_query)
    facts["count"] = [(await service.count_workers(count)).count]
    a = await service.describe_worker(
        ws.DescribeWorkerRequest(namespace="default", worker_instance_key=f"{p}-a")
    )
    facts["kept as sent"] = a.worker_info.worker_heartbeat == beats[0]
    gone = worker_pb.WorkerHeartbeat()
    gone.CopyFrom(beats[2])
    gone.status = enums.WORKER_STATUS_SHUTDOWN
    await service.record_worker_heartbeat(
        ws.RecordWorkerHeartbeatRequest(namespace="default", worker_heartbeat=[gone])
    )
    facts["count"].append((await service.count_workers(count)).count)
    for key, namespace in ((f"{p}-c", "default"), ("x", f"{p}-none")):
        try:
            await service.describe_worker(
                ws.DescribeWorkerRequest(namespace=namespace, worker_instance_key=key)
            )
        except RPCError as error:
            facts.setdefault("describe errors", []).append(_error(error, p))
    return facts


EXPECTED = {
    "declared": True,
    "sdk worker": {
        "listed": (1, "WORKER_STATUS_RUNNING"),
        "summary": (True, True),
        "sdk": "temporal-python",
        "beats again": True,
        "counted": 1,
        "after shutdown": "WORKER_STATUS_SHUTTING_DOWN",
    },
    "queries": QUERIES,
    "system": [0, 1],
    "pages": [(["P-a", "P-b"], '{"l":"P-b"}'), (["P-c"], "")],
    "bad token": ("INVALID_ARGUMENT", "invalid next_page_token"),
    "count": [3, 2],
    "kept as sent": True,
    "describe errors": [
        ("NOT_FOUND", "Worker P-c not found"),
        ("NOT_FOUND", "Namespace P-none is not found."),
    ],
}


@pytest.mark.asyncio
@bounded
async def test_heartbeating_workers_are_listed_counted_and_described(address: str) -> None:
    assert await listing(address) == EXPECTED


@pytest.mark.slow
def test_the_dev_server_lists_them_alike(dev_address: str) -> None:
    assert asyncio.run(listing(dev_address)) == EXPECTED


def test_a_worker_is_evicted_at_the_first_round_5_minutes_after_its_last_heartbeat() -> None:
    """Rounds run each minute from the start: a heartbeat at 10 s is still listed at
    5 min 59 s (the 5-minute round keeps what was seen since 0 s) and gone at 6 min."""
    now = [1_000 * SECOND]
    registry = WorkerRegistry(lambda: now[0])
    start = now[0]
    now[0] = start + 10 * SECOND
    registry.record("ns", [worker_pb.WorkerHeartbeat(worker_instance_key="k", task_queue="q")])
    now[0] = start + 6 * MINUTE - SECOND
    assert [hb.worker_instance_key for hb in registry.matching("ns", "", False)] == ["k"]
    now[0] = start + 6 * MINUTE
    assert registry.matching("ns", "", False) == []
    with pytest.raises(errors.ServiceError, match="Worker k not found"):
        registry.describe("ns", "k")


def test_a_page_after_the_empty_key_starts_again() -> None:
    """An empty cursor means the start, so a page ending on a worker with no instance key
    hands out a token that lists from the beginning again, as the server's does."""
    registry = WorkerRegistry(lambda: 0)
    keys = ["", "k1", "k2"]
    registry.record("ns", [worker_pb.WorkerHeartbeat(worker_instance_key=k) for k in keys])
    first, token = registry.page("ns", "", False, 1, b"")
    assert ([hb.worker_instance_key for hb in first], token) == ([""], b'{"l":""}')
    again, _ = registry.page("ns", "", False, 1, token)
    assert [hb.worker_instance_key for hb in again] == [""]
    rest, end = registry.page("ns", "", False, 0, b'{"l":"k1"}')
    assert ([hb.worker_instance_key for hb in rest], end) == (["k2"], b"")
