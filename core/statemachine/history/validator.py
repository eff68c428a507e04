"""The history validator: a pure fold of a history's events through the entity machines.

`validate(events)` reads the events once, in order, and returns every violation it can
find as ``Violation(rule, event_id, message)`` - not just the first - together with the
number of events read and how the run closed. The rules are written down, with their
reasons, in ``spec/history.md``; each rule ID there names the module that checks it.

Per event, in this order:

1. H1 - event ids start at 1 and go up by one;
2. H4 - the attributes are those of the event's type;
3. the run machine (H2 start, H3 close, `workflow_execution.py`);
4. H6 - if the previous event started a workflow task, this one must close it;
5. H7/H8 - the command-batch window (`workflow_task.py`);
6. the entity machine that owns the event type (one module per entity);
7. given the server's limits the history was written under, their checks
   (limit_rules.py), and once more at the end of the history.

Events are consumed from any iterable, so a streamed history is validated in memory
bounded by its open entities (see fold.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from core.enums import EventType
from core.events import ATTRIBUTES_CLASS, HistoryEvent
from core.fastinit import fast_init_all
from core.statemachine.history import (
    activity,
    cancel_external,
    child_workflow,
    limit_rules,
    marker,
    signal_external,
    timer,
    update,
    workflow_execution,
    workflow_task,
)
from core.statemachine.history.fold import Fold, Handler, Violation, settle_reuses
from core.statemachine.history.limits import DEFAULT_LIMITS, Limits

_WFT_SCHEDULED = EventType.WORKFLOW_TASK_SCHEDULED


ID_RULE = "H1"
ATTRIBUTES_RULE = "H4"

_MODULES = (
    workflow_execution,
    workflow_task,
    activity,
    timer,
    child_workflow,
    signal_external,
    cancel_external,
    update,
    marker,
)


def _handlers() -> Mapping[EventType, Handler]:
    merged: dict[EventType, Handler] = {}
    for module in _MODULES:
        for event_type, handler in module.HANDLERS.items():
            assert event_type not in merged, f"two machines claim {event_type.name}"
            merged[event_type] = handler
    return MappingProxyType(merged)


HANDLERS = _handlers()

# The modules of the entity machines, each with its TABLE: for docs, coverage gates and
# totality tests.
MACHINE_MODULES = _MODULES


# Plain dicts of the read-only maps, for `validate`'s per-event lookups (a dict's `get`
# is a little cheaper than a mapping proxy's).
_HANDLERS: dict[EventType, Handler] = dict(HANDLERS)
_ATTRIBUTES_CLASS: dict[EventType, type] = dict(ATTRIBUTES_CLASS)
_LIMIT_CHECKS: dict[EventType, limit_rules.Check] = dict(limit_rules.CHECKS)


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """What `validate` found: events read, violations, and the close event if any."""

    events: int
    violations: tuple[Violation, ...]
    close_event_id: int = 0
    close_event_type: str = ""

    @property
    def valid(self) -> bool:
        return not self.violations


def validate(events: Iterable[HistoryEvent], limits: Limits | None = None) -> ValidationResult:
    """Check a history against rules H1..H19 of spec/history.md and, given the server
    `limits` it was written under (`DEFAULT_LIMITS` for a server's defaults), against
    the LIMIT-* rules (limit_rules.py). Without limits those are not checked: a history
    need not come from a server with any particular settings."""
    fold = Fold(limits=limits or DEFAULT_LIMITS)
    handlers = _HANDLERS
    limit_checks = _LIMIT_CHECKS if limits is not None else None
    last: HistoryEvent | None = None
    attributes_class = _ATTRIBUTES_CLASS
    check_run = workflow_execution.check_run
    keeps_running: bool | None = None
    event_keeps_running = workflow_execution.event_keeps_running
    not_an_event_input = workflow_execution.NOT_AN_EVENT_INPUT
    check_in_flight = workflow_task.check_in_flight
    check_command_batch = workflow_task.check_command_batch
    stays_in_batch = workflow_task.STAYS_IN_BATCH
    for event in events:
        last = event
        fold.count += 1
        event_id = event.event_id
        if event_id != fold.next_event_id:
            fold.violate(
                ID_RULE, event, f"event id {event_id} where {fold.next_event_id} was expected"
            )
        fold.next_event_id = event_id + 1
        event_type = event.event_type
        if type(event.attributes) is not attributes_class[event_type]:
            fold.violate(
                ATTRIBUTES_RULE,
                event,
                f"{event_type.name} carries {type(event.attributes).__name__}",
            )
            continue
        # An ordinary event of a running run leaves the run machine as it is when the
        # table says so (asked once, at the first such event); any other event steps it.
        if fold.started and not fold.close_event_id and event_type not in not_an_event_input:
            if keeps_running is None:
                keeps_running = event_keeps_running()
            if not keeps_running and not check_run(fold, event):
                continue
        elif not check_run(fold, event):
            continue
        if fold.awaiting_wft_close:
            check_in_flight(fold, event)
        if event_type in stays_in_batch:
            check_command_batch(fold, event)
        else:  # what check_command_batch does for such an event, without the call
            fold.command_window = 0
        if fold.reuses and event_type is _WFT_SCHEDULED:  # the flush that could resolve them ended
            settle_reuses(fold)
        handler = handlers.get(event_type)
        if handler is not None:
            handler(fold, event)
        if limit_checks is not None:
            check = limit_checks.get(event_type)
            if check is not None:
                check(fold, event)
    settle_reuses(fold)
    if limits is not None:
        limit_rules.finish(fold, last)
    return ValidationResult(
        events=fold.count,
        violations=tuple(fold.violations),
        close_event_id=fold.close_event_id,
        close_event_type=fold.close_event_type,
    )


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
