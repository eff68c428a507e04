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
from collections.abc import Callable

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
from core.enums import WorkflowTaskFailedCause
from core.events import (
    HistoryEvent,
    TimerFiredEventAttributes,
)
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.txn import Outcome
from tests.core.statemachine.history.service.requests_strategies import (
    ERROR_TYPES,
    REQUEST_IDS,
    SECOND,
    Pending,
    command_lists,
    made_up_timer_task,
    made_up_wft_token,
    optional_seconds,
    pick,
    seconds,
)
from tests.core.statemachine.history.service.run_checks import (
    REJECTIONS,
    TIMER_TASKS,
    WFT_FAILURE_CAUSES,
    _start_request,
    history_problems,
    state_problems,
    step_problems,
)

# --- the machine ----------------------------------------------------------------------


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
        task = pick(data, live, self.wf_transfers, st.sampled_from(self.wf_transfers))
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
        token = pick(data, [live_token] if live_token else [], self.wft_tokens, made_up_wft_token())
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
        task = pick(data, fresh_tasks, self.act_transfers, st.sampled_from(self.act_transfers))
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
        token = pick(data, self._live_act_tokens(), self.act_tokens, made_up)
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
            self._send(rq.FireTimer(data.draw(made_up_timer_task(self.now))))
        elif kind == "workflow-token":
            wft_token = data.draw(made_up_wft_token())
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
