"""The service benchmark's driver: the pure history service under a mixed workload.

Not the simulator (sim/cluster.py and sim/nodes/ are): this is a mini cluster in one
loop, with no network, hosts or persistence, so that `tmodel bench` can time exactly
the history service's calls (adapters/bench_service.py).

Theory of operation. `run_workload(workload)` plays `workload.workflows` workflows
through `core.statemachine.history.service.handle` the way a cluster would, but in one
process, with virtual time and one seeded `random.Random`:

- a discrete-event queue (a heap of ``(time, seq, action)``; `seq` breaks ties, so the
  order depends on nothing but the seed) holds what happens next: a client starting a
  workflow, signalling or cancelling it; matching dispatching a task; a worker answering
  one; the timer queue firing a timer task;
- every outbox task the service emits is fed back: transfer tasks become dispatches
  after a small random latency (sometimes twice - matching is at-least-once - and sticky
  tasks are sometimes lost, so the sticky schedule-to-start timeout fires); timer tasks
  fire at their fire time, stale ones included (the service must reject them);
- workflow workers run the scripted workflow (`sim.scripted_workflow.decide`): a pure
  function of the history the worker was given, as an SDK replaying it. They
  sometimes fail or lose a workflow task;
- activity workers complete, fail (retryably or not), heartbeat, or vanish (the
  start-to-close timeout fires) at the workload's rates.

Every request is recorded with its time and run, and the events of every run are kept,
so tests can check that a seed fixes the requests and events and that every history
passes the validator. `start` and `handle` are parameters, so a benchmark can time
exactly the service calls without this module reading a clock.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from dataclasses import dataclass

from core import requests as rq
from core.enums import CommandType
from core.events import (
    HistoryEvent,
)
from core.opaque import Opaque
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.handle import HandleFn, StartFn
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.txn import Outcome
from core.statemachine.history.validator import validate
from sim.scripted_workflow import Spec, activity_outcome, decide

C = CommandType
MS = 1_000_000  # nanoseconds
T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
WORKFLOW_TASK_TIMEOUT = 2_000 * MS
STICKY_SCHEDULE_TO_START = 1_000 * MS


@dataclass(frozen=True, slots=True)
class Workload:
    """The mix: how many workflows, the seed, and the rate of each behaviour."""

    workflows: int = 100
    seed: int = 0
    activity_failure: float = 0.2  # a retryable failure, per attempt
    activity_non_retryable: float = 0.02
    activity_lost: float = 0.03  # the worker vanishes: start-to-close timeout
    activity_heartbeat: float = 0.2  # heartbeat once (and learn of a cancel request)
    workflow_task_failure: float = 0.03
    workflow_task_lost: float = 0.02
    sticky: float = 0.5  # completions that ask for a sticky queue
    sticky_lost: float = 0.1  # sticky tasks nobody polls (schedule-to-start timeout)
    duplicate_dispatch: float = 0.02  # matching delivers a task twice
    signals: float = 0.5  # workflows that get 1-3 signals and stop waiting on them
    cancel: float = 0.1  # workflows a client asks to cancel
    continue_as_new: float = 0.2  # workflows that continue as new once or twice
    max_requests: int = 50_000_000  # a guard against a loop that never ends
    # False: validate each run's history when it closes and let it go, recording no
    # requests, so memory (and the garbage collector's work) stays bounded by the open
    # runs, as in a long simulation. The result then has counts only.
    keep: bool = True


@dataclass(frozen=True, slots=True)
class Issued:
    """One request as issued: when, to which run, what."""

    time: int
    workflow_id: str
    run_id: str
    request: rq.Request


@dataclass(frozen=True, slots=True)
class WorkloadResult:
    requests: tuple[Issued, ...]
    histories: dict[str, tuple[HistoryEvent, ...]]  # run id -> events, in start order
    counts: dict[str, int]  # sorted by key
    open_runs: tuple[str, ...]  # runs still open when the queue ran dry (a bug if any)


# --- the cluster -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Start:
    index: int


@dataclass(frozen=True, slots=True)
class _Signal:
    workflow_id: str
    n: int


@dataclass(frozen=True, slots=True)
class _Cancel:
    workflow_id: str


@dataclass(frozen=True, slots=True)
class _Dispatch:
    run_id: str
    task: rq.WorkflowTaskTransfer | rq.ActivityTaskTransfer


@dataclass(frozen=True, slots=True)
class _Fire:
    run_id: str
    task: rq.TimerTask


@dataclass(frozen=True, slots=True)
class _WorkflowWorker:
    run_id: str
    started: rq.WorkflowTaskStarted
    fail: bool


@dataclass(frozen=True, slots=True)
class _ActivityWorker:
    run_id: str
    token: rq.ActivityTaskToken
    outcome: str  # complete | fail | fail_non_retryable | heartbeat | canceled


_Action = _Start | _Signal | _Cancel | _Dispatch | _Fire | _WorkflowWorker | _ActivityWorker


class Cluster:
    """The loop's state: runs, histories, the event queue, the recorded requests."""

    def __init__(self, workload: Workload, start: StartFn, handle: HandleFn) -> None:
        self.w = workload
        self.rng = random.Random(workload.seed)
        self.start_fn = start
        self.handle_fn = handle
        self.now = T0
        self.seq = 0
        self.queue: list[tuple[int, int, _Action]] = []
        self.runs: dict[str, MutableState] = {}
        self.current: dict[str, str] = {}  # workflow id -> its latest run id
        self.histories: dict[str, list[HistoryEvent]] = {}
        self.specs: dict[str, Spec] = {}
        self.requests: list[Issued] = []
        self.issued = 0
        self.released: set[str] = set()
        self.counts: Counter[str] = Counter()

    # -- plumbing ---------------------------------------------------------------------
    def at(self, time: int, action: _Action) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (time, self.seq, action))

    def later(self, low_ms: int, high_ms: int, action: _Action) -> None:
        self.at(self.now + self.rng.randint(low_ms * MS, high_ms * MS), action)

    def run(self) -> None:
        queue = self.queue
        while queue:
            time, _, action = heapq.heappop(queue)
            if time > self.now:
                self.now = time
            self.act(action)
            if self.issued > self.w.max_requests:
                raise RuntimeError(f"more than {self.w.max_requests} requests: a livelock?")

    def record(self, issued: Issued) -> None:
        self.issued += 1
        if self.w.keep:
            self.requests.append(issued)

    def release(self, run_id: str) -> None:
        """A closed run's history is checked and let go (Workload.keep=False)."""
        history = self.histories[run_id]
        verdict = validate(history)
        if verdict.violations:
            raise RuntimeError(f"run {run_id} wrote an invalid history: {verdict.violations[:3]}")
        self.counts["events"] += len(history)
        for event in history:
            self.counts[f"event.{event.event_type.name}"] += 1
        self.histories[run_id] = []
        self.released.add(run_id)

    def start_run(self, request: rq.StartWorkflowExecution) -> None:
        self.record(Issued(self.now, request.workflow_id, request.run_id, request))
        self.counts["request.StartWorkflowExecution"] += 1
        self.current[request.workflow_id] = request.run_id
        self.histories[request.run_id] = []
        self.absorb(request.run_id, self.start_fn(request, self.now))

    def send(self, run_id: str, request: rq.Request) -> rq.Reply:
        state = self.runs[run_id]
        self.record(Issued(self.now, state.workflow_id, run_id, request))
        self.counts[f"request.{type(request).__name__}"] += 1
        buffered = len(state.buffered)
        outcome = self.handle_fn(state, request, self.now)
        if len(outcome.state.buffered) > buffered:
            self.counts["buffered"] += 1
        self.absorb(run_id, outcome)
        return outcome.reply

    def absorb(self, run_id: str, outcome: Outcome) -> None:
        """Keep the new state and events; feed the outbox back into the queue."""
        self.runs[run_id] = outcome.state
        self.histories[run_id].extend(outcome.events)
        reply = outcome.reply
        self.counts[f"reply.{reply.kind.value if isinstance(reply, rq.Error) else 'ok'}"] += 1
        for task in outcome.tasks:
            if isinstance(task, rq.WorkflowTaskTransfer | rq.ActivityTaskTransfer):
                self.transfer(run_id, task)
            elif isinstance(task, rq.CloseExecutionTransfer):
                self.counts[f"closed.{outcome.state.status.value}"] += 1
                if not self.w.keep:
                    self.release(run_id)
            elif isinstance(task, rq.TimerTask):
                self.at(task.fire_time, _Fire(run_id, task))
            else:  # children and external requests: this workload issues none
                raise AssertionError(f"unexpected outbox task {task}")
        if outcome.new_run is not None:
            self.start_run(outcome.new_run)

    def transfer(
        self, run_id: str, task: rq.WorkflowTaskTransfer | rq.ActivityTaskTransfer
    ) -> None:
        rng, w = self.rng, self.w
        if (
            isinstance(task, rq.WorkflowTaskTransfer)
            and task.sticky
            and rng.random() < w.sticky_lost
        ):
            self.counts["sticky_lost"] += 1
            return
        self.later(0, 5, _Dispatch(run_id, task))
        if rng.random() < w.duplicate_dispatch:
            self.later(0, 50, _Dispatch(run_id, task))

    # -- the actors -------------------------------------------------------------------
    def act(self, action: _Action) -> None:
        if isinstance(action, _Dispatch):
            self.dispatch(action)
        elif isinstance(action, _Fire):
            self.send(action.run_id, rq.FireTimer(action.task))
        elif isinstance(action, _WorkflowWorker):
            self.workflow_worker(action)
        elif isinstance(action, _ActivityWorker):
            self.activity_worker(action)
        elif isinstance(action, _Start):
            self.client_start(action.index)
        elif isinstance(action, _Signal):
            request = rq.SignalWorkflowExecution("go", f"signal-{action.n}", Opaque.of(action.n))
            self.send(self.current[action.workflow_id], request)
        else:
            run_id = self.current[action.workflow_id]
            self.send(run_id, rq.RequestCancelWorkflowExecution(f"cancel-{run_id}", "client"))

    def client_start(self, index: int) -> None:
        rng, w = self.rng, self.w
        workflow_id = f"wf-{index}"
        spec = Spec.draw(rng, w.signals, w.continue_as_new)
        for n in range(spec.signals):
            self.later(0, 3_000, _Signal(workflow_id, n))
        if rng.random() < w.cancel:
            self.later(0, 4_000, _Cancel(workflow_id))
        self.start_run(
            rq.StartWorkflowExecution(
                namespace="default",
                workflow_id=workflow_id,
                run_id=f"run-{index}",
                workflow_type="mixed",
                task_queue="queue",
                request_id=f"start-{index}",
                input=spec.to_input(),
                workflow_task_timeout=WORKFLOW_TASK_TIMEOUT,
            )
        )

    def dispatch(self, action: _Dispatch) -> None:
        """Matching hands a task to a poller: history records the start first."""
        task, rng, w = action.task, self.rng, self.w
        self.seq += 1
        poll = f"poll-{self.seq}"
        if isinstance(task, rq.WorkflowTaskTransfer):
            started = self.send(
                action.run_id,
                rq.RecordWorkflowTaskStarted(
                    task.scheduled_event_id, task.stamp, poll, "worker", task.sticky
                ),
            )
            if not isinstance(started, rq.WorkflowTaskStarted):
                return
            r = rng.random()
            if r >= w.workflow_task_lost:
                fail = r < w.workflow_task_lost + w.workflow_task_failure
                self.later(1, 20, _WorkflowWorker(action.run_id, started, fail))
            return
        reply = self.send(
            action.run_id,
            rq.RecordActivityTaskStarted(task.scheduled_event_id, task.stamp, poll, "worker"),
        )
        if not isinstance(reply, rq.ActivityTaskStarted):
            return
        outcome = activity_outcome(
            rng.random(),
            w.activity_lost,
            w.activity_failure,
            w.activity_non_retryable,
            w.activity_heartbeat,
        )
        if outcome != "lost":
            self.later(5, 200, _ActivityWorker(action.run_id, reply.token, outcome))

    def workflow_worker(self, action: _WorkflowWorker) -> None:
        started, run_id = action.started, action.run_id
        if run_id in self.released:  # the run closed while this worker was busy
            return
        if action.fail:
            self.send(run_id, rq.RespondWorkflowTaskFailed(started.token, identity="worker"))
            return
        history = self.histories[run_id]
        spec = self.specs.get(run_id)
        if spec is None:
            spec = self.specs[run_id] = Spec.from_history(history)
        commands = decide(spec, history[: started.next_event_id - 1])
        sticky = self.rng.random() < self.w.sticky
        self.send(
            run_id,
            rq.RespondWorkflowTaskCompleted(
                started.token,
                commands,
                identity="worker",
                sticky_queue="queue-sticky" if sticky else "",
                sticky_schedule_to_start_timeout=STICKY_SCHEDULE_TO_START if sticky else 0,
            ),
        )

    def activity_worker(self, action: _ActivityWorker) -> None:
        run_id, token, outcome = action.run_id, action.token, action.outcome
        if outcome == "complete":
            self.send(run_id, rq.RespondActivityTaskCompleted(token, Opaque.of("ok"), "worker"))
        elif outcome == "fail" or outcome == "fail_non_retryable":
            failure = Opaque.of({"message": outcome})
            non_retryable = outcome == "fail_non_retryable"
            request = rq.RespondActivityTaskFailed(token, failure, "Flaky", non_retryable)
            self.send(run_id, request)
        elif outcome == "heartbeat":
            reply = self.send(run_id, rq.RecordActivityTaskHeartbeat(token))
            if isinstance(reply, rq.Heartbeat):
                after = "canceled" if reply.cancel_requested else "complete"
                self.later(5, 100, _ActivityWorker(run_id, token, after))
        else:
            self.send(run_id, rq.RespondActivityTaskCanceled(token, identity="worker"))


def run_workload(
    workload: Workload,
    start: StartFn = service.start,
    handle: HandleFn = service.handle,
) -> WorkloadResult:
    """Play the workload to the end (see the module docstring)."""
    cluster = Cluster(workload, start, handle)
    for index in range(workload.workflows):
        cluster.at(T0 + index * 2 * MS, _Start(index))
    cluster.run()
    counts = cluster.counts
    counts["requests"] = cluster.issued
    counts["runs"] = len(cluster.runs)
    for run_id, history in cluster.histories.items():
        if run_id in cluster.released:
            continue
        counts["events"] += len(history)
        for event in history:
            counts[f"event.{event.event_type.name}"] += 1
    return WorkloadResult(
        requests=tuple(cluster.requests),
        histories={run: tuple(events) for run, events in cluster.histories.items()},
        counts=dict(sorted(counts.items())),
        open_runs=tuple(run for run, state in cluster.runs.items() if state.running),
    )
