"""Sets of event types with a shared role in how the history service writes them.

Hand-written (not generated): each set encodes a server rule, cited below, that the
protobufs do not state, with its section of docs/temporal-semantics.md.
"""

from __future__ import annotations

from typing import Final

from core.enums import EventType

E = EventType

# Events that close a run: the history builder refuses any event after one of these
# (`finishEvent` in temporal:service/history/historybuilder/event_store.go).
CLOSE_EVENT_TYPES: Final[frozenset[EventType]] = frozenset(
    {
        E.WORKFLOW_EXECUTION_COMPLETED,
        E.WORKFLOW_EXECUTION_FAILED,
        E.WORKFLOW_EXECUTION_TIMED_OUT,
        E.WORKFLOW_EXECUTION_CANCELED,
        E.WORKFLOW_EXECUTION_TERMINATED,
        E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    }
)

# The events that end one activity (by its scheduled event id) or one timer (by its
# started event id); INV-RESULT-AT-MOST-ONCE allows at most one for each.
ACTIVITY_CLOSE_EVENT_TYPES: Final[frozenset[EventType]] = frozenset(
    {
        E.ACTIVITY_TASK_COMPLETED,
        E.ACTIVITY_TASK_FAILED,
        E.ACTIVITY_TASK_TIMED_OUT,
        E.ACTIVITY_TASK_CANCELED,
    }
)
TIMER_CLOSE_EVENT_TYPES: Final[frozenset[EventType]] = frozenset({E.TIMER_FIRED, E.TIMER_CANCELED})
# The events that end one workflow task, and all of a workflow task's own events.
WORKFLOW_TASK_CLOSE_EVENT_TYPES: Final[frozenset[EventType]] = frozenset(
    {E.WORKFLOW_TASK_COMPLETED, E.WORKFLOW_TASK_FAILED, E.WORKFLOW_TASK_TIMED_OUT}
)
WORKFLOW_TASK_EVENT_TYPES: Final[frozenset[EventType]] = WORKFLOW_TASK_CLOSE_EVENT_TYPES | {
    E.WORKFLOW_TASK_SCHEDULED,
    E.WORKFLOW_TASK_STARTED,
}

# Close events written from a command in a WorkflowTaskCompleted batch
# (docs/temporal-semantics.md#who-closes-a-run); they carry
# `workflow_task_completed_event_id`. TimedOut and Terminated do not.
CLOSE_COMMAND_EVENT_TYPES: Final[frozenset[EventType]] = frozenset(
    {
        E.WORKFLOW_EXECUTION_COMPLETED,
        E.WORKFLOW_EXECUTION_FAILED,
        E.WORKFLOW_EXECUTION_CANCELED,
        E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    }
)

# Events generated directly from a command, written in the batch of the
# WorkflowTaskCompleted they name (docs/temporal-semantics.md#commands; `bufferEvent` in
# event_store.go).
COMMAND_EVENT_TYPES: Final[frozenset[EventType]] = CLOSE_COMMAND_EVENT_TYPES | frozenset(
    {
        E.ACTIVITY_TASK_SCHEDULED,
        E.ACTIVITY_TASK_CANCEL_REQUESTED,
        E.TIMER_STARTED,
        E.TIMER_CANCELED,
        E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        E.MARKER_RECORDED,
        E.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        E.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        E.WORKFLOW_PROPERTIES_MODIFIED,
        E.NEXUS_OPERATION_SCHEDULED,
        E.NEXUS_OPERATION_CANCEL_REQUESTED,
    }
)

# Events the server never buffers (docs/temporal-semantics.md#never-buffered-events;
# `bufferEvent` in event_store.go): run start and close, workflow-task events, command
# events, and update accepted/completed (written from protocol messages).
_NEVER_BUFFERED: Final[frozenset[EventType]] = (
    CLOSE_EVENT_TYPES
    | COMMAND_EVENT_TYPES
    | frozenset(
        {
            E.WORKFLOW_EXECUTION_STARTED,
            E.WORKFLOW_TASK_SCHEDULED,
            E.WORKFLOW_TASK_STARTED,
            E.WORKFLOW_TASK_COMPLETED,
            E.WORKFLOW_TASK_FAILED,
            E.WORKFLOW_TASK_TIMED_OUT,
            E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            E.WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        }
    )
)

# Events the server buffers while a workflow task is in flight: every other type
# (`default: return true`), e.g. ActivityTaskStarted/Completed, TimerFired, Signaled.
BUFFERABLE_EVENT_TYPES: Final[frozenset[EventType]] = frozenset(
    e for e in EventType if e is not E.UNSPECIFIED and e not in _NEVER_BUFFERED
)

# Buffered completions moved to the end of the batch when the buffer is flushed, after
# the other buffered events (`reorderBuffer` in event_store.go), so that e.g. an
# ActivityTaskStarted always precedes its completion.
FLUSH_REORDERED_EVENT_TYPES: Final[frozenset[EventType]] = frozenset(
    {
        E.ACTIVITY_TASK_COMPLETED,
        E.ACTIVITY_TASK_FAILED,
        E.ACTIVITY_TASK_TIMED_OUT,
        E.ACTIVITY_TASK_CANCELED,
        E.CHILD_WORKFLOW_EXECUTION_COMPLETED,
        E.CHILD_WORKFLOW_EXECUTION_FAILED,
        E.CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
        E.CHILD_WORKFLOW_EXECUTION_CANCELED,
        E.CHILD_WORKFLOW_EXECUTION_TERMINATED,
        E.NEXUS_OPERATION_COMPLETED,
        E.NEXUS_OPERATION_FAILED,
        E.NEXUS_OPERATION_CANCELED,
        E.NEXUS_OPERATION_TIMED_OUT,
    }
)
