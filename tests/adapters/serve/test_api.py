"""`tmodel serve` through temporalio's client: errors, start policies, namespaces and
the server's declared capabilities, each compared with what the real server answers.

Every expected code, message and details type below was measured against `temporal
server start-dev` 1.32.0 (the errors measured through a logging proxy while the server
was built, and the same requests repeated for this test), unless a comment names the
Temporal source file it follows. Runs, queries, updates, histories and visibility are
in test_api_runs.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio
from google.protobuf import duration_pb2
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.errordetails.v1 import message_pb2 as details_pb
from temporalio.api.query.v1 import message_pb2 as query_pb
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCStatusCode

from tests.adapters.serve.sdk import (
    IDLE,
    QUEUE,
    Waiter,
    bounded,
    details,
    execution,
    rpc_error,
    start_request,
)

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
                execution=execution(MISSING),
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
        "register a namespace that exists without a retention period (retention first)",
        lambda c, s: c.workflow_service.register_namespace(
            ws.RegisterNamespaceRequest(namespace="default")
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "A valid retention period is not set on request.",
        [],
    ),
    (
        "register a global namespace (one cluster: not enabled)",
        lambda c, s: c.workflow_service.register_namespace(
            ws.RegisterNamespaceRequest(
                namespace="default",
                is_global_namespace=True,
                workflow_execution_retention_period=duration_pb2.Duration(seconds=86400),
            )
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "Cannot register global namespace when not enabled",
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
                namespace="default", workflow_execution=execution("err-open")
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
                execution=execution("err-closed"),
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
    first = await client.workflow_service.start_workflow_execution(start_request("dup", "req-1"))
    with pytest.raises(WorkflowAlreadyStartedError) as info:
        await client.start_workflow(Waiter.run, "x", id="dup", task_queue=IDLE)
    assert info.value.run_id == first.run_id
    error = await rpc_error(client.workflow_service.start_workflow_execution(start_request("dup")))
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
                execution=execution("query-fails"),
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
