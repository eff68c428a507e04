"""Rules the history service follows to write what the real server writes, one per test,
each named after the Temporal function it comes from (see the module that holds it)."""

from __future__ import annotations

import pytest

from core import requests as rq
from core.commands import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ContinueAsNewWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
)
from core.enums import CommandType, EventType, TimeoutType
from core.events import (
    ActivityTaskScheduledEventAttributes,
    ActivityTaskStartedEventAttributes,
    ActivityTaskTimedOutEventAttributes,
    ActivityType,
    WorkflowExecutionStartedEventAttributes,
    WorkflowTaskScheduledEventAttributes,
    WorkflowType,
)
from core.opaque import Opaque
from core.statemachine.history.service import handle as service
from core.statemachine.history.service import run_timeouts
from core.statemachine.history.service.activity_tasks import normalize_timeouts
from core.statemachine.history.service.chain import MIN_RUN_INTERVAL, min_backoff
from core.statemachine.history.service.retry import duration_text, policy_json, retry_policy
from core.statemachine.history.service.state import ParentInfo
from core.statemachine.history.service.workflow_task import start_to_close_timeout
from core.task_queues import task_queue
from core.timefmt import rfc3339
from tests.core.statemachine.coverage_scenarios import Run, S

E = EventType


def _events(run: Run, event_type: EventType) -> list[object]:
    return [e.attributes for e in run.events if e.event_type is event_type]


def _activity(**timeouts: int) -> Command:
    return Command(
        CommandType.SCHEDULE_ACTIVITY_TASK,
        ScheduleActivityTaskCommandAttributes(
            activity_id="a",
            activity_type=ActivityType(name="Act"),
            task_queue=task_queue("q"),
            retry_policy=Opaque.of({"initialInterval": "1s", "maximumAttempts": 2}),
            **timeouts,  # type: ignore[arg-type]
        ),
    )


def test_a_start_to_close_timeout_becomes_the_next_attempts_last_failure() -> None:
    run = Run()
    run.complete(_activity(start_to_close_timeout=5 * S))
    sid = next(e.event_id for e in run.events if e.event_type is E.ACTIVITY_TASK_SCHEDULED)
    run.start_activity(sid)
    run.fire(rq.ActivityTimeoutTask, timeout_type=TimeoutType.START_TO_CLOSE)
    run.fire(rq.ActivityRetryTask)
    token = run.start_activity(sid)
    run.send(rq.RespondActivityTaskCompleted(token))
    started = _events(run, E.ACTIVITY_TASK_STARTED)[-1]
    assert isinstance(started, ActivityTaskStartedEventAttributes)
    assert started.attempt == 2
    assert started.last_failure == Opaque.of(
        {
            "message": "activity StartToClose timeout",
            "source": "Server",
            "timeoutFailureInfo": {"timeoutType": "TIMEOUT_TYPE_START_TO_CLOSE"},
        }
    )


def test_a_timed_out_activity_carries_its_timeout_and_last_heartbeat() -> None:
    run = Run()
    run.complete(_activity(start_to_close_timeout=30 * S, heartbeat_timeout=1 * S))
    sid = next(e.event_id for e in run.events if e.event_type is E.ACTIVITY_TASK_SCHEDULED)
    token = run.start_activity(sid)
    details = Opaque.of({"payloads": [{"data": "MQ=="}]})
    run.send(rq.RecordActivityTaskHeartbeat(token, details), advance=S // 2)
    run.fire(rq.ActivityTimeoutTask, timeout_type=TimeoutType.HEARTBEAT)  # attempt 1: retried
    run.fire(rq.ActivityRetryTask)
    token = run.start_activity(sid)
    run.fire(rq.ActivityTimeoutTask, timeout_type=TimeoutType.HEARTBEAT)
    timed_out = _events(run, E.ACTIVITY_TASK_TIMED_OUT)
    assert len(timed_out) == 1
    failure = timed_out[0]
    assert isinstance(failure, ActivityTaskTimedOutEventAttributes)
    assert failure.failure is not None
    value = failure.failure.value()
    assert isinstance(value, dict)
    assert value["message"] == "activity Heartbeat timeout"
    assert value["timeoutFailureInfo"] == {
        "timeoutType": "TIMEOUT_TYPE_HEARTBEAT",
        "lastHeartbeatDetails": {"payloads": [{"data": "MQ=="}]},
    }


def test_a_heartbeat_timer_rearmed_by_a_heartbeat_is_a_new_task() -> None:
    """The re-armed timer is an outbox task the host must write (it was once dropped)."""
    run = Run()
    run.complete(_activity(start_to_close_timeout=30 * S, heartbeat_timeout=2 * S))
    sid = next(e.event_id for e in run.events if e.event_type is E.ACTIVITY_TASK_SCHEDULED)
    token = run.start_activity(sid)
    run.send(rq.RecordActivityTaskHeartbeat(token), advance=S)
    timer = next(
        t
        for t in run.timers
        if isinstance(t, rq.ActivityTimeoutTask) and t.timeout_type is TimeoutType.HEARTBEAT
    )
    outcome = service.handle(run.state, rq.FireTimer(timer), run.now + S)
    assert outcome.events == ()
    rearmed = [t for t in outcome.tasks if isinstance(t, rq.ActivityTimeoutTask)]
    assert [t.fire_time for t in rearmed] == [run.now + 2 * S]


def test_a_completed_runs_result_goes_to_its_parent() -> None:
    parent = rq.StartWorkflowExecution(
        "default", "kid", "r", "Kid", "q", "s", parent=ParentInfo("p", "pr", 5)
    )
    run = Run()
    run.state = service.start(parent, 0).state
    result = Opaque.of({"payloads": [{"data": "ImRvbmUi"}]})
    command = Command(
        CommandType.COMPLETE_WORKFLOW_EXECUTION,
        CompleteWorkflowExecutionCommandAttributes(result=result),
    )
    token = run.poll()
    outcome = service.handle(run.state, rq.RespondWorkflowTaskCompleted(token, (command,)), 9)
    close = next(t for t in outcome.tasks if isinstance(t, rq.CloseExecutionTransfer))
    assert close.parent_outcome is rq.ChildOutcome.COMPLETED and close.payload == result


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ((0, 0, 10, 0, 0), (0, 0, 10, 0)),  # start-to-close only, no run timeout
        ((0, 0, 10, 0, 60), (60, 60, 10, 0)),  # run timeout fills the schedule timeouts
        ((2, 0, 30, 0, 0), (2, 2, 2, 0)),  # schedule-to-close caps the others
        ((20, 5, 0, 50, 0), (20, 5, 20, 20)),  # heartbeat at most start-to-close
        ((0, 0, 0, 5, 0), None),  # neither required timeout
    ],
)
def test_activity_timeouts_are_normalised(
    given: tuple[int, int, int, int, int], expected: tuple[int, int, int, int] | None
) -> None:
    assert normalize_timeouts(*given) == expected


def test_the_written_retry_policy_has_every_default() -> None:
    assert policy_json(retry_policy(None)) == Opaque.of(
        {"initialInterval": "1s", "backoffCoefficient": 2.0, "maximumInterval": "100s"}
    )
    given = Opaque.of({"initialInterval": "0.200s", "maximumAttempts": 3})
    assert policy_json(retry_policy(given)) == Opaque.of(
        {
            "initialInterval": "0.200s",
            "backoffCoefficient": 2.0,
            "maximumInterval": "20s",
            "maximumAttempts": 3,
        }
    )
    run = Run()
    run.complete(_activity(start_to_close_timeout=5 * S))
    scheduled = _events(run, E.ACTIVITY_TASK_SCHEDULED)[0]
    assert isinstance(scheduled, ActivityTaskScheduledEventAttributes)
    assert scheduled.schedule_to_close_timeout == 0 and scheduled.heartbeat_timeout == 0


@pytest.mark.parametrize(
    ("ns", "text"), [(0, "0s"), (S, "1s"), (S // 5, "0.200s"), (S + 500_000, "1.000500s")]
)
def test_durations_are_written_as_protojson(ns: int, text: str) -> None:
    assert duration_text(ns) == text


def test_workflow_task_timeouts_grow_from_the_fourth_attempt() -> None:
    base = 10 * S
    assert [start_to_close_timeout(base, a) for a in (1, 2, 3)] == [base] * 3
    assert start_to_close_timeout(base, 4) == base + 4 * S  # 5 s backoff x 0.8
    assert start_to_close_timeout(base, 5) == base + 8 * S
    assert start_to_close_timeout(base, 60) == base + 480 * S  # capped at 10 minutes


def test_a_failing_tasks_timeout_is_written_when_it_finally_completes() -> None:
    run = Run()
    for _ in range(3):
        run.send(rq.RespondWorkflowTaskFailed(run.poll()))
    run.complete()
    scheduled = _events(run, E.WORKFLOW_TASK_SCHEDULED)[-1]
    assert isinstance(scheduled, WorkflowTaskScheduledEventAttributes)
    assert scheduled.attempt == 4 and scheduled.start_to_close_timeout == 14 * S


def test_a_chain_keeps_its_runs_a_second_apart() -> None:
    state = service.start(rq.StartWorkflowExecution("d", "w", "r", "T", "q", "s"), 0).state
    assert min_backoff(state, 300_000_000, 0) == MIN_RUN_INTERVAL - 300_000_000
    assert min_backoff(state, 300_000_000, 800_000_000) == 800_000_000 - 100_000_000 + 100_000_000
    assert min_backoff(state, 5 * S, 0) == 0
    run = Run()
    command = Command(
        CommandType.CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        ContinueAsNewWorkflowExecutionCommandAttributes(workflow_type=WorkflowType("Flow")),
    )
    token = run.poll()
    outcome = service.handle(run.state, rq.RespondWorkflowTaskCompleted(token, (command,)), run.now)
    assert outcome.new_run is not None
    assert outcome.new_run.first_workflow_task_backoff == MIN_RUN_INTERVAL - run.now


def test_run_and_task_timeouts_are_overridden_at_start() -> None:
    assert run_timeouts.run_timeout(0, 30 * S) == 30 * S
    assert run_timeouts.run_timeout(60 * S, 30 * S) == 30 * S
    assert run_timeouts.task_timeout(0, 0) == 10 * S
    assert run_timeouts.task_timeout(10 * S, 2 * S) == 2 * S
    assert run_timeouts.task_timeout(600 * S, 0) == 120 * S


def test_a_new_build_adds_an_auto_reset_point_carried_to_the_next_run() -> None:
    run = Run()
    token = run.poll()
    version = Opaque.of({"buildId": "b1"})
    command = Command(
        CommandType.CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        ContinueAsNewWorkflowExecutionCommandAttributes(workflow_type=WorkflowType("Flow")),
    )
    done = rq.RespondWorkflowTaskCompleted(token, (command,), worker_version=version)
    outcome = service.handle(run.state, done, run.now)
    assert outcome.new_run is not None
    points = outcome.new_run.reset_points
    assert [(p.build_id, p.run_id, p.first_workflow_task_completed_id) for p in points] == [
        ("b1", "run-1", 4)
    ]
    assert points[0].expire_time == run.now + run.state.retention
    started = service.start(outcome.new_run, run.now).events[0].attributes
    assert isinstance(started, WorkflowExecutionStartedEventAttributes)
    assert started.prev_auto_reset_points is not None
    assert '"buildId":"b1"' in started.prev_auto_reset_points.text


def test_timestamps_are_formatted_without_the_clock() -> None:
    assert rfc3339(0) == "1970-01-01T00:00:00Z"
    assert rfc3339(1_796_471_529_191_017_774) == "2026-12-05T11:52:09.191017774Z"
    assert rfc3339(951_782_400 * S + 5_000_000) == "2000-02-29T00:00:00.005Z"
