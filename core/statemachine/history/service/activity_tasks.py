"""An activity's timeouts and queue tasks: what the rows of service/activity.py arm.

Pure helpers shared by the activity handlers and by refresh.py (which regenerates the
tasks of a rebuilt mutable state): the transfer task of an attempt with its
schedule-to-start timer, the schedule-to-close timer spanning all attempts, the
timeouts an activity is scheduled with, and the failure a timeout writes.
"""

from __future__ import annotations

from core.enums import TimeoutType
from core.opaque import JsonValue, Opaque
from core.requests import (
    ActivityTaskTransfer,
    ActivityTimeoutTask,
    Task,
)
from core.statemachine.history.service.state import ActivityInfo


def dispatch_tasks(info: ActivityInfo) -> tuple[Task, ...]:
    """The transfer task of the current attempt and its schedule-to-start timer (due
    `schedule_to_start_timeout` after the attempt was scheduled)."""
    transfer = ActivityTaskTransfer(
        info.scheduled_event_id, info.task_queue, info.stamp, info.schedule_to_start_timeout
    )
    if not info.schedule_to_start_timeout:
        return (transfer,)
    timer = ActivityTimeoutTask(
        info.scheduled_event_id,
        TimeoutType.SCHEDULE_TO_START,
        info.attempt,
        info.stamp,
        info.scheduled_time + info.schedule_to_start_timeout,
    )
    return transfer, timer


def schedule_to_close_tasks(info: ActivityInfo) -> tuple[Task, ...]:
    """The schedule-to-close timer spans all attempts, so it is armed once."""
    if not info.schedule_to_close_timeout:
        return ()
    return (
        ActivityTimeoutTask(
            info.scheduled_event_id,
            TimeoutType.SCHEDULE_TO_CLOSE,
            info.attempt,
            info.stamp,
            deadline(info),
        ),
    )


def started_tasks(info: ActivityInfo, now: int) -> tuple[Task, ...]:
    """The start-to-close and heartbeat timers of an attempt that started at `now`."""
    kinds = (
        (TimeoutType.START_TO_CLOSE, info.start_to_close_timeout),
        (TimeoutType.HEARTBEAT, info.heartbeat_timeout),
    )
    return tuple(
        ActivityTimeoutTask(info.scheduled_event_id, kind, info.attempt, info.stamp, now + span)
        for kind, span in kinds
        if span
    )


def resumed_attempt_tasks(info: ActivityInfo) -> tuple[Task, ...]:
    """The start-to-close and heartbeat timers of a running attempt armed again (after
    an unpause, which drops the timers a pause let pass): due when they were due, from
    the attempt's start and its last heartbeat, at once if that has passed."""
    last_beat = info.last_heartbeat_time or info.started_time
    kinds = (
        (TimeoutType.START_TO_CLOSE, info.start_to_close_timeout, info.started_time),
        (TimeoutType.HEARTBEAT, info.heartbeat_timeout, last_beat),
    )
    return tuple(
        ActivityTimeoutTask(info.scheduled_event_id, kind, info.attempt, info.stamp, since + span)
        for kind, span, since in kinds
        if span
    )


def deadline(info: ActivityInfo) -> int:
    """The schedule-to-close deadline (0: none)."""
    if not info.schedule_to_close_timeout:
        return 0
    return info.first_scheduled_time + info.schedule_to_close_timeout


def normalize_timeouts(
    schedule_to_close: int, schedule_to_start: int, start_to_close: int, heartbeat: int, run: int
) -> tuple[int, int, int, int] | None:
    """The four timeouts an activity is scheduled with, each filled in from the others
    and capped by the run timeout (`validateAndNormalizeTimeouts` in
    chasm/lib/activity/validator.go); None when neither schedule-to-close nor
    start-to-close is given. All in ns, 0 meaning unset (or unlimited)."""
    if schedule_to_close > 0:
        schedule_to_start = (
            min(schedule_to_start, schedule_to_close)
            if schedule_to_start > 0
            else schedule_to_close
        )
        start_to_close = (
            min(start_to_close, schedule_to_close) if start_to_close > 0 else schedule_to_close
        )
    elif start_to_close > 0:
        schedule_to_close = run
        if schedule_to_start <= 0:
            schedule_to_start = run
    else:
        return None
    if run > 0:
        schedule_to_close = min(schedule_to_close, run)
        schedule_to_start = min(schedule_to_start, run)
        start_to_close = min(start_to_close, run)
        heartbeat = min(heartbeat, run)
    return schedule_to_close, schedule_to_start, start_to_close, min(heartbeat, start_to_close)


# The failure a timeout writes (timer_queue_active_task_executor.go, processActivityTimeout;
# common/failure/failure.go NewTimeoutFailure; the messages of common/util.go).
TIMEOUT_MESSAGE = "activity {} timeout"
NO_TIME_TO_RETRY_MESSAGE = (
    "Not enough time to schedule next retry before activity ScheduleToClose timeout, "
    "giving up retrying"
)
TIMEOUT_NAME = {  # Go's TimeoutType.String()
    TimeoutType.START_TO_CLOSE: "StartToClose",
    TimeoutType.SCHEDULE_TO_START: "ScheduleToStart",
    TimeoutType.SCHEDULE_TO_CLOSE: "ScheduleToClose",
    TimeoutType.HEARTBEAT: "Heartbeat",
}


def timeout_failure(
    message: str, kind: TimeoutType, details: Opaque | None = None, cause: Opaque | None = None
) -> Opaque:
    """A temporal.api.failure.v1.Failure with TimeoutFailureInfo, as protojson; `cause`
    is the failure of the attempt before, if any (AddActivityTaskTimedOutEvent in
    service/history/workflow/mutable_state_impl.go sets it to ai.RetryLastFailure)."""
    info: dict[str, JsonValue] = {"timeoutType": f"TIMEOUT_TYPE_{kind.name}"}
    if details is not None:
        info["lastHeartbeatDetails"] = details.value()
    body: dict[str, JsonValue] = {"message": message, "source": "Server"}
    if cause is not None:
        body["cause"] = cause.value()
    return Opaque.of({**body, "timeoutFailureInfo": info})
