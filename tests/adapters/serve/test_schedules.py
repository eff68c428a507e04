"""Schedules against `tmodel serve` through temporalio's schedule client: create (paused,
with a note), describe, trigger, backfill, pause/unpause, update, list, matching times
and delete, each checked through what the schedule then does (the workflows it starts)
and what Describe says. The scheduler is the system workflow core/schedule/workflow.py
run by the server's internal worker.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio import workflow
from temporalio.api.enums.v1 import common_pb2 as common_enums
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleBackfill,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import (
    RetryPolicy,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.adapters.serve.sdk import bounded, eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")
TICKS = "ticks"  # the task queue of the scheduled workflow
HOUR = timedelta(hours=1)
TEAM = SearchAttributeKey.for_keyword("Team")


@workflow.defn(sandboxed=False)
class Tick:
    @workflow.run
    async def run(self, label: str) -> str:
        return f"tick {label}"


def _schedule(paused: bool = False, note: str = "") -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(Tick.run, "hourly", id="tick", task_queue=TICKS),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=HOUR)]),
        state=ScheduleState(paused=paused, note=note),
    )


async def _runs(client: Client) -> list[str]:
    return [w.id async for w in client.list_workflows("WorkflowType = 'Tick'")]


@bounded
async def test_schedule_lifecycle(client: Client) -> None:
    async with Worker(client, task_queue=TICKS, workflows=[Tick]):
        handle = await client.create_schedule("hourly", _schedule(True, "created paused"))
        desc = await handle.describe()
        assert desc.schedule.state.paused and desc.schedule.state.note == "created paused"
        assert desc.info.num_actions == 0
        future = desc.info.next_action_times
        assert len(future) >= 2 and future[1] - future[0] == HOUR
        assert all(t.minute == 0 and t.second == 0 for t in future)
        # a second create with the same id is refused
        with pytest.raises(Exception, match="already"):
            await client.create_schedule("hourly", _schedule())

        await handle.trigger()  # runs even while paused (a manual action)
        await eventually(lambda: _count_at_least(client, 1))
        desc = await handle.describe()
        assert desc.info.num_actions == 1 and len(desc.info.recent_actions) == 1

        await handle.unpause(note="go")
        desc = await handle.describe()
        assert not desc.schedule.state.paused and desc.schedule.state.note == "go"
        now = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
        await handle.backfill(
            ScheduleBackfill(
                start_at=now - 3 * HOUR, end_at=now, overlap=ScheduleOverlapPolicy.ALLOW_ALL
            )
        )
        await eventually(lambda: _count_at_least(client, 4))  # three hours: three actions
        desc = await handle.describe()
        assert desc.info.num_actions == 4

        await handle.pause(note="hold")
        assert (await handle.describe()).schedule.state.paused

        def longer(update: ScheduleUpdateInput) -> ScheduleUpdate:
            schedule = update.description.schedule
            schedule.spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=2 * HOUR)])
            return ScheduleUpdate(schedule=schedule)

        await handle.update(longer)
        desc = await handle.describe()
        times = desc.info.next_action_times
        assert times[1] - times[0] == 2 * HOUR

        listed = [s async for s in await client.list_schedules()]
        assert [s.id for s in listed] == ["hourly"]
        assert listed[0].schedule is not None and listed[0].schedule.state.paused
        assert listed[0].schedule.state.note == "hold"
        assert listed[0].info is not None and len(listed[0].info.recent_actions) == 4

        start = datetime(2030, 1, 1, tzinfo=UTC)
        matching = await client.workflow_service.list_schedule_matching_times(
            ws.ListScheduleMatchingTimesRequest(
                namespace="default",
                schedule_id="hourly",
                start_time=_ts(start),
                end_time=_ts(start + 6 * HOUR),
            )
        )
        hours = [t.ToDatetime(UTC) for t in matching.start_time]
        # strictly after the start, up to the end inclusive (workflow.go
        # handleListMatchingTimesQuery: getNextTime from the start time)
        assert hours == [start + k * 2 * HOUR for k in (1, 2, 3)]

        await handle.delete()
        with pytest.raises(RPCError) as info:
            await handle.describe()
        assert info.value.status == RPCStatusCode.NOT_FOUND
        assert len(await _runs(client)) == 4  # nothing more was started


async def _count_at_least(client: Client, n: int) -> bool:
    return len(await _runs(client)) >= n


def _ts(when: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(when)
    return out


@bounded
async def test_a_scheduled_start_carries_the_actions_options(client: Client) -> None:
    """workflow.go startWorkflow: timeouts, retry policy, memo and search attributes go
    through to the started workflow, with TemporalScheduledStartTime and
    TemporalScheduledById added."""
    added = ops.AddSearchAttributesRequest(namespace="default")
    added.search_attributes["Team"] = common_enums.INDEXED_VALUE_TYPE_KEYWORD
    await client.operator_service.add_search_attributes(added)
    action = ScheduleActionStartWorkflow(
        Tick.run,
        "with options",
        id="opts",
        task_queue=TICKS,
        execution_timeout=timedelta(hours=5),
        run_timeout=timedelta(hours=2),
        task_timeout=timedelta(seconds=7),
        retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=2)),
        memo={"owner": "ops"},
        typed_search_attributes=TypedSearchAttributes([SearchAttributePair(TEAM, "blue")]),
    )
    spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=HOUR)])
    handle = await client.create_schedule(
        "with-options", Schedule(action=action, spec=spec, state=ScheduleState(paused=True))
    )
    await handle.trigger()

    async def started() -> bool:
        return [w async for w in client.list_workflows("WorkflowId STARTS_WITH 'opts-'")] != []

    await eventually(started)
    listed = [w async for w in client.list_workflows("WorkflowId STARTS_WITH 'opts-'")]
    desc = await client.get_workflow_handle(listed[0].id).describe()
    nominal = datetime.fromisoformat(listed[0].id.removeprefix("opts-"))
    assert await desc.memo_value("owner") == "ops"
    attrs = desc.typed_search_attributes
    assert attrs.get(TEAM) == "blue"
    assert attrs.get(SearchAttributeKey.for_keyword("TemporalScheduledById")) == "with-options"
    scheduled = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
    assert attrs.get(scheduled) == nominal
    raw = desc.raw_description.execution_config
    assert raw.workflow_execution_timeout.ToTimedelta() == timedelta(hours=5)
    assert raw.workflow_run_timeout.ToTimedelta() == timedelta(hours=2)
    assert raw.default_workflow_task_timeout.ToTimedelta() == timedelta(seconds=7)
    history = await client.get_workflow_handle(listed[0].id).fetch_history()
    retry = history.events[0].workflow_execution_started_event_attributes.retry_policy
    assert retry.maximum_attempts == 3 and retry.initial_interval.seconds == 2
    await handle.delete()
