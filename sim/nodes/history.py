"""A history host: owns shards, runs the pure history service, drains the outbox.

Theory of operation (docs/temporal-semantics.md#history-shards; Temporal's
`service/history/shard/`, `service/history/queues/`): a host serves
requests only for shards it owns. It loads a run's mutable state (its cache, else the
store), calls `handle(state, request, now)` with its own clock, and commits the new
state, the events and the outbox tasks in one write fenced by its range id
(INV-SINGLE-SHARD-WRITER). Only then does it reply and hand the new tasks to its queue
processors: transfer tasks are pushed to matching until matching acks them, timer tasks
fire at their time; each is deleted from the outbox (the ack level moves) once done.
When a host acquires a shard (start, failover, a write in doubt) it bumps the range id
and re-executes every task still in the outbox: at-least-once, and history dedupes.
A write that timed out may or may not have happened, so the shard goes back to
Acquiring (`handleWriteErrorLocked`) and re-reads everything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from core import requests as rq
from core.errors import InvalidTransition
from core.statemachine import shard as shardlib
from core.statemachine.history.service import handle as service
from core.statemachine.history.service import unwritten_task, update, workflow_task
from core.statemachine.history.service.handle import HandleFn
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.txn import Outcome
from core.statemachine.matching import (
    AddOutcome,
    MatchingTask,
    QueueKind,
    StickyWorkerUnavailable,
    TaskKind,
)
from sim.invariants import transition_rule
from sim.kernel import MS, SECOND
from sim.nodes import transfer
from sim.nodes.base import (
    Base,
    ByClass,
    Describe,
    History,
    InlineWorkflowTask,
    Payload,
    Request,
    Router,
    StartedActivityTask,
    StartedWorkflowTask,
    Unavailable,
    task_queue,
)
from sim.nodes.reset import reset_run
from sim.persistence import (
    ArchiveTask,
    DeleteHistoryTask,
    Mutation,
    OutboxTask,
    Persistence,
    RetentionTask,
    RunRecord,
    Timeout,
)

if TYPE_CHECKING:
    from sim.nodes.task_keys import TaskKeys
    from sim.retention import Retention

# isinstance's type tuples, built once (`A | B` builds a union at every call)
_REFUSED = (Unavailable, rq.Error)
_PUSHED = (rq.WorkflowTaskTransfer, rq.ActivityTaskTransfer)
_RETENTION_TASKS = (ArchiveTask, DeleteHistoryTask)
# How _process routes an outbox task, by its class: pushed to matching, a timer, a
# retention task, else (TRANSFER) a task that reaches another workflow.
_ROUTE = ByClass(_PUSHED, rq.TimerTask, _RETENTION_TASKS)
PUSHED, TIMER, RETENTION, TRANSFER = range(4)
# The replies _enrich adds to (OTHER_REPLY: any other, passed on as it is)
_COMPLETED = (rq.WorkflowTaskCompletedOk, rq.TaskDiscarded)  # may carry an inline task
_STARTED = ByClass((rq.WorkflowTaskStarted, rq.ActivityTaskStarted, *_COMPLETED))
OTHER_REPLY = 1
# The requests _serve looks at before the service handles them; any other goes straight
# to the service (index 1: none of them).
_SPECIAL = ByClass(
    (
        rq.StartWorkflowExecution,
        rq.SignalWithStartWorkflowExecution,
        rq.RecordWorkflowTaskStarted,
        rq.RespondWorkflowTaskCompleted,
        Describe,
        rq.ResetWorkflowExecution,
        rq.RecordChildExecutionCompleted,
    )
)
ACQUIRED = shardlib.ShardState.ACQUIRED  # bound once: read on every request
PUSH_RETRY = 1 * SECOND
RESET_REDIRECTS = 100  # maxResetRedirectCount
TIMER_RETRY = 200 * MS


@dataclass(slots=True)
class Shard:
    ctx: shardlib.ShardContext
    cache: dict[str, tuple[MutableState, int]] = field(default_factory=dict)


class HistoryHost(Base):
    def __init__(
        self,
        name: str,
        cluster: Any,
        persistence: Persistence,
        router: Router,
        handle: HandleFn,
    ) -> None:
        super().__init__(name, cluster.kernel, cluster.net, cluster.faults)
        self.cluster = cluster
        self.persistence = persistence
        self.router = router
        self.handle = handle
        self.shards: dict[int, Shard] = {}
        self.requests = 0
        self.stamp_task_ids = False
        self.retention: Retention | None = None  # the cluster's, when it has a retention
        self.task_keys: TaskKeys | None = None  # serve's timer latency (sim/nodes/task_keys.py)
        # serve's Worker Deployments: a request as matching's routing amends it (a task's
        # start carries the run's target version: adapters/serve/deployments.py)
        self.amend: Callable[[str, str, str, Request], Request] | None = None
        # the encoded size of a run's history before an event id, where a store keeps
        # sizes (serve's runtime): a reset's rebuilt run reports it
        self.prefix_size: Callable[[str, int], int] | None = None

    # -- membership -------------------------------------------------------------------
    def crash(self) -> None:
        super().crash()
        self.shards = {}

    def acquire_shard(self, shard_id: int) -> None:
        """Own `shard_id`: bump its range id, then re-execute its outbox."""
        if not self.up:
            return
        ctx = self.persistence.acquire(shardlib.start(shard_id, self.name))
        sh = self.shards[shard_id] = Shard(ctx)
        self.kernel.log(self.name, f"acquire shard-{shard_id} range={ctx.range_id}")
        for task in self.persistence.pending(shard_id):
            self._process(sh, task)

    def release_shard(self, shard_id: int) -> None:
        """Membership news: let go of `shard_id` unless the ring gives it back to us."""
        if self.router.owner.get(shard_id) == self.name:
            return
        if self.shards.pop(shard_id, None) is not None:
            self.kernel.log(self.name, f"release shard-{shard_id}")

    def _lose(self, sh: Shard) -> None:
        ctx = shardlib.transition(sh.ctx, shardlib.ShardInput.OWNERSHIP_LOST)
        shardlib.transition(ctx, shardlib.ShardInput.FINISH_STOP)
        self.shards.pop(sh.ctx.shard_id, None)
        self.kernel.log(self.name, f"lost shard-{sh.ctx.shard_id}")

    def _in_doubt(self, sh: Shard) -> None:
        """A write timed out: back to Acquiring, re-acquire, re-read, re-execute."""
        shardlib.transition(sh.ctx, shardlib.ShardInput.WRITE_OUTCOME_UNKNOWN)
        self.kernel.log(self.name, f"write in doubt shard-{sh.ctx.shard_id}")
        self.acquire_shard(sh.ctx.shard_id)

    def _owned(self, shard_id: int, range_id: int | None = None) -> Shard | None:
        sh = self.shards.get(shard_id)
        if sh is None or sh.ctx.state is not ACQUIRED:
            return None
        if range_id is not None and sh.ctx.range_id != range_id:
            return None
        return sh

    # -- requests ---------------------------------------------------------------------
    def request(
        self,
        src: str,
        reply: Callable[..., None],
        token: object,
        shard_id: int,
        namespace: str,
        workflow_id: str,
        run_id: str,
        req: Request,
    ) -> None:
        """An RPC from frontend or matching; the answer goes straight back to `src`."""
        if self.amend is not None:
            req = self.amend(namespace, workflow_id, run_id, req)
        answer = self.serve(shard_id, namespace, workflow_id, run_id, req)
        self.net.send(self.name, src, reply, token, answer)

    def serve(
        self, shard_id: int, namespace: str, workflow_id: str, run_id: str, req: Request
    ) -> Payload:
        """Handle `req` on the run, if this host owns its shard (`serve_on`)."""
        sh = self._owned(shard_id)
        if sh is None:
            return Unavailable(f"{self.name} does not own shard-{shard_id}")
        return self.serve_on(sh, self.clock(), namespace, workflow_id, run_id, req)

    def serve_on(
        self, sh: Shard, now: int, namespace: str, workflow_id: str, run_id: str, req: Request
    ) -> Payload:
        """Handle `req` on the run, on owned shard `sh` at this host's time `now`; a
        transition the service's own tables refuse is a bug of the service: reported
        under the table's rule, and the caller retries."""
        try:
            answer = self._serve(sh, now, namespace, workflow_id, run_id, req)
        except InvalidTransition as error:
            rule = transition_rule(error)
            self.cluster.monitor.violate(rule, f"{type(req).__name__}: {error}", run_id or None)
            return Unavailable(f"internal error: {error}")
        if run_id and not isinstance(answer, _REFUSED):
            # accepted: a cause or an answer to account
            self.cluster.monitor.ledger.served(run_id, req)
        return answer

    def _serve(
        self, sh: Shard, now: int, namespace: str, workflow_id: str, run_id: str, req: Request
    ) -> Payload:
        self.requests += 1
        persistence = self.persistence
        rid = run_id or persistence.current.get((namespace, workflow_id), "")
        loaded = self._load(sh, rid) if rid else None
        if _SPECIAL[type(req)]:  # none of _SPECIAL (most requests): to the service as is
            if loaded is None:
                return rq.Error(rq.ErrorKind.NOT_FOUND, f"no run {workflow_id}/{run_id}")
            # not a Describe nor a reset (both in _SPECIAL): an rq.Request, which mypy
            # cannot tell from the lookup
            outcome = self.handle(loaded[0], req, now)  # type: ignore[arg-type]
        elif isinstance(req, rq.StartWorkflowExecution):
            if loaded is None:
                refused = service.admit_start(req)  # too big to start (enforce.py)
                if refused is not None:
                    return refused
                return self._commit(sh, workflow_id, "", None, service.start(req, now), now)[0]
            outcome = self.handle(loaded[0], req, now)
        elif isinstance(req, rq.SignalWithStartWorkflowExecution) and (
            loaded is None or not loaded[0].running
        ):  # no running run: a new one starts, with the signal as its first event
            refused = service.admit_start(req)
            if refused is not None:
                return refused
            started = service.signal_with_start(None, req, now)
            return self._commit(sh, workflow_id, "", None, started, now)[0]
        elif loaded is None:
            return rq.Error(rq.ErrorKind.NOT_FOUND, f"no run {workflow_id}/{run_id}")
        elif _starts_task(req) and persistence.runs[rid].size_bytes:
            # the history's size so far, where the store keeps it (the live server does)
            size = persistence.runs[rid].size_bytes
            req = dataclasses.replace(req, history_size_bytes=size)
            outcome = self.handle(loaded[0], req, now)
        elif isinstance(req, Describe):
            events = tuple(persistence.runs[rid].events)
            return History(events, loaded[0].workflow_type)
        elif isinstance(req, rq.ResetWorkflowExecution):
            return reset_run(self, sh, namespace, workflow_id, rid, loaded, req, now)
        else:
            if isinstance(req, rq.RecordChildExecutionCompleted):
                rid, loaded = self._reset_successor(sh, rid, loaded)
            outcome = self.handle(loaded[0], req, now)
        reply, ok = self._commit(sh, workflow_id, rid, loaded, outcome, now)
        if ok:
            return self._enrich(rid, reply, req)
        return reply

    def _load(self, sh: Shard, run_id: str) -> tuple[MutableState, int] | None:
        hit = sh.cache.get(run_id)
        if hit is not None:
            return hit
        record = self.persistence.runs.get(run_id)
        if record is None:
            return None
        sh.cache[run_id] = (record.state, record.version)
        return sh.cache[run_id]

    def _commit(
        self,
        sh: Shard,
        workflow_id: str,
        run_id: str,
        loaded: tuple[MutableState, int] | None,
        outcome: Outcome,
        now: int,
    ) -> tuple[Payload, bool]:
        """Write the outcome (and a continued run) in one fenced transaction."""
        state = outcome.state
        tasks = outcome.tasks
        # A new timer or transfer task must be written even when nothing else changed
        # (a heartbeat timeout re-armed for the last heartbeat is such a task).
        if loaded is None or state is not loaded[0] or outcome.events or tasks:
            version = 0 if loaded is None else loaded[1]
            mutations = [Mutation(state.run_id, workflow_id, version, state, outcome.events)]
        elif outcome.new_run is None:
            return outcome.reply, True  # nothing to write (an obsolete timer, a repeat)
        else:
            mutations = []
        run_id = state.run_id
        owned: list[tuple[str, rq.Task | RetentionTask]] = [(run_id, task) for task in tasks]
        if outcome.new_run is not None:
            started = service.start(outcome.new_run, now)
            new = started.state
            owned.extend((new.run_id, task) for task in started.tasks)
            mutations.append(Mutation(new.run_id, workflow_id, 0, new, started.events))
        return self._write(sh, mutations, owned, state.namespace, outcome.reply)

    def _write(
        self,
        sh: Shard,
        mutations: list[Mutation],
        owned: Sequence[tuple[str, rq.Task | RetentionTask]],
        namespace: str,
        reply: Payload,
    ) -> tuple[Payload, bool]:
        """Commit `mutations` and the outbox tasks (each with the run that owns it) in
        one write fenced by the shard's range id; then process the tasks."""
        if not mutations:
            return reply, True
        workflow_id = mutations[0].workflow_id
        # Allocating task ids may renew the shard (a new range id): use the renewed one.
        if self.stamp_task_ids:
            sh, mutations = self._stamp(sh, mutations)
        if self.retention is not None:  # the close tasks (sim/retention.py)
            owned = [*owned, *self.retention.close_tasks(mutations)]
        sh, outbox = self._outbox(sh, owned, workflow_id, namespace)
        result = self.persistence.write(sh.ctx, tuple(mutations), outbox)
        if isinstance(result, shardlib.WriteOk):
            for m in mutations:
                sh.cache[m.run_id] = (m.state, m.expected_version + 1)
            if self.task_keys is not None:
                self.task_keys.written(sh.ctx.shard_id, mutations, outbox)
            for task in outbox:
                self._process(sh, task)
            return reply, True
        for m in mutations:
            sh.cache.pop(m.run_id, None)
        if isinstance(result, shardlib.ShardOwnershipLost):
            self._lose(sh)
        elif isinstance(result, Timeout):
            self._in_doubt(sh)
        return Unavailable(f"write failed: {type(result).__name__}"), False

    def _outbox(
        self,
        sh: Shard,
        owned: Sequence[tuple[str, rq.Task | RetentionTask]],
        workflow_id: str,
        namespace: str,
    ) -> tuple[Shard, tuple[OutboxTask, ...]]:
        out: list[OutboxTask] = []
        for owner, task in owned:
            sh, task_id = self._task_id(sh)
            out.append(OutboxTask(task_id, owner, workflow_id, task, namespace))
        return sh, tuple(out)

    def _task_id(self, sh: Shard) -> tuple[Shard, int]:
        """The shard's next task id (`shard/context_impl.go` allocates them from the
        range the shard owns; an exhausted range is renewed by acquiring it again)."""
        ctx, task_id = shardlib.allocate_task_id(sh.ctx)
        if task_id is None:
            self.acquire_shard(sh.ctx.shard_id)
            sh = self.shards[sh.ctx.shard_id]
            ctx, task_id = shardlib.allocate_task_id(sh.ctx)
            assert task_id is not None
        sh.ctx = ctx
        return sh, task_id

    def _stamp(self, sh: Shard, mutations: list[Mutation]) -> tuple[Shard, list[Mutation]]:
        """Give every event the task id it is written under (the live server does, as
        Temporal's history events carry one; the simulator leaves them 0)."""
        out = []
        for m in mutations:
            events = []
            for event in m.events:
                if event.task_id:  # a reset's copy of its base run's event keeps its id
                    events.append(event)
                    continue
                sh, task_id = self._task_id(sh)
                events.append(dataclasses.replace(event, task_id=task_id))
            out.append(dataclasses.replace(m, events=tuple(events)))
        return sh, out

    def _reset_successor(
        self, sh: Shard, run_id: str, loaded: tuple[MutableState, int]
    ) -> tuple[str, tuple[MutableState, int]]:
        """A child's close reported to a parent closed by a reset goes on to the run the
        reset started, following at most 100 resets (`recordchildworkflowcompleted/api.go`,
        maxResetRedirectCount)."""
        for _ in range(RESET_REDIRECTS):
            state = loaded[0]
            if state.running or not state.reset_run_id:
                break
            successor = self._load(sh, state.reset_run_id)
            if successor is None:
                break
            run_id, loaded = state.reset_run_id, successor
        return run_id, loaded

    def _enrich(self, run_id: str, reply: Payload, req: Request) -> Payload:
        """Record*Started replies carry what the worker needs (history, activity id)."""
        if _STARTED[type(reply)] == OTHER_REPLY:  # most replies: as they are
            return reply
        record = self.persistence.runs[run_id]
        if isinstance(reply, rq.WorkflowTaskStarted) and isinstance(
            req, rq.RecordWorkflowTaskStarted
        ):
            return _workflow_task(record, reply, req.from_sticky_queue)
        if isinstance(reply, _COMPLETED):
            if reply.new_task is None:
                return reply
            # Started inline for the worker that completed the last task, which holds the
            # history up to it: shown as a sticky poll shows it, whatever the queue ("sticky
            # is always enabled" for it, respondworkflowtaskcompleted/api.go)
            return InlineWorkflowTask(reply, _workflow_task(record, reply.new_task, True))
        if isinstance(reply, rq.ActivityTaskStarted):
            info = record.state.activity(reply.token.scheduled_event_id)
            activity_id = info.activity_id if info is not None else "?"
            return StartedActivityTask(record.workflow_id, run_id, activity_id, reply)
        return reply

    # -- queue processors -------------------------------------------------------------
    def _process(self, sh: Shard, task: OutboxTask) -> None:
        t = task.task
        ctx = sh.ctx
        shard_id, range_id = ctx.shard_id, ctx.range_id
        route = _ROUTE[type(t)]
        if route == PUSHED:
            self._push(shard_id, range_id, task)
        elif route == TIMER:
            assert isinstance(t, rq.TimerTask)
            due = t.fire_time - self.faults.skew.get(self.name, 0)
            if self.task_keys is not None:
                due = self.task_keys.fire_time(shard_id, task, due)
            self.kernel.at(due, self._fire, shard_id, range_id, task)
        elif route == RETENTION:  # sim/retention.py
            if self.retention is not None:
                self.retention.process(self, sh, task)
        else:  # reaches another workflow: a child, a parent, a signal or cancel target
            transfer.execute(self, (shard_id, range_id, task.task_id), task)

    # -- what transfer.py needs ---------------------------------------------------------
    def owned_pending(self, shard_id: int, range_id: int, task_id: int) -> Shard | None:
        """The shard, if this host owns it under `range_id` and task `task_id` is still in
        its outbox."""
        sh = self.shards.get(shard_id)  # self._owned(shard_id, range_id) written out
        if sh is None or sh.ctx.state is not ACQUIRED or sh.ctx.range_id != range_id:
            return None
        if not self.persistence.is_pending(shard_id, task_id):
            return None
        return sh

    def run_state(self, run_id: str) -> MutableState | None:
        record = self.persistence.runs.get(run_id)
        return record.state if record is not None else None

    def finish_transfer(self, key: tuple[int, int, int], task: OutboxTask) -> None:
        if self.owned_pending(*key) is not None:
            self._ack(*key)

    def on_transfer_reply(self, then: object, answer: Payload) -> None:
        if callable(then):
            then(answer)

    def _push(self, shard_id: int, range_id: int, task: OutboxTask, normal: bool = False) -> None:
        """Push a workflow or activity task to matching; with `normal`, a sticky workflow
        task goes to its run's normal queue (matching found no sticky poller)."""
        if self.owned_pending(shard_id, range_id, task.task_id) is None:
            return
        t = task.task
        assert isinstance(t, _PUSHED)
        if normal and isinstance(t, rq.WorkflowTaskTransfer) and t.sticky:
            state = self.run_state(task.run_id)
            if state is None:  # the run is gone: nothing to push (processWorkflowTask)
                self._ack(shard_id, range_id, task.task_id)
                return
            t = workflow_task.push_to_normal_queue(state, t)
        if isinstance(t, rq.WorkflowTaskTransfer):
            kind = QueueKind.STICKY if t.sticky else QueueKind.NORMAL
            queue = task_queue(t.task_queue, TaskKind.WORKFLOW, kind, task.namespace)
        else:
            queue = task_queue(t.task_queue, TaskKind.ACTIVITY, namespace=task.namespace)
        mtask = MatchingTask(
            task.namespace,
            task.workflow_id,
            task.run_id,
            t.scheduled_event_id,
            t.stamp,
            queue.task_type,
        )
        host = self.router.matching_for(t.task_queue)
        node = self.cluster.matching[host]
        self.net.send(
            self.name,
            host,
            node.add_task,
            self.name,
            self.on_added,
            queue,
            mtask,
            (shard_id, range_id, task),
        )
        self.kernel.after(PUSH_RETRY, self._push, shard_id, range_id, task)

    def on_added(self, key: tuple[int, int, OutboxTask], answer: AddOutcome) -> None:
        """Matching has the task: ack it (delete it from the outbox). If it answered
        StickyWorkerUnavailable, push the task to the normal queue instead
        (`processWorkflowTask` in transfer_queue_active_task_executor.go)."""
        shard_id, range_id, task = key
        if isinstance(answer, StickyWorkerUnavailable):
            self._push(shard_id, range_id, task, normal=True)
            return
        self._ack(shard_id, range_id, task.task_id)

    def _ack(self, shard_id: int, range_id: int, task_id: int) -> None:
        """Delete a done task from the outbox, if this host still owns the shard under
        `range_id`; a fenced-off ack means the shard is lost."""
        sh = self.shards.get(shard_id)  # self._owned(shard_id, range_id) written out
        if sh is None or sh.ctx.state is not ACQUIRED or sh.ctx.range_id != range_id:
            return
        if not self.persistence.complete_task(sh.ctx, task_id):
            self._lose(sh)

    def _fire(self, shard_id: int, range_id: int, task: OutboxTask) -> None:
        if self.task_keys is not None:
            self.task_keys.fired(shard_id, task)
        sh = self.owned_pending(shard_id, range_id, task.task_id)
        if sh is None:
            return
        t = task.task
        assert isinstance(t, rq.TimerTask)
        now = self.clock()
        early = t.fire_time - now
        if early > 0:  # this host's clock is behind the task's time
            self.kernel.after(early, self._fire, shard_id, range_id, task)
            return
        answer = self.serve_on(
            sh, now, task.namespace, task.workflow_id, task.run_id, rq.FireTimer(t)
        )
        if isinstance(answer, Unavailable):
            self.kernel.after(TIMER_RETRY, self._fire, shard_id, range_id, task)
            return
        self._ack(shard_id, range_id, task.task_id)

    # -- what sim/retention.py needs ------------------------------------------------------
    def add_tasks(self, sh: Shard, owner: OutboxTask, task: RetentionTask) -> bool:
        """Add `task` for `owner`'s run to the shard's outbox alone (AddHistoryTasks) and
        process it; False if the write failed (the caller retries)."""
        sh, outbox = self._outbox(sh, [(owner.run_id, task)], owner.workflow_id, owner.namespace)
        if not self.persistence.add_tasks(sh.ctx, outbox):
            return False
        for added in outbox:
            self._process(sh, added)
        return True

    def forget(self, sh: Shard, run_id: str) -> None:
        """A run was deleted: drop it from the shard's cache."""
        sh.cache.pop(run_id, None)

    def write_failed(self, sh: Shard, result: object) -> None:
        """A write lost the shard, or timed out (its outcome unknown)."""
        if isinstance(result, Timeout):
            self._in_doubt(sh)
        else:
            self._lose(sh)


def _starts_task(
    req: Request,
) -> TypeGuard[rq.RecordWorkflowTaskStarted | rq.RespondWorkflowTaskCompleted]:
    """Does `req` start a workflow task whose WorkflowTaskStarted records the history's
    size: a poller's start, or a completion asking for the next task inline?"""
    if isinstance(req, rq.RespondWorkflowTaskCompleted):
        return req.return_new_workflow_task
    return isinstance(req, rq.RecordWorkflowTaskStarted)


def _workflow_task(
    record: RunRecord, started: rq.WorkflowTaskStarted, sticky: bool
) -> StartedWorkflowTask:
    """The task `started` names, with the history up to its start and the updates it
    carries, as a poll of the sticky (`sticky`) or the normal queue hands it out."""
    state = record.state
    # A transient or speculative task's Scheduled/Started are not written yet; the
    # worker is shown them all the same (unwritten_task.transient_events).
    history = (
        *record.events[: started.next_event_id - 1],
        *unwritten_task.transient_events(state),
    )
    updates = update.requests_to_send(state)
    wid, rid = record.workflow_id, state.run_id
    return StartedWorkflowTask(wid, rid, state.workflow_type, started, history, updates, sticky)
