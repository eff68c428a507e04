"""A speculative workflow task (one scheduled for an update, whose Scheduled and Started
events are not written) that fails or times out instead of completing: its Scheduled
event, dated when it was scheduled, and once started its Started event, dated when it
started, are written first, then what ended it (workflow_task.fail). So Temporal's
AddWorkflowTaskFailedEvent, AddWorkflowTaskTimedOutEvent and
AddWorkflowTaskScheduleToStartTimeoutEvent do (service/history/workflow/
workflow_task_state_machine.go); the Started event of a timed-out task names no worker.
"""

from __future__ import annotations

from core.enums import EventType
from core.events import WorkflowTaskScheduledEventAttributes, WorkflowTaskStartedEventAttributes
from core.fastinit import replace
from core.statemachine.history.service.state import WorkflowTaskInfo
from core.statemachine.history.service.txn import Txn


def write_events(
    txn: Txn,
    wft: WorkflowTaskInfo,
    scheduled: WorkflowTaskScheduledEventAttributes,
    started: WorkflowTaskStartedEventAttributes,
    identity: str,
) -> WorkflowTaskInfo:
    """Append the task's events (`txn.now` is left as it was); the task, now written."""
    now = txn.now
    txn.now = wft.scheduled_time
    scheduled_event_id = txn.append(EventType.WORKFLOW_TASK_SCHEDULED, scheduled)
    started_event_id = 0
    if wft.started:
        txn.now = wft.started_time
        version = wft.worker_version if identity else None
        attributes = replace(
            started,
            scheduled_event_id=scheduled_event_id,
            identity=identity,
            worker_version=version,
        )
        started_event_id = txn.append(EventType.WORKFLOW_TASK_STARTED, attributes)
    txn.now = now
    return replace(
        wft,
        speculative=False,
        scheduled_event_id=scheduled_event_id,
        started_event_id=started_event_id,
    )
