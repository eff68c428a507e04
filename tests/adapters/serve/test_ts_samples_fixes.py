"""What the official TypeScript samples (temporalio/samples-typescript) found `tmodel
serve` doing differently from the dev server (scripts/ts_samples/run_samples.py), each
reproduced here with temporalio's raw service calls against a served model."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_enums
from temporalio.api.enums.v1 import event_type_pb2 as event_enums
from temporalio.api.enums.v1 import failed_cause_pb2 as cause_enums
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleBackfill,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.service import RPCError, RPCStatusCode

from tests.adapters.serve.serving import serve

UNDEFINED = "CustomDoubleField"  # not among the dev server's (nor serve's) defaults


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    with serve() as address:
        yield address


def _upsert_undefined() -> command_pb.Command:
    """search-attributes' workflow upserts CustomDoubleField, which its own
    `create-attributes` step never adds."""
    value = common_pb.Payload(metadata={"encoding": b"json/plain"}, data=b"3.14")
    attributes = common_pb.SearchAttributes(indexed_fields={UNDEFINED: value})
    return command_pb.Command(
        command_type=command_enums.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        upsert_workflow_search_attributes_command_attributes=(
            command_pb.UpsertWorkflowSearchAttributesCommandAttributes(search_attributes=attributes)
        ),
    )


def test_an_undefined_search_attribute_fails_the_workflow_task(address: str) -> None:
    """samples-typescript search-attributes: on the dev server the completion that
    upserts an undefined attribute fails the task with BAD_SEARCH_ATTRIBUTES (the
    failure recorded, a new attempt scheduled at once) and the worker gets
    InvalidArgument "BadSearchAttributes: ..." (UnaliasFields, then
    failWorkflowTaskOnInvalidArgument in respondworkflowtaskcompleted/
    workflow_task_completed_handler.go); a failing transient attempt is dropped and
    left to time out (api.go). Served before: refused at the frontend, nothing
    recorded, the task left to time out."""

    async def main() -> None:
        client = await Client.connect(address)
        service = client.workflow_service
        queue, workflow_id = f"q-{uuid.uuid4()}", f"wf-{uuid.uuid4()}"
        await client.start_workflow("Upserter", id=workflow_id, task_queue=queue)
        poll = ws.PollWorkflowTaskQueueRequest(
            namespace="default", task_queue=tq_pb.TaskQueue(name=queue), identity="w"
        )
        expected = (
            f"BadSearchAttributes: Namespace default has no mapping defined for"
            f" search attribute {UNDEFINED}"
        )
        for attempt in (1, 2):
            task = await asyncio.wait_for(service.poll_workflow_task_queue(poll), 10)
            assert task.attempt == attempt
            with pytest.raises(RPCError) as refused:
                await service.respond_workflow_task_completed(
                    ws.RespondWorkflowTaskCompletedRequest(
                        namespace="default",
                        task_token=task.task_token,
                        commands=[_upsert_undefined()],
                        identity="w",
                    )
                )
            assert refused.value.status == RPCStatusCode.INVALID_ARGUMENT
            assert refused.value.message == expected
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        kinds = [e.event_type for e in history.events]
        assert kinds == [
            event_enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
            event_enums.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            event_enums.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            event_enums.EVENT_TYPE_WORKFLOW_TASK_FAILED,
            event_enums.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            event_enums.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        ]  # the second attempt: transient (read with the history), its failure dropped
        assert history.events[4].workflow_task_scheduled_event_attributes.attempt == 2
        failed = history.events[3].workflow_task_failed_event_attributes
        assert failed.cause == cause_enums.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES
        assert failed.failure.message == expected
        assert failed.failure.HasField("server_failure_info")
        assert failed.identity == "w"
        await client.get_workflow_handle(workflow_id).terminate()

    asyncio.run(main())


def test_a_listed_schedule_shows_five_future_and_five_recent_actions(address: str) -> None:
    """samples-typescript schedules (`schedule.list`): the dev server lists a schedule
    with 5 future action times where Describe gives 10, and with its 5 latest actions
    (FutureActionCountForList and RecentActionCountForList of getListInfo,
    service/worker/scheduler/workflow.go, against RecentActionCount 10 for Describe).
    Served before: the list carried Describe's 10 and 10."""

    async def main() -> None:
        client = await Client.connect(address)
        schedule_id = f"s-{uuid.uuid4()}"
        handle = await client.create_schedule(
            schedule_id,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    "NoWorkerPollsThis", id=f"w-{schedule_id}", task_queue=f"q-{schedule_id}"
                ),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=1))]),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL),
            ),
        )
        # seven hourly actions, more than the list keeps: a window off the hour
        # boundaries a day back, so the count does not depend on the time of day
        base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        base -= timedelta(days=1)
        await handle.backfill(
            ScheduleBackfill(
                start_at=base - timedelta(hours=6, minutes=30),
                end_at=base + timedelta(minutes=30),
                overlap=ScheduleOverlapPolicy.ALLOW_ALL,
            )
        )
        for _ in range(100):
            described = await handle.describe()
            if len(described.info.recent_actions) == 7:
                break
            await asyncio.sleep(0.1)
        assert len(described.info.recent_actions) == 7
        assert len(described.info.next_action_times) == 10
        listed = [s async for s in await client.list_schedules() if s.id == schedule_id]
        assert len(listed) == 1 and listed[0].info is not None
        info = listed[0].info
        assert len(info.next_action_times) == 5
        assert info.next_action_times == described.info.next_action_times[:5]
        recent = [a.action.workflow_id for a in info.recent_actions]  # type: ignore[attr-defined]
        assert (
            recent
            == [
                a.action.workflow_id  # type: ignore[attr-defined]
                for a in described.info.recent_actions[-5:]
            ]
        )
        await handle.delete()

    asyncio.run(main())
