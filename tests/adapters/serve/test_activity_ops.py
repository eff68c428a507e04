"""PauseActivity, UnpauseActivity and ResetActivity through `tmodel serve` (the SDK's
test_activity_pause_*, test_activity_reset_* and test_external_activity_cancellation_
details failed on UNIMPLEMENTED): the replies, the heartbeat replies' `activity_paused`
and `activity_reset`, and DescribeWorkflowExecution's pending activities (state PAUSED
or PAUSE_REQUESTED, `paused`, `pause_info`) equal the real dev server's, recorded in
tests/fixtures/serve/activity_ops_dev.json by the same scenario
(activity_ops_scenario.py); the slow test checks the record against a dev server. And
an official worker's activity learns of the pause as the SDK's own tests expect."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio import activity, workflow
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

from tests.adapters.serve.activity_ops_scenario import transcript
from tests.adapters.serve.sdk import bounded, connected, eventually

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "serve" / "activity_ops_dev.json"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    yield await Client.connect(address)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_served_answers_are_the_dev_servers(client: Client) -> None:
    assert await transcript(client) == json.loads(FIXTURE.read_text())


@activity.defn
async def waits_for_a_pause() -> str:
    """Heartbeats until cancelled, and says why it was (cancellation_details)."""
    try:
        while True:
            activity.heartbeat()
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        details = activity.cancellation_details()
        assert details is not None
        return f"paused={details.paused} reset={details.reset}"


@workflow.defn(sandboxed=False)
class RunsOne:
    @workflow.run
    async def run(self) -> str:
        result: str = await workflow.execute_activity(
            waits_for_a_pause,
            activity_id="one",
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=2),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        return result


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_workers_activity_is_cancelled_as_paused(client: Client) -> None:
    queue = f"paused-{uuid.uuid4()}"
    async with Worker(
        client, task_queue=queue, workflows=[RunsOne], activities=[waits_for_a_pause]
    ):
        handle = await client.start_workflow(RunsOne.run, id=queue, task_queue=queue)

        async def heartbeating() -> bool:
            pending = (await handle.describe()).raw_description.pending_activities
            return bool(pending) and pending[0].HasField("last_heartbeat_time")

        await eventually(heartbeating)
        pause = ws.PauseActivityRequest(
            namespace="default", execution=common_pb.WorkflowExecution(workflow_id=queue), id="one"
        )
        await client.workflow_service.pause_activity(pause)
        assert await handle.result() == "paused=True reset=False"


@pytest.mark.slow
def test_the_record_is_what_the_dev_server_answers(dev_address: str) -> None:
    async def record() -> object:
        return await transcript(await connected(dev_address))

    assert asyncio.run(record()) == json.loads(FIXTURE.read_text())
