"""`tmodel serve --store PATH`: a Nexus operation's timeouts outlive the process.

Each timeout is a timer task of the caller run's outbox (core nexus.py), stored with
the run, so a server killed with SIGKILL after the timer was armed and started again on
the same file still times the operation out: an operation no worker takes, on its
schedule-to-close timeout (armed by the schedule), and a workflow-run operation whose
handler workflow never closes, on its start-to-close timeout (armed by the start). The
caller's history ends the same as the recorded dev server's would (NexusOperationTimedOut
with the timeout's type), the caller sees the timeout.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import TimeoutType
from temporalio.api.enums.v1 import event_type_pb2 as event_enums
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from adapters.serve.process import stop
from tests.adapters.serve.sdk import bounded
from tests.adapters.serve.test_nexus_timeouts import (
    ENDPOINT,
    NOBODY,
    QUEUE,
    UNPOLLED,
    Forever,
    SlowHandler,
    TimeoutCaller,
    _endpoint,
)
from tests.adapters.serve.test_store import free_port, start

TIMEOUT = 4.0  # seconds: long enough for the kill and the restart to come first
CASES = (
    ("store-close", UNPOLLED, {"schedule_to_close_timeout": TIMEOUT}, "SCHEDULED"),
    ("store-start-to-close", ENDPOINT, {"start_to_close_timeout": TIMEOUT}, "STARTED"),
)
ARMED = {
    "SCHEDULED": event_enums.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED,
    "STARTED": event_enums.EVENT_TYPE_NEXUS_OPERATION_STARTED,
}


async def _event_types(handle: WorkflowHandle[TimeoutCaller, str]) -> list[int]:
    return [event.event_type async for event in handle.fetch_history_events()]


@pytest.mark.asyncio
@bounded
async def test_nexus_timeouts_outlive_a_sigkill(tmp_path: Path) -> None:
    store, port = tmp_path / "store.db", free_port()
    server = start(store, port)
    try:
        client = await Client.connect(f"127.0.0.1:{port}")
        await _endpoint(client, ENDPOINT, QUEUE)
        await _endpoint(client, UNPOLLED, NOBODY)
        workflows = [TimeoutCaller, Forever]
        handlers = [SlowHandler()]
        async with Worker(
            client, task_queue=QUEUE, workflows=workflows, nexus_service_handlers=handlers
        ):
            handles = {
                name: await client.start_workflow(
                    TimeoutCaller.run, args=[endpoint, name, timeouts], id=name, task_queue=QUEUE
                )
                for name, endpoint, timeouts, _ in CASES
            }
            # wait until each timer is armed: the event that arms it is written
            for name, _, _, armed in CASES:
                while ARMED[armed] not in await _event_types(handles[name]):
                    await asyncio.sleep(0.05)
            server.send_signal(signal.SIGKILL)
            server.wait()
            server = start(store, port)
            for name, _, timeouts, _ in CASES:
                result = await asyncio.wait_for(handles[name].result(), 30.0)
                assert "NexusOperationError" in result and "timed out" in result, result
                types = await _event_types(handles[name])
                assert types.count(event_enums.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT) == 1
                history = await handles[name].fetch_history()
                timed_out = next(
                    e
                    for e in history.events
                    if e.event_type == event_enums.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT
                )
                cause = timed_out.nexus_operation_timed_out_event_attributes.failure.cause
                kind = next(iter(timeouts)).removesuffix("_timeout").upper()
                expected = TimeoutType.Value(f"TIMEOUT_TYPE_{kind}")
                assert cause.timeout_failure_info.timeout_type == expected
            await client.get_workflow_handle("nexus-timeouts-store-start-to-close").terminate()
    finally:
        stop(server)
