"""A completion the server refuses, driven with raw gRPC (the test is the worker): a
CompleteWorkflowExecution that meets a signal received while the task ran, a
ScheduleActivityTask without a task queue or with an empty one (the server takes no
default for it), and commands whose attributes are empty. The server fails the task with the
cause, writes a server failure worded as the cause on WorkflowTaskFailed, and answers
the worker InvalidArgument in the same words ("UnhandledCommand": sdk-core matches that
text to evict the run as UnhandledCommand rather than Fatal). For bad attributes the
server appends its validator's words after a colon, as these cases show."""

from __future__ import annotations

import uuid

from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_enums
from temporalio.api.history.v1 import message_pb2 as history_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.service import RPCError

from tests.adapters.serve.sdk import connected, execution, first_workflow_task

NAMESPACE = "default"
Failed = tuple[int, str, bool, bool]
Refusal = tuple[tuple[str, str], Failed]


def _failed(events: list[history_pb.HistoryEvent]) -> Failed:
    """The last WorkflowTaskFailed's cause, failure message, whether the failure is a
    server failure, and its non-retryable flag."""
    last = [e for e in events if e.HasField("workflow_task_failed_event_attributes")][-1]
    a = last.workflow_task_failed_event_attributes
    info = a.failure.HasField("server_failure_info")
    return int(a.cause), a.failure.message, info, a.failure.server_failure_info.non_retryable


async def _refused(address: str, command: command_pb.Command, signal: bool) -> Refusal:
    client = await connected(address)
    workflow_id = f"refused-{uuid.uuid4()}"
    task = await first_workflow_task(client, NAMESPACE, workflow_id)
    service = client.workflow_service
    if signal:  # received while the task runs: buffered, so a close command is unhandled
        await service.signal_workflow_execution(
            ws.SignalWorkflowExecutionRequest(
                namespace=NAMESPACE,
                workflow_execution=execution(workflow_id),
                signal_name="meanwhile",
                request_id=str(uuid.uuid4()),
            )
        )
    try:
        await service.respond_workflow_task_completed(
            ws.RespondWorkflowTaskCompletedRequest(
                namespace=NAMESPACE, task_token=task.task_token, commands=[command], identity="raw"
            ),
            retry=False,
        )
        answer: tuple[str, str] = ("OK", "")
    except RPCError as exc:
        answer = (exc.status.name, exc.message)
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    await client.get_workflow_handle(workflow_id).terminate(reason="done")
    return answer, _failed(list(history.events))


def _activity(
    queue: str | None, activity_id: str = "a1", activity_type: str = "Work"
) -> command_pb.Command:
    """A ScheduleActivityTask with no task queue (None) or one named `queue`."""
    command = command_pb.Command(command_type=command_enums.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK)
    a = command.schedule_activity_task_command_attributes
    a.activity_id, a.activity_type.name = activity_id, activity_type
    a.start_to_close_timeout.FromSeconds(5)
    if queue is not None:
        a.task_queue.name = queue
    return command


def _command(kind: int, attributes: str) -> command_pb.Command:
    """A command of `kind` whose attributes `attributes` are present but empty."""
    command = command_pb.Command(command_type=kind)  # type: ignore[arg-type]
    getattr(command, attributes).SetInParent()
    return command


async def drive(address: str) -> list[Refusal]:
    complete = _command(
        command_enums.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        "complete_workflow_execution_command_attributes",
    )
    empty = [  # each refused for its first required field
        _command(command_enums.COMMAND_TYPE_START_TIMER, "start_timer_command_attributes"),
        _command(command_enums.COMMAND_TYPE_CANCEL_TIMER, "cancel_timer_command_attributes"),
        _command(command_enums.COMMAND_TYPE_RECORD_MARKER, "record_marker_command_attributes"),
        _command(
            command_enums.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK,
            "request_cancel_activity_task_command_attributes",
        ),
        _command(
            command_enums.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
            "fail_workflow_execution_command_attributes",
        ),
    ]
    out = [
        await _refused(address, complete, signal=True),
        await _refused(address, _activity(None), signal=False),  # no default queue
        await _refused(address, _activity(""), signal=False),
        await _refused(address, _activity("q", activity_id=""), signal=False),
        await _refused(address, _activity("q", activity_type=""), signal=False),
    ]
    for command in empty:
        out.append(await _refused(address, command, signal=False))
    return out
