"""A terminate retried after its first attempt took effect (its reply lost under faults)
meets the closed run: both servers answer NotFound "workflow execution already
completed" (terminate has no request id). The scenario library's `terminate_run` counts
that answer as done only when the run's close event is a termination with the same
reason; any other closed run still raises. Against `tmodel serve` and, slow, the dev
server."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from adapters.conform.scenarios.context import terminate_run
from tests.adapters.serve.sdk import IDLE, bounded, connected

ALREADY = "workflow execution already completed"


async def _rejected(call: object) -> tuple[RPCStatusCode, str]:
    with pytest.raises(RPCError) as info:
        await call  # type: ignore[misc]
    return info.value.status, info.value.message


async def drive(address: str) -> list[tuple[RPCStatusCode, str]]:
    client = await connected(address)
    handle = await client.start_workflow("Idle", id=f"tr-{uuid.uuid4()}", task_queue=IDLE)
    await handle.terminate(reason="ours")  # the first attempt, whose reply was lost
    await terminate_run(handle, reason="ours")  # the retry: accepted
    answers = [await _rejected(handle.terminate(reason="ours"))]  # what the retry met
    answers.append(await _rejected(terminate_run(handle, reason="someone else's")))
    timed_out = await client.start_workflow(
        "Idle",
        id=f"tr-{uuid.uuid4()}",
        task_queue=IDLE,
        run_timeout=timedelta(seconds=1),
    )
    with pytest.raises(WorkflowFailureError):
        await timed_out.result()
    answers.append(await _rejected(terminate_run(timed_out, reason="ours")))
    return answers


EXPECTED = [(RPCStatusCode.NOT_FOUND, ALREADY)] * 3


@pytest.mark.asyncio
@bounded
async def test_a_retried_terminate_counts_only_for_its_own_termination(address: str) -> None:
    assert await drive(address) == EXPECTED


@pytest.mark.slow
def test_the_dev_server_answers_the_retry_alike(dev_address: str) -> None:
    assert asyncio.run(drive(dev_address)) == EXPECTED
