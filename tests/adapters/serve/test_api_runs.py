"""`tmodel serve` through temporalio's client, on running workflows: queries and their
reject conditions, updates and update-with-start, signal-with-start, DescribeWorkflow
with pending work, history pages (forward and reverse) and the close-event long poll,
activities completed from outside the worker, and List/CountWorkflowExecutions.

Expected behaviour is the real server's, as measured against the dev server or named by
the Temporal source file in a comment.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import event_type_pb2 as event_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
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
    WorkflowIDConflictPolicy,
)
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
    execution,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


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
    # update is admitted; the next task carries it then, as test_api_raw.py shows.)
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
    # both name the first run of the chain, the new run itself here (measured on the dev
    # server 1.32.0; older servers leave the field empty)
    assert signalled.first_execution_run_id == started.first_execution_run_id == started.run_id
    # the SDK's form: start_workflow with a start signal; its handle takes the first run
    # from the response alone when nothing was started
    handle = await client.start_workflow(
        Waiter.run, "x", id="sws", task_queue=QUEUE, start_signal="poke"
    )
    assert handle.result_run_id == handle.first_execution_run_id == started.run_id
    await handle.signal(Waiter.finish, "done")
    assert await handle.result() == "done after 3 pokes"


@bounded
async def test_describe_shows_a_pending_workflow_task(client: Client) -> None:
    handle = await client.start_workflow(Waiter.run, "x", id="pending-wft", task_queue=IDLE)
    described = await client.workflow_service.describe_workflow_execution(
        ws.DescribeWorkflowExecutionRequest(namespace="default", execution=execution("pending-wft"))
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
        ws.DescribeWorkflowExecutionRequest(namespace="default", execution=execution(workflow_id))
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
                    execution=execution(workflow_id),
                    maximum_page_size=size,
                    next_page_token=token,
                )
            )
        else:
            page = await client.workflow_service.get_workflow_execution_history(
                ws.GetWorkflowExecutionHistoryRequest(
                    namespace="default",
                    execution=execution(workflow_id),
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
        execution=execution(workflow_id),
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
