"""A tiny builder for hand-written histories in tests: ids are assigned in order."""

from __future__ import annotations

from typing import Any

from core.enums import EventType
from core.events import ATTRIBUTES_CLASS, HistoryEvent


class History:
    def __init__(self) -> None:
        self.events: list[HistoryEvent] = []

    def add(self, event_type: EventType, **attrs: Any) -> int:
        event_id = len(self.events) + 1
        self.events.append(
            HistoryEvent(event_id, event_type, ATTRIBUTES_CLASS[event_type](**attrs))
        )
        return event_id

    def start(self) -> History:
        self.add(EventType.WORKFLOW_EXECUTION_STARTED, attempt=1)
        return self

    def workflow_task(self) -> int:
        """Scheduled, Started, Completed; returns the Completed event's id."""
        s = self.add(EventType.WORKFLOW_TASK_SCHEDULED, attempt=1)
        t = self.add(EventType.WORKFLOW_TASK_STARTED, scheduled_event_id=s)
        return self.add(EventType.WORKFLOW_TASK_COMPLETED, scheduled_event_id=s, started_event_id=t)

    def complete(self, wtc: int) -> int:
        return self.add(
            EventType.WORKFLOW_EXECUTION_COMPLETED, workflow_task_completed_event_id=wtc
        )

    def tuple(self) -> tuple[HistoryEvent, ...]:
        return tuple(self.events)
