"""What a standalone activity is (activity.py decides how it changes): its statuses and
inputs, the options its start fixes, the immutable record of one run, and the timers,
events and effects a decision takes and gives. The record follows `ActivityState` and
the attempt and outcome messages of chasm/lib/activity/proto/v1/activity_state.proto.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from core.enums import RetryState, TimeoutType
from core.fastinit import fast_init_all
from core.opaque import Opaque
from core.requests import ActivityOptionsInput
from core.statemachine.history.service.state import RetryPolicy


class Status(Enum):
    """`ActivityExecutionStatus` of chasm/lib/activity/proto/v1/activity_state.proto,
    valued as Go's String() names them in the server's messages."""

    SCHEDULED = "Scheduled"
    PAUSED = "Paused"  # an operator paused it while no attempt ran
    STARTED = "Started"
    CANCEL_REQUESTED = "CancelRequested"
    PAUSE_REQUESTED = "PauseRequested"  # paused while an attempt runs: it pauses after it
    RESET_REQUESTED = "ResetRequested"  # reset while an attempt runs: it resets after it
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"
    TERMINATED = "Terminated"
    TIMED_OUT = "TimedOut"


class Input(Enum):
    RECORD_STARTED = "RecordActivityTaskStarted"  # matching handed the attempt to a worker
    HEARTBEAT = "RecordActivityTaskHeartbeat"
    RESPOND_COMPLETED = "RespondActivityTaskCompleted"
    RESPOND_FAILED = "RespondActivityTaskFailed"
    RESPOND_CANCELED = "RespondActivityTaskCanceled"
    REQUEST_CANCEL = "RequestCancelActivityExecution"
    TERMINATE = "TerminateActivityExecution"
    PAUSE = "PauseActivityExecution"
    UNPAUSE = "UnpauseActivityExecution"
    RESET = "ResetActivityExecution"
    UPDATE_OPTIONS = "UpdateActivityExecutionOptions"
    SCHEDULE_TO_START_TIMEOUT = "ScheduleToStartTimeoutTask"
    SCHEDULE_TO_CLOSE_TIMEOUT = "ScheduleToCloseTimeoutTask"
    START_TO_CLOSE_TIMEOUT = "StartToCloseTimeoutTask"
    HEARTBEAT_TIMEOUT = "HeartbeatTimeoutTask"


_S, _I = Status, Input
OPEN = frozenset(
    {
        _S.SCHEDULED,
        _S.PAUSED,
        _S.STARTED,
        _S.CANCEL_REQUESTED,
        _S.PAUSE_REQUESTED,
        _S.RESET_REQUESTED,
    }
)
CLOSED = (_S.COMPLETED, _S.FAILED, _S.CANCELED, _S.TERMINATED, _S.TIMED_OUT)
ATTEMPT_RUNNING = frozenset(  # hasAttemptInProgress
    {_S.STARTED, _S.CANCEL_REQUESTED, _S.PAUSE_REQUESTED, _S.RESET_REQUESTED}
)
WORKER_CALLS = (_I.HEARTBEAT, _I.RESPOND_COMPLETED, _I.RESPOND_FAILED, _I.RESPOND_CANCELED)
TIMERS = (
    _I.SCHEDULE_TO_START_TIMEOUT,
    _I.SCHEDULE_TO_CLOSE_TIMEOUT,
    _I.START_TO_CLOSE_TIMEOUT,
    _I.HEARTBEAT_TIMEOUT,
)
TIMEOUT_OF = {
    _I.SCHEDULE_TO_START_TIMEOUT: TimeoutType.SCHEDULE_TO_START,
    _I.SCHEDULE_TO_CLOSE_TIMEOUT: TimeoutType.SCHEDULE_TO_CLOSE,
    _I.START_TO_CLOSE_TIMEOUT: TimeoutType.START_TO_CLOSE,
    _I.HEARTBEAT_TIMEOUT: TimeoutType.HEARTBEAT,
}
NOT_CANCEL_REQUESTED = (  # consts.ErrActivityTaskNotCancelRequested
    "unable to mark activity as canceled without activity being request canceled first"
)


@dataclass(frozen=True, slots=True)
class Options:
    """What the start request fixes (timeouts normalized, in ns; 0: unset)."""

    activity_type: str
    task_queue: str
    schedule_to_close: int
    schedule_to_start: int
    start_to_close: int
    heartbeat: int
    start_delay: int
    retry_policy: RetryPolicy


@dataclass(frozen=True, slots=True)
class StandaloneActivity:
    """One run of a standalone activity: `attempt` counts attempts, `stamp` tells the
    current attempt's tasks from stale ones; times are ns (0: not yet)."""

    activity_id: str
    run_id: str
    request_id: str
    options: Options
    schedule_time: int
    status: Status = _S.SCHEDULED
    attempt: int = 1
    stamp: int = 1
    dispatch_time: int = 0  # when the current attempt may go to a worker
    started_time: int = 0
    complete_time: int = 0  # the last attempt's end
    identity: str = ""  # the last worker's
    last_failure: Opaque | None = None  # the last attempt's failure
    retry_interval: int = 0  # before the attempt now scheduled
    heartbeat_details: Opaque | None = None
    heartbeat_time: int = 0
    heartbeat_count: int = 0
    cancel_request_id: str = ""
    cancel_reason: str = ""
    cancel_identity: str = ""
    terminate_request_id: str = ""
    # the operator commands' (LastPauseState, LastUnpauseRequestId, LastResetRequestId,
    # LastUpdateOptionsRequestId; OriginalOptions, the start's: None means `options`)
    pause_time: int = 0
    pause_identity: str = ""
    pause_reason: str = ""
    pause_request_id: str = ""
    unpause_request_id: str = ""
    reset_request_id: str = ""
    update_request_id: str = ""
    original_options: Options | None = None
    # a reset deferred while an attempt runs (ResetShouldPause, ResetRestoreOptions,
    # ResetShouldClearHeartbeat): what it does when the attempt ends
    reset_should_pause: bool = False
    reset_restore_options: bool = False
    reset_clear_heartbeat: bool = False
    result: Opaque | None = None
    failure: Opaque | None = None  # the outcome's own failure (canceled, terminated, ...)
    retry_state: RetryState = RetryState.UNSPECIFIED
    close_time: int = 0
    transitions: int = 1

    @property
    def running(self) -> bool:
        return self.status in OPEN

    @property
    def deadline(self) -> int:
        """The schedule-to-close deadline, counted from the first dispatch (0: none)."""
        timeout = self.options.schedule_to_close
        return self.schedule_time + self.options.start_delay + timeout if timeout else 0

    @property
    def outcome_failure(self) -> Opaque | None:
        """A closed activity's failure (`terminalFailure`): its own, else the last
        attempt's (a failure that exhausted the retries)."""
        if self.status in OPEN or self.status is _S.COMPLETED:
            return None
        return self.failure if self.failure is not None else self.last_failure


@dataclass(frozen=True, slots=True)
class Timer:
    input: Input
    due: int
    stamp: int


@dataclass(frozen=True, slots=True)
class Event:
    """An input with what it carries. `attempt` is a worker token's (0: by id); `stamp`
    a timer's or a dispatched task's; `payload` a result, failure, heartbeat's or
    cancellation's details."""

    input: Input
    now: int
    attempt: int = 0
    stamp: int = 0
    payload: Opaque | None = None
    error_type: str = ""
    non_retryable: bool = False
    heartbeat: Opaque | None = None  # a failure's last heartbeat details
    identity: str = ""
    request_id: str = ""
    reason: str = ""
    # the operator commands': the jitter's offset the caller drew (ns), the reset's
    # flags, and the options and field mask of an update
    delay: int = 0
    keep_paused: bool = False
    reset_heartbeat: bool = False
    restore: bool = False
    options: ActivityOptionsInput | None = None
    mask: tuple[str, ...] = ()
    start_delay: int = 0  # an update's new start delay (its mask names it)


@dataclass(frozen=True, slots=True)
class Effects:
    timers: tuple[Timer, ...] = ()
    dispatch: int | None = None  # hand the current attempt to matching at this time
    error: tuple[str, str] | None = None  # (code name, message) the caller gets
    cancel_requested: bool = False  # a heartbeat's answers
    activity_paused: bool = False
    activity_reset: bool = False


def dispatch_effects(a: StandaloneActivity) -> Effects:
    """The current attempt goes to matching at its dispatch time, its schedule-to-start
    timer counting from then (TransitionScheduled, TransitionRescheduled)."""
    timers: tuple[Timer, ...] = ()
    if a.options.schedule_to_start:
        due = a.dispatch_time + a.options.schedule_to_start
        timers = (Timer(_I.SCHEDULE_TO_START_TIMEOUT, due, a.stamp),)
    return Effects(timers=timers, dispatch=a.dispatch_time)


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
