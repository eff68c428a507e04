"""Synthetic well-formed histories of any length, for benchmarks and property tests.

`synthetic_history(n)` yields, lazily, the events of one run that keeps a handful of
entities open at a time and runs for about `n` events: each round is a workflow task
whose commands schedule activities, start and cancel timers, record markers, start
children and signal other workflows, followed by the outcomes of the previous round
(activity results, timer firings, signals) arriving while no task is in flight. The run
ends with WorkflowExecutionCompleted. The shapes follow docs/temporal-semantics.md
(ActivityTaskStarted written just before its close, outcomes before the next
WorkflowTaskScheduled), so every history it yields is valid - a test checks that.

A seeded `random.Random` picks each round's mix; the same seed gives the same history.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from core.enums import EventType
from core.events import (
    ActivityTaskCompletedEventAttributes,
    ActivityTaskFailedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    ActivityTaskStartedEventAttributes,
    ChildWorkflowExecutionCompletedEventAttributes,
    ChildWorkflowExecutionStartedEventAttributes,
    EventAttributes,
    ExternalWorkflowExecutionSignaledEventAttributes,
    HistoryEvent,
    MarkerRecordedEventAttributes,
    SignalExternalWorkflowExecutionInitiatedEventAttributes,
    StartChildWorkflowExecutionInitiatedEventAttributes,
    TimerCanceledEventAttributes,
    TimerFiredEventAttributes,
    TimerStartedEventAttributes,
    WorkflowExecutionCompletedEventAttributes,
    WorkflowExecutionSignaledEventAttributes,
    WorkflowExecutionStartedEventAttributes,
    WorkflowTaskCompletedEventAttributes,
    WorkflowTaskScheduledEventAttributes,
    WorkflowTaskStartedEventAttributes,
)

_T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z in nanoseconds
_STEP = 1_000_000  # 1 ms of virtual time between events


@dataclass
class _Writer:
    """Assigns ids and times; remembers what the next round must close."""

    next_id: int = 1
    activities: list[tuple[int, str]] = field(default_factory=list)
    timers: list[tuple[int, str]] = field(default_factory=list)
    children: list[int] = field(default_factory=list)
    signals: list[int] = field(default_factory=list)

    def event(self, event_type: EventType, attributes: EventAttributes) -> HistoryEvent:
        event_id = self.next_id
        self.next_id += 1
        return HistoryEvent(
            event_id,
            event_type,
            attributes,
            event_time=_T0 + event_id * _STEP,
            task_id=1_048_576 + event_id,
        )


def synthetic_history(n_events: int, seed: int = 0) -> Iterator[HistoryEvent]:
    """Yield a valid history of about `n_events` events (at least one round)."""
    rng = random.Random(seed)
    w = _Writer()
    yield w.event(
        EventType.WORKFLOW_EXECUTION_STARTED,
        WorkflowExecutionStartedEventAttributes(attempt=1),
    )
    round_no = 0
    while True:
        round_no += 1
        yield from _outcomes(w, rng)
        scheduled = w.next_id
        yield w.event(
            EventType.WORKFLOW_TASK_SCHEDULED, WorkflowTaskScheduledEventAttributes(attempt=1)
        )
        started = w.next_id
        yield w.event(
            EventType.WORKFLOW_TASK_STARTED,
            WorkflowTaskStartedEventAttributes(scheduled_event_id=scheduled),
        )
        completed = w.next_id
        yield w.event(
            EventType.WORKFLOW_TASK_COMPLETED,
            WorkflowTaskCompletedEventAttributes(
                scheduled_event_id=scheduled, started_event_id=started
            ),
        )
        if w.next_id >= n_events - 2:
            yield w.event(
                EventType.WORKFLOW_EXECUTION_COMPLETED,
                WorkflowExecutionCompletedEventAttributes(
                    workflow_task_completed_event_id=completed
                ),
            )
            return
        yield from _commands(w, rng, completed, round_no)


def _commands(w: _Writer, rng: random.Random, wtc: int, round_no: int) -> Iterator[HistoryEvent]:
    for i in range(rng.randint(1, 3)):
        activity_id = f"a{round_no}.{i}"
        w.activities.append((w.next_id, activity_id))
        yield w.event(
            EventType.ACTIVITY_TASK_SCHEDULED,
            ActivityTaskScheduledEventAttributes(
                activity_id=activity_id, workflow_task_completed_event_id=wtc
            ),
        )
    timer_id = f"t{round_no}"
    w.timers.append((w.next_id, timer_id))
    yield w.event(
        EventType.TIMER_STARTED,
        TimerStartedEventAttributes(timer_id=timer_id, workflow_task_completed_event_id=wtc),
    )
    if rng.random() < 0.3:
        started, name = w.timers.pop()
        yield w.event(
            EventType.TIMER_CANCELED,
            TimerCanceledEventAttributes(
                timer_id=name, started_event_id=started, workflow_task_completed_event_id=wtc
            ),
        )
    if rng.random() < 0.3:
        yield w.event(
            EventType.MARKER_RECORDED,
            MarkerRecordedEventAttributes(
                marker_name="core_patch", workflow_task_completed_event_id=wtc
            ),
        )
    if rng.random() < 0.2:
        w.children.append(w.next_id)
        yield w.event(
            EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            StartChildWorkflowExecutionInitiatedEventAttributes(
                workflow_id=f"child-{round_no}", workflow_task_completed_event_id=wtc
            ),
        )
    if rng.random() < 0.2:
        w.signals.append(w.next_id)
        yield w.event(
            EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
            SignalExternalWorkflowExecutionInitiatedEventAttributes(
                workflow_task_completed_event_id=wtc
            ),
        )


def _outcomes(w: _Writer, rng: random.Random) -> Iterator[HistoryEvent]:
    for scheduled, _ in w.activities:
        started = w.next_id
        yield w.event(
            EventType.ACTIVITY_TASK_STARTED,
            ActivityTaskStartedEventAttributes(scheduled_event_id=scheduled, attempt=1),
        )
        if rng.random() < 0.1:
            yield w.event(
                EventType.ACTIVITY_TASK_FAILED,
                ActivityTaskFailedEventAttributes(
                    scheduled_event_id=scheduled, started_event_id=started
                ),
            )
        else:
            yield w.event(
                EventType.ACTIVITY_TASK_COMPLETED,
                ActivityTaskCompletedEventAttributes(
                    scheduled_event_id=scheduled, started_event_id=started
                ),
            )
    w.activities.clear()
    for started, timer_id in w.timers:
        yield w.event(
            EventType.TIMER_FIRED,
            TimerFiredEventAttributes(timer_id=timer_id, started_event_id=started),
        )
    w.timers.clear()
    for initiated in w.children:
        child_started = w.next_id
        yield w.event(
            EventType.CHILD_WORKFLOW_EXECUTION_STARTED,
            ChildWorkflowExecutionStartedEventAttributes(initiated_event_id=initiated),
        )
        yield w.event(
            EventType.CHILD_WORKFLOW_EXECUTION_COMPLETED,
            ChildWorkflowExecutionCompletedEventAttributes(
                initiated_event_id=initiated, started_event_id=child_started
            ),
        )
    w.children.clear()
    for initiated in w.signals:
        yield w.event(
            EventType.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
            ExternalWorkflowExecutionSignaledEventAttributes(initiated_event_id=initiated),
        )
    w.signals.clear()
    if rng.random() < 0.3:
        yield w.event(
            EventType.WORKFLOW_EXECUTION_SIGNALED,
            WorkflowExecutionSignaledEventAttributes(signal_name="poke"),
        )
