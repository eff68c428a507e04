"""Targeted scenarios for table rows the real corpus does not reach (coverage gate).

Each scenario drives the pure history service (or hand-writes a history for the
validator) through one rare path, and checks that the resulting history is valid, so
every scenario is also a test that the service and the validator agree on it.
"""

from __future__ import annotations

from collections.abc import Callable

from core import requests as rq
from core.commands import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    RequestCancelActivityTaskCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
    StartTimerCommandAttributes,
)
from core.enums import CommandType, EventType, TimeoutType
from core.events import (
    ActivityTaskStartedEventAttributes,
    ActivityType,
    WorkflowExecution,
    WorkflowType,
)
from core.opaque import Opaque
from core.statemachine.history.validator import validate
from core.task_queues import task_queue
from sim.service_run import ServiceRun
from tests.core.statemachine.history.builder import History

E = EventType
C = CommandType
S = 10**9


class Run(ServiceRun):
    """One run driven request by request (sim.service_run), woken by a signal when it
    waits, and checked against the validator."""

    def __init__(self) -> None:
        super().__init__(rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "start"))

    def poll(self) -> rq.WorkflowTaskToken:
        if self.state.wft is None:  # the workflow waits: a signal wakes it
            self.send(rq.SignalWorkflowExecution("wake"))
        return super().poll()

    def complete(self, *commands: Command, messages: tuple[rq.UpdateMessage, ...] = ()) -> None:
        self.send(rq.RespondWorkflowTaskCompleted(self.poll(), commands, messages=messages))

    def check(self) -> None:
        assert validate(self.events).violations == (), validate(self.events).violations


def activity(
    activity_id: str = "a", attempts: int = 0, schedule_to_close: int | None = None
) -> Command:
    policy = Opaque.of({"initialInterval": "1s", "maximumAttempts": attempts})
    return Command(
        C.SCHEDULE_ACTIVITY_TASK,
        ScheduleActivityTaskCommandAttributes(
            activity_id=activity_id,
            activity_type=ActivityType(name="Act"),
            task_queue=task_queue("q"),
            retry_policy=policy,
            start_to_close_timeout=10 * S,
            schedule_to_close_timeout=schedule_to_close,
        ),
    )


def cancel(sid: int) -> Command:
    return Command(C.REQUEST_CANCEL_ACTIVITY_TASK, RequestCancelActivityTaskCommandAttributes(sid))


def _scheduled(run: Run) -> int:
    return max(e.event_id for e in run.events if e.event_type is E.ACTIVITY_TASK_SCHEDULED)


# --- service scenarios -------------------------------------------------------------


def wft_start_to_close_timeout() -> None:
    run = Run()
    run.poll()
    run.fire(rq.WorkflowTaskTimeoutTask, timeout_type=TimeoutType.START_TO_CLOSE)
    assert run.events[-1].event_type is E.WORKFLOW_TASK_TIMED_OUT
    run.check()


def wft_completion_rejected() -> None:
    run = Run()
    bad_timer = Command(C.START_TIMER, StartTimerCommandAttributes(timer_id=""))
    run.complete(bad_timer)
    assert any(e.event_type is E.WORKFLOW_TASK_FAILED for e in run.events)
    run.check()


def terminate_in_flight_and_scheduled() -> None:
    run = Run()
    run.poll()
    run.send(rq.TerminateWorkflowExecution("stop"))  # FORCE_CLOSE
    run.check()
    other = Run()
    other.send(rq.TerminateWorkflowExecution("stop"))  # RUN_CLOSED (never started)
    other.check()


def update_rejected_and_converted() -> None:
    run = Run()
    run.complete()
    run.send(rq.UpdateWorkflowExecution("u1"))
    token = run.poll()
    reject = rq.UpdateMessage("m1", "u1", rq.UpdateMessageKind.REJECT)
    before = len(run.events)
    run.send(rq.RespondWorkflowTaskCompleted(token, (), messages=(reject,)))  # DISCARD
    assert len(run.events) == before, "a rejected speculative task leaves no event"
    run.send(rq.UpdateWorkflowExecution("u2"))
    run.send(rq.SignalWorkflowExecution("poke"))  # CONVERT (scheduled)
    run.complete()
    run.send(rq.UpdateWorkflowExecution("u3"))
    token = run.poll()
    run.send(rq.SignalWorkflowExecution("poke again"))  # CONVERT (started)
    reject = rq.UpdateMessage("m3", "u3", rq.UpdateMessageKind.REJECT)
    run.send(rq.RespondWorkflowTaskCompleted(token, (), messages=(reject,)))
    run.check()


def activity_cancel_paths() -> None:
    run = Run()
    run.complete(activity("a1"))
    run.complete(cancel(_scheduled(run)))  # SCHEDULED --REQUEST_CANCEL
    run.complete(activity("a2"))
    sid = _scheduled(run)
    token = run.start_activity(sid)
    run.send(rq.RecordActivityTaskHeartbeat(token))  # STARTED --HEARTBEAT
    run.complete(cancel(sid))
    reply = run.send(rq.RecordActivityTaskHeartbeat(token))  # CANCEL_REQUESTED --HEARTBEAT
    assert reply == rq.Heartbeat(cancel_requested=True)
    run.send(rq.RespondActivityTaskCompleted(token))  # CANCEL_REQUESTED --RESPOND_COMPLETED
    run.complete(activity("a3", attempts=1))
    sid = _scheduled(run)
    token = run.start_activity(sid)
    run.complete(cancel(sid))
    run.send(rq.RespondActivityTaskFailed(token, error_type="X"))  # ... --RESPOND_FAILED
    run.complete(activity("a4"))
    sid = _scheduled(run)
    run.start_activity(sid)
    run.complete(cancel(sid))
    run.fire(rq.ActivityTimeoutTask, scheduled_event_id=sid)  # ... --TIMEOUT
    run.check()


def late_start_of_a_closed_activity() -> None:
    """Matching hands out a task whose activity a cancel closed before it started
    (CLOSED --RecordActivityTaskStarted). The live programs had reached this row by
    chance until one user timer task fired every due timer (service/timer.py)."""
    run = Run()
    run.complete(activity("a"))
    sid = _scheduled(run)
    info = run.state.activity(sid)
    assert info is not None
    run.complete(cancel(sid))  # not started: ActivityTaskCanceled at once
    assert run.state.activity(sid) is None
    reply = run.send(rq.RecordActivityTaskStarted(sid, info.stamp, "late"))
    assert isinstance(reply, rq.Error)
    run.check()


def activity_backoff_paths() -> None:
    run = Run()
    run.complete(activity("a1"))
    sid = _scheduled(run)
    run.start_activity(sid)
    run.fire(rq.ActivityTimeoutTask, scheduled_event_id=sid)  # STARTED --TIMEOUT_RETRY
    run.complete(cancel(sid))  # BACKOFF --REQUEST_CANCEL
    run.complete(activity("a2", schedule_to_close=30 * S))
    sid = _scheduled(run)
    token = run.start_activity(sid)
    run.send(rq.RespondActivityTaskFailed(token, error_type="X"))
    run.fire(
        rq.ActivityTimeoutTask, scheduled_event_id=sid, timeout_type=TimeoutType.SCHEDULE_TO_CLOSE
    )  # BACKOFF --TIMEOUT
    run.check()


def completion_by_id() -> ActivityTaskStartedEventAttributes:
    """RespondActivityTaskCompletedById of an activity not started (SCHEDULED) and of one
    waiting to retry (BACKOFF): each is started for the completer and completed. Returns
    the second's ActivityTaskStarted attributes."""
    run = Run()
    run.complete(activity("a1"), activity("a2"))
    first, second = sorted(
        e.event_id for e in run.events if e.event_type is E.ACTIVITY_TASK_SCHEDULED
    )
    token = run.start_activity(second)
    run.send(rq.RespondActivityTaskFailed(token, Opaque.of("boom"), error_type="X"))
    for sid in (first, second):  # SCHEDULED, then BACKOFF --RESPOND_COMPLETED [by id]
        info = run.state.activity(sid)
        assert info is not None and info.started is False
        by_id = rq.RespondActivityTaskCompleted(
            rq.ActivityTaskToken(sid, info.attempt), identity="cli", by_id=True
        )
        assert isinstance(run.send(by_id), rq.Ok)
        assert run.state.activity(sid) is None
    run.check()
    started = [e for e in run.events if e.event_type is E.ACTIVITY_TASK_STARTED]
    attrs = started[-1].attributes
    assert isinstance(attrs, ActivityTaskStartedEventAttributes)
    return attrs


def child_and_external_failures() -> None:
    run = Run()
    run.complete(
        Command(
            C.START_CHILD_WORKFLOW_EXECUTION,
            StartChildWorkflowExecutionCommandAttributes(
                workflow_id="child", workflow_type=WorkflowType(name="Child"), control="c"
            ),
        ),
        Command(  # (a control, as the Go SDK sends: kept by the rebuilt pending entries)
            C.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
            SignalExternalWorkflowExecutionCommandAttributes(
                execution=WorkflowExecution(workflow_id="other"), signal_name="s", control="s"
            ),
        ),
    )
    child_id, signal_id = (
        e.event_id
        for e in run.events
        if e.event_type
        in (
            E.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        )
    )
    run.send(rq.RecordStartChildExecutionFailed(child_id))
    run.send(rq.RecordExternalResult(signal_id, cancel=False, delivered=False))
    run.check()


# --- validator scenarios (hand-written histories a real server writes rarely) -------


def validator_rare_rows() -> None:
    for build in (
        _wft_timeout,
        _cancel_not_running,
        _cancel_after_start,
        _child_closes,
        _external_failures,
    ):
        history = build()
        assert validate(history.events).violations == (), build.__name__


def _wft_timeout() -> History:
    h = History().start()
    s = h.add(E.WORKFLOW_TASK_SCHEDULED, attempt=1)
    t = h.add(E.WORKFLOW_TASK_STARTED, scheduled_event_id=s)
    h.add(
        E.WORKFLOW_TASK_TIMED_OUT,
        scheduled_event_id=s,
        started_event_id=t,
        timeout_type=TimeoutType.START_TO_CLOSE,
    )
    return h


def _cancel_not_running() -> History:
    h = History().start()
    wtc = h.workflow_task()
    a = h.add(E.ACTIVITY_TASK_SCHEDULED, activity_id="1", workflow_task_completed_event_id=wtc)
    b = h.add(E.ACTIVITY_TASK_SCHEDULED, activity_id="2", workflow_task_completed_event_id=wtc)
    wtc = h.workflow_task()
    r = h.add(
        E.ACTIVITY_TASK_CANCEL_REQUESTED, scheduled_event_id=a, workflow_task_completed_event_id=wtc
    )
    h.add(E.ACTIVITY_TASK_CANCELED, scheduled_event_id=a, latest_cancel_requested_event_id=r)
    h.add(
        E.ACTIVITY_TASK_CANCEL_REQUESTED, scheduled_event_id=b, workflow_task_completed_event_id=wtc
    )
    h.add(E.ACTIVITY_TASK_TIMED_OUT, scheduled_event_id=b)
    return h


def _cancel_after_start() -> History:
    """Servers that wrote ActivityTaskStarted at dispatch: Started, CancelRequested, close."""
    h = History().start()
    wtc = h.workflow_task()
    ids = [
        h.add(E.ACTIVITY_TASK_SCHEDULED, activity_id=str(n), workflow_task_completed_event_id=wtc)
        for n in range(3)
    ]
    started = [h.add(E.ACTIVITY_TASK_STARTED, scheduled_event_id=i, attempt=1) for i in ids]
    wtc = h.workflow_task()
    for i in ids:
        h.add(
            E.ACTIVITY_TASK_CANCEL_REQUESTED,
            scheduled_event_id=i,
            workflow_task_completed_event_id=wtc,
        )
    for kind, i, st in zip(
        (E.ACTIVITY_TASK_COMPLETED, E.ACTIVITY_TASK_FAILED, E.ACTIVITY_TASK_TIMED_OUT),
        ids,
        started,
        strict=True,
    ):
        h.add(kind, scheduled_event_id=i, started_event_id=st)
    return h


def _child_closes() -> History:
    h = History().start()
    wtc = h.workflow_task()
    kids = [
        h.add(
            E.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            workflow_id=f"c{n}",
            workflow_task_completed_event_id=wtc,
        )
        for n in range(4)
    ]
    h.add(
        E.START_CHILD_WORKFLOW_EXECUTION_FAILED,
        initiated_event_id=kids[0],
        workflow_task_completed_event_id=wtc,
    )
    for kind, kid in zip(
        (
            E.CHILD_WORKFLOW_EXECUTION_CANCELED,
            E.CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
            E.CHILD_WORKFLOW_EXECUTION_TERMINATED,
        ),
        kids[1:],
        strict=True,
    ):
        st = h.add(E.CHILD_WORKFLOW_EXECUTION_STARTED, initiated_event_id=kid)
        h.add(kind, initiated_event_id=kid, started_event_id=st)
    return h


def _external_failures() -> History:
    h = History().start()
    wtc = h.workflow_task()
    s = h.add(E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, workflow_task_completed_event_id=wtc)
    c = h.add(
        E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, workflow_task_completed_event_id=wtc
    )
    h.add(
        E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
        initiated_event_id=s,
        workflow_task_completed_event_id=wtc,
    )
    h.add(
        E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
        initiated_event_id=c,
        workflow_task_completed_event_id=wtc,
    )
    return h


def timer_id_reused_while_its_fire_is_buffered() -> None:
    """Timer t1 fires while a workflow task is in flight (its TimerFired is buffered,
    the timer gone); the task's completion starts a new t1, and the old fire is flushed
    after it. The new t1 stays pending (found by test_rebuild's state machine)."""
    run = Run()
    t1 = Command(C.START_TIMER, StartTimerCommandAttributes(timer_id="t1", start_to_fire_timeout=S))
    run.complete(t1)
    token = run.poll()
    run.fire(rq.UserTimerTask, timer_id="t1")
    run.send(rq.RespondWorkflowTaskCompleted(token, (t1,)))
    started = [e.event_id for e in run.events if e.event_type is E.TIMER_STARTED]
    fired = [e for e in run.events if e.event_type is E.TIMER_FIRED]
    assert len(started) == 2 and [getattr(f.attributes, "started_event_id", 0) for f in fired] == [
        started[0]
    ]
    assert fired[0].event_id > started[1], "the buffered fire is flushed after the new start"
    assert [t.started_event_id for t in run.state.timers] == [started[1]]
    run.check()


def cancel_of_an_unstarted_activity_in_the_closing_batch() -> None:
    """The batch that closes the run also cancels an activity that never started: its
    buffered ActivityTaskCanceled is dropped with the close (found by test_rebuild's
    state machine)."""
    run = Run()
    run.complete(activity("a0"))
    close = Command(C.COMPLETE_WORKFLOW_EXECUTION, CompleteWorkflowExecutionCommandAttributes())
    run.complete(cancel(_scheduled(run)), activity("a1"), close)
    assert run.events[-1].event_type is E.WORKFLOW_EXECUTION_COMPLETED
    assert not any(e.event_type is E.ACTIVITY_TASK_CANCELED for e in run.events)
    run.check()


def paused_activity_paths() -> None:
    """Every timer of a paused activity is dropped, in each state it can be paused in
    (activity.py's "paused" rows), and a paused attempt's failure waits ("paused retry")."""
    run = Run()
    for activity_id in ("scheduled", "started", "cancel-requested", "backoff"):
        run.complete(activity(activity_id))
        sid = _scheduled(run)
        if activity_id != "scheduled":
            token = run.start_activity(sid)
        if activity_id == "cancel-requested":
            run.complete(cancel(sid))
        if activity_id == "backoff":
            run.send(rq.RespondActivityTaskFailed(token, error_type="X"))
        run.send(rq.PauseActivity(activity_id))
        info = run.state.activity(sid)
        assert info is not None and info.pause is not None
        for kind in TimeoutType:
            if kind is not TimeoutType.UNSPECIFIED:
                task = rq.ActivityTimeoutTask(sid, kind, info.attempt, info.stamp, run.now)
                run.send(rq.FireTimer(task))
        run.send(rq.FireTimer(rq.ActivityRetryTask(sid, info.attempt, info.stamp, run.now)))
        assert run.state.activity(sid) == info, "nothing fired"
    run.complete(activity("again"))
    token = run.start_activity(_scheduled(run))
    run.send(rq.PauseActivity("again"))
    run.send(rq.RespondActivityTaskFailed(token, error_type="X"))  # STARTED --paused retry
    run.check()


SCENARIOS: tuple[Callable[[], object], ...] = (
    wft_start_to_close_timeout,
    wft_completion_rejected,
    terminate_in_flight_and_scheduled,
    update_rejected_and_converted,
    activity_cancel_paths,
    late_start_of_a_closed_activity,
    activity_backoff_paths,
    completion_by_id,
    child_and_external_failures,
    validator_rare_rows,
    timer_id_reused_while_its_fire_is_buffered,
    cancel_of_an_unstarted_activity_in_the_closing_batch,
    paused_activity_paths,
)


def run_all() -> None:
    """Run every scenario (each asserts its own history is valid)."""
    for scenario in SCENARIOS:
        scenario()
