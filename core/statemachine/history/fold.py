"""The accumulator of the history validator's fold, and the helpers every entity shares.

`validate` (validator.py) folds a history's events, in order, through one machine per
entity. This module holds what that fold carries between events: the next expected
event id, the one workflow task that may be open, the open entities of every other
kind keyed by the id of the event that opened them, the workflow task's "command
batch" window, and the violations found so far.

Memory is bounded by the entities that are open, never by the length of the history:
an entity is forgotten as soon as its machine reaches a terminal state. A reference to
an event that is neither open nor in the future is therefore reported by the entity's
own rule ("does not reference an open activity"), and a reference to an event that has
not been written yet by H16.

The accumulator is private to one `validate` call; the public API stays a pure function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Generic, TypeVar

from core.events import HistoryEvent
from core.fastinit import fast_init_all
from core.opaque import Opaque
from core.statemachine.fsm import Table
from core.statemachine.history.limits import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:  # the entity modules import this one; their state types are for mypy only
    from core.statemachine.history.activity import ActivityState
    from core.statemachine.history.cancel_external import CancelExternalState
    from core.statemachine.history.child_workflow import ChildWorkflowState
    from core.statemachine.history.signal_external import SignalExternalState
    from core.statemachine.history.timer import TimerState
    from core.statemachine.history.update import UpdateState
    from core.statemachine.history.workflow_task import WorkflowTaskState

S = TypeVar("S", bound=Enum)
I = TypeVar("I", bound=Enum)  # noqa: E741


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: its ID (``H1``...), the event that breaks it, and why."""

    rule: str
    event_id: int
    message: str


@dataclass(slots=True)
class Entity(Generic[S]):
    """An open entity: its machine state and the ids later events must point at."""

    state: S
    opened_by: int = 0
    name: str = ""
    started_event_id: int = 0
    cancel_requested_event_id: int = 0


@dataclass(slots=True)
class Fold:
    """What the validator carries from one event to the next (see module docstring)."""

    next_event_id: int = 1
    count: int = 0
    started: bool = False
    close_event_id: int = 0
    close_event_type: str = ""
    # The workflow task, if one is open: at most one can be (H5).
    wft: Entity[WorkflowTaskState] | None = None
    # True right after WorkflowTaskStarted: the next event must close that task (H6).
    awaiting_wft_close: bool = False
    # Id of the WorkflowTaskCompleted whose command batch is still being written, or 0.
    command_window: int = 0
    activities: dict[int, Entity[ActivityState]] = field(default_factory=dict)
    activity_ids: dict[str, int] = field(default_factory=dict)
    timers: dict[int, Entity[TimerState]] = field(default_factory=dict)
    timer_ids: dict[str, int] = field(default_factory=dict)
    children: dict[int, Entity[ChildWorkflowState]] = field(default_factory=dict)
    signals: dict[int, Entity[SignalExternalState]] = field(default_factory=dict)
    cancels: dict[int, Entity[CancelExternalState]] = field(default_factory=dict)
    updates: dict[int, Entity[UpdateState]] = field(default_factory=dict)
    # A user-given id reused while an entity that had it is still open: opened_by of the
    # old entity -> (rule, event id of the reuse, message, the reusing batch's
    # WorkflowTaskCompleted id). Resolved when the old entity closes within the same
    # flush (see `opener`), reported otherwise (`settle_reuses`).
    reuses: dict[int, tuple[str, int, str, int]] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    # The limits the history was written under, and what their checks carry
    # (limit_rules.py): the run's memo and search attributes with the upserts merged
    # in, and whether the run's first batch (a start's or a reset's) is still open.
    limits: Limits = DEFAULT_LIMITS
    memo: Opaque | None = None
    search_attributes: Opaque | None = None
    first_batch_open: bool = True

    def violate(self, rule: str, event: HistoryEvent, message: str) -> None:
        self.violations.append(Violation(rule, event.event_id, message))


Handler = Callable[[Fold, HistoryEvent], None]

# H16: a reference names an event that has already been written.
REFERENCE_RULE = "H16"


def reference_ok(fold: Fold, event: HistoryEvent, name: str, value: int) -> bool:
    """Check that attribute `name` points at an earlier event of this history (H16)."""
    if 0 < value < event.event_id:
        return True
    fold.violate(
        REFERENCE_RULE,
        event,
        f"{event.event_type.name}.{name}={value} does not name an earlier event",
    )
    return False


def advance(
    fold: Fold,
    table: Table[S, I],
    entities: dict[int, Entity[S]],
    key: int,
    input_: I,
    event: HistoryEvent,
    ref_name: str,
) -> Entity[S] | None:
    """Feed `input_` to the open entity `key`; report and return None if it can't take it.

    On success the entity's state is advanced in place (the fold owns it), and an entity
    that reaches a terminal state is forgotten. The entity is returned either way so
    the caller can check the other references the event carries.
    """
    if not reference_ok(fold, event, ref_name, key):
        return None
    entity = entities.get(key)
    if entity is None:
        fold.violate(
            table.rule,
            event,
            f"{event.event_type.name}.{ref_name}={key} does not name an open {table.name}",
        )
        return None
    row = table.next.get((entity.state, input_))
    if row is None:
        fold.violate(
            table.rule,
            event,
            f"{table.name} {key}: {event.event_type.name} is not allowed in state "
            f"{entity.state.name}",
        )
        return None
    entity.state = row.target
    if row.target in table.terminal:
        del entities[key]
    return entity


def check_started_ref(
    fold: Fold, table: Table[S, I], entity: Entity[S], event: HistoryEvent, value: int
) -> None:
    """A closing event's started_event_id must name the entity's own Started event."""
    if value != entity.started_event_id:
        fold.violate(
            table.rule,
            event,
            f"{event.event_type.name}.started_event_id={value}, but the {table.name} "
            f"was started by event {entity.started_event_id}",
        )


A = TypeVar("A")
Names = Callable[[Fold], dict[str, int]]


def opener(
    attrs_type: type[A],
    entities: Callable[[Fold], dict[int, Entity[S]]],
    initial: S,
    name: Callable[[A], str] | None = None,
    names: Names | None = None,
    duplicate_rule: str = "",
) -> Handler:
    """A handler for the event that opens an entity, keyed by its own event id.

    With `name` and `names`, the entity's user-given id (activity id, timer id) must
    not be in use by another open entity of the same kind; `duplicate_rule` is broken
    otherwise. One exception follows the server: an activity or timer that closed while
    a workflow task was in flight is already gone from mutable state, so that task may
    reuse its id, and the old entity's close (buffered) is written after the new
    entity's command event, in the same flush. So a reuse of the id of an entity opened
    before the current command batch is judged when the flush ends (`settle_reuses`):
    by then the old entity must have closed.
    """

    def handle(fold: Fold, event: HistoryEvent) -> None:
        attrs = event.attributes
        if not isinstance(attrs, attrs_type):
            return
        label = name(attrs) if name is not None else ""
        open_ = entities(fold)
        if names is not None:
            in_use = names(fold)
            previous = in_use.get(label)
            if previous is not None and previous in open_:
                message = (
                    f"{event.event_type.name}: id {label!r} is already used by the open "
                    f"entity opened at event {previous}"
                )
                if 0 < previous < fold.command_window:  # may have closed in flight
                    reuse = (duplicate_rule, event.event_id, message, fold.command_window)
                    fold.reuses[previous] = reuse
                else:
                    fold.violate(duplicate_rule, event, message)
            in_use[label] = event.event_id
        open_[event.event_id] = Entity(initial, event.event_id, label)

    return handle


def follower(
    table: Table[S, I],
    attrs_type: type[A],
    entities: Callable[[Fold], dict[int, Entity[S]]],
    input_: I,
    key: Callable[[A], int],
    ref_name: str,
    started: Callable[[A], int] | None = None,
    records_start: bool = False,
    name: Callable[[A], str] | None = None,
    names: Names | None = None,
) -> Handler:
    """A handler for an event that moves an open entity along its table.

    `key` reads the reference to the opening event; `started`, when given, reads the
    started_event_id that must match the entity's own Started event; `records_start`
    marks the event that starts the entity (its id becomes the entity's started id);
    `name` reads a user-given id that must match the one the entity was opened with,
    and `names` is the open-id index to release when the entity closes.
    """

    # The table's keys for this input, built once (a tuple per lookup costs more than
    # the lookup); the rows themselves are looked up in `table.next` at each event.
    keys = {state: (state, input_) for state in table.states}

    def handle(fold: Fold, event: HistoryEvent) -> None:
        attrs = event.attributes
        if not isinstance(attrs, attrs_type):
            return
        open_ = entities(fold)
        ref = key(attrs)
        # `advance`'s usual case inline; `advance` itself reports whatever is wrong.
        entity = open_.get(ref) if 0 < ref < event.event_id else None
        row = table.next.get(keys[entity.state]) if entity is not None else None
        if entity is None or row is None:
            advance(fold, table, open_, ref, input_, event, ref_name)
            return
        entity.state = row.target
        if row.target in table.terminal:
            del open_[ref]
        if records_start:
            entity.started_event_id = event.event_id
        if started is not None and started(attrs) != entity.started_event_id:
            check_started_ref(fold, table, entity, event, started(attrs))
        if name is not None and name(attrs) != entity.name:
            fold.violate(
                table.rule,
                event,
                f"{event.event_type.name} names {name(attrs)!r}, but the {table.name} "
                f"opened at event {entity.opened_by} is {entity.name!r}",
            )
        if entity.opened_by not in open_:
            fold.reuses.pop(entity.opened_by, None)
            if names is not None:
                release(names(fold), entity)

    return handle


def release(names: dict[str, int], entity: Entity[S]) -> None:
    """Free a closed entity's user-given id for reuse."""
    if names.get(entity.name) == entity.opened_by:
        del names[entity.name]


def settle_reuses(fold: Fold) -> None:
    """Report ids reused, and activities asked again to cancel (activity.py), while
    their old entity stayed open past the flush.

    One such reuse is no violation: the old entity is an activity no attempt had
    started, whose cancel the reusing batch itself requested, in a batch that closed the
    run. The server closes that activity at once, freeing its id, but writes its
    ActivityTaskCanceled through the buffer (handleCommandRequestCancelActivity in
    service/history/api/respondworkflowtaskcompleted/workflow_task_completed_handler.go),
    and a batch that closes the run drops the buffer (FlushBufferToCurrentBatch in
    service/history/historybuilder/event_store.go). Recorded from the dev server:
    tests/fixtures/unseen-histories/reuse-after-cancel.json.
    """
    for opened_by, (rule, event_id, message, window) in fold.reuses.items():
        if not _cancel_dropped_at_close(fold, opened_by, window):
            fold.violations.append(Violation(rule, event_id, message))
    fold.reuses.clear()


def _cancel_dropped_at_close(fold: Fold, opened_by: int, window: int) -> bool:
    if not fold.close_event_id or fold.command_window != window:
        return False  # the run is open, or it closed after the reusing batch ended
    activity = fold.activities.get(opened_by)
    return (
        activity is not None
        and not activity.started_event_id
        and activity.cancel_requested_event_id > window
    )


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
