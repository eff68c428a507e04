"""`tmodel serve --store PATH`: standalone activities outlive the process.

Each run's record, start request and armed timers are written to the store when they
change (adapters/serve/store_standalone.py). After a SIGKILL and a start on the same
file: a closed run is described as it closed; an attempt that waited for a worker is
handed to one that polls now, with its input; a run whose schedule-to-start timer was
armed before the kill times out; a run deleted after the restart stays deleted across
the next one.
"""

from __future__ import annotations

import signal
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import ActivityExecutionStatus, ActivityFailureError, Client
from temporalio.exceptions import TimeoutError as ActivityTimeout
from temporalio.exceptions import TimeoutType
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from adapters.serve.process import stop
from tests.adapters.serve.sdk import bounded
from tests.adapters.serve.test_standalone_activities import increment
from tests.adapters.serve.test_store import free_port, start

TIMEOUT = timedelta(seconds=4)  # long enough for the kill and the restart to come first


def _restart(server: subprocess.Popen[str], store: Path, port: int) -> subprocess.Popen[str]:
    server.send_signal(signal.SIGKILL)
    server.wait()
    return start(store, port)


@pytest.mark.asyncio
@bounded
async def test_standalone_activities_outlive_a_sigkill(tmp_path: Path) -> None:
    store, port = tmp_path / "store.db", free_port()
    server = start(store, port)
    try:
        client = await Client.connect(f"127.0.0.1:{port}")
        closed = await client.start_activity(
            increment, 1, id="closed", task_queue="ran", start_to_close_timeout=TIMEOUT
        )
        async with Worker(client, task_queue="ran", activities=[increment]):
            assert await closed.result() == 2
        waiting = await client.start_activity(
            increment, 41, id="waiting", task_queue="later", start_to_close_timeout=TIMEOUT
        )
        timing_out = await client.start_activity(
            increment,
            0,
            id="timing-out",
            task_queue="nobody",
            schedule_to_start_timeout=TIMEOUT,
            start_to_close_timeout=TIMEOUT,
        )
        doomed = await client.start_activity(
            increment, 0, id="doomed", task_queue="nobody", start_to_close_timeout=TIMEOUT
        )
        server = _restart(server, store, port)

        described = await closed.describe()
        assert described.status == ActivityExecutionStatus.COMPLETED
        assert described.activity_run_id == closed.run_id
        async with Worker(client, task_queue="later", activities=[increment]):
            assert await waiting.result() == 42
        with pytest.raises(ActivityFailureError) as failed:
            await timing_out.result()
        cause = failed.value.cause
        assert isinstance(cause, ActivityTimeout)
        assert cause.type == TimeoutType.SCHEDULE_TO_START
        delete = ws.DeleteActivityExecutionRequest(namespace="default", activity_id="doomed")
        await client.workflow_service.delete_activity_execution(delete)
        server = _restart(server, store, port)
        with pytest.raises(RPCError) as gone:
            await doomed.describe()
        assert gone.value.status == RPCStatusCode.NOT_FOUND
        assert (await waiting.describe()).status == ActivityExecutionStatus.COMPLETED
    finally:
        stop(server)
