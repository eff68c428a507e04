"""One activity timer task times out every activity timer that has expired.

The server does not time out only the activity its timer task names: the task loads
the timers of all the run's pending activities (skipping paused ones), sorts them by
due time, scheduled event id and timeout type, and handles each that has expired by
the task's time, in one transaction (executeActivityTimeoutTask in
service/history/timer_queue_active_task_executor.go; LoadAndSortActivityTimers and the
getActivity*Timeout helpers in service/history/workflow/timer_sequence.go). So two
activities whose timeouts fall due together close in one batch, before the one
workflow task they need (ActivityTaskTimedOut, ActivityTaskTimedOut,
WorkflowTaskScheduled), and the later task of the other finds nothing left to do.
A timer of an attempt that an earlier timer in the sweep retried is skipped
(processSingleActivityTimeoutTask: the sequence's attempt is older).

Pure: computes the timers from the activity records, as the server does.
"""

from __future__ import annotations

from core.enums import TimeoutType
from core.requests import ActivityTimeoutTask
from core.statemachine.history.service.state import ActivityInfo, MutableState


def _timers(info: ActivityInfo) -> list[ActivityTimeoutTask]:
    """The activity's timers and when each falls due (a started attempt has
    start-to-close and heartbeat timers, one not started its schedule-to-start timer,
    and schedule-to-close spans all attempts)."""
    due: list[tuple[TimeoutType, int]] = []
    if info.schedule_to_close_timeout:
        due.append(
            (
                TimeoutType.SCHEDULE_TO_CLOSE,
                info.first_scheduled_time + info.schedule_to_close_timeout,
            )
        )
    if not info.started and not info.backoff and info.schedule_to_start_timeout:
        due.append(
            (TimeoutType.SCHEDULE_TO_START, info.scheduled_time + info.schedule_to_start_timeout)
        )
    if info.started and info.start_to_close_timeout:
        due.append((TimeoutType.START_TO_CLOSE, info.started_time + info.start_to_close_timeout))
    if info.started and info.heartbeat_timeout:
        last = max(info.started_time, info.last_heartbeat_time)
        due.append((TimeoutType.HEARTBEAT, last + info.heartbeat_timeout))
    return [
        ActivityTimeoutTask(info.scheduled_event_id, kind, info.attempt, info.stamp, at)
        for kind, at in due
    ]


def sort_key(task: ActivityTimeoutTask) -> tuple[int, int, int]:
    """The server's order: due time, scheduled event id, timeout type."""
    return task.fire_time, task.scheduled_event_id, int(task.timeout_type)


def expired(state: MutableState, now: int) -> list[ActivityTimeoutTask]:
    """The timers of the run's unpaused pending activities due by `now`, in order."""
    found = [
        task
        for info in state.activities
        if info.pause is None
        for task in _timers(info)
        if task.fire_time <= now
    ]
    return sorted(found, key=sort_key)


def still_current(state: MutableState, task: ActivityTimeoutTask) -> bool:
    """Whether an earlier timer of the sweep left `task`'s attempt pending."""
    info = state.activity(task.scheduled_event_id)
    return info is not None and info.attempt == task.attempt and info.stamp == task.stamp
