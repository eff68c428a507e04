"""An activity that fails sends its last, throttled heartbeat with the failure
(RespondActivityTaskFailed's lastHeartbeatDetails), and the server keeps it as the
activity's progress, so the retry reads it (respondactivitytaskfailed/api.go,
UpdateActivityProgress). Through temporalio against a served model."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

from tests.adapters.serve.sdk import bounded

QUEUE = "heartbeat-on-failure"


@activity.defn(name="beats_then_fails")
async def beats_then_fails() -> list[str]:
    info = activity.info()
    if info.attempt == 1:
        # The first heartbeat goes out at once; the SDK holds the second back
        # (throttled to most of the heartbeat timeout) and sends it with the failure.
        activity.heartbeat("first")
        await asyncio.sleep(0.5)
        activity.heartbeat("second")
        raise RuntimeError("fail the first attempt")
    return [str(d) for d in info.heartbeat_details]


@workflow.defn(name="HeartbeatRetry", sandboxed=False)
class HeartbeatRetry:
    @workflow.run
    async def run(self) -> list[str]:
        result: list[str] = await workflow.execute_activity(
            beats_then_fails,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )
        return result


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    client = await Client.connect(address)
    async with Worker(
        client, task_queue=QUEUE, workflows=[HeartbeatRetry], activities=[beats_then_fails]
    ):
        yield client


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_retry_reads_the_heartbeat_sent_with_the_failure(client: Client) -> None:
    handle = await client.start_workflow(
        HeartbeatRetry.run, id=f"beat-{uuid.uuid4()}", task_queue=QUEUE
    )
    assert await handle.result() == ["second"]
