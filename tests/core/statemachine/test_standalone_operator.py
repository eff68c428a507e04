"""The standalone activity table's rows for the operator commands (pause, unpause,
reset, update options; core/statemachine/standalone/operator.py), decided on records
built by the table itself."""

from __future__ import annotations

from dataclasses import replace

from core.requests import ActivityOptionsInput
from core.statemachine.history.service.state import RetryPolicy
from core.statemachine.standalone import activity as sa

SECOND = 1_000_000_000
OPTIONS = sa.Options("t", "q", 60 * SECOND, 0, 10 * SECOND, 0, 0, RetryPolicy())
_I, _S = sa.Input, sa.Status


def _scheduled(options: sa.Options = OPTIONS) -> sa.StandaloneActivity:
    return sa.schedule("a", "r", "req", options, 0)[0]


def _do(a: sa.StandaloneActivity, input_: sa.Input, now: int, **fields: object) -> sa.Decision:
    return sa.decide(a, sa.Event(input_, now, **fields))  # type: ignore[arg-type]


def test_a_pause_voids_the_dispatched_attempt_but_not_the_deadline() -> None:
    scheduled = _scheduled()
    paused = _do(scheduled, _I.PAUSE, SECOND, identity="op", reason="why").activity
    assert paused.status is _S.PAUSED and paused.pause_reason == "why"
    assert paused.stamp == scheduled.stamp + 1  # the dispatch's stamp is stale now
    taken = _do(paused, _I.RECORD_STARTED, 2 * SECOND, stamp=scheduled.stamp)
    assert taken.effects.error is not None and taken.activity == paused
    closed = _do(paused, _I.SCHEDULE_TO_CLOSE_TIMEOUT, 60 * SECOND).activity
    assert closed.status is _S.TIMED_OUT  # a paused activity still times out


def test_an_unpause_dispatches_no_earlier_than_the_start_delay_or_the_jitter() -> None:
    delayed = _scheduled(replace(OPTIONS, start_delay=10 * SECOND))
    paused = _do(delayed, _I.PAUSE, SECOND).activity
    early = _do(paused, _I.UNPAUSE, 2 * SECOND)
    assert early.activity.status is _S.SCHEDULED
    assert early.effects.dispatch == 10 * SECOND  # the start delay still holds
    jittered = _do(paused, _I.UNPAUSE, 2 * SECOND, delay=20 * SECOND)
    assert jittered.effects.dispatch == 22 * SECOND


def test_a_reset_starts_over_at_attempt_one_and_keep_paused_stays_paused() -> None:
    started = _do(_scheduled(), _I.RECORD_STARTED, SECOND, stamp=1).activity
    retrying = _do(started, _I.RESPOND_FAILED, 2 * SECOND, attempt=1).activity
    assert retrying.status is _S.SCHEDULED and retrying.attempt == 2
    assert retrying.retry_interval and retrying.dispatch_time > 2 * SECOND
    reset = _do(retrying, _I.RESET, 2 * SECOND)
    assert (reset.activity.attempt, reset.activity.retry_interval) == (1, 0)
    assert reset.effects.dispatch == 2 * SECOND  # the retry's backoff is dropped
    paused = _do(retrying, _I.PAUSE, 2 * SECOND).activity
    kept = _do(paused, _I.RESET, 3 * SECOND, keep_paused=True)
    assert kept.activity.status is _S.PAUSED and kept.activity.attempt == 1
    assert kept.effects.dispatch is None
    assert _do(kept.activity, _I.UNPAUSE, 4 * SECOND).effects.dispatch == 4 * SECOND


def test_a_repeated_request_id_changes_nothing_even_after_an_unpause() -> None:
    paused = _do(_scheduled(), _I.PAUSE, SECOND, request_id="p1").activity
    running = _do(paused, _I.UNPAUSE, 2 * SECOND).activity
    again = _do(running, _I.PAUSE, 3 * SECOND, request_id="p1")
    assert again.activity == running and again.effects.error is None
    other = _do(running, _I.PAUSE, 3 * SECOND, request_id="p2")
    assert other.activity.status is _S.PAUSED


def test_an_update_merges_the_mask_and_moves_the_deadline() -> None:
    scheduled = _scheduled()
    given = ActivityOptionsInput(schedule_to_close_timeout=120 * SECOND)
    update = _do(
        scheduled, _I.UPDATE_OPTIONS, SECOND, options=given, mask=("schedule_to_close_timeout",)
    )
    updated = update.activity
    assert updated.options.schedule_to_close == 120 * SECOND
    assert updated.options.start_to_close == OPTIONS.start_to_close  # not in the mask
    closing = [t for t in update.effects.timers if t.input is _I.SCHEDULE_TO_CLOSE_TIMEOUT]
    assert [t.due for t in closing] == [120 * SECOND]
    old = _do(updated, _I.SCHEDULE_TO_CLOSE_TIMEOUT, 60 * SECOND)  # the first deadline's timer
    assert old.activity == updated and old.row.guard == "not due"
    restored = _do(updated, _I.UPDATE_OPTIONS, 2 * SECOND, restore=True).activity
    assert restored.options == OPTIONS


def test_a_running_attempt_paused_runs_on_and_pauses_its_retry() -> None:
    started = _do(_scheduled(), _I.RECORD_STARTED, SECOND, stamp=1).activity
    requested = _do(started, _I.PAUSE, 2 * SECOND, reason="r")
    assert requested.activity.status is _S.PAUSE_REQUESTED
    assert requested.activity.stamp == started.stamp  # the attempt's timers stay valid
    beat = _do(requested.activity, _I.HEARTBEAT, 3 * SECOND, attempt=1)
    assert beat.effects.activity_paused and not beat.effects.cancel_requested
    failed = _do(requested.activity, _I.RESPOND_FAILED, 4 * SECOND, attempt=1)
    paused = failed.activity
    assert (paused.status, paused.attempt) == (_S.PAUSED, 2)
    assert failed.effects.dispatch is None  # no retry until an unpause
    resumed = _do(paused, _I.UNPAUSE, 4 * SECOND)
    assert resumed.effects.dispatch == paused.dispatch_time > 4 * SECOND  # the retry's time
    unpaused = _do(requested.activity, _I.UNPAUSE, 3 * SECOND).activity
    assert unpaused.status is _S.STARTED and unpaused.stamp == started.stamp


def test_a_running_attempt_reset_ends_in_attempt_one_whatever_it_failed_with() -> None:
    policy = RetryPolicy(maximum_attempts=1)  # no retry: the reset is carried out anyway
    started = _do(
        _scheduled(replace(OPTIONS, retry_policy=policy)), _I.RECORD_STARTED, SECOND, stamp=1
    )
    requested = _do(started.activity, _I.RESET, 2 * SECOND, reset_heartbeat=True)
    assert requested.activity.status is _S.RESET_REQUESTED
    beat = _do(requested.activity, _I.HEARTBEAT, 3 * SECOND, attempt=1)
    assert beat.effects.activity_reset and beat.activity.heartbeat_time == 3 * SECOND
    failed = _do(beat.activity, _I.RESPOND_FAILED, 4 * SECOND, attempt=1)
    assert (failed.activity.status, failed.activity.attempt) == (_S.SCHEDULED, 1)
    assert failed.effects.dispatch == 4 * SECOND
    assert failed.activity.heartbeat_time == 0  # the deferred heartbeat clear
    again = _do(requested.activity, _I.RESET, 3 * SECOND).effects.error
    assert again == ("FAILED_PRECONDITION", "cannot reset an activity with a pending reset")


def test_a_pause_requested_reset_keeping_it_paused_ends_paused() -> None:
    started = _do(_scheduled(), _I.RECORD_STARTED, SECOND, stamp=1).activity
    requested = _do(started, _I.PAUSE, 2 * SECOND).activity
    kept = _do(requested, _I.RESET, 3 * SECOND, keep_paused=True).activity
    assert kept.status is _S.RESET_REQUESTED and kept.reset_should_pause
    timed_out = _do(kept, _I.START_TO_CLOSE_TIMEOUT, 11 * SECOND, stamp=kept.stamp)
    assert (timed_out.activity.status, timed_out.activity.attempt) == (_S.PAUSED, 1)
    assert timed_out.effects.dispatch is None
    unpaused = _do(requested, _I.RESET, 3 * SECOND).activity  # no keep_paused: unpaused
    assert not unpaused.reset_should_pause


def test_an_update_of_a_running_attempt_rearms_its_timers() -> None:
    started = _do(_scheduled(), _I.RECORD_STARTED, SECOND, stamp=1).activity
    given = ActivityOptionsInput(start_to_close_timeout=30 * SECOND)
    update = _do(
        started, _I.UPDATE_OPTIONS, 2 * SECOND, options=given, mask=("start_to_close_timeout",)
    )
    running = [t for t in update.effects.timers if t.input is _I.START_TO_CLOSE_TIMEOUT]
    assert [(t.due, t.stamp) for t in running] == [(SECOND + 30 * SECOND, update.activity.stamp)]
    old = _do(update.activity, _I.START_TO_CLOSE_TIMEOUT, 11 * SECOND, stamp=started.stamp)
    assert old.activity == update.activity  # the first start-to-close timer is void
