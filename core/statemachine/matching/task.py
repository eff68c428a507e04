"""A matching task's lifecycle, from the add to its ack or drop (``INV-NO-LOST-TASK``).

```
             Dispatch                 RecordStartedOk
  Backlog ────────────▶ Dispatching ─────────────────▶ Delivered
   │   ▲                    │
   │   └─ TransientError ───┤ NotFound | TaskAlreadyStarted | ObsoleteMatchingTask
   │ Expired                ▼
   └───────────────────▶ Dropped
```

docs/temporal-semantics.md#stale-and-duplicate-tasks
(`service/matching/matching_engine.go`, `PollWorkflowTaskQueue` /
`PollActivityTaskQueue`; `backlog_manager.go`, `completeTask`): before a task reaches a
poller, matching calls history's RecordWorkflowTaskStarted / RecordActivityTaskStarted.
The reply decides the task's fate:

- OK: the task is handed to the poller and acked (deleted from the backlog).
- NotFound, TaskAlreadyStarted, ObsoleteMatchingTask: the task is dropped (acked without
  delivery); the poller keeps polling.
- Any other error: the task must not be lost, so it is written back to the backlog "with a
  higher taskID", i.e. at the end of the queue, and retried.

A task whose schedule-to-start expiry has passed is dropped when it is read for dispatch
(`IsTaskExpired`: an expiry strictly before now). A sync match is a dispatch too. Every
task ends Delivered or Dropped with a `DropReason`, or is still Backlog or Dispatching.
"""

from __future__ import annotations

from types import MappingProxyType

from core.fastenum import Enum
from core.statemachine.fsm import Row, make_table

RULE = "INV-NO-LOST-TASK"


class TaskState(Enum):
    BACKLOG = "Backlog"
    DISPATCHING = "Dispatching"
    DELIVERED = "Delivered"
    DROPPED = "Dropped"


class TaskInput(Enum):
    DISPATCH = "Dispatch"
    EXPIRED = "Expired"
    RECORD_STARTED_OK = "RecordStartedOk"
    NOT_FOUND = "NotFound"
    ALREADY_STARTED = "TaskAlreadyStarted"
    OBSOLETE = "ObsoleteMatchingTask"
    TRANSIENT_ERROR = "TransientError"


class RecordStartedReply(Enum):
    """History's answer to Record*TaskStarted, as matching classifies it."""

    OK = "Ok"
    NOT_FOUND = "NotFound"
    ALREADY_STARTED = "TaskAlreadyStarted"
    OBSOLETE = "ObsoleteMatchingTask"
    TRANSIENT_ERROR = "TransientError"


class DropReason(Enum):
    """Why a task left matching without being delivered."""

    EXPIRED = "Expired"
    NOT_FOUND = "NotFound"
    ALREADY_STARTED = "TaskAlreadyStarted"
    OBSOLETE = "ObsoleteMatchingTask"


TABLE = make_table(
    "matching task",
    RULE,
    TaskState,
    TaskInput,
    TaskState.BACKLOG,
    [
        Row(TaskState.BACKLOG, TaskInput.DISPATCH, TaskState.DISPATCHING, ("record_started",)),
        Row(TaskState.BACKLOG, TaskInput.EXPIRED, TaskState.DROPPED, ("ack",)),
        Row(TaskState.DISPATCHING, TaskInput.RECORD_STARTED_OK, TaskState.DELIVERED, ("ack",)),
        Row(TaskState.DISPATCHING, TaskInput.NOT_FOUND, TaskState.DROPPED, ("ack",)),
        Row(TaskState.DISPATCHING, TaskInput.ALREADY_STARTED, TaskState.DROPPED, ("ack",)),
        Row(TaskState.DISPATCHING, TaskInput.OBSOLETE, TaskState.DROPPED, ("ack",)),
        Row(TaskState.DISPATCHING, TaskInput.TRANSIENT_ERROR, TaskState.BACKLOG, ("respool",)),
    ],
)

REPLY_INPUT = MappingProxyType(
    {
        RecordStartedReply.OK: TaskInput.RECORD_STARTED_OK,
        RecordStartedReply.NOT_FOUND: TaskInput.NOT_FOUND,
        RecordStartedReply.ALREADY_STARTED: TaskInput.ALREADY_STARTED,
        RecordStartedReply.OBSOLETE: TaskInput.OBSOLETE,
        RecordStartedReply.TRANSIENT_ERROR: TaskInput.TRANSIENT_ERROR,
    }
)
"""The task-machine input each Record*Started reply becomes."""

DROP_REASON = MappingProxyType(
    {
        TaskInput.EXPIRED: DropReason.EXPIRED,
        TaskInput.NOT_FOUND: DropReason.NOT_FOUND,
        TaskInput.ALREADY_STARTED: DropReason.ALREADY_STARTED,
        TaskInput.OBSOLETE: DropReason.OBSOLETE,
    }
)
"""The reason recorded when an input drops a task."""
