"""Signs of who wrote a history that no Temporal server writes, for a note beside a
verdict (the verdict itself does not change: such a history breaks the rules).

The Java SDK's test server (`TestWorkflowEnvironment`'s in-memory service,
temporal-testing's `StateMachines.java` and `TestWorkflowMutableStateImpl.java`) writes
WorkflowTaskCompleted without its `startedEventId`, names the WorkflowTaskStarted as the
completion of the commands' events, and gives no event a task id. A server sets all
three (`historybuilder`), so a history with every WorkflowTaskCompleted unlinked and no
task id anywhere comes from that test server, or a writer like it.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.enums import EventType
from core.events import HistoryEvent

JAVA_TEST_SERVER = (
    "every WorkflowTaskCompleted lacks its startedEventId and no event has a task id: "
    "the Java SDK's test server (TestWorkflowEnvironment) writes histories so, and a "
    "Temporal server never does (see 'Histories from the SDKs' repositories' in "
    "docs/conformance.md)"
)


def java_test_server(events: Iterable[HistoryEvent]) -> bool:
    """Whether the history has WorkflowTaskCompleted events, none with its
    startedEventId, and no event with a task id."""
    completed = False
    for event in events:
        if event.task_id:
            return False
        if event.event_type is EventType.WORKFLOW_TASK_COMPLETED:
            if getattr(event.attributes, "started_event_id", 0):
                return False
            completed = True
    return completed
