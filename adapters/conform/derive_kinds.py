"""The kinds of recorded events the deriver (derive.py) tells apart: which the model
writes itself, which report a child's or another run's side, which the server buffers
while a workflow task is in flight, and which WorkflowTaskFailed is the history
service's own."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.conform import derive_nexus as nx
from adapters.conform.derive_base import ACTIVITY_CLOSES
from core.enums import EventType
from core.event_sets import COMMAND_EVENT_TYPES, WORKFLOW_TASK_EVENT_TYPES
from core.events import HistoryEvent

E = EventType

FORCE_CLOSERS = frozenset({E.WORKFLOW_EXECUTION_TERMINATED, E.WORKFLOW_EXECUTION_TIMED_OUT})
IN_BATCH = frozenset(
    {
        E.ACTIVITY_TASK_CANCELED,
        E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        E.WORKFLOW_EXECUTION_UPDATE_COMPLETED,
    }
)

# Events the model writes itself as a consequence of the requests the deriver sends.
WRITTEN_BY_THE_MODEL = (
    COMMAND_EVENT_TYPES
    | IN_BATCH
    | {
        E.WORKFLOW_TASK_SCHEDULED,
        E.ACTIVITY_TASK_STARTED,
        E.ACTIVITY_TASK_CANCELED,
    }
)
CHILD_OUTCOMES = frozenset(
    {
        E.CHILD_WORKFLOW_EXECUTION_COMPLETED,
        E.CHILD_WORKFLOW_EXECUTION_FAILED,
        E.CHILD_WORKFLOW_EXECUTION_CANCELED,
        E.CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
        E.CHILD_WORKFLOW_EXECUTION_TERMINATED,
    }
)
# A child's events in its parent's history, each a report from the child's side.
CHILD_EVENTS = CHILD_OUTCOMES | {
    E.CHILD_WORKFLOW_EXECUTION_STARTED,
    E.START_CHILD_WORKFLOW_EXECUTION_FAILED,
}
EXTERNAL_RESULTS = {
    E.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED: (False, True),
    E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: (False, False),
    E.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED: (True, True),
    E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: (True, False),
}
# Events a request or a timer writes that the server buffers while a workflow task is
# in flight (everything but a workflow task's own events, in
# bufferEvent in service/history/historybuilder/event_store.go).
BUFFERED_KINDS = (
    ACTIVITY_CLOSES
    | CHILD_OUTCOMES
    | EXTERNAL_RESULTS.keys()
    | {
        E.ACTIVITY_TASK_STARTED,
        E.TIMER_FIRED,
        E.WORKFLOW_EXECUTION_SIGNALED,
        E.WORKFLOW_EXECUTION_CANCEL_REQUESTED,
        E.CHILD_WORKFLOW_EXECUTION_STARTED,
        E.START_CHILD_WORKFLOW_EXECUTION_FAILED,
        *nx.BUFFERED,
    }
)


def force_closed(events: Sequence[HistoryEvent], i: int) -> bool:
    """Whether WorkflowTaskFailed `events[i]` (FORCE_CLOSE_COMMAND) is the history
    service's, written in the transaction of the terminate or run timeout that closes the
    run after the events its flush wrote (`TerminateWorkflow` and `TimeoutWorkflow`,
    service/history/workflow/util.go), not a worker's failure."""
    for event in events[i + 1 :]:
        if event.event_type in FORCE_CLOSERS:
            return True
        if event.event_type in WORKFLOW_TASK_EVENT_TYPES:
            return False
    return False
