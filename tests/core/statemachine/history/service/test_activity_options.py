"""UpdateActivityOptions and ResetActivity's restore_original_options on the pure
history service (core/statemachine/history/service/activity_options.py), rule by rule
as service/history/api/updateactivityoptions/api.go, common/activityoptions/merge.go
and common/retrypolicy/retry_policy.go state them. The same calls through `tmodel
serve`, compared with the real dev server, are in
tests/adapters/serve/test_activity_options.py.
"""

from __future__ import annotations

from core import requests as rq
from core.enums import TimeoutType
from core.opaque import Opaque
from core.statemachine.history.service import activity_options as ao
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.activity_ops import ACTIVITY_NOT_FOUND
from core.statemachine.history.service.state import ActivityInfo, RetryPolicy
from tests.core.statemachine.coverage_scenarios import Run, activity

S = 10**9
FAILURE = Opaque.of({"message": "boom"})


def _run() -> tuple[Run, int]:
    run = Run()
    run.complete(activity("a"))
    (info,) = run.state.activities
    return run, info.scheduled_event_id


def _info(run: Run, activity_id: str = "a") -> ActivityInfo:
    return next(a for a in run.state.activities if a.activity_id == activity_id)


def _update(run: Run, *paths: str, **options: object) -> rq.Reply:
    given = rq.ActivityOptionsInput(**options)  # type: ignore[arg-type]
    return run.send(rq.UpdateActivityOptions("a", options=given, mask=paths))


def test_only_the_masked_fields_change_and_no_event_is_written() -> None:
    run, _ = _run()
    before = _info(run)
    written = len(run.events)
    reply = _update(
        run, "heartbeat_timeout", "retryPolicy.maximumAttempts", heartbeat_timeout=3 * S,
        start_to_close_timeout=S, retry_policy=rq.RetryPolicyInput(maximum_attempts=9),
    )  # fmt: skip
    after = _info(run)
    assert isinstance(reply, ao.OptionsUpdated) and reply.merged
    assert (after.heartbeat_timeout, after.start_to_close_timeout) == (3 * S, 10 * S)
    assert after.retry_policy == RetryPolicy(S, 2.0, 100 * S, 9)
    assert reply.options.heartbeat_timeout == 3 * S
    assert after.stamp == before.stamp + 1
    assert len(run.events) == written, "no history event"


def test_the_timeouts_are_filled_in_as_a_scheduled_activitys() -> None:
    run, _ = _run()
    _update(run, "scheduleToCloseTimeout", schedule_to_close_timeout=4 * S)
    info = _info(run)
    assert (info.schedule_to_close_timeout, info.schedule_to_start_timeout) == (4 * S, 4 * S)
    assert info.start_to_close_timeout == 4 * S, "capped by schedule-to-close"
    _update(run, "heartbeat_timeout", heartbeat_timeout=9 * S)
    assert _info(run).heartbeat_timeout == 4 * S, "capped by start-to-close"
    refused = _update(run, "schedule_to_close_timeout", "start_to_close_timeout")
    assert refused == rq.Error(rq.ErrorKind.INVALID_ARGUMENT, ao.NO_TIMEOUT.format("a", "Act"))


def test_a_retry_policy_is_checked_only_when_a_field_of_it_is_named() -> None:
    run, _ = _run()
    half = rq.RetryPolicyInput(backoff_coefficient=0.5, maximum_attempts=4)
    refused = _update(run, "retry_policy.backoff_coefficient", retry_policy=half)
    assert refused == rq.Error(rq.ErrorKind.INVALID_ARGUMENT, ao.BAD_COEFFICIENT)
    short = rq.RetryPolicyInput(maximum_interval=S // 2)
    refused = _update(run, "retry_policy.maximum_interval", retry_policy=short)
    assert refused == rq.Error(rq.ErrorKind.INVALID_ARGUMENT, ao.BAD_MAXIMUM_INTERVAL)
    below = rq.RetryPolicyInput(maximum_attempts=-1)
    refused = _update(run, "retry_policy.maximum_attempts", retry_policy=below)
    assert refused == rq.Error(rq.ErrorKind.INVALID_ARGUMENT, ao.BAD_MAXIMUM_ATTEMPTS)
    # One attempt means no retry: the rest of the policy is not checked.
    once = rq.RetryPolicyInput(backoff_coefficient=0.5, maximum_attempts=1)
    paths = ("retry_policy.backoff_coefficient", "retry_policy.maximum_attempts")
    assert isinstance(_update(run, *paths, retry_policy=once), ao.OptionsUpdated)
    assert isinstance(_update(run, "retry_policy", retry_policy=half), ao.OptionsUpdated)
    assert _info(run).retry_policy == RetryPolicy(0, 0.5, 0, 4), "taken as given"
    missing = _update(run, "retry_policy.initial_interval")
    assert missing == rq.Error(rq.ErrorKind.INVALID_ARGUMENT, ao.NO_POLICY)
    no_queue = _update(run, "task_queue.name")
    assert no_queue == rq.Error(rq.ErrorKind.INVALID_ARGUMENT, ao.NO_QUEUE)


def test_the_refusals_in_their_order() -> None:
    run, _ = _run()
    some = rq.ActivityOptionsInput()
    invalid = rq.ErrorKind.INVALID_ARGUMENT
    both = rq.UpdateActivityOptions("a", options=some, mask=("x",), restore_original=True)
    assert run.send(both) == rq.Error(invalid, ao.BOTH)
    assert run.send(rq.UpdateActivityOptions("x", mask=())) == rq.Error(invalid, ao.NO_OPTIONS)
    not_found = rq.Error(rq.ErrorKind.NOT_FOUND, ACTIVITY_NOT_FOUND)
    no_type = rq.UpdateActivityOptions(activity_type="Nope", options=some)
    assert run.send(no_type) == not_found, "no activity named comes before no mask"
    # An id names one activity whether or not it is pending: the mask is checked first.
    assert run.send(rq.UpdateActivityOptions("x", options=some)) == rq.Error(invalid, ao.NO_MASK)
    assert run.send(rq.UpdateActivityOptions("x", options=some, mask=())) == not_found
    empty = run.send(rq.UpdateActivityOptions("a", options=some, mask=()))
    assert isinstance(empty, ao.OptionsUpdated), "an empty mask changes nothing"
    run.send(rq.TerminateWorkflowExecution())
    closed = run.send(rq.UpdateActivityOptions("x", mask=()))
    assert isinstance(closed, rq.Error) and closed.kind is rq.ErrorKind.WORKFLOW_COMPLETED


def test_a_running_attempts_timeout_is_armed_again_from_its_start() -> None:
    run, sid = _run()
    run.start_activity(sid)
    started = _info(run).started_time
    _update(run, "start_to_close_timeout", start_to_close_timeout=2 * S)
    info = _info(run)
    armed = run.timers[-1]
    assert isinstance(armed, rq.ActivityTimeoutTask) and armed.stamp == info.stamp
    assert armed.fire_time == started + 2 * S
    old = next(t for t in run.timers if isinstance(t, rq.ActivityTimeoutTask) and t is not armed)
    run.timers.remove(old)
    run.send(rq.FireTimer(old))
    assert _info(run).attempt == 1, "the old timer is stale"
    run.fire(rq.ActivityTimeoutTask, timeout_type=TimeoutType.START_TO_CLOSE)
    assert _info(run).attempt == 2, "the new one times the attempt out"


def test_a_waiting_activity_moves_to_its_new_queue() -> None:
    run, sid = _run()
    old_stamp = _info(run).stamp
    _update(run, "task_queue.name", task_queue="elsewhere")
    stale = run.send(rq.RecordActivityTaskStarted(sid, old_stamp, "r"))
    assert isinstance(stale, rq.Error) and stale.kind is rq.ErrorKind.OBSOLETE
    retry = run.timers[-1]
    assert isinstance(retry, rq.ActivityRetryTask)
    assert retry.fire_time == _info(run).scheduled_time, "due as scheduled"
    outcome = service.handle(run.state, rq.FireTimer(retry), run.now)
    queues = [t.task_queue for t in outcome.tasks if isinstance(t, rq.ActivityTaskTransfer)]
    assert queues == ["elsewhere"]


def test_a_backing_off_activity_is_due_by_its_new_policy() -> None:
    run, sid = _run()
    token = run.start_activity(sid)
    run.send(rq.RespondActivityTaskFailed(token, FAILURE, "E"))
    failed_at = run.now
    policy = rq.RetryPolicyInput(initial_interval=5 * S)
    _update(run, "retry_policy.initial_interval", retry_policy=policy)
    retry = run.timers[-1]
    assert isinstance(retry, rq.ActivityRetryTask) and retry.attempt == 2
    # GetNextScheduledTime: the last attempt's end + 5 s x 2^(attempt 2 - 1)
    assert retry.fire_time == failed_at + 10 * S


def test_an_unset_maximum_interval_does_not_cap_the_retry() -> None:
    run, sid = _run()
    whole = rq.RetryPolicyInput(initial_interval=3 * S, backoff_coefficient=2.0)
    _update(run, "retry_policy", retry_policy=whole)
    run.fire(rq.ActivityRetryTask)
    token = run.start_activity(sid)
    run.send(rq.RespondActivityTaskFailed(token, FAILURE, "E"))
    retry = run.timers[-1]
    assert isinstance(retry, rq.ActivityRetryTask) and retry.fire_time == run.now + 3 * S


def test_a_paused_activity_gets_no_timer_until_unpaused() -> None:
    run, sid = _run()
    run.start_activity(sid)
    run.send(rq.PauseActivity("a"))
    armed = len(run.timers)
    _update(run, "start_to_close_timeout", start_to_close_timeout=2 * S)
    assert len(run.timers) == armed
    run.send(rq.UnpauseActivity("a"))
    assert isinstance(run.timers[-1], rq.ActivityTimeoutTask)
    assert run.timers[-1].stamp == _info(run).stamp


def test_the_selectors() -> None:
    run = Run()
    run.complete(activity("a"), activity("b"))
    beat = rq.ActivityOptionsInput(heartbeat_timeout=S)
    run.send(
        rq.UpdateActivityOptions(activity_type="Act", options=beat, mask=("heartbeat_timeout",))
    )
    assert [_info(run, x).heartbeat_timeout for x in "ab"] == [S, S]
    beat = rq.ActivityOptionsInput(heartbeat_timeout=2 * S)
    run.send(rq.UpdateActivityOptions(match_all=True, options=beat, mask=("heartbeatTimeout",)))
    assert [_info(run, x).heartbeat_timeout for x in "ab"] == [2 * S, 2 * S]
    none = run.send(rq.UpdateActivityOptions(activity_type="Nope", options=beat, mask=()))
    assert none == rq.Error(rq.ErrorKind.NOT_FOUND, ACTIVITY_NOT_FOUND)


def test_the_original_options_come_back_by_restore_and_by_reset() -> None:
    run, _ = _run()
    scheduled = _info(run)
    _update(run, "start_to_close_timeout", "task_queue.name", task_queue="q2",
            start_to_close_timeout=3 * S)  # fmt: skip
    _update(run, "heartbeat_timeout", heartbeat_timeout=S)
    reply = run.send(rq.UpdateActivityOptions("a", restore_original=True))
    assert isinstance(reply, ao.OptionsUpdated) and not reply.merged
    info = _info(run)
    assert (info.task_queue, info.start_to_close_timeout, info.heartbeat_timeout) == (
        scheduled.task_queue, scheduled.start_to_close_timeout, scheduled.heartbeat_timeout,
    )  # fmt: skip
    _update(run, "start_to_close_timeout", start_to_close_timeout=3 * S)
    run.send(rq.ResetActivity("a"))
    assert _info(run).start_to_close_timeout == 3 * S, "kept without the flag"
    run.send(rq.ResetActivity("a", restore_original_options=True))
    assert _info(run).start_to_close_timeout == scheduled.start_to_close_timeout


def test_a_closed_runs_activity_can_still_be_restored() -> None:
    run, _ = _run()
    _update(run, "start_to_close_timeout", start_to_close_timeout=3 * S)
    run.send(rq.TerminateWorkflowExecution())
    refused = _update(run, "start_to_close_timeout", start_to_close_timeout=S)
    assert isinstance(refused, rq.Error) and refused.kind is rq.ErrorKind.WORKFLOW_COMPLETED
    # restoreOriginalOptions does not check the run: its mutable state keeps the activity
    restored = run.send(rq.UpdateActivityOptions("a", restore_original=True))
    assert isinstance(restored, ao.OptionsUpdated)
    assert restored.options.start_to_close_timeout == 10 * S
