"""Cron workflows through `tmodel serve` (samples-python hello/hello_cron.py): a start
with a cron schedule is checked as the frontend checks it, its first task waits for the
schedule's first time, and each run that completes hands over to the next run of the
chain. The server runs with --time-skipping, so the minute-long waits are skipped."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from google.protobuf.duration_pb2 import Duration
from temporalio import workflow
from temporalio.api.enums.v1 import event_type_pb2 as ev
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.history.v1 import message_pb2 as history_pb
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from tests.adapters.serve.sdk import bounded, rpc_error, start_request

SERVE_ARGS = ("--time-skipping",)
QUEUE = "cron"


@workflow.defn(name="CronGreeting", sandboxed=False)
class CronGreeting:
    @workflow.run
    async def run(self, name: str) -> str:
        last = None
        if workflow.has_last_completion_result():
            last = workflow.get_last_completion_result(str)
        return f"Hello, {name}! (after {last})"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    client = await Client.connect(address)
    async with Worker(client, task_queue=QUEUE, workflows=[CronGreeting]):
        yield client


# The dev server's answers to these starts (temporal CLI 1.9.1, `temporal server
# start-dev`), measured with raw StartWorkflowExecution requests.
REFUSED = [
    ("not a cron", None, "invalid CronSchedule."),
    ("* * *", None, "invalid CronSchedule."),
    ("* * * * * *", None, "invalid CronSchedule."),
    ("60 * * * *", None, "invalid CronSchedule."),
    ("@every x", None, "invalid CronSchedule."),
    ("TZ=Nowhere/X * * * *", None, "invalid CronSchedule."),
    ("0 0 30 2 *", None, "invalid CronSchedule, no time can be found to satisfy the schedule"),
    ("@every 2s", 0, "CronSchedule and WorkflowStartDelay may not be used together."),
    ("@every 2s", 1, "CronSchedule and WorkflowStartDelay may not be used together."),
]
# ... and schedules it accepted
ACCEPTED = ["@every 0s", "@every -1s", "@yearly", " * * * * *", "CRON_TZ=UTC @daily",
            "* * * * mon-fri", "* * ? * *"]  # fmt: skip


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_bad_cron_schedule_is_refused_as_the_dev_server_refuses_it(
    client: Client,
) -> None:
    for schedule, delay, message in REFUSED:
        req = start_request(f"bad-{uuid.uuid4()}", cron_schedule=schedule)
        if delay is not None:
            req.workflow_start_delay.CopyFrom(Duration(seconds=delay))
        error = await rpc_error(client.workflow_service.start_workflow_execution(req))
        assert (error.status.name, error.message) == ("INVALID_ARGUMENT", message), schedule
    for schedule in ACCEPTED:
        req = start_request(f"good-{uuid.uuid4()}", cron_schedule=schedule)
        answer = await client.workflow_service.start_workflow_execution(req)
        assert answer.started, schedule
        # no chain left running to move the skipped clock on
        await client.get_workflow_handle(req.workflow_id).terminate("accepted")


async def _history(client: Client, workflow_id: str, run_id: str) -> list[history_pb.HistoryEvent]:
    handle: WorkflowHandle[object, object] = client.get_workflow_handle(workflow_id, run_id=run_id)
    return list((await handle.fetch_history()).events)


async def _closed(client: Client, workflow_id: str, run_id: str) -> list[history_pb.HistoryEvent]:
    """The run's history once it has closed (a cron run closes after its backoff)."""
    while True:
        events = await _history(client, workflow_id, run_id)
        if events[-1].event_type == ev.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            return events
        await asyncio.sleep(0.2)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_hello_cron_runs_once_a_minute(client: Client) -> None:
    workflow_id = f"hello-cron-{uuid.uuid4()}"
    handle = await client.start_workflow(
        CronGreeting.run, "World", id=workflow_id, task_queue=QUEUE, cron_schedule="* * * * *"
    )
    first_run = handle.result_run_id
    assert first_run is not None
    described = await handle.describe()
    assert described.status is not None and described.status.name == "RUNNING"
    first = await _closed(client, workflow_id, first_run)
    started = first[0].workflow_execution_started_event_attributes
    assert started.cron_schedule == "* * * * *"
    assert started.initiator == wf_enums.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE
    # the first task waits for the next whole minute, the backoff rounded up to seconds
    backoff = started.first_workflow_task_backoff.ToTimedelta()
    assert timedelta(0) < backoff <= timedelta(minutes=1) and backoff.microseconds == 0
    start_time = first[0].event_time.ToDatetime()
    scheduled = first[1]
    assert scheduled.event_type == ev.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
    assert scheduled.event_time.ToDatetime() >= start_time + backoff
    minute_second = scheduled.event_time.ToDatetime().second
    assert minute_second == 0, "the first task runs on the minute"
    # Describe's execution time is when the first task became due
    assert described.raw_description.workflow_execution_info.execution_time.ToDatetime() == (
        start_time + backoff
    )
    # the run completed and handed over to the chain's next run, with its result
    completed = first[-1].workflow_execution_completed_event_attributes
    assert completed.new_execution_run_id
    second = await _closed(client, workflow_id, completed.new_execution_run_id)
    next_start = second[0].workflow_execution_started_event_attributes
    assert next_start.initiator == wf_enums.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE
    assert next_start.continued_execution_run_id == first_run
    assert next_start.first_execution_run_id == first_run
    assert next_start.cron_schedule == "* * * * *"
    assert next_start.last_completion_result == completed.result
    assert second[1].event_time.ToDatetime().second == 0
    await client.get_workflow_handle(workflow_id).terminate("enough")
