"""An operator's activity calls: PauseActivity, UnpauseActivity and ResetActivity.

They change an activity's pending record and its tasks, never the history: no event
is written and no workflow task scheduled (each API answers its history update with
`CreateWorkflowTask: false`). The rules, from service/history/workflow/activity.go
(PauseActivity, UnpauseActivity, ResetActivity, unpauseActivityInfo) and the three
APIs of service/history/api/{pause,unpause,reset}activity/api.go:

- The activities are named by id, by type (every pending one of it) or, for unpause
  and reset, all; naming none that is pending is NotFound, and so is an id that is
  not pending. A closed run answers "workflow execution already completed".
- Pause records who and why. An activity not running gets a new stamp, so its
  matching task (or retry timer) is obsolete; a running one runs on: its heartbeats
  are answered `activity_paused`, and if it fails with retries left it waits, paused
  (activity.py's "paused retry" row). While paused no timeout fires (activity.py's
  "paused" rows). Pausing a paused activity is a no-op for the same request id, else
  FailedPrecondition.
- Unpause (a no-op for one not paused) gives a new stamp and arms the timeouts again;
  optionally the attempt count restarts at 1 and the heartbeat details are dropped.
  One not running is scheduled again at once (after the jitter's offset) through the
  retry timer, with no last failure (RegenerateActivityRetryTask).
- Reset restarts the attempt count at 1 and marks the activity reset (its running
  attempt's heartbeats are answered `activity_reset`); a paused one is unpaused unless
  `keep_paused`; one not running and not paused is scheduled again at once. With
  `restore_original_options` it first puts back the options the activity was
  scheduled with (as activity_options.py's restore does), under a new stamp; a
  running attempt's timers are armed again from them.

Temporal draws the jitter's offset per activity; here the caller draws one `delay`
that every activity the request names gets (the core draws nothing).
"""

from __future__ import annotations

from core.fastinit import replace
from core.requests import (
    ActivityRetryTask,
    Error,
    ErrorKind,
    Ok,
    PauseActivity,
    ResetActivity,
    Task,
    UnpauseActivity,
)
from core.statemachine.history.service.activity_handlers import put
from core.statemachine.history.service.activity_tasks import (
    resumed_attempt_tasks,
    schedule_to_close_tasks,
)
from core.statemachine.history.service.state import (
    ActivityInfo,
    ActivityOptions,
    ActivityPause,
    MutableState,
)
from core.statemachine.history.service.txn import Outcome, Txn, finish, unchanged

# consts.ErrActivityNotFound (service/history/consts/const.go)
ACTIVITY_NOT_FOUND = (
    "Can't find pending activity with such ID. Invalid activityID or activity already completed"
)
ALREADY_PAUSED = "activity is already paused"  # activity.go PauseActivity
RUN_CLOSED = "workflow execution already completed"  # consts.ErrWorkflowCompleted

Operation = PauseActivity | UnpauseActivity | ResetActivity


def handle(state: MutableState, request: Operation, now: int) -> Outcome:
    """Apply one operator call to the run; all its activities change, or none."""
    if isinstance(request, UnpauseActivity) and not state.running:  # checked first there
        return unchanged(state, Error(ErrorKind.WORKFLOW_COMPLETED, RUN_CLOSED))
    ids = _named(state, request)
    if not ids:
        return unchanged(state, Error(ErrorKind.NOT_FOUND, ACTIVITY_NOT_FOUND))
    if not state.running:
        return unchanged(state, Error(ErrorKind.WORKFLOW_COMPLETED, RUN_CLOSED))
    txn = Txn(state, now)
    for activity_id in ids:
        info = by_id(txn.state, activity_id)
        if info is None:
            return unchanged(state, Error(ErrorKind.NOT_FOUND, ACTIVITY_NOT_FOUND))
        error = _apply(txn, info, request)
        if error is not None:
            return unchanged(state, error)
        after = by_id(txn.state, activity_id)
        if after is not None and (after.pause is None) != (info.pause is None):
            _update_pause_search_attribute(txn)
    return unchanged(state, Ok()) if txn.untouched else finish(txn, Ok())


def options_of(info: ActivityInfo) -> ActivityOptions:
    """The options UpdateActivityOptions may change, as the activity has them."""
    return ActivityOptions(
        info.task_queue,
        info.schedule_to_close_timeout,
        info.schedule_to_start_timeout,
        info.start_to_close_timeout,
        info.heartbeat_timeout,
        info.retry_policy,
    )


def original_options(info: ActivityInfo) -> ActivityOptions:
    """The options it was scheduled with (Temporal reads ActivityTaskScheduled's)."""
    return info.original_options or options_of(info)


def with_options(info: ActivityInfo, options: ActivityOptions) -> ActivityInfo:
    """The activity under `options` and a new stamp (so its timers and a task waiting
    in matching are obsolete), the options it was scheduled with kept."""
    return replace(
        info,
        task_queue=options.task_queue,
        schedule_to_close_timeout=options.schedule_to_close_timeout,
        schedule_to_start_timeout=options.schedule_to_start_timeout,
        start_to_close_timeout=options.start_to_close_timeout,
        heartbeat_timeout=options.heartbeat_timeout,
        # the retry fields UpdateActivity sets; the non-retryable types stay
        retry_policy=replace(
            options.retry_policy,
            non_retryable_error_types=info.retry_policy.non_retryable_error_types,
        ),
        stamp=info.stamp + 1,
        original_options=original_options(info),
    )


def _update_pause_search_attribute(txn: Txn) -> None:
    """TemporalPauseInfo as the paused activities' types now are, recomputed when an
    activity's pause changes (UpdateActivity calls `updatePauseInfoSearchAttribute`,
    mutable_state_impl.go): one entry per type, here sorted (Temporal lists them in
    its map's order). Nothing else recomputes it: an activity that completes while
    paused stays listed until the next pause or unpause of the run."""
    types = sorted({a.activity_type for a in txn.state.activities if a.pause is not None})
    entries = tuple(f"property:activityType={t}" for t in types)
    if entries != txn.state.pause_search_attribute:
        txn.set(pause_search_attribute=entries)


def _named(state: MutableState, request: Operation) -> list[str]:
    """The activity ids the request names (by id, by type, or all pending)."""
    if request.activity_id:
        return [request.activity_id]
    everything = not isinstance(request, PauseActivity) and (
        request.unpause_all if isinstance(request, UnpauseActivity) else request.match_all
    )
    return [
        a.activity_id
        for a in state.activities
        if everything or (request.activity_type and a.activity_type == request.activity_type)
    ]


def by_id(state: MutableState, activity_id: str) -> ActivityInfo | None:
    for info in state.activities:
        if info.activity_id == activity_id:
            return info
    return None


def _apply(txn: Txn, info: ActivityInfo, request: Operation) -> Error | None:
    if isinstance(request, PauseActivity):
        return _pause(txn, info, request)
    if isinstance(request, UnpauseActivity):
        if info.pause is not None:  # an activity not paused is left as it is
            _unpause(txn, info, request)
        return None
    _reset(txn, info, request)
    return None


def _pause(txn: Txn, info: ActivityInfo, request: PauseActivity) -> Error | None:
    if info.pause is not None:
        if info.pause.request_id == request.request_id:
            return None  # the same request again
        return Error(ErrorKind.FAILED_PRECONDITION, ALREADY_PAUSED)
    pause = ActivityPause(txn.now, request.identity, request.reason, request.request_id)
    # A running attempt keeps its stamp (it may still finish); one waiting for a worker
    # or for its retry timer gets a new one, so that task or timer is obsolete.
    stamp = info.stamp if info.started else info.stamp + 1
    put(txn, replace(info, pause=pause, stamp=stamp))
    return None


def _unpause(txn: Txn, info: ActivityInfo, request: UnpauseActivity) -> None:
    resumed = replace(info, pause=None, stamp=info.stamp + 1)  # unpauseActivityInfo
    if request.reset_attempts:
        resumed = replace(resumed, attempt=1)
    if request.reset_heartbeat:
        resumed = replace(resumed, heartbeat_details=None, last_heartbeat_time=0)
    resume(txn, resumed, txn.now + request.delay)


def _reset(txn: Txn, info: ActivityInfo, request: ResetActivity) -> None:
    was_paused = info.pause is not None
    reset = replace(
        info,
        attempt=1,
        reset=True,
        reset_heartbeats=info.reset_heartbeats or request.reset_heartbeat,
    )
    if request.restore_original_options:  # new stamp, timers dropped (activity.go)
        reset = with_options(reset, original_options(reset))
    at = txn.now + request.delay
    if was_paused and not request.keep_paused:
        resume(txn, replace(reset, pause=None, stamp=reset.stamp + 1), at)
        return
    if reset.started and not was_paused and request.restore_original_options:
        resume(txn, reset, at)  # a running attempt's timers armed again
        return
    if reset.started or was_paused:  # running on, or staying paused: no new attempt
        put(txn, reset)
        return
    resume(txn, replace(reset, stamp=reset.stamp + 1), at)


def resume(txn: Txn, info: ActivityInfo, at: int) -> None:
    """An unpaused (or reset) activity's tasks: a running attempt's timeouts armed again
    from when it started (unpauseActivityInfo clears TimerTaskStatus); one not running
    is scheduled again at `at` through its retry timer, its last failure and
    ResetActivity's marks cleared (RegenerateActivityRetryTask,
    UpdateActivityInfoForRetries)."""
    tasks: list[Task] = [*schedule_to_close_tasks(info)]
    if info.started:
        tasks += resumed_attempt_tasks(info)
    else:
        details = None if info.reset_heartbeats else info.heartbeat_details
        last_beat = 0 if info.reset_heartbeats else info.last_heartbeat_time
        info = replace(
            info,
            scheduled_time=at,
            last_failure=None,
            heartbeat_details=details,
            last_heartbeat_time=last_beat,
            reset=False,
            reset_heartbeats=False,
            backoff=True,
        )
        tasks.append(ActivityRetryTask(info.scheduled_event_id, info.attempt, info.stamp, at))
    put(txn, info)
    for task in tasks:
        txn.task(task)
