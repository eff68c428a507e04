"""A workflow task whose events are not written yet: a transient task (attempt > 1) or a
speculative one (scheduled for an update). Its Scheduled and Started events are written
only when it completes (`write_transient`); until then a worker's poll and an SDK's
history read show them as they would be written (`transient_events`). So Temporal's
`TransientWorkflowTaskInfo` does (service/history/api/recordworkflowtaskstarted) and
its workflow task state machine writes them (service/history/workflow/
workflow_task_state_machine.go).
"""

from __future__ import annotations

import dataclasses

from core.enums import EventType, TaskQueueKind
from core.events import (
    HistoryEvent,
    TaskQueue,
    WorkflowTaskScheduledEventAttributes,
    WorkflowTaskStartedEventAttributes,
)
from core.fastinit import replace
from core.statemachine.history.service.state import MutableState, WorkflowTaskInfo, revise
from core.statemachine.history.service.txn import Txn
from core.task_queues import task_queue

E = EventType


def queue_of(s: MutableState, sticky: bool) -> TaskQueue:
    """The queue a task of `s` is on: the sticky one (naming the normal one) or the normal."""
    if sticky:
        return task_queue(s.sticky_queue, TaskQueueKind.STICKY, s.task_queue)
    return task_queue(s.task_queue)


def write_transient(txn: Txn, wft: WorkflowTaskInfo) -> WorkflowTaskInfo:
    """A transient or speculative task that completes writes Scheduled and Started now."""
    scheduled_attributes, started_attributes = unwritten_attributes(txn.state, wft, 0)
    scheduled = txn.append(E.WORKFLOW_TASK_SCHEDULED, scheduled_attributes)
    started = txn.append(
        E.WORKFLOW_TASK_STARTED,
        replace(started_attributes, scheduled_event_id=scheduled),
    )
    return revise(wft, scheduled_event_id=scheduled, started_event_id=started)


def transient_events(state: MutableState, read: bool = False) -> tuple[HistoryEvent, ...]:
    """What a worker's poll shows of a started transient or speculative task, whose
    Scheduled and Started events are written only when it completes, so the SDK can
    replay up to it (`TransientWorkflowTaskInfo`, service/history/api/recordworkflowtaskstarted;
    the stamp only of a versioned worker). A history `read` by an SDK's client ends with
    them too: the Scheduled one alone while the task waits for a worker, no identity on
    the Started one (history/api/get_workflow_util.go, getworkflowexecutionhistory/api.go).
    """
    wft = state.wft
    if wft is None or not wft.unwritten or not (wft.started or read):
        return ()
    if wft.scheduled_event_id != state.next_event_id:  # events came since: a read shows
        return ()  # none (ValidateTransientWorkflowTaskEvents in api/get_history_util.go)
    scheduled, started = unwritten_attributes(state, wft, wft.scheduled_event_id)
    at = wft.scheduled_time
    first = HistoryEvent(
        wft.scheduled_event_id, E.WORKFLOW_TASK_SCHEDULED, scheduled, event_time=at
    )
    if not wft.started:
        return (first,)
    stamp = wft.worker_version.value() if wft.worker_version is not None else None
    versioned = isinstance(stamp, dict) and stamp.get("useVersioning") is True
    started = dataclasses.replace(
        started,
        identity="" if read else started.identity,
        worker_version=wft.worker_version if versioned else None,
    )
    at = wft.started_time
    return first, HistoryEvent(
        wft.started_event_id, E.WORKFLOW_TASK_STARTED, started, event_time=at
    )


def unwritten_attributes(
    s: MutableState, wft: WorkflowTaskInfo, scheduled_event_id: int
) -> tuple[WorkflowTaskScheduledEventAttributes, WorkflowTaskStartedEventAttributes]:
    """The attributes of the task's Scheduled and Started events, as they would be written
    with the Scheduled event's id `scheduled_event_id` (0: not known yet)."""
    return (
        WorkflowTaskScheduledEventAttributes(
            task_queue=queue_of(s, wft.sticky),
            start_to_close_timeout=wft.start_to_close_timeout,
            attempt=wft.attempt,
        ),
        WorkflowTaskStartedEventAttributes(
            scheduled_event_id=scheduled_event_id,
            identity=wft.identity,
            request_id=wft.request_id,
            suggest_continue_as_new=bool(wft.suggest_continue_as_new),
            suggest_continue_as_new_reasons=wft.suggest_continue_as_new,
            history_size_bytes=wft.history_size_bytes,
            worker_version=wft.worker_version,
        ),
    )
