"""Mutations of valid histories, each breaking one rule of spec/history.md.

Every mutation takes a valid history (a tuple of events) and returns a mutant, or None
when the history has nothing it applies to. `EXPECTED[name]` is the rule the mutant
must break. The suite in test_mutations.py applies every mutation to every recorded
real history and asserts that the validator reports the expected rule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from core.enums import EventType
from core.event_sets import CLOSE_EVENT_TYPES
from core.events import (
    HistoryEvent,
    MarkerRecordedEventAttributes,
    WorkflowExecutionSignaledEventAttributes,
    WorkflowExecutionUpdateRejectedEventAttributes,
    WorkflowTaskFailedEventAttributes,
)

Events = tuple[HistoryEvent, ...]
Mutation = Callable[[Events], Events | None]

# Attributes that hold the id of another event of the same history.
REFERENCE_FIELDS = (
    "scheduled_event_id",
    "started_event_id",
    "initiated_event_id",
    "workflow_task_completed_event_id",
    "accepted_event_id",
    "latest_cancel_requested_event_id",
    "accepted_request_sequencing_event_id",
)

E = EventType


def first(events: Sequence[HistoryEvent], *types: EventType) -> int | None:
    """Index of the first event of one of `types`."""
    return next((i for i, e in enumerate(events) if e.event_type in types), None)


def attrs_replace(event: HistoryEvent, **changes: Any) -> HistoryEvent:
    return dataclasses.replace(event, attributes=dataclasses.replace(event.attributes, **changes))


def neutral(event_id: int) -> HistoryEvent:
    """A signal: an event no rule objects to outside an in-flight workflow task."""
    return HistoryEvent(
        event_id,
        E.WORKFLOW_EXECUTION_SIGNALED,
        WorkflowExecutionSignaledEventAttributes(signal_name="mutant"),
    )


def shift(event: HistoryEvent, at: int, by: int) -> HistoryEvent:
    """Renumber `event` and its references for an insertion (by=1) at event id `at`."""
    changes = {
        name: getattr(event.attributes, name) + by
        for name in REFERENCE_FIELDS
        if getattr(event.attributes, name, 0) >= at
    }
    attributes = dataclasses.replace(event.attributes, **changes) if changes else event.attributes
    new_id = event.event_id + by if event.event_id >= at else event.event_id
    return dataclasses.replace(event, event_id=new_id, attributes=attributes)


def insert_after(events: Events, index: int, make: Callable[[int], HistoryEvent]) -> Events:
    """Insert the event `make(new_id)` after position `index`, renumbering what follows."""
    at = events[index].event_id + 1
    tail = tuple(shift(e, at, 1) for e in events[index + 1 :])
    return (*events[: index + 1], make(at), *tail)


def replace_at(events: Events, index: int, event: HistoryEvent) -> Events:
    return (*events[:index], event, *events[index + 1 :])


def last_index(events: Events) -> int:
    return len(events) - 1


# --- the mutations -------------------------------------------------------------------


def event_after_close(events: Events) -> Events | None:
    if events[-1].event_type not in CLOSE_EVENT_TYPES:
        return None
    return (*events, neutral(events[-1].event_id + 1))


def duplicate_close(events: Events) -> Events | None:
    if events[-1].event_type not in CLOSE_EVENT_TYPES:
        return None
    return (*events, dataclasses.replace(events[-1], event_id=events[-1].event_id + 1))


def missing_start(events: Events) -> Events | None:
    if len(events) < 2:
        return None
    return tuple(shift(e, 2, -1) for e in events[1:])


def id_gap(events: Events) -> Events | None:
    if len(events) < 3:
        return None
    mid = len(events) // 2
    return events[:mid] + tuple(
        dataclasses.replace(e, event_id=e.event_id + 1) for e in events[mid:]
    )


def wrong_attributes(events: Events) -> Events | None:
    i = first(events, E.TIMER_FIRED, E.ACTIVITY_TASK_COMPLETED, E.WORKFLOW_EXECUTION_SIGNALED)
    if i is None:
        return None
    swapped = E.TIMER_STARTED if events[i].event_type is not E.TIMER_STARTED else E.TIMER_FIRED
    return replace_at(events, i, unchecked_event(events[i], swapped))


def unchecked_event(event: HistoryEvent, event_type: EventType) -> HistoryEvent:
    """An event whose type and attributes disagree (the constructor would refuse it)."""
    clone = object.__new__(HistoryEvent)
    for f in dataclasses.fields(HistoryEvent):
        object.__setattr__(clone, f.name, getattr(event, f.name))
    object.__setattr__(clone, "event_type", event_type)
    return clone


def wft_started_without_scheduled(events: Events) -> Events | None:
    i = first(events, E.WORKFLOW_TASK_SCHEDULED)
    if i is None or i + 1 >= len(events):
        return None
    return replace_at(events, i, neutral(events[i].event_id))


def wft_scheduled_twice(events: Events) -> Events | None:
    i = first(events, E.WORKFLOW_TASK_SCHEDULED)
    if i is None:
        return None
    return insert_after(events, i, lambda new_id: dataclasses.replace(events[i], event_id=new_id))


def event_in_flight(events: Events) -> Events | None:
    i = first(events, E.WORKFLOW_TASK_STARTED)
    if i is None:
        return None
    return insert_after(events, i, neutral)


def command_outside_batch(events: Events) -> Events | None:
    """A copy of a timer/activity command written after the batch has ended."""
    i = first(events, E.TIMER_STARTED, E.ACTIVITY_TASK_SCHEDULED, E.MARKER_RECORDED)
    if i is None:
        return None
    j = first(events[i:], E.WORKFLOW_TASK_SCHEDULED)
    if j is None:
        return None
    source = events[i]
    fresh = {"timer_id": "mutant"} if source.event_type is E.TIMER_STARTED else {}
    if source.event_type is E.ACTIVITY_TASK_SCHEDULED:
        fresh = {"activity_id": "mutant"}
    return insert_after(
        events,
        i + j,
        lambda new_id: dataclasses.replace(attrs_replace(source, **fresh), event_id=new_id),
    )


def close_without_completed_wft(events: Events) -> Events | None:
    """The task whose command closed the run failed instead of completing."""
    if events[-1].event_type not in (
        E.WORKFLOW_EXECUTION_COMPLETED,
        E.WORKFLOW_EXECUTION_FAILED,
        E.WORKFLOW_EXECUTION_CANCELED,
        E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    ):
        return None
    wtc = events[-1].attributes.workflow_task_completed_event_id  # type: ignore[union-attr]
    i = next(k for k, e in enumerate(events) if e.event_id == wtc)
    done = events[i].attributes
    failed = HistoryEvent(
        events[i].event_id,
        E.WORKFLOW_TASK_FAILED,
        WorkflowTaskFailedEventAttributes(
            scheduled_event_id=done.scheduled_event_id,  # type: ignore[union-attr]
            started_event_id=done.started_event_id,  # type: ignore[union-attr]
        ),
    )
    return replace_at(events, i, failed)


def completion_without_start(events: Events) -> Events | None:
    i = first(events, E.ACTIVITY_TASK_STARTED)
    if i is None:
        return None
    return replace_at(events, i, neutral(events[i].event_id))


def _after_first(events: Events, *types: EventType) -> Events | None:
    i = first(events, *types)
    if i is None:
        return None
    return insert_after(events, i, lambda new_id: dataclasses.replace(events[i], event_id=new_id))


def double_completion(events: Events) -> Events | None:
    return _after_first(events, E.ACTIVITY_TASK_COMPLETED, E.ACTIVITY_TASK_FAILED)


def timer_fired_twice(events: Events) -> Events | None:
    return _after_first(events, E.TIMER_FIRED)


def external_signal_twice(events: Events) -> Events | None:
    return _after_first(events, E.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED)


_CHILD_CLOSES = frozenset(
    {
        E.CHILD_WORKFLOW_EXECUTION_COMPLETED,
        E.CHILD_WORKFLOW_EXECUTION_FAILED,
        E.CHILD_WORKFLOW_EXECUTION_CANCELED,
        E.CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
        E.CHILD_WORKFLOW_EXECUTION_TERMINATED,
    }
)


def child_closed_without_started(events: Events) -> Events | None:
    i = first(events, E.CHILD_WORKFLOW_EXECUTION_STARTED)
    if i is None or not any(e.event_type in _CHILD_CLOSES for e in events[i:]):
        return None  # (an abandoned child's close is not in its parent's history)
    return replace_at(events, i, neutral(events[i].event_id))


def canceled_without_request(events: Events) -> Events | None:
    i = first(events, E.ACTIVITY_TASK_CANCELED)
    if i is None:
        return None
    return _drop_cancel_request(events, i)


def _drop_cancel_request(events: Events, canceled: int) -> Events | None:
    request = events[canceled].attributes.latest_cancel_requested_event_id  # type: ignore[union-attr]
    k = next((n for n, e in enumerate(events) if e.event_id == request), None)
    if k is None:
        return None
    # Keep ids intact: the request becomes a marker of the same batch.
    marker = HistoryEvent(
        events[k].event_id,
        E.MARKER_RECORDED,
        MarkerRecordedEventAttributes(
            marker_name="mutant",
            workflow_task_completed_event_id=events[k].attributes.workflow_task_completed_event_id,  # type: ignore[union-attr]
        ),
    )
    return replace_at(events, k, marker)


def dangling_reference(events: Events) -> Events | None:
    i = first(events, E.ACTIVITY_TASK_COMPLETED, E.TIMER_FIRED, E.WORKFLOW_TASK_COMPLETED)
    if i is None:
        return None
    name = "started_event_id"
    return replace_at(events, i, attrs_replace(events[i], **{name: events[-1].event_id + 10}))


def scheduled_after_completed(events: Events) -> Events | None:
    """An activity's Scheduled and its completion swap places (and ids)."""
    i = first(events, E.ACTIVITY_TASK_COMPLETED)
    if i is None:
        return None
    sched_id = events[i].attributes.scheduled_event_id  # type: ignore[union-attr]
    s = next(k for k, e in enumerate(events) if e.event_id == sched_id)
    sched, done = events[s], events[i]
    moved = list(events)
    moved[s] = dataclasses.replace(done, event_id=sched.event_id)
    moved[i] = dataclasses.replace(sched, event_id=done.event_id)
    return tuple(moved)


def duplicate_activity_id(events: Events) -> Events | None:
    return _after_first(events, E.ACTIVITY_TASK_SCHEDULED)


def duplicate_timer_id(events: Events) -> Events | None:
    return _after_first(events, E.TIMER_STARTED)


def cancel_external_twice(events: Events) -> Events | None:
    return _after_first(events, E.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED)


def unnamed_marker(events: Events) -> Events | None:
    i = first(events, E.MARKER_RECORDED)
    if i is None:
        return None
    return replace_at(events, i, attrs_replace(events[i], marker_name=""))


def continue_as_new_without_successor(events: Events) -> Events | None:
    if events[-1].event_type is not E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        return None
    return replace_at(
        events, last_index(events), attrs_replace(events[-1], new_execution_run_id="")
    )


def update_rejected_in_history(events: Events) -> Events | None:
    i = first(events, E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    if i is None:
        return None
    rejected = HistoryEvent(
        events[i].event_id,
        E.WORKFLOW_EXECUTION_UPDATE_REJECTED,
        WorkflowExecutionUpdateRejectedEventAttributes(protocol_instance_id="mutant"),
    )
    return replace_at(events, i, rejected)


MUTATIONS: dict[str, tuple[Mutation, str]] = {
    "event_after_close": (event_after_close, "H3"),
    "duplicate_close": (duplicate_close, "H3"),
    "missing_start": (missing_start, "H2"),
    "id_gap": (id_gap, "H1"),
    "wrong_attributes": (wrong_attributes, "H4"),
    "wft_started_without_scheduled": (wft_started_without_scheduled, "H5"),
    "wft_scheduled_twice": (wft_scheduled_twice, "H5"),
    "event_in_flight": (event_in_flight, "H6"),
    "command_outside_batch": (command_outside_batch, "H7"),
    "close_without_completed_wft": (close_without_completed_wft, "H8"),
    "completion_without_start": (completion_without_start, "H9"),
    "double_completion": (double_completion, "H9"),
    "canceled_without_request": (canceled_without_request, "H9"),
    "duplicate_activity_id": (duplicate_activity_id, "H10"),
    "timer_fired_twice": (timer_fired_twice, "H11"),
    "duplicate_timer_id": (duplicate_timer_id, "H12"),
    "child_closed_without_started": (child_closed_without_started, "H13"),
    "external_signal_twice": (external_signal_twice, "H14"),
    "dangling_reference": (dangling_reference, "H16"),
    "scheduled_after_completed": (scheduled_after_completed, "H16"),
    "cancel_external_twice": (cancel_external_twice, "H15"),
    "update_rejected_in_history": (update_rejected_in_history, "H17"),
    "unnamed_marker": (unnamed_marker, "H18"),
    "continue_as_new_without_successor": (continue_as_new_without_successor, "H19"),
}
