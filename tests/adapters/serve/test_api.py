"""`tmodel serve` through temporalio's client: errors, start policies, namespaces and
the server's declared capabilities, each compared with what the real server answers.

Every expected code, message and details type below was measured against `temporal
server start-dev` 1.32.0 (the research memo's table of errors, §5.1, and the same
requests repeated for this test), unless a comment names the Temporal source file it
follows. Runs, queries, updates, histories and visibility are in test_api_runs.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import pytest_asyncio
from google.protobuf import duration_pb2
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.errordetails.v1 import message_pb2 as details_pb
from temporalio.api.namespace.v1 import message_pb2 as ns_pb
from temporalio.api.query.v1 import message_pb2 as query_pb
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowQueryFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from tests.adapters.serve.sdk import IDLE, QUEUE, Waiter, bounded, details, rpc_error

pytestmark = pytest.mark.asyncio(loop_scope="module")
NOT_FOUND = "temporal.api.errordetails.v1.NotFoundFailure"
NS_NOT_FOUND = "temporal.api.errordetails.v1.NamespaceNotFoundFailure"
MISSING = "wf-does-not-exist"


@dataclass
class Subjects:
    open_run: str  # "err-open": running, waiting for its first workflow task
    closed_run: str  # "err-closed": terminated


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def subjects(client: Client) -> Subjects:
    opened = await client.start_workflow(Waiter.run, "x", id="err-open", task_queue=IDLE)
    closed = await client.start_workflow(Waiter.run, "x", id="err-closed", task_queue=IDLE)
    await closed.terminate()
    return Subjects(opened.result_run_id or "", closed.result_run_id or "")


def _execution(workflow_id: str, run_id: str = "") -> common_pb.WorkflowExecution:
    return common_pb.WorkflowExecution(workflow_id=workflow_id, run_id=run_id)


def _start(
    workflow_id: str, request_id: str = "", **fields: object
) -> ws.StartWorkflowExecutionRequest:
    return ws.StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id=workflow_id,
        workflow_type=common_pb.WorkflowType(name="Waiter"),
        task_queue=tq_pb.TaskQueue(name=IDLE),
        request_id=request_id or str(uuid.uuid4()),
        **fields,  # type: ignore[arg-type]
    )


Call = Callable[[Client, Subjects], Awaitable[object]]
ERRORS: list[tuple[str, Call, RPCStatusCode, str, list[str]]] = [
    # (situation, call, code, message, details); {open} and {closed} are the run ids
    (
        "signal an unknown workflow",
        lambda c, s: c.get_workflow_handle(MISSING).signal(Waiter.poke),
        RPCStatusCode.NOT_FOUND,
        f"workflow not found for ID: {MISSING}",
        [NOT_FOUND],
    ),
    (
        "query an unknown workflow",
        lambda c, s: c.workflow_service.query_workflow(
            ws.QueryWorkflowRequest(
                namespace="default",
                execution=_execution(MISSING),
                query=query_pb.WorkflowQuery(query_type="q"),
            )
        ),
        RPCStatusCode.NOT_FOUND,
        f"workflow not found for ID: {MISSING}",
        [NOT_FOUND],
    ),
    (
        "describe an unknown workflow",
        lambda c, s: c.get_workflow_handle(MISSING).describe(),
        RPCStatusCode.NOT_FOUND,
        f"workflow not found for ID: {MISSING}",
        [NOT_FOUND],
    ),
    (
        "cancel an unknown workflow",
        lambda c, s: c.get_workflow_handle(MISSING).cancel(),
        RPCStatusCode.NOT_FOUND,
        f"workflow not found for ID: {MISSING}",
        [NOT_FOUND],
    ),
    (
        "terminate an unknown workflow",
        lambda c, s: c.get_workflow_handle(MISSING).terminate(),
        RPCStatusCode.NOT_FOUND,
        f"workflow not found for ID: {MISSING}",
        [NOT_FOUND],
    ),
    (
        "update an unknown workflow",
        lambda c, s: c.get_workflow_handle(MISSING).execute_update(Waiter.set_value, "v"),
        RPCStatusCode.NOT_FOUND,
        f"workflow not found for ID: {MISSING}",
        [NOT_FOUND],
    ),
    (
        "the history of an unknown workflow",
        lambda c, s: c.get_workflow_handle(MISSING).fetch_history(),
        RPCStatusCode.NOT_FOUND,
        f"workflow not found for ID: {MISSING}",
        [NOT_FOUND],
    ),
    (
        "describe an unknown run",
        lambda c, s: c.get_workflow_handle(
            "err-open", run_id="5e2c5b8e-0000-4000-8000-000000000000"
        ).describe(),
        RPCStatusCode.NOT_FOUND,
        'workflow execution not found for workflow ID "err-open" and run ID '
        '"5e2c5b8e-0000-4000-8000-000000000000"',
        [NOT_FOUND],
    ),
    (
        "signal a closed workflow",
        lambda c, s: c.get_workflow_handle("err-closed").signal(Waiter.poke),
        RPCStatusCode.NOT_FOUND,
        "workflow execution already completed",
        [NOT_FOUND],
    ),
    (
        "terminate a closed workflow",
        lambda c, s: c.get_workflow_handle("err-closed").terminate(),
        RPCStatusCode.NOT_FOUND,
        "workflow execution already completed",
        [NOT_FOUND],
    ),
    (
        "update a closed workflow",
        lambda c, s: c.get_workflow_handle("err-closed").execute_update(Waiter.set_value, "v"),
        RPCStatusCode.NOT_FOUND,
        "workflow execution already completed",
        [NOT_FOUND],
    ),
    (
        "complete an activity by id in a closed workflow",
        lambda c, s: c.get_async_activity_handle(
            workflow_id="err-closed", run_id=None, activity_id="a"
        ).complete("r"),
        RPCStatusCode.NOT_FOUND,
        "workflow execution already completed",
        [NOT_FOUND],
    ),
    (
        "complete an activity by an id no activity has",
        lambda c, s: c.get_async_activity_handle(
            workflow_id="err-open", run_id=None, activity_id="nope"
        ).complete("r"),
        RPCStatusCode.NOT_FOUND,
        "cannot find pending activity with ActivityID nope, check workflow execution "
        "history for more details",
        [NOT_FOUND],
    ),
    (
        "describe an unknown namespace",
        lambda c, s: c.workflow_service.describe_namespace(
            ws.DescribeNamespaceRequest(namespace="no-such-ns")
        ),
        RPCStatusCode.NOT_FOUND,
        "Namespace no-such-ns is not found.",
        [NS_NOT_FOUND],
    ),
    (
        "start in an unknown namespace",
        lambda c, s: c.workflow_service.start_workflow_execution(
            ws.StartWorkflowExecutionRequest(
                namespace="no-such-ns",
                workflow_id="w",
                workflow_type=common_pb.WorkflowType(name="Waiter"),
                task_queue=tq_pb.TaskQueue(name=IDLE),
                request_id="r",
            )
        ),
        RPCStatusCode.NOT_FOUND,
        "Namespace no-such-ns is not found.",
        [NS_NOT_FOUND],
    ),
    (
        "register a namespace that exists",
        lambda c, s: c.workflow_service.register_namespace(
            ws.RegisterNamespaceRequest(
                namespace="default",
                workflow_execution_retention_period=duration_pb2.Duration(seconds=86400),
            )
        ),
        RPCStatusCode.ALREADY_EXISTS,
        'Namespace "default" already exists',
        ["temporal.api.errordetails.v1.NamespaceAlreadyExistsFailure"],
    ),
    (
        "register a namespace without a retention period",
        lambda c, s: c.workflow_service.register_namespace(
            ws.RegisterNamespaceRequest(namespace="no-retention")
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "A valid retention period is not set on request.",
        [],
    ),
    (
        "complete a workflow task with a garbage token",
        lambda c, s: c.workflow_service.respond_workflow_task_completed(
            ws.RespondWorkflowTaskCompletedRequest(namespace="default", task_token=b"garbage")
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "Error deserializing task token.",
        [],
    ),
    (
        "complete an activity task with a garbage token",
        lambda c, s: c.get_async_activity_handle(task_token=b"garbage").complete("r"),
        RPCStatusCode.INVALID_ARGUMENT,
        "Error deserializing task token.",
        [],
    ),
    (
        "heartbeat with a garbage token",
        lambda c, s: c.workflow_service.record_activity_task_heartbeat(
            ws.RecordActivityTaskHeartbeatRequest(namespace="default", task_token=b"garbage")
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "Error deserializing task token.",
        [],
    ),
    (
        "complete an activity task without a token",
        lambda c, s: c.workflow_service.respond_activity_task_completed(
            ws.RespondActivityTaskCompletedRequest(namespace="default")
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "Task token not set on request.",
        [],
    ),
    (
        "start without a task queue",
        lambda c, s: c.workflow_service.start_workflow_execution(
            ws.StartWorkflowExecutionRequest(
                namespace="default",
                workflow_id="w",
                workflow_type=common_pb.WorkflowType(name="Waiter"),
                request_id="r",
            )
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "taskQueue is not set",
        [],
    ),
    (
        "poll an empty task queue name",
        lambda c, s: c.workflow_service.poll_workflow_task_queue(
            ws.PollWorkflowTaskQueueRequest(namespace="default")
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "taskQueue is not set",
        [],
    ),
    (
        "start with a too long workflow id",
        lambda c, s: c.start_workflow(Waiter.run, "x", id="w" * 5000, task_queue=IDLE),
        RPCStatusCode.INVALID_ARGUMENT,
        "WorkflowId exceeds maximum allowed length (5000/1000)",
        [],
    ),
    (
        "signal without a signal name",
        lambda c, s: c.workflow_service.signal_workflow_execution(
            ws.SignalWorkflowExecutionRequest(
                namespace="default", workflow_execution=_execution("err-open")
            )
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "SignalName is not set on request.",
        [],
    ),
    (
        "list with an unknown search attribute",
        lambda c, s: c.workflow_service.list_workflow_executions(
            ws.ListWorkflowExecutionsRequest(namespace="default", query="NoSuchAttribute = 1")
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "invalid query: invalid search attribute: NoSuchAttribute",
        [],
    ),
    (
        "query a workflow that closed before its first workflow task",
        lambda c, s: c.workflow_service.query_workflow(
            ws.QueryWorkflowRequest(
                namespace="default",
                execution=_execution("err-closed"),
                query=query_pb.WorkflowQuery(query_type="q"),
            )
        ),
        RPCStatusCode.FAILED_PRECONDITION,
        "Workflow execution closed before WorkflowTaskStarted event",
        ["temporal.api.errordetails.v1.WorkflowNotReadyFailure"],
    ),
]


@pytest.mark.parametrize(
    ("call", "code", "message", "expected"),
    [case[1:] for case in ERRORS],
    ids=[case[0] for case in ERRORS],
)
@bounded
async def test_an_error_is_the_real_servers_code_message_and_details(
    client: Client,
    subjects: Subjects,
    call: Call,
    code: RPCStatusCode,
    message: str,
    expected: list[str],
) -> None:
    error = await rpc_error(call(client, subjects))
    assert (error.status, error.message, details(error)) == (code, message, expected)


@bounded
async def test_a_namespace_not_found_names_the_namespace(client: Client) -> None:
    error = await rpc_error(
        client.workflow_service.describe_namespace(ws.DescribeNamespaceRequest(namespace="nope"))
    )
    failure = details_pb.NamespaceNotFoundFailure()
    assert error.grpc_status.details[0].Unpack(failure)
    assert failure.namespace == "nope"


@bounded
async def test_cancelling_a_closed_workflow_succeeds(client: Client, subjects: Subjects) -> None:
    # service/history/api/requestcancelworkflow/api.go: "a success even if the target
    # workflow has already finished"; nothing is written.
    handle = client.get_workflow_handle("err-closed")
    before = len((await handle.fetch_history()).events)
    await handle.cancel()
    assert len((await handle.fetch_history()).events) == before


@bounded
async def test_a_start_while_running_raises_workflow_already_started(client: Client) -> None:
    first = await client.workflow_service.start_workflow_execution(_start("dup", "req-1"))
    with pytest.raises(WorkflowAlreadyStartedError) as info:
        await client.start_workflow(Waiter.run, "x", id="dup", task_queue=IDLE)
    assert info.value.run_id == first.run_id
    error = await rpc_error(client.workflow_service.start_workflow_execution(_start("dup")))
    assert error.status == RPCStatusCode.ALREADY_EXISTS
    assert error.message == (
        f"Workflow execution is already running. WorkflowId: dup, RunId: {first.run_id}."
    )
    failure = details_pb.WorkflowExecutionAlreadyStartedFailure()
    assert error.grpc_status.details[0].Unpack(failure)
    assert (failure.start_request_id, failure.run_id, failure.first_execution_run_id) == (
        "req-1",
        first.run_id,
        first.run_id,
    )


@bounded
async def test_the_same_request_id_starts_once(client: Client) -> None:
    first = await client.workflow_service.start_workflow_execution(_start("dedup", "same"))
    again = await client.workflow_service.start_workflow_execution(_start("dedup", "same"))
    assert (again.run_id, again.started) == (first.run_id, True)


@bounded
async def test_id_conflict_policies(client: Client) -> None:
    running = await client.start_workflow(Waiter.run, "x", id="conflict", task_queue=IDLE)
    with pytest.raises(WorkflowAlreadyStartedError):
        await client.start_workflow(
            Waiter.run, "x", id="conflict", task_queue=IDLE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )  # fmt: skip
    existing = await client.workflow_service.start_workflow_execution(
        _start(
            "conflict",
            workflow_id_conflict_policy=wf_enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
        )
    )
    assert (existing.run_id, existing.started) == (running.result_run_id, False)
    replacing = await client.start_workflow(
        Waiter.run, "x", id="conflict", task_queue=IDLE,
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )  # fmt: skip
    assert replacing.result_run_id != running.result_run_id
    # the old run is terminated as create_workflow_util.go terminateWorkflowAction does it
    old = await client.get_workflow_handle("conflict", run_id=running.result_run_id).fetch_history()
    terminated = old.events[-1].workflow_execution_terminated_event_attributes
    assert (terminated.reason, terminated.identity) == (
        "TerminateIfRunning WorkflowIdReusePolicy",
        "history-service",
    )
    why = terminated.details.payloads[0].data.decode()
    assert why == f'"terminated by new runID: {replacing.result_run_id}"'
    assert (await replacing.describe()).status == WorkflowExecutionStatus.RUNNING


@bounded
async def test_id_reuse_policies_after_a_run_closed(client: Client) -> None:
    first = await client.start_workflow(Waiter.run, "x", id="reuse", task_queue=QUEUE)
    await first.signal(Waiter.finish, "done")
    assert await first.result() == "done after 0 pokes"
    refused = await rpc_error(
        client.workflow_service.start_workflow_execution(
            _start(
                "reuse",
                workflow_id_reuse_policy=wf_enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
            )
        )
    )
    assert (refused.status, refused.message) == (
        RPCStatusCode.ALREADY_EXISTS,
        f"Workflow execution already finished. WorkflowId: reuse, RunId: "
        f"{first.result_run_id}. Workflow Id reuse policy: reject duplicate workflow Id.",
    )
    with pytest.raises(WorkflowAlreadyStartedError) as info:
        await client.start_workflow(
            Waiter.run, "x", id="reuse", task_queue=IDLE,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )  # fmt: skip
    assert info.value.run_id == first.result_run_id
    second = await client.start_workflow(
        Waiter.run, "x", id="reuse", task_queue=IDLE,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )  # fmt: skip
    assert second.result_run_id != first.result_run_id
    await second.terminate()
    # a terminated run counts as failed: ALLOW_DUPLICATE_FAILED_ONLY starts again
    third = await client.start_workflow(
        Waiter.run, "x", id="reuse", task_queue=IDLE,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    )  # fmt: skip
    assert third.result_run_id not in (first.result_run_id, second.result_run_id)


@bounded
async def test_allow_duplicate_failed_only_refuses_after_a_success(client: Client) -> None:
    run = await client.start_workflow(Waiter.run, "x", id="succeeded", task_queue=QUEUE)
    await run.signal(Waiter.finish, "ok")
    await run.result()
    error = await rpc_error(
        client.workflow_service.start_workflow_execution(
            _start(
                "succeeded",
                workflow_id_reuse_policy=(
                    wf_enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
                ),
            )
        )
    )
    assert error.message == (
        f"Workflow execution already finished successfully. WorkflowId: succeeded, RunId: "
        f"{run.result_run_id}. Workflow Id reuse policy: allow duplicate workflow Id if last "
        "run failed."
    )
    assert details(error) == ["temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure"]


@bounded
async def test_a_failing_query_is_query_failed(client: Client) -> None:
    handle = await client.start_workflow(Waiter.run, "x", id="query-fails", task_queue=QUEUE)
    assert await handle.query(Waiter.state) == "x"
    with pytest.raises(WorkflowQueryFailedError) as info:
        await handle.query(Waiter.failing)
    assert info.value.message == "query handler failed on purpose"
    error = await rpc_error(
        client.workflow_service.query_workflow(
            ws.QueryWorkflowRequest(
                namespace="default",
                execution=_execution("query-fails"),
                query=query_pb.WorkflowQuery(query_type="failing"),
            )
        )
    )
    assert (error.status, error.message, details(error)) == (
        RPCStatusCode.INVALID_ARGUMENT,
        "query handler failed on purpose",
        ["temporal.api.errordetails.v1.QueryFailedFailure"],
    )
    with pytest.raises(WorkflowQueryFailedError) as unknown:
        await handle.query("no_such_query")
    assert unknown.value.message.startswith(
        "Query handler for 'no_such_query' expected but not found, known queries: ["
    )
    await handle.terminate()


@bounded
async def test_an_unimplemented_rpc_names_itself(client: Client) -> None:
    error = await rpc_error(
        client.workflow_service.list_schedules(ws.ListSchedulesRequest(namespace="default"))
    )
    assert error.status == RPCStatusCode.UNIMPLEMENTED
    assert "unknown method" in error.message
    assert "ListSchedules" in error.message


# What GetSystemInfo declares; each must be something this server does.
DECLARED = {
    "signal_and_query_header",
    "internal_error_differentiation",
    "activity_failure_include_heartbeat",
    "encoded_failure_attributes",
    "upsert_memo",
    "sdk_metadata",
    "count_group_by_execution_status",
}


@bounded
async def test_system_info_declares_only_what_is_implemented(client: Client) -> None:
    info = await client.workflow_service.get_system_info(ws.GetSystemInfoRequest())
    assert info.server_version == "1.32.0"
    declared = {field.name for field, value in info.capabilities.ListFields() if value is True}
    assert declared == DECLARED
    # and what it leaves out really is absent
    schedules = await rpc_error(
        client.workflow_service.describe_schedule(
            ws.DescribeScheduleRequest(namespace="default", schedule_id="s")
        )
    )
    nexus = await rpc_error(
        client.workflow_service.poll_nexus_task_queue(
            ws.PollNexusTaskQueueRequest(namespace="default", task_queue=tq_pb.TaskQueue(name="q"))
        )
    )
    assert {schedules.status, nexus.status} == {RPCStatusCode.UNIMPLEMENTED}
    # count_group_by_execution_status is declared: a grouped count is answered
    await client.start_workflow(Waiter.run, "x", id="counted", task_queue=IDLE)
    grouped = await client.workflow_service.count_workflow_executions(
        ws.CountWorkflowExecutionsRequest(namespace="default", query="GROUP BY ExecutionStatus")
    )
    assert grouped.count == sum(group.count for group in grouped.groups) > 0


@bounded
async def test_namespaces_register_describe_list_and_update(client: Client, address: str) -> None:
    service = client.workflow_service
    await service.register_namespace(
        ws.RegisterNamespaceRequest(
            namespace="ns-api",
            description="for the test",
            owner_email="owner@example.com",
            workflow_execution_retention_period=duration_pb2.Duration(seconds=3 * 86400),
            data={"k": "v"},
        )
    )
    described = await service.describe_namespace(ws.DescribeNamespaceRequest(namespace="ns-api"))
    info = described.namespace_info
    assert (info.name, info.description, info.owner_email, dict(info.data)) == (
        "ns-api",
        "for the test",
        "owner@example.com",
        {"k": "v"},
    )
    assert info.state == 1  # NAMESPACE_STATE_REGISTERED
    assert described.config.workflow_execution_retention_ttl.ToTimedelta() == timedelta(days=3)
    by_id = await service.describe_namespace(ws.DescribeNamespaceRequest(id=info.id))
    assert by_id.namespace_info.name == "ns-api"
    updated = await service.update_namespace(
        ws.UpdateNamespaceRequest(
            namespace="ns-api",
            update_info=ns_pb.UpdateNamespaceInfo(description="changed", data={"k2": "v2"}),
        )
    )
    assert updated.namespace_info.description == "changed"
    assert dict(updated.namespace_info.data) == {"k": "v", "k2": "v2"}
    names: list[str] = []
    token = b""
    while True:  # one namespace per page
        page = await service.list_namespaces(
            ws.ListNamespacesRequest(page_size=1, next_page_token=token)
        )
        names += [n.namespace_info.name for n in page.namespaces]
        token = page.next_page_token
        if not token:
            break
    assert "default" in names and "ns-api" in names
    assert len(names) == len(set(names))
    # the new namespace is usable
    ns_client = await Client.connect(address, namespace="ns-api")
    handle = await ns_client.start_workflow(Waiter.run, "x", id="in-ns-api", task_queue=IDLE)
    assert (await handle.describe()).namespace == "ns-api"
    with pytest.raises(RPCError):
        await client.get_workflow_handle("in-ns-api").describe()  # not in default
