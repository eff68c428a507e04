"""Walks over one run's activities, timers, children and external requests, for the
rows of service/activity.py, timer.py, child.py and external.py that no corpus history
takes (`run_all`). For activities: stale and duplicate worker calls, timers of older
attempts, a heartbeat timer that finds recent heartbeats, a retry with no time left;
for timers: see `timer_paths`; for children and external requests: `child_paths`.

Each walk schedules activities, starts them (with the current stamp, an old one, or a
request id already used), sends heartbeats and replies with current and old tokens,
cancels current and closed activities, and fires armed timer tasks, each possibly more
than once. Every reply must be a reply (no handler may leave an activity in a state
other than its row's target), and the history must stay valid.
"""

from __future__ import annotations

import random

from core import requests as rq
from core.commands import (
    CancelTimerCommandAttributes,
    Command,
    RequestCancelExternalWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
    StartTimerCommandAttributes,
)
from core.enums import CommandType, EventType, TimeoutType
from core.events import ActivityType, WorkflowExecution, WorkflowType
from core.opaque import Opaque
from core.task_queues import task_queue
from tests.core.statemachine.coverage_scenarios import Run, cancel

S = 10**9


def activity(activity_id: str, attempts: int, schedule_to_close: int | None) -> Command:
    """An activity with every timeout short enough for a walk to reach it."""
    return Command(
        CommandType.SCHEDULE_ACTIVITY_TASK,
        ScheduleActivityTaskCommandAttributes(
            activity_id=activity_id,
            activity_type=ActivityType(name="Act"),
            task_queue=task_queue("q"),
            retry_policy=Opaque.of({"initialInterval": "1s", "maximumAttempts": attempts}),
            schedule_to_start_timeout=5 * S,
            start_to_close_timeout=10 * S,
            heartbeat_timeout=3 * S,
            schedule_to_close_timeout=schedule_to_close,
        ),
    )


def walk(seed: int, steps: int = 120) -> Run:
    rnd = random.Random(seed)
    run = Run()
    sids: list[int] = []
    tokens: list[rq.ActivityTaskToken] = []
    fired: list[rq.TimerTask] = []
    for _ in range(steps):
        pending = [a for a in run.state.activities]
        move = rnd.randrange(9)
        if (move == 0 and len(pending) < 2) or not sids:
            attempts = rnd.choice((0, 0, 1, 4))
            run.complete(activity(f"a{len(sids)}", attempts, rnd.choice((None, 25 * S))))
            scheduled = EventType.ACTIVITY_TASK_SCHEDULED
            sids.append(max(e.event_id for e in run.events if e.event_type is scheduled))
        elif move == 1 and pending:
            info = rnd.choice(pending)
            stamp = info.stamp - rnd.choice((0, 0, 1))
            reply = run.send(
                rq.RecordActivityTaskStarted(info.scheduled_event_id, stamp, rnd.choice("xy"))
            )
            if isinstance(reply, rq.ActivityTaskStarted):
                tokens.append(reply.token)
        elif move == 2:
            run.complete(cancel(rnd.choice(sids)))
        elif move in (3, 4) and tokens:
            token = rnd.choice(tokens)
            run.send(
                rnd.choice(
                    (
                        rq.RecordActivityTaskHeartbeat(token),
                        rq.RespondActivityTaskCompleted(token),
                        rq.RespondActivityTaskFailed(token, error_type="X"),
                        rq.RespondActivityTaskFailed(token, non_retryable=True),
                        rq.RespondActivityTaskCanceled(token),
                    )
                ),
                advance=rnd.choice((S, 2 * S, 4 * S)),
            )
        elif move in (5, 6) and run.timers:
            task = rnd.choice(run.timers)
            run.timers.remove(task)
            fired.append(task)
            run.send(rq.FireTimer(task), advance=rnd.choice((S, 6 * S, 12 * S)))
        elif move == 7 and fired:
            run.send(rq.FireTimer(rnd.choice(fired)))  # a timer task delivered again
        elif move == 8:
            run.send(rq.SignalWorkflowExecution("tick"), advance=rnd.choice((S, 10 * S)))
    run.check()
    return run


def _timer(run: Run, sid: int, kind: type, **keys: object) -> rq.TimerTask:
    """The latest armed task of `kind` for activity `sid` (kept: it may fire again)."""
    return next(
        t for t in reversed(run.timers)
        if isinstance(t, kind) and getattr(t, "scheduled_event_id", None) == sid
        and all(getattr(t, k) == v for k, v in keys.items())
    )  # fmt: skip


def stale_attempts() -> None:
    """Replies, timers and retry timers of an older attempt reaching a newer one."""
    run = Run()
    run.complete(activity("a", 0, 60 * S))
    sid = max(e.event_id for e in run.events if e.event_type is EventType.ACTIVITY_TASK_SCHEDULED)
    first = run.start_activity(sid)
    old_hb = _timer(run, sid, rq.ActivityTimeoutTask, timeout_type=TimeoutType.HEARTBEAT)
    old_stc = _timer(run, sid, rq.ActivityTimeoutTask, timeout_type=TimeoutType.START_TO_CLOSE)
    run.send(rq.RespondActivityTaskFailed(first, error_type="X"))  # STARTED -> BACKOFF
    retry = _timer(run, sid, rq.ActivityRetryTask)
    run.send(rq.FireTimer(retry), advance=2 * S)  # BACKOFF -> SCHEDULED
    second = run.start_activity(sid)
    stale = (rq.FireTimer(retry), rq.FireTimer(old_hb), rq.FireTimer(old_stc))
    late = (
        rq.RecordActivityTaskHeartbeat(first),
        rq.RespondActivityTaskCompleted(first),
        rq.RespondActivityTaskFailed(first),
        rq.RespondActivityTaskCanceled(first),
    )
    for request in (*stale, *late):  # STARTED, stale timer / token
        run.send(request, advance=0)
    run.complete(cancel(sid))  # STARTED -> CANCEL_REQUESTED
    # a heartbeat keeps attempt 2's own heartbeat timer from expiring: any activity
    # timer task times out every timer that has (activity_sweep.py)
    run.send(rq.RecordActivityTaskHeartbeat(second), advance=0)
    for request in (*stale, *late):  # CANCEL_REQUESTED, stale timer / token
        run.send(request, advance=0)
    run.send(rq.RecordActivityTaskHeartbeat(second), advance=0)
    hb = _timer(run, sid, rq.ActivityTimeoutTask, timeout_type=TimeoutType.HEARTBEAT)
    run.send(rq.FireTimer(hb), advance=0)  # heartbeat recent: checked again later
    run.complete(activity("b", 0, None))
    sid = max(e.event_id for e in run.events if e.event_type is EventType.ACTIVITY_TASK_SCHEDULED)
    run.send(rq.RespondActivityTaskFailed(run.start_activity(sid), error_type="X"))
    retry = _timer(run, sid, rq.ActivityRetryTask)
    run.send(rq.FireTimer(retry), advance=2 * S)
    run.send(rq.RespondActivityTaskFailed(run.start_activity(sid), error_type="X"))
    run.send(rq.FireTimer(retry), advance=0)  # BACKOFF, an older attempt's retry timer
    run.check()


def _timer_command(kind: CommandType, timer_id: str) -> Command:
    if kind is CommandType.START_TIMER:
        return Command(kind, StartTimerCommandAttributes(timer_id, start_to_fire_timeout=5 * S))
    return Command(kind, CancelTimerCommandAttributes(timer_id))


def timer_paths() -> Run:
    """A restarted timer's older task, a cancel racing a buffered fire, and a cancel of
    a timer that was never started."""
    start, cancel_ = CommandType.START_TIMER, CommandType.CANCEL_TIMER
    run = Run()
    run.complete(_timer_command(start, "t"))
    old = next(t for t in run.timers if isinstance(t, rq.UserTimerTask))
    run.complete(_timer_command(cancel_, "t"), _timer_command(start, "t"))
    run.send(rq.FireTimer(old))  # Started, stale timer: ignored
    token = run.poll()  # a workflow task in flight: TimerFired is buffered
    run.fire(rq.UserTimerTask, timer_id="t")
    run.send(rq.RespondWorkflowTaskCompleted(token, (_timer_command(cancel_, "t"),)))
    run.complete(_timer_command(cancel_, "never-started"))  # rejected: the task fails
    run.check()
    return run


def _initiated(run: Run, kind: EventType) -> list[int]:
    return [e.event_id for e in run.events if e.event_type is kind]


def _kid(workflow_id: str) -> Command:
    return Command(
        CommandType.START_CHILD_WORKFLOW_EXECUTION,
        StartChildWorkflowExecutionCommandAttributes(
            workflow_id=workflow_id, workflow_type=WorkflowType(name="Kid")
        ),
    )


def child_paths() -> tuple[Run, list[rq.Reply]]:
    """Every report about a child and an external request in every state: a close that
    raced ahead of the start, a start or start failure delivered again, reports about
    children and requests no longer pending. Returns the run and the replies in order."""
    target = WorkflowExecution(workflow_id="other")
    run = Run()
    run.complete(
        _kid("kid-a"),
        _kid("kid-b"),
        Command(
            CommandType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
            SignalExternalWorkflowExecutionCommandAttributes(execution=target, signal_name="s"),
        ),
        Command(
            CommandType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION,
            RequestCancelExternalWorkflowExecutionCommandAttributes(workflow_id="other"),
        ),
    )
    a, b = _initiated(run, EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED)
    (signal,) = _initiated(run, EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
    (cancel_,) = _initiated(run, EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
    closed = rq.RecordChildExecutionCompleted(a, rq.ChildOutcome.COMPLETED)
    reports: list[rq.Request] = [
        closed,  # Initiated: the close raced ahead of the start (NOT_READY)
        rq.RecordChildExecutionStarted(a, "kid-a-run"),  # Initiated -> Started
        rq.RecordChildExecutionStarted(a, "kid-a-run"),  # Started: delivered again
        rq.RecordStartChildExecutionFailed(a),  # Started: a late start failure
        closed,  # Started -> Closed
        closed,  # Closed: delivered again
        rq.RecordChildExecutionStarted(a, "kid-a-run"),
        rq.RecordStartChildExecutionFailed(a),
        rq.RecordStartChildExecutionFailed(b),  # Initiated -> Closed
        rq.RecordExternalResult(signal, cancel=False, delivered=True),  # Initiated -> Closed
        rq.RecordExternalResult(signal, cancel=False, delivered=True),  # Closed
        rq.RecordExternalResult(signal, cancel=False, delivered=False),  # Closed
        rq.RecordExternalResult(cancel_, cancel=True, delivered=False),  # Initiated -> Closed
        rq.RecordExternalResult(cancel_, cancel=True, delivered=True),  # Closed
    ]
    replies = [run.send(report) for report in reports]
    run.check()
    return run, replies


def cancel_requested_schedule_to_close() -> None:
    """Schedule-to-close falls due while a cancel is requested and the attempt's other
    timers have not (a heartbeat keeps it alive; start-to-close falls due later)."""
    run = Run()
    run.complete(activity("c", 0, 8 * S))  # start-to-close capped at 8 s
    sid = max(e.event_id for e in run.events if e.event_type is EventType.ACTIVITY_TASK_SCHEDULED)
    token = run.start_activity(sid)  # 1 s after the schedule
    run.complete(cancel(sid))  # STARTED -> CANCEL_REQUESTED
    s2c = _timer(run, sid, rq.ActivityTimeoutTask, timeout_type=TimeoutType.SCHEDULE_TO_CLOSE)
    run.send(rq.RecordActivityTaskHeartbeat(token), advance=4 * S)
    run.send(rq.FireTimer(s2c), advance=S)  # CANCEL_REQUESTED, schedule-to-close
    assert run.state.activity(sid) is None
    run.check()


def quiet_paths() -> None:
    """Rows the walks reached only by luck once a timer task sweeps every expired
    timer: each taken here with no other timer of the activity due."""
    run = Run()
    run.complete(activity("q", 0, None))
    sid = max(e.event_id for e in run.events if e.event_type is EventType.ACTIVITY_TASK_SCHEDULED)
    old_s2s = _timer(run, sid, rq.ActivityTimeoutTask, timeout_type=TimeoutType.SCHEDULE_TO_START)
    run.send(rq.RespondActivityTaskCanceled(rq.ActivityTaskToken(sid, 1)), advance=0)  # SCHEDULED
    first = run.start_activity(sid)
    run.send(rq.RecordActivityTaskHeartbeat(first))
    hb = _timer(run, sid, rq.ActivityTimeoutTask, timeout_type=TimeoutType.HEARTBEAT)
    run.send(rq.FireTimer(hb), advance=0)  # STARTED, heartbeat recent: checked again later
    run.send(rq.RespondActivityTaskFailed(first, error_type="X"))  # STARTED -> BACKOFF
    run.send(rq.FireTimer(_timer(run, sid, rq.ActivityRetryTask)), advance=S)  # -> SCHEDULED
    run.send(rq.FireTimer(old_s2s), advance=0)  # SCHEDULED, attempt 1's schedule-to-start
    info = run.state.activity(sid)
    assert info is not None and not info.started
    second = run.start_activity(sid)
    run.complete(cancel(sid))  # STARTED -> CANCEL_REQUESTED
    stale = rq.RecordActivityTaskStarted(sid, info.stamp - 1, "old")
    run.send(stale, advance=0)  # CANCEL_REQUESTED, a start of an older stamp
    run.send(rq.RespondActivityTaskCanceled(second), advance=0)
    run.check()


def run_all(walks: int = 40) -> None:
    stale_attempts()
    cancel_requested_schedule_to_close()
    quiet_paths()
    timer_paths()
    child_paths()
    for seed in range(walks):
        walk(seed)
