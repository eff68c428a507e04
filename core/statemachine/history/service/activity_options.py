"""UpdateActivityOptions: an operator changes pending activities' task queue, timeouts
and retry policy, or puts back the options they were scheduled with.

Like the calls of activity_ops.py it writes no event and schedules no workflow task.
The rules, from service/history/api/updateactivityoptions/api.go (Invoke,
processActivityOptionsRequest, processActivityOptionsUpdate, updateActivityOptions,
restoreOriginalOptions), common/activityoptions/merge.go (MergeActivityOptions) and
common/retrypolicy/retry_policy.go (Validate):

- A mask with paths and `restore_original` together are refused. Otherwise, in this
  order: a closed run, no options, no activity named (NotFound), no mask. A restore
  checks none of these but the activity: a closed run's pending activities (its
  mutable state keeps them) are restored too, as on the dev server.
- The mask's paths (snake_case or camelCase, converted as util.ParseFieldMask does)
  name what is copied from the request over the activity's current options:
  `taskQueue.name`, the four timeouts, `retryPolicy` whole or one of its four fields.
  A path under a message the request leaves out is refused ("TaskQueue is not
  provided", "RetryPolicy is not provided"); unknown paths are ignored.
- A retry policy is validated only when a path names one of its fields (a whole
  `retryPolicy` is taken as given, unchecked and without defaults).
- The timeouts are then validated and filled in as a ScheduleActivityTask command's are
  (ValidateActivityScheduleAttributes; activity_tasks.normalize_timeouts), so each
  is capped by schedule-to-close and the heartbeat by start-to-close.
- Each activity takes its new options under a new stamp, its timers dropped and armed
  again from the new values: a running attempt's start-to-close and heartbeat from its
  start and last heartbeat, and one waiting (for a worker or its retry) is scheduled
  again through its retry timer at the time it is due (GetNextScheduledTime: its
  scheduled time, or for a later attempt its last attempt's end plus the new policy's
  interval). A paused activity is armed when it is unpaused.
- The reply holds the options of the last activity changed (the server walks a map,
  so for several this one is any of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from core.fastinit import fast_init_all, replace
from core.replies import Error, ErrorKind, Ok
from core.requests import ActivityOptionsInput, RetryPolicyInput, UpdateActivityOptions
from core.statemachine.history.service import activity_ops
from core.statemachine.history.service.activity_handlers import put
from core.statemachine.history.service.activity_tasks import normalize_timeouts
from core.statemachine.history.service.state import (
    ActivityInfo,
    ActivityOptions,
    MutableState,
    RetryPolicy,
)
from core.statemachine.history.service.txn import Outcome, Txn, finish, unchanged

BOTH = "Both UpdateMask and RestoreOriginal are provided"
NO_OPTIONS = "ActivityOptions are not provided"
NO_MASK = "UpdateMask is not provided"
NO_QUEUE = "TaskQueue is not provided"
NO_POLICY = "RetryPolicy is not provided"
NO_TIMEOUT = (
    "a valid StartToCloseTimeout or ScheduleToCloseTimeout must be set on the activity. "
    "ActivityId={} ActivityType={}"
)
BAD_COEFFICIENT = "BackoffCoefficient cannot be less than 1 on retry policy."
BAD_MAXIMUM_INTERVAL = "MaximumInterval cannot be less than InitialInterval on retry policy."
BAD_MAXIMUM_ATTEMPTS = "MaximumAttempts cannot be negative on retry policy."
_TIMEOUTS = (
    "scheduleToCloseTimeout",
    "scheduleToStartTimeout",
    "startToCloseTimeout",
    "heartbeatTimeout",
)
_POLICY_FIELDS = ("initialInterval", "backoffCoefficient", "maximumInterval", "maximumAttempts")


@dataclass(frozen=True, slots=True)
class OptionsUpdated(Ok):
    """Success: the options of the last activity changed (the reply's activity_options).
    `merged` tells an update (whose task queue the validator marks NORMAL) from a
    restore (whose queue carries only its name)."""

    options: ActivityOptions
    merged: bool


def handle(state: MutableState, request: UpdateActivityOptions, now: int) -> Outcome:
    """Change the named activities' options; all of them, or none."""
    fields = _paths(request.mask or ())
    if request.restore_original and fields:
        return unchanged(state, Error(ErrorKind.INVALID_ARGUMENT, BOTH))
    if not request.restore_original:
        error = _refused(state, request)
        if error is not None:
            return unchanged(state, error)
    ids = _named(state, request)
    if not ids:
        return unchanged(state, Error(ErrorKind.NOT_FOUND, activity_ops.ACTIVITY_NOT_FOUND))
    if request.mask is None and not request.restore_original:
        return unchanged(state, Error(ErrorKind.INVALID_ARGUMENT, NO_MASK))
    txn = Txn(state, now)
    last: ActivityOptions | None = None
    for activity_id in ids:
        info = activity_ops.by_id(txn.state, activity_id)
        if info is None:
            return unchanged(state, Error(ErrorKind.NOT_FOUND, activity_ops.ACTIVITY_NOT_FOUND))
        if request.restore_original:
            options: ActivityOptions | Error = activity_ops.original_options(info)
        else:
            assert request.options is not None
            options = _merged(state, info, request.options, fields)
        if isinstance(options, Error):
            return unchanged(state, options)
        rearm(txn, activity_ops.with_options(info, options))
        last = options
    assert last is not None
    return finish(txn, OptionsUpdated(last, not request.restore_original))


def _refused(state: MutableState, request: UpdateActivityOptions) -> Error | None:
    if not state.running:
        return Error(ErrorKind.WORKFLOW_COMPLETED, activity_ops.RUN_CLOSED)
    if request.options is None:
        return Error(ErrorKind.INVALID_ARGUMENT, NO_OPTIONS)
    return None


def rearm(txn: Txn, info: ActivityInfo) -> None:
    """The activity's timers armed again after its options changed (TimerTaskStatus
    cleared); one waiting and not paused nor cancel-requested is scheduled again at the
    time it is due (RegenerateActivityRetryTask with GetNextScheduledTime)."""
    if info.pause is not None:  # no timer while paused (timer_sequence.go)
        put(txn, info)
        return
    if info.started:
        activity_ops.resume(txn, info, txn.now)
    elif info.cancel_requested_event_id:  # not SCHEDULED: no retry task
        put(txn, info)
    else:
        activity_ops.resume(txn, info, next_scheduled_time(info))


def next_scheduled_time(info: ActivityInfo) -> int:
    """GetNextScheduledTime (service/history/workflow/activity.go): the scheduled time,
    or for a later attempt its last attempt's end plus the policy's interval for this
    attempt (the maximum interval caps it unless 0; none if it comes to 0)."""
    if info.attempt <= 1:
        return info.scheduled_time
    policy = info.retry_policy
    interval = max(
        0, int(policy.initial_interval * policy.backoff_coefficient ** (info.attempt - 1))
    )
    if policy.maximum_interval and (interval <= 0 or interval > policy.maximum_interval):
        interval = policy.maximum_interval
    if interval <= 0:
        return info.scheduled_time
    return info.last_attempt_complete_time + interval


def _paths(mask: tuple[str, ...]) -> frozenset[str]:
    """The mask's paths in camelCase, as util.ParseFieldMask converts each part."""
    return frozenset(".".join(_camel(part) for part in path.split(".")) for path in mask)


def _camel(part: str) -> str:
    head, *rest = part.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _named(state: MutableState, request: UpdateActivityOptions) -> list[str]:
    if request.activity_id:
        return [request.activity_id]
    return [
        a.activity_id
        for a in state.activities
        if request.match_all or (request.activity_type and a.activity_type == request.activity_type)
    ]


def _merged(
    state: MutableState,
    info: ActivityInfo,
    given: ActivityOptionsInput,
    fields: frozenset[str],
) -> ActivityOptions | Error:
    """MergeActivityOptions, the retry policy's check, then the timeouts' check."""
    current = activity_ops.options_of(info)
    timeouts = (
        current.schedule_to_close_timeout,
        current.schedule_to_start_timeout,
        current.start_to_close_timeout,
        current.heartbeat_timeout,
    )
    merged = merge(
        (current.task_queue, timeouts, current.retry_policy),
        given,
        fields,
        state.run_timeout,
        NO_TIMEOUT.format(info.activity_id, info.activity_type),
        checked="retryPolicy.",
    )
    if isinstance(merged, Error):
        return merged
    queue, normal, policy = merged
    return ActivityOptions(queue or state.task_queue, *normal, policy)


Merged: TypeAlias = tuple[str, tuple[int, int, int, int], RetryPolicy]


def merge(
    current: Merged,
    given: ActivityOptionsInput,
    fields: frozenset[str],
    run_timeout: int,
    no_timeout: str,
    checked: str,
) -> Merged | Error:
    """The options `fields` name taken from `given` over `current` (queue, the four
    timeouts, retry policy), the merged retry policy checked when a field starting with
    `checked` was named, the timeouts normalized (`no_timeout`: the message when none
    bounds an attempt). A workflow's activities and standalone ones share it."""
    queue, timeouts, policy = current
    if "taskQueue.name" in fields:
        if given.task_queue is None:
            return Error(ErrorKind.INVALID_ARGUMENT, NO_QUEUE)
        queue = given.task_queue
    chosen = list(timeouts)
    for i, name in enumerate(_TIMEOUTS):
        if name in fields:
            chosen[i] = getattr(given, _snake(name))
    merged_policy = _merged_policy(policy, given.retry_policy, fields)
    if isinstance(merged_policy, Error):
        return merged_policy
    if any(f.startswith(checked) for f in fields):
        error = _invalid_policy(merged_policy)
        if error is not None:
            return error
    close, start, run, beat = chosen
    normal = normalize_timeouts(close, start, run, beat, run_timeout)
    if normal is None:
        return Error(ErrorKind.INVALID_ARGUMENT, no_timeout)
    return queue, normal, merged_policy


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _merged_policy(
    current: RetryPolicy, given: RetryPolicyInput | None, fields: frozenset[str]
) -> RetryPolicy | Error:
    policy = current
    if "retryPolicy" in fields:
        if given is None:
            return Error(ErrorKind.INVALID_ARGUMENT, NO_POLICY)
        policy = RetryPolicy(
            given.initial_interval,
            given.backoff_coefficient,
            given.maximum_interval,
            given.maximum_attempts,
        )
    for name in _POLICY_FIELDS:
        if f"retryPolicy.{name}" in fields:
            if given is None:
                return Error(ErrorKind.INVALID_ARGUMENT, NO_POLICY)
            policy = replace(policy, **{_snake(name): getattr(given, _snake(name))})
    return policy


def _invalid_policy(policy: RetryPolicy) -> Error | None:
    """retrypolicy.Validate's checks of the fields the model holds."""
    if policy.maximum_attempts == 1:  # no retry: the rest does not matter
        return None
    message = ""
    if policy.backoff_coefficient < 1:
        message = BAD_COEFFICIENT
    elif 0 < policy.maximum_interval < policy.initial_interval:
        message = BAD_MAXIMUM_INTERVAL
    elif policy.maximum_attempts < 0:
        message = BAD_MAXIMUM_ATTEMPTS
    return Error(ErrorKind.INVALID_ARGUMENT, message) if message else None


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
