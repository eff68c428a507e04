"""A daily schedule over a virtual month: `tmodel serve --time-skipping` and temporalio's
schedule client. The schedule runs from the server's now for 30 days; time skips from
one day's timer to the next while no task is outstanding, so all 30 actions happen in
seconds; each started workflow's id carries its nominal time, midnight UTC of each day.
Without a longer retention the same month deletes each run a day after it closed
(the second test).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf import empty_pb2
from temporalio.api.enums.v1 import common_pb2 as common_enums
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    WorkflowExecutionStatus,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.worker import Worker

from tests.adapters.serve.sdk import QUEUE, Sleeper, bounded, eventually
from tests.adapters.serve.test_schedules import HOUR, TEAM, TICKS, Tick

pytestmark = pytest.mark.asyncio(loop_scope="module")
SERVE_ARGS = ("--time-skipping",)
DAY = timedelta(days=1)


@bounded
async def test_a_daily_schedule_runs_30_times_in_a_virtual_month(client: Client) -> None:
    # Keep the month's runs: the namespace's retention (a day by default) would delete
    # each one a day after it closed, as the virtual month goes by.
    keep = ws.UpdateNamespaceRequest(namespace="default")
    keep.config.workflow_execution_retention_ttl.FromTimedelta(60 * DAY)
    await client.workflow_service.update_namespace(keep)
    now = await client.test_service.get_current_time(empty_pb2.Empty())
    start = now.time.ToDatetime(UTC)
    end = start + 30 * DAY
    async with Worker(client, task_queue=TICKS, workflows=[Tick]):
        await client.create_schedule(
            "daily",
            Schedule(
                action=ScheduleActionStartWorkflow(Tick.run, "day", id="day", task_queue=TICKS),
                spec=ScheduleSpec(
                    intervals=[ScheduleIntervalSpec(every=DAY)], start_at=start, end_at=end
                ),
            ),
        )
        # With no time left in its spec, the scheduler closes after its retention.
        await client.get_workflow_handle("temporal-sys-scheduler:daily").result()
        runs = [w async for w in client.list_workflows("WorkflowType = 'Tick'")]
    assert all(r.status == WorkflowExecutionStatus.COMPLETED for r in runs)
    nominal = sorted(datetime.fromisoformat(r.id.removeprefix("day-")) for r in runs)
    midnight = datetime.combine(start.date(), datetime.min.time(), UTC) + DAY
    assert nominal == [midnight + k * DAY for k in range(30)]


@bounded
async def test_retention_deletes_the_runs_as_the_month_passes(client: Client) -> None:
    """Three daily runs with the namespace's retention cut to one day: once the clock
    has moved a week on (a sleeper), none of them is left."""
    short = ws.UpdateNamespaceRequest(namespace="default")
    short.config.workflow_execution_retention_ttl.FromTimedelta(DAY)
    await client.workflow_service.update_namespace(short)
    now = (await client.test_service.get_current_time(empty_pb2.Empty())).time.ToDatetime(UTC)
    async with Worker(client, task_queue=TICKS, workflows=[Tick]):
        await client.create_schedule(
            "short",
            Schedule(
                action=ScheduleActionStartWorkflow(Tick.run, "s", id="short", task_queue=TICKS),
                spec=ScheduleSpec(
                    intervals=[ScheduleIntervalSpec(every=DAY)], start_at=now, end_at=now + 3 * DAY
                ),
            ),
        )
        scheduler = client.get_workflow_handle("temporal-sys-scheduler:short")
        await scheduler.result()
        left = [w.id async for w in client.list_workflows("WorkflowId STARTS_WITH 'short-'")]
    history = await scheduler.fetch_history()
    starts = [
        e
        for e in history.events
        if e.activity_task_scheduled_event_attributes.activity_type.name == "StartWorkflow"
    ]
    assert len(starts) == 3  # the schedule did start its three runs
    assert left == []  # and retention deleted each of them


@bounded
async def test_buffer_all_runs_each_start_after_the_last_closes(client: Client) -> None:
    """BUFFER_ALL with runs longer than the interval: a day-and-a-half sleeper every day
    for three days. Each buffered start waits, through the scheduler's long-polling
    WatchWorkflow, for the run before it to close; time skips past all of it, and the
    three runs follow one another without overlapping."""
    keep = ws.UpdateNamespaceRequest(namespace="default")
    keep.config.workflow_execution_retention_ttl.FromTimedelta(60 * DAY)
    await client.workflow_service.update_namespace(keep)
    now = (await client.test_service.get_current_time(empty_pb2.Empty())).time.ToDatetime(UTC)
    seconds = 1.5 * DAY.total_seconds()
    await client.create_schedule(
        "buffered",
        Schedule(
            action=ScheduleActionStartWorkflow(Sleeper.run, seconds, id="buf", task_queue=QUEUE),
            spec=ScheduleSpec(
                intervals=[ScheduleIntervalSpec(every=DAY)], start_at=now, end_at=now + 3 * DAY
            ),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.BUFFER_ALL),
        ),
    )
    await client.get_workflow_handle("temporal-sys-scheduler:buffered").result()
    runs = [w async for w in client.list_workflows("WorkflowId STARTS_WITH 'buf-'")]
    spans = sorted((r.start_time, r.close_time) for r in runs)
    assert len(spans) == 3 and all(r.status == WorkflowExecutionStatus.COMPLETED for r in runs)
    for (_, closed), (started, _) in itertools.pairwise(spans):
        assert closed is not None and started >= closed  # buffered: one after another


@bounded
async def test_a_schedule_keeps_its_memo_and_attributes_across_continue_as_new(
    client: Client,
) -> None:
    """After 50 iterations the scheduler continues as new; the Go SDK carries the run's
    memo and search attributes (as upserted) to the next run, so the schedule is still
    listed (ListSchedules reads TemporalNamespaceDivision) and still shows its own. An
    hourly schedule for three virtual days wakes 72 times."""
    added = ops.AddSearchAttributesRequest(namespace="default")
    added.search_attributes[TEAM.name] = common_enums.INDEXED_VALUE_TYPE_KEYWORD
    await client.operator_service.add_search_attributes(added)
    now = (await client.test_service.get_current_time(empty_pb2.Empty())).time.ToDatetime(UTC)
    async with Worker(client, task_queue=TICKS, workflows=[Tick]):
        handle = await client.create_schedule(
            "hourly-chain",
            Schedule(
                action=ScheduleActionStartWorkflow(Tick.run, "h", id="chain", task_queue=TICKS),
                spec=ScheduleSpec(
                    intervals=[ScheduleIntervalSpec(every=HOUR)], start_at=now, end_at=now + 3 * DAY
                ),
            ),
            memo={"owner": "ops"},
            search_attributes=TypedSearchAttributes([SearchAttributePair(TEAM, "blue")]),
        )
        scheduler = client.get_workflow_handle("temporal-sys-scheduler:hourly-chain")

        async def continued() -> bool:
            current = await scheduler.describe()
            return current.run_id != current.raw_description.workflow_execution_info.first_run_id

        await eventually(continued)
        listed = [s.id async for s in await client.list_schedules()]
        assert "hourly-chain" in listed
        desc = await handle.describe()
        assert await desc.memo_value("owner") == "ops"
        assert desc.typed_search_attributes.get(TEAM) == "blue"
        await handle.delete()
