"""The random activity walks (entity_walks.py) keep histories valid and reach the
rare paths they exist for."""

from __future__ import annotations

from collections import Counter

from core.enums import EventType
from tests.core.statemachine.history.service.entity_walks import stale_attempts, timer_paths, walk


def test_walks_keep_the_history_valid_and_reach_every_close() -> None:
    seen: Counter[EventType] = Counter()
    retried = 0
    for seed in range(12):
        run = walk(seed)  # raises on an invalid history or a handler off its row
        seen.update(e.event_type for e in run.events)
        retried += sum(a.attempt > 1 for a in run.state.activities)
    closes = {
        EventType.ACTIVITY_TASK_COMPLETED,
        EventType.ACTIVITY_TASK_FAILED,
        EventType.ACTIVITY_TASK_TIMED_OUT,
        EventType.ACTIVITY_TASK_CANCELED,
    }
    assert closes <= set(seen), seen
    assert retried > 0


def test_stale_attempts_and_timer_races_are_answered() -> None:
    stale_attempts()  # raises on an invalid history or a handler off its row
    events = [e.event_type for e in timer_paths().events]
    assert events.count(EventType.TIMER_CANCELED) == 2  # one a buffered fire replaced
    assert EventType.TIMER_FIRED not in events
    assert EventType.WORKFLOW_TASK_FAILED in events  # cancel of a timer never started
