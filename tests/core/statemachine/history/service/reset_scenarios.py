"""Scenarios that drive the pure history service through resets, and through the
child and external outcomes the recorded corpus lacks.

Each scenario runs a `ResetRun` (coverage_scenarios.Run, able to reset itself and go on
with the new run) and asserts what the reset must have written; every history it
produces, the base run's included, must be valid. test_reset.py runs them one by one;
test_rebuild.py runs them all while checking the rebuild after every request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from core import requests as rq
from core.commands import (
    Command,
    ContinueAsNewWorkflowExecutionCommandAttributes,
    RequestCancelExternalWorkflowExecutionCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
    StartTimerCommandAttributes,
)
from core.enums import (
    CommandType,
    EventType,
    TaskQueueKind,
    TimeoutType,
    UpdateAdmittedEventOrigin,
    WorkflowTaskFailedCause,
)
from core.events import (
    HistoryEvent,
    WorkflowExecution,
    WorkflowExecutionSignaledEventAttributes,
    WorkflowExecutionTerminatedEventAttributes,
    WorkflowExecutionUpdateAcceptedEventAttributes,
    WorkflowExecutionUpdateAdmittedEventAttributes,
    WorkflowTaskFailedEventAttributes,
    WorkflowTaskScheduledEventAttributes,
    WorkflowTaskStartedEventAttributes,
    WorkflowType,
)
from core.opaque import Opaque
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.outbound import HISTORY_SERVICE
from core.statemachine.history.service.reset import (
    RESETTER,
    ResetOutcome,
    reset,
    reset_run_id,
)
from core.statemachine.history.validator import validate
from tests.core.statemachine.coverage_scenarios import Run, S, activity

E = EventType
C = CommandType
A = TypeVar("A")


class ResetRun(Run):
    """A run that can be reset; after a reset it is the new run."""

    def __init__(self) -> None:
        super().__init__()
        self.resets = 0

    def reset(
        self,
        finish: int,
        current: Run | None = None,
        continued: Sequence[Sequence[HistoryEvent]] = (),
        reapply_signals: bool = True,
        reapply_updates: bool = True,
        reapply_children: bool = True,
    ) -> ResetOutcome:
        """Reset this run to event `finish` (`current`: the current run, if another)."""
        self.now += S
        self.resets += 1
        request = rq.ResetWorkflowExecution(
            f"reset {self.resets}",
            finish,
            f"reset-{self.resets}",
            reapply_signals=reapply_signals,
            reapply_updates=reapply_updates,
            reapply_children=reapply_children,
        )
        latest = current.state if current is not None else self.state
        new_id = reset_run_id(latest.run_id, request.request_id)
        base = list(self.events)
        outcome = reset(
            self.state,
            base,
            request,
            new_id,
            self.now,
            current.state if current else None,
            continued,
        )
        assert outcome.new_run is not None, outcome.reply
        assert outcome.reply == rq.WorkflowReset(new_id)
        _valid([*base, *outcome.base.events])
        if current is not None and outcome.current is not None:
            _valid([*current.events, *outcome.current.events])
        self.state = outcome.new_run.state
        self.events = list(outcome.new_run.events)
        self.timers = [t for t in outcome.new_run.tasks if isinstance(t, rq.TimerTask)]
        self.check()
        return outcome

    def after(self, finish: int) -> list[HistoryEvent]:
        """The events a reset to `finish` wrote itself (after the copied prefix)."""
        return self.events[finish - 1 :]


def attrs(event: HistoryEvent, cls: type[A]) -> A:
    """The event's attributes, checked to be of type `cls`."""
    assert isinstance(event.attributes, cls), event
    return event.attributes


def _valid(events: Sequence[HistoryEvent]) -> None:
    violations = validate(events).violations
    assert violations == (), violations


def _types(events: Sequence[HistoryEvent]) -> list[EventType]:
    return [e.event_type for e in events]


def _first(run: Run, kind: EventType) -> HistoryEvent:
    return next(e for e in run.events if e.event_type is kind)


def _child(workflow_id: str) -> Command:
    return Command(
        C.START_CHILD_WORKFLOW_EXECUTION,
        StartChildWorkflowExecutionCommandAttributes(
            workflow_id=workflow_id, workflow_type=WorkflowType(name="Child")
        ),
    )


def _timer(timer_id: str, seconds: int) -> Command:
    return Command(
        C.START_TIMER,
        StartTimerCommandAttributes(timer_id=timer_id, start_to_fire_timeout=seconds * S),
    )


def update_request(update_id: str) -> Opaque:
    return Opaque.of({"meta": {"updateId": update_id}, "input": {"name": "change"}})


# --- outcomes the corpus lacks ----------------------------------------------------------


def child_and_external_outcomes() -> None:
    """Children canceled, timed out and terminated; a cancel request delivered and one
    that failed."""
    run = ResetRun()
    cancel = RequestCancelExternalWorkflowExecutionCommandAttributes
    run.complete(
        _child("c1"),
        _child("c2"),
        _child("c3"),
        Command(C.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION, cancel(workflow_id="x")),
        Command(C.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION, cancel(workflow_id="y")),
    )
    children = [
        e.event_id for e in run.events if e.event_type is E.START_CHILD_WORKFLOW_EXECUTION_INITIATED
    ]
    cancels = [
        e.event_id
        for e in run.events
        if e.event_type is E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED
    ]
    outcomes = (rq.ChildOutcome.CANCELED, rq.ChildOutcome.TIMED_OUT, rq.ChildOutcome.TERMINATED)
    for initiated, outcome in zip(children, outcomes, strict=True):
        run.send(rq.RecordChildExecutionStarted(initiated, f"run-{initiated}"))
        run.send(rq.RecordChildExecutionCompleted(initiated, outcome))
    run.send(rq.RecordExternalResult(cancels[0], cancel=True, delivered=True))
    run.send(rq.RecordExternalResult(cancels[1], cancel=True, delivered=False))
    assert not run.state.children and not run.state.cancels_out
    run.check()


# --- resets ----------------------------------------------------------------------------


def reset_reapplies_signals_and_updates() -> None:
    """Signals and updates received after the reset point come back in the new run:
    each signal as a new event, each accepted update as UpdateAdmitted (REAPPLY), which
    the worker then accepts with no request in UpdateAccepted."""
    run = ResetRun()
    run.complete()  # events 2-4: the reset point is this task (finish 4)
    run.send(rq.SignalWorkflowExecution("s1", request_id="sig-1", identity="client"))
    run.send(rq.UpdateWorkflowExecution("u1", update_request("u1")))
    token = run.poll()
    accept = rq.UpdateMessage("m1", "u1", rq.UpdateMessageKind.ACCEPT)
    run.send(rq.RespondWorkflowTaskCompleted(token, (), messages=(accept,)))
    run.reset(4)
    types = _types(run.after(4))
    assert types == [
        E.WORKFLOW_TASK_FAILED,
        E.WORKFLOW_EXECUTION_SIGNALED,
        E.WORKFLOW_EXECUTION_UPDATE_ADMITTED,
        E.WORKFLOW_TASK_SCHEDULED,
    ], types
    signal = attrs(run.after(4)[1], WorkflowExecutionSignaledEventAttributes)
    assert (signal.signal_name, signal.request_id, signal.identity) == ("s1", "sig-1", "client")
    admitted = attrs(run.after(4)[2], WorkflowExecutionUpdateAdmittedEventAttributes)
    assert admitted.origin is UpdateAdmittedEventOrigin.REAPPLY
    assert admitted.request == update_request("u1")
    (held,) = run.state.updates
    assert (held.update_id, held.admitted_event_id, held.accepted_event_id) == ("u1", 6, 0)
    token = run.poll()
    respond = rq.UpdateMessage("m2", "u1", rq.UpdateMessageKind.RESPOND)
    run.send(rq.RespondWorkflowTaskCompleted(token, (), messages=(accept, respond)))
    accepted = attrs(
        _first(run, E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED),
        WorkflowExecutionUpdateAcceptedEventAttributes,
    )
    assert accepted.accepted_request is None  # the UpdateAdmitted event holds it
    assert run.state.updates == ()
    run.check()
    again = ResetRun()
    again.complete()
    again.send(rq.SignalWorkflowExecution("s1"))
    again.send(rq.UpdateWorkflowExecution("u1", update_request("u1")))
    token = again.poll()
    again.send(rq.RespondWorkflowTaskCompleted(token, (), messages=(accept,)))
    again.reset(4, reapply_signals=False, reapply_updates=False)
    assert _types(again.after(4)) == [E.WORKFLOW_TASK_FAILED, E.WORKFLOW_TASK_SCHEDULED]


def reset_while_a_task_is_in_flight() -> None:
    """The running base is terminated: its in-flight task fails (FORCE_CLOSE_COMMAND),
    the signal buffered meanwhile is flushed, then WorkflowExecutionTerminated by
    "history-resetter"; the flushed signal is reapplied to the new run."""
    run = ResetRun()
    run.complete(activity("a"))
    sid = _first(run, E.ACTIVITY_TASK_SCHEDULED).event_id
    token = run.start_activity(sid)
    run.send(rq.RespondActivityTaskCompleted(token))
    run.poll()
    run.send(rq.SignalWorkflowExecution("late"))
    assert run.state.buffered
    outcome = run.reset(4)
    base = outcome.base
    assert _types(base.events) == [
        E.WORKFLOW_TASK_FAILED,
        E.WORKFLOW_EXECUTION_SIGNALED,
        E.WORKFLOW_EXECUTION_TERMINATED,
    ]
    failed = attrs(base.events[0], WorkflowTaskFailedEventAttributes)
    assert failed.cause is WorkflowTaskFailedCause.FORCE_CLOSE_COMMAND
    terminated = attrs(base.events[-1], WorkflowExecutionTerminatedEventAttributes)
    assert (terminated.reason, terminated.identity) == ("reset 1", RESETTER)
    (close,) = [t for t in base.tasks if isinstance(t, rq.CloseExecutionTransfer)]
    assert close.parent_outcome is None and close.children == ()
    assert base.state.reset_run_id == run.state.run_id
    assert _types(run.after(4)) == [
        E.WORKFLOW_TASK_FAILED,
        E.WORKFLOW_EXECUTION_SIGNALED,
        E.WORKFLOW_TASK_SCHEDULED,
    ]
    assert run.state.activities == ()  # scheduled after the reset point: gone


def reset_keeps_what_was_pending() -> None:
    """An activity, a timer, a child and an external signal pending at the reset point
    are pending in the new run, with their tasks; the child's later close is
    reapplied (unless every kind of reapplication is excluded)."""
    for children in (True, False):
        run = ResetRun()
        run.complete(
            activity("a"),
            _timer("t", 60),
            _child("c"),
            Command(
                C.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
                SignalExternalWorkflowExecutionCommandAttributes(
                    execution=WorkflowExecution(workflow_id="other"), signal_name="s"
                ),
            ),
        )
        child = _first(run, E.START_CHILD_WORKFLOW_EXECUTION_INITIATED).event_id
        run.send(rq.RecordChildExecutionStarted(child, "child-run"))
        run.poll()
        finish = run.state.next_event_id
        run.complete()
        run.send(rq.RecordChildExecutionCompleted(child, rq.ChildOutcome.COMPLETED))
        outcome = run.reset(
            finish, reapply_signals=children, reapply_updates=children, reapply_children=children
        )
        state = run.state
        assert [a.activity_id for a in state.activities] == ["a"]
        assert state.activities[0].scheduled_time == run.now  # scheduled again at the reset
        assert [t.timer_id for t in state.timers] == ["t"]
        assert [s.workflow_id for s in state.signals_out] == ["other"]
        tasks = outcome.new_run.tasks if outcome.new_run else ()
        kinds = {type(t) for t in tasks}
        assert {rq.ActivityTaskTransfer, rq.UserTimerTask, rq.SignalExternalTransfer} <= kinds
        closed = E.CHILD_WORKFLOW_EXECUTION_COMPLETED in _types(run.after(finish))
        assert closed is children
        assert (state.children == ()) is children


def reset_to_a_started_event_and_a_sticky_timeout() -> None:
    """A task that had not started at the reset point is started by "history-service"
    before it fails: resetting to its WorkflowTaskStarted, or to the schedule-to-start
    timeout of a sticky task."""
    run = ResetRun()
    run.complete()
    run.send(rq.SignalWorkflowExecution("s"))
    run.poll()  # WorkflowTaskStarted is event 7
    run.reset(7)
    assert _types(run.after(7)) == [
        E.WORKFLOW_TASK_STARTED,
        E.WORKFLOW_TASK_FAILED,
        E.WORKFLOW_TASK_SCHEDULED,
    ]
    started = attrs(run.after(7)[0], WorkflowTaskStartedEventAttributes)
    assert (started.identity, started.request_id) == (HISTORY_SERVICE, "emptyUuid")
    sticky = ResetRun()
    token = sticky.poll()
    sticky.send(
        rq.RespondWorkflowTaskCompleted(
            token, (), sticky_queue="sticky", sticky_schedule_to_start_timeout=5 * S
        )
    )
    sticky.send(rq.SignalWorkflowExecution("s"))
    sticky.fire(rq.WorkflowTaskTimeoutTask, timeout_type=TimeoutType.SCHEDULE_TO_START)
    finish = _first(sticky, E.WORKFLOW_TASK_TIMED_OUT).event_id
    sticky.reset(finish)
    scheduled = attrs(sticky.events[-1], WorkflowTaskScheduledEventAttributes)
    assert scheduled.task_queue is not None
    assert scheduled.task_queue.kind is TaskQueueKind.NORMAL


def reset_a_run_that_continued_as_new() -> None:
    """Resetting an earlier run of a chain terminates the current run; what every run
    of the chain received after the reset point is reapplied."""
    first = ResetRun()
    first.complete()
    first.send(rq.SignalWorkflowExecution("s1"))
    token = first.poll()
    again = Command(
        C.CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        ContinueAsNewWorkflowExecutionCommandAttributes(workflow_type=WorkflowType(name="Flow")),
    )
    first.now += S
    outcome = service.handle(
        first.state, rq.RespondWorkflowTaskCompleted(token, (again,)), first.now
    )
    first.state, first.events = outcome.state, [*first.events, *outcome.events]
    assert outcome.new_run is not None
    second = Run()
    started = service.start(outcome.new_run, first.now)
    second.state, second.events, second.now = started.state, list(started.events), first.now
    second.send(rq.SignalWorkflowExecution("s2"))
    base_events = list(first.events)
    result = first.reset(4, current=second, continued=(second.events,))
    assert result.current is not None
    assert result.current.events[-1].event_type is E.WORKFLOW_EXECUTION_TERMINATED
    assert result.base.events == () and result.base.state.reset_run_id == first.state.run_id
    (close,) = [t for t in result.current.tasks if isinstance(t, rq.CloseExecutionTransfer)]
    assert close.parent_outcome is None
    signals = [
        attrs(e, WorkflowExecutionSignaledEventAttributes).signal_name
        for e in first.after(4)
        if e.event_type is E.WORKFLOW_EXECUTION_SIGNALED
    ]
    assert signals == ["s1", "s2"]
    assert base_events[-1].event_type is E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW


SCENARIOS: tuple[Callable[[], None], ...] = (
    child_and_external_outcomes,
    reset_reapplies_signals_and_updates,
    reset_while_a_task_is_in_flight,
    reset_keeps_what_was_pending,
    reset_to_a_started_event_and_a_sticky_timeout,
    reset_a_run_that_continued_as_new,
)


def run_all() -> None:
    for scenario in SCENARIOS:
        scenario()
