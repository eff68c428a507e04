"""`tmodel serve` through temporalio's client, on running workflows: queries and their
reject conditions, updates and update-with-start, signal-with-start, DescribeWorkflow
with pending work, history pages (forward and reverse) and the close-event long poll,
activities completed from outside the worker, and List/CountWorkflowExecutions.

Expected behaviour is the real server's, as measured in the research memo or named by
the Temporal source file in a comment.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import event_type_pb2 as event_enums
from temporalio.api.enums.v1 import update_pb2 as update_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.update.v1 import message_pb2 as update_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    QueryRejectCondition,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.service import RPCError
from temporalio.worker import Worker

from tests.adapters.serve.sdk import (
    ACTIVITIES,
    IDLE,
    QUEUE,
    TOKENS,
    WORKFLOWS,
    CallsOutside,
    Parent,
    Waiter,
    bounded,
    eventually,
    rpc_error,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
SERVE_ARGS = (
    "--namespace",
    "default",
    "--namespace",
    "listing",
    "--search-attribute",
    "Stage=Keyword",
    "--search-attribute",
    "Count=Int",
)
STAGE = SearchAttributeKey.for_keyword("Stage")
COUNT = SearchAttributeKey.for_int("Count")


def _execution(workflow_id: str, run_id: str = "") -> common_pb.WorkflowExecution:
    return common_pb.WorkflowExecution(workflow_id=workflow_id, run_id=run_id)


@bounded
async def test_query_reject_conditions(client: Client) -> None:
    handle = await client.start_workflow(Waiter.run, "x", id="reject", task_queue=QUEUE)
    open_answer = await handle.query(Waiter.state, reject_condition=QueryRejectCondition.NOT_OPEN)
    assert open_answer == "x"
    await handle.signal(Waiter.finish, "done")
    await handle.result()
    with pytest.raises(WorkflowQueryRejectedError) as info:
        await handle.query(Waiter.state, reject_condition=QueryRejectCondition.NOT_OPEN)
    assert info.value.status == WorkflowExecutionStatus.COMPLETED
    # completed cleanly: answered (by the worker replaying the closed run)
    answer = await handle.query(
        Waiter.state, reject_condition=QueryRejectCondition.NOT_COMPLETED_CLEANLY
    )
    assert answer == "done"
    terminated = await client.start_workflow(Waiter.run, "y", id="reject-t", task_queue=QUEUE)
    assert await terminated.query(Waiter.state) == "y"
    await terminated.terminate()
    with pytest.raises(WorkflowQueryRejectedError) as dirty:
        await terminated.query(
            Waiter.state, reject_condition=QueryRejectCondition.NOT_COMPLETED_CLEANLY
        )
    assert dirty.value.status == WorkflowExecutionStatus.TERMINATED


@bounded
async def test_updates_accepted_and_rejected(client: Client) -> None:
    handle = await client.start_workflow(Waiter.run, "x", id="updated", task_queue=QUEUE)
    # the first workflow task completes before the update comes (see the next test)
    assert await handle.query(Waiter.state) == "x"
    assert await handle.execute_update(Waiter.set_value, "y") == "x"
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(Waiter.set_value, "")
    assert "an empty value is refused" in str(info.value.cause)
    assert await handle.query(Waiter.state) == "y"
    await handle.signal(Waiter.finish, "z")
    assert await handle.result() == "z after 0 pokes"


@pytest.mark.xfail(
    strict=True,
    reason="core bug: a completion leaves an update admitted during the task undelivered "
    "(core/statemachine/history/service/commands.py schedules no new workflow task for it)",
)
@bounded
async def test_an_update_admitted_during_a_workflow_task_gets_the_next_task(
    client: Client,
) -> None:
    # As the dev server does (measured; service/history/api/respondworkflowtaskcompleted/
    # api.go creates a new task when the update registry has messages to send): we play
    # the worker, take the first task, let an update arrive while it runs, complete it
    # with no commands, and the next task carries the update's request.
    service = client.workflow_service
    queue = tq_pb.TaskQueue(name="raw-update")
    await service.start_workflow_execution(
        ws.StartWorkflowExecutionRequest(
            namespace="default",
            workflow_id="raw-update",
            workflow_type=common_pb.WorkflowType(name="Raw"),
            task_queue=queue,
            request_id="raw-update",
        )
    )
    poll = ws.PollWorkflowTaskQueueRequest(namespace="default", task_queue=queue, identity="raw")
    first = await service.poll_workflow_task_queue(poll, timeout=timedelta(seconds=10))
    assert first.started_event_id == 3
    update = asyncio.create_task(
        service.update_workflow_execution(
            ws.UpdateWorkflowExecutionRequest(
                namespace="default",
                workflow_execution=_execution("raw-update"),
                request=update_pb.Request(
                    meta=update_pb.Meta(update_id="u1"), input=update_pb.Input(name="set")
                ),
                wait_policy=update_pb.WaitPolicy(
                    lifecycle_stage=update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
                ),
            ),
            timeout=timedelta(seconds=10),
        )
    )
    try:
        await eventually(lambda: _admitted(client, "raw-update"))
        await service.respond_workflow_task_completed(
            ws.RespondWorkflowTaskCompletedRequest(
                namespace="default", task_token=first.task_token, identity="raw"
            )
        )
        second = await service.poll_workflow_task_queue(poll, timeout=timedelta(seconds=5))
        assert [m.id for m in second.messages] == ["u1/request"]
    finally:
        update.cancel()
        await client.get_workflow_handle("raw-update").terminate()


async def _admitted(client: Client, workflow_id: str) -> bool:
    """Is an update admitted to the run? (It shows in no RPC but a poll, so ask for the
    update's outcome without waiting: NOT_FOUND until it is admitted.)"""
    try:
        await client.workflow_service.poll_workflow_execution_update(
            ws.PollWorkflowExecutionUpdateRequest(
                namespace="default",
                update_ref=update_pb.UpdateRef(
                    workflow_execution=_execution(workflow_id), update_id="u1"
                ),
                wait_policy=update_pb.WaitPolicy(
                    lifecycle_stage=update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
                ),
            ),
            timeout=timedelta(seconds=2),
        )
    except RPCError:
        return False
    return True


@bounded
async def test_update_with_start_starts_then_uses_the_existing_run(client: Client) -> None:
    def operation() -> WithStartWorkflowOperation[Waiter, str]:
        return WithStartWorkflowOperation(
            Waiter.run,
            "start",
            id="update-with-start",
            task_queue="update-with-start",
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    # The update rides the new run's first workflow task: the worker polls only once the
    # run exists. (With a worker already polling, the first task can start before the
    # update is admitted, and the core bug the test above shows leaves it undelivered.)
    starting = operation()
    first = asyncio.create_task(
        client.execute_update_with_start_workflow(
            Waiter.set_value, "first", start_workflow_operation=starting
        )
    )

    async def started() -> bool:
        return bool(await client.count_workflows("WorkflowId = 'update-with-start'"))

    await eventually(started)
    async with Worker(
        client, task_queue="update-with-start", workflows=WORKFLOWS, activities=ACTIVITIES
    ):
        # the update's handler runs before the run method's body (which sets "start")
        assert await first == ""
        handle = await starting.workflow_handle()
        assert await handle.query(Waiter.state) == "start"
        joining = operation()
        old = await client.execute_update_with_start_workflow(
            Waiter.set_value, "second", start_workflow_operation=joining
        )
        assert old == "start"
        assert (await joining.workflow_handle()).result_run_id == handle.result_run_id
        await handle.signal(Waiter.finish, "end")
        assert await handle.result() == "end after 0 pokes"


@bounded
async def test_signal_with_start_starts_then_signals(client: Client) -> None:
    request = ws.SignalWithStartWorkflowExecutionRequest(
        namespace="default",
        workflow_id="sws",
        workflow_type=common_pb.WorkflowType(name="Waiter"),
        task_queue=tq_pb.TaskQueue(name=QUEUE),
        input=(await client.data_converter.encode_wrapper(["x"])),
        signal_name="poke",
    )
    request.request_id = "first"
    started = await client.workflow_service.signal_with_start_workflow_execution(request)
    request.request_id = "second"
    signalled = await client.workflow_service.signal_with_start_workflow_execution(request)
    assert (started.started, signalled.started) == (True, False)
    assert signalled.run_id == started.run_id
    # the SDK's form: start_workflow with a start signal
    handle = await client.start_workflow(
        Waiter.run, "x", id="sws", task_queue=QUEUE, start_signal="poke"
    )
    assert handle.result_run_id == started.run_id
    await handle.signal(Waiter.finish, "done")
    assert await handle.result() == "done after 3 pokes"


@bounded
async def test_describe_shows_a_pending_workflow_task(client: Client) -> None:
    handle = await client.start_workflow(Waiter.run, "x", id="pending-wft", task_queue=IDLE)
    described = await client.workflow_service.describe_workflow_execution(
        ws.DescribeWorkflowExecutionRequest(
            namespace="default", execution=_execution("pending-wft")
        )
    )
    pending = described.pending_workflow_task
    assert (pending.state, pending.attempt) == (wf_enums.PENDING_WORKFLOW_TASK_STATE_SCHEDULED, 1)
    assert described.execution_config.task_queue.name == IDLE
    info = described.workflow_execution_info
    assert (info.execution.run_id, info.status, info.history_length) == (
        handle.result_run_id,
        wf_enums.WORKFLOW_EXECUTION_STATUS_RUNNING,
        2,
    )
    await handle.terminate()


async def _describe(client: Client, workflow_id: str) -> ws.DescribeWorkflowExecutionResponse:
    return await client.workflow_service.describe_workflow_execution(
        ws.DescribeWorkflowExecutionRequest(namespace="default", execution=_execution(workflow_id))
    )


@bounded
async def test_async_activity_heartbeats_and_completes_by_token(client: Client) -> None:
    handle = await client.start_workflow(CallsOutside.run, id="by-token", task_queue=QUEUE)

    async def started() -> bool:
        return "by-token" in TOKENS

    await eventually(started)
    pending = (await _describe(client, "by-token")).pending_activities
    assert [(p.activity_id, p.activity_type.name, p.state, p.attempt) for p in pending] == [
        ("outside", "complete_outside", wf_enums.PENDING_ACTIVITY_STATE_STARTED, 1)
    ]
    outside = client.get_async_activity_handle(task_token=TOKENS["by-token"])
    await outside.heartbeat("halfway")
    beat = (await _describe(client, "by-token")).pending_activities[0]
    assert beat.HasField("last_heartbeat_time")
    assert (await client.data_converter.decode(beat.heartbeat_details.payloads)) == ["halfway"]
    await outside.complete("finished outside")
    assert await handle.result() == "finished outside"
    assert (await _describe(client, "by-token")).pending_activities == []


@bounded
async def test_an_activity_completes_by_workflow_and_activity_id(client: Client) -> None:
    handle = await client.start_workflow(CallsOutside.run, id="by-id", task_queue=QUEUE)

    async def started() -> bool:
        return "by-id" in TOKENS

    await eventually(started)
    outside = client.get_async_activity_handle(
        workflow_id="by-id", run_id=None, activity_id="outside"
    )
    await outside.complete("by id")
    assert await handle.result() == "by id"


@bounded
async def test_describe_shows_a_pending_child(client: Client) -> None:
    parent = await client.start_workflow(
        Parent.run, args=["the-child", QUEUE], id="parent", task_queue=QUEUE
    )

    async def child_started() -> bool:
        children = (await _describe(client, "parent")).pending_children
        return bool(children) and bool(children[0].run_id)

    await eventually(child_started)
    (child,) = (await _describe(client, "parent")).pending_children
    assert (child.workflow_id, child.workflow_type_name) == ("the-child", "Waiter")
    assert child.run_id == (await client.get_workflow_handle("the-child").describe()).run_id
    history = await parent.fetch_history()
    initiated = [
        e.event_id
        for e in history.events
        if e.event_type == event_enums.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    ]
    assert initiated == [child.initiated_id]
    await client.get_workflow_handle("the-child").signal(Waiter.finish, "grown")
    assert await parent.result() == "grown after 0 pokes"


async def _all_pages(client: Client, workflow_id: str, size: int, reverse: bool) -> list[list[int]]:
    pages: list[list[int]] = []
    token = b""
    while True:
        if reverse:
            page: (
                ws.GetWorkflowExecutionHistoryReverseResponse
                | ws.GetWorkflowExecutionHistoryResponse
            ) = await client.workflow_service.get_workflow_execution_history_reverse(
                ws.GetWorkflowExecutionHistoryReverseRequest(
                    namespace="default",
                    execution=_execution(workflow_id),
                    maximum_page_size=size,
                    next_page_token=token,
                )
            )
        else:
            page = await client.workflow_service.get_workflow_execution_history(
                ws.GetWorkflowExecutionHistoryRequest(
                    namespace="default",
                    execution=_execution(workflow_id),
                    maximum_page_size=size,
                    next_page_token=token,
                )
            )
        pages.append([e.event_id for e in page.history.events])
        token = page.next_page_token
        if not token:
            return pages


@bounded
async def test_history_pages_forward_and_reverse(client: Client) -> None:
    handle = await client.start_workflow(Waiter.run, "x", id="paged", task_queue=IDLE)
    for _ in range(30):
        await handle.signal(Waiter.poke)
    full = [e.event_id for e in (await handle.fetch_history()).events]
    assert full == list(range(1, 33))  # started, task scheduled, 30 signals
    forward = await _all_pages(client, "paged", 10, reverse=False)
    assert len(forward) >= 4  # the dev server cuts pages at event batch ends: ~size each
    assert [event for page in forward for event in page] == full
    backward = await _all_pages(client, "paged", 10, reverse=True)
    assert len(backward) >= 4
    assert [event for page in backward for event in page] == full[::-1]
    await handle.terminate()


def _close_event_poll(
    workflow_id: str, token: bytes = b""
) -> ws.GetWorkflowExecutionHistoryRequest:
    return ws.GetWorkflowExecutionHistoryRequest(
        namespace="default",
        execution=_execution(workflow_id),
        wait_new_event=True,
        history_event_filter_type=wf_enums.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
        skip_archival=True,
        next_page_token=token,
    )


@bounded
async def test_the_close_event_long_poll(client: Client) -> None:
    handle = await client.start_workflow(Waiter.run, "x", id="long-poll", task_queue=QUEUE)
    # a caller deadline before the run closes: an empty answer and a token to go on with
    early = await client.workflow_service.get_workflow_execution_history(
        _close_event_poll("long-poll"), timeout=timedelta(seconds=3)
    )
    assert (list(early.history.events), bool(early.next_page_token)) == ([], True)
    poll = asyncio.create_task(
        client.workflow_service.get_workflow_execution_history(
            _close_event_poll("long-poll", early.next_page_token)
        )
    )
    await asyncio.sleep(0.5)
    assert not poll.done()  # it waits while the run is open
    await handle.signal(Waiter.finish, "closed")
    answer = await poll
    (event,) = answer.history.events
    assert event.event_type == event_enums.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    assert answer.next_page_token == b""


# -- List / Count in the "listing" namespace ---------------------------------------------


def _rfc3339(ns: int) -> str:
    seconds, nanos = divmod(ns, 1_000_000_000)
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def listing(address: str) -> AsyncIterator[tuple[Client, list[int]]]:
    """ls-0..ls-3 in namespace "listing": Stage/Count alpha/1, beta/2, alphabet/3 (then
    terminated), none (of type Other); and their start times in ns."""
    ns_client = await Client.connect(address, namespace="listing")
    starts = []
    for i, (stage, count) in enumerate([("alpha", 1), ("beta", 2), ("alphabet", 3)]):
        attributes = TypedSearchAttributes(
            [SearchAttributePair(STAGE, stage), SearchAttributePair(COUNT, count)]
        )
        await ns_client.start_workflow(
            Waiter.run, "x", id=f"ls-{i}", task_queue=IDLE, search_attributes=attributes
        )
    await ns_client.get_workflow_handle("ls-2").terminate()
    await ns_client.start_workflow("Other", id="ls-3", task_queue=IDLE)
    for i in range(4):
        described = await ns_client.workflow_service.describe_workflow_execution(
            ws.DescribeWorkflowExecutionRequest(
                namespace="listing", execution=_execution(f"ls-{i}")
            )
        )
        start = described.workflow_execution_info.start_time
        starts.append(start.seconds * 1_000_000_000 + start.nanos)
    yield ns_client, starts


async def _ids(ns_client: Client, query: str) -> list[str]:
    return [w.id async for w in ns_client.list_workflows(query)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Stage = 'alpha' OR Stage = 'beta'", {"ls-0", "ls-1"}),
        ("(Stage = 'alpha' OR Stage = 'beta') AND Count > 1", {"ls-1"}),
        ("Stage = 'alpha' OR Stage = 'beta' AND Count > 1", {"ls-0", "ls-1"}),
        ("Stage IN ('alpha', 'alphabet')", {"ls-0", "ls-2"}),
        ("Stage NOT IN ('alpha', 'alphabet')", {"ls-1"}),
        ("Count BETWEEN 2 AND 3", {"ls-1", "ls-2"}),
        ("Stage STARTS_WITH 'alpha'", {"ls-0", "ls-2"}),
        ("ExecutionStatus = 'Terminated'", {"ls-2"}),
        ("ExecutionStatus = 'Running' AND WorkflowType = 'Waiter'", {"ls-0", "ls-1"}),
        ("WorkflowType = 'Other'", {"ls-3"}),
        ("Stage IS NULL", {"ls-3"}),
        ("WorkflowId = 'ls-1'", {"ls-1"}),
        ("", {"ls-0", "ls-1", "ls-2", "ls-3"}),
    ],
)
@bounded
async def test_list_and_count_agree_on_a_query(
    listing: tuple[Client, list[int]], query: str, expected: set[str]
) -> None:
    ns_client, _ = listing
    found = await _ids(ns_client, query)
    assert (sorted(found), len(found)) == (sorted(expected), len(expected))
    assert (await ns_client.count_workflows(query)).count == len(expected)


@bounded
async def test_start_time_ranges(listing: tuple[Client, list[int]]) -> None:
    ns_client, starts = listing
    assert sorted(await _ids(ns_client, f"StartTime >= '{_rfc3339(starts[1])}'")) == [
        "ls-1",
        "ls-2",
        "ls-3",
    ]
    between = f"StartTime BETWEEN '{_rfc3339(starts[0])}' AND '{_rfc3339(starts[1])}'"
    assert sorted(await _ids(ns_client, between)) == ["ls-0", "ls-1"]
    assert await _ids(ns_client, f"StartTime < '{_rfc3339(starts[0])}'") == []


@bounded
async def test_order_by(listing: tuple[Client, list[int]]) -> None:
    ns_client, _ = listing
    assert await _ids(ns_client, "Count > 0 ORDER BY Count DESC") == ["ls-2", "ls-1", "ls-0"]
    assert await _ids(ns_client, "Count > 0 ORDER BY Count") == ["ls-0", "ls-1", "ls-2"]
    # by default, newest first
    assert await _ids(ns_client, "ExecutionStatus = 'Running'") == ["ls-3", "ls-1", "ls-0"]


@bounded
async def test_listed_runs_carry_their_search_attributes(
    listing: tuple[Client, list[int]],
) -> None:
    ns_client, _ = listing
    (run,) = [w async for w in ns_client.list_workflows("WorkflowId = 'ls-2'")]
    assert run.typed_search_attributes.get(STAGE) == "alphabet"
    assert run.typed_search_attributes.get(COUNT) == 3
    assert run.status == WorkflowExecutionStatus.TERMINATED
    assert run.close_time is not None


@bounded
async def test_count_grouped_by_execution_status(listing: tuple[Client, list[int]]) -> None:
    ns_client, _ = listing
    counted = await ns_client.workflow_service.count_workflow_executions(
        ws.CountWorkflowExecutionsRequest(namespace="listing", query="GROUP BY ExecutionStatus")
    )
    groups = {g.group_values[0].data.decode(): g.count for g in counted.groups}
    assert (counted.count, groups) == (4, {'"Running"': 3, '"Terminated"': 1})
    filtered = await ns_client.count_workflows("Count > 1 GROUP BY ExecutionStatus")
    assert filtered.count == 2
    assert sorted((g.group_values[0], g.count) for g in filtered.groups) == [
        ("Running", 1),
        ("Terminated", 1),
    ]
    error = await rpc_error(
        ns_client.workflow_service.count_workflow_executions(
            ws.CountWorkflowExecutionsRequest(namespace="listing", query="GROUP BY WorkflowType")
        )
    )
    assert error.message == (
        "invalid query: operation is not supported: 'GROUP BY' clause is not supported for "
        "search attribute WorkflowType"
    )
