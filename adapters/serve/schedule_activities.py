"""The scheduler workflow's activities, run by the internal worker of `tmodel serve`.

`service/worker/scheduler/activities.go`: StartWorkflow starts the scheduled workflow
(an id already taken fails with WorkflowExecutionAlreadyStarted, which the workflow
drops), WatchWorkflow reports whether a started workflow is still running (with
`longPoll`, waits for it to close), CancelWorkflow and TerminateWorkflow serve the
CANCEL_OTHER and TERMINATE_OTHER overlap policies. Their requests and results are the
JSON values core/schedule/workflow.py sends and reads.
"""

from __future__ import annotations

import dataclasses

from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core import requests as rq
from core.events import (
    WorkflowExecutionCompletedEventAttributes,
    WorkflowExecutionFailedEventAttributes,
)
from core.opaque import JsonValue, Opaque
from core.schedule import api
from sim.persistence import RunRecord

from . import convert, rpc_executions, visibility
from .frontend import Frontend
from .internal_worker import Activity, ActivityCall, ActivityFailure

# workflow.go (cancelWorkflow, terminateWorkflow): the reasons the scheduler gives
CANCEL_REASON = "cancelled by schedule overlap policy"
TERMINATE_REASON = "terminated by schedule overlap policy"
# StartWorkflowExecutionRequest fields the scheduler passes on from the action.
OPTIONS = (
    "input",
    "workflowExecutionTimeout",
    "workflowRunTimeout",
    "workflowTaskTimeout",
    "retryPolicy",
    "memo",
    "searchAttributes",
    "header",
    "userMetadata",
    "priority",
)
WATCH_BEAT = 30.0  # seconds between heartbeats of a long-polling watch


def _request(call: ActivityCall) -> dict[str, JsonValue]:
    value = call.args[0] if call.args else None
    if not isinstance(value, dict):
        raise ActivityFailure("bad request", "BadRequest", True)
    return value


def _text(request: dict[str, JsonValue], key: str) -> str:
    value = request.get(key)
    return value if isinstance(value, str) else ""


class ScheduleActivities:
    """The four activities over the frontend's runs."""

    def __init__(self, fe: Frontend) -> None:
        self.fe = fe

    def table(self) -> dict[str, Activity]:
        return {
            api.ACTIVITY_START: self.start,
            api.ACTIVITY_WATCH: self.watch,
            api.ACTIVITY_CANCEL: self.cancel,
            api.ACTIVITY_TERMINATE: self.terminate,
        }

    async def start(self, call: ActivityCall) -> JsonValue:
        """activities.go StartWorkflow."""
        request = _request(call)
        args = request.get("args")
        start = ws.StartWorkflowExecutionRequest(
            namespace=call.namespace,
            workflow_id=_text(request, "workflowId"),
            request_id=_text(request, "requestId"),
            identity=_text(request, "identity"),
        )
        start.workflow_type.name = _text(request, "workflowType")
        start.task_queue.name = _text(request, "taskQueue")
        if isinstance(args, list) and args:
            start.input.payloads.extend(convert.payload_of(item) for item in args)
        # workflow.go startWorkflow: the action's options, already in protojson form.
        convert.fill(start, {k: request[k] for k in OPTIONS if k in request})
        if _text(request, "workflowIdReusePolicy") == "REJECT_DUPLICATE":
            start.workflow_id_reuse_policy = wf_enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
        core_start = rpc_executions.start_request(self.fe, start, self.fe.new_id())
        # workflow.go startWorkflow: the last completion result and continued failure of
        # the schedule's earlier runs go on the request (the frontend's start takes them).
        core_start = dataclasses.replace(
            core_start,
            last_completion_result=_opaque(request, "lastCompletionResult"),
            continued_failure=_opaque(request, "continuedFailure"),
        )
        answer = await self.fe.runtime.call(call.namespace, start.workflow_id, "", core_start)
        if isinstance(answer, rq.Error):
            kind = api.ALREADY_STARTED if answer.kind is rq.ErrorKind.ALREADY_STARTED else ""
            raise ActivityFailure(answer.message, kind, True)
        run_id = self.fe.runtime.current_run_id(call.namespace, start.workflow_id)
        return {"runId": run_id or core_start.run_id}

    async def watch(self, call: ActivityCall) -> JsonValue:
        """activities.go WatchWorkflow: the run's status (and failure), waiting for it
        to close when `longPoll` is set, heartbeating meanwhile."""
        request = _request(call)
        wid, first = _text(request, "workflowId"), _text(request, "firstExecutionRunId")
        while True:
            run = self._chain_end(call.namespace, wid, first)
            if run is None:
                return {"status": "Unspecified"}  # NotFound: WORKFLOW_EXECUTION_STATUS_UNSPECIFIED
            if not run.state.running or request.get("longPoll") is not True:
                return _status(run)
            if await call.heartbeat(None):
                raise ActivityFailure("watch canceled", "Canceled", True)
            with self.fe.runtime.waiting(call.run_id, call.scheduled_event_id, run.state.run_id):
                await self.fe.runtime.waiters.change(run.state.run_id, WATCH_BEAT)

    def _chain_end(self, namespace: str, wid: str, first: str) -> RunRecord | None:
        """The current run of `wid` if its chain began with `first`, else that first
        run itself (a later chain took the id; the watched one has closed)."""
        current = self.fe.runtime.record(namespace, wid)
        if current is not None and (current.state.first_run_id or current.state.run_id) == first:
            return current
        return self.fe.runtime.record(namespace, wid, first)

    async def cancel(self, call: ActivityCall) -> JsonValue:
        request = _request(call)
        stop = rq.RequestCancelWorkflowExecution(self.fe.new_id(), CANCEL_REASON)
        await self._send(call.namespace, request, stop)
        return None

    async def terminate(self, call: ActivityCall) -> JsonValue:
        request = _request(call)
        await self._send(call.namespace, request, rq.TerminateWorkflowExecution(TERMINATE_REASON))
        return None

    async def _send(self, namespace: str, request: dict[str, JsonValue], req: rq.Request) -> None:
        """Cancel or terminate the run; one that closed already is no failure."""
        wid, run_id = _text(request, "workflowId"), _text(request, "runId")
        await self.fe.runtime.call(namespace, wid, run_id, req)


def _opaque(request: dict[str, JsonValue], key: str) -> Opaque | None:
    value = request.get(key)
    return Opaque.of(value) if isinstance(value, dict) else None


def _status(run: RunRecord) -> dict[str, JsonValue]:
    """WatchWorkflowResponse as the scheduler reads it: the status name, a completed
    run's result and a failed run's failure (protojson), as activities.go's
    responseBuilder builds it from the close event."""
    out: dict[str, JsonValue] = {"status": visibility.STATUS_NAMES[run.state.status]}
    if run.state.running or not run.events:
        return out
    last = run.events[-1].attributes
    if isinstance(last, WorkflowExecutionCompletedEventAttributes) and last.result is not None:
        out["result"] = last.result.value()
    elif isinstance(last, WorkflowExecutionFailedEventAttributes) and last.failure is not None:
        out["failure"] = last.failure.value()
    return out
