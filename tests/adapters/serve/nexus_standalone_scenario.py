"""One scenario of the standalone Nexus operation API (StartNexusOperationExecution,
Describe/Poll/List/Count/RequestCancel/Terminate/Delete), driven with raw calls, and what
a server answers, normalised to compare servers: replies, error codes and messages, the
Nexus tasks the endpoint's queue hands out, descriptions, Poll answers per wait stage and
List/Count results (runs as "first"/"same"/"new" or named, times as there or not, the
scenario's ids, endpoints and other UUIDs as placeholders). The scenario is its own Nexus
handler (PollNexusTaskQueue, RespondNexusTaskCompleted/Failed by hand) and handler
workflow worker: an async start starts a workflow carrying the Nexus task's completion
callback (URL and header, as an SDK handler does), whose close completes the operation.

`python -m tests.adapters.serve.nexus_standalone_scenario HOST:PORT` prints the
transcript; tests/fixtures/serve/nexus_standalone_dev.json is its output against the dev
server (CLI 1.9.1 / server 1.32.0) started with the dynamic config of sdk-python's
tests/conftest.py (`DEV_CONFIG` of test_nexus_standalone_dev.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from google.protobuf.duration_pb2 import Duration
from google.protobuf.json_format import MessageToDict
from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_enums
from temporalio.api.enums.v1 import common_pb2 as common_enums
from temporalio.api.enums.v1 import nexus_pb2 as nexus_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.failure.v1 import message_pb2 as failure_pb
from temporalio.api.nexus.v1 import message_pb2 as nexus_pb
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError

NS = "default"
Describe = ws.DescribeNexusOperationExecutionRequest
COMPLETE_WORKFLOW = command_enums.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION
CANCEL_WORKFLOW = command_enums.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION
CALLBACK_STATE = common_enums.CallbackState
CANCEL_SCHEDULED = common_enums.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED
SECOND = Duration(seconds=1)
STATUS = nexus_enums.NexusOperationExecutionStatus
STATE = common_enums.PendingNexusOperationState
CANCEL_STATE = common_enums.NexusOperationCancellationState
STAGE = nexus_enums.NexusOperationWaitStage
STARTED = nexus_enums.NEXUS_OPERATION_WAIT_STAGE_STARTED
CLOSED = nexus_enums.NEXUS_OPERATION_WAIT_STAGE_CLOSED
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
WAIT = 5.0  # seconds: the dev server answers every call of the scenario sooner
LONG_CHECKED = ("operation_id", "service", "operation", "request_id", "identity")
TIMEOUTS = ("schedule_to_close", "schedule_to_start", "start_to_close")
TIMES = ["close_time", "execution_duration", "expiration_time", "last_attempt_complete_time"]
TIMES += ["next_attempt_schedule_time", "schedule_time"]
VOLATILE_HEADERS = frozenset({"request-timeout", "operation-timeout"})  # deadlines: they vary


def _payload(text: str) -> common_pb.Payload:
    return common_pb.Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


def _failure(failure: failure_pb.Failure) -> dict[str, Any]:
    """A failure's shape: message, kind, the kind's telling fields, and its cause's."""
    out: dict[str, Any] = {"message": failure.message, "info": failure.WhichOneof("failure_info")}
    if failure.HasField("application_failure_info"):
        info = failure.application_failure_info
        out["type"], out["non_retryable"] = info.type, info.non_retryable
    if failure.HasField("nexus_handler_failure_info"):
        out["type"] = failure.nexus_handler_failure_info.type
    if failure.HasField("timeout_failure_info"):
        out["timeout"] = wf_enums.TimeoutType.Name(failure.timeout_failure_info.timeout_type)
    for closed in ("canceled_failure_info", "terminated_failure_info"):
        if failure.HasField(closed):
            out["identity"] = getattr(failure, closed).identity
    if failure.HasField("cause"):
        out["cause"] = _failure(failure.cause)
    return out


def _links(links: Any) -> list[Any]:
    """Links as their kind and fields (their run ids are named as the transcript's are)."""
    return [[k := link.WhichOneof("variant"), MessageToDict(getattr(link, k))] for link in links]


class Scenario:
    def __init__(self, client: Client) -> None:
        self.service, self.operator = client.workflow_service, client.operator_service
        self.prefix = f"nxsa-{uuid.uuid4()}"
        self.endpoint = f"nxsa-{uuid.uuid4().hex[:12]}"  # its queue is polled
        self.idle = f"nxsa-{uuid.uuid4().hex[:12]}"  # its queue is never polled
        self.queue = f"{self.prefix}-handler"
        self.wf_queue = f"{self.prefix}-workflows"
        self.log: list[Any] = []
        self.runs: dict[str, list[str]] = {}  # a name's runs, in order
        self.marks: dict[str, str] = {}  # runs' and starts' ids -> how the transcript names them
        self.task_requests: set[str] = set()
        self.poll_token = b""

    def note(self, *entry: Any) -> None:
        self.log.append(list(entry))

    async def call(self, step: str, rpc: Any, request: Any) -> Any:
        """Record `step`: "ok", the error's status and message, or no answer in `WAIT` s."""
        try:
            reply = await asyncio.wait_for(rpc(request), WAIT)
        except RPCError as error:
            self.note(step, error.status.name, error.message)
            return None
        except TimeoutError:
            self.note(step, f"no answer within {WAIT} s")
            return None
        self.note(step, "ok")
        return reply

    def run_of(self, name: str, run_id: str) -> str:
        """A run id as a name's "first" run, the "same" as the last, an "earlier" or a "new"."""
        runs = self.runs.setdefault(name, [])
        answer = "same" if runs[-1:] == [run_id] else "earlier" if run_id in runs else "new"
        if answer == "new" and run_id:
            runs.append(run_id)
            self.marks[run_id] = f"<{name} run {len(runs)}>"
        return "first" if answer == "new" and len(runs) < 2 else answer

    async def create_endpoint(self, step: str, name: str, queue: str) -> None:
        target = nexus_pb.EndpointTarget.Worker(namespace=NS, task_queue=queue)
        spec = nexus_pb.EndpointSpec(name=name, target=nexus_pb.EndpointTarget(worker=target))
        request = ops.CreateNexusEndpointRequest(spec=spec)
        await self.call(step, self.operator.create_nexus_endpoint, request)

    def start_request(self, name: str, **fields: Any) -> ws.StartNexusOperationExecutionRequest:
        request = ws.StartNexusOperationExecutionRequest(
            namespace=NS,
            identity="scenario",
            request_id=str(uuid.uuid4()),
            operation_id=f"{self.prefix}-{name}",
            endpoint=self.endpoint,
            service="Greeter",
            operation="greet",
            schedule_to_close_timeout=Duration(seconds=60),
            input=_payload('"world"'),
            nexus_header={"X-Scenario": name},
        )
        request.MergeFrom(ws.StartNexusOperationExecutionRequest(**fields))
        for key in [key for key, value in fields.items() if value == ""]:
            setattr(request, key, "")  # merging skips the fields set empty
        return request

    async def start(self, step: str, name: str, **fields: Any) -> str:
        """Start `name`, recording the answer; the request id it sent."""
        request = self.start_request(name, **fields)
        reply = await self.call(step, self.service.start_nexus_operation_execution, request)
        if reply is not None:
            self.note(f"{step}: reply", reply.started, self.run_of(name, reply.run_id))
            if reply.started:
                self.marks[request.request_id] = f"<start of {name} run {len(self.runs[name])}>"
        return request.request_id

    def which_request(self, request_id: str) -> str:
        """A request id as a run's start's, a Nexus task's, another one, or none."""
        if self.marks.get(request_id, "").startswith("<start of"):
            return "a start's"
        return "a task's" if request_id in self.task_requests else "another" if request_id else ""

    def op_id(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    async def settle(self, name: str, check: Callable[[Any], bool]) -> None:
        """Wait until describing `name` passes `check` or fails (the server may lag)."""
        request = Describe(namespace=NS, operation_id=self.op_id(name))
        await _settled(self.service.describe_nexus_operation_execution, request, check)

    def changed(self, name: str) -> Any:
        """A describe of `name` waiting (in the background) for a change since the last."""
        request = Describe(namespace=NS, operation_id=self.op_id(name))
        request.run_id, request.long_poll_token = self.runs.get(name, [""])[-1], self.poll_token
        return self.later(self.service.describe_nexus_operation_execution, request)

    def later(self, rpc: Any, request: Any) -> Any:
        """`rpc` called in the background (bounded by `WAIT`), for `call` to await as is."""
        waiting = asyncio.create_task(asyncio.wait_for(rpc(request), WAIT))
        return lambda _request: waiting

    async def describe(self, step: str, name: str, waiting: Any = None, **flags: Any) -> None:
        request = Describe(namespace=NS, operation_id=self.op_id(name), **flags)
        rpc = waiting or self.service.describe_nexus_operation_execution
        reply = await self.call(step, rpc, request)
        if reply is None:
            return
        self.poll_token = bytes(reply.long_poll_token)
        info = reply.info
        summary: dict[str, Any] = {
            "run": self.run_of(name, reply.run_id),
            "status": [STATUS.Name(info.status), STATE.Name(info.state), info.attempt],
            "target": [info.endpoint, info.service, info.operation],
            "timeouts": [getattr(info, f"{t}_timeout").ToNanoseconds() for t in TIMEOUTS],
            "times": [field for field in TIMES if info.HasField(field)],
            "blocked_reason": info.blocked_reason,
            "request_id": self.which_request(info.request_id),
            "operation_token": info.operation_token,
            "identity": info.identity,
            "header": dict(sorted(info.nexus_header.items())),
            "links": _links(info.links),
            "long_poll_token": bool(reply.long_poll_token),
            "transitions": info.state_transition_count > 0,
        }
        if info.HasField("last_attempt_failure"):
            summary["last_attempt_failure"] = _failure(info.last_attempt_failure)
        if info.HasField("cancellation_info"):
            cancel = info.cancellation_info
            failed = cancel.HasField("last_attempt_failure")
            summary["cancellation"] = {
                "state": [CANCEL_STATE.Name(cancel.state), cancel.attempt, cancel.blocked_reason],
                "reason": cancel.reason,
                "has_requested_time": cancel.HasField("requested_time"),
                "failure": _failure(cancel.last_attempt_failure) if failed else None,
            }
        if reply.HasField("input"):
            summary["input"] = reply.input.data.decode()
        summary.update(self.outcome(reply))
        self.note(f"{step}: info", summary)

    @staticmethod
    def outcome(reply: Any) -> dict[str, Any]:
        if reply.HasField("result"):
            return {"result": reply.result.data.decode()}
        return {"failure": _failure(reply.failure)} if reply.HasField("failure") else {}

    async def poll(self, step: str, name: str, stage: Any = CLOSED, waiting: Any = None) -> None:
        request = ws.PollNexusOperationExecutionRequest(
            namespace=NS, operation_id=self.op_id(name), wait_stage=stage
        )
        rpc = waiting or self.service.poll_nexus_operation_execution
        reply = await self.call(step, rpc, request)
        if reply is not None:
            answer = {"run": self.run_of(name, reply.run_id), "stage": STAGE.Name(reply.wait_stage)}
            answer["operation_token"] = reply.operation_token
            self.note(f"{step}: answer", answer | self.outcome(reply))

    async def task(self, step: str) -> tuple[bytes, nexus_pb.Request]:
        """Take the next Nexus task of the handler queue, recording its request."""
        request = ws.PollNexusTaskQueueRequest(
            namespace=NS, task_queue=tq_pb.TaskQueue(name=self.queue), identity="handler"
        )
        reply = await self.call(step, self.service.poll_nexus_task_queue, request)
        if reply is None:
            return b"", nexus_pb.Request()
        got = reply.request
        header = {
            k: ("<volatile>" if k.lower() in VOLATILE_HEADERS else v)
            for k, v in sorted(got.header.items())
        }
        seen: dict[str, Any] = {"endpoint": got.endpoint, "header": header}
        seen["has_scheduled_time"] = got.HasField("scheduled_time")
        seen["token"], seen["kind"] = bool(reply.task_token), got.WhichOneof("variant")
        if got.HasField("start_operation"):
            start = got.start_operation
            self.task_requests.add(start.request_id)
            seen["start"] = {
                "target": [start.service, start.operation],
                "request_id": self.which_request(start.request_id),
                "header_request_id": got.header.get("nexus-request-id") == start.request_id,
                "callback": start.callback,
                "callback_header": sorted(start.callback_header),
                "payload": start.payload.data.decode(),
                "links": [[link.type, link.url] for link in start.links],
            }
        if got.HasField("cancel_operation"):
            cancel = got.cancel_operation
            seen["cancel"] = [cancel.service, cancel.operation, cancel.operation_token]
        self.note(f"{step}: request", seen)
        return bytes(reply.task_token), got

    async def answer(self, step: str, token: bytes, start: nexus_pb.StartOperationResponse) -> None:
        done = ws.RespondNexusTaskCompletedRequest(namespace=NS, task_token=token)
        done.response.start_operation.CopyFrom(start)
        await self.call(step, self.service.respond_nexus_task_completed, done)

    async def answer_async(self, step: str, token: bytes, name: str, run_id: str) -> None:
        """Answer a start task as started, with the handler workflow's start event link."""
        url = f"temporal:///namespaces/{NS}/workflows/{self.prefix}-{name}-workflow/{run_id}"
        url += "/history?eventID=1&eventType=WorkflowExecutionStarted&referenceType=EventReference"
        link = nexus_pb.Link(type="temporal.api.common.v1.Link.WorkflowEvent", url=url)
        go = nexus_pb.StartOperationResponse.Async(operation_token=f"token-{name}", links=[link])
        await self.answer(step, token, nexus_pb.StartOperationResponse(async_success=go))

    async def fail(self, step: str, token: bytes, kind: str, message: str) -> None:
        failure = failure_pb.Failure(message=message)
        failure.nexus_handler_failure_info.type = kind
        request = ws.RespondNexusTaskFailedRequest(namespace=NS, task_token=token, failure=failure)
        await self.call(step, self.service.respond_nexus_task_failed, request)

    async def cancel(self, step: str, name: str, request_id: str, **extra: Any) -> None:
        fields = {"identity": "canceller", "request_id": request_id, "reason": "enough"} | extra
        request = ws.RequestCancelNexusOperationExecutionRequest(
            namespace=NS, operation_id=self.op_id(name), **fields
        )
        await self.call(step, self.service.request_cancel_nexus_operation_execution, request)

    async def terminate(self, step: str, name: str, request_id: str) -> None:
        request = ws.TerminateNexusOperationExecutionRequest(
            namespace=NS, operation_id=self.op_id(name), identity="terminator", reason="enough"
        )
        request.request_id = request_id
        await self.call(step, self.service.terminate_nexus_operation_execution, request)

    async def handler_workflow(self, name: str, got: nexus_pb.Request) -> str:
        """Start the handler's workflow for an async start, with the task's callback."""
        start = got.start_operation
        nexus = common_pb.Callback.Nexus(url=start.callback, header=dict(start.callback_header))
        request = ws.StartWorkflowExecutionRequest(
            namespace=NS,
            workflow_id=f"{self.prefix}-{name}-workflow",
            workflow_type=common_pb.WorkflowType(name="Handler"),
            task_queue=tq_pb.TaskQueue(name=self.wf_queue),
            request_id=start.request_id,
            identity="handler",
            completion_callbacks=[common_pb.Callback(nexus=nexus)],
        )
        for link in start.links:  # as the SDK does: the operation's link on the start event
            _, _, ns, _, op, run, _ = urlparse(link.url).path.split("/")
            found = common_pb.Link.NexusOperation(namespace=ns, operation_id=op, run_id=run)
            request.links.append(common_pb.Link(nexus_operation=found))
        step = f"{name}: start handler workflow"
        reply = await self.call(step, self.service.start_workflow_execution, request)
        run_id = str(reply.run_id) if reply is not None else ""
        self.run_of(f"{name} workflow", run_id)
        return run_id

    async def workflow(self, step: str, name: str) -> None:
        """The handler workflow's start event links and its completion callbacks."""
        execution = common_pb.WorkflowExecution(workflow_id=f"{self.prefix}-{name}-workflow")
        history = ws.GetWorkflowExecutionHistoryRequest(namespace=NS, execution=execution)
        svc = self.service
        events = await self.call(f"{step}: history", svc.get_workflow_execution_history, history)
        described = ws.DescribeWorkflowExecutionRequest(namespace=NS, execution=execution)
        info = await self.call(f"{step}: describe", svc.describe_workflow_execution, described)
        if events is not None and info is not None:
            links = _links(events.history.events[0].links)
            callbacks = [
                [c.callback.nexus.url, CALLBACK_STATE.Name(c.state)] for c in info.callbacks
            ]
            self.note(f"{step}: start links, callbacks", links, callbacks)

    async def close_workflow(self, step: str, result: str | None) -> None:
        """Complete (with `result`) or cancel (None) the handler workflow."""
        command = command_pb.Command(command_type=CANCEL_WORKFLOW)
        command.cancel_workflow_execution_command_attributes.SetInParent()
        if result is not None:
            command = command_pb.Command(command_type=COMPLETE_WORKFLOW)
            attributes = command.complete_workflow_execution_command_attributes
            attributes.result.payloads.append(_payload(result))
        poll = ws.PollWorkflowTaskQueueRequest(
            namespace=NS, task_queue=tq_pb.TaskQueue(name=self.wf_queue)
        )
        task = await self.call(f"{step}: task", self.service.poll_workflow_task_queue, poll)
        if task is None:
            return
        done = ws.RespondWorkflowTaskCompletedRequest(
            namespace=NS, task_token=task.task_token, identity="handler", commands=[command]
        )
        await self.call(step, self.service.respond_workflow_task_completed, done)


async def _settled(rpc: Any, request: Any, check: Callable[[Any], bool]) -> None:
    """Ask `rpc` until its answer passes `check` (10 s at most): the server may lag."""
    for _ in range(50):
        try:
            if check(await rpc(request)):
                return
        except RPCError:
            return  # the scenario records the error where it makes the call
        await asyncio.sleep(0.2)


async def _sync(s: Scenario) -> None:
    first = await s.start("start a", "a")
    await s.describe("describe a scheduled", "a", include_input=True)
    await s.start("start a, same request", "a", request_id=first)
    await s.start("start a again", "a")
    policy = nexus_enums.NEXUS_OPERATION_ID_CONFLICT_POLICY_USE_EXISTING
    await s.start("start a, use existing", "a", id_conflict_policy=policy)
    token, _ = await s.task("task a")
    sync = nexus_pb.StartOperationResponse.Sync(payload=_payload('"hello world"'))
    await s.answer("a answered", token, nexus_pb.StartOperationResponse(sync_success=sync))
    await s.answer("a answered again", token, nexus_pb.StartOperationResponse(sync_success=sync))
    await s.poll("poll a started", "a", STARTED)
    await s.poll("poll a closed", "a")
    await s.describe("describe a", "a", include_outcome=True)
    await s.start("start a, closed, same request", "a", request_id=first)
    reuse = nexus_enums.NEXUS_OPERATION_ID_REUSE_POLICY_REJECT_DUPLICATE
    await s.start("start a, reject duplicate", "a", id_reuse_policy=reuse)
    reuse = nexus_enums.NEXUS_OPERATION_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
    await s.start("start a, failed only", "a", id_reuse_policy=reuse)
    await s.start("start a, allow duplicate", "a", endpoint=s.idle)
    await s.describe("describe a new run", "a")
    await s.describe("describe a's first run", "a", run_id=s.runs.get("a", [""])[0])
    await s.terminate("terminate a new run", "a", "")


async def _failures(s: Scenario) -> None:
    await s.start("start b", "b")
    token, _ = await s.task("task b")
    await s.describe("describe b attempt 1 sent", "b")
    changed = s.changed("b")  # the backoff may end at once: the dev server's timers run early
    await s.fail("b fails, retryable", token, "INTERNAL", "try again")
    await s.describe("describe b backing off", "b", changed)
    token, _ = await s.task("task b, attempt 2")
    await s.describe("describe b attempt 2", "b")
    await s.fail("b fails, non-retryable", token, "BAD_REQUEST", "no such thing")
    await s.poll("poll b closed", "b")
    await s.describe("describe b failed", "b", include_outcome=True)
    reuse = nexus_enums.NEXUS_OPERATION_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
    await s.start("start b, failed only", "b", id_reuse_policy=reuse, endpoint=s.idle)
    await s.terminate("terminate b new run", "b", "")
    await s.start("start c", "c")
    token, _ = await s.task("task c")
    info = failure_pb.ApplicationFailureInfo(type="Refused", non_retryable=True)
    failure = failure_pb.Failure(message="greeting refused", application_failure_info=info)
    await s.answer("c answers a failure", token, nexus_pb.StartOperationResponse(failure=failure))
    await s.poll("poll c closed", "c")
    await s.describe("describe c failed", "c", include_outcome=True)
    await s.terminate("terminate c closed", "c", "t1")


async def _async(s: Scenario) -> None:
    await s.start("start d", "d")
    await s.describe("describe d scheduled", "d")
    changed = s.changed("d")
    poll = ws.PollNexusOperationExecutionRequest(namespace=NS, operation_id=s.op_id("d"))
    poll.wait_stage = STARTED
    started = s.later(s.service.poll_nexus_operation_execution, poll)
    token, got = await s.task("task d")
    await asyncio.sleep(0.5)  # long enough for a change the task's dispatch made to wake them
    s.note("d: the waits woke when the task was taken", changed(0).done(), started(0).done())
    run_id = await s.handler_workflow("d", got)
    await s.answer_async("d answered async", token, "d", run_id)
    await s.describe("describe d, long poll", "d", changed)
    await s.poll("poll d started, waiting", "d", STARTED, started)
    await s.describe("describe d started", "d")
    await s.close_workflow("d: handler workflow completes", '"hello d"')
    await s.poll("poll d closed", "d")
    await s.describe("describe d completed", "d", include_outcome=True)
    await s.workflow("d: handler workflow", "d")
    await s.start("start e", "e")
    token, got = await s.task("task e")
    await s.handler_workflow("e", got)
    await s.answer_async("e answered async", token, "e", "")
    await s.cancel("cancel e", "e", "c1")
    await s.cancel("cancel e, same", "e", "c1")
    await s.cancel("cancel e again", "e", "c2")
    token, _ = await s.task("task e cancel")
    await s.describe("describe e cancel sent", "e")
    changed = s.changed("e")
    await s.fail("e cancel fails, retryable", token, "INTERNAL", "not now")
    await s.describe("describe e cancel backing off", "e", changed)
    token, _ = await s.task("task e cancel, attempt 2")
    done = ws.RespondNexusTaskCompletedRequest(namespace=NS, identity="handler", task_token=token)
    done.response.cancel_operation.SetInParent()
    await s.call("e cancel acknowledged", s.service.respond_nexus_task_completed, done)
    await s.settle("e", lambda r: r.info.cancellation_info.state != CANCEL_SCHEDULED)
    await s.describe("describe e cancel acknowledged", "e")
    request = ws.RequestCancelWorkflowExecutionRequest(namespace=NS, identity="handler")
    request.workflow_execution.workflow_id = f"{s.prefix}-e-workflow"
    await s.call("e: cancel handler workflow", s.service.request_cancel_workflow_execution, request)
    await s.close_workflow("e: handler workflow cancels", None)
    await s.poll("poll e closed", "e")
    await s.describe("describe e canceled", "e", include_outcome=True)
    await s.cancel("cancel e closed", "e", "c3")


async def _ends(s: Scenario) -> None:
    await s.start("start f", "f", endpoint=s.idle)
    await s.cancel("cancel f scheduled", "f", "c1")
    await s.describe("describe f cancel requested", "f")
    await s.terminate("terminate f", "f", "t1")
    await s.terminate("terminate f, same", "f", "t1")
    await s.terminate("terminate f again", "f", "t2")
    await s.poll("poll f closed", "f")
    await s.describe("describe f terminated", "f", include_outcome=True)
    await s.start("start g", "g", endpoint=s.idle, schedule_to_close_timeout=SECOND)
    await s.poll("poll g closed (timeout)", "g")
    await s.describe("describe g timed out", "g", include_outcome=True)
    late = {"schedule_to_start_timeout": SECOND, "start_to_close_timeout": Duration(seconds=90)}
    await s.start("start h", "h", endpoint=s.idle, **late)  # start-to-close over the limit
    await s.poll("poll h closed (schedule-to-start timeout)", "h")
    await s.describe("describe h timed out", "h")
    await s.start("start j", "j", start_to_close_timeout=SECOND)
    token, _ = await s.task("task j")
    await s.answer_async("j answered async", token, "j", "")
    await s.poll("poll j closed (start-to-close timeout)", "j")
    await s.describe("describe j timed out", "j")


async def _errors(s: Scenario) -> None:
    svc = s.service
    cases: list[tuple[str, dict[str, Any]]] = [
        *((f"without {key}", {key: ""}) for key in ("endpoint", "operation_id", "service")),
        *((f"with a long {key}", {key: "x" * 1001}) for key in LONG_CHECKED),
        ("with an unknown endpoint", {"endpoint": "nxsa-nowhere"}),
        ("without an operation", {"operation": ""}),
        ("with a negative timeout", {"schedule_to_close_timeout": Duration(seconds=-1)}),
        ("with a disallowed header", {"nexus_header": {"Request-Timeout": "1s"}}),
    ]
    start = svc.start_nexus_operation_execution
    for label, fields in cases:
        await s.call(f"start {label}", start, s.start_request("z", **fields))
    missing = Describe(namespace=NS, operation_id=s.op_id("none"))
    await s.call("describe missing", svc.describe_nexus_operation_execution, missing)
    missing.run_id = "not-a-uuid"
    await s.call("describe with a bad run id", svc.describe_nexus_operation_execution, missing)
    missing.run_id, missing.long_poll_token = "", b"x"
    await s.call("describe, long poll, no run", svc.describe_nexus_operation_execution, missing)
    missing.operation_id, missing.run_id = s.op_id("d"), s.runs.get("d", [""])[-1]
    await s.call("describe, bad long poll token", svc.describe_nexus_operation_execution, missing)
    poll = ws.PollNexusOperationExecutionRequest(namespace=NS, operation_id=s.op_id("none"))
    await s.call("poll missing", svc.poll_nexus_operation_execution, poll)
    await s.cancel("cancel missing", "none", "x")
    await s.terminate("terminate missing", "none", "x")
    await s.cancel("cancel with a long reason", "none", "x", reason="r" * 5000)
    delete = ws.DeleteNexusOperationExecutionRequest(namespace=NS, operation_id=s.op_id("none"))
    await s.call("delete missing", svc.delete_nexus_operation_execution, delete)


def _row(e: nexus_pb.NexusOperationExecutionListInfo) -> list[Any]:
    target = [e.operation_id, e.endpoint, e.service, e.operation]
    return [*target, STATUS.Name(e.status), e.HasField("close_time")]


async def _visibility(s: Scenario) -> None:
    await s.start("start i", "i", endpoint=s.idle)
    svc = s.service
    ids = " OR ".join(f'OperationId = "{s.op_id(n)}"' for n in ("c", "d", "f", "g"))
    # the idle endpoint's: a's and b's second runs, f, g, h, i; running: i
    for label, query, expected in (
        ("count c, d, f, g by status", f"({ids}) GROUP BY ExecutionStatus", 4),
        ("list d", f'OperationId = "{s.op_id("d")}"', 1),
        ("list the idle endpoint's", f'Endpoint = "{s.idle}"', 6),
        ("list running", f'Endpoint = "{s.idle}" AND ExecutionStatus = "Running"', 1),
        ("count with an unknown field", "NoSuchField = 1", 0),
        ("count ordered", f'Endpoint = "{s.idle}" ORDER BY OperationId', 0),
    ):
        count = ws.CountNexusOperationExecutionsRequest(namespace=NS, query=query)
        if expected:  # (the lambda is awaited at once, in this iteration)
            enough = lambda reply: reply.count == expected  # noqa: B023, E731
            await _settled(svc.count_nexus_operation_executions, count, enough)
        if label.startswith("count"):
            reply = await s.call(label, svc.count_nexus_operation_executions, count)
            if reply is not None:
                groups = sorted((json.loads(g.group_values[0].data), g.count) for g in reply.groups)
                s.note(f"{label}: groups", reply.count, groups)
            continue
        request = ws.ListNexusOperationExecutionsRequest(namespace=NS, query=query)
        listed = await s.call(label, svc.list_nexus_operation_executions, request)
        if listed is not None:
            s.note(f"{label}: operations", sorted(map(_row, listed.operations)))


async def _delete(s: Scenario) -> None:
    svc = s.service
    for name in ("c", "i"):  # closed, running
        request = ws.DeleteNexusOperationExecutionRequest(namespace=NS, operation_id=s.op_id(name))
        await s.call(f"delete {name}", svc.delete_nexus_operation_execution, request)
        await s.settle(name, lambda _reply: False)  # until it is gone: the deletion may lag
        await s.describe(f"describe {name} deleted", name)
        await s.call(f"delete {name} again", svc.delete_nexus_operation_execution, request)


async def transcript(client: Client) -> list[Any]:
    s = Scenario(client)
    await s.create_endpoint("create the endpoint", s.endpoint, s.queue)
    await s.create_endpoint("create the idle endpoint", s.idle, f"{s.prefix}-idle")
    for part in (_sync, _failures, _async, _ends, _errors, _visibility, _delete):
        await part(s)
    return [_anonymous(entry, s) for entry in s.log]


def _anonymous(entry: Any, s: Scenario) -> Any:
    """The scenario's ids, endpoints, runs and start requests, and other UUIDs, as marks."""
    text = json.dumps(entry)
    marks = {s.prefix: "<id>", s.endpoint: "<endpoint>", s.idle: "<idle>"} | s.marks
    for name, mark in marks.items():
        text = text.replace(name, mark)
    return json.loads(UUID.sub("<uuid>", text))


async def _main(address: str) -> None:
    print(json.dumps(await transcript(await Client.connect(address)), indent=1))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
