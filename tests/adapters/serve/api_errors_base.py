"""The bad-request scenario's machinery (api_errors_scenario.py): fixed ids, the call
that records "ok" or an error's code, message and details, normalised (run ids and
other UUIDs as placeholders, long ids by their length, the masked error's hash), the
request builders, and the set-up: a run that stays open and one the scenario closes
with its own workflow task."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from google.protobuf import duration_pb2, json_format
from google.protobuf.message import Message
from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_enums
from temporalio.api.errordetails.v1 import message_pb2 as _errordetails  # noqa: F401
from temporalio.api.failure.v1 import message_pb2 as _failure  # noqa: F401
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError

NS = "default"
RUNNING = "ae-running"  # started on a queue no worker polls: never gets a first task done
CLOSED = "ae-closed"  # completed by the scenario's own workflow task
QUEUE = "ae-idle"
LONG = "x" * 1001  # one more than the frontend's default id length limit (1000)
NOT_UUID = "not-a-uuid"
GARBAGE = b"\x01\x02garbage"
# (errordetails and failure are imported for their message types: json_format reads the
# error details, packed in Any, by them)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LONG_RUN = re.compile("x{100,}")
# the id the server gives an internal error in its message, to find it in its log
ERROR_ID = re.compile(r"\([0-9a-f]{8}\)")
TIMEOUT = timedelta(seconds=5)


def seconds_of(n: float) -> duration_pb2.Duration:
    out = duration_pb2.Duration()
    out.FromNanoseconds(int(n * 1e9))
    return out


def keyword_payload(value: str) -> common_pb.Payload:
    return common_pb.Payload(
        metadata={"encoding": b"json/plain", "type": b"Keyword"}, data=json.dumps(value).encode()
    )


def execution_of(workflow_id: str, run_id: str = "") -> common_pb.WorkflowExecution:
    return common_pb.WorkflowExecution(workflow_id=workflow_id, run_id=run_id)


class Base:
    def __init__(self, client: Client) -> None:
        self.service = client.workflow_service
        self.operator = client.operator_service
        self.log: dict[str, Any] = {}
        self.names: dict[str, str] = {}  # run id -> its name in the transcript

    def _normal(self, text: str) -> str:
        text = UUID.sub(lambda m: self.names.get(m.group(0), "<uuid>"), text)
        text = LONG_RUN.sub(lambda m: f"<{len(m.group(0))} x>", text)
        return ERROR_ID.sub("(<error id>)", text)

    def _details(self, error: RPCError) -> list[Any]:
        out = []
        for detail in error.grpc_status.details:
            try:
                fields = json_format.MessageToDict(detail)
            except (TypeError, KeyError):  # a type this SDK does not know
                fields = {"@type": detail.type_url}
            out.append(json.loads(self._normal(json.dumps(fields, sort_keys=True))))
        return out

    async def call(self, step: str, rpc: Callable[..., Awaitable[Any]], request: Message) -> Any:
        """Record `step`: "ok", or the error's status, message and details."""
        assert step not in self.log, step
        try:
            reply = await rpc(request, timeout=TIMEOUT)
        except RPCError as error:
            self.log[step] = {
                "code": error.status.name,
                "message": self._normal(error.message),
                "details": self._details(error),
            }
            return None
        self.log[step] = "ok"
        return reply

    # -- requests -------------------------------------------------------------------

    def start(self, workflow_id: str, **fields: Any) -> ws.StartWorkflowExecutionRequest:
        values: dict[str, Any] = {
            "namespace": NS,
            "workflow_id": workflow_id,
            "workflow_type": common_pb.WorkflowType(name="Waiter"),
            "task_queue": tq_pb.TaskQueue(name=QUEUE),
            "request_id": str(uuid.uuid4()),
            "identity": "scenario",
        }
        return ws.StartWorkflowExecutionRequest(**{**values, **fields})

    def signal(self, workflow_id: str, run_id: str = "", **fields: Any) -> Message:
        values: dict[str, Any] = {
            "namespace": NS,
            "workflow_execution": execution_of(workflow_id, run_id),
            "signal_name": "poke",
            "request_id": str(uuid.uuid4()),
        }
        return ws.SignalWorkflowExecutionRequest(**{**values, **fields})

    # -- the scenario -----------------------------------------------------------------

    async def setup(self) -> None:
        started = await self.call(
            "setup-start-running", self.service.start_workflow_execution, self.start(RUNNING)
        )
        self.names[started.run_id] = "<running-run>"
        closed = await self.call(
            "setup-start-closed",
            self.service.start_workflow_execution,
            self.start(CLOSED, task_queue=tq_pb.TaskQueue(name="ae-closing")),
        )
        self.names[closed.run_id] = "<closed-run>"
        poll = ws.PollWorkflowTaskQueueRequest(
            namespace=NS, task_queue=tq_pb.TaskQueue(name="ae-closing"), identity="scenario"
        )
        task = await self.service.poll_workflow_task_queue(poll, timeout=timedelta(seconds=30))
        self.stale_workflow_token = task.task_token
        done = command_pb.Command(
            command_type=command_enums.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
            complete_workflow_execution_command_attributes=(
                command_pb.CompleteWorkflowExecutionCommandAttributes()
            ),
        )
        await self.call(
            "setup-complete-closed",
            self.service.respond_workflow_task_completed,
            ws.RespondWorkflowTaskCompletedRequest(
                namespace=NS, task_token=task.task_token, commands=[done], identity="scenario"
            ),
        )

    def names_of(self, name: str) -> str:
        return next(run for run, known in self.names.items() if known == name)
