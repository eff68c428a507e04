"""The live runtime: the simulator's server nodes, on a live kernel, called from gRPC.

Theory of operation. `Runtime` builds `sim.server.ServerCluster` (frontend, history hosts
owning shards, matching hosts, persistence, the shard controller and the invariant
monitor) on a `LiveKernel` with zero network latency, so the server that real SDKs talk
to is the very code the simulator checks. Its fault plan is empty unless `--faults`
schedules the simulator's faults (chaos.py, through `inject`); its persistence is in
memory unless `--store` keeps it in SQLite (store.py, reopened by `_reopen`). The
gRPC frontend (the rpc_* modules) only translates: it calls `call` (a request to one
run's history service through the cluster's frontend node, retried on a transient
failure until the caller's deadline, as Temporal's frontend retries history), `poll` (a
long poll on a matching host, ended at the long-poll limit, when the caller goes away
or when the host crashes) and reads what persistence holds. Commits are observed
(`on_commit`) to wake update waiters and result waiters, to notify the long polls on
history (through the events notifier, watch.Notifier, which wakes them after the
committing call's reply), and to keep the visibility index.

Everything runs on the asyncio event loop's single thread: handlers and the kernel's
pump interleave only at `await`, so the nodes are never entered concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping

from temporalio.api.history.v1 import message_pb2 as history_pb

from core import requests as rq
from core.events import HistoryEvent
from core.opaque import Opaque
from core.statemachine import matching as m
from core.statemachine.history.limits import DEFAULT_LIMITS, with_settings
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.nexus import timeout_armed as nexus_timeout_armed
from core.statemachine.history.service.state import ActivityInfo, MutableState
from sim.config import FaultItem, FaultPlan
from sim.faults import Faults
from sim.kernel import MS, SECOND
from sim.network import Network
from sim.nodes.base import Base, Payload, Request, Unavailable, task_queue
from sim.persistence import Commit, Mutation, RunRecord
from sim.server import SHARDS, ServerCluster

from .convert import event_proto, framed_size
from .kernel import LiveKernel
from .queue_stats import QueueStats, task_kind
from .store import DurablePersistence, Opened, open_store
from .timer_shift import TimerShift
from .watch import LiveMonitor, Notifier, Waiters

GATEWAY = "gateway"  # the node the gRPC frontend speaks as
CALL_RESEND = 1 * SECOND  # no answer (a lost message, a crashed host): send again
RETRY_BACKOFF = 20 * MS  # a transient failure (shard moving, write failed): retry after
LONG_POLL_LIMIT = 60 * SECOND  # matching.longPollExpirationInterval
LONG_POLL_MARGIN = 1 * SECOND  # answer this long before the caller's own deadline
DOWN_POLL = 1 * SECOND  # a poll on a crashed matching host answers empty after this
QUEUE_IDLE = 300 * SECOND  # matching.maxTaskQueueIdleTime
IDLE_SWEEP = 60 * SECOND
TIMER_KINDS = (
    rq.UserTimerTask,
    rq.ActivityTimeoutTask,
    rq.ActivityRetryTask,
    rq.WorkflowTaskTimeoutTask,
    rq.WorkflowRunTimeoutTask,
    rq.WorkflowBackoffTask,
    rq.NexusTimeoutTask,
)


def still_armed(state: MutableState, t: rq.TimerTask) -> bool:
    """Would this timer task still do something when it fires? A timeout of a task
    that completed, a user timer that fired or was cancelled, a retry of an activity
    that closed are stale: the history service will discard them (`timerQueue*TaskExecutor`
    compares them with mutable state), so time skipping must not jump to them."""
    if not state.running:
        return False
    if isinstance(t, rq.UserTimerTask):
        info = state.timer(t.timer_id)
        return info is not None and info.started_event_id == t.started_event_id
    if isinstance(t, rq.ActivityTimeoutTask | rq.ActivityRetryTask):
        activity = state.activity(t.scheduled_event_id)
        return activity is not None and activity.stamp == t.stamp
    if isinstance(t, rq.WorkflowTaskTimeoutTask):
        wft = state.wft
        return wft is not None and wft.scheduled_event_id == t.scheduled_event_id
    if isinstance(t, rq.WorkflowBackoffTask):
        return state.backoff_pending
    if isinstance(t, rq.NexusTimeoutTask):
        return nexus_timeout_armed(state, t)
    return True  # the run timeout


class DeadlineExceeded(Exception):
    """The caller's deadline passed before the cluster answered."""


class Gateway(Base):
    """The network endpoint of the gRPC frontend: replies and poll answers come here."""


class Runtime:
    def __init__(
        self,
        namespaces: Iterable[str] = ("default",),
        time_skipping: bool = False,
        seed: int = 0,
        locked: bool = False,
        store: str | None = None,
        mutant: str | None = None,
        timer_shift: int = 0,
        limits: Mapping[str, int | bool] | None = None,
    ) -> None:
        self.kernel = LiveKernel(seed, time_skipping)
        self.kernel.locks = 1 if locked else 0
        self.faults = Faults(self.kernel, FaultPlan())
        self.net = Network(self.kernel, self.faults)
        self.net.latency = (0, 0)
        self.monitor = LiveMonitor(self.kernel, None)
        self.mutant = mutant  # tests only: a broken server (sim/mutants.py) the report catches
        durable: DurablePersistence | None = None
        self.opened: Opened | None = None
        if store is not None:
            durable, self.opened = open_store(store, self.faults, SHARDS)
        self.store = durable.store if durable is not None else None
        self.cluster = ServerCluster(
            self.kernel,
            self.faults,
            self.net,
            self.monitor,
            mutant,
            namespaces=namespaces,
            persistence=durable,
        )
        self.gateway = Gateway(GATEWAY, self.kernel, self.net, self.faults)
        self.queue_stats = QueueStats()  # what `temporal task-queue describe` shows
        for matching_host in self.cluster.matching.values():
            matching_host.observer = self.queue_stats
        self.persistence = self.cluster.persistence
        self.persistence.on_commit = self._on_commit
        # timers late as on the dev server (timer_shift.py); time skipping fires them exactly
        keys = TimerShift(self.kernel, timer_shift) if timer_shift and not time_skipping else None
        # the limits the history hosts enforce (DescribeNamespace reports two of them)
        self.limits = DEFAULT_LIMITS
        if limits and mutant is None:
            self.limits = with_settings(DEFAULT_LIMITS, limits)
        for host in self.cluster.history.values():
            host.stamp_task_ids = True
            host.task_keys = keys
            host.prefix_size = self._prefix_size
            if self.limits is not DEFAULT_LIMITS:
                # limits other than the server's defaults, by dynamic-config key (as the
                # dev server's --dynamic-config-value sets them; serve_cmd.SERVED_LIMITS)
                host.handle = functools.partial(service.handle, limits=self.limits)
        self.open_runs: dict[str, RunRecord] = {}
        self.waiters = Waiters()
        # history long polls (GetWorkflowExecutionHistory with wait_new_event)
        self.notifier = Notifier(self.kernel)
        # activities inside `waiting`, by (run id, scheduled event id): the run each watches
        self.idle: dict[tuple[str, int], str] = {}
        # other holds on time skipping, each counting its own (Nexus tasks: nexus_tasks.py)
        self.holds: list[Callable[[], int]] = []
        # other times a skipping clock may jump to, each after the time given
        # (standalone activities: standalone.py)
        self.skip_sources: list[Callable[[int], int | None]] = []
        self.commit_listeners: list[Callable[[tuple[Mutation, ...]], None]] = []
        self.kernel.in_flight = self.in_flight
        self.kernel.skip_target = self.next_timer
        self._tokens = itertools.count(1)
        self.skip_targets: dict[int, int] = {}
        self.protos: dict[str, list[history_pb.HistoryEvent]] = {}  # run id -> its events
        self.waiting_polls: dict[m.TaskQueue, dict[str, asyncio.Future[object | None]]] = {}
        self.polls_on: dict[str, set[asyncio.Future[object | None]]] = {}  # by matching host
        self._pending: dict[int, asyncio.Future[Payload]] = {}
        self._stop = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        if durable is not None and self.opened is not None:
            self._reopen(durable, self.opened, seed)

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        self._pump = asyncio.get_running_loop().create_task(self.kernel.pump(self._stop))
        self.kernel.tick()
        self.cluster.rebalance()
        self.kernel.after(IDLE_SWEEP, self._unload_idle_queues)
        while any(not host.shards for host in self.cluster.history.values()):
            await asyncio.sleep(0.01)

    def _unload_idle_queues(self) -> None:
        """Every minute, forget task queues idle for 5 minutes (matching.py)."""
        for host in self.cluster.matching.values():
            host.unload_idle(self.kernel.now, QUEUE_IDLE)
        self.kernel.after(IDLE_SWEEP, self._unload_idle_queues)

    async def stop(self) -> None:
        self._stop.set()
        self.kernel.poke()
        if self._pump is not None:
            await self._pump
        if self.store is not None:
            self.store.close()

    def _reopen(self, durable: DurablePersistence, opened: Opened, seed: int) -> None:
        """Take up what a store held: each run's encoded events and size, the open
        runs, the monitor's record of what was committed, matching's lost tasks; and
        draw ids from a fresh stream, so no run id drawn before comes again."""
        if opened.generation:
            self.kernel.rng.seed(f"tmodel-serve/{seed}/{opened.generation}")
        for run_id, record in opened.runs.items():
            protos = self.protos[run_id] = [event_proto(e) for e in record.events]
            record.size_bytes = sum(framed_size(p) for p in protos)
            if record.state.running:
                self.open_runs[run_id] = record
            state = record.state
            self.monitor.adopt(run_id, record.workflow_id, state.workflow_type, record.events)
        durable.refresh_matching()

    def _prefix_size(self, run_id: str, before: int) -> int:
        """The encoded size of the run's events before event id `before` (a reset's
        rebuilt run: its WorkflowTaskStarted reports it)."""
        return sum(framed_size(p) for p in self.protos.get(run_id, [])[: max(before - 1, 0)])

    # -- commits ----------------------------------------------------------------------
    def _on_commit(self, commit: Commit, mutations: tuple[Mutation, ...]) -> None:
        self.monitor.on_commit(commit, mutations)
        for mutation in mutations:
            record = self.persistence.runs[mutation.run_id]
            # Each committed event is encoded once: the poll and history responses reuse
            # it, and its size is the history size WorkflowTaskStarted reports.
            protos = self.protos.setdefault(mutation.run_id, [])
            for event in mutation.events:
                proto = event_proto(event)
                protos.append(proto)
                record.size_bytes += framed_size(proto)
            if record.state.running:
                self.open_runs[mutation.run_id] = record
            else:
                self.open_runs.pop(mutation.run_id, None)
        for listener in self.commit_listeners:
            listener(mutations)
        for mutation in mutations:
            self.waiters.wake(mutation.run_id)
            self.notifier.notify(mutation.run_id)
        if self.idle:  # a watcher whose run changed is working again from this moment
            changed = {mutation.run_id for mutation in mutations}
            for key in [k for k, watched in self.idle.items() if watched in changed]:
                del self.idle[key]

    def busy(self) -> bool:
        """Is a workflow or activity task outstanding (time skipping waits for it)?"""
        return self.in_flight(0) > 0

    def in_flight(self, at_most: int) -> int:
        """The holds that outstanding tasks put on time skipping, counted no further than
        at_most + 1. In the Java test server scheduling a workflow or activity task locks
        the clock and its completion, failure or timeout unlocks it
        (`TestWorkflowMutableStateImpl`: lockTimer in scheduleWorkflowTask and
        processScheduleActivityTask; an activity waiting to be retried holds none), so
        an activity that sleeps through `env.sleep` (UnlockTimeSkippingWithSleep) lifts
        its own hold and the clock moves on to its timeouts. A workflow task in flight
        is a hold nothing lifts here (counted as at_most + 1): Java's timer thread jumps
        to the sleep's end before a worker can take a task the jump scheduled, while
        here a waiting poll takes it in the same step, and the jump would go on to that
        task's own 10 s timeout and time it out."""
        count = sum(hold() for hold in self.holds)
        for record in self.open_runs.values():
            state = record.state
            if state.wft is not None:
                return at_most + 1
            count += sum(1 for a in state.activities if self._working(state.run_id, a))
            if count > at_most:
                return count
        return count

    def _working(self, run_id: str, activity: ActivityInfo) -> bool:
        """Is an activity outstanding: scheduled or running, and not one that is only
        waiting for another run to change?"""
        return not activity.backoff and (run_id, activity.scheduled_event_id) not in self.idle

    def _idle_timeout(self, run_id: str, t: rq.TimerTask) -> bool:
        """A timeout of an activity inside `waiting`: not a jump target either (its
        heartbeats come in real time; a clock that jumps past it for another reason
        times it out, and the activity is retried)."""
        return isinstance(t, rq.ActivityTimeoutTask) and (run_id, t.scheduled_event_id) in self.idle

    @contextlib.contextmanager
    def waiting(self, run_id: str, scheduled_event_id: int, watched: str) -> Iterator[None]:
        """While inside, the activity only waits for the run `watched` to change (the
        scheduler's long-polling WatchWorkflow): time skipping need not wait for it.
        A commit to `watched` ends the waiting at once, before the activity resumes,
        so the clock cannot skip past what it is about to report."""
        key = (run_id, scheduled_event_id)
        self.idle[key] = watched
        self.kernel.poke()
        try:
            yield
        finally:
            self.idle.pop(key, None)

    def add_skip_target(self, when: int) -> None:
        """A TestService sleep: a time the skipping clock may jump to, like a timer."""
        self.skip_targets[when] = self.skip_targets.get(when, 0) + 1
        self.kernel.poke()

    def remove_skip_target(self, when: int) -> None:
        left = self.skip_targets.get(when, 0) - 1
        if left > 0:
            self.skip_targets[when] = left
        else:
            self.skip_targets.pop(when, None)

    def next_timer(self) -> int | None:
        """The earliest future fire time of a pending durable timer that still matters,
        or of a TestService sleep: where time skipping jumps to."""
        now = self.kernel.clock()
        best: int | None = min((t for t in self.skip_targets if t > now), default=None)
        for source in self.skip_sources:
            found = source(now)
            if found is not None and (best is None or found < best):
                best = found
        runs = self.persistence.runs
        for box in self.persistence.outbox.values():
            for task in box.values():
                t = task.task
                if (
                    isinstance(t, TIMER_KINDS)
                    and t.fire_time > now
                    and (best is None or t.fire_time < best)
                    and task.run_id in runs
                    and still_armed(runs[task.run_id].state, t)
                    and not self._idle_timeout(task.run_id, t)
                ):
                    best = t.fire_time
        return best

    # -- reads ------------------------------------------------------------------------
    def current_run_id(self, namespace: str, workflow_id: str) -> str | None:
        return self.persistence.current.get((namespace, workflow_id))

    def record(self, namespace: str, workflow_id: str, run_id: str = "") -> RunRecord | None:
        """The run (`run_id`, or the current run of `workflow_id`) in `namespace`."""
        rid = run_id or self.current_run_id(namespace, workflow_id)
        if not rid:
            return None
        record = self.persistence.runs.get(rid)
        if record is None or record.workflow_id != workflow_id:
            return None
        if record.state.namespace != namespace:
            return None
        return record

    def history_protos(
        self, run_id: str, events: Iterable[HistoryEvent]
    ) -> list[history_pb.HistoryEvent]:
        """`events` (a run's, in order) as protobuf: committed ones from the cache, others
        (a transient workflow task's, not yet written) converted now."""
        cached = self.protos.get(run_id, [])
        out = []
        for event in events:
            index = event.event_id - 1
            if 0 <= index < len(cached) and cached[index].event_id == event.event_id:
                out.append(cached[index])
            else:
                out.append(event_proto(event))
        return out

    def state(self, namespace: str, workflow_id: str, run_id: str = "") -> MutableState | None:
        record = self.record(namespace, workflow_id, run_id)
        return record.state if record is not None else None

    # -- calls to history -------------------------------------------------------------
    async def call(
        self,
        namespace: str,
        workflow_id: str,
        run_id: str,
        req: Request,
        deadline: float | None = None,
    ) -> Payload:
        """Send `req` to the history service owning the workflow; retry transient
        failures until `deadline` (loop time), then raise DeadlineExceeded."""
        loop = asyncio.get_running_loop()
        while True:
            token = next(self._tokens)
            future: asyncio.Future[Payload] = loop.create_future()
            self._pending[token] = future
            self.kernel.tick()
            self.cluster.frontend.request(
                GATEWAY, self._reply, token, namespace, workflow_id, run_id, req
            )
            self.kernel.poke()
            wait = CALL_RESEND / SECOND
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - loop.time()))
            try:
                answer = await asyncio.wait_for(asyncio.shield(future), wait)
            except TimeoutError:
                answer = None
            finally:
                self._pending.pop(token, None)
            if answer is not None and not isinstance(answer, Unavailable):
                return answer
            if deadline is not None and loop.time() >= deadline:
                raise DeadlineExceeded(f"no answer from history for {type(req).__name__}")
            if answer is not None:
                await asyncio.sleep(RETRY_BACKOFF / SECOND)

    def _reply(self, token: int, answer: Payload) -> None:
        future = self._pending.get(token)
        if future is not None and not future.done():
            future.set_result(answer)

    # -- long polls ----------------------------------------------------------------
    async def poll(
        self,
        namespace: str,
        queue_name: str,
        task_type: m.TaskKind,
        sticky: bool,
        deadline: float | None,
        identity: str = "",
        worker_version: Opaque | None = None,
    ) -> object | None:
        """A long poll on `queue_name`: the task delivered to it (a matching task, or an
        item `offer`ed to waiting polls, such as a query), or None when the long-poll
        limit or the caller's deadline (less a margin) comes first."""
        loop = asyncio.get_running_loop()
        limit = loop.time() + LONG_POLL_LIMIT / SECOND
        if deadline is not None:
            limit = min(limit, deadline - LONG_POLL_MARGIN / SECOND)
        kind = m.QueueKind.STICKY if sticky else m.QueueKind.NORMAL
        queue = task_queue(queue_name, task_type, kind, namespace)
        host = self.cluster.matching[self.cluster.router.matching_for(queue_name)]
        if not host.up:  # a crashed matching host: the poller tries again in a while
            await asyncio.sleep(max(0.0, min(DOWN_POLL / SECOND, limit - loop.time())))
            return None
        poller_id = f"{GATEWAY}/{next(self._tokens)}"
        future: asyncio.Future[object | None] = loop.create_future()
        waiting = self.waiting_polls.setdefault(queue, {})
        waiting[poller_id] = future
        on_host = self.polls_on.setdefault(host.name, set())
        on_host.add(future)

        def deliver(_poller: str, answer: Payload | None) -> None:
            if not future.done():
                future.set_result(answer)

        self.kernel.tick()
        host.poll(GATEWAY, deliver, poller_id, queue, True, identity, worker_version)
        self.kernel.poke()
        try:
            return await asyncio.wait_for(asyncio.shield(future), max(0.0, limit - loop.time()))
        except TimeoutError:
            self.kernel.tick()
            if host.cancel_poll(poller_id, queue) or future.done():
                return future.result() if future.done() else None
            # Offered a task already: history's answer is on its way; wait for it (a
            # lost answer leaves the task started, to time out as on a real server).
            try:
                return await asyncio.wait_for(future, CALL_RESEND / SECOND)
            except TimeoutError:
                return None
        except asyncio.CancelledError:
            host.cancel_poll(poller_id, queue)  # the caller went away
            raise
        finally:
            waiting.pop(poller_id, None)
            if not waiting:
                self.waiting_polls.pop(queue, None)
            on_host.discard(future)

    def inject(self, item: FaultItem, on: bool) -> None:
        """A fault begins or ends (chaos.py); a matching host that crashes drops the
        polls it held, which then answer empty, as a real frontend's would fail, and
        the pollers poll again."""
        self.cluster.inject(item, on)
        if on and item.kind == "matching-crash":
            for future in self.polls_on.pop(item.target, set()):
                if not future.done():
                    future.set_result(None)

    def offer(
        self,
        namespace: str,
        queue_name: str,
        sticky: bool,
        item: object,
        task_kind: m.TaskKind = m.TaskKind.WORKFLOW,
    ) -> bool:
        """Hand `item` to a waiting poll of the queue (a workflow-task poll unless
        `task_kind` says otherwise), taking that poll out of matching; False if no poll
        is waiting (matching sync-matches query tasks only, `matching_engine.go`
        QueryWorkflow; a standalone activity's attempt waits in standalone.py)."""
        kind = m.QueueKind.STICKY if sticky else m.QueueKind.NORMAL
        queue = task_queue(queue_name, task_kind, kind, namespace)
        host = self.cluster.matching[self.cluster.router.matching_for(queue_name)]
        for poller_id, future in list(self.waiting_polls.get(queue, {}).items()):
            if not future.done() and host.cancel_poll(poller_id, queue):
                future.set_result(item)
                return True
        return False

    def backlog(
        self, namespace: str, queue_name: str, task_type: int, partition: int | None = None
    ) -> int:
        """How many tasks wait in the normal queue (task_type 1 workflow, 2 activity), or
        in one partition of it."""
        return len(self.backlog_tasks(namespace, queue_name, task_type, partition))

    def backlog_tasks(
        self, namespace: str, queue_name: str, task_type: int, partition: int | None = None
    ) -> list[m.MatchingTask]:
        """The tasks waiting in the normal queue, or in one partition of it."""
        kind = task_kind(task_type)
        queue = task_queue(queue_name, kind, m.QueueKind.NORMAL, namespace)
        host = self.cluster.matching[self.cluster.router.matching_for(queue_name)]
        state = host.queues.get(queue)
        if state is None:
            return []
        return [
            e.task
            for e in state.backlog
            if e.queue == queue and (partition is None or e.partition == partition)
        ]

    def unload_sticky(self, namespace: str, queue_name: str) -> None:
        """ShutdownWorker unloads the worker's sticky queue (`ForceUnloadTaskQueuePartition`,
        service/frontend/workflow_handler.go): its waiting polls end empty and its poll
        history goes with it, so the next workflow task pushed to it is refused at once
        (AddWorkflowTask does not load an unloaded sticky queue and answers
        StickyWorkerUnavailable, service/matching/matching_engine.go) and goes to the
        normal queue, instead of waiting out the 10 s window of a poller seen lately.
        Its backlog, if any, stays, to time out as before."""
        queue = task_queue(queue_name, m.TaskKind.WORKFLOW, m.QueueKind.STICKY, namespace)
        host = self.cluster.matching[self.cluster.router.matching_for(queue_name)]
        self.kernel.tick()
        for poller_id, future in list(self.waiting_polls.get(queue, {}).items()):
            if not future.done() and host.cancel_poll(poller_id, queue):
                future.set_result(None)
        state = host.queues.get(queue)
        if state is not None:
            kept = tuple((q, t) for q, t in state.last_poll if q != queue)
            host.queues[queue] = dataclasses.replace(state, last_poll=kept)

    def has_poller(self, namespace: str, queue_name: str, sticky: bool) -> bool:
        kind = m.QueueKind.STICKY if sticky else m.QueueKind.NORMAL
        queue = task_queue(queue_name, m.TaskKind.WORKFLOW, kind, namespace)
        return any(not f.done() for f in self.waiting_polls.get(queue, {}).values())
