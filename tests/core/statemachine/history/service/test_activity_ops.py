"""PauseActivity, UnpauseActivity and ResetActivity on the pure history service
(core/statemachine/history/service/activity_ops.py and the "paused" rows of
activity.py), rule by rule as service/history/workflow/activity.go and
mutable_state_impl.go (RetryActivity) state them. The same calls through `tmodel
serve`, compared with the real dev server, are in tests/adapters/serve/test_activity_ops.py.
"""

from __future__ import annotations

from core import requests as rq
from core.enums import EventType, TimeoutType
from core.opaque import Opaque
from core.statemachine.history.service.activity_ops import ACTIVITY_NOT_FOUND, ALREADY_PAUSED
from core.statemachine.history.service.state import ActivityInfo
from tests.core.statemachine.coverage_scenarios import Run, activity

S = 10**9
FAILURE = Opaque.of({"message": "boom"})


def _run(attempts: int = 0) -> tuple[Run, int]:
    run = Run()
    run.complete(activity("a", attempts))
    (info,) = run.state.activities
    return run, info.scheduled_event_id


def _info(run: Run) -> ActivityInfo:
    (info,) = run.state.activities
    return info


def _event_types(run: Run) -> list[EventType]:
    return [e.event_type for e in run.events]


def test_a_heartbeat_is_told_of_a_pause_and_of_a_reset() -> None:
    run, sid = _run()
    token = run.start_activity(sid)
    assert run.send(rq.RecordActivityTaskHeartbeat(token)) == rq.Heartbeat(False)
    assert run.send(rq.PauseActivity("a")) == rq.Ok()
    assert run.send(rq.RecordActivityTaskHeartbeat(token)) == rq.Heartbeat(False, True, False)
    assert run.send(rq.ResetActivity("a", keep_paused=True)) == rq.Ok()
    assert run.send(rq.RecordActivityTaskHeartbeat(token)) == rq.Heartbeat(False, True, True)


def test_pausing_a_waiting_activity_makes_its_task_obsolete() -> None:
    run, sid = _run()
    stamp = _info(run).stamp
    written = len(run.events)
    run.send(rq.PauseActivity("a", identity="op", reason="why"))
    reply = run.send(rq.RecordActivityTaskStarted(sid, stamp, "r"))
    assert isinstance(reply, rq.Error) and reply.kind is rq.ErrorKind.OBSOLETE
    pause = _info(run).pause
    assert pause is not None and (pause.identity, pause.reason) == ("op", "why")
    assert len(run.events) == written, "a pause writes no event"


def test_a_paused_activity_does_not_time_out() -> None:
    run, sid = _run()
    run.start_activity(sid)
    run.send(rq.PauseActivity("a"))
    run.fire(rq.ActivityTimeoutTask, timeout_type=TimeoutType.START_TO_CLOSE)
    info = _info(run)
    assert info.attempt == 1 and info.started, "the timeout is not applied while paused"


def test_a_paused_activity_that_fails_waits_whatever_its_policy_says() -> None:
    run, sid = _run(attempts=1)  # no retry left
    token = run.start_activity(sid)
    run.send(rq.PauseActivity("a"))
    timers = len(run.timers)
    assert run.send(rq.RespondActivityTaskFailed(token, FAILURE, "E")) == rq.Ok()
    info = _info(run)
    assert (info.attempt, info.started, info.last_failure) == (2, False, FAILURE)
    assert EventType.ACTIVITY_TASK_FAILED not in _event_types(run)
    assert len(run.timers) == timers, "no retry timer while paused"


def test_a_paused_activity_still_fails_for_good_on_a_non_retryable_failure() -> None:
    run, sid = _run()
    token = run.start_activity(sid)
    run.send(rq.PauseActivity("a"))
    run.send(rq.RespondActivityTaskFailed(token, FAILURE, "E", non_retryable=True))
    assert run.state.activities == ()
    assert EventType.ACTIVITY_TASK_FAILED in _event_types(run)


def test_unpause_schedules_a_waiting_activity_at_once_without_its_last_failure() -> None:
    run, sid = _run()
    token = run.start_activity(sid)
    run.send(rq.PauseActivity("a"))
    run.send(rq.RespondActivityTaskFailed(token, FAILURE, "E"))
    assert run.send(rq.UnpauseActivity("a", delay=3 * S)) == rq.Ok()
    info = _info(run)
    assert info.pause is None and info.last_failure is None and info.attempt == 2
    retry = run.timers[-1]
    assert isinstance(retry, rq.ActivityRetryTask) and retry.fire_time == run.now + 3 * S
    run.fire(rq.ActivityRetryTask)
    assert run.start_activity(sid).attempt == 2


def test_unpause_arms_a_running_attempts_timeout_again() -> None:
    run, sid = _run()
    run.start_activity(sid)
    started = _info(run).started_time
    run.send(rq.PauseActivity("a"))
    run.fire(rq.ActivityTimeoutTask, timeout_type=TimeoutType.START_TO_CLOSE)  # dropped
    run.send(rq.UnpauseActivity("a"))
    again = run.timers[-1]
    assert isinstance(again, rq.ActivityTimeoutTask)
    assert again.fire_time == started + 10 * S, "due when it was due"
    run.fire(rq.ActivityTimeoutTask, timeout_type=TimeoutType.START_TO_CLOSE)
    assert _info(run).attempt == 2, "the timeout applies again: a retry"


def test_unpause_can_reset_the_attempts_and_the_heartbeat() -> None:
    run, sid = _run()
    token = run.start_activity(sid)
    run.send(rq.RecordActivityTaskHeartbeat(token, Opaque.of({"payloads": []})))
    run.send(rq.PauseActivity("a"))
    run.send(rq.RespondActivityTaskFailed(token, FAILURE, "E"))
    run.send(rq.UnpauseActivity("a", reset_attempts=True, reset_heartbeat=True))
    info = _info(run)
    assert (info.attempt, info.heartbeat_details, info.last_heartbeat_time) == (1, None, 0)


def test_reset_restarts_the_count_and_a_retry_clears_its_marks() -> None:
    run, sid = _run()
    token = run.start_activity(sid)
    run.send(rq.RespondActivityTaskFailed(token, FAILURE, "E"))
    run.fire(rq.ActivityRetryTask)
    token = run.start_activity(sid)
    assert token.attempt == 2
    run.send(rq.RecordActivityTaskHeartbeat(token, Opaque.of({"payloads": []})))
    run.send(rq.ResetActivity(activity_type="Act", reset_heartbeat=True))
    info = _info(run)
    assert (info.attempt, info.reset, info.reset_heartbeats, info.started) == (1, True, True, True)
    # The running attempt's token names attempt 2: it is stale now (the token check).
    reply = run.send(rq.RecordActivityTaskHeartbeat(token))
    assert isinstance(reply, rq.Error) and reply.kind is rq.ErrorKind.NOT_FOUND


def test_reset_of_a_backing_off_activity_schedules_attempt_1_at_once() -> None:
    run, sid = _run()
    token = run.start_activity(sid)
    run.send(rq.RespondActivityTaskFailed(token, FAILURE, "E"))
    run.send(rq.ResetActivity(match_all=True))
    info = _info(run)
    assert (info.attempt, info.reset, info.last_failure) == (1, False, None)
    run.fire(rq.ActivityRetryTask, fire_time=run.now)
    assert run.start_activity(sid).attempt == 1


def test_reset_unpauses_unless_asked_to_keep_the_pause() -> None:
    run, sid = _run()
    run.send(rq.PauseActivity("a"))
    run.send(rq.ResetActivity("a", keep_paused=True))
    assert _info(run).pause is not None
    run.send(rq.ResetActivity("a"))
    assert _info(run).pause is None
    run.fire(rq.ActivityRetryTask)
    run.start_activity(sid)


def test_the_calls_refusals() -> None:
    run, _ = _run()
    for request in (rq.PauseActivity("x"), rq.UnpauseActivity("x"), rq.ResetActivity("x")):
        assert run.send(request) == rq.Error(rq.ErrorKind.NOT_FOUND, ACTIVITY_NOT_FOUND)
    assert run.send(rq.PauseActivity(activity_type="Other")) == rq.Error(
        rq.ErrorKind.NOT_FOUND, ACTIVITY_NOT_FOUND
    )
    assert run.send(rq.PauseActivity("a", request_id="r1")) == rq.Ok()
    assert run.send(rq.PauseActivity("a", request_id="r1")) == rq.Ok(), "the same request"
    assert run.send(rq.PauseActivity("a", request_id="r2")) == rq.Error(
        rq.ErrorKind.FAILED_PRECONDITION, ALREADY_PAUSED
    )
    run.send(rq.TerminateWorkflowExecution())
    closed = run.send(rq.PauseActivity("a"))
    assert isinstance(closed, rq.Error) and closed.kind is rq.ErrorKind.WORKFLOW_COMPLETED


def test_the_retry_after_a_reset_drops_the_heartbeat_as_asked() -> None:
    run, sid = _run()
    token = run.start_activity(sid)
    run.send(rq.RecordActivityTaskHeartbeat(token, Opaque.of({"payloads": []})))
    run.send(rq.ResetActivity("a", reset_heartbeat=True))  # attempt 1 runs on
    run.send(rq.RespondActivityTaskFailed(token, FAILURE, "E"))
    info = _info(run)
    assert (info.attempt, info.reset, info.reset_heartbeats) == (2, False, False)
    assert info.heartbeat_details is None, "UpdateActivityInfoForRetries drops them"


def test_the_pause_search_attribute_follows_the_pauses_only() -> None:
    run, sid = _run()
    token = run.start_activity(sid)
    assert not run.state.pause_search_attribute
    run.send(rq.PauseActivity("a"))
    assert run.state.pause_search_attribute == ("property:activityType=Act",)
    run.send(rq.RespondActivityTaskCompleted(token))
    assert run.state.activities == ()
    # Only a pause or an unpause recomputes it (updatePauseInfoSearchAttribute).
    assert run.state.pause_search_attribute == ("property:activityType=Act",)
    run.complete(activity("b"))
    run.send(rq.PauseActivity("b"))
    run.send(rq.UnpauseActivity("b"))
    assert not run.state.pause_search_attribute
