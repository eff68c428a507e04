"""What a schedule keeps and hands on, against `tmodel serve` (the fixes for temporalio's
test_schedule_basics, test_schedule_*search_attribute_update*,
test_schedule_last_completion_result and test_schedule_trigger_immediately):

- Describe shows the whole start action (user metadata, priority, the task queue's
  kind) and the spec in its canonical form, as the dev server does;
- UpdateSchedule's search attributes replace the schedule's own custom ones
  (workflow.go updateCustomSearchAttributes), and the action's get their types;
- a scheduled start gets the last completion result and the continued failure
  (workflow.go processWatcherResult, startWorkflow);
- a create that triggers at once shows its action at the first Describe;
- a create whose action the frontend refuses is INVALID_ARGUMENT with its message.

The answers were compared with `temporal server start-dev` (CLI 1.9.1, server 1.32);
the full-action Describe is its recorded answer.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from temporalio import workflow
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import common_pb2 as common_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.api.schedule.v1 import message_pb2 as schedule_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import (
    Priority,
    RetryPolicy,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCStatusCode
from temporalio.worker import Worker

from tests.adapters.serve.sdk import bounded, eventually, rpc_error

pytestmark = pytest.mark.asyncio(loop_scope="module")
FIXTURE = Path(__file__).parents[2] / "fixtures" / "schedules" / "describe_full_action.json"
TEXT = SearchAttributeKey.for_text("sched-text")
KEYWORD = SearchAttributeKey.for_keyword("sched-keyword")
CARRY = "carry"  # the task queue of the Carry workflow


def _full_action() -> Schedule:
    """The schedule the fixture's Describe answers for."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            "kitchen_sink",
            {"a": 1},
            id="wf-probe",
            task_queue="tq-probe",
            execution_timeout=timedelta(hours=1),
            run_timeout=timedelta(hours=2),
            task_timeout=timedelta(hours=3),
            retry_policy=RetryPolicy(maximum_attempts=20),
            memo={"memokey1": "memoval1"},
            static_summary="summary",
            static_details="details",
        ),
        spec=ScheduleSpec(
            cron_expressions=["0 12 * * MON"],
            calendars=[ScheduleCalendarSpec(second=(ScheduleRange(1, step=1),), comment="c")],
            intervals=[ScheduleIntervalSpec(every=timedelta(days=10), offset=timedelta(days=2))],
            jitter=timedelta(seconds=80),
        ),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.BUFFER_ONE,
            catchup_window=timedelta(minutes=5),
            pause_on_failure=True,
        ),
        state=ScheduleState(note="n1", paused=True, limited_actions=True, remaining_actions=30),
    )


async def _raw_describe(client: Client, schedule_id: str) -> dict[str, Any]:
    answer = await client.workflow_service.describe_schedule(
        ws.DescribeScheduleRequest(namespace="default", schedule_id=schedule_id)
    )
    return json_format.MessageToDict(answer)


@bounded
async def test_describe_shows_the_whole_action_as_the_dev_server_does(client: Client) -> None:
    handle = await client.create_schedule(
        "full-action", _full_action(), memo={"memokey2": "memoval2"}
    )
    got = await _raw_describe(client, handle.id)
    got["info"].pop("createTime")
    got["info"].pop("futureActionTimes")
    assert got == json.loads(FIXTURE.read_text())["describe"]
    await handle.delete()


async def _define_attributes(client: Client) -> None:
    added = ops.AddSearchAttributesRequest(namespace="default")
    added.search_attributes[TEXT.name] = common_enums.INDEXED_VALUE_TYPE_TEXT
    added.search_attributes[KEYWORD.name] = common_enums.INDEXED_VALUE_TYPE_KEYWORD
    await client.operator_service.add_search_attributes(added)


@pytest.mark.parametrize("case", ["none", "empty", "partial", "both"])
@bounded
async def test_an_update_replaces_the_schedules_own_search_attributes(
    client: Client, case: str
) -> None:
    await _define_attributes(client)
    action = ScheduleActionStartWorkflow("W", [], id=f"w-{case}", task_queue="q")
    handle = await client.create_schedule(
        f"attrs-{case}",
        Schedule(action=action, spec=ScheduleSpec()),
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(TEXT, "t1"), SearchAttributePair(KEYWORD, "k1")]
        ),
    )
    new = {
        "none": None,
        "empty": TypedSearchAttributes.empty,
        "partial": TypedSearchAttributes([SearchAttributePair(TEXT, "t2")]),
        "both": TypedSearchAttributes(
            [SearchAttributePair(TEXT, "t2"), SearchAttributePair(KEYWORD, "k2")]
        ),
    }[case]
    want: dict[Any, str] = {
        "none": {TEXT: "t1", KEYWORD: "k1"},
        "empty": {},
        "partial": {TEXT: "t2"},
        "both": {TEXT: "t2", KEYWORD: "k2"},
    }[case]

    def update(given: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(given.description.schedule, search_attributes=new)

    await handle.update(update)
    desc = await handle.describe()
    assert {p.key: p.value for p in desc.typed_search_attributes} == want
    # the scheduler's own TemporalSchedulePaused is never shown
    assert set(desc.search_attributes) == {k.name for k in want}
    await handle.delete()


@bounded
async def test_the_actions_search_attributes_are_shown_with_their_types(client: Client) -> None:
    """Describe annotates the action's attributes with their types
    (workflow_handler.go annotateSearchAttributes), so an untyped one comes back typed."""
    await _define_attributes(client)
    action = ScheduleActionStartWorkflow(
        "W",
        [],
        id="typed",
        task_queue="q",
        typed_search_attributes=TypedSearchAttributes([SearchAttributePair(TEXT, "typed")]),
    )
    action.untyped_search_attributes = {KEYWORD.name: ["untyped"]}
    handle = await client.create_schedule("typed", Schedule(action=action, spec=ScheduleSpec()))
    desc = await handle.describe()
    assert isinstance(desc.schedule.action, ScheduleActionStartWorkflow)
    attrs = desc.schedule.action.typed_search_attributes
    assert {p.key: p.value for p in attrs} == {TEXT: "typed", KEYWORD: "untyped"}
    await handle.delete()


@bounded
async def test_a_memo_update_is_refused(client: Client) -> None:
    action = ScheduleActionStartWorkflow("W", [], id="memo", task_queue="q")
    handle = await client.create_schedule("memo", Schedule(action=action, spec=ScheduleSpec()))
    described = await client.workflow_service.describe_schedule(
        ws.DescribeScheduleRequest(namespace="default", schedule_id=handle.id)
    )
    request = ws.UpdateScheduleRequest(
        namespace="default", schedule_id=handle.id, schedule=described.schedule
    )
    request.memo.CopyFrom(common_pb.Memo())
    error = await rpc_error(client.workflow_service.update_schedule(request))
    assert error.status == RPCStatusCode.FAILED_PRECONDITION
    assert error.message == "memo updates are not supported on workflow-backed schedules"
    await handle.delete()


@workflow.defn(sandboxed=False)
class Carry:
    """Reports what it was started with; fails when asked to."""

    @workflow.run
    async def run(self, fail: bool) -> str:
        last = workflow.get_last_completion_result(type_hint=str)
        failure = workflow.get_last_failure()
        seen = f"last={last} failure={str(failure) if failure else None}"
        if fail:
            raise ApplicationError(f"broke ({seen})", non_retryable=True)
        return seen


async def _run_action(client: Client, schedule_id: str, n: int) -> str:
    """The outcome of the schedule's n-th action (its result, or its failure's message)."""
    handle = client.get_schedule_handle(schedule_id)

    async def taken() -> bool:
        return (await handle.describe()).info.num_actions >= n

    await eventually(taken)
    action = (await handle.describe()).info.recent_actions[-1].action
    assert isinstance(action, ScheduleActionExecutionStartWorkflow)
    try:
        return str(await client.get_workflow_handle(action.workflow_id).result())
    except Exception as error:
        cause = getattr(error, "cause", None)
        return f"failed: {cause.message if cause else error}"


@bounded
async def test_a_start_gets_the_last_result_and_the_continued_failure(client: Client) -> None:
    async with Worker(client, task_queue=CARRY, workflows=[Carry]):
        action = ScheduleActionStartWorkflow(Carry.run, False, id="carried", task_queue=CARRY)
        handle = await client.create_schedule(
            "carried", Schedule(action=action, spec=ScheduleSpec())
        )
        outcomes = []
        for n, fail in enumerate([False, True, False], start=1):

            def update(given: ScheduleUpdateInput, fail: bool = fail) -> ScheduleUpdate:
                schedule = given.description.schedule
                assert isinstance(schedule.action, ScheduleActionStartWorkflow)
                schedule.action.args = [fail]
                return ScheduleUpdate(schedule)

            await handle.update(update)
            await handle.trigger()
            outcomes.append(await _run_action(client, handle.id, n))
        first = "last=None failure=None"
        # the second sees the first's result; the third sees that result still, and the
        # second's failure beside it
        assert outcomes == [
            first,
            f"failed: broke (last={first} failure=None)",
            f"last={first} failure=broke (last={first} failure=None)",
        ]
        await handle.delete()


@bounded
async def test_a_create_that_triggers_at_once_shows_the_action_at_once(client: Client) -> None:
    """Temporal's scheduler starts the workflow inside its first workflow task, which the
    Describe query waits for; the model's start activity is waited for as well."""
    action = ScheduleActionStartWorkflow("W", [], id=f"now-{uuid.uuid4()}", task_queue="q")
    handle = await client.create_schedule(
        "now",
        Schedule(action=action, spec=ScheduleSpec(), state=ScheduleState(paused=True)),
        trigger_immediately=True,
    )
    desc = await handle.describe()
    assert desc.info.num_actions == 1 and len(desc.info.recent_actions) == 1
    await handle.delete()


@bounded
async def test_a_start_carries_the_actions_user_metadata_and_priority(client: Client) -> None:
    """workflow.go startWorkflow passes UserMetadata and Priority to the start."""
    action = ScheduleActionStartWorkflow(
        "W",
        [],
        id="meta",
        task_queue="q",
        static_summary="nightly",
        static_details="the details",
        priority=Priority(priority_key=2),
    )
    handle = await client.create_schedule(
        "meta", Schedule(action=action, spec=ScheduleSpec(), state=ScheduleState(paused=True))
    )
    await handle.trigger()
    desc = await handle.describe()
    started = desc.info.recent_actions[-1].action
    assert isinstance(started, ScheduleActionExecutionStartWorkflow)
    run = await client.get_workflow_handle(started.workflow_id).describe()
    assert await run.static_summary() == "nightly"
    assert await run.static_details() == "the details"
    history = await client.get_workflow_handle(started.workflow_id).fetch_history()
    assert history.events[0].workflow_execution_started_event_attributes.priority.priority_key == 2
    await handle.delete()


def _create(schedule_id: str, change: str) -> ws.CreateScheduleRequest:
    schedule = schedule_pb.Schedule()
    start = schedule.action.start_workflow
    start.workflow_id, start.workflow_type.name, start.task_queue.name = "w", "T", "q"
    if change == "no type":
        start.workflow_type.name = ""
    elif change == "no queue":
        start.ClearField("task_queue")
    elif change == "no queue name":
        start.task_queue.name = ""
    elif change == "cron":
        start.cron_schedule = "* * * * *"
    elif change == "reuse policy":
        start.workflow_id_reuse_policy = wf_enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
    elif change == "undefined attribute":
        start.search_attributes.indexed_fields["Undefined1"].data = b'"x"'
        start.search_attributes.indexed_fields["Undefined1"].metadata["encoding"] = b"json/plain"
    elif change == "bad cron spec":
        schedule.spec.cron_string.append("bad cron")
    return ws.CreateScheduleRequest(
        namespace="default", schedule_id=schedule_id, schedule=schedule, request_id="r"
    )


# The dev server's answers to each (workflow_handler.go validateStartWorkflowArgsForSchedule
# and canonicalizeScheduleSpec).
REFUSED = {
    "no type": "WorkflowType is not set on request.",
    "no queue": "taskQueue is not set",
    "no queue name": "missing task queue name",
    "cron": "Scheduled workflow must not contain CronSchedule",
    "reuse policy": "Scheduled workflow must not contain WorkflowIDReusePolicy",
    "undefined attribute": (
        "Namespace default has no mapping defined for search attribute Undefined1"
    ),
    "bad cron spec": "Invalid schedule spec: CronString does not have 5-7 fields",
}


@pytest.mark.parametrize("change", sorted(REFUSED))
@bounded
async def test_a_create_with_an_action_the_frontend_refuses(client: Client, change: str) -> None:
    request = _create(f"refused-{change.replace(' ', '-')}", change)
    error = await rpc_error(client.workflow_service.create_schedule(request))
    assert error.status == RPCStatusCode.INVALID_ARGUMENT
    assert error.message == REFUSED[change]
