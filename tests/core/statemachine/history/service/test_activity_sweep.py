"""One activity timer task times out every activity timer that has expired
(core/statemachine/history/service/activity_sweep.py, from executeActivityTimeoutTask in
service/history/timer_queue_active_task_executor.go), and a timeout's failure carries
the activity's last failure as its cause (AddActivityTaskTimedOutEvent in
service/history/workflow/mutable_state_impl.go). Both were found by a real history
(tests/fixtures/unseen-histories/activity-timeouts.json)."""

from __future__ import annotations

from core import requests as rq
from core.commands import Command, ScheduleActivityTaskCommandAttributes
from core.enums import CommandType, EventType, RetryState, TimeoutType
from core.events import ActivityTaskTimedOutEventAttributes, ActivityType, TaskQueue
from core.opaque import Opaque
from tests.core.statemachine.coverage_scenarios import Run, activity

S = 10**9
E = EventType


def _waiting(activity_id: str, queue: str = "nobody") -> Command:
    """An activity on a queue no worker polls, with a 2 s schedule-to-start timeout."""
    return Command(
        CommandType.SCHEDULE_ACTIVITY_TASK,
        ScheduleActivityTaskCommandAttributes(
            activity_id=activity_id,
            activity_type=ActivityType(name="Act"),
            task_queue=TaskQueue(name=queue),
            schedule_to_start_timeout=2 * S,
            start_to_close_timeout=10 * S,
        ),
    )


def _task(run: Run, sid: int) -> rq.ActivityTimeoutTask:
    return next(
        t for t in run.timers
        if isinstance(t, rq.ActivityTimeoutTask) and t.scheduled_event_id == sid
    )  # fmt: skip


def test_one_timer_task_times_out_every_activity_due_and_schedules_one_workflow_task() -> None:
    run = Run()
    run.complete(_waiting("a"), _waiting("b"))
    a, b = (e.event_id for e in run.events if e.event_type is E.ACTIVITY_TASK_SCHEDULED)
    written = len(run.events)
    assert run.send(rq.FireTimer(_task(run, a)), advance=3 * S) == rq.Ok()
    new = run.events[written:]
    assert [e.event_type for e in new] == [
        E.ACTIVITY_TASK_TIMED_OUT,
        E.ACTIVITY_TASK_TIMED_OUT,
        E.WORKFLOW_TASK_SCHEDULED,
    ]
    assert [e.attributes.scheduled_event_id for e in new[:2]] == [a, b]  # type: ignore[union-attr]
    assert run.state.activities == ()
    # the other activity's own timer task comes later and finds nothing to do
    written = len(run.events)
    run.send(rq.FireTimer(_task(run, b)))
    assert len(run.events) == written
    run.check()


def test_a_timer_not_yet_due_is_left_to_its_own_task() -> None:
    run = Run()
    run.complete(_waiting("a"))
    run.complete(_waiting("b"))  # scheduled a few seconds later: due later
    a, b = (e.event_id for e in run.events if e.event_type is E.ACTIVITY_TASK_SCHEDULED)
    written = len(run.events)
    run.send(rq.FireTimer(_task(run, a)), advance=0)
    new = run.events[written:]
    assert [e.event_type for e in new] == [E.ACTIVITY_TASK_TIMED_OUT, E.WORKFLOW_TASK_SCHEDULED]
    assert run.state.activity(b) is not None


def test_a_timeout_after_a_failed_attempt_names_that_failure_as_its_cause() -> None:
    run = Run()
    run.complete(activity("a", attempts=2))
    (info,) = run.state.activities
    sid = info.scheduled_event_id
    failure = Opaque.of({"message": "attempt 1 failed", "applicationFailureInfo": {}})
    token = run.start_activity(sid)
    run.send(rq.RespondActivityTaskFailed(token, failure, "E"))
    run.fire(rq.ActivityRetryTask, scheduled_event_id=sid)
    run.start_activity(sid)
    run.fire(rq.ActivityTimeoutTask, timeout_type=TimeoutType.START_TO_CLOSE)
    (timed_out,) = [e for e in run.events if e.event_type is E.ACTIVITY_TASK_TIMED_OUT]
    a = timed_out.attributes
    assert isinstance(a, ActivityTaskTimedOutEventAttributes) and a.failure is not None
    assert a.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    body = a.failure.value()
    assert isinstance(body, dict) and body["cause"] == failure.value()
    assert body["timeoutFailureInfo"] == {"timeoutType": "TIMEOUT_TYPE_START_TO_CLOSE"}
