"""One history-service transaction: the events it appends, the tasks it emits.

Every request is handled as one transaction over a run's mutable state, as the real
service does (`service/history/workflow/transaction*.go`). `Txn` accumulates:

- events, each either appended at once (its id is the next event id) or *buffered*
  while a workflow task is in flight (`bufferEvent` in
  `service/history/historybuilder/event_store.go`): buffered events carry the
  placeholder id -123 and get real ids when the buffer is flushed;
- outbox tasks for the transfer and timer queues;
- the new mutable state.

`flush` follows the server's order: completion-type events move to the end of the batch
(`reorderBuffer`), ids are assigned, and a completion whose ActivityTaskStarted was in
the same buffer is patched to point at it (`wireEventIDs`). A transaction that closes
the run discards whatever is still buffered.

The accumulator is private to one `handle` call; the service stays a pure function.
"""

from __future__ import annotations

import dataclasses

from core.enums import EventType
from core.event_sets import BUFFERABLE_EVENT_TYPES, FLUSH_REORDERED_EVENT_TYPES
from core.events import (
    ActivityTaskCanceledEventAttributes,
    ActivityTaskCompletedEventAttributes,
    ActivityTaskFailedEventAttributes,
    ActivityTaskStartedEventAttributes,
    ActivityTaskTimedOutEventAttributes,
    ChildWorkflowExecutionCanceledEventAttributes,
    ChildWorkflowExecutionCompletedEventAttributes,
    ChildWorkflowExecutionFailedEventAttributes,
    ChildWorkflowExecutionStartedEventAttributes,
    ChildWorkflowExecutionTerminatedEventAttributes,
    ChildWorkflowExecutionTimedOutEventAttributes,
    EventAttributes,
    HistoryEvent,
)
from core.fastinit import fast_init_all, replace
from core.opaque import Opaque
from core.requests import Reply, StartWorkflowExecution, Task
from core.statemachine.history.service.state import (
    BUFFERED_EVENT_ID,
    MutableState,
    draft_copier,
    set_fields,
)

_ACTIVITY_CLOSES = (
    ActivityTaskCompletedEventAttributes,
    ActivityTaskFailedEventAttributes,
    ActivityTaskTimedOutEventAttributes,
    ActivityTaskCanceledEventAttributes,
)
_CHILD_CLOSES = (
    ChildWorkflowExecutionCompletedEventAttributes,
    ChildWorkflowExecutionFailedEventAttributes,
    ChildWorkflowExecutionCanceledEventAttributes,
    ChildWorkflowExecutionTimedOutEventAttributes,
    ChildWorkflowExecutionTerminatedEventAttributes,
)


class _Draft(MutableState):
    """A transaction's private copy of the run's state, changed in place.

    Handlers change a few fields at a time, many times per request; copying all of the
    state's fields for each change was the history service's largest cost. A draft is
    made on the first change or event and never leaves its `Txn`: `Txn.frozen` turns it back
    into a plain (frozen) MutableState before the Outcome is built. Fields that never
    change after the start (ids, type, queue, timeouts) are what handlers keep reading
    from a state they hold across a change; the others are read from `txn.state`.
    """

    __slots__ = ()


# A new draft holding a state's fields (the state itself is not changed).
_new_draft = draft_copier(_Draft)
_SET = object.__setattr__  # a draft's fields are written past the frozen class's guard


class Txn:
    """The working copy of one transaction (see module docstring).

    `state` is the run's state as the transaction has it so far, its next event id
    included: the first change or event copies the state into a private draft, and
    later ones write into it (see `_Draft`). It is a plain attribute, read many times per
    request; assigning it replaces the state (`txn.state = evolve(...)`).
    """

    __slots__ = ("_origin", "events", "hold_workflow_task", "now", "state", "tasks")

    def __init__(self, state: MutableState, now: int) -> None:
        self._origin: MutableState | None = state
        self.state = state
        self.now = now
        self.events: list[HistoryEvent] = []
        self.tasks: list[Task] = []
        # set while one timer task closes several activities (activity.py): their
        # closes schedule no workflow task; the sweep schedules one after the last. Their
        # events are buffered meanwhile, as the server's history builder buffers every
        # bufferable event (`add` in service/history/historybuilder/event_store.go), so
        # the sweep's flush writes each Started event before all the closes
        self.hold_workflow_task = False

    @classmethod
    def creating(cls, state: MutableState, now: int) -> Txn:
        """The transaction that creates the run `state`: a value just built, which no one
        else holds, so it becomes the transaction's draft itself instead of being copied
        into one (same slots: CPython allows the class change). Nothing it writes is
        `untouched`."""
        assert type(state) is MutableState  # not a draft already, nor a subclass
        _SET(state, "__class__", _Draft)
        txn = cls(state, now)
        txn._origin = None
        return txn

    @property
    def untouched(self) -> bool:
        """Nothing written, changed or emitted yet."""
        return self.state is self._origin and not self.events and not self.tasks

    def _draft(self) -> MutableState:
        """The transaction's draft, made from the state at the first change or event."""
        state = self.state
        if type(state) is not _Draft:
            state = self.state = _new_draft(state)
        return state

    def set(self, **changes: object) -> None:
        """Change fields of the state; an unknown field name is a TypeError."""
        set_fields(self._draft(), changes)

    def frozen(self) -> MutableState:
        """The state as a plain MutableState, for the Outcome; the draft is given up.

        The draft becomes a MutableState in place (the two classes have the same slots,
        so CPython allows the class change): no field is written after this, since the
        next change would make a new draft.
        """
        state = self.state
        if type(state) is _Draft:
            _SET(state, "__class__", MutableState)
        return state

    @property
    def wft_in_flight(self) -> bool:
        wft = self.state.wft
        return wft is not None and wft.started

    def append(
        self, event_type: EventType, attributes: EventAttributes, event_time: int | None = None
    ) -> int:
        """Write an event now, dated `event_time` (None: the transaction's time); return
        its id."""
        state = self._draft()
        event_id = state.next_event_id
        at = self.now if event_time is None else event_time
        self.events.append(HistoryEvent(event_id, event_type, attributes, at))
        _SET(state, "next_event_id", event_id + 1)
        return event_id

    def add(
        self, event_type: EventType, attributes: EventAttributes, event_time: int | None = None
    ) -> int:
        """Write an event, or buffer it while a workflow task is in flight; dated
        `event_time` (None: the transaction's time).

        Returns its id, or BUFFERED_EVENT_ID when it was buffered.
        """
        if event_type in BUFFERABLE_EVENT_TYPES and (self.wft_in_flight or self.hold_workflow_task):
            return self.buffer(event_type, attributes, event_time)
        return self.append(event_type, attributes, event_time)

    def buffer(
        self, event_type: EventType, attributes: EventAttributes, event_time: int | None = None
    ) -> int:
        """Buffer an event even with no workflow task in flight: the server's history
        builder buffers every bufferable event and flushes the buffer when the
        transaction ends (`add` in service/history/historybuilder/event_store.go), so an
        event a workflow task's completion buffers follows the batch's command events."""
        at = self.now if event_time is None else event_time
        event = HistoryEvent(BUFFERED_EVENT_ID, event_type, attributes, event_time=at)
        self.set(buffered=(*self.state.buffered, event))
        return BUFFERED_EVENT_ID

    def mark(
        self,
        event_id: int,
        *,
        links: Opaque | None = None,
        event_time: int | None = None,
        worker_may_ignore: bool = False,
    ) -> None:
        """Give the event just written (`event_id`) or buffered (BUFFERED_EVENT_ID) the
        HistoryEvent fields beyond its attributes: links, its time, worker-may-ignore."""
        if links is None and event_time is None and not worker_may_ignore:
            return

        def marked(event: HistoryEvent) -> HistoryEvent:
            return replace(
                event,
                links=links if links is not None else event.links,
                event_time=event_time if event_time is not None else event.event_time,
                worker_may_ignore=worker_may_ignore or event.worker_may_ignore,
            )

        if event_id == BUFFERED_EVENT_ID:
            buffered = self.state.buffered
            self.set(buffered=(*buffered[:-1], marked(buffered[-1])))
        else:
            at = next(i for i, e in enumerate(self.events) if e.event_id == event_id)
            self.events[at] = marked(self.events[at])

    def flush(self) -> None:
        """Write the buffered events in the server's order (module docstring)."""
        buffered = self.state.buffered
        if not buffered:
            return
        self.set(buffered=())
        state = self.state
        next_id = state.next_event_id
        first = [e for e in buffered if e.event_type not in FLUSH_REORDERED_EVENT_TYPES]
        last = [e for e in buffered if e.event_type in FLUSH_REORDERED_EVENT_TYPES]
        # A close written while its Started event was still buffered names the buffered
        # placeholder id; give it the id the Started event gets now, and do the same for
        # a pending child's started id (`wireEventIDs` in
        # service/history/historybuilder/event_store.go; `updatePendingEventIDs` in
        # service/history/workflow/mutable_state_impl.go).
        started_ids: dict[int, int] = {}
        child_started: dict[int, int] = {}
        for event in first + last:
            attrs = event.attributes
            if isinstance(attrs, ActivityTaskStartedEventAttributes):
                started_ids[attrs.scheduled_event_id] = next_id
            elif isinstance(attrs, ChildWorkflowExecutionStartedEventAttributes):
                child_started[attrs.initiated_event_id] = next_id
            elif (
                isinstance(attrs, _ACTIVITY_CLOSES) and attrs.started_event_id == BUFFERED_EVENT_ID
            ):
                attrs = dataclasses.replace(
                    attrs, started_event_id=started_ids[attrs.scheduled_event_id]
                )
            elif isinstance(attrs, _CHILD_CLOSES) and attrs.started_event_id == BUFFERED_EVENT_ID:
                attrs = dataclasses.replace(
                    attrs, started_event_id=child_started[attrs.initiated_event_id]
                )
            # the event as buffered, with its id and rewired attributes: its links and
            # worker-may-ignore flag stay (the event store only assigns ids on flush)
            self.events.append(replace(event, event_id=next_id, attributes=attrs))
            next_id += 1
        _SET(state, "next_event_id", next_id)
        if child_started:
            self.set(
                children=tuple(
                    dataclasses.replace(c, started_event_id=child_started[c.initiated_event_id])
                    if c.started_event_id == BUFFERED_EVENT_ID
                    and c.initiated_event_id in child_started
                    else c
                    for c in self.state.children
                )
            )

    def task(self, *tasks: Task) -> None:
        """Emit outbox tasks."""
        self.tasks.extend(tasks)


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What one request did: the new state, the events written (in order), the outbox
    tasks emitted, and the reply to the caller."""

    state: MutableState
    events: tuple[HistoryEvent, ...]
    tasks: tuple[Task, ...]
    reply: Reply
    # Continue-as-new: the start of the next run, to be applied in the same transaction.
    new_run: StartWorkflowExecution | None = None
    # What the server would log as a warning: a limit's warn level passed (enforce.py).
    warnings: tuple[str, ...] = ()


def finish(txn: Txn, reply: Reply, new_run: StartWorkflowExecution | None = None) -> Outcome:
    """Close the transaction: flush if no workflow task is in flight, drop if closed."""
    state = txn.state
    if state.buffered:
        if not state.running:
            txn.set(buffered=())
        elif not txn.wft_in_flight:
            txn.flush()
    return Outcome(txn.frozen(), tuple(txn.events), tuple(txn.tasks), reply, new_run)


def unchanged(state: MutableState, reply: Reply) -> Outcome:
    """A request that changes nothing (rejected, or an idempotent repeat)."""
    return Outcome(state, (), (), reply)


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
