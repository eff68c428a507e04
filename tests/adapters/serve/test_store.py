"""`tmodel serve --store PATH`: killed with SIGKILL in the middle of a load and started
again on the same file, the server loses nothing it acknowledged.

An official temporalio worker runs `Durable` workflows (an activity, a timer, then a
wait for a signal) while a client starts them and signals some; the server is killed
with SIGKILL while starts are still coming in, and started again on the same file and
port. The worker keeps running through the outage. Every start the client saw answered
completes with the right result, each history read before the kill is event for event
the beginning of the history after, and each acknowledged signal is in it exactly once.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import activity, workflow
from temporalio.api.enums.v1 import common_pb2 as common_enums
from temporalio.api.enums.v1 import event_type_pb2 as event_enums
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from adapters.serve.process import launch, stop
from tests.adapters.serve.sdk import bounded
from tests.adapters.serve.serving import ROOT, refused

SIGNALED = event_enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED


@activity.defn
async def double(x: int) -> int:
    return 2 * x


@workflow.defn(sandboxed=False)
class Durable:
    def __init__(self) -> None:
        self.word = ""

    @workflow.run
    async def run(self, x: int) -> str:
        doubled = await workflow.execute_activity(
            double, x, start_to_close_timeout=timedelta(seconds=5)
        )
        await workflow.sleep(0.2)
        await workflow.wait_condition(lambda: bool(self.word))
        return f"{doubled}-{self.word}"

    @workflow.signal
    def go(self, word: str) -> None:
        self.word = word


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(store: Path, port: int) -> subprocess.Popen[str]:
    proc, _ = launch("--address", f"127.0.0.1:{port}", "--store", str(store), cwd=str(ROOT))
    return proc


async def history(handle: WorkflowHandle[Durable, str]) -> list[object]:
    return [event async for event in handle.fetch_history_events()]


@pytest.mark.asyncio
@bounded
async def test_sigkill_during_a_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    store, port = tmp_path / "store.db", free_port()
    server = start(store, port)
    try:
        client = await Client.connect(f"127.0.0.1:{port}")
        async with Worker(client, task_queue="durable", workflows=[Durable], activities=[double]):
            started: dict[int, WorkflowHandle[Durable, str]] = {}
            signaled: dict[int, str] = {}
            for i in range(12):
                started[i] = await client.start_workflow(
                    Durable.run, i, id=f"durable-{i}", task_queue="durable"
                )
            for i in range(6):
                await started[i].signal(Durable.go, "early")
                signaled[i] = "early"
            # tasks that wait in matching (no worker polls their queue yet): matching's
            # queues are not stored, so the restart must hand them to matching again
            idle = [
                await client.start_workflow(Durable.run, i, id=f"idle-{i}", task_queue="idle")
                for i in range(3)
            ]
            await asyncio.sleep(0.3)
            seen = {i: await history(h) for i, h in started.items()}

            async def load() -> None:  # starts keep coming until the kill
                for i in range(12, 200):
                    handle = await client.start_workflow(
                        Durable.run, i, id=f"durable-{i}", task_queue="durable"
                    )
                    started[i] = handle  # acknowledged: the server answered

            loading = asyncio.create_task(load())
            while len(started) < 20:
                await asyncio.sleep(0.01)
            server.send_signal(signal.SIGKILL)
            server.wait()
            loading.cancel()
            assert len(started) < 200  # the kill came in the middle of the load
            server = start(store, port)

            for i, handle in started.items():
                if i not in signaled:
                    await handle.signal(Durable.go, "late")
                    signaled[i] = "late"
            for i, handle in started.items():
                assert await handle.result() == f"{2 * i}-{signaled[i]}"
            async with Worker(client, task_queue="idle", workflows=[Durable], activities=[double]):
                for i, waiting in enumerate(idle):
                    await waiting.signal(Durable.go, "idle")
                    assert await waiting.result() == f"{2 * i}-idle"
            for i, handle in started.items():
                after = await history(handle)
                assert after[: len(seen.get(i, []))] == seen.get(i, []), i
                signals = [e for e in after if getattr(e, "event_type", None) == SIGNALED]
                assert len(signals) == 1, i
    finally:
        stop(server)


@pytest.mark.asyncio
@bounded
async def test_namespaces_and_search_attributes_outlive_the_process(tmp_path: Path) -> None:
    store, port = tmp_path / "store.db", free_port()
    server = start(store, port)
    try:
        client = await Client.connect(f"127.0.0.1:{port}")
        register = ws.RegisterNamespaceRequest(namespace="kept")
        register.workflow_execution_retention_period.FromTimedelta(timedelta(days=3))
        await client.workflow_service.register_namespace(register)
        before = await client.workflow_service.describe_namespace(
            ws.DescribeNamespaceRequest(namespace="kept")
        )
        added = ops.AddSearchAttributesRequest(namespace="kept")
        added.search_attributes["Customer"] = common_enums.INDEXED_VALUE_TYPE_KEYWORD
        await client.operator_service.add_search_attributes(added)
        server.send_signal(signal.SIGKILL)
        server.wait()
        server = start(store, port)
        after = await client.workflow_service.describe_namespace(
            ws.DescribeNamespaceRequest(namespace="kept")
        )
        assert after.namespace_info.id == before.namespace_info.id
        assert after.config.workflow_execution_retention_ttl.seconds == 3 * 86400
        listed = await client.operator_service.list_search_attributes(
            ops.ListSearchAttributesRequest(namespace="kept")
        )
        assert dict(listed.custom_attributes) == {
            "Customer": common_enums.INDEXED_VALUE_TYPE_KEYWORD
        }
    finally:
        stop(server)


def test_a_store_in_use_or_not_a_store_is_one_line_and_exit_2(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    server = start(store, free_port())
    try:
        not_a_store = tmp_path / "notes.txt"
        not_a_store.write_text("hello", encoding="utf-8")
        for path, problem in ((store, "locked"), (not_a_store, "not a database")):
            assert problem in refused("--store", str(path))
    finally:
        stop(server)
