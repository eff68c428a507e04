"""temporalio's time-skipping test environment with `tmodel-test-server` in place of the
Java test server; run as a child process by test_time_skipping.py, which reads the JSON
line this prints.

Why a child process: the process that ran temporalio with this environment sometimes
crashes while the interpreter finalizes, after all its work is done (SIGSEGV or SIGABRT,
"PyGILState_Release ... finalizing"): an interplay of temporalio's runtime threads and
grpcio at shutdown, not the server. So this prints its results, flushes, and leaves with
os._exit(0), skipping finalization; the test asserts on what was printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio import activity, exceptions, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.adapters.serve.sdk import ACTIVITIES, WORKFLOWS, Sleeper
from tests.adapters.serve.time_skipping_nexus import nexus_timeouts
from tests.adapters.serve.time_skipping_standalone import standalone

DAY = 86_400.0
HOUR = 3600.0
ENV: list[WorkflowEnvironment] = []  # the environment, for the activity below


@activity.defn
async def sleep_past_heartbeat_timeout() -> str:
    """Sleeps (env.sleep) twice the heartbeat timeout without heartbeating."""
    timeout = activity.info().heartbeat_timeout
    assert timeout is not None
    await ENV[0].sleep(2 * timeout.total_seconds())
    return "slept"


@workflow.defn(sandboxed=False)
class MissesHeartbeats:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            sleep_past_heartbeat_timeout,
            schedule_to_close_timeout=timedelta(hours=10),
            heartbeat_timeout=timedelta(hours=1),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


async def measure() -> dict[str, Any]:
    # the script pip installed beside this interpreter (PATH may not have its directory)
    beside = Path(sys.executable).parent / "tmodel-test-server"
    path = str(beside) if beside.exists() else shutil.which("tmodel-test-server")
    assert path is not None, "pip install -e . provides tmodel-test-server"
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path)
    ENV.append(env)
    out: dict[str, Any] = {}
    workflows = [*WORKFLOWS, MissesHeartbeats]
    activities = [*ACTIVITIES, sleep_past_heartbeat_timeout]
    async with env, Worker(env.client, task_queue="ts", workflows=workflows, activities=activities):
        start = await env.get_current_time()
        slept = await env.client.execute_workflow(
            Sleeper.run, 30 * DAY, id="thirty-days", task_queue="ts"
        )
        out["slept"] = slept
        out["clock_after_workflow"] = _seconds(start, await env.get_current_time())
        before_sleep = await env.get_current_time()
        await env.sleep(timedelta(hours=5))
        out["clock_after_env_sleep"] = _seconds(before_sleep, await env.get_current_time())
        # a run whose timer is far ahead: env.sleep moves the clock by what it asks only
        far = await env.client.start_workflow(
            Sleeper.run, 100_000.0, id="far-timer", task_queue="ts"
        )
        before_short = await env.get_current_time()
        await env.sleep(1000)
        out["clock_after_short_sleep"] = _seconds(before_short, await env.get_current_time())
        out["far_timer_fired"] = await _closed(far)
        if not out["far_timer_fired"]:
            await far.terminate()
        out["heartbeat_timed_out"] = await _heartbeat_timed_out(env)
        history = await env.client.get_workflow_handle("misses").fetch_history()
        timed_out = EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT
        out["workflow_task_timeouts"] = sum(1 for e in history.events if e.event_type == timed_out)
        out.update(await nexus_timeouts(env))
        out.update(await standalone(env))
        with env.auto_time_skipping_disabled():
            before_real = await env.get_current_time()
            handle = await env.client.start_workflow(
                Sleeper.run, DAY, id="real-time", task_queue="ts"
            )
            try:
                await asyncio.wait_for(handle.result(), 2.0)
                out["real_time_workflow_finished"] = True
            except TimeoutError:
                out["real_time_workflow_finished"] = False
            out["clock_while_disabled"] = _seconds(before_real, await env.get_current_time())
            await handle.terminate()
    return out


async def _heartbeat_timed_out(env: WorkflowEnvironment) -> bool:
    """An activity that sleeps (env.sleep) 2 h with a 1 h heartbeat timeout: its own
    sleep lets the clock move on, so it times out; the run fails within 30 s of
    real time (were the activity's task a hold its sleep cannot lift, as it was, the
    clock would wait an hour of real time)."""
    try:
        await asyncio.wait_for(
            env.client.execute_workflow(MissesHeartbeats.run, id="misses", task_queue="ts"),
            30.0,
        )
    except TimeoutError:
        return False
    except WorkflowFailureError as err:
        cause = err.cause
        if isinstance(cause, exceptions.ActivityError):
            timeout = cause.cause
            if isinstance(timeout, exceptions.TimeoutError):
                return timeout.type == exceptions.TimeoutType.HEARTBEAT
    return False


async def _closed(handle: WorkflowHandle[Any, Any]) -> bool:
    described = await handle.describe()
    return described.status != WorkflowExecutionStatus.RUNNING


def _seconds(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


def main() -> None:
    results = asyncio.run(measure())
    print(json.dumps(results), flush=True)
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
