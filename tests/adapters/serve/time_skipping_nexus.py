"""The Nexus part of time_skipping_env.py: an operation's timeouts under the SDK's
time-skipping environment. Each timeout is a timer task of the caller's outbox, so the
skipping clock jumps to it as to any timer: an operation no worker takes times out on
its day-long schedule-to-close timeout, and a workflow-run operation whose handler
workflow never closes on its day-long start-to-close timeout, each within seconds of
real time. A start being handled holds the clock: a synchronous handler that takes a
second of real time completes within its operation's hour-long schedule-to-close
timeout."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import nexusrpc
import nexusrpc.handler
from temporalio import workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

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

DAY = 86_400.0
HOUR = 3600.0


@nexusrpc.service
class Echo:
    echo: nexusrpc.Operation[str, str]


@nexusrpc.handler.service_handler(service=Echo)
class SlowEcho:
    @nexusrpc.handler.sync_operation
    async def echo(self, ctx: nexusrpc.handler.StartOperationContext, value: str) -> str:
        await asyncio.sleep(1.0)  # real time, while the start is outstanding
        return value


@workflow.defn(sandboxed=False)
class EchoCaller:
    @workflow.run
    async def run(self, value: str) -> str:
        client = workflow.create_nexus_client(endpoint=ENDPOINT, service=Echo)
        try:
            return await client.execute_operation(
                Echo.echo, value, schedule_to_close_timeout=timedelta(hours=1)
            )
        except Exception as error:  # what the caller saw, as its result
            return f"{type(error).__name__}: {error}"


CASES = (
    ("nexus_schedule_to_close", UNPOLLED, {"schedule_to_close_timeout": DAY}),
    ("nexus_start_to_close", ENDPOINT, {"start_to_close_timeout": DAY}),
)


async def nexus_timeouts(env: WorkflowEnvironment) -> dict[str, Any]:
    """For each case: what the caller returned (None if it did not finish within 30 s
    of real time) and how far the environment's clock moved meanwhile."""
    client: Client = env.client
    await _endpoint(client, ENDPOINT, QUEUE)
    await _endpoint(client, UNPOLLED, NOBODY)
    out: dict[str, Any] = {}
    workflows = [TimeoutCaller, Forever, EchoCaller]
    handlers = [SlowHandler(), SlowEcho()]
    async with Worker(
        client, task_queue=QUEUE, workflows=workflows, nexus_service_handlers=handlers
    ):
        for name, endpoint, timeouts in CASES:
            before = await env.get_current_time()
            handle = await client.start_workflow(
                TimeoutCaller.run,
                args=[endpoint, name, timeouts],
                id=f"ts-{name}",
                task_queue=QUEUE,
            )
            try:
                out[name] = await asyncio.wait_for(handle.result(), 30.0)
            except TimeoutError:
                out[name] = None
                await handle.terminate()
            out[f"{name}_clock"] = _seconds(before, await env.get_current_time())
        before = await env.get_current_time()
        echoed = client.execute_workflow(EchoCaller.run, "held", id="ts-echo", task_queue=QUEUE)
        out["nexus_held"] = await asyncio.wait_for(echoed, 30.0)
        out["nexus_held_clock"] = _seconds(before, await env.get_current_time())
    return out


def _seconds(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()
