"""A worker that dies on its sticky queue, then a query and a signal (sdk-typescript's
test-sinks.ts "Core issue 589", in Python): the first worker completes the run's first
workflow task and answers a query from its sticky queue, then is killed (no
ShutdownWorker: its sticky queue is not unloaded). A second worker polls the normal
queue; a query finds no worker on the sticky queue, so the server clears the run's
stickiness (service/history/api/queryworkflow/api.go) and the signal's workflow task
goes to the normal queue at once: no WorkflowTaskTimedOut, eight events when the run
reads its history length. Run with -m from the repository's root as `first ADDRESS QUEUE
WORKFLOW_ID`, it is the first worker: it prints `ready` once its query is answered and
waits to be killed."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from tests.adapters.serve.sdk import connected

STICKY_TIMEOUT = timedelta(seconds=1)


@workflow.defn(name="StickyQueryWaiter", sandboxed=False)
class StickyQueryWaiter:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.go, timeout=timedelta(seconds=20))
        return workflow.info().get_current_history_length()

    @workflow.signal
    def proceed(self) -> None:
        self.go = True

    @workflow.query
    def q(self) -> str:
        return "not important"


def _worker(client: Client, queue: str) -> Worker:
    return Worker(
        client,
        task_queue=queue,
        workflows=[StickyQueryWaiter],
        sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
    )


async def _first(address: str, queue: str, workflow_id: str) -> None:
    client = await Client.connect(address)
    async with _worker(client, queue):
        handle = await client.start_workflow(
            StickyQueryWaiter.run, id=workflow_id, task_queue=queue
        )
        await handle.query(StickyQueryWaiter.q)
        print("ready", flush=True)
        await asyncio.sleep(3600)


async def drive(address: str) -> tuple[int, list[int]]:
    """The history length the run read, and its event types."""
    queue, workflow_id = f"sq-{uuid.uuid4()}", f"sq-{uuid.uuid4()}"
    client = await connected(address)  # the server may take a few seconds to listen
    first = subprocess.Popen(
        [sys.executable, "-m", __name__, "first", address, queue, workflow_id],
        cwd=Path(__file__).resolve().parents[3],  # the repository's root
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None
        line = await asyncio.to_thread(first.stdout.readline)
        assert line.strip() == "ready", line
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    handle: Any = client.get_workflow_handle(workflow_id)
    async with _worker(client, queue):
        await handle.query(StickyQueryWaiter.q)
        await handle.signal(StickyQueryWaiter.proceed)
        length: int = await handle.result()
    events = (await handle.fetch_history()).events
    return length, [int(e.event_type) for e in events]


if __name__ == "__main__" and sys.argv[1:2] == ["first"]:
    asyncio.run(_first(*sys.argv[2:5]))
