"""The operator commands on a standalone activity: PauseActivityExecution,
UnpauseActivityExecution, ResetActivityExecution and UpdateActivityExecutionOptions
(an activity named by its id alone; one in a workflow is the history service's,
service/activity_ops.py). Their rows join the standalone table (activity.py); this
module holds them, their guards and their handlers.

The rules, from chasm/lib/activity/activity.go (handlePauseRequested,
handleUnpauseRequested, handleReset, UpdateActivityExecutionOptions) and the
transitions of statemachine.go:

- Each command is deduplicated first by its request id (the last pause's, unpause's,
  reset's or update's): the same id again changes nothing and succeeds, whatever the
  activity's state since.
- Pause: a scheduled activity (no attempt running) becomes PAUSED under a new stamp, so
  its dispatch and schedule-to-start timer are void (TransitionPaused); a started one
  becomes PAUSE_REQUESTED (TransitionPauseRequested): its attempt runs on, its
  heartbeats are answered `activity_paused`, and a failure or timeout it would retry
  leaves it PAUSED, the attempt counted (activity.py's rows). Any other state is
  "non-pausable". The schedule-to-close timer still counts.
- Unpause: a pause-requested one is started again, its attempt untouched
  (TransitionUnpausedWhilePauseRequested); a paused one is scheduled again
  (TransitionUnpaused), dispatched at the
  latest of now plus the jitter's offset, its first dispatch time (the start delay)
  and a pending retry's time (unpauseDispatchTime); a closed one is "in terminal
  state", any other "non-unpausable".
- Reset: a scheduled or paused one starts over at attempt 1 with no retry pending,
  dispatched at the later of now plus the jitter's offset and its first dispatch time
  (TransitionReset), first putting back its original options if asked, and dropping
  its heartbeat details if asked; a paused one reset with `keep_paused` stays paused
  (resetKeepPaused). A started or pause-requested one becomes RESET_REQUESTED
  (deferResetWhileRunning): its attempt runs on, its heartbeats are answered
  `activity_reset`, and when it fails or times out (whatever the retry policy says)
  the reset is carried out, the option restore and heartbeat clear with it, leaving it
  scheduled, or paused if it was pause-requested and `keep_paused` was asked
  (activity.py's rows); a completion completes it. A cancel-requested one is refused,
  as is a second reset while one is pending; a closed one "is not running".
- Update options: on a scheduled, paused, started or pause-requested one, the mask's
  options are merged over its own as a workflow activity's are (activity_options.py's
  rules, the timeouts normalized again), or its original options are put back; it
  takes a new stamp, a scheduled one is dispatched again at its dispatch time, a
  running attempt's start-to-close and heartbeat timers are armed again from its start
  and last heartbeat (reissueRunningAttemptTimers), and the schedule-to-close timer is
  armed at the (possibly new) deadline (reissueScheduleToClose). A closed,
  cancel-requested or reset-requested one is refused.

  A new start delay (the mask names it; chasm/lib/activity/activity.go,
  `UpdateActivityExecutionOptions`): a negative one is refused INVALID_ARGUMENT
  (validateStartDelay); it is taken only while the first dispatch, at the schedule time
  plus the start delay the activity has now, is still ahead, or while it is paused
  before its first attempt started; otherwise refused FAILED_PRECONDITION. It moves
  the schedule-to-close deadline, which counts from the first dispatch, and a
  scheduled first attempt is dispatched again at the later of now and the new first
  dispatch (reissueDispatchAndScheduleToStart, dispatchTimeRespectingStartDelay).

Not modelled: an update's recalculation of a pending retry's interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeAlias

from core.replies import Error
from core.statemachine import fsm
from core.statemachine.history.service.activity_options import NO_TIMEOUT, _paths, merge
from core.statemachine.standalone.activity_state import (
    ATTEMPT_RUNNING,
    CLOSED,
    Effects,
    Event,
    Input,
    Options,
    StandaloneActivity,
    Status,
    Timer,
    dispatch_effects,
)

_S, _I = Status, Input
Row: TypeAlias = fsm.Row[Status, Input]
R = fsm.Row
Result: TypeAlias = tuple[StandaloneActivity, Effects]
DISPATCHED = "cannot update start_delay: the first activity attempt has already been dispatched"
SAME = {  # the command -> the guard of its repeated request id
    _I.PAUSE: "same pause request",
    _I.UNPAUSE: "same unpause request",
    _I.RESET: "same reset request",
    _I.UPDATE_OPTIONS: "same update request",
}


def rows() -> list[Row]:
    out: list[Row] = []
    for s in Status:
        out += [R(s, i, s, guard=SAME[i]) for i in SAME]  # deduplicated first
    out += [
        R(_S.SCHEDULED, _I.PAUSE, _S.PAUSED, handler="pause"),
        R(_S.SCHEDULED, _I.UNPAUSE, _S.SCHEDULED, handler="reject_unpause"),
        R(_S.SCHEDULED, _I.RESET, _S.SCHEDULED, handler="reset"),
        R(_S.SCHEDULED, _I.UPDATE_OPTIONS, _S.SCHEDULED, handler="update_options"),
        R(_S.PAUSED, _I.PAUSE, _S.PAUSED, handler="reject_pause"),
        R(_S.PAUSED, _I.UNPAUSE, _S.SCHEDULED, handler="unpause"),
        R(_S.PAUSED, _I.RESET, _S.PAUSED, guard="keep paused", handler="reset_keep_paused"),
        R(_S.PAUSED, _I.RESET, _S.SCHEDULED, handler="reset"),
        R(_S.PAUSED, _I.UPDATE_OPTIONS, _S.PAUSED, handler="update_options"),
        R(_S.STARTED, _I.PAUSE, _S.PAUSE_REQUESTED, handler="pause_requested"),
        R(_S.PAUSE_REQUESTED, _I.PAUSE, _S.PAUSE_REQUESTED, handler="reject_pause"),
        R(_S.PAUSE_REQUESTED, _I.UNPAUSE, _S.STARTED, handler="unpause_running"),
        R(_S.PAUSE_REQUESTED, _I.RESET, _S.RESET_REQUESTED, handler="reset_requested"),
        R(_S.PAUSE_REQUESTED, _I.UPDATE_OPTIONS, _S.PAUSE_REQUESTED, handler="update_options"),
        R(_S.RESET_REQUESTED, _I.PAUSE, _S.RESET_REQUESTED, handler="reject_pause"),
        R(_S.RESET_REQUESTED, _I.UNPAUSE, _S.RESET_REQUESTED, handler="reject_unpause"),
        R(_S.RESET_REQUESTED, _I.RESET, _S.RESET_REQUESTED, handler="reject_reset_again"),
        R(_S.RESET_REQUESTED, _I.UPDATE_OPTIONS, _S.RESET_REQUESTED, handler="reject_update"),
        R(_S.STARTED, _I.UNPAUSE, _S.STARTED, handler="reject_unpause"),
        R(_S.STARTED, _I.RESET, _S.RESET_REQUESTED, handler="reset_requested"),
        R(_S.STARTED, _I.UPDATE_OPTIONS, _S.STARTED, handler="update_options"),
        R(_S.CANCEL_REQUESTED, _I.PAUSE, _S.CANCEL_REQUESTED, handler="reject_pause"),
        R(_S.CANCEL_REQUESTED, _I.UNPAUSE, _S.CANCEL_REQUESTED, handler="reject_unpause"),
        R(_S.CANCEL_REQUESTED, _I.RESET, _S.CANCEL_REQUESTED, handler="reject_reset_cancel"),
        R(_S.CANCEL_REQUESTED, _I.UPDATE_OPTIONS, _S.CANCEL_REQUESTED, handler="reject_update"),
    ]
    for s in CLOSED:
        out += [
            R(s, _I.PAUSE, s, handler="reject_pause"),
            R(s, _I.UNPAUSE, s, handler="reject_terminal"),
            R(s, _I.RESET, s, handler="reject_reset_closed"),
            R(s, _I.UPDATE_OPTIONS, s, handler="reject_update"),
        ]
    return out


# --- guards ----------------------------------------------------------------------------


def _repeated(field: str) -> Callable[[StandaloneActivity, Event], bool]:
    return lambda a, e: bool(e.request_id) and e.request_id == getattr(a, field)


GUARDS: dict[str, Callable[[StandaloneActivity, Event], bool]] = {
    "same pause request": _repeated("pause_request_id"),
    "same unpause request": _repeated("unpause_request_id"),
    "same reset request": _repeated("reset_request_id"),
    "same update request": _repeated("update_request_id"),
    "keep paused": lambda a, e: e.keep_paused,
}


# --- handlers --------------------------------------------------------------------------


def _refuse(code: str, message: Callable[[StandaloneActivity], str]) -> Callable[..., Result]:
    return lambda a, e: (a, Effects(error=(code, message(a))))


def first_dispatch(a: StandaloneActivity) -> int:
    return a.schedule_time + a.options.start_delay


def closing_timer(a: StandaloneActivity) -> tuple[Timer, ...]:
    """The schedule-to-close timer at the deadline the options now give (an earlier
    one that outlived a longer deadline does nothing: activity.py's "not due")."""
    return (Timer(_I.SCHEDULE_TO_CLOSE_TIMEOUT, a.deadline, 0),) if a.deadline else ()


def restored(a: StandaloneActivity) -> Options:
    """The start's options (restoreOriginalOptions); the start delay only while no
    attempt has started."""
    original = a.original_options or a.options
    if a.started_time:
        return replace(original, start_delay=a.options.start_delay)
    return original


def _pause(a: StandaloneActivity, e: Event) -> Result:
    a = replace(
        a,
        status=_S.PAUSED,
        stamp=a.stamp + 1,
        pause_time=e.now,
        pause_identity=e.identity,
        pause_reason=e.reason,
        pause_request_id=e.request_id,
    )
    return a, Effects()


def _pause_requested(a: StandaloneActivity, e: Event) -> Result:
    """A running attempt runs on, its timers valid (no new stamp); its heartbeats are
    answered `activity_paused` (TransitionPauseRequested)."""
    a = replace(
        a,
        status=_S.PAUSE_REQUESTED,
        pause_time=e.now,
        pause_identity=e.identity,
        pause_reason=e.reason,
        pause_request_id=e.request_id,
    )
    return a, Effects()


def _unpause_running(a: StandaloneActivity, e: Event) -> Result:
    """TransitionUnpausedWhilePauseRequested: the attempt simply runs on."""
    return replace(
        a, status=_S.STARTED, unpause_request_id=e.request_id or a.unpause_request_id
    ), Effects()


def _unpause(a: StandaloneActivity, e: Event) -> Result:
    due = max(e.now + e.delay, first_dispatch(a), a.dispatch_time)
    a = replace(
        a,
        status=_S.SCHEDULED,
        stamp=a.stamp + 1,
        dispatch_time=due,
        unpause_request_id=e.request_id or a.unpause_request_id,
    )
    return a, dispatch_effects(a)


def _start_over(a: StandaloneActivity, e: Event) -> StandaloneActivity:
    """Attempt 1 again with no retry pending (Activity.reset, resetKeepPaused)."""
    options = restored(a) if e.restore else a.options
    a = replace(
        a,
        options=options,
        attempt=1,
        stamp=a.stamp + 1,
        retry_interval=0,
        reset_request_id=e.request_id or a.reset_request_id,
    )
    if e.reset_heartbeat:
        a = replace(a, heartbeat_details=None, heartbeat_time=0)
    return a


def _reset(a: StandaloneActivity, e: Event) -> Result:
    a = _start_over(a, e)
    a = replace(a, status=_S.SCHEDULED, dispatch_time=max(e.now + e.delay, first_dispatch(a)))
    effects = dispatch_effects(a)
    timers = (*effects.timers, *(closing_timer(a) if e.restore else ()))
    return a, replace(effects, timers=timers)


def _reset_requested(a: StandaloneActivity, e: Event) -> Result:
    """A reset of a running attempt waits for its end (deferResetWhileRunning): the
    worker's heartbeats are answered `activity_reset`; a pause requested stays only
    with `keep_paused`."""
    a = replace(
        a,
        status=_S.RESET_REQUESTED,
        reset_should_pause=e.keep_paused and a.status is _S.PAUSE_REQUESTED,
        reset_restore_options=a.reset_restore_options or e.restore,
        reset_clear_heartbeat=a.reset_clear_heartbeat or e.reset_heartbeat,
        reset_request_id=e.request_id or a.reset_request_id,
    )
    return a, Effects()


def _running_timers(a: StandaloneActivity) -> tuple[Timer, ...]:
    """A running attempt's start-to-close and heartbeat timers under its new stamp,
    from its start and last heartbeat (reissueRunningAttemptTimers)."""
    timers = []
    if a.options.start_to_close:
        due = a.started_time + a.options.start_to_close
        timers.append(Timer(_I.START_TO_CLOSE_TIMEOUT, due, a.stamp))
    if a.options.heartbeat:
        due = max(a.heartbeat_time, a.started_time) + a.options.heartbeat
        timers.append(Timer(_I.HEARTBEAT_TIMEOUT, due, a.stamp))
    return tuple(timers)


def _reset_keep_paused(a: StandaloneActivity, e: Event) -> Result:
    a = replace(_start_over(a, e), dispatch_time=0)
    return a, Effects(timers=closing_timer(a) if e.restore else ())


def merged(a: StandaloneActivity, e: Event) -> Options | Error:
    """The update's options over the activity's (MergeActivityOptions, then
    validateAndNormalizeTimeouts): the workflow activities' merge of the queue and the
    retry policy (activity_options.py) and the same normalization of the timeouts."""
    given = e.options
    assert given is not None  # the frontend refuses an update without options
    fields = _paths(e.mask)
    current = a.options
    timeouts = (
        current.schedule_to_close,
        current.schedule_to_start,
        current.start_to_close,
        current.heartbeat,
    )
    done = merge(
        (current.task_queue, timeouts, current.retry_policy),
        given,
        fields,
        0,
        NO_TIMEOUT.format(a.activity_id, current.activity_type),
        checked="retryPolicy",
    )
    if isinstance(done, Error):
        return done
    queue, normal, policy = done
    close, start, run, beat = normal
    return replace(
        current,
        task_queue=queue,
        schedule_to_close=close,
        schedule_to_start=start,
        start_to_close=run,
        heartbeat=beat,
        retry_policy=policy,
    )


def _delay_refused(a: StandaloneActivity, e: Event) -> tuple[str, str] | None:
    """Why the update's new start delay is refused (None: it is not)."""
    if e.start_delay < 0:  # timestamp.ValidateAndCapProtoDuration
        return "INVALID_ARGUMENT", "invalid StartDelay: negative duration"
    in_window = first_dispatch(a) > e.now
    paused_before_first = a.status is _S.PAUSED and not a.started_time
    return None if in_window or paused_before_first else (_FP, DISPATCHED)


def _camel(path: str) -> str:
    """A mask path as util.ParseFieldMask keys it (snake_case parts to camelCase)."""
    head, *rest = path.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _update_options(a: StandaloneActivity, e: Event) -> Result:
    new_delay = not e.restore and any(_camel(path) == "startDelay" for path in e.mask)
    if new_delay and (refused := _delay_refused(a, e)) is not None:
        return a, Effects(error=refused)
    options = restored(a) if e.restore else merged(a, e)
    if isinstance(options, Error):
        return a, Effects(error=(options.kind.name, options.message))
    if new_delay:
        options = replace(options, start_delay=e.start_delay)
    a = replace(
        a,
        options=options,
        stamp=a.stamp + 1,
        update_request_id=e.request_id or a.update_request_id,
    )
    if new_delay and not a.started_time:  # dispatchTimeRespectingStartDelay
        a = replace(a, dispatch_time=max(e.now, first_dispatch(a)))
    if a.status is _S.SCHEDULED:
        effects = dispatch_effects(a)
    elif a.status in ATTEMPT_RUNNING:
        effects = Effects(timers=_running_timers(a))
    else:  # paused: armed when unpaused
        effects = Effects()
    return a, replace(effects, timers=(*effects.timers, *closing_timer(a)))


_FP = "FAILED_PRECONDITION"
HANDLERS: dict[str, Callable[[StandaloneActivity, Event], Result]] = {
    "pause": _pause,
    "unpause": _unpause,
    "pause_requested": _pause_requested,
    "unpause_running": _unpause_running,
    "reset": _reset,
    "reset_keep_paused": _reset_keep_paused,
    "update_options": _update_options,
    "reset_requested": _reset_requested,
    "reject_pause": _refuse(_FP, lambda a: f"activity is in non-pausable state {a.status.value}"),
    "reject_unpause": _refuse(
        _FP, lambda a: f"activity is in non-unpausable state {a.status.value}"
    ),
    "reject_terminal": _refuse(_FP, lambda a: f"activity is in terminal state {a.status.value}"),
    "reject_reset_cancel": _refuse(
        _FP, lambda a: "cannot reset an activity with a pending cancellation"
    ),
    "reject_reset_closed": _refuse(_FP, lambda a: "activity execution is not running"),
    "reject_reset_again": _refuse(_FP, lambda a: "cannot reset an activity with a pending reset"),
    "reject_update": _refuse(
        _FP, lambda a: f"Cannot update options for activity in state {a.status.value}"
    ),
}
