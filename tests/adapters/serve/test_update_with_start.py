"""Update-with-start (ExecuteMultiOperation) and updates whose run continues as new,
against `tmodel serve`, the test acting as the worker (raw WorkflowService calls, each
workflow on a task queue of its own).

Every expected code, message and details message here was measured with the same raw
calls against `temporal server start-dev` (CLI 1.9.1, server 1.32.0); the rules are
those of `service/history/api/multioperation/api.go`, `ExecuteMultiOperation` in
`service/frontend/workflow_handler.go` and `service/history/workflow/update/`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_enums
from temporalio.api.enums.v1 import failed_cause_pb2 as cause_enums
from temporalio.api.enums.v1 import update_pb2 as update_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.errordetails.v1 import message_pb2 as details_pb
from temporalio.api.protocol.v1 import message_pb2 as protocol_pb
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.update.v1 import message_pb2 as update_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from tests.adapters.serve.sdk import bounded, details, rpc_error

pytestmark = pytest.mark.asyncio(loop_scope="module")
POLL = timedelta(seconds=10)
UWS_FAILED = "Update-with-Start could not be executed."
ABORTED = (10, "Operation was aborted.", ["temporal.api.failure.v1.MultiOperationExecutionAborted"])
CLOSING = "workflow operation can not be applied because workflow is closing"
EXHAUSTED = ["temporal.api.errordetails.v1.ResourceExhaustedFailure"]
ALREADY_STARTED = ["temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure"]
ACCEPTED = update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
COMPLETED = update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
FAIL = wf_enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL
USE_EXISTING = wf_enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING


# -- the raw worker and requests -------------------------------------------------------


def start(workflow_id: str, request_id: str, **fields: object) -> ws.StartWorkflowExecutionRequest:
    """A start of a Raw workflow on the task queue named as the workflow."""
    return ws.StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id=workflow_id,
        workflow_type=common_pb.WorkflowType(name="Raw"),
        task_queue=tq_pb.TaskQueue(name=workflow_id),
        request_id=request_id,
        **fields,  # type: ignore[arg-type]
    )


def update(
    workflow_id: str, update_id: str, stage: int = ACCEPTED
) -> ws.UpdateWorkflowExecutionRequest:
    out = ws.UpdateWorkflowExecutionRequest(
        namespace="default",
        workflow_execution=common_pb.WorkflowExecution(workflow_id=workflow_id),
        request=update_pb.Request(
            meta=update_pb.Meta(update_id=update_id), input=update_pb.Input(name="set")
        ),
    )
    if stage:
        out.wait_policy.lifecycle_stage = stage  # type: ignore[assignment]
    return out


def update_with_start(
    workflow_id: str, update_id: str, request_id: str, **fields: object
) -> ws.ExecuteMultiOperationRequest:
    op = ws.ExecuteMultiOperationRequest.Operation
    return ws.ExecuteMultiOperationRequest(
        namespace="default",
        operations=[
            op(start_workflow=start(workflow_id, request_id, **fields)),
            op(update_workflow=update(workflow_id, update_id)),
        ],
    )


async def poll(client: Client, workflow_id: str) -> ws.PollWorkflowTaskQueueResponse:
    return await client.workflow_service.poll_workflow_task_queue(
        ws.PollWorkflowTaskQueueRequest(
            namespace="default", task_queue=tq_pb.TaskQueue(name=workflow_id), identity="raw"
        ),
        timeout=POLL,
    )


async def complete(
    client: Client,
    task: ws.PollWorkflowTaskQueueResponse,
    commands: list[command_pb.Command] | None = None,
    messages: list[protocol_pb.Message] | None = None,
) -> None:
    await client.workflow_service.respond_workflow_task_completed(
        ws.RespondWorkflowTaskCompletedRequest(
            namespace="default",
            task_token=task.task_token,
            commands=commands or [],
            messages=messages or [],
            identity="raw",
        )
    )


def close(kind: str, workflow_id: str = "") -> command_pb.Command:
    """A command that completes the run, or continues it as new."""
    if kind == "complete":
        return command_pb.Command(
            command_type=command_enums.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
            complete_workflow_execution_command_attributes=(
                command_pb.CompleteWorkflowExecutionCommandAttributes()
            ),
        )
    return command_pb.Command(
        command_type=command_enums.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        continue_as_new_workflow_execution_command_attributes=(
            command_pb.ContinueAsNewWorkflowExecutionCommandAttributes(
                workflow_type=common_pb.WorkflowType(name="Raw"),
                task_queue=tq_pb.TaskQueue(name=workflow_id),
            )
        ),
    )


def accept(task: ws.PollWorkflowTaskQueueResponse) -> list[protocol_pb.Message]:
    """The acceptance, then the response, of the update request the task carries."""
    request = task.messages[0]
    acceptance = update_pb.Acceptance(
        accepted_request_message_id=request.id,
        accepted_request_sequencing_event_id=request.event_id,
    )
    response = update_pb.Response(
        meta=update_pb.Meta(update_id=request.protocol_instance_id),
        outcome=update_pb.Outcome(success=common_pb.Payloads()),
    )
    out = []
    for name, body in (("accepted", acceptance), ("done", response)):
        message = protocol_pb.Message(id=name, protocol_instance_id=request.protocol_instance_id)
        message.body.Pack(body)
        out.append(message)
    return out


def requests(task: ws.PollWorkflowTaskQueueResponse) -> list[str]:
    """The update ids of the update requests a workflow task carries."""
    return [
        m.protocol_instance_id for m in task.messages if m.body.Is(update_pb.Request.DESCRIPTOR)
    ]


def statuses(error: RPCError) -> list[tuple[int, str, list[str]]]:
    """The per-operation statuses of a MultiOperationExecution error."""
    assert details(error) == ["temporal.api.errordetails.v1.MultiOperationExecutionFailure"]
    failure = details_pb.MultiOperationExecutionFailure()
    error.grpc_status.details[0].Unpack(failure)
    return [
        (s.code, s.message, [d.type_url.rsplit("/", 1)[-1] for d in s.details])
        for s in failure.statuses
    ]


# -- update-with-start that starts a run -------------------------------------------------


@bounded
async def test_the_new_runs_first_workflow_task_carries_the_update(client: Client) -> None:
    # The update is admitted in the start's own transaction: the first workflow task,
    # handed to a poller already waiting when the start commits, carries its request.
    service = client.workflow_service
    first = asyncio.create_task(poll(client, "uws-first"))
    await asyncio.sleep(0.5)  # the poller waits before the run exists
    call = asyncio.create_task(
        service.execute_multi_operation(
            update_with_start("uws-first", "u1", "r1", workflow_id_conflict_policy=FAIL)
        )
    )
    task = await first
    assert requests(task) == ["u1"]
    await complete(client, task, messages=accept(task))
    answer = await call
    assert answer.responses[0].start_workflow.started
    assert answer.responses[1].update_workflow.stage == COMPLETED
    await client.get_workflow_handle("uws-first").terminate()


@bounded
async def test_a_refused_start_is_a_multi_operation_failure(client: Client) -> None:
    service = client.workflow_service
    started = await service.start_workflow_execution(start("uws-refused", "r0"))
    running = await rpc_error(
        service.execute_multi_operation(
            update_with_start("uws-refused", "u1", "r1", workflow_id_conflict_policy=FAIL)
        )
    )
    assert (running.status, running.message) == (RPCStatusCode.ALREADY_EXISTS, UWS_FAILED)
    message = (
        f"Workflow execution is already running. WorkflowId: uws-refused, RunId: {started.run_id}."
    )
    assert statuses(running) == [(6, message, ALREADY_STARTED), ABORTED]
    failure = details_pb.WorkflowExecutionAlreadyStartedFailure()
    # the start's status names the run in the way, its start request and its chain
    status = details_pb.MultiOperationExecutionFailure()
    running.grpc_status.details[0].Unpack(status)
    status.statuses[0].details[0].Unpack(failure)
    assert (failure.start_request_id, failure.run_id, failure.first_execution_run_id) == (
        "r0",
        started.run_id,
        started.run_id,
    )
    await client.get_workflow_handle("uws-refused").terminate()
    # the id reuse policy refuses a closed workflow in the same shape
    closed = await rpc_error(
        service.execute_multi_operation(
            update_with_start(
                "uws-refused",
                "u2",
                "r2",
                workflow_id_conflict_policy=USE_EXISTING,
                workflow_id_reuse_policy=wf_enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
            )
        )
    )
    assert (closed.status, closed.message) == (RPCStatusCode.ALREADY_EXISTS, UWS_FAILED)
    message = (
        f"Workflow execution already finished. WorkflowId: uws-refused, RunId: {started.run_id}."
        " Workflow Id reuse policy: reject duplicate workflow Id."
    )
    assert statuses(closed) == [(6, message, ALREADY_STARTED), ABORTED]


@bounded
async def test_the_sdk_raises_workflow_already_started(client: Client) -> None:
    await client.workflow_service.start_workflow_execution(start("uws-sdk-refused", "r0"))
    operation: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
        "Raw",
        id="uws-sdk-refused",
        task_queue="uws-sdk-refused",
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    with pytest.raises(WorkflowAlreadyStartedError):
        await client.execute_update_with_start_workflow("set", start_workflow_operation=operation)
    with pytest.raises(WorkflowAlreadyStartedError):
        await operation.workflow_handle()
    await client.get_workflow_handle("uws-sdk-refused").terminate()


@bounded
async def test_operations_are_checked_one_status_each(client: Client) -> None:
    service = client.workflow_service
    cases = []
    other = update_with_start("uws-checks", "u", "r")
    other.operations[1].update_workflow.workflow_execution.workflow_id = "other"
    cases.append(
        (other, [ABORTED, (3, "WorkflowId is not consistent with previous operation(s).", [])])
    )
    delayed = update_with_start("uws-checks", "u", "r")
    delayed.operations[0].start_workflow.workflow_start_delay.seconds = 5
    cases.append((delayed, [(3, "WorkflowStartDelay is not supported.", []), ABORTED]))
    both = update_with_start("uws-checks", "u", "r")
    both.operations[0].start_workflow.ClearField("workflow_type")
    both.operations[1].update_workflow.request.input.name = ""
    cases.append(
        (
            both,
            [
                (3, "WorkflowType is not set on request.", []),
                (3, "Update name is not set on request.", []),
            ],
        )
    )
    cron = update_with_start("uws-checks", "u", "r", cron_schedule="* * * * *")
    cases.append((cron, [(3, "CronSchedule is not allowed.", []), ABORTED]))
    run_id = update_with_start("uws-checks", "u", "r")
    run_id.operations[1].update_workflow.workflow_execution.run_id = "x"
    cases.append((run_id, [ABORTED, (3, "Invalid RunId.", [])]))
    for request, expected in cases:
        error = await rpc_error(service.execute_multi_operation(request))
        assert (error.status, error.message) == (RPCStatusCode.INVALID_ARGUMENT, UWS_FAILED)
        assert statuses(error) == expected


# -- an update whose run closes before accepting it -----------------------------------------


@bounded
async def test_an_update_admitted_to_a_run_that_continues_as_new_is_retryable(
    client: Client,
) -> None:
    # The registry aborts it with ErrWorkflowClosing (AbortReasonWorkflowContinuing): a
    # retryable RESOURCE_EXHAUSTED, so that the client's retry lands on the new run.
    service = client.workflow_service
    first = await service.start_workflow_execution(start("can-update", "r0"))
    task = await poll(client, "can-update")
    admitted = asyncio.create_task(
        service.update_workflow_execution(update("can-update", "u1"), retry=False)
    )
    await asyncio.sleep(0.5)  # admitted while the task runs
    await complete(client, task, [close("continue", "can-update")])
    error = await rpc_error(admitted)
    assert (error.status, error.message, details(error)) == (
        RPCStatusCode.RESOURCE_EXHAUSTED,
        CLOSING,
        EXHAUSTED,
    )
    exhausted = details_pb.ResourceExhaustedFailure()
    error.grpc_status.details[0].Unpack(exhausted)
    assert (exhausted.cause, exhausted.scope) == (
        cause_enums.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW,
        cause_enums.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
    )
    # the closed run keeps the aborted update: a poll naming that run gets the same
    polled = await rpc_error(
        service.poll_workflow_execution_update(
            ws.PollWorkflowExecutionUpdateRequest(
                namespace="default",
                update_ref=update_pb.UpdateRef(
                    workflow_execution=common_pb.WorkflowExecution(
                        workflow_id="can-update", run_id=first.run_id
                    ),
                    update_id="u1",
                ),
            ),
            retry=False,
        )
    )
    assert (polled.status, polled.message, details(polled)) == (
        RPCStatusCode.RESOURCE_EXHAUSTED,
        CLOSING,
        EXHAUSTED,
    )
    # retried (as the SDK does), it is admitted to the new run and answered there
    retried = asyncio.create_task(service.update_workflow_execution(update("can-update", "u1")))
    task = await poll(client, "can-update")
    if not requests(task):  # the new run's first task came before the retry
        await complete(client, task)
        task = await poll(client, "can-update")
    assert requests(task) == ["u1"]
    new_run = task.workflow_execution.run_id
    await complete(client, task, messages=accept(task))
    answer = await retried
    assert answer.update_ref.workflow_execution.run_id == new_run
    await client.get_workflow_handle("can-update").terminate()


@bounded
async def test_update_with_start_on_a_continuing_run_names_each_operation(
    client: Client,
) -> None:
    service = client.workflow_service
    # the running run took the update (USE_EXISTING): the start did nothing
    await service.start_workflow_execution(start("can-uws-existing", "r0"))
    task = await poll(client, "can-uws-existing")
    call = asyncio.create_task(
        service.execute_multi_operation(
            update_with_start(
                "can-uws-existing", "u1", "r1", workflow_id_conflict_policy=USE_EXISTING
            ),
            retry=False,
        )
    )
    await asyncio.sleep(0.5)
    await complete(client, task, [close("continue", "can-uws-existing")])
    error = await rpc_error(call)
    assert (error.status, error.message) == (RPCStatusCode.RESOURCE_EXHAUSTED, UWS_FAILED)
    assert statuses(error) == [ABORTED, (8, CLOSING, EXHAUSTED)]
    await client.get_workflow_handle("can-uws-existing").terminate()
    # the update-with-start started the run: its start succeeded (an OK status)
    call = asyncio.create_task(
        service.execute_multi_operation(
            update_with_start("can-uws-new", "u1", "r1", workflow_id_conflict_policy=FAIL),
            retry=False,
        )
    )
    task = await poll(client, "can-uws-new")
    await complete(client, task, [close("continue", "can-uws-new")])
    error = await rpc_error(call)
    assert (error.status, error.message) == (RPCStatusCode.RESOURCE_EXHAUSTED, UWS_FAILED)
    assert statuses(error) == [(0, "", []), (8, CLOSING, EXHAUSTED)]
    await client.get_workflow_handle("can-uws-new").terminate()


@bounded
async def test_update_with_start_tries_again_when_the_run_it_updated_completes(
    client: Client,
) -> None:
    # Its update aborted by the run's completion, the history service runs the whole
    # update-with-start once more: now no run is open, so it starts one with the update.
    service = client.workflow_service
    first = await service.start_workflow_execution(start("uws-again", "r0"))
    task = await poll(client, "uws-again")
    call = asyncio.create_task(
        service.execute_multi_operation(
            update_with_start("uws-again", "u1", "r1", workflow_id_conflict_policy=USE_EXISTING),
            retry=False,
        )
    )
    await asyncio.sleep(0.5)
    await complete(client, task, [close("complete")])
    task = await poll(client, "uws-again")
    assert requests(task) == ["u1"] and task.workflow_execution.run_id != first.run_id
    await complete(client, task, messages=accept(task))
    answer = await call
    assert answer.responses[0].start_workflow.started
    assert answer.responses[0].start_workflow.run_id == task.workflow_execution.run_id
    # and when the run it started completes too, the update is aborted for good
    call = asyncio.create_task(
        service.execute_multi_operation(
            update_with_start("uws-again", "u2", "r2", workflow_id_conflict_policy=USE_EXISTING),
            retry=False,
        )
    )
    task = await poll(client, "uws-again")  # the running run's task with the update
    assert requests(task) == ["u2"]
    second = task.workflow_execution.run_id
    await complete(client, task, [close("complete")])  # completes, ignoring the update
    task = await poll(client, "uws-again")  # a third run, started with the update
    assert requests(task) == ["u2"] and task.workflow_execution.run_id != second
    await complete(client, task, [close("complete")])
    error = await rpc_error(call)
    assert (error.status, error.message) == (RPCStatusCode.NOT_FOUND, UWS_FAILED)
    aborted = "workflow update was aborted by closing workflow"
    assert statuses(error) == [
        (0, "", []),
        (5, aborted, ["temporal.api.errordetails.v1.NotFoundFailure"]),
    ]


# -- the frontend's checks of an update --------------------------------------------------


@bounded
async def test_update_requests_are_checked_as_the_frontend_does(client: Client) -> None:
    service = client.workflow_service
    await service.start_workflow_execution(start("update-checks", "r0"))
    admitted = update(
        "update-checks", "u1", update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
    )
    error = await rpc_error(service.update_workflow_execution(admitted))
    assert (error.status, error.message, details(error)) == (
        RPCStatusCode.PERMISSION_DENIED,
        "UpdateWorkflowExecution issued asynchronously and waiting on update admitted"
        " is not supported.",
        ["temporal.api.errordetails.v1.PermissionDeniedFailure"],
    )
    no_input = update("update-checks", "u1")
    no_input.request.ClearField("input")
    bad_run = update("update-checks", "u1")
    bad_run.workflow_execution.run_id = "x"
    long_id = update("update-checks", "x" * 1001)
    for request, message in (
        (no_input, "Update input is not set on request."),
        (bad_run, "Invalid RunId."),
        (long_id, "UpdateId length exceeds limit."),
    ):
        error = await rpc_error(service.update_workflow_execution(request))
        assert (error.status, error.message) == (RPCStatusCode.INVALID_ARGUMENT, message)
    # no update id: the frontend makes one up; no wait policy: it waits for the outcome
    unnamed = update("update-checks", "", stage=0)
    call = asyncio.create_task(service.update_workflow_execution(unnamed))
    task = await poll(client, "update-checks")
    if not requests(task):
        await complete(client, task)
        task = await poll(client, "update-checks")
    [update_id] = requests(task)
    assert update_id
    await complete(client, task, messages=accept(task))
    answer = await call
    assert (answer.stage, answer.update_ref.update_id) == (COMPLETED, update_id)
    assert answer.outcome.HasField("success")
    await client.get_workflow_handle("update-checks").terminate()
