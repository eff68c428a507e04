"""Broken variants of the cluster, for tests only: each must be caught by an invariant.

A mutant is built here by wrapping core calls or flipping a sim-side switch; nothing in
`core/` knows about mutants.

- ``ack-before-started``: matching acks a task before history records it started, so a
  lost Record*Started loses the task (INV-NO-LOST-TASK).
- ``no-range-check``: persistence applies writes without the range-id fence
  (INV-SINGLE-SHARD-WRITER).
- ``double-completion``: a retried activity completion records a second result
  (INV-RESULT-AT-MOST-ONCE).
- ``no-buffering``: a signal during an in-flight workflow task is written at once
  instead of buffered (the validator's H6).
- ``skip-replay``: on a sticky-cache miss the worker does not replay: it runs the code
  afresh from the start, live, and sends what that produces (THM-3.1).
"""

from __future__ import annotations

from core.enums import EventType
from core.events import ActivityTaskCompletedEventAttributes, HistoryEvent
from core.opaque import Opaque
from core.statemachine.history.service import handle as service
from core.statemachine.history.service import requests as rq
from core.statemachine.history.service.handle import HandleFn
from core.statemachine.history.service.state import MutableState, evolve
from core.statemachine.history.service.txn import Outcome

MUTANTS: dict[str, str] = {
    "ack-before-started": "INV-NO-LOST-TASK",
    "no-range-check": "INV-SINGLE-SHARD-WRITER",
    "double-completion": "INV-RESULT-AT-MOST-ONCE",
    "no-buffering": "H6",
    "skip-replay": "THM-3.1",
}


def handle_for(mutant: str | None) -> HandleFn:
    if mutant == "double-completion":
        return _double_completion
    if mutant == "no-buffering":
        return _no_buffering
    return service.handle


def _double_completion(state: MutableState, req: rq.Request, now: int) -> Outcome:
    out = service.handle(state, req, now)
    if (
        isinstance(req, rq.RespondActivityTaskCompleted)
        and isinstance(out.reply, rq.Error)
        and state.running
        and state.activity(req.token.scheduled_event_id) is None
        and not (state.wft is not None and state.wft.started)
    ):
        attrs = ActivityTaskCompletedEventAttributes(
            result=Opaque.of("again"),
            scheduled_event_id=req.token.scheduled_event_id,
            started_event_id=req.token.scheduled_event_id + 1,
        )
        event = HistoryEvent(
            state.next_event_id, EventType.ACTIVITY_TASK_COMPLETED, attrs, event_time=now
        )
        new = evolve(state, next_event_id=state.next_event_id + 1)
        return Outcome(new, (event,), (), rq.Ok())
    return out


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
