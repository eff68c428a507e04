"""The state and plumbing of the conformance driver (adapters/conform/derive.py), and
how it drives an activity's attempts.

`DriverBase` keeps the model's run as the driver steps it (the mutable state, the events
written, the timer tasks pending) and sends requests to the pure history service; a
refused request raises CannotReproduce. The activity half: a real history records only
an activity's final attempt, so the attempts before it are replayed as having ended the
way the last one did (its failure is on the final ActivityTaskStarted), a timeout is
preceded by the heartbeat its failure recorded, and a cancel request issued while the
activity ran starts it first.

The server's suggest-continue-as-new levels are dynamic config, which a history does not
record: `limits_of` reads the tightest levels the history's own WorkflowTaskStarted
events show, and the driver's requests run under them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from adapters.conform.requests import (
    CannotReproduce,
    activity_failed,
    failure_info,
    root_of,
    timeout_type,
)
from core import requests as rq
from core.commands import Command, RequestCancelActivityTaskCommandAttributes
from core.enums import (
    EventType,
    RetryState,
    SuggestContinueAsNewReason,
    TaskQueueKind,
    TimeoutType,
)
from core.event_sets import BUFFERABLE_EVENT_TYPES
from core.events import HistoryEvent, TaskQueue, WorkflowTaskStartedEventAttributes
from core.opaque import Opaque
from core.statemachine.history.limits import DEFAULT_LIMITS, Limits
from core.statemachine.history.service import handle as service
from core.statemachine.history.service import reset_points
from core.statemachine.history.service.state import MutableState, ParentInfo
from core.statemachine.history.service.txn import Outcome

E = EventType

# The server's own workflows (scheduler, batcher, Worker Deployment) run on its
# per-namespace worker queue (`PerNSWorkerTaskQueue`, common/primitives) and are started
# without the frontend's normalisation, so their Started event's queue has no kind.
PER_NS_QUEUE = "temporal-sys-per-ns-tq"


def internal_start(queue: TaskQueue | None) -> bool:
    """Whether a WorkflowExecutionStarted's queue shows one of the server's own starts."""
    return (
        queue is not None and queue.name == PER_NS_QUEUE and queue.kind is TaskQueueKind.UNSPECIFIED
    )


def start_request(
    event: HistoryEvent, namespace_id: str, namespace: str = ""
) -> rq.StartWorkflowExecution:
    """The start behind a WorkflowExecutionStarted event (the namespace's id and name,
    as the history's other events show them, where the event names none; else
    "default")."""
    a = attrs(event)
    parent = a.parent_workflow_execution
    return rq.StartWorkflowExecution(
        namespace=a.parent_workflow_namespace or namespace or "default",
        workflow_id=a.workflow_id or "wf",
        run_id=a.original_execution_run_id,
        workflow_type=a.workflow_type.name if a.workflow_type else "",
        task_queue=a.task_queue.name if a.task_queue else "",
        request_id="start",
        input=a.input,
        workflow_task_timeout=a.workflow_task_timeout or 10**10,
        run_timeout=a.workflow_run_timeout or 0,
        execution_timeout=a.workflow_execution_timeout or 0,
        first_workflow_task_backoff=a.first_workflow_task_backoff or 0,
        retry_policy=a.retry_policy,
        attempt=a.attempt,
        initiator=a.initiator,
        continued_execution_run_id=a.continued_execution_run_id,
        continued_failure=a.continued_failure,
        first_execution_run_id=a.first_execution_run_id,
        identity=a.identity,
        header=a.header,
        memo=a.memo,
        search_attributes=a.search_attributes,
        last_completion_result=a.last_completion_result,
        parent=(
            ParentInfo(parent.workflow_id, parent.run_id, a.parent_initiated_event_id)
            if parent is not None
            else None
        ),
        namespace_id=a.parent_workflow_namespace_id or namespace_id,
        root=root_of(a.root_workflow_execution),
        explicit_run_timeout=a.workflow_run_timeout is not None,
        explicit_execution_timeout=a.workflow_execution_timeout is not None,
        reset_points=reset_points.from_json(a.prev_auto_reset_points),
        cron_schedule=a.cron_schedule,
        request_eager_execution=a.eager_execution_accepted,
        completion_callbacks=a.completion_callbacks,
        # the frontend's clock set it (a first start) or the run before it did
        execution_expiration=a.workflow_execution_expiration_time or 0,
        user_metadata=event.user_metadata,
        priority=a.priority,
        versioning=rq.StartVersioning.read_back(a),
        links=event.links,
        internal=internal_start(a.task_queue),
    )


ACTIVITY_CLOSES = frozenset(
    {
        E.ACTIVITY_TASK_COMPLETED,
        E.ACTIVITY_TASK_FAILED,
        E.ACTIVITY_TASK_TIMED_OUT,
        E.ACTIVITY_TASK_CANCELED,
    }
)


def attrs(event: HistoryEvent) -> Any:
    """The attributes, untyped: the driver reads the fields its event type has."""
    return event.attributes


def _completed_by_id(started: HistoryEvent, close: HistoryEvent) -> bool:
    """Whether an activity's close is a completion by id of an attempt no worker had
    started: the server then writes a Started with the completer's identity and no
    request id (fabricateStartedEvent in
    service/history/api/respondactivitytaskcompleted/api.go), where a worker's start
    always has its poll's request id."""
    a = attrs(started)
    return (
        close.event_type is E.ACTIVITY_TASK_COMPLETED
        and not a.request_id
        and a.identity == attrs(close).identity
    )


def limits_of(real: Sequence[HistoryEvent]) -> Limits:
    """The server's default limits, with each suggest-continue-as-new level lowered to
    the least count (the Started event's id: the next event id when the task started)
    or size at which `real` shows the server suggesting for that reason. The server
    suggests once the count or size reaches its level (`getHistorySizeInfo` in
    service/history/workflow/workflow_task_state_machine.go), so the level is at most
    that value; every level above the last task started without the suggestion and up
    to that value writes the same history, and this takes the highest."""
    count, size = DEFAULT_LIMITS.history_count_suggest_continue_as_new, None
    for event in real:
        a = event.attributes
        if not isinstance(a, WorkflowTaskStartedEventAttributes):
            continue
        if SuggestContinueAsNewReason.TOO_MANY_HISTORY_EVENTS in a.suggest_continue_as_new_reasons:
            count = min(count, event.event_id)
        if SuggestContinueAsNewReason.HISTORY_SIZE_TOO_LARGE in a.suggest_continue_as_new_reasons:
            size = a.history_size_bytes if size is None else min(size, a.history_size_bytes)
    default_size = DEFAULT_LIMITS.history_size_suggest_continue_as_new
    return replace(
        DEFAULT_LIMITS,
        history_count_suggest_continue_as_new=count,
        history_size_suggest_continue_as_new=min(default_size, size or default_size),
    )


def admitted_late(
    real: Sequence[HistoryEvent], scheduled_id: int
) -> list[rq.UpdateWorkflowExecution]:
    """The updates accepted by the task scheduled as event `scheduled_id` whose
    acceptance names an event written after that one (not an UpdateAdmitted): an
    update's speculative task that other events made normal before it started
    (workflow_task.py write_speculative). They were admitted by the time it was
    scheduled."""
    by_id = {e.event_id: e for e in real}
    done = next(
        (
            k
            for k, e in enumerate(real)
            if e.event_type is E.WORKFLOW_TASK_COMPLETED
            and attrs(e).scheduled_event_id == scheduled_id
        ),
        len(real),
    )
    requests: list[rq.UpdateWorkflowExecution] = []
    for event in real[done + 1 :]:
        if event.event_type in (E.WORKFLOW_TASK_SCHEDULED, E.WORKFLOW_TASK_STARTED):
            break
        a = attrs(event)
        if event.event_type is not E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            continue
        named = by_id.get(a.accepted_request_sequencing_event_id)
        if (
            named is not None
            and named.event_id > scheduled_id
            and named.event_type is not E.WORKFLOW_EXECUTION_UPDATE_ADMITTED
        ):
            requests.append(rq.UpdateWorkflowExecution(a.protocol_instance_id, a.accepted_request))
    return requests


class DriverBase:
    """The run the driver builds from `real`, and the requests that build it."""

    def __init__(self, real: Sequence[HistoryEvent]) -> None:
        self.real = real
        self.limits = limits_of(real)
        self.state: MutableState | None = None
        self.written: list[HistoryEvent] = []
        self.timers: list[rq.TimerTask] = []
        # The starts the model made of other runs: the run that continues this one's
        # chain (continue-as-new, retry, cron) and its children, by Initiated event id
        # (0), which a recorded successor's Started event can be checked against.
        self.successors: list[tuple[int, rq.StartWorkflowExecution]] = []

    # -- plumbing -------------------------------------------------------------------
    def apply(self, outcome: Outcome) -> rq.Reply:
        self.state = outcome.state
        self.written.extend(outcome.events)
        if isinstance(outcome.new_run, rq.StartWorkflowExecution):
            self.successors.append((0, outcome.new_run))
        for task in outcome.tasks:
            if isinstance(task, rq.TimerTask):
                self.timers.append(task)
            elif isinstance(task, rq.StartChildTransfer):
                self.successors.append((task.initiated_event_id, task.request))
        return outcome.reply

    def send(self, request: rq.Request, now: int) -> rq.Reply:
        assert self.state is not None
        reply = self.apply(service.handle(self.state, request, now, self.limits))
        if isinstance(reply, rq.Error):
            raise CannotReproduce(f"{type(request).__name__} rejected: {reply.message}")
        return reply

    def fire(self, match: type, now: int, due: bool = False, **keys: object) -> None:
        """Fire the latest pending timer task of kind `match` with `keys`, at `now`
        (with `due`, when it falls due if later, following a timer that re-arms)."""
        for _ in range(len(self.timers) + 1):
            task = self.pending(match, keys)
            self.timers.remove(task)
            before = len(self.timers)
            self.send(rq.FireTimer(task), max(now, task.fire_time) if due else now)
            rearmed = len(self.timers) > before and isinstance(self.timers[-1], match)
            if not (due and rearmed):
                return
        raise CannotReproduce(f"{match.__name__} with {keys} keeps re-arming")

    def pending(self, match: type, keys: dict[str, object]) -> Any:
        for task in reversed(self.timers):
            if isinstance(task, match) and all(getattr(task, k) == v for k, v in keys.items()):
                return task
        raise CannotReproduce(f"no pending {match.__name__} with {keys}")

    def hold_transient(self, i: int, now: int) -> None:
        """Events from `i` that arrive while the model's transient task waits unstarted,
        and are followed by that task's retry written as attempt 1 but not started with
        it, came while a worker held the task: the server buffered them and wrote them
        when the held attempt failed or timed out, which writes nothing for a transient
        task (workflow_task.py `fail`). So the task is started now (its Started shows
        nowhere); the Scheduled event ends the attempt (`end_held`)."""
        wft = self.state.wft if self.state is not None else None
        if wft is None or not wft.transient or wft.started:
            return
        j = i
        while j < len(self.real) and self.real[j].event_type in BUFFERABLE_EVENT_TYPES:
            j += 1
        after = self.real[j + 1] if j + 1 < len(self.real) else None
        if (
            i < j < len(self.real)  # (a base run cut before a reset may end here)
            and self.real[j].event_type is E.WORKFLOW_TASK_SCHEDULED
            and attrs(self.real[j]).attempt == 1
            and (after is None or after.event_type is not E.WORKFLOW_TASK_STARTED)
        ):
            self.send(rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, "held"), now)

    def end_held(self, now: int) -> None:
        """The held transient attempt (`hold_transient`) failed or timed out."""
        wft = self.state.wft if self.state is not None else None
        if wft is not None and wft.transient and wft.request_id == "held":
            self.send(rq.RespondWorkflowTaskFailed(self.token()), now)

    def token(self) -> rq.WorkflowTaskToken:
        assert self.state is not None and self.state.wft is not None
        w = self.state.wft
        return rq.WorkflowTaskToken(w.scheduled_event_id, w.started_event_id, w.attempt)

    # -- activities -------------------------------------------------------------------
    def start_before_cancel(
        self, command: Command, batch: Sequence[HistoryEvent], now: int
    ) -> None:
        """An activity cancelled while it ran was started before the cancel. Its
        ActivityTaskStarted is written only when the attempt closes; a run that closes
        first never writes it. The batch still tells: the server writes
        ActivityTaskCanceled in the cancel's own batch when the activity had not started
        (handleCommandRequestCancelActivity in
        `service/history/api/respondworkflowtaskcompleted/workflow_task_completed_handler.go`),
        so a cancel request of a pending activity without it reached a running attempt.
        Unless the batch closes the run, which drops that buffered ActivityTaskCanceled
        (FlushBufferToCurrentBatch in `service/history/historybuilder/event_store.go`):
        then only a later schedule of the same activity id in the batch shows that the
        cancel closed the activity at once (a running one keeps its id)."""
        a = command.attributes
        if not isinstance(a, RequestCancelActivityTaskCommandAttributes):
            return
        sid = a.scheduled_event_id
        started = self.started_event(sid)
        if started is not None:
            self.start_final_attempt(started, 0)
            return
        info = self.state.activity(sid) if self.state is not None else None
        if info is not None and not any(
            (e.event_type is E.ACTIVITY_TASK_CANCELED and attrs(e).scheduled_event_id == sid)
            or (
                e.event_type is E.ACTIVITY_TASK_SCHEDULED
                and attrs(e).activity_id == info.activity_id
            )
            for e in batch
        ):
            self.start_activity(sid, now)

    def start_final_attempt(self, started: HistoryEvent, now: int, start: bool = True) -> None:
        """Start the attempt `started` records (unless not `start`), after the earlier
        attempts, which left no events: each is taken to have ended as the last one
        did, whose failure the final Started carries."""
        assert self.state is not None
        a = attrs(started)
        sid, at = a.scheduled_event_id, started.event_time or now
        while (info := self.state.activity(sid)) is not None and info.attempt < a.attempt:
            # Each earlier attempt is taken to have run as soon as it could, when it was
            # scheduled, and its retry to have fired when due: its backoff and what is
            # left of a schedule-to-close timeout then come out as the server's did.
            begin = min(info.scheduled_time or at, at)
            self.start_activity(sid, begin)
            self.end_attempt(sid, a.last_failure, begin)
            retry = self.pending(rq.ActivityRetryTask, {"scheduled_event_id": sid})
            self.fire(rq.ActivityRetryTask, min(retry.fire_time, at), scheduled_event_id=sid)
        if start:
            self.start_activity(sid, at)

    def started_event(self, sid: int) -> HistoryEvent | None:
        return next(
            (
                e
                for e in self.real
                if e.event_type is E.ACTIVITY_TASK_STARTED and attrs(e).scheduled_event_id == sid
            ),
            None,
        )

    def close_activity(self, event: HistoryEvent, now: int) -> None:
        a = attrs(event)
        sid = a.scheduled_event_id
        started = self.started_event(sid)
        by_id = started is not None and _completed_by_id(started, event)
        if started is not None:
            self.start_final_attempt(started, now, start=not by_id)
        token = self.activity_token(sid)
        t = event.event_type
        # the closing worker's stamp, which the server wrote on the Started event
        stamp = attrs(started).worker_version if started is not None else None
        if t is E.ACTIVITY_TASK_COMPLETED:
            done = rq.RespondActivityTaskCompleted(token, a.result, a.identity, stamp, by_id=by_id)
            self.send(done, now)
        elif t is E.ACTIVITY_TASK_FAILED:
            final = a.retry_state is RetryState.NON_RETRYABLE_FAILURE
            self.send(activity_failed(token, a.failure, a.identity, final, stamp), now)
        elif t is E.ACTIVITY_TASK_CANCELED:
            self.send(rq.RespondActivityTaskCanceled(token, a.details, a.identity), now)
        else:
            self.time_out(sid, a.failure, started.event_time or now if started else now, now)

    def swept(self, event: HistoryEvent) -> bool:
        """Whether the model already wrote this ActivityTaskTimedOut: one activity timer
        task times out every activity whose timer has expired (core's activity_sweep.py,
        from executeActivityTimeoutTask in timer_queue_active_task_executor.go)."""
        k = event.event_id - 1
        if k >= len(self.written):
            return False
        mine = self.written[k]
        return (
            mine.event_type is E.ACTIVITY_TASK_TIMED_OUT
            and attrs(mine).scheduled_event_id == attrs(event).scheduled_event_id
        )

    def timer_swept(self, event: HistoryEvent) -> bool:
        """Whether the model already wrote this TimerFired (at its place, or in the
        buffer): one user timer task fires every user timer expired by its time
        (core's timer.py, from executeUserTimerTimeoutTask in
        timer_queue_active_task_executor.go)."""
        assert self.state is not None
        k = event.event_id - 1
        mine = [*self.written[k : k + 1], *self.state.buffered]
        started = attrs(event).started_event_id
        return any(
            e.event_type is E.TIMER_FIRED and attrs(e).started_event_id == started for e in mine
        )

    @staticmethod
    def one_sweep(events: Sequence[HistoryEvent]) -> bool:
        """Are `events` all activity timeouts or all user timers fired? One timer task
        writes such a batch in one transaction (activity_sweep.py, timer.py), so they
        need no workflow task in flight to come together."""
        kinds = {e.event_type for e in events}
        return kinds == {E.ACTIVITY_TASK_TIMED_OUT} or kinds == {E.TIMER_FIRED}

    def swept_together(self, p: int) -> bool:
        """Is the ActivityTaskStarted at `p` one of several that one activity timer
        task wrote with their timeouts? The sweep closes them all in one transaction
        (activity_sweep.py), whose events the server buffers and flushes with the
        closes moved last (`reorderBuffer` in historybuilder/event_store.go): Started,
        Started, TimedOut, TimedOut, with no task in flight."""
        sid = attrs(self.real[p]).scheduled_event_id
        for event in self.real[p + 1 :]:
            if event.event_type is E.ACTIVITY_TASK_TIMED_OUT:
                if attrs(event).scheduled_event_id == sid:
                    return True
            elif event.event_type is not E.ACTIVITY_TASK_STARTED:
                return False
        return False

    def hidden_attempts(self, timeouts: Sequence[HistoryEvent], now: int) -> None:
        """Timeouts of activities with no ActivityTaskStarted whose failure has a cause:
        an earlier attempt ran and failed with that cause (the server sets a timeout's
        cause to the activity's last failure: AddActivityTaskTimedOutEvent in
        service/history/workflow/mutable_state_impl.go), and its retry, if due by
        `now`, left the next attempt scheduled. One such attempt is run per activity,
        at its schedule, before the timer task that times these activities out. The
        retry fires at `now`; but where the next attempt then timed out waiting to
        start, it fired that attempt's schedule-to-start timeout before `now` (the
        attempt's timer counts from its own schedule), though not before it was due."""
        assert self.state is not None
        for event in timeouts:
            a = attrs(event)
            sid = a.scheduled_event_id
            info = self.state.activity(sid)
            value = a.failure.value() if a.failure is not None else None
            cause = value.get("cause") if isinstance(value, dict) else None
            if info is None or info.started or info.last_failure is not None or cause is None:
                continue
            if self.started_event(sid) is not None:
                continue
            begin = info.scheduled_time
            self.start_activity(sid, begin)
            self.end_attempt(sid, Opaque.of(cause), begin)
            retry = [
                t.fire_time
                for t in self.timers
                if isinstance(t, rq.ActivityRetryTask)
                and t.scheduled_event_id == sid
                and t.fire_time <= now
            ]
            if not retry:
                continue
            at = now
            if timeout_type(a.failure) is TimeoutType.SCHEDULE_TO_START:
                at = max(retry[0], now - info.schedule_to_start_timeout)
            self.fire(rq.ActivityRetryTask, at, due=True, scheduled_event_id=sid)

    def passed_over(self, timeouts: Sequence[HistoryEvent], now: int) -> None:
        """Activities a schedule-to-start sweep passed over had started. The timer task
        that times out the first of `timeouts` times out every activity whose timer is
        due by then (activity_sweep.py); one that was waiting to start with its
        schedule-to-start timer due no later, and that did not time out with them, was
        running: its ActivityTaskStarted is written only when its attempt closes, never
        if the run closes first (a worker at its concurrency limit ran the others)."""
        assert self.state is not None
        first = attrs(timeouts[0])
        timed_out = self.state.activity(first.scheduled_event_id)
        if timed_out is None or timeout_type(first.failure) is not TimeoutType.SCHEDULE_TO_START:
            return
        due = timed_out.scheduled_time + timed_out.schedule_to_start_timeout
        swept = {attrs(e).scheduled_event_id for e in timeouts}
        for info in self.state.activities:
            waiting = not (info.started or info.backoff or info.pause is not None)
            if (
                waiting
                and info.schedule_to_start_timeout
                and info.scheduled_event_id not in swept
                and info.scheduled_time + info.schedule_to_start_timeout <= due
            ):
                self.start_activity(info.scheduled_event_id, now)

    def end_attempt(self, sid: int, failure: Any, now: int) -> None:
        """An attempt that failed with `failure` (a timeout, if it says so)."""
        if failure_info(failure, "timeoutFailureInfo") is not None:
            self.time_out(sid, failure, now, now)
            return
        self.send(activity_failed(self.activity_token(sid), failure), now)

    def time_out(self, sid: int, failure: Any, beat_at: int, now: int) -> None:
        """The activity's timer fires, after the heartbeat (at `beat_at`) the failure
        recorded, if any; the timer fires when it is due, `now` at the earliest."""
        info = failure_info(failure, "timeoutFailureInfo") or {}
        details = info.get("lastHeartbeatDetails")
        if details is not None:
            beat = rq.RecordActivityTaskHeartbeat(self.activity_token(sid), Opaque.of(details))
            self.send(beat, beat_at)
        kind = timeout_type(failure)
        self.fire(rq.ActivityTimeoutTask, now, due=True, scheduled_event_id=sid, timeout_type=kind)

    def activity_token(self, sid: int) -> rq.ActivityTaskToken:
        assert self.state is not None
        info = self.state.activity(sid)
        return rq.ActivityTaskToken(sid, info.attempt if info is not None else 0)

    def start_activity(self, sid: int, now: int) -> None:
        assert self.state is not None
        info = self.state.activity(sid)
        if info is None:
            raise CannotReproduce(f"activity {sid} is not pending in the model")
        if info.started:
            return
        started = self.started_event(sid)
        poller = attrs(started) if started is not None else None
        self.send(
            rq.RecordActivityTaskStarted(
                sid,
                info.stamp,
                f"act-{sid}-{info.attempt}",
                identity=poller.identity if poller is not None else "",
                worker_version=poller.worker_version if poller is not None else None,
            ),
            now,
        )
