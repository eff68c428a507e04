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

from core.requests import ActivityTimeoutTask
from core.statemachine.history.service.activity_tasks import (
    dispatch_tasks,
    resumed_attempt_tasks,
    schedule_to_close_tasks,
)
from core.statemachine.history.service.state import ActivityInfo, MutableState


def _timers(info: ActivityInfo) -> list[ActivityTimeoutTask]:
    """The activity's timers as they were armed (activity_tasks.py): schedule-to-close
    across all attempts, a started attempt's start-to-close and heartbeat timers, and
    the schedule-to-start timer of an attempt waiting for a worker."""
    tasks = [*schedule_to_close_tasks(info)]
    if info.started:
        tasks += resumed_attempt_tasks(info)
    elif not info.backoff:
        tasks += dispatch_tasks(info)
    return [task for task in tasks if isinstance(task, ActivityTimeoutTask)]


def sort_key(task: ActivityTimeoutTask) -> tuple[int, int, int]:
    """The server's order: due time, scheduled event id, timeout type."""
    return task.fire_time, task.scheduled_event_id, int(task.timeout_type)


_MS = 1_000_000  # common.ScheduledTaskMinPrecision


def due(fire_time: int, reference: int) -> bool:
    """Has a timer due at `fire_time` expired by `reference`, the time the timer task
    runs? Both are truncated to the millisecond first (`IsTimeExpired` in
    service/history/queues/queue_scheduled.go, which also takes the task's own fire time
    if later: a real timer task never runs before it), so a timer due less than a
    millisecond later counts as expired."""
    return fire_time // _MS <= reference // _MS


def expired(state: MutableState, reference: int) -> list[ActivityTimeoutTask]:
    """The timers of the run's unpaused pending activities due by `reference`, in
    order."""
    found = [
        task
        for info in state.activities
        if info.pause is None
        for task in _timers(info)
        if due(task.fire_time, reference)
    ]
    return sorted(found, key=sort_key)


def still_current(state: MutableState, task: ActivityTimeoutTask) -> bool:
    """Whether an earlier timer of the sweep left `task`'s attempt pending."""
    info = state.activity(task.scheduled_event_id)
    return info is not None and info.attempt == task.attempt and info.stamp == task.stamp
