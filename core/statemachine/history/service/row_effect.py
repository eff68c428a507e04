"""What a driving row's handler wrote: the events it appended to the run (at once or
buffered) and the buffered events it deleted, checked against the row's `writes` and
`retracts` by `fsm.check_effect` (service/activity.py and service/timer.py call it).

The workflow task a close schedules (WorkflowTaskScheduled, workflow_task.schedule) is
the run's event, not the entity's, so it is not part of a row's effect.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.enums import EventType
from core.events import HistoryEvent
from core.fastinit import fast_init_all
from core.statemachine import fsm
from core.statemachine.fsm import I, S
from core.statemachine.history.service.txn import Txn

RUN_EVENTS = frozenset({EventType.WORKFLOW_TASK_SCHEDULED})


@dataclass(frozen=True, slots=True)
class Mark:
    """Where the transaction stood before the handler ran."""

    appended: int
    buffered: tuple[HistoryEvent, ...]


def mark(txn: Txn) -> Mark:
    return Mark(len(txn.events), txn.state.buffered)


def check(table: fsm.Table[S, I], row: fsm.Row[S, I], txn: Txn, before: Mark) -> None:
    """Raise `fsm.RowBroken` unless the handler's effect since `before` is the row's."""
    buffered = txn.state.buffered
    # the run's events (RUN_EVENTS) left out as each source is read
    written = [t for e in txn.events[before.appended :] if (t := e.event_type) not in RUN_EVENTS]
    retracted: list[EventType] = []
    if buffered is not before.buffered:  # the same tuple: nothing buffered or deleted
        kept = {id(e) for e in buffered}
        old = {id(e) for e in before.buffered}
        written += [
            t for e in buffered if id(e) not in old and (t := e.event_type) not in RUN_EVENTS
        ]
        retracted = [e.event_type for e in before.buffered if id(e) not in kept]
    fsm.check_effect(table, row, written, retracted)


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
