"""Time skipping: temporalio's `WorkflowEnvironment.start_time_skipping` with
`tmodel-test-server` as its test server (the SDK side runs in a child process, see
time_skipping_env.py for why), and `tmodel serve --time-skipping` used directly, with
no TestService calls (it starts unlocked, so an idle server jumps to the next timer);
and the test server's start-up: GetSystemInfo waits for the model, so the SDK's
environment is ready when it says it started.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import grpc
import pytest
from temporalio.api.enums.v1 import event_type_pb2 as event_enums
from temporalio.api.testservice.v1 import request_response_pb2 as ts
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCStatusCode

from adapters import serve_cmd
from adapters.serve.gate import Listener
from adapters.serve.server import Server
from tests.adapters.serve.sdk import QUEUE, Sleeper, bounded, rpc_error, start_request
from tests.adapters.serve.serving import ROOT

SERVE_ARGS = ("--time-skipping",)
DAY = 86_400.0
HOUR = 3600.0


def test_the_sdk_time_skipping_environment_runs_on_tmodel_test_server() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.adapters.serve.time_skipping_env"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    # a 30-day sleep completes, and the environment's clock moved on by 30 days
    assert results["slept"] >= 30 * DAY
    assert results["clock_after_workflow"] >= 30 * DAY
    # env.sleep moves the clock by the duration asked
    assert results["clock_after_env_sleep"] >= 5 * 3600
    # ... and no further, though a run's timer is due 100,000 s ahead (the sleep's end
    # locks the clock again at once, as the Java test server's does)
    assert 1000 <= results["clock_after_short_sleep"] < 1000 + 60
    assert results["far_timer_fired"] is False
    # an activity's own env.sleep lifts its hold: the clock moves on to its heartbeat
    # timeout (as the Java test server counts holds)
    assert results["heartbeat_timed_out"] is True
    # ... but not on to the 10 s timeout of the workflow task that timeout scheduled
    assert results["workflow_task_timeouts"] == 0
    # a Nexus operation's timeouts are timer tasks the clock jumps to: a day-long
    # schedule-to-close timeout (no worker takes the operation) and a day-long
    # start-to-close one (the handler's workflow never closes) time the operation out
    for case in ("nexus_schedule_to_close", "nexus_start_to_close"):
        assert results[case] is not None, f"{case}: the caller did not finish in 30 s"
        assert "NexusOperationError" in results[case] and "timed out" in results[case], case
        assert results[f"{case}_clock"] >= DAY, case
    # ... while a start a handler is working on holds the clock: its hour-long timeout
    # does not fire during the handler's second of real time
    assert results["nexus_held"] == "held"
    assert results["nexus_held_clock"] < HOUR
    # a standalone activity's retry waits out its day-long interval by a jump, and its
    # running attempt holds the clock short of its hour-long schedule-to-close timeout
    assert results["standalone_retried"] == 2
    assert results["standalone_retried_clock"] >= DAY
    assert results["standalone_held"] == "done"
    assert results["standalone_held_clock"] < HOUR
    # with automatic skipping off, a day-long timer does not fire and time is real
    assert results["real_time_workflow_finished"] is False
    assert 0 < results["clock_while_disabled"] < 3600


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_serve_with_time_skipping_skips_a_30_day_timer(client: Client) -> None:
    handle = await client.start_workflow(Sleeper.run, 30 * DAY, id="skip", task_queue=QUEUE)
    assert await handle.result() >= 30 * DAY
    events = (await handle.fetch_history()).events
    started = next(e for e in events if e.event_type == event_enums.EVENT_TYPE_TIMER_STARTED)
    fired = next(e for e in events if e.event_type == event_enums.EVENT_TYPE_TIMER_FIRED)
    gap = fired.event_time.ToDatetime() - started.event_time.ToDatetime()
    assert gap.total_seconds() >= 30 * DAY


def test_the_test_server_holds_system_info_until_the_model_is_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Were GetSystemInfo answered before the model loads, the SDK's environment would
    start at once and its first calls (timed by the SDK's own tests) would wait for
    the load: 3 s on a loaded machine, over test_workflow_env_time_skipping_disabled's
    2.5 s bound."""
    seen: list[serve_cmd.Options] = []

    async def capture(options: serve_cmd.Options) -> int:
        seen.append(options)
        return 0

    monkeypatch.setattr(serve_cmd, "serve", capture)
    assert serve_cmd.test_server_main(["7999"]) == 0
    (options,) = seen
    assert options.hold_system_info and options.time_skipping and options.locked

    async def scenario() -> tuple[bool, str]:
        listener = Listener("127.0.0.1:0", options.hold_system_info)
        port = await listener.start()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            info: Any = channel.unary_unary(
                "/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo",
                request_serializer=lambda message: message.SerializeToString(),
                response_deserializer=ws.GetSystemInfoResponse.FromString,
            )
            call = asyncio.ensure_future(info(ws.GetSystemInfoRequest(), timeout=30))
            await asyncio.sleep(0.5)
            held = not call.done()
            server = Server(listener.address, ("default",), listener=listener)
            await server.start()
            version: str = (await call).server_version
            await server.stop()
        return held, version

    held, version = asyncio.run(scenario())
    assert held
    assert version


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_an_unlock_is_refused_only_when_nothing_holds_the_clock(client: Client) -> None:
    """The Java test server counts locks and tasks in flight in one number and refuses
    an unlock only at zero: with a workflow task waiting (no worker polls IDLE) an
    unlock without a lock is taken; once the run is gone it is refused."""
    unlock = ts.UnlockTimeSkippingRequest()
    error = await rpc_error(client.test_service.unlock_time_skipping(unlock))
    assert error.status == RPCStatusCode.FAILED_PRECONDITION
    await client.workflow_service.start_workflow_execution(start_request("held"))
    await client.test_service.unlock_time_skipping(unlock)
    await client.test_service.lock_time_skipping(ts.LockTimeSkippingRequest())
    await client.get_workflow_handle("held").terminate()
    error = await rpc_error(client.test_service.unlock_time_skipping(unlock))
    assert error.status == RPCStatusCode.FAILED_PRECONDITION
