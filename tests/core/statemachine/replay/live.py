"""A test harness: workflows written with core.workflow run live against the pure
history service, with a worker that keeps a sticky cache, under random interleavings
and failures.

Everything the cluster would do is an action in a pool: dispatching a workflow or
activity task, firing a timer task, starting a child, reporting a close to the parent,
delivering a signal. Each step picks one action at random (seeded), so any order the
real system could produce may come up. The workflow worker answers each task with
`answer_task` and its cache - sometimes evicted, sometimes crashing before it answers -
and also computes the cold answer (no cache) for the same history, so THM-3.1's (b)
is checked at every task. Activities complete, fail or vanish at random.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from core import payloads
from core import requests as rq
from core.commands import Command
from core.events import ActivityTaskScheduledEventAttributes, HistoryEvent
from core.statemachine.history.service import handle as service
from core.statemachine.history.service import unwritten_task
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.txn import Outcome
from core.statemachine.replay.definition import ApplicationError, Definition
from core.statemachine.replay.driver import answer_task
from core.statemachine.replay.engine import Execution

T0 = 1_767_225_600 * 10**9


@dataclass
class Rates:
    lose_workflow_task: float = 0.05
    evict_cache: float = 0.2
    activity_failure: float = 0.15
    activity_lost: float = 0.05
    prefer_timers: float = 0.2  # chance a step picks among timer tasks first


@dataclass
class LiveRun:
    """The cluster's state; see the module docstring."""

    definitions: dict[str, Definition]
    seed: int
    rates: Rates = field(default_factory=Rates)
    cold_check: bool = True  # also answer each task cold and compare (THM-3.1 (b))
    states: dict[str, MutableState] = field(default_factory=dict)
    histories: dict[str, list[HistoryEvent]] = field(default_factory=dict)
    current: dict[str, str] = field(default_factory=dict)  # workflow id -> run id
    types: dict[str, str] = field(default_factory=dict)  # run id -> workflow type
    workflow_ids: dict[str, str] = field(default_factory=dict)  # run id -> workflow id
    cache: dict[str, Execution] = field(default_factory=dict)
    answers: dict[str, list[tuple[Command, ...]]] = field(default_factory=dict)
    sticky_vs_cold: list[str] = field(default_factory=list)
    pool: list[tuple[str, str, Any]] = field(default_factory=list)
    now: int = T0
    counter: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    # --- plumbing --------------------------------------------------------------------

    def start(self, workflow_type: str, workflow_id: str, *args: Any) -> str:
        run_id = self._id("run")
        request = rq.StartWorkflowExecution(
            namespace="default",
            workflow_id=workflow_id,
            run_id=run_id,
            workflow_type=workflow_type,
            task_queue="q",
            request_id=self._id("req"),
            input=payloads.to_payloads(list(args)),
        )
        self._begin(request, service.start(request, self.now))
        return run_id

    def signal(self, workflow_id: str, name: str, *args: Any) -> None:
        self.pool.append(
            (
                "client",
                workflow_id,
                rq.SignalWorkflowExecution(name, input=payloads.to_payloads(list(args))),
            )
        )

    def client(self, workflow_id: str, request: rq.Request) -> None:
        """A client request (cancel, terminate, update, ...) that arrives at some point."""
        self.pool.append(("client", workflow_id, request))

    def do(self, kind: type, times: int = 1) -> None:
        """Execute the first pooled action whose task or request is a `kind` (scenarios)."""
        for _ in range(times):
            index = next(i for i, a in enumerate(self.pool) if isinstance(a[2], kind))
            self._perform(*self.pool.pop(index))

    def _begin(self, request: rq.StartWorkflowExecution, outcome: Outcome) -> None:
        self.current[request.workflow_id] = request.run_id
        self.types[request.run_id] = request.workflow_type
        self.workflow_ids[request.run_id] = request.workflow_id
        self.histories[request.run_id] = []
        self._apply(request.run_id, outcome)

    def _apply(self, run_id: str, outcome: Outcome) -> Outcome:
        self.states[run_id] = outcome.state
        self.histories[run_id].extend(outcome.events)
        for task in outcome.tasks:
            self.pool.append(("task", run_id, task))
        if outcome.new_run is not None:
            self._begin(outcome.new_run, service.start(outcome.new_run, self.now))
        return outcome

    def send(self, run_id: str, request: rq.Request) -> rq.Reply:
        return self._apply(run_id, service.handle(self.states[run_id], request, self.now)).reply

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    # --- the loop ----------------------------------------------------------------------

    def run(self, max_steps: int = 5_000) -> None:
        for _ in range(max_steps):
            if not self.pool:
                return
            self.step()
        raise AssertionError("the run did not settle within the step budget")

    def step(self) -> None:
        timers = [i for i, a in enumerate(self.pool) if _is_timer(a[2])]
        others = [i for i in range(len(self.pool)) if i not in set(timers)]
        use_timer = timers and (not others or self.rng.random() < self.rates.prefer_timers)
        index = self.rng.choice(timers if use_timer else others)
        self._perform(*self.pool.pop(index))

    def _perform(self, kind: str, target: str, item: Any) -> None:
        if kind == "client":
            self.send(self.current[target], item)
        else:
            self._execute(target, item)

    def _execute(self, run_id: str, task: Any) -> None:
        if isinstance(task, rq.WorkflowTaskTransfer):
            self._workflow_task(run_id, task)
        elif isinstance(task, rq.ActivityTaskTransfer):
            self._activity_task(run_id, task)
        elif _is_timer(task):
            self.now = max(self.now, task.fire_time)
            self.send(run_id, rq.FireTimer(task))
        elif isinstance(task, rq.StartChildTransfer):
            self._start_child(run_id, task)
        elif isinstance(task, rq.CloseExecutionTransfer):
            self._report_close(task)
        elif isinstance(task, rq.SignalExternalTransfer | rq.CancelExternalTransfer):
            self._external(run_id, task)

    # --- workers -----------------------------------------------------------------------

    def _workflow_task(self, run_id: str, task: rq.WorkflowTaskTransfer) -> None:
        self.now += 1_000_000
        started = rq.RecordWorkflowTaskStarted(
            task.scheduled_event_id, task.stamp, self._id("wft"), "worker"
        )
        reply = self.send(run_id, started)
        if not isinstance(reply, rq.WorkflowTaskStarted):
            return
        if self.rng.random() < self.rates.lose_workflow_task:
            self.cache.pop(run_id, None)  # the worker crashed: its cache is gone too
            return
        # The worker's view: history plus a transient task's unwritten events.
        history = self.histories[run_id] + list(
            unwritten_task.transient_events(self.states[run_id])
        )
        if self.rng.random() < self.rates.evict_cache:
            self.cache.pop(run_id, None)
        definition = self.definitions[self.types[run_id]]
        updates = tuple(
            rq.UpdateWorkflowExecution(u.update_id, u.request)
            for u in self.states[run_id].updates
            if not u.accepted_event_id
        )
        options: dict[str, Any] = {
            "run_local": _local_activity,
            "workflow_id": self.workflow_ids[run_id],
        }
        execution, answer = answer_task(
            definition, self.cache.get(run_id), history, updates=updates, **options
        )
        _, cold = (
            answer_task(definition, None, history, updates=updates, **options)
            if self.cold_check
            else (None, answer)
        )
        if (cold.commands, cold.messages, cold.failure) != (
            answer.commands,
            answer.messages,
            answer.failure,
        ):
            self.sticky_vs_cold.append(f"{run_id} task {reply.token}: {answer} != {cold}")
        if execution is not None:
            self.cache[run_id] = execution
        if answer.failure is not None:
            self.send(run_id, rq.RespondWorkflowTaskFailed(reply.token))
            return
        done = self.send(
            run_id,
            rq.RespondWorkflowTaskCompleted(reply.token, answer.commands, messages=answer.messages),
        )
        if isinstance(done, rq.Ok):
            self.answers.setdefault(run_id, []).append(answer.commands)

    def _activity_task(self, run_id: str, task: rq.ActivityTaskTransfer) -> None:
        self.now += 1_000_000
        started = rq.RecordActivityTaskStarted(task.scheduled_event_id, task.stamp, self._id("act"))
        reply = self.send(run_id, started)
        if not isinstance(reply, rq.ActivityTaskStarted):
            return
        roll = self.rng.random()
        if roll < self.rates.activity_lost:
            return  # the start-to-close timeout will fire
        if roll < self.rates.activity_lost + self.rates.activity_failure:
            failure = payloads.application_failure("activity failed", "Boom")
            self.send(run_id, rq.RespondActivityTaskFailed(reply.token, failure))
            return
        scheduled = self.histories[run_id][task.scheduled_event_id - 1].attributes
        assert isinstance(scheduled, ActivityTaskScheduledEventAttributes)
        name = scheduled.activity_type.name if scheduled.activity_type else ""
        result = payloads.to_payloads([f"{name}{payloads.from_payloads(scheduled.input)}"])
        self.send(run_id, rq.RespondActivityTaskCompleted(reply.token, result))

    # --- the transfer queue ------------------------------------------------------------

    def _start_child(self, parent_run: str, task: rq.StartChildTransfer) -> None:
        request = task.request
        running = self.current.get(request.workflow_id)
        if running is not None and self.states[running].running:
            self.send(parent_run, rq.RecordStartChildExecutionFailed(task.initiated_event_id))
            return
        self._begin(request, service.start(request, self.now))
        self.send(
            parent_run, rq.RecordChildExecutionStarted(task.initiated_event_id, request.run_id)
        )

    def _report_close(self, task: rq.CloseExecutionTransfer) -> None:
        parent = task.parent
        if parent is None or task.parent_outcome is None or parent.run_id not in self.states:
            return
        if not self.states[parent.run_id].running:
            return
        report = rq.RecordChildExecutionCompleted(
            parent.initiated_event_id, task.parent_outcome, task.payload
        )
        self.send(parent.run_id, report)

    def _external(
        self, run_id: str, task: rq.SignalExternalTransfer | rq.CancelExternalTransfer
    ) -> None:
        target = self.current.get(task.workflow_id)
        delivered = False
        if target is not None and self.states[target].running:
            request: rq.Request = (
                task.signal if isinstance(task, rq.SignalExternalTransfer) else task.request
            )
            delivered = not isinstance(self.send(target, request), rq.Error)
        cancel = isinstance(task, rq.CancelExternalTransfer)
        self.send(run_id, rq.RecordExternalResult(task.initiated_event_id, cancel, delivered))


def _is_timer(task: object) -> bool:
    return isinstance(
        task,
        rq.UserTimerTask
        | rq.ActivityTimeoutTask
        | rq.ActivityRetryTask
        | rq.WorkflowTaskTimeoutTask
        | rq.WorkflowRunTimeoutTask
        | rq.WorkflowBackoffTask,
    )


def _local_activity(activity_type: str, args: list[Any], attempt: int) -> Any:
    if activity_type.startswith("fail"):
        raise ApplicationError("local activity failed", type="Boom")
    return f"{activity_type}{args}"
