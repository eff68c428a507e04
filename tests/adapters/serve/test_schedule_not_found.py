"""A schedule that was never made, or was deleted, is answered as the dev server answers
it (its schedules are scheduler workflows, `temporal-sys-scheduler:ID`): an unknown id
is that workflow's NotFound; a deleted one is "schedule not found" to a describe, and
"workflow execution already completed" to what signals its closed run (trigger,
pause, backfill, update) and to a second delete, while its matching times are still
read from it. Serve said "schedule not found" to all of them. The slow twin asks the
dev server the same."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleSpec,
)
from temporalio.service import RPCError

from tests.adapters.serve.sdk import bounded, connected

JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)


async def _outcome(call: Callable[[], Awaitable[Any]]) -> str:
    try:
        await call()
    except RPCError as error:
        return f"{error.status.name} {error.message}"
    return "OK"


async def answers(address: str) -> dict[str, str]:
    client: Client = await connected(address)
    sid = f"gone-{uuid.uuid4().hex[:8]}"
    schedule = Schedule(
        action=ScheduleActionStartWorkflow("W", id=f"{sid}-wf", task_queue="idle"),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=1))]),
    )
    gone = await client.create_schedule(sid, schedule)
    await gone.describe()  # its scheduler has run a workflow task: queries can read it
    await gone.delete()
    unknown = client.get_schedule_handle(f"{sid}-never")

    def matching_times(schedule_id: str) -> Callable[[], Awaitable[Any]]:
        request = ws.ListScheduleMatchingTimesRequest(namespace="default", schedule_id=schedule_id)
        request.start_time.FromDatetime(JAN_1)
        request.end_time.FromDatetime(JAN_1 + timedelta(days=1))
        return lambda: client.workflow_service.list_schedule_matching_times(request)

    out = {}
    for name, handle in (("deleted", gone), ("unknown", unknown)):
        out[f"{name} describe"] = await _outcome(handle.describe)
        out[f"{name} trigger"] = await _outcome(handle.trigger)
        out[f"{name} pause"] = await _outcome(functools.partial(handle.pause, note="n"))
        out[f"{name} delete"] = await _outcome(handle.delete)
        out[f"{name} matching times"] = await _outcome(matching_times(handle.id))
    return {k: v.replace(sid, "ID") for k, v in out.items()}


DONE = "NOT_FOUND workflow execution already completed"
NEVER = "NOT_FOUND workflow not found for ID: temporal-sys-scheduler:ID-never"
EXPECTED = {
    "deleted describe": "NOT_FOUND schedule not found",
    "deleted trigger": DONE,
    "deleted pause": DONE,
    "deleted delete": DONE,
    "deleted matching times": "OK",
    "unknown describe": NEVER,
    "unknown trigger": NEVER,
    "unknown pause": NEVER,
    "unknown delete": NEVER,
    "unknown matching times": NEVER,
}


@pytest.mark.asyncio
@bounded
async def test_a_gone_schedule_is_answered_as_the_dev_server_does(address: str) -> None:
    assert await answers(address) == EXPECTED


@pytest.mark.slow
def test_the_dev_server_answers_alike(dev_address: str) -> None:
    assert asyncio.run(answers(dev_address)) == EXPECTED
