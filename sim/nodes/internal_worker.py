"""The worker service's per-namespace worker: runs system workflows and their activities.

Temporal's worker service runs, per namespace, a worker on the task queue
``temporal-sys-per-ns-tq`` (common/primitives/task_queues.go PerNSWorkerTaskQueue) that
executes the system workflows registered as per-namespace components - the scheduler
(service/worker/scheduler/fx.go) among them. This node is that worker: it polls the
queue for workflow tasks (answered by the replay engine through the `WorkflowCode`
door, like any workflow worker, sticky cache included) and for the scheduler's
activities, which it carries out against the frontend as Temporal's
service/worker/scheduler/activities.go does:

- StartWorkflow: StartWorkflowExecution with the request id the workflow chose (so a
  retried attempt is answered with the same run) and the action's options; an id
  already used fails the activity, non-retryable, with the type the scheduler
  recognises;
- WatchWorkflow: the current run's status; a long poll asks again every 5 s and
  heartbeats until the run has closed;
- CancelWorkflow, TerminateWorkflow: the request, then done.

An activity task does not carry its input here, so the worker reads it from the
ActivityTaskScheduled event of the scheduler's history (one more read).
"""

from __future__ import annotations

from typing import Any

from core import payloads
from core import requests as rq
from core.enums import EventType as E
from core.enums import WorkflowIdReusePolicy
from core.events import (
    ActivityTaskScheduledEventAttributes,
    HistoryEvent,
    WorkflowExecutionCompletedEventAttributes,
    WorkflowExecutionFailedEventAttributes,
)
from core.opaque import JsonValue, Opaque
from core.schedule import api
from core.schedule.codec import get_dur
from core.statemachine.matching import QueueKind, TaskKind
from sim.kernel import SECOND
from sim.nodes.base import Describe, History, Payload, StartedActivityTask, task_queue
from sim.nodes.workers import WorkflowWorker
from sim.workflow_code import WorkflowCode
from sim.workloads import Behaviour

# Temporal's watcher long-polls the run's history for its close and heartbeats every
# 60 s (activities.go tryWatchWorkflow); history here has no such poll, so it asks:
# every 5 s for the first minute, then every 60 s (a run watched for a month costs some
# 43,000 asks rather than 518,000), heartbeating at each.
WATCH_EVERY = 5 * SECOND
WATCH_LATER = 60 * SECOND
STATUS = {
    E.WORKFLOW_EXECUTION_COMPLETED: "Completed",
    E.WORKFLOW_EXECUTION_FAILED: "Failed",
    E.WORKFLOW_EXECUTION_CANCELED: "Canceled",
    E.WORKFLOW_EXECUTION_TERMINATED: "Terminated",
    E.WORKFLOW_EXECUTION_TIMED_OUT: "TimedOut",
}


class InternalWorker(WorkflowWorker):
    def __init__(self, name: str, cluster: Any, behaviour: Behaviour, code: WorkflowCode) -> None:
        super().__init__(name, cluster, behaviour, code)
        self.sticky_queue = f"sticky-{name}"
        normal = task_queue(api.TASK_QUEUE, TaskKind.WORKFLOW)
        sticky = task_queue(self.sticky_queue, TaskKind.WORKFLOW, QueueKind.STICKY)
        activities = task_queue(api.TASK_QUEUE, TaskKind.ACTIVITY)
        self.slots = (("n0", normal), ("s", sticky), ("a0", activities))

    def handle_task(self, slot: str, answer: Payload) -> None:
        if isinstance(answer, StartedActivityTask):
            # What to do is in the scheduled event: read the scheduler's history first.
            def run(history: Payload) -> None:
                if isinstance(history, History):
                    self._run(answer, history.events)

            self.call(answer.workflow_id, answer.run_id, Describe(), then=run)
        else:
            super().handle_task(slot, answer)

    # -- the scheduler's activities ------------------------------------------------------
    def _run(self, task: StartedActivityTask, history: tuple[HistoryEvent, ...]) -> None:
        sid = task.started.token.scheduled_event_id
        event = next((e for e in history if e.event_id == sid), None)
        if event is None or not isinstance(event.attributes, ActivityTaskScheduledEventAttributes):
            return  # not there (yet): the attempt times out and is retried
        kind = event.attributes.activity_type.name if event.attributes.activity_type else ""
        # It runs (at least once per recorded completion: INV-ACTIVITY-AT-LEAST-ONCE).
        token = task.started.token
        self.cluster.monitor.ledger.executed_attempt(
            task.run_id, token.scheduled_event_id, token.attempt
        )
        args = payloads.from_payloads(event.attributes.input)
        request = args[0] if args and isinstance(args[0], dict) else {}
        self.kernel.log(self.name, f"activity {kind} for {task.workflow_id}")
        if kind == api.ACTIVITY_START:
            self._start(task, request)
        elif kind == api.ACTIVITY_WATCH:
            self._watch(task, request)
        elif kind in (api.ACTIVITY_CANCEL, api.ACTIVITY_TERMINATE):
            self._stop(task, kind, request)
        else:
            self._fail(task, f"unknown activity {kind}", "", True)

    def _start(self, task: StartedActivityTask, request: dict[str, JsonValue]) -> None:
        request_id = str(request.get("requestId", ""))
        run_id = f"run-{request_id}"
        args = request.get("args")
        policy = WorkflowIdReusePolicy.REJECT_DUPLICATE
        if request.get("workflowIdReusePolicy") == "ALLOW_DUPLICATE":
            policy = WorkflowIdReusePolicy.ALLOW_DUPLICATE
        wid = str(request.get("workflowId", ""))
        req = rq.StartWorkflowExecution(
            namespace="default",
            workflow_id=wid,
            run_id=run_id,
            workflow_type=str(request.get("workflowType", "")),
            task_queue=str(request.get("taskQueue", "")),
            request_id=request_id,
            input=payloads.to_payloads(args if isinstance(args, list) else []),
            identity=str(request.get("identity", "")),
            id_reuse_policy=policy,
            **_options(request),
        )

        def started(answer: Payload) -> None:
            if isinstance(answer, rq.Error) and answer.kind is rq.ErrorKind.ALREADY_EXISTS:
                self._fail(task, answer.message, api.ALREADY_STARTED, True)
            elif isinstance(answer, rq.Error):
                self._fail(task, answer.message, "StartFailed", False)
            else:
                self.kernel.log(self.name, f"started {wid}")
                self._complete(task, {"runId": run_id})

        self.call(wid, "", req, then=started)

    def _watch(
        self, task: StartedActivityTask, request: dict[str, JsonValue], waited: int = 0
    ) -> None:
        wid = str(request.get("workflowId", ""))

        def seen(answer: Payload) -> None:
            if not isinstance(answer, History):
                self._complete(task, {"status": "Unknown"})
                return
            last = answer.events[-1] if answer.events else None
            status = STATUS.get(last.event_type, "Running") if last is not None else "Running"
            if status == "Running" and request.get("longPoll") is True:
                self.call(
                    task.workflow_id,
                    task.run_id,
                    rq.RecordActivityTaskHeartbeat(task.started.token),
                )
                every = WATCH_EVERY if waited < WATCH_LATER else WATCH_LATER
                args = (task, request, self.epoch, waited + every)
                self.kernel.after(every, self._watch_again, *args)
                return
            self._complete(task, _watch_response(status, last))

        self.call(wid, "", Describe(), then=seen)

    def _watch_again(
        self, task: StartedActivityTask, request: dict[str, JsonValue], epoch: int, waited: int
    ) -> None:
        if epoch == self.epoch:
            self._watch(task, request, waited)

    def _stop(self, task: StartedActivityTask, kind: str, request: dict[str, JsonValue]) -> None:
        wid, run_id = str(request.get("workflowId", "")), str(request.get("runId", ""))
        req: rq.Request
        if kind == api.ACTIVITY_CANCEL:
            req = rq.RequestCancelWorkflowExecution(
                f"{task.run_id}/{task.started.token.scheduled_event_id}", self.name
            )
        else:
            req = rq.TerminateWorkflowExecution("terminated by schedule overlap policy", self.name)
        self.call(wid, run_id, req, then=lambda answer: self._complete(task, {}))

    def _complete(self, task: StartedActivityTask, result: JsonValue) -> None:
        req = rq.RespondActivityTaskCompleted(
            task.started.token, payloads.to_payloads([result]), self.name
        )
        self.call(task.workflow_id, task.run_id, req)

    def _fail(self, task: StartedActivityTask, message: str, error_type: str, final: bool) -> None:
        failure = payloads.application_failure(message, error_type, final)
        req = rq.RespondActivityTaskFailed(
            task.started.token, failure, error_type, final, self.name
        )
        self.call(task.workflow_id, task.run_id, req)


def _watch_response(status: str, last: HistoryEvent | None) -> dict[str, JsonValue]:
    """WatchWorkflowResponse as the scheduler reads it (activities.go responseBuilder):
    the status, and from the close event a completed run's result or a failed run's
    failure, protojson."""
    out: dict[str, JsonValue] = {"status": status}
    attributes = last.attributes if last is not None else None
    if isinstance(attributes, WorkflowExecutionCompletedEventAttributes) and attributes.result:
        out["result"] = attributes.result.value()
    elif isinstance(attributes, WorkflowExecutionFailedEventAttributes) and attributes.failure:
        out["failure"] = attributes.failure.value()
    return out


def _options(request: dict[str, JsonValue]) -> dict[str, Any]:
    """The start's options as the scheduler gave them (workflow.go startWorkflow passes
    the timeouts, retry policy, memo, search attributes, header, user metadata and
    priority through, and the last completion result and continued failure)."""
    out: dict[str, Any] = {
        name: Opaque.of(value)
        for key, name in _MESSAGES
        if isinstance(value := request.get(key), dict)
    }
    for key, name in _TIMEOUTS:
        ns = get_dur(request, key)
        if ns:
            out[name] = ns
    return out


_MESSAGES = (
    ("retryPolicy", "retry_policy"),
    ("memo", "memo"),
    ("searchAttributes", "search_attributes"),
    ("header", "header"),
    ("userMetadata", "user_metadata"),
    ("priority", "priority"),
    ("lastCompletionResult", "last_completion_result"),
    ("continuedFailure", "continued_failure"),
)
_TIMEOUTS = (
    ("workflowExecutionTimeout", "execution_timeout"),
    ("workflowRunTimeout", "run_timeout"),
    ("workflowTaskTimeout", "workflow_task_timeout"),
)
