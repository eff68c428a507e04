"""Stateful test: a whole cluster's view of a run, played against the pure history service.

`ServiceCluster` is a Hypothesis `RuleBasedStateMachine` standing in for everything
around one run's history service: matching hands workflow and activity workers the
transfer tasks the service emitted (the current one, stale ones, duplicates, with the
same or another request id, from the sticky queue or not); workflow workers complete
tasks with random command lists (valid and invalid) or fail them; activity workers
start, heartbeat, complete, fail and cancel, with current and stale tokens; clients
signal, request cancellation, terminate, signal-with-start and re-send the start; the
timer queue fires any timer task the service ever emitted, late, twice or after it went
stale; the clock only moves forward.

After every request (`step_problems`) the run must satisfy:

- the accumulated history (every `Outcome.events`, in order) has no violation of
  spec/history.md (the service and the validator never disagree), and its event ids
  are consecutive;
- INV-RESULT-AT-MOST-ONCE: each activity (scheduled event id) and each timer (started
  event id) gets at most one close event;
- INV-RUN-CLOSES-ONCE: at most one close event, and nothing after it; the run's status,
  the close event and the CloseExecutionTransfer task agree;
- a rejected request (NotFound, ObsoleteMatchingTask, TaskAlreadyStarted,
  WorkflowExecutionAlreadyCompleted, WorkflowExecutionAlreadyStarted) changes nothing;
- events are buffered only while a workflow task is started and the run is running;
- a workflow task is pending whenever the history holds events the workflow has not
  been given (no lost workflow task);
- while the run is open, the activities and timers open in its history are exactly
  those pending in mutable state plus those whose close is buffered (none forgotten);

and every call (`ServiceCluster._send`) must not raise, must leave its inputs equal to
deep copies taken before, and must return an equal Outcome when repeated. The rules add
reply oracles: matching's dispatch of the pending task is never refused, a live token is
never rejected and a stale or made-up one always is, a heartbeat reports exactly
whether a cancel was requested.

Continue-as-new and signal-with-start on a closed run start a new run; the machine then
follows the new run (its history starts again at event 1), so one example can cover a
chain of runs.

Steering, so that runs get deep: draws prefer what is live (the pending task, the
current token, a timer task that still matches) four to one over anything seen before
or made up; worker "turns" poll and answer in one step; commands are mostly valid;
terminate waits for 25 events; after a close, only a few stale requests reach the
closed run before a signal-with-start begins the next one.

Left out on purpose: made-up WorkflowTaskTimeoutTasks of kind SCHEDULE_TO_CLOSE or
HEARTBEAT (the service never emits them; for a scheduled task `on_timeout` raises
InvalidTransition instead of answering NotFound - reported to the service's owner).
"""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from core import requests as rq
from core.commands import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
)
from core.enums import CommandType, EventType, TimeoutType, WorkflowTaskFailedCause
from core.event_sets import CLOSE_EVENT_TYPES, COMMAND_EVENT_TYPES
from core.events import (
    ActivityTaskCompletedEventAttributes,
    ActivityType,
    HistoryEvent,
    TimerFiredEventAttributes,
)
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.state import MutableState, RunStatus
from core.statemachine.history.service.txn import Outcome
from core.statemachine.history.validator import validate
from tests.core.statemachine.history.service.requests_strategies import (
    ERROR_TYPES,
    REQUEST_IDS,
    SECOND,
    TIMER_IDS,
    Pending,
    command_lists,
    optional_seconds,
    seconds,
    weighted,
)

E = EventType
C = CommandType
T = TypeVar("T")

ACTIVITY_CLOSES = frozenset(
    {
        E.ACTIVITY_TASK_COMPLETED,
        E.ACTIVITY_TASK_FAILED,
        E.ACTIVITY_TASK_TIMED_OUT,
        E.ACTIVITY_TASK_CANCELED,
    }
)
TIMER_CLOSES = frozenset({E.TIMER_FIRED, E.TIMER_CANCELED})
# Replies that mean "nothing happened": the request must leave the run as it was.
REJECTIONS = frozenset(
    {
        rq.ErrorKind.NOT_FOUND,
        rq.ErrorKind.OBSOLETE,
        rq.ErrorKind.ALREADY_STARTED,
        rq.ErrorKind.WORKFLOW_COMPLETED,
        rq.ErrorKind.ALREADY_EXISTS,
    }
)
WFT_FAILURE_CAUSES = (
    WorkflowTaskFailedCause.WORKFLOW_WORKER_UNHANDLED_FAILURE,
    WorkflowTaskFailedCause.UNHANDLED_COMMAND,
)
START_REQUEST_ID = "start-0"
CHAINED_CLOSES = frozenset({RunStatus.CONTINUED_AS_NEW, RunStatus.FAILED, RunStatus.TIMED_OUT})
TIMER_TASKS = (
    rq.UserTimerTask,
    rq.ActivityTimeoutTask,
    rq.ActivityRetryTask,
    rq.WorkflowTaskTimeoutTask,
    rq.WorkflowRunTimeoutTask,
    rq.WorkflowBackoffTask,
)


# --- the invariants, as functions (so that a test can show they fail) -----------------


def history_problems(history: Sequence[HistoryEvent]) -> list[str]:
    """What is wrong with one run's history (empty: nothing)."""
    problems = [
        f"{v.rule} at event {v.event_id}: {v.message}" for v in validate(history).violations
    ]
    for position, event in enumerate(history, start=1):
        if event.event_id != position:
            problems.append(f"event ids: {event.event_id} at position {position}")
            break
    results: Counter[int] = Counter()
    fires: Counter[int] = Counter()
    for event in history:
        attrs = event.attributes
        if event.event_type in ACTIVITY_CLOSES:
            results[getattr(attrs, "scheduled_event_id", 0)] += 1
        elif event.event_type in TIMER_CLOSES:
            fires[getattr(attrs, "started_event_id", 0)] += 1
    for scheduled, n in sorted(results.items()):
        if n > 1:
            problems.append(f"INV-RESULT-AT-MOST-ONCE: activity {scheduled} closed {n} times")
    for started, n in sorted(fires.items()):
        if n > 1:
            problems.append(f"INV-RESULT-AT-MOST-ONCE: timer {started} closed {n} times")
    closes = [i for i, e in enumerate(history) if e.event_type in CLOSE_EVENT_TYPES]
    if len(closes) > 1:
        problems.append(f"INV-RUN-CLOSES-ONCE: {len(closes)} close events")
    if closes and closes[0] != len(history) - 1:
        problems.append(f"INV-RUN-CLOSES-ONCE: {len(history) - 1 - closes[0]} events after close")
    return problems


def _has_unseen_events(history: Sequence[HistoryEvent]) -> bool:
    """Whether the history holds events written after the last completed workflow task
    other than that task's own command events (the workflow has not seen them yet)."""
    last = max(
        (i for i, e in enumerate(history) if e.event_type is E.WORKFLOW_TASK_COMPLETED),
        default=None,
    )
    if last is None:
        return True
    return any(e.event_type not in COMMAND_EVENT_TYPES for e in history[last + 1 :])


def _open_in_history(
    history: Sequence[HistoryEvent], opens: EventType, closes: frozenset[EventType], key: str
) -> set[int]:
    """Ids of the entities opened by `opens` events that no `closes` event closed."""
    opened = {e.event_id for e in history if e.event_type is opens}
    return opened - {getattr(e.attributes, key, 0) for e in history if e.event_type in closes}


def _forgotten(state: MutableState, history: Sequence[HistoryEvent]) -> list[str]:
    """Activities and timers open in the history must be pending in mutable state, or
    have their close buffered (so no result can be lost, and none appear from nowhere)."""
    problems = []
    buffered = state.buffered
    activities = _open_in_history(
        history, E.ACTIVITY_TASK_SCHEDULED, ACTIVITY_CLOSES, "scheduled_event_id"
    )
    closing = {
        getattr(e.attributes, "scheduled_event_id", 0)
        for e in buffered
        if e.event_type in ACTIVITY_CLOSES
    }
    pending = {a.scheduled_event_id for a in state.activities}
    if activities != pending | closing or pending & closing:
        problems.append(
            f"activities open in history {sorted(activities)}, pending {sorted(pending)}, "
            f"closing (buffered) {sorted(closing)}"
        )
    timers = _open_in_history(history, E.TIMER_STARTED, TIMER_CLOSES, "started_event_id")
    fired = {
        getattr(e.attributes, "started_event_id", 0)
        for e in buffered
        if e.event_type is E.TIMER_FIRED
    }
    pending = {t.started_event_id for t in state.timers}
    if timers != pending | fired or pending & fired:
        problems.append(
            f"timers open in history {sorted(timers)}, pending {sorted(pending)}, "
            f"fired (buffered) {sorted(fired)}"
        )
    return problems


def state_problems(state: MutableState, history: Sequence[HistoryEvent]) -> list[str]:
    """What is wrong with a run's mutable state given its history."""
    problems = _forgotten(state, history) if state.running else []
    if state.next_event_id != len(history) + 1:
        problems.append(f"next_event_id {state.next_event_id} after {len(history)} events")
    closed = any(e.event_type in CLOSE_EVENT_TYPES for e in history)
    if state.running == closed:
        problems.append(f"status {state.status.name} but closed in history: {closed}")
    in_flight = state.wft is not None and state.wft.started
    if state.buffered and not (state.running and in_flight):
        problems.append(f"{len(state.buffered)} events buffered with no workflow task started")
    if (
        state.running
        and state.wft is None
        and not state.backoff_pending
        and _has_unseen_events(history)
    ):
        problems.append("lost workflow task: new events but no workflow task pending")
    return problems


def step_problems(
    history: Sequence[HistoryEvent], before: MutableState | None, outcome: Outcome
) -> list[str]:
    """What is wrong with one request's outcome, applied to `history` and `before`
    (`before` None: the outcome starts a new run)."""
    problems = []
    reply = outcome.reply
    changed = bool(outcome.events or outcome.tasks) or outcome.state != before
    if isinstance(reply, rq.Error) and reply.kind in REJECTIONS and changed:
        problems.append(f"rejected ({reply.kind.value}) but the run changed")
    after = [*history, *outcome.events] if before is not None else list(outcome.events)
    problems += history_problems(after)
    problems += state_problems(outcome.state, after)
    closes = sum(e.event_type in CLOSE_EVENT_TYPES for e in outcome.events)
    close_tasks = sum(isinstance(t, rq.CloseExecutionTransfer) for t in outcome.tasks)
    if closes != close_tasks:
        problems.append(f"{closes} close events but {close_tasks} CloseExecutionTransfer tasks")
    # A next run comes with this run's close (always for continue-as-new, and for a
    # failure or timeout that the workflow's retry policy retries), or from a start that
    # the workflow id reuse policy allows once this run has closed.
    status = outcome.state.status
    if closes and status is RunStatus.CONTINUED_AS_NEW and outcome.new_run is None:
        problems.append("continued as new without a next run")
    reused = outcome.new_run is not None and not outcome.state.running and not outcome.events
    if (
        outcome.new_run is not None
        and not (closes and status in CHAINED_CLOSES)
        and not (reused or status is RunStatus.TERMINATED)
    ):
        problems.append(f"a next run without a chaining close (status {status.name})")
    return problems


# --- the machine ----------------------------------------------------------------------


def _start_request(run_timeout: int, task_timeout: int, backoff: int) -> rq.StartWorkflowExecution:
    return rq.StartWorkflowExecution(
        namespace="default",
        workflow_id="wf",
        run_id="run-0",
        workflow_type="Workflow",
        task_queue="queue",
        request_id=START_REQUEST_ID,
        workflow_task_timeout=task_timeout,
        run_timeout=run_timeout,
        first_workflow_task_backoff=backoff,
    )


def _pick(
    data: st.DataObject, live: Sequence[T], every: Sequence[T], made_up: st.SearchStrategy[T]
) -> T:
    """Mostly something live (it matches the run's current state), sometimes anything
    ever seen (likely stale), sometimes something made up."""
    options: list[tuple[int, st.SearchStrategy[T]]] = []
    if live:
        options.append((4, st.sampled_from(live)))
    if every:
        options.append((1, st.sampled_from(every)))
    options.append((1, made_up))
    return data.draw(weighted(*options))


def _made_up_wft_token() -> st.SearchStrategy[rq.WorkflowTaskToken]:
    return st.builds(
        rq.WorkflowTaskToken, st.integers(0, 30), st.integers(0, 30), st.integers(1, 3)
    )


@st.composite
def _made_up_timer_task(draw: st.DrawFn, now: int) -> rq.TimerTask:
    """A timer task the service did not emit (or emitted for another run)."""
    kind = draw(st.sampled_from(("user", "activity", "workflow-task")))
    key, attempt, stamp = draw(st.integers(0, 30)), draw(st.integers(1, 3)), draw(st.integers(0, 3))
    if kind == "user":
        return rq.UserTimerTask(draw(st.sampled_from(TIMER_IDS)), key, now)
    if kind == "activity":
        timeout = draw(st.sampled_from(list(TimeoutType)[1:]))
        return rq.ActivityTimeoutTask(key, timeout, attempt, stamp, now)
    # Only the kinds the service emits for a workflow task. (A SCHEDULE_TO_CLOSE or
    # HEARTBEAT one for a scheduled task makes on_timeout raise InvalidTransition:
    # reported, and left out here so that the machine gets past it.)
    timeout = draw(st.sampled_from((TimeoutType.START_TO_CLOSE, TimeoutType.SCHEDULE_TO_START)))
    return rq.WorkflowTaskTimeoutTask(key, timeout, attempt, stamp, now)


# Steps a closed run still takes requests before only clients and timers may act (so
# that a closed run sees stale traffic, and the machine then moves on to a new run).
STEPS_AFTER_CLOSE = 3


def _open_or_just_closed(self: ServiceCluster) -> bool:
    return self.steps_since_close < STEPS_AFTER_CLOSE


class ServiceCluster(RuleBasedStateMachine):
    """Matching, workers, clients and the timer queue around one run (module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1_700_000_000 * SECOND
        self.state: MutableState | None = None
        self.history: list[HistoryEvent] = []
        self.start_request = _start_request(0, 10 * SECOND, 0)
        self.runs = 0
        self.steps_since_close = 0
        self._forget_run()

    def _forget_run(self) -> None:
        """Tasks and tokens belong to a run: a new run starts with none."""
        self.wf_transfers: list[rq.WorkflowTaskTransfer] = []
        self.act_transfers: list[rq.ActivityTaskTransfer] = []
        self.timer_tasks: list[rq.TimerTask] = []
        self.wft_tokens: list[rq.WorkflowTaskToken] = []
        self.act_tokens: list[rq.ActivityTaskToken] = []

    @property
    def run(self) -> MutableState:
        assert self.state is not None
        return self.state

    # -- plumbing ------------------------------------------------------------------
    def _send(self, request: rq.Request) -> Outcome:
        """handle() once and again on the same inputs: no raise, no mutation, same answer."""
        return self._call(lambda s: service.handle(s, request, self.now), request)

    def _call(self, f: Callable[[MutableState], Outcome], request: object) -> Outcome:
        state = self.run
        state_copy, request_copy = copy.deepcopy(state), copy.deepcopy(request)
        first = f(state)
        assert state == state_copy, "the service mutated its input state"
        assert request == request_copy, "the service mutated its request"
        assert f(state) == first, f"not deterministic for {request!r}"
        assert type(first.state) is MutableState, "a transaction's private draft escaped"
        self._absorb(state, first)
        return first

    def _absorb(self, before: MutableState | None, outcome: Outcome) -> None:
        problems = step_problems(self.history, before, outcome)
        assert not problems, "\n".join(problems)
        hash(outcome.state)  # states stay hashable for the model checker
        if before is None:
            self.history = list(outcome.events)
            self.runs += 1
            self._forget_run()
        else:
            self.history.extend(outcome.events)
        self.state = outcome.state
        self.steps_since_close = 0 if outcome.state.running else self.steps_since_close + 1
        for task in outcome.tasks:
            if isinstance(task, rq.WorkflowTaskTransfer):
                self.wf_transfers.append(task)
            elif isinstance(task, rq.ActivityTaskTransfer):
                self.act_transfers.append(task)
            elif isinstance(task, TIMER_TASKS):
                self.timer_tasks.append(task)
        reply = outcome.reply
        if isinstance(reply, rq.WorkflowTaskStarted):
            assert reply.token == self._live_wft_token(), reply
            self.wft_tokens.append(reply.token)
        elif isinstance(reply, rq.ActivityTaskStarted):
            assert reply.token in self._live_act_tokens(), reply
            self.act_tokens.append(reply.token)
        if outcome.new_run is not None:
            new_run = outcome.new_run
            first = service.start(new_run, self.now)
            assert service.start(new_run, self.now) == first
            self.start_request = new_run
            self._absorb(None, first)

    # -- what is live now ----------------------------------------------------------
    def _live_wft_token(self) -> rq.WorkflowTaskToken | None:
        wft = self.run.wft
        if not self.run.running or wft is None or not wft.started:
            return None
        return rq.WorkflowTaskToken(wft.scheduled_event_id, wft.started_event_id, wft.attempt)

    def _live_act_tokens(self) -> list[rq.ActivityTaskToken]:
        if not self.run.running:
            return []
        return [
            rq.ActivityTaskToken(a.scheduled_event_id, a.attempt)
            for a in self.run.activities
            if a.started
        ]

    def _live_timer_tasks(self) -> list[rq.TimerTask]:
        """Emitted timer tasks that still match the run (the run timeout left out: it
        ends the run, so it fires only as often as any other task)."""
        s = self.run
        live: list[rq.TimerTask] = []
        for task in self.timer_tasks:
            if isinstance(task, rq.UserTimerTask):
                timer = s.timer(task.timer_id)
                ok = timer is not None and timer.started_event_id == task.started_event_id
            elif isinstance(task, rq.ActivityTimeoutTask | rq.ActivityRetryTask):
                info = s.activity(task.scheduled_event_id)
                ok = info is not None and info.stamp == task.stamp
            elif isinstance(task, rq.WorkflowTaskTimeoutTask):
                ok = s.wft is not None and s.wft.stamp == task.stamp
            else:
                ok = isinstance(task, rq.WorkflowBackoffTask) and s.backoff_pending
            if ok and s.running:
                live.append(task)
        return live

    # -- the run starts ------------------------------------------------------------
    @initialize(
        run_timeout=st.sampled_from((0, 0, 300 * SECOND)),
        task_timeout=seconds(1, 10),
        backoff=st.sampled_from((0, 0, 5 * SECOND)),
        with_signal=st.booleans(),
    )
    def start(self, run_timeout: int, task_timeout: int, backoff: int, with_signal: bool) -> None:
        self.start_request = _start_request(run_timeout, task_timeout, backoff)
        if with_signal:
            request = rq.SignalWithStartWorkflowExecution(
                self.start_request, rq.SignalWorkflowExecution("hello", request_id="r0")
            )
            outcome = service.signal_with_start(None, request, self.now)
            assert service.signal_with_start(None, request, self.now) == outcome
        else:
            outcome = service.start(self.start_request, self.now)
            assert service.start(self.start_request, self.now) == outcome
        self._absorb(None, outcome)

    # -- workflow workers ----------------------------------------------------------
    @precondition(lambda self: self.run.running and self.run.wft is not None)
    @rule(
        data=st.data(),
        request_id=st.sampled_from(REQUEST_IDS),
        answer=st.sampled_from(("complete",) * 7 + ("fail",)),
        sticky=st.sampled_from(("", "", "worker-sticky")),
    )
    def workflow_worker_turn(
        self, data: st.DataObject, request_id: str, answer: str, sticky: str
    ) -> None:
        """A worker polls the pending task (unless it holds it already) and answers at
        once: the common case, so that runs get deep. Poll and answer are separate rules
        too, so that other requests come in between."""
        wft = self.run.wft
        assert wft is not None
        token = self._live_wft_token()
        if token is None:
            poll = rq.RecordWorkflowTaskStarted(
                wft.scheduled_event_id, wft.stamp, request_id, "worker", wft.sticky
            )
            reply = self._send(poll).reply
            assert isinstance(reply, rq.WorkflowTaskStarted), reply
            token = reply.token
        answer_request: rq.Request
        if answer == "fail":
            answer_request = rq.RespondWorkflowTaskFailed(token, identity="worker")
        else:
            commands = data.draw(command_lists(self._pending()))
            answer_request = rq.RespondWorkflowTaskCompleted(
                token, commands, "worker", sticky, 5 * SECOND
            )
        answer_reply = self._send(answer_request).reply
        assert not (isinstance(answer_reply, rq.Error) and answer_reply.kind in REJECTIONS)

    def _pending(self) -> Pending:
        s = self.run
        return Pending(
            frozenset(a.activity_id for a in s.activities),
            frozenset(t.timer_id for t in s.timers),
            tuple(a.scheduled_event_id for a in s.activities if not a.cancel_requested_event_id),
            frozenset(
                e.attributes.timer_id
                for e in s.buffered
                if isinstance(e.attributes, TimerFiredEventAttributes)
            ),
        )

    @precondition(lambda self: self.run.wft is not None and _open_or_just_closed(self))
    @rule(data=st.data(), request_id=st.sampled_from(REQUEST_IDS))
    def poll_workflow_task(self, data: st.DataObject, request_id: str) -> None:
        """Matching dispatches a workflow task it holds: the pending one, or a stale one,
        or one already dispatched (same or another request id), sticky or not."""
        wft = self.run.wft
        live = [
            t
            for t in self.wf_transfers
            if wft is not None
            and (t.scheduled_event_id, t.stamp) == (wft.scheduled_event_id, wft.stamp)
        ]
        task = _pick(data, live, self.wf_transfers, st.sampled_from(self.wf_transfers))
        sticky = data.draw(st.sampled_from((task.sticky, task.sticky, not task.sticky)))
        fresh = (
            self.run.running
            and wft is not None
            and not wft.started
            and task in live
            and (wft.sticky or not sticky)
        )
        outcome = self._send(
            rq.RecordWorkflowTaskStarted(
                task.scheduled_event_id, task.stamp, request_id, "worker", sticky
            )
        )
        if fresh:  # the task matching holds for the pending workflow task is never refused
            assert isinstance(outcome.reply, rq.WorkflowTaskStarted), outcome.reply

    @precondition(lambda self: self._live_wft_token() is not None)
    @rule(
        data=st.data(),
        answer=st.sampled_from(("complete",) * 3 + ("fail",)),
        cause=st.sampled_from(WFT_FAILURE_CAUSES),
        sticky=st.sampled_from(("", "", "worker-sticky")),
        sticky_timeout=optional_seconds(1, 10),
        force=st.sampled_from((False, False, False, True)),
    )
    def answer_workflow_task(
        self,
        data: st.DataObject,
        answer: str,
        cause: WorkflowTaskFailedCause,
        sticky: str,
        sticky_timeout: int | None,
        force: bool,
    ) -> None:
        """A worker completes (random commands) or fails a task it was given: the current
        one, or one it held too long (a stale token)."""
        live_token = self._live_wft_token()
        token = _pick(
            data, [live_token] if live_token else [], self.wft_tokens, _made_up_wft_token()
        )
        live = token == live_token
        request: rq.Request
        if answer == "fail":
            request = rq.RespondWorkflowTaskFailed(token, cause, identity="worker")
        else:
            commands = data.draw(command_lists(self._pending()))
            request = rq.RespondWorkflowTaskCompleted(
                token, commands, "worker", sticky, sticky_timeout or 0, force
            )
        reply = self._send(request).reply
        refused = isinstance(reply, rq.Error) and reply.kind in REJECTIONS
        assert refused != live, f"live token: {live}, reply: {reply}"

    # -- activity workers ----------------------------------------------------------
    @precondition(lambda self: self.run.running and bool(self.run.activities))
    @rule(
        data=st.data(),
        request_id=st.sampled_from(REQUEST_IDS),
        result=st.sampled_from(
            ("complete",) * 3 + ("fail",) * 2 + ("fail-fatal", "cancel", "hold", "hold")
        ),
    )
    def activity_worker_turn(self, data: st.DataObject, request_id: str, result: str) -> None:
        """A worker gets a pending activity's current task, runs it and reports back (or
        holds on to it, heartbeating: a later turn reports)."""
        info = data.draw(st.sampled_from(self.run.activities))
        if info.cancel_requested_event_id and data.draw(st.booleans()):
            result = "cancel"  # the worker heard of the cancel request and honours it
        if not info.started:
            key = (info.scheduled_event_id, info.stamp)
            if key not in {(t.scheduled_event_id, t.stamp) for t in self.act_transfers}:
                return  # backing off: matching has no task for this attempt yet
            start = rq.RecordActivityTaskStarted(info.scheduled_event_id, info.stamp, request_id)
            reply = self._send(start).reply
            assert isinstance(reply, rq.ActivityTaskStarted), reply
        token = rq.ActivityTaskToken(info.scheduled_event_id, info.attempt)
        request: rq.Request
        if result == "hold":
            request = rq.RecordActivityTaskHeartbeat(token)
            cancel_requested = bool(info.cancel_requested_event_id)
            assert self._send(request).reply == rq.Heartbeat(cancel_requested=cancel_requested)
            return
        if result == "complete":
            request = rq.RespondActivityTaskCompleted(token, identity="aw")
        elif result == "cancel" and info.cancel_requested_event_id:
            request = rq.RespondActivityTaskCanceled(token, identity="aw")
        else:
            request = rq.RespondActivityTaskFailed(
                token, None, "Transient", result == "fail-fatal", "aw"
            )
        assert isinstance(self._send(request).reply, rq.Ok)

    @precondition(lambda self: bool(self.run.activities) and _open_or_just_closed(self))
    @rule(data=st.data(), request_id=st.sampled_from(REQUEST_IDS))
    def start_activity(self, data: st.DataObject, request_id: str) -> None:
        """Matching dispatches an activity task: current, stale or already dispatched."""
        s = self.run
        fresh_tasks = [
            t
            for t in self.act_transfers
            if (info := s.activity(t.scheduled_event_id)) is not None and info.stamp == t.stamp
        ]
        task = _pick(data, fresh_tasks, self.act_transfers, st.sampled_from(self.act_transfers))
        info = s.activity(task.scheduled_event_id) if s.running else None
        fresh = info is not None and info.stamp == task.stamp and not info.started
        outcome = self._send(
            rq.RecordActivityTaskStarted(task.scheduled_event_id, task.stamp, request_id, "aw")
        )
        if fresh:
            assert isinstance(outcome.reply, rq.ActivityTaskStarted), outcome.reply

    @precondition(lambda self: bool(self._live_act_tokens()))
    @rule(
        data=st.data(),
        kind=st.sampled_from(("heartbeat", "complete", "fail", "cancel")),
        error_type=st.sampled_from(ERROR_TYPES),
        non_retryable=st.sampled_from((False, False, True)),
    )
    def activity_report(
        self, data: st.DataObject, kind: str, error_type: str, non_retryable: bool
    ) -> None:
        """An activity worker heartbeats or reports, with a live or an old token."""
        made_up = st.builds(rq.ActivityTaskToken, st.integers(0, 30), st.integers(0, 4))
        token = _pick(data, self._live_act_tokens(), self.act_tokens, made_up)
        self._report(token, kind, error_type, non_retryable)

    def _report(
        self, token: rq.ActivityTaskToken, kind: str, error_type: str, non_retryable: bool
    ) -> None:
        live = token in self._live_act_tokens()
        info = self.run.activity(token.scheduled_event_id)
        request: rq.Request
        if kind == "heartbeat":
            request = rq.RecordActivityTaskHeartbeat(token)
        elif kind == "complete":
            request = rq.RespondActivityTaskCompleted(token, identity="aw")
        elif kind == "fail":
            request = rq.RespondActivityTaskFailed(token, None, error_type, non_retryable, "aw")
        else:
            request = rq.RespondActivityTaskCanceled(token, identity="aw")
        reply = self._send(request).reply
        if not live:
            assert isinstance(reply, rq.Error) and reply.kind in REJECTIONS, reply
            return
        assert info is not None
        cancel_requested = bool(info.cancel_requested_event_id)
        if kind == "heartbeat":
            assert reply == rq.Heartbeat(cancel_requested=cancel_requested), reply
        elif kind == "cancel":
            assert isinstance(reply, rq.Ok) == cancel_requested, reply
        else:
            assert isinstance(reply, rq.Ok), reply

    # -- clients -------------------------------------------------------------------
    @precondition(_open_or_just_closed)
    @rule(
        kind=st.sampled_from(("signal", "signal", "cancel", "signal-with-start")),
        request_id=st.sampled_from(("", *REQUEST_IDS)),
    )
    def client(self, kind: str, request_id: str) -> None:
        """A client signals (request ids repeat), asks to cancel, or signals-with-start."""
        if kind == "signal":
            self._send(rq.SignalWorkflowExecution("sig", request_id=request_id))
        elif kind == "cancel":
            self._send(rq.RequestCancelWorkflowExecution(request_id=request_id))
        else:
            self._signal_with_start(request_id)

    def _signal_with_start(self, request_id: str) -> None:
        """Signals a running run; on a closed one, starts the next run with the signal."""
        start = rq.StartWorkflowExecution(
            "default", "wf", f"run-{self.runs}", "Workflow", "queue", f"start-{self.runs}"
        )
        request = rq.SignalWithStartWorkflowExecution(
            start, rq.SignalWorkflowExecution("sws", request_id=request_id)
        )
        state = self.run
        if state.running:
            self._call(lambda s: service.signal_with_start(s, request, self.now), request)
            return
        state_copy = copy.deepcopy(state)
        outcome = service.signal_with_start(state, request, self.now)
        assert state == state_copy
        assert service.signal_with_start(state, request, self.now) == outcome
        self.start_request = start
        self._absorb(None, outcome)

    @precondition(lambda self: not self.run.running)
    @rule(request_id=st.sampled_from(("", *REQUEST_IDS)))
    def next_run(self, request_id: str) -> None:
        """The run is closed: a client's signal-with-start begins the next one."""
        self._signal_with_start(request_id)

    @precondition(lambda self: self.run.running and len(self.history) >= 25)
    @rule()
    def terminate(self) -> None:
        """(Only once the run has some history, so that runs get somewhere first.)"""
        self._send(rq.TerminateWorkflowExecution(reason="stop"))

    # -- the timer queue and the clock ---------------------------------------------
    @precondition(lambda self: bool(self._live_timer_tasks()))
    @rule(data=st.data(), late=st.sampled_from((0, 0, SECOND, 30 * SECOND)))
    def fire_timer(self, data: st.DataObject, late: int) -> None:
        """The timer queue fires a task that still matches the run, at or after its time
        (late ones may have been overtaken by other requests)."""
        task = data.draw(st.sampled_from(self._live_timer_tasks()))
        self.now = max(self.now, task.fire_time + late)
        self._send(rq.FireTimer(task))

    @rule(dt=seconds(0, 30))
    def advance_clock(self, dt: int) -> None:
        self.now += dt

    # -- stale and duplicate traffic -----------------------------------------------
    @rule(
        data=st.data(),
        kind=st.sampled_from(
            (
                *("old-timer", "old-timer", "made-up-timer"),
                *("workflow-token", "activity-token", "start-again", "start-other"),
            )
        ),
    )
    def stale_request(self, data: st.DataObject, kind: str) -> None:
        """Traffic that must change nothing, or only what its own rule says: a timer task
        fired again or after it went stale (the run timeout too), one the service never
        emitted, made-up tokens, a client's repeated or conflicting start."""
        if kind == "old-timer" and self.timer_tasks:
            task = data.draw(st.sampled_from(self.timer_tasks))
            self.now = max(self.now, task.fire_time)
            self._send(rq.FireTimer(task))
        elif kind in ("old-timer", "made-up-timer"):
            self._send(rq.FireTimer(data.draw(_made_up_timer_task(self.now))))
        elif kind == "workflow-token":
            wft_token = data.draw(_made_up_wft_token())
            live = wft_token == self._live_wft_token()
            reply = self._send(rq.RespondWorkflowTaskFailed(wft_token)).reply
            assert isinstance(reply, rq.Ok) == live, reply
        elif kind == "activity-token":
            token = data.draw(
                st.builds(rq.ActivityTaskToken, st.integers(0, 30), st.integers(0, 4))
            )
            self._report(token, data.draw(st.sampled_from(("heartbeat", "complete"))), "", False)
        else:
            same = kind == "start-again"
            request = self.start_request
            if not same:
                request = rq.StartWorkflowExecution(
                    "default", "wf", "other", "Workflow", "queue", "another-start"
                )
            running = self.run.running
            own = request.request_id == self.run.start_request_id
            outcome = self._send(request)
            # A retry of the run's own start is answered again, running or closed, and
            # starts nothing. Another start: refused while running; once closed, the
            # default id reuse policy (ALLOW_DUPLICATE) lets a new run start.
            assert isinstance(outcome.reply, rq.Ok) == (own or not running), outcome.reply
            assert (outcome.new_run is not None) == (not running and not own), outcome

    # -- invariants between steps ----------------------------------------------------
    @invariant()
    def run_is_consistent(self) -> None:
        if self.state is None:
            return
        problems = history_problems(self.history) + state_problems(self.state, self.history)
        assert not problems, "\n".join(problems)


TestServiceCluster = ServiceCluster.TestCase
TestServiceCluster.settings = settings(max_examples=600, stateful_step_count=60, deadline=None)


class LongServiceCluster(ServiceCluster):
    """The same machine, for the slow suite (its own TestCase, so its own settings)."""


TestServiceClusterLong = pytest.mark.slow(LongServiceCluster.TestCase)
TestServiceClusterLong.settings = settings(
    max_examples=3_000, stateful_step_count=100, deadline=None
)


# --- the checks can fail --------------------------------------------------------------


def _completed_run() -> tuple[list[HistoryEvent], MutableState, Outcome]:
    """A run whose first workflow task schedules an activity that then completes; the
    next workflow task completes the run. Returns the history and state before that last
    request, and its (real) outcome, each earlier step having passed `step_problems`."""
    now = 1_700_000_000 * SECOND
    started = service.start(_start_request(0, 10 * SECOND, 0), now)
    history, state = list(started.events), started.state

    def step(request: rq.Request) -> Outcome:
        nonlocal state
        outcome = service.handle(state, request, now)
        assert step_problems(history, state, outcome) == []
        history.extend(outcome.events)
        state = outcome.state
        return outcome

    def poll() -> rq.WorkflowTaskToken:
        wft = state.wft
        assert wft is not None
        reply = step(rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, "r0")).reply
        assert isinstance(reply, rq.WorkflowTaskStarted)
        return reply.token

    schedule = ScheduleActivityTaskCommandAttributes(
        activity_id="a0", activity_type=ActivityType(name="act"), start_to_close_timeout=SECOND
    )
    step(rq.RespondWorkflowTaskCompleted(poll(), (Command(C.SCHEDULE_ACTIVITY_TASK, schedule),)))
    info = state.activities[0]
    reply = step(rq.RecordActivityTaskStarted(info.scheduled_event_id, info.stamp, "r0")).reply
    assert isinstance(reply, rq.ActivityTaskStarted)
    step(rq.RespondActivityTaskCompleted(reply.token))
    close = Command(C.COMPLETE_WORKFLOW_EXECUTION, CompleteWorkflowExecutionCommandAttributes())
    token = poll()
    return (
        history,
        state,
        service.handle(state, rq.RespondWorkflowTaskCompleted(token, (close,)), now),
    )


def _corrupt(outcome: Outcome, extra: HistoryEvent) -> Outcome:
    """The outcome with `extra` appended (renumbered to follow the outcome's events)."""
    event = dataclasses.replace(extra, event_id=outcome.state.next_event_id)
    state = dataclasses.replace(outcome.state, next_event_id=event.event_id + 1)
    return dataclasses.replace(outcome, events=(*outcome.events, event), state=state)


def test_the_real_outcomes_pass_the_checks() -> None:
    history, state, outcome = _completed_run()
    assert step_problems(history, state, outcome) == []
    assert outcome.state.status is RunStatus.COMPLETED


def test_a_duplicated_close_event_is_reported() -> None:
    history, state, outcome = _completed_run()
    close = outcome.events[-1]
    assert close.event_type is E.WORKFLOW_EXECUTION_COMPLETED
    problems = step_problems(history, state, _corrupt(outcome, close))
    assert "INV-RUN-CLOSES-ONCE: 2 close events" in problems, problems
    assert "INV-RUN-CLOSES-ONCE: 1 events after close" in problems, problems


def test_a_second_activity_result_is_reported() -> None:
    history, state, outcome = _completed_run()
    result = next(e for e in history if e.event_type is E.ACTIVITY_TASK_COMPLETED)
    attrs = result.attributes
    assert isinstance(attrs, ActivityTaskCompletedEventAttributes)
    problems = step_problems(history, state, _corrupt(outcome, result))
    expected = f"INV-RESULT-AT-MOST-ONCE: activity {attrs.scheduled_event_id} closed 2 times"
    assert expected in problems, problems


def test_a_rejection_that_changes_the_run_is_reported() -> None:
    history, state, outcome = _completed_run()
    rejected = dataclasses.replace(outcome, reply=rq.Error(rq.ErrorKind.NOT_FOUND, "stale"))
    assert "rejected (NotFound) but the run changed" in step_problems(history, state, rejected)


def test_a_lost_workflow_task_is_reported() -> None:
    history, state, _ = _completed_run()
    # A signal arrives while the task is in flight; dropping the task would lose it.
    outcome = service.handle(state, rq.SignalWorkflowExecution("sig"), 1)
    assert step_problems(history, state, outcome) == []
    lost = dataclasses.replace(outcome.state, wft=None, buffered=())
    flushed = dataclasses.replace(outcome, state=lost)
    problems = step_problems(history, state, flushed)
    assert "lost workflow task: new events but no workflow task pending" in problems, problems


def test_a_forgotten_activity_is_reported() -> None:
    history, state, _ = _completed_run()
    schedule = ScheduleActivityTaskCommandAttributes(
        activity_id="a1", activity_type=ActivityType(name="act"), start_to_close_timeout=SECOND
    )
    token = _live_token(state)
    command = Command(C.SCHEDULE_ACTIVITY_TASK, schedule)
    outcome = service.handle(state, rq.RespondWorkflowTaskCompleted(token, (command,)), 1)
    assert step_problems(history, state, outcome) == []
    forgotten = dataclasses.replace(
        outcome, state=dataclasses.replace(outcome.state, activities=())
    )
    problems = step_problems(history, state, forgotten)
    assert any(p.startswith("activities open in history") for p in problems), problems


def _live_token(state: MutableState) -> rq.WorkflowTaskToken:
    wft = state.wft
    assert wft is not None and wft.started
    return rq.WorkflowTaskToken(wft.scheduled_event_id, wft.started_event_id, wft.attempt)
