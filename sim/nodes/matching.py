"""A matching host: the task queues it owns, over the pure matching engine.

Theory of operation (docs/temporal-semantics.md#matching; Temporal's
`service/matching/`): history pushes a task
(`add_task`); it is matched to a waiting long poll or backlogged, and acked to history
once matching holds it. A matched task is not yet delivered: matching first asks
history to record it started (Record*TaskStarted) and delivers it to the poller only
on OK; NotFound / AlreadyStarted / Obsolete drop it; no answer in time is a transient
error and the task goes back to the backlog. A crash loses pollers and in-flight
dispatches but not the backlog, which Temporal keeps in the database: on restart every
task not yet delivered or dropped is re-read. The `finished` ledger is compacted when
nothing is in flight, after checking INV-NO-LOST-TASK on it.

The host keeps one engine state per task queue, as Temporal runs one task queue manager
per queue (`matching_engine.go`). The engine only ever matches a poller with tasks of
its own queue, so this changes no outcome; it keeps each queue's backlog scan short. A
task is named by its queue and its key in that queue's state.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain
from typing import Any, Protocol

from core import requests as rq
from core.opaque import Opaque
from core.statemachine import matching as m
from sim.kernel import SECOND
from sim.nodes.base import Base, Payload, Router, StartedActivityTask, StartedWorkflowTask

POLL_DEADLINE = 5 * SECOND  # Temporal's long poll is 60 s; shorter keeps runs short
NO_DEADLINE = 1 << 62  # a poll only its caller ends
RECORD_TIMEOUT = 1 * SECOND
RETRY_BACKOFF = SECOND // 5  # a transient error is retried after this, not at once
COMPACT_AT = 256
ViolationFn = Callable[[str, str], None]
Key = tuple[m.TaskQueue, int]  # a task's queue and its key in that queue's state
QueueFields = tuple[str, str, m.TaskKind, m.QueueKind]
# A task as `attempts` knows it: its key and its queue's fields, which a dict hashes in C
# (a TaskQueue's dataclass hash is a Python call, of a tuple of these same fields).
AttemptKey = tuple[int, QueueFields]
_STARTED = (StartedWorkflowTask, StartedActivityTask)  # built once, for isinstance


# (host, src, ack, queue, task, key) -> whether the task was taken care of
Divert = Callable[
    ["MatchingHost", str, Callable[..., None], m.TaskQueue, m.MatchingTask, object], bool
]


class TaskObserver(Protocol):
    """Told of each task a queue takes and each it hands to a poller, with the task's
    partition (serve's task queue statistics, adapters/serve/queue_stats.py)."""

    def added(self, queue: m.TaskQueue, partition: int, now: int) -> None: ...

    def dispatched(self, queue: m.TaskQueue, partition: int, now: int) -> None: ...


class MatchingHost(Base):
    def __init__(
        self,
        name: str,
        cluster: Any,
        router: Router,
        ack_before_started: bool,
        redeliver: bool = False,
    ) -> None:
        super().__init__(name, cluster.kernel, cluster.net, cluster.faults)
        self.cluster = cluster
        self.router = router
        self.queues: dict[m.TaskQueue, m.MatchingState] = {}
        self.workers: dict[str, tuple[str, Callable[..., None]]] = {}  # poller -> worker
        self.ack_before_started = ack_before_started
        # mutant: every delivered task is handed once more, to the queue's next poller
        self.redeliver = redeliver
        self.again: dict[m.TaskQueue, list[Payload]] = {}
        self.problems: list[str] = []
        self.seen: set[str] = set()
        self.attempt = 0
        self.attempts: dict[AttemptKey, int] = {}  # task -> its latest dispatch attempt
        # poller id -> (identity, worker version) for pollers that gave them (live only)
        self.poller_info: dict[str, tuple[str, Opaque | None]] = {}
        # serve's Worker Deployments: takes a pushed task to its version's queue or
        # refuses it (True), or leaves it to this host (adapters/serve/deployments.py)
        self.divert: Divert | None = None
        self.observer: TaskObserver | None = None  # serve's statistics; none in a simulation

    def states(self) -> list[m.MatchingState]:
        """Every queue's engine state, in a fixed order."""
        return [self.queues[q] for q in sorted(self.queues, key=_queue_order)]

    # -- crash and recovery -----------------------------------------------------------
    def restart(self) -> None:
        """Re-read the durable backlog: every task not delivered or dropped."""
        super().restart()
        old = self.queues
        self.queues = {}
        self.workers = {}
        self.poller_info = {}
        self.attempts = {}
        for queue in sorted(old, key=_queue_order):
            state = m.MatchingState()
            for entry in sorted((*old[queue].backlog, *old[queue].dispatching), key=_key):
                state, _ = m.add_task(state, entry.queue, entry.task, self.kernel.now)
            self.queues[queue] = state

    # -- history's side ---------------------------------------------------------------
    def add_task(
        self,
        src: str,
        ack: Callable[..., None],
        queue: m.TaskQueue,
        task: m.MatchingTask,
        key: object,
    ) -> None:
        if self.divert is not None and self.divert(self, src, ack, queue, task, key):
            return
        state = self.queues.get(queue) or m.MatchingState()
        self.queues[queue], out = m.add_task(state, queue, task, self.kernel.now)
        if self.observer is not None and not isinstance(out, m.StickyWorkerUnavailable):
            self.observer.added(
                queue, _partition(self.queues[queue], out.task_key), self.kernel.now
            )
        # The answer is the ack, or StickyWorkerUnavailable (history pushes elsewhere).
        self.net.send(self.name, src, ack, key, out)
        if isinstance(out, m.Dispatch):
            self._record_started(queue, out)

    def _record_started(self, queue: m.TaskQueue, d: m.Dispatch) -> None:
        task = d.task
        if self.observer is not None:
            self.observer.dispatched(
                queue, _partition(self.queues[queue], d.task_key), self.kernel.now
            )
        sticky = queue.kind is m.QueueKind.STICKY
        worker = self.workers.get(d.poller_id, ("", None))[0]
        identity, version = self.poller_info.get(d.poller_id, (worker, None))
        identity = identity or worker
        req: rq.Request
        if task.kind is m.TaskKind.WORKFLOW:
            req = rq.RecordWorkflowTaskStarted(
                task.scheduled_event_id, task.stamp, d.poller_id, identity, sticky, version
            )
        else:
            req = rq.RecordActivityTaskStarted(
                task.scheduled_event_id, task.stamp, d.poller_id, identity, version
            )
        key = (queue, d.task_key)
        akey = (d.task_key, _fields(queue))
        if self.ack_before_started:  # mutant: the task is gone from matching already
            self._settle(key, akey, m.RecordStartedReply.OK)
        self.attempt += 1
        self.attempts[akey] = self.attempt
        self.cluster.frontend.history_call(
            self.name,
            self.on_started,
            (key, akey, d.poller_id, self.epoch, self.attempt),
            task.namespace,
            task.workflow_id,
            task.run_id,
            req,
        )
        self.kernel.after(RECORD_TIMEOUT, self._record_timeout, key, akey, self.epoch, self.attempt)

    def _dispatching(self, key: Key) -> m.MatchingState | None:
        """The state of task `key`'s queue if the task is offered to a poller, waiting for
        history's answer; else None."""
        state = self.queues.get(key[0])
        if state is not None:
            task_key = key[1]
            for e in state.dispatching:  # a loop, not any(generator): called per answer
                if e.key == task_key:
                    return state
        return None

    def on_started(self, token: tuple[Key, AttemptKey, str, int, int], answer: Payload) -> None:
        key, akey, poller_id, epoch, attempt = token
        if epoch != self.epoch or self.attempts.get(akey) != attempt:
            return
        if self.ack_before_started:
            if isinstance(answer, _STARTED):
                self._deliver(poller_id, answer)
            return
        state = self._dispatching(key)
        if state is None:
            return  # timed out already and respooled
        reply = _classify(answer)
        if reply is m.RecordStartedReply.TRANSIENT_ERROR:  # respool after a backoff
            self.kernel.after(RETRY_BACKOFF, self._record_timeout, key, akey, epoch, attempt)
            return
        if self._settle(key, akey, reply, state):
            self._deliver(poller_id, answer)
            if self.redeliver:
                self.again.setdefault(key[0], []).append(answer)

    def _record_timeout(self, key: Key, akey: AttemptKey, epoch: int, attempt: int) -> None:
        """No usable answer for this dispatch attempt: respool (a transient error)."""
        if epoch != self.epoch or not self.up or self.attempts.get(akey) != attempt:
            return
        state = self._dispatching(key)
        if state is not None:
            self._settle(key, akey, m.RecordStartedReply.TRANSIENT_ERROR, state)

    def _settle(
        self,
        key: Key,
        akey: AttemptKey,
        reply: m.RecordStartedReply,
        state: m.MatchingState | None = None,
    ) -> bool:
        """Apply history's answer for task `key` (`akey` as `attempts` knows it); `state`
        is its queue's, if the caller has just read it."""
        queue, task_key = key
        if state is None:
            state = self.queues[queue]
        state, out = m.on_record_started_reply(state, task_key, reply, self.kernel.now)
        self.queues[queue] = state
        # The task is no longer dispatching: every answer or timeout of its attempts so
        # far finds nothing to do, and a new dispatch (perhaps just below) records its
        # own attempt. Forgetting the attempt lets them stop at `attempts`.
        self.attempts.pop(akey, None)
        for d in out.dispatches:
            self._record_started(queue, d)
        # Without dispatches the queue's state is `state` still: _compact would only
        # return (it reads the state through the queue, which hashes it in Python).
        if out.dispatches or len(state.finished) >= COMPACT_AT:
            self._compact(queue)
        return out.task_state is m.TaskState.DELIVERED

    def _deliver(self, poller_id: str, answer: Payload | None) -> None:
        if self.poller_info.pop(poller_id, None) is not None:
            self.seen.discard(poller_id)  # live ids are never reused: keep `seen` bounded
        worker, callback = self.workers.pop(poller_id, ("", None))
        if callback is not None:
            self.net.send(self.name, worker, callback, poller_id, answer)

    # -- the workers' side ------------------------------------------------------------
    def poll(
        self,
        src: str,
        callback: Callable[..., None],
        poller_id: str,
        queue: m.TaskQueue,
        until_cancelled: bool = False,
        identity: str = "",
        worker_version: Opaque | None = None,
    ) -> None:
        """A long poll that ends `cluster.poll_deadline` (POLL_DEADLINE) from now, or
        (`until_cancelled`, for a live server whose callers hold the deadline) only
        through `cancel_poll`.
        `identity` and `worker_version` are the poller's, recorded with a task it starts
        (default: the polling node's name)."""
        if poller_id in self.seen:
            return  # a duplicated poll message
        self.seen.add(poller_id)
        if until_cancelled:  # a live caller's poll: forgotten once answered
            self.poller_info[poller_id] = (identity, worker_version)
        now = self.kernel.now
        due = NO_DEADLINE if until_cancelled else now + self.cluster.poll_deadline
        self.workers[poller_id] = (src, callback)
        # (asked only when it holds anything: a lookup hashes the queue, in Python)
        again = self.again.get(queue) if self.again else None
        if again:  # the `redeliver` mutant: a task already delivered, handed out again
            self._deliver(poller_id, again.pop(0))
            return
        state = self.queues.get(queue) or m.MatchingState()
        self.queues[queue], out = m.poll(state, poller_id, queue, now, due)
        if isinstance(out, m.Dispatch):
            self._record_started(queue, out)
        elif not until_cancelled:
            self.kernel.at(due, self._expire, queue, self.epoch)

    def cancel_poll(self, poller_id: str, queue: m.TaskQueue) -> bool:
        """The poller went away: end its poll unless a task is already on its way to it.
        True if it was waiting (and is now gone); False if it was offered a task, whose
        answer will still be delivered, or is unknown."""
        state = self.queues.get(queue)
        if state is None:
            return False
        self.queues[queue], removed = m.cancel_poll(state, poller_id)
        if removed:
            self.workers.pop(poller_id, None)
            self.poller_info.pop(poller_id, None)
            self.seen.discard(poller_id)
        return removed

    def unload_idle(self, now: int, idle: int) -> int:
        """Forget the queues that hold nothing and had no poll for `idle` ns, after
        checking their ledgers (INV-NO-LOST-TASK); how many. A live server's callers
        name queues at will; Temporal unloads a task queue idle that long
        (`matching.maxTaskQueueIdleTime`)."""
        gone = [
            queue
            for queue, s in self.queues.items()
            if not (s.backlog or s.dispatching or s.pollers)
            and max((t for _, t in s.last_poll), default=0) <= now - idle
        ]
        for queue in gone:
            self.problems.extend(m.violations(self.queues.pop(queue)))
        if gone:
            dropped = {_fields(queue) for queue in gone}
            self.attempts = {k: a for k, a in self.attempts.items() if k[1] not in dropped}
        return len(gone)

    def _expire(self, queue: m.TaskQueue, epoch: int) -> None:
        if epoch != self.epoch:
            return
        self.queues[queue], gone = m.expire_polls(self.queues[queue], self.kernel.now)
        for p in gone:
            self._deliver(p.poller_id, None)

    def _compact(self, queue: m.TaskQueue) -> None:
        """Check INV-NO-LOST-TASK, then drop the finished ledger and renumber the rest."""
        s = self.queues[queue]
        if len(s.finished) < COMPACT_AT or s.dispatching:
            return
        self.problems.extend(m.violations(s))
        # Nothing of this queue is dispatching; attempt numbers are never reused.
        fields = _fields(queue)
        self.attempts = {k: a for k, a in self.attempts.items() if k[1] != fields}
        backlog = tuple(
            m.TaskEntry(i + 1, e.queue, e.partition, e.task, e.state)
            for i, e in enumerate(s.backlog)
        )
        self.queues[queue] = m.MatchingState(
            s.config, len(backlog) + 1, backlog, (), (), s.pollers, s.last_poll
        )


def _fields(queue: m.TaskQueue) -> QueueFields:
    """The fields a TaskQueue equals another's by (an `AttemptKey`'s second part)."""
    return (queue.namespace, queue.name, queue.task_type, queue.kind)


def _queue_order(queue: m.TaskQueue) -> tuple[str, str, str, str]:
    return (queue.namespace, queue.name, queue.task_type.value, queue.kind.value)


def _key(entry: m.TaskEntry) -> int:
    return entry.key


def _classify(answer: Payload) -> m.RecordStartedReply:
    if isinstance(answer, _STARTED):
        return m.RecordStartedReply.OK
    if isinstance(answer, rq.Error):
        if answer.kind is rq.ErrorKind.ALREADY_STARTED:
            return m.RecordStartedReply.ALREADY_STARTED
        if answer.kind is rq.ErrorKind.OBSOLETE:
            return m.RecordStartedReply.OBSOLETE
        if answer.kind in (rq.ErrorKind.NOT_FOUND, rq.ErrorKind.WORKFLOW_COMPLETED):
            return m.RecordStartedReply.NOT_FOUND
    return m.RecordStartedReply.TRANSIENT_ERROR


def _partition(state: m.MatchingState, task_key: int) -> int:
    """The partition of task `task_key` of a queue's state (0 if it is no longer held).
    A task just added or dispatched is among the few dispatching or at the backlog's or
    the ledger's end, so the search goes from there without copying them."""
    for e in chain(state.dispatching, reversed(state.backlog), reversed(state.finished)):
        if e.key == task_key:
            return e.partition
    return 0
