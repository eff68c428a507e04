"""Standalone activities in `tmodel serve`: each run's record, its timers, and its
attempts handed to workers through the activity task queues.

The core decides (`core.statemachine.standalone.activity`); this module keeps the
records (by namespace and activity id, newest run last, and by run id), runs the
decisions' effects and wakes the long polls waiting on a run. Timers are the live
kernel's (`kernel.at`), so they fire on the server's clock. An attempt due for a
worker is offered to an activity-task poll already waiting on its queue, and queued
here for the next poll too (`take`, asked by PollActivityTaskQueue before it polls
matching): matching's own queues belong to workflows' activities, whose tasks history
records started; a standalone attempt is recorded started here, by the core, when the
poll hands it out, as CHASM's RecordActivityTaskStarted does (activity.go
HandleStarted).

With `--store` each run's record, start request and armed timers are written to the
file whenever they change (store_standalone.py); a server started again on the file
reads them back, arms the timers again and hands a waiting attempt to matching again.
Under time skipping an attempt due for a worker or running holds the clock, as a
workflow's activity does (runtime.py `in_flight`), and the timers that would still do
something, and the dispatch of an attempt waiting out its retry delay or start delay,
are targets the clock may jump to.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core.statemachine import matching as m
from core.statemachine.standalone import activity as sa

from . import convert, errors, standalone_common
from .store_standalone import Saved, StandaloneStore
from .tokens import TaskToken

if TYPE_CHECKING:
    from .frontend import Frontend

log = logging.getLogger("tmodel.serve")


@dataclass(frozen=True, slots=True)
class Dispatched:
    """An attempt handed to matching: the run and the attempt's stamp."""

    namespace: str
    run_id: str
    stamp: int


@dataclass(slots=True)
class Entry:
    namespace: str
    activity: sa.StandaloneActivity
    request: ws.StartActivityExecutionRequest  # input, header, search attributes, ...
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    timers: list[sa.Timer] = field(default_factory=list)  # armed, not fired yet

    @property
    def business_id(self) -> str:
        return self.activity.activity_id

    @property
    def run_id(self) -> str:
        return self.activity.run_id


def not_found(activity_id: str) -> errors.ServiceError:
    return errors.not_found(sa.not_found(activity_id))


class StandaloneActivities(standalone_common.RunIndex[Entry]):
    def __init__(self, fe: Frontend) -> None:
        super().__init__()
        self.fe = fe
        self.queued: dict[tuple[str, str], deque[Dispatched]] = {}
        runtime = fe.runtime
        self.saved = StandaloneStore(runtime.store) if runtime.store is not None else None
        if self.saved is not None:
            for saved in self.saved.read():
                self._reopen(saved)
        runtime.holds.append(self.holds)
        runtime.skip_sources.append(self.next_timer)
        self.on_close: list[Callable[[Entry], None]] = []  # told when a run closes

    def _reopen(self, saved: Saved) -> None:
        """A run read back from the store: its timers armed again, its attempt handed to
        matching again if it waits for a worker (matching's queues were not stored)."""
        entry = Entry(saved.namespace, saved.activity, saved.start_request())
        self.index(entry)
        record = entry.activity
        dispatch = record.dispatch_time if record.status is sa.Status.SCHEDULED else None
        self._carry_out(entry, sa.Effects(timers=saved.timers, dispatch=dispatch))

    def _save(self, entry: Entry) -> None:
        if self.saved is not None:
            request = entry.request.SerializeToString()
            timers = tuple(entry.timers)
            self.saved.save(Saved(entry.namespace, entry.activity, request, timers))

    def forget(self, entry: Entry) -> None:
        """Delete the run (DeleteActivityExecution)."""
        self.unindex(entry)
        if self.saved is not None:
            self.saved.delete(entry.activity.run_id)

    # -- time skipping ----------------------------------------------------------------
    def holds(self) -> int:
        """The runs whose attempt is due for a worker or running: each holds a skipping
        clock, as a workflow's scheduled or running activity does (runtime.py)."""
        now = self.fe.runtime.kernel.now
        return sum(1 for entry in self.by_run.values() if _holds(entry.activity, now))

    def next_timer(self, now: int) -> int | None:
        """The earliest time after `now` at which a run's timer would still change it,
        or a waiting attempt is dispatched: where a skipping clock may jump."""
        best: int | None = None
        for entry in self.by_run.values():
            record = entry.activity
            if not record.running:
                continue
            if record.status is sa.Status.SCHEDULED and record.dispatch_time > now:
                best = record.dispatch_time if best is None else min(best, record.dispatch_time)
            for timer in entry.timers:
                if timer.due > now and (best is None or timer.due < best) and _live(record, timer):
                    best = timer.due
        return best

    # -- records ---------------------------------------------------------------------
    def current(self, namespace: str, activity_id: str, run_id: str = "") -> Entry:
        """The run named (the newest when `run_id` is empty); NOT_FOUND as the
        frontend answers it."""
        self.fe.namespace(namespace)
        entry = self.named(namespace, activity_id, run_id)
        if entry is None:
            raise not_found(activity_id)
        return entry

    def add(
        self, namespace: str, request: ws.StartActivityExecutionRequest, options: sa.Options
    ) -> Entry:
        run_id = self.fe.new_id()
        record, effects = sa.schedule(
            request.activity_id, run_id, request.request_id, options, self.fe.now()
        )
        entry = Entry(namespace, record, request)
        self.index(entry)
        self._carry_out(entry, effects)
        self._save(entry)
        return entry

    # -- decisions --------------------------------------------------------------------
    def apply(self, entry: Entry, event: sa.Event) -> sa.Decision:
        """Decide `event` on the run, store the record, carry out the effects and wake
        the run's long polls; a refusal raises the error the row names."""
        decision = sa.decide(entry.activity, event)
        changed = decision.activity != entry.activity
        closes = entry.activity.running and not decision.activity.running
        entry.activity = decision.activity
        if closes:
            for listener in self.on_close:
                listener(entry)
        self._carry_out(entry, decision.effects)
        if changed or decision.effects.timers:
            self._save(entry)
        standalone_common.settle(entry.waiters, changed, decision.effects.error)
        return decision

    def _carry_out(self, entry: Entry, effects: sa.Effects) -> None:
        kernel = self.fe.runtime.kernel
        for timer in effects.timers:
            entry.timers.append(timer)
            kernel.at(timer.due, self._fire, entry.activity.run_id, timer)
        if effects.dispatch is not None:
            item = Dispatched(entry.namespace, entry.activity.run_id, entry.activity.stamp)
            kernel.at(max(effects.dispatch, kernel.now), self._dispatch, item)

    def _fire(self, run_id: str, timer: sa.Timer) -> None:
        entry = self.by_run.get(run_id)
        if entry is None:
            return
        if timer in entry.timers:
            entry.timers.remove(timer)
            self._save(entry)
        try:
            self.apply(entry, sa.Event(timer.input, self.fe.now(), stamp=timer.stamp))
        except errors.ServiceError:
            pass  # a timer's row refuses nothing; kept from ending the kernel's pump
        except Exception:
            log.exception("standalone activity timer %s of %s", timer.input.name, run_id)

    # -- matching ---------------------------------------------------------------------
    def _live(self, item: Dispatched) -> Entry | None:
        """The run of a dispatched attempt still waiting for a worker (a dispatch task's
        Validate: TransitionStarted possible and the stamp current)."""
        entry = self.by_run.get(item.run_id)
        if entry is None:
            return None
        record = entry.activity
        if record.status is not sa.Status.SCHEDULED or record.stamp != item.stamp:
            return None
        return entry

    def _dispatch(self, item: Dispatched) -> None:
        entry = self._live(item)
        if entry is None:
            return
        queue = entry.activity.options.task_queue
        self.fe.runtime.offer(item.namespace, queue, False, item, m.TaskKind.ACTIVITY)
        # Queued even when a waiting poll took it: that poll's caller may be gone before
        # the attempt is recorded started, and the attempt must not be lost. A copy
        # taken after the attempt started is stale and skipped (`_live`).
        self.queued.setdefault((item.namespace, queue), deque()).append(item)

    def take(self, namespace: str, queue: str) -> Dispatched | None:
        waiting = self.queued.get((namespace, queue))
        while waiting:
            item = waiting.popleft()
            if self._live(item) is not None:
                return item
        return None

    def task(self, item: object, identity: str) -> ws.PollActivityTaskQueueResponse | None:
        """Record the attempt started and build the task a worker gets; None when the
        attempt is no longer waiting (closed, cancelled or timed out meanwhile)."""
        assert isinstance(item, Dispatched)
        entry = self._live(item)
        if entry is None:
            return None
        event = sa.Event(
            sa.Input.RECORD_STARTED, self.fe.now(), stamp=item.stamp, identity=identity
        )
        self.apply(entry, event)
        return activity_task(entry)

    # -- long polls -------------------------------------------------------------------
    async def changed(self, entry: Entry, deadline: float | None) -> bool:
        """Wait until the run changes (standalone_common.changed)."""
        return await standalone_common.changed(entry.waiters, deadline)


def _holds(record: sa.StandaloneActivity, now: int) -> bool:
    if record.status is sa.Status.SCHEDULED:
        return record.dispatch_time <= now  # not waiting out a retry or start delay
    return record.status in sa.ATTEMPT_RUNNING


def _live(record: sa.StandaloneActivity, timer: sa.Timer) -> bool:
    """Would the timer change the run if it fired when due (not stale: the table's own
    answer, as the history service's timer tasks are checked, runtime.py still_armed)?"""
    event = sa.Event(timer.input, timer.due, stamp=timer.stamp)
    return sa.decide(record, event).activity != record


def token(entry: Entry) -> TaskToken:
    """A standalone attempt's task token: an activity token naming no workflow, the run
    id its activity's run."""
    record = entry.activity
    return TaskToken(
        "activity",
        entry.namespace,
        "",
        record.run_id,
        attempt=record.attempt,
        activity_id=record.activity_id,
    )


def retry_policy(policy: Any) -> common_pb.RetryPolicy:
    out = common_pb.RetryPolicy(
        backoff_coefficient=policy.backoff_coefficient,
        maximum_attempts=policy.maximum_attempts,
        non_retryable_error_types=list(policy.non_retryable_error_types),
    )
    out.initial_interval.CopyFrom(convert.duration(policy.initial_interval))
    out.maximum_interval.CopyFrom(convert.duration(policy.maximum_interval))
    return out


def activity_task(entry: Entry) -> ws.PollActivityTaskQueueResponse:
    """What a worker gets (GenerateRecordActivityTaskStartedResponse): no workflow, the
    activity's run id, the current attempt."""
    record, request = entry.activity, entry.request
    options = record.options
    out = ws.PollActivityTaskQueueResponse(
        task_token=token(entry).encode(),
        workflow_namespace=entry.namespace,
        activity_type=common_pb.ActivityType(name=options.activity_type),
        activity_id=record.activity_id,
        activity_run_id=record.run_id,
        attempt=record.attempt,
        retry_policy=retry_policy(options.retry_policy),
    )
    out.header.CopyFrom(request.header)
    out.input.CopyFrom(request.input)
    out.priority.CopyFrom(request.priority)
    convert.fill(out.heartbeat_details, record.heartbeat_details)
    out.scheduled_time.CopyFrom(convert.timestamp(record.schedule_time))
    out.current_attempt_scheduled_time.CopyFrom(convert.timestamp(record.dispatch_time))
    out.started_time.CopyFrom(convert.timestamp(record.started_time))
    out.schedule_to_close_timeout.CopyFrom(convert.duration(options.schedule_to_close))
    out.start_to_close_timeout.CopyFrom(convert.duration(options.start_to_close))
    out.heartbeat_timeout.CopyFrom(convert.duration(options.heartbeat))
    return out
