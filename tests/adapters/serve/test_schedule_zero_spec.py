"""A schedule's spec is kept as the request gave it: a zero jitter and a zero phase are
answered back as "0s" (the `temporal` CLI sends both), an unset one stays absent, and a
cron string's "@every 3h/0s" keeps its phase where "@every 2h" has none (service/worker/
scheduler/calendar.go parseCronStringInterval). ListSchedules shows each entry's memo,
empty when the schedule has none beside its list info. Serve dropped the zero jitter and
phases and left the memo out. The slow twin asks the dev server the same."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.schedule.v1 import message_pb2 as schedule_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client

from tests.adapters.serve.sdk import IDLE, bounded, connected

HOUR = 3600
Shape = tuple[tuple[bool, ...], bool]  # each interval's phase present, the jitter present

SPECS = {
    "zero": schedule_pb.ScheduleSpec(
        interval=[schedule_pb.IntervalSpec(interval=Duration(seconds=HOUR), phase=Duration())],
        jitter=Duration(),
    ),
    "unset": schedule_pb.ScheduleSpec(
        interval=[schedule_pb.IntervalSpec(interval=Duration(seconds=HOUR))]
    ),
    "cron": schedule_pb.ScheduleSpec(cron_string=["@every 2h", "@every 3h/0s"]),
}
SHAPES: dict[str, Shape] = {
    "zero": ((True,), True),
    "unset": ((False,), False),
    "cron": ((False, True), False),
}
EXPECTED = {
    "described": SHAPES,
    "listed": {name: (True, shape) for name, shape in SHAPES.items()},
}


def _shape(spec: schedule_pb.ScheduleSpec) -> Shape:
    return tuple(i.HasField("phase") for i in spec.interval), spec.HasField("jitter")


async def _create(client: Client, schedule_id: str, spec: schedule_pb.ScheduleSpec) -> None:
    action = schedule_pb.ScheduleAction()
    start = action.start_workflow
    start.workflow_id, start.workflow_type.name = f"{schedule_id}-wf", "Waiter"
    start.task_queue.name = IDLE
    request = ws.CreateScheduleRequest(
        namespace="default",
        schedule_id=schedule_id,
        schedule=schedule_pb.Schedule(spec=spec, action=action),
        request_id=str(uuid.uuid4()),
    )
    await client.workflow_service.create_schedule(request)


async def _listed(client: Client, ids: dict[str, str]) -> dict[str, tuple[bool, Shape]]:
    found: dict[str, tuple[bool, Shape]] = {}
    names = {schedule_id: name for name, schedule_id in ids.items()}
    for _ in range(100):  # visibility catches up with the creates
        request = ws.ListSchedulesRequest(namespace="default", maximum_page_size=1000)
        listed = await client.workflow_service.list_schedules(request)
        found = {
            names[e.schedule_id]: (e.HasField("memo"), _shape(e.info.spec))
            for e in listed.schedules
            if e.schedule_id in names
        }
        if len(found) == len(ids):
            break
        await asyncio.sleep(0.1)
    return found


async def observed(address: str) -> dict[str, object]:
    client = await connected(address)
    prefix = f"zspec-{uuid.uuid4().hex[:8]}"
    ids = {name: f"{prefix}-{name}" for name in SPECS}
    described: dict[str, Shape] = {}
    for name, spec in SPECS.items():
        await _create(client, ids[name], spec)
        request = ws.DescribeScheduleRequest(namespace="default", schedule_id=ids[name])
        answer = await client.workflow_service.describe_schedule(request)
        described[name] = _shape(answer.schedule.spec)
    listed = await _listed(client, ids)
    for schedule_id in ids.values():
        await client.get_schedule_handle(schedule_id).delete()
    return {"described": described, "listed": listed}


@pytest.mark.asyncio
@bounded
async def test_a_zero_jitter_and_phase_are_kept(address: str) -> None:
    assert await observed(address) == EXPECTED


@pytest.mark.slow
def test_the_dev_server_keeps_them_too(dev_address: str) -> None:
    assert asyncio.run(observed(dev_address)) == EXPECTED
