"""A matching host: the task queues it owns, over the pure matching engine.

Theory of operation (reference §5, `service/matching/`): history pushes a task
(`add_task`); it is matched to a waiting long poll or backlogged, and acked to history
once matching holds it. A matched task is not yet delivered: matching first asks
history to record it started (Record*TaskStarted) and delivers it to the poller only
on OK; NotFound / AlreadyStarted / Obsolete drop it; no answer in time is a transient
error and the task goes back to the backlog. A crash loses pollers and in-flight
dispatches but not the backlog, which Temporal keeps in the database: on restart every
task not yet delivered or dropped is re-read. The `finished` ledger is compacted when
nothing is in flight, after checking INV-NO-LOST-TASK on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.statemachine import matching as m
from core.statemachine.history.service import requests as rq
from sim.kernel import SECOND
from sim.nodes.base import Base, Payload, Router, StartedActivityTask, StartedWorkflowTask

POLL_DEADLINE = 5 * SECOND  # Temporal's long poll is 60 s; shorter keeps runs short
RECORD_TIMEOUT = 1 * SECOND
RETRY_BACKOFF = SECOND // 5  # a transient error is retried after this, not at once
COMPACT_AT = 256
ViolationFn = Callable[[str, str], None]


class MatchingHost(Base):
    def __init__(self, name: str, cluster: Any, router: Router, ack_before_started: bool) -> None:
        super().__init__(name, cluster.kernel, cluster.net, cluster.faults)
        self.cluster = cluster
        self.router = router
        self.state = m.MatchingState()
        self.workers: dict[str, tuple[str, Callable[..., None]]] = {}  # poller -> worker
        self.ack_before_started = ack_before_started
        self.problems: list[str] = []
        self.seen: set[str] = set()
        self.attempt = 0
        self.attempts: dict[int, int] = {}  # task key -> its latest dispatch attempt

    # -- crash and recovery -----------------------------------------------------------
    def restart(self) -> None:
        """Re-read the durable backlog: every task not delivered or dropped."""
        super().restart()
        old = self.state
        self.state = m.MatchingState()
        self.workers = {}
        self.attempts = {}
        for entry in sorted((*old.backlog, *old.dispatching), key=lambda e: e.key):
            self.state, _ = m.add_task(self.state, entry.queue, entry.task, self.kernel.now)

    # -- history's side ---------------------------------------------------------------
    def add_task(
        self,
        src: str,
        ack: Callable[..., None],
        queue: m.TaskQueue,
        task: m.MatchingTask,
        key: object,
    ) -> None:
        self.state, out = m.add_task(self.state, queue, task, self.kernel.now)
        self.net.send(self.name, src, ack, key)
        if isinstance(out, m.Dispatch):
            self._record_started(out)

    def _record_started(self, d: m.Dispatch) -> None:
        task = d.task
        entry = m.find_task(self.state, d.task_key)
        sticky = entry is not None and entry.queue.kind is m.QueueKind.STICKY
        worker = self.workers.get(d.poller_id, ("", None))[0]
        req: rq.Request
        if task.kind is m.TaskKind.WORKFLOW:
            req = rq.RecordWorkflowTaskStarted(
                task.scheduled_event_id, task.stamp, d.poller_id, worker, sticky
            )
        else:
            req = rq.RecordActivityTaskStarted(
                task.scheduled_event_id, task.stamp, d.poller_id, worker
            )
        if self.ack_before_started:  # mutant: the task is gone from matching already
            self._settle(d.task_key, m.RecordStartedReply.OK)
        self.attempt += 1
        self.attempts[d.task_key] = self.attempt
        self.cluster.frontend.history_call(
            self.name,
            self.on_started,
            (d.task_key, d.poller_id, self.epoch, self.attempt),
            task.namespace,
            task.workflow_id,
            task.run_id,
            req,
        )
        self.kernel.after(
            RECORD_TIMEOUT, self._record_timeout, d.task_key, self.epoch, self.attempt
        )

    def on_started(self, token: tuple[int, str, int, int], answer: Payload) -> None:
        key, poller_id, epoch, attempt = token
        if epoch != self.epoch or self.attempts.get(key) != attempt:
            return
        if self.ack_before_started:
            if isinstance(answer, StartedWorkflowTask | StartedActivityTask):
                self._deliver(poller_id, answer)
            return
        entry = m.find_task(self.state, key)
        if entry is None or entry.state is not m.TaskState.DISPATCHING:
            return  # timed out already and respooled
        reply = _classify(answer)
        if reply is m.RecordStartedReply.TRANSIENT_ERROR:  # respool after a backoff
            self.kernel.after(RETRY_BACKOFF, self._record_timeout, key, epoch, attempt)
            return
        if self._settle(key, reply):
            self._deliver(poller_id, answer)

    def _record_timeout(self, key: int, epoch: int, attempt: int) -> None:
        """No usable answer for this dispatch attempt: respool (a transient error)."""
        if epoch != self.epoch or not self.up or self.attempts.get(key) != attempt:
            return
        entry = m.find_task(self.state, key)
        if entry is not None and entry.state is m.TaskState.DISPATCHING:
            self._settle(key, m.RecordStartedReply.TRANSIENT_ERROR)

    def _settle(self, key: int, reply: m.RecordStartedReply) -> bool:
        self.state, out = m.on_record_started_reply(self.state, key, reply, self.kernel.now)
        for d in out.dispatches:
            self._record_started(d)
        self._compact()
        return out.task_state is m.TaskState.DELIVERED

    def _deliver(self, poller_id: str, answer: Payload | None) -> None:
        worker, callback = self.workers.pop(poller_id, ("", None))
        if callback is not None:
            self.net.send(self.name, worker, callback, poller_id, answer)

    # -- the workers' side ------------------------------------------------------------
    def poll(
        self, src: str, callback: Callable[..., None], poller_id: str, queue: m.TaskQueue
    ) -> None:
        if poller_id in self.seen:
            return  # a duplicated poll message
        self.seen.add(poller_id)
        now = self.kernel.now
        self.workers[poller_id] = (src, callback)
        self.state, out = m.poll(self.state, poller_id, queue, now, now + POLL_DEADLINE)
        if isinstance(out, m.Dispatch):
            self._record_started(out)
        else:
            self.kernel.at(now + POLL_DEADLINE, self._expire, self.epoch)

    def _expire(self, epoch: int) -> None:
        if epoch != self.epoch:
            return
        self.state, gone = m.expire_polls(self.state, self.kernel.now)
        for p in gone:
            self._deliver(p.poller_id, None)

    def _compact(self) -> None:
        """Check INV-NO-LOST-TASK, then drop the finished ledger and renumber the rest."""
        s = self.state
        if len(s.finished) < COMPACT_AT or s.dispatching:
            return
        self.problems.extend(m.violations(s))
        self.attempts = {}  # nothing is dispatching; attempt numbers are never reused
        backlog = tuple(
            m.TaskEntry(i + 1, e.queue, e.partition, e.task, e.state)
            for i, e in enumerate(s.backlog)
        )
        self.state = m.MatchingState(
            s.config, len(backlog) + 1, backlog, (), (), s.pollers, s.last_poll
        )


def _classify(answer: Payload) -> m.RecordStartedReply:
    if isinstance(answer, StartedWorkflowTask | StartedActivityTask):
        return m.RecordStartedReply.OK
    if isinstance(answer, rq.Error):
        if answer.kind is rq.ErrorKind.ALREADY_STARTED:
            return m.RecordStartedReply.ALREADY_STARTED
        if answer.kind is rq.ErrorKind.OBSOLETE:
            return m.RecordStartedReply.OBSOLETE
        if answer.kind in (rq.ErrorKind.NOT_FOUND, rq.ErrorKind.WORKFLOW_COMPLETED):
            return m.RecordStartedReply.NOT_FOUND
    return m.RecordStartedReply.TRANSIENT_ERROR
