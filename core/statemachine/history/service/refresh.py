"""The outbox tasks a rebuilt run implies: the server's task refresher.

After a rebuild (rebuild.py) every transfer and timer task the state needs is
generated again from the state and the history (`TaskRefresherImpl.Refresh` in
`service/history/workflow/task_refresher.go`): the run timeout and a pending first-task
backoff, the pending workflow task's transfer task or timeout, each waiting activity's
dispatch and timers, each user timer, and the requests of children not started and of
pending external signals and cancels, and each pending Nexus operation's timeouts
(rebuild_nexus.py; delivering its start or cancel is the host's, as for a live run).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.enums import TimeoutType
from core.events import (
    HistoryEvent,
    RequestCancelExternalWorkflowExecutionInitiatedEventAttributes,
    SignalExternalWorkflowExecutionInitiatedEventAttributes,
    StartChildWorkflowExecutionInitiatedEventAttributes,
    WorkflowExecutionStartedEventAttributes,
)
from core.requests import (
    ActivityTimeoutTask,
    Task,
    UserTimerTask,
    WorkflowBackoffTask,
    WorkflowRunTimeoutTask,
    WorkflowTaskTimeoutTask,
    WorkflowTaskTransfer,
)
from core.statemachine.history.service import activity_tasks, outbound, rebuild_nexus
from core.statemachine.history.service.run_timeouts import run_expiry
from core.statemachine.history.service.state import ActivityInfo, MutableState


def refresh_tasks(state: MutableState, events: Sequence[HistoryEvent]) -> tuple[Task, ...]:
    """Every outbox task a running `state` implies (`TaskRefresherImpl.Refresh`).

    `events` is the run's history, read for what the tasks carry (the backoff of the
    first workflow task, the requests behind pending children and external signals and
    cancels). A closed run gets none: its close task was the last it needed.
    """
    if not state.running:
        return ()
    tasks: list[Task] = [*_start_tasks(state, events), *_wft_tasks(state)]
    for info in state.activities:
        tasks.extend(_activity_tasks(info))
    tasks.extend(UserTimerTask(t.timer_id, t.started_event_id, t.expiry_time) for t in state.timers)
    tasks.extend(_outbound_tasks(state, events))
    tasks.extend(rebuild_nexus.nexus_timeout_tasks(state, events))
    return tuple(tasks)


def _start_tasks(state: MutableState, events: Sequence[HistoryEvent]) -> list[Task]:
    """The run timeout and, while the first task waits, its backoff timer
    (`RefreshTasksForWorkflowStart`), both counted from the run's start."""
    tasks: list[Task] = []
    start = events[0].attributes
    assert isinstance(start, WorkflowExecutionStartedEventAttributes)
    backoff = start.first_workflow_task_backoff or 0
    if state.backoff_pending:
        tasks.append(WorkflowBackoffTask(state.start_time + backoff))
    expiry = run_expiry(state.start_time, backoff, state.run_timeout, state.execution_expiration)
    if expiry:
        tasks.append(WorkflowRunTimeoutTask(expiry))
    return tasks


def _wft_tasks(state: MutableState) -> list[Task]:
    """A started task's start-to-close timer, or a scheduled one's transfer task
    (`refreshWorkflowTaskTasks`); stickiness is gone, so no schedule-to-start timer."""
    wft = state.wft
    if wft is None:
        return []
    if wft.started:
        fire = wft.started_time + wft.start_to_close_timeout
        kind = TimeoutType.START_TO_CLOSE
        return [WorkflowTaskTimeoutTask(wft.scheduled_event_id, kind, wft.attempt, wft.stamp, fire)]
    return [WorkflowTaskTransfer(wft.scheduled_event_id, wft.task_queue, False, wft.stamp)]


def _activity_tasks(info: ActivityInfo) -> list[Task]:
    """A waiting attempt is dispatched again with its timers (`refreshTasksForActivity`);
    a started one (only at the end of a prefix) keeps its attempt's timers."""
    tasks = list(activity_tasks.schedule_to_close_tasks(info))
    if not info.started:
        return [*activity_tasks.dispatch_tasks(info), *tasks]
    for kind, timeout in (
        (TimeoutType.START_TO_CLOSE, info.start_to_close_timeout),
        (TimeoutType.HEARTBEAT, info.heartbeat_timeout),
    ):
        if timeout:
            fire = info.started_time + timeout
            tasks.append(
                ActivityTimeoutTask(info.scheduled_event_id, kind, info.attempt, info.stamp, fire)
            )
    return tasks


def _outbound_tasks(state: MutableState, events: Sequence[HistoryEvent]) -> list[Task]:
    """Start a child that has not started, deliver a pending signal or cancel request
    (`refreshTasksForChildWorkflow`, `...SignalExternalWorkflow`,
    `...RequestCancelExternalWorkflow`), from their Initiated events."""
    unstarted = {c.initiated_event_id for c in state.children if not c.started_event_id}
    signals = {x.initiated_event_id for x in state.signals_out}
    cancels = {x.initiated_event_id for x in state.cancels_out}
    tasks: list[Task] = []
    for event in events:
        a, initiated = event.attributes, event.event_id
        if initiated in unstarted and isinstance(
            a, StartChildWorkflowExecutionInitiatedEventAttributes
        ):
            tasks.append(outbound.start_child_transfer(state, initiated, a, event.user_metadata))
        elif initiated in signals and isinstance(
            a, SignalExternalWorkflowExecutionInitiatedEventAttributes
        ):
            tasks.append(outbound.signal_external_transfer(state, initiated, a))
        elif initiated in cancels and isinstance(
            a, RequestCancelExternalWorkflowExecutionInitiatedEventAttributes
        ):
            tasks.append(outbound.cancel_external_transfer(state, initiated, a))
    return tasks
