"""Broken variants of the cluster, for tests only: each must be caught by an invariant.

A mutant is built here by running a copy of a core function with a piece of its
source changed (sim/core_copy.py), by wrapping core calls, or by flipping a sim-side
switch; nothing in `core/` knows about mutants.

- ``ack-before-started``: matching acks a task before history records it started, so a
  lost Record*Started loses the task (INV-NO-LOST-TASK).
- ``no-range-check``: persistence applies writes through a copy of the core's
  `shard.conditional_write` whose range-id check is never taken (sim/core_copy.py), and
  acks outbox tasks unfenced (INV-SINGLE-SHARD-WRITER).
- ``double-completion``: the core's duplicate-completion guard is removed: every
  request is handled by the real service with its activity table replaced by a copy
  whose completing rows keep the activity open instead of closing it
  (sim/core_copy.py `completion_keeps_activity_open`), so a retried or duplicated
  completion records a second result (INV-RESULT-AT-MOST-ONCE).
- ``no-buffering``: a signal during an in-flight workflow task is written at once
  instead of buffered (the validator's H6).
- ``skip-replay``: on a sticky-cache miss the worker does not replay: it runs the code
  afresh from the start, live, and sends what that produces (THM-3.1).
- ``redeliver``: matching hands every task it delivered once more, to the next poller
  of its queue; history refuses the second worker's answer, so only the delivery
  accounting sees it (INV-NO-UNCAUSED-REDELIVERY).
- ``skip-retried-attempts``: an activity worker answers a retried attempt (attempt 2
  and later) as completed without running it; the first attempt did run, so only the
  per-attempt check sees it (INV-ACTIVITY-AT-LEAST-ONCE).
"""

from __future__ import annotations

from core import requests as rq
from core.events import HistoryEvent
from core.statemachine.history.service import activity
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.handle import HandleFn
from core.statemachine.history.service.state import MutableState, evolve
from core.statemachine.history.service.txn import Outcome
from sim.core_copy import completion_keeps_activity_open, swapped

MUTANTS: dict[str, str] = {
    "ack-before-started": "INV-NO-LOST-TASK",
    "no-range-check": "INV-SINGLE-SHARD-WRITER",
    "double-completion": "INV-RESULT-AT-MOST-ONCE",
    "no-buffering": "H6",
    "skip-replay": "THM-3.1",
    "redeliver": "INV-NO-UNCAUSED-REDELIVERY",
    "skip-retried-attempts": "INV-ACTIVITY-AT-LEAST-ONCE",
}


def handle_for(mutant: str | None) -> HandleFn:
    if mutant == "double-completion":
        return _double_completion
    if mutant == "no-buffering":
        return _no_buffering
    return service.handle


def _double_completion(state: MutableState, req: rq.Request, now: int) -> Outcome:
    with swapped(activity, "TABLE", completion_keeps_activity_open()):
        return service.handle(state, req, now)


def _no_buffering(state: MutableState, req: rq.Request, now: int) -> Outcome:
    out = service.handle(state, req, now)
    before = len(state.buffered)
    if not isinstance(req, rq.SignalWorkflowExecution) or len(out.state.buffered) <= before:
        return out
    fresh = out.state.buffered[before:]
    first = out.state.next_event_id
    written = tuple(
        HistoryEvent(first + i, e.event_type, e.attributes, event_time=e.event_time)
        for i, e in enumerate(fresh)
    )
    new = evolve(out.state, buffered=state.buffered, next_event_id=first + len(written))
    return Outcome(new, out.events + written, out.tasks, out.reply, out.new_run)
