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

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.adapters.serve.sdk import ACTIVITIES, WORKFLOWS, Sleeper

DAY = 86_400.0


async def measure() -> dict[str, float | bool]:
    # the script pip installed beside this interpreter (PATH may not have its directory)
    beside = Path(sys.executable).parent / "tmodel-test-server"
    path = str(beside) if beside.exists() else shutil.which("tmodel-test-server")
    assert path is not None, "pip install -e . provides tmodel-test-server"
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path)
    out: dict[str, float | bool] = {}
    async with env, Worker(env.client, task_queue="ts", workflows=WORKFLOWS, activities=ACTIVITIES):
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
