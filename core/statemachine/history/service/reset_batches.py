"""Where a history's event batches end, as the reset reads them back.

A reset to event `finish` rebuilds the run from the batches before it: the history
service reads whole batches up to event finish - 1 and refuses the point unless the
last one read ends exactly there ("StateRebuilder unable to Rebuild mutable state to
event ID: <finish - 1>, version: <its version>, this event must be at the boundary",
`buildMutableStateFromEvent` in service/history/ndc/state_rebuilder.go). A history
does not record its batches, so they are read back from how the server writes them
(service/history/historybuilder/event_store.go, workflow/workflow_task_state_machine.go):

- Each transaction writes one batch, and every WorkflowTaskStarted ends the batch it
  is in (`FlushAndCreateNewBatch` after each `AddWorkflowTaskStartedEvent`).
- A WorkflowTaskScheduled comes last in the transaction that schedules the task. It
  is written on its own, first in a batch, for the first task after a start's backoff,
  and for a task retried after a failure or timeout (a transient task): that one is
  written together with its Started when it starts after other events (then as
  attempt 1), or with its Started and close when it completes (attempt > 1). An eager
  start writes the first task's Scheduled and Started with the start, and a completion
  whose worker asks for the next task in its answer (`ReturnNewWorkflowTask`) writes
  that task's Scheduled and Started with the completion (request id
  "request-from-RespondWorkflowTaskCompleted").
- A workflow task's Failed or TimedOut event opens a transaction (a worker's answer, a
  timeout, a terminate or a reset); when it keeps the attempt (a sticky task's, or a
  SCHEDULE_TO_START timeout) the next task is scheduled in that batch. A termination
  or a run timeout opens one too, except that a terminate that fails the task in
  flight writes that WorkflowTaskFailed first, in the same batch.
- Events that arrive from outside (signals, activity and child results, timers, ...)
  open a transaction when a workflow task is pending, or when none is and the previous
  transaction scheduled none (the run waits); there they are followed by the task they
  schedule. An event that arrived while a task was in flight is written after that
  task's completion and commands, in the same batch: it carries the earlier time at
  which it arrived. An ActivityTaskStarted is written with its activity's close.
- Command events follow their WorkflowTaskCompleted in its batch.

Not told apart: a speculative task's Scheduled and Started (an update's), which share a
batch but look like any task's, and events one transaction writes together while a task
is pending (timers due at once, activity timeouts found together), which look like
events written one by one: such points are taken where the server refuses them.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from core.enums import EventType, TaskQueueKind, TimeoutType, WorkflowTaskFailedCause
from core.event_sets import (
    BUFFERABLE_EVENT_TYPES,
    COMMAND_EVENT_TYPES,
    WORKFLOW_TASK_CLOSE_EVENT_TYPES,
)
from core.events import (
    HistoryEvent,
    WorkflowExecutionStartedEventAttributes,
    WorkflowTaskFailedEventAttributes,
    WorkflowTaskScheduledEventAttributes,
    WorkflowTaskStartedEventAttributes,
    WorkflowTaskTimedOutEventAttributes,
)

E = EventType
_WFT_CLOSES = WORKFLOW_TASK_CLOSE_EVENT_TYPES
_ACTIVITY_CLOSES = frozenset(
    {
        E.ACTIVITY_TASK_COMPLETED,
        E.ACTIVITY_TASK_FAILED,
        E.ACTIVITY_TASK_TIMED_OUT,
        E.ACTIVITY_TASK_CANCELED,
    }
)
# The task's attempt starts again at 1 after these causes (`AddWorkflowTaskFailedEvent`).
_ATTEMPT_KEEPING_CAUSES = frozenset(
    {WorkflowTaskFailedCause.RESET_WORKFLOW, WorkflowTaskFailedCause.FAILOVER_CLOSE_COMMAND}
)


# The request id of a task started by the completion that scheduled it, when the worker
# asks for the next task in its answer (respondworkflowtaskcompleted/api.go).
INLINE_START_REQUEST_ID = "request-from-RespondWorkflowTaskCompleted"


class Pending(Enum):
    """The workflow task pending after an event, as a rebuild leaves it."""

    NONE = "none"
    SCHEDULED = "scheduled"  # written, not started
    STARTED = "started"
    TRANSIENT = "transient"  # retried after a failure or timeout, written nowhere yet


def boundary_problem(events: Sequence[HistoryEvent], finish: int) -> str:
    """The server's refusal of reset point `finish` if event finish - 1 ends no batch
    ("" if it ends one; 1 < finish <= len(events))."""
    if ends_batch(events, finish - 1):
        return ""
    last = events[finish - 2]
    return (
        f"StateRebuilder unable to Rebuild mutable state to event ID: {last.event_id}, "
        f"version: {last.version}, this event must be at the boundary"
    )


def pending_after(events: Sequence[HistoryEvent], k: int) -> Pending:
    """The workflow task pending after events 1..k (`ApplyWorkflowTask*Event` and
    `ApplyTransientWorkflowTaskScheduled`). A sticky task's failure or timeout and a
    SCHEDULE_TO_START timeout keep the attempt (`failWorkflowTask` in
    workflow_task_state_machine.go), the new task being written with them."""
    pending, sticky = Pending.NONE, False
    for event in events[:k]:
        a = event.attributes
        if isinstance(a, WorkflowTaskScheduledEventAttributes):
            pending = Pending.SCHEDULED
            sticky = a.task_queue is not None and a.task_queue.kind is TaskQueueKind.STICKY
        elif event.event_type is E.WORKFLOW_TASK_STARTED:
            pending = Pending.STARTED
        elif isinstance(a, WorkflowTaskFailedEventAttributes):
            keeps = sticky or a.cause in _ATTEMPT_KEEPING_CAUSES
            pending = Pending.NONE if keeps else Pending.TRANSIENT
        elif isinstance(a, WorkflowTaskTimedOutEventAttributes):
            keeps = sticky or a.timeout_type is TimeoutType.SCHEDULE_TO_START
            pending = Pending.NONE if keeps else Pending.TRANSIENT
        elif event.event_type is E.WORKFLOW_TASK_COMPLETED:
            pending = Pending.NONE
    return pending


def ends_batch(events: Sequence[HistoryEvent], k: int) -> bool:
    """Whether event k (1 <= k < len(events)) is the last of its batch (module
    docstring)."""
    event, after = events[k - 1], events[k]
    t, n = event.event_type, after.event_type
    if t is E.WORKFLOW_TASK_STARTED:
        return True
    if n is E.WORKFLOW_TASK_STARTED:
        started = after.attributes
        assert isinstance(started, WorkflowTaskStartedEventAttributes)
        if t is not E.WORKFLOW_TASK_SCHEDULED or started.scheduled_event_id != k:
            return True  # the task was scheduled in an earlier transaction
        if started.request_id == INLINE_START_REQUEST_ID:
            return False
        return not _written_with_its_start(events, k)
    if n is E.WORKFLOW_TASK_SCHEDULED:
        scheduled = after.attributes
        assert isinstance(scheduled, WorkflowTaskScheduledEventAttributes)
        return (
            scheduled.attempt > 1
            or pending_after(events, k) is Pending.TRANSIENT
            or _backoff_pending(events, k)
        )
    if n in _WFT_CLOSES:
        return True
    if n in (E.WORKFLOW_EXECUTION_TERMINATED, E.WORKFLOW_EXECUTION_TIMED_OUT):
        return t is not E.WORKFLOW_TASK_FAILED
    if n not in BUFFERABLE_EVENT_TYPES:
        return False  # a command's event, after its completion
    if n in _ACTIVITY_CLOSES and t is E.ACTIVITY_TASK_STARTED:
        return False
    if pending_after(events, k) is not Pending.NONE:
        return True
    if t is E.WORKFLOW_TASK_COMPLETED or t in COMMAND_EVENT_TYPES:
        return not _arrived_during_the_task(events, k, after)
    return _backoff_pending(events, k) and after.event_time != event.event_time


def _written_with_its_start(events: Sequence[HistoryEvent], k: int) -> bool:
    """Whether the task scheduled by event k was written in one batch with its Started:
    a transient attempt, an eager start's first task, or a retry that starts after
    other events (written then as attempt 1)."""
    scheduled = events[k - 1].attributes
    assert isinstance(scheduled, WorkflowTaskScheduledEventAttributes)
    if scheduled.attempt > 1:
        return True
    start = events[0].attributes
    eager = isinstance(start, WorkflowExecutionStartedEventAttributes) and (
        start.eager_execution_accepted
    )
    if k == 2 and eager:
        return True
    return pending_after(events, k - 1) is Pending.TRANSIENT


def _backoff_pending(events: Sequence[HistoryEvent], k: int) -> bool:
    """Whether the run's first task still waits for its start's backoff after event k."""
    start = events[0].attributes
    if not isinstance(start, WorkflowExecutionStartedEventAttributes):
        return False
    if not start.first_workflow_task_backoff:
        return False
    return all(e.event_type is not E.WORKFLOW_TASK_SCHEDULED for e in events[:k])


def _arrived_during_the_task(events: Sequence[HistoryEvent], k: int, after: HistoryEvent) -> bool:
    """Whether `after`, following event k of a completion's batch, arrived before that
    completion (it was buffered while the task ran)."""
    j = k
    while j > 0 and events[j - 1].event_type is not E.WORKFLOW_TASK_COMPLETED:
        j -= 1
    completed = events[j - 1].event_time if j else None
    return after.event_time is not None and completed is not None and after.event_time < completed
