"""Workflow and activity workers.

A workflow worker long-polls its task queue and its own sticky queue and answers each
task through the `WorkflowCode` door, with its sticky cache entry when the task came
from the sticky queue (a crash loses the cache). An activity worker runs simulated
activities with a latency, a failure rate and heartbeats, and counts side effects per
attempt in the monitor's ledger (sim/accounting.py): an activity may run more than once
(at-least-once), its result is recorded at most once. Every task a worker receives is
reported to the ledger too (INV-NO-UNCAUSED-REDELIVERY). Replies to history are retried
on a transient failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core import requests as rq
from core.opaque import Opaque
from core.statemachine.matching import QueueKind, TaskKind, TaskQueue
from core.statemachine.replay.engine import Execution
from sim.accounting import ACTIVITY, WORKFLOW
from sim.kernel import MS, SECOND
from sim.nodes.base import (
    Base,
    InlineWorkflowTask,
    Payload,
    Request,
    StartedActivityTask,
    StartedWorkflowTask,
    Unavailable,
    task_queue,
)
from sim.scripted_workflow import activity_outcome
from sim.workflow_code import WorkflowCode
from sim.workloads import Behaviour

# temporalio's Worker defaults: `sticky_queue_schedule_to_start_timeout` 10 s and
# `max_cached_workflows` 1000 (Behaviour.cache_size), in temporalio/worker/_worker.py.
STICKY_TIMEOUT = 10 * SECOND
CALL_TIMEOUT = 1 * SECOND
CALL_RETRIES = 3


class Poller(Base):
    """Long polls on a few slots; each answered poll is handled, then polled again."""

    slots: tuple[tuple[str, TaskQueue], ...] = ()

    def __init__(self, name: str, cluster: Any, behaviour: Behaviour) -> None:
        super().__init__(name, cluster.kernel, cluster.net, cluster.faults)
        self.cluster = cluster
        self.b = behaviour
        self.seq = 0
        self.polling: dict[str, str] = {}  # slot -> poller id
        self.calls: dict[int, tuple[int, Request, str, str, Callable[[Payload], None] | None]] = {}
        self._queues: dict[str, TaskQueue] = {}

    def start(self) -> None:
        self._queues = dict(self.slots)  # slot -> its queue, for `_poll`
        for slot, _ in self.slots:
            self._poll(slot)

    def restart(self) -> None:
        super().restart()
        self.polling = {}
        self.calls = {}
        self.start()

    def _poll(self, slot: str) -> None:
        if not self.up:
            return
        queue = self._queues[slot]
        self.seq += 1
        poller_id = f"{self.name}/{self.epoch}/{self.seq}"
        self.polling[slot] = poller_id
        host = self.cluster.router.matching_for(queue.name)
        node = self.cluster.matching[host]
        self.net.send(self.name, host, node.poll, self.name, self.on_poll, poller_id, queue)
        deadline = self.cluster.poll_deadline + SECOND
        self.kernel.after(deadline, self._poll_timeout, slot, poller_id, self.epoch)

    def _poll_timeout(self, slot: str, poller_id: str, epoch: int) -> None:
        if epoch == self.epoch and self.polling.get(slot) == poller_id:
            self._poll(slot)

    def on_poll(self, poller_id: str, answer: Payload | None) -> None:
        slot = None
        for name, polled in self.polling.items():  # a few slots: no generator needed
            if polled == poller_id:
                slot = name
                break
        if slot is None:
            return  # an abandoned poll: the task times out in history
        del self.polling[slot]
        if answer is not None:
            self._delivered(answer)
            self.handle_task(slot, answer)
        self.kernel.after(self.kernel.jitter(0, MS), self._poll, slot)

    def handle_task(self, slot: str, answer: Payload) -> None:
        raise NotImplementedError

    def _delivered(self, answer: Payload) -> None:
        """Tell the ledger a started task reached this worker (INV-NO-UNCAUSED-REDELIVERY)."""
        ledger = self.cluster.monitor.ledger
        if isinstance(answer, StartedWorkflowTask):
            token = answer.started.token
            ledger.delivered(WORKFLOW, answer.run_id, token.scheduled_event_id, token.attempt)
        elif isinstance(answer, StartedActivityTask):
            t = answer.started.token
            ledger.delivered(ACTIVITY, answer.run_id, t.scheduled_event_id, t.attempt)

    # -- calls to history, retried on a transient failure ------------------------------
    def call(
        self,
        workflow_id: str,
        run_id: str,
        req: Request,
        attempt: int = 0,
        then: Callable[[Payload], None] | None = None,
    ) -> None:
        """Send `req` through the frontend; the answer goes to `then`, or `replied`."""
        self.seq += 1
        token = self.seq
        self.calls[token] = (attempt, req, workflow_id, run_id, then)
        fe = self.cluster.frontend
        self.net.send(
            self.name,
            fe.name,
            fe.request,
            self.name,
            self.on_reply,
            token,
            "default",
            workflow_id,
            run_id,
            req,
        )
        self.kernel.after(CALL_TIMEOUT, self._call_timeout, token, self.epoch)

    def _call_timeout(self, token: int, epoch: int) -> None:
        if epoch == self.epoch and token in self.calls:
            self._retry(token)

    def _retry(self, token: int) -> None:
        attempt, req, workflow_id, run_id, then = self.calls.pop(token)
        if attempt < CALL_RETRIES:
            self.call(workflow_id, run_id, req, attempt + 1, then)

    def on_reply(self, token: int, answer: Payload) -> None:
        if token not in self.calls:
            return
        if isinstance(answer, Unavailable):
            self._retry(token)
            return
        _, req, workflow_id, run_id, then = self.calls.pop(token)
        if then is not None:
            then(answer)
        else:
            self.replied(req, workflow_id, run_id, answer)

    def replied(self, req: Request, workflow_id: str, run_id: str, answer: Payload) -> None:
        pass


class WorkflowWorker(Poller):
    def __init__(
        self,
        name: str,
        cluster: Any,
        behaviour: Behaviour,
        code: WorkflowCode,
        skip_replay: bool = False,
    ) -> None:
        super().__init__(name, cluster, behaviour)
        self.code = code
        self.skip_replay = skip_replay
        self.cache: dict[str, object] = {}  # run id -> its Execution, least recent first
        self.cold = 0  # tasks answered by replaying the whole history
        self.sticky_queue = f"sticky-{name}"
        normal = task_queue(cluster.workload.task_queue, TaskKind.WORKFLOW)
        sticky = task_queue(self.sticky_queue, TaskKind.WORKFLOW, QueueKind.STICKY)
        self.slots = (("n0", normal), ("n1", normal), ("s", sticky))

    def crash(self) -> None:
        super().crash()
        for cached in self.cache.values():
            release(cached)
        self.cache = {}

    def handle_task(self, slot: str, answer: Payload) -> None:
        if isinstance(answer, StartedWorkflowTask):
            delay = self.kernel.jitter(*self.b.workflow_task_latency)
            self.kernel.after(delay, self._answer, answer, self.epoch)

    def _answer(self, task: StartedWorkflowTask, epoch: int) -> None:
        if epoch != self.epoch:
            return  # crashed while working on it
        token = task.started.token
        if self.kernel.chance(self.b.workflow_task_failure):
            self.call(task.workflow_id, task.run_id, rq.RespondWorkflowTaskFailed(token))
            return
        # A task from the normal queue brings the whole history: replay it cold.
        cached = self.cache.pop(task.run_id, None) if task.sticky else None
        release(self.cache.pop(task.run_id, None))
        history = task.history
        if self.skip_replay and cached is None:  # mutant: no replay on a cache miss:
            history = (history[0], *history[-2:])  # the code runs afresh, live, from its start
        new_cached, ans = self.code.answer_task(task.workflow_type, cached, history, task.updates)
        if ans.nondeterministic:  # the code that wrote this history does not replay it
            self.cluster.monitor.violate("THM-3.1", ans.failure or "", task.run_id)
        if ans.failure is not None:
            release(new_cached)
            failure = Opaque.of({"message": ans.failure})
            self.call(
                task.workflow_id, task.run_id, rq.RespondWorkflowTaskFailed(token, failure=failure)
            )
            return
        if cached is None:
            self.cold += 1
        sticky = self.b.cache_size > 0
        if sticky:
            self.cache[task.run_id] = new_cached  # most recently used last
            if len(self.cache) > self.b.cache_size:
                release(self.cache.pop(next(iter(self.cache))))
        req = rq.RespondWorkflowTaskCompleted(
            token,
            ans.commands,
            identity=self.name,
            sticky_queue=self.sticky_queue if sticky else "",
            sticky_schedule_to_start_timeout=STICKY_TIMEOUT if sticky else 0,
            force_create_new_workflow_task=ans.force_new_task,
            messages=ans.messages,
            # as sdk-core asks, only when it caches the run: a task handed back inline
            # carries the history since this task, as a sticky poll's does
            # (worker/workflow/mod.rs)
            return_new_workflow_task=sticky,
        )
        self.call(task.workflow_id, task.run_id, req)

    def replied(self, req: Request, workflow_id: str, run_id: str, answer: Payload) -> None:
        """A completion's answer that hands back the next task, started for this worker:
        handled as a polled task is."""
        if isinstance(answer, InlineWorkflowTask):
            self._delivered(answer.task)
            self.handle_task("inline", answer.task)


class ActivityWorker(Poller):
    def __init__(
        self, name: str, cluster: Any, behaviour: Behaviour, skip_retried: bool = False
    ) -> None:
        super().__init__(name, cluster, behaviour)
        queue = task_queue(cluster.workload.task_queue, TaskKind.ACTIVITY)
        self.slots = (("a0", queue), ("a1", queue))
        self.ledger = cluster.monitor.ledger
        self.skip_retried = skip_retried  # mutant: a retried attempt answers, unexecuted

    def handle_task(self, slot: str, answer: Payload) -> None:
        if not isinstance(answer, StartedActivityTask):
            return
        b = self.b
        outcome = activity_outcome(
            self.kernel.rng.random(),
            b.activity_lost,
            b.activity_failure,
            b.activity_non_retryable,
            b.activity_heartbeat,
        )
        self.kernel.after(
            self.kernel.jitter(*b.activity_latency), self._finish, answer, outcome, self.epoch
        )

    def _finish(self, task: StartedActivityTask, outcome: str, epoch: int) -> None:
        if epoch != self.epoch or outcome == "lost":
            return
        token = task.started.token
        if self.skip_retried and token.attempt > 1:
            outcome = "complete"  # mutant: answered as done without running it
        else:
            self.ledger.executed_attempt(task.run_id, token.scheduled_event_id, token.attempt)
        self.kernel.log(self.name, f"ran {task.run_id}/{task.activity_id} {outcome}")
        self.call(task.workflow_id, task.run_id, self._reply(task.started.token, outcome))

    def _reply(self, token: rq.ActivityTaskToken, outcome: str) -> rq.Request:
        """The worker's answer to history for an attempt that ended with `outcome`."""
        if outcome == "complete":
            return rq.RespondActivityTaskCompleted(token, Opaque.of("ok"), self.name)
        if outcome == "heartbeat":
            return rq.RecordActivityTaskHeartbeat(token)
        if outcome == "canceled":
            return rq.RespondActivityTaskCanceled(token, identity=self.name)
        failure = Opaque.of({"message": outcome})
        return rq.RespondActivityTaskFailed(
            token, failure, "Flaky", outcome == "fail_non_retryable", self.name
        )

    def replied(self, req: Request, workflow_id: str, run_id: str, answer: Payload) -> None:
        if isinstance(req, rq.RecordActivityTaskHeartbeat) and isinstance(answer, rq.Heartbeat):
            after = "canceled" if answer.cancel_requested else "complete"
            delay = self.kernel.jitter(5 * MS, 100 * MS)
            self.kernel.after(
                delay, self._respond, workflow_id, run_id, req.token, after, self.epoch
            )

    def _respond(
        self, workflow_id: str, run_id: str, token: rq.ActivityTaskToken, outcome: str, epoch: int
    ) -> None:
        if epoch == self.epoch:
            self.call(workflow_id, run_id, self._reply(token, outcome))


def release(cached: object) -> None:
    """A cached run the worker is done with (evicted, replaced by a cold replay, failed
    or lost in a crash): its replay is released so reference counting frees it at once
    instead of leaving it in cycles for the collector's end-of-run pass."""
    if isinstance(cached, Execution):
        cached.release()
