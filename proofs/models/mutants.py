"""Seeded bugs for the checker's models, made by wrapping calls into the real core.

Nothing here changes `core`: each mutant calls the real function and then bends its
answer the way a buggy implementation would. A model switches a mutant on only from its
``broken=`` parameter, so the core under test in every other model is the real one. A
checker run on a mutant must end in a counterexample naming the invariant the bug breaks.

- ``ack-before-started`` (matching-dedup): matching acks the task when it dispatches it,
  before history has recorded it started; a Record*Started call that fails on the way
  then has nothing to respool. Breaks ``INV-NO-LOST-TASK``. The real engine keeps the
  task until history answers (`service/matching/matching_engine.go`, the task is
  finished only after RecordActivityTaskStarted / RecordWorkflowTaskStarted returns).
- ``no-dedup`` (matching-dedup): history starts an activity attempt again for a second
  request id, and accepts a second completion of an attempt it already closed. Breaks
  ``INV-RESULT-AT-MOST-ONCE``. The real checks are in
  `service/history/api/recordactivitytaskstarted/api.go` (request id) and
  `respondactivitytaskcompleted/api.go` (the task token's attempt).
- ``duplicate-result`` (workflow-run): an activity completion writes its result event
  twice. Breaks ``INV-RESULT-AT-MOST-ONCE``; the real service writes a close once
  (`respondactivitytaskcompleted/api.go`).
- ``no-buffering`` (workflow-run): events that arrive while a workflow task is in flight
  are written at once instead of buffered (`historybuilder/event_store.go`
  `bufferEvent`). Breaks ``H-valid`` (rule H6).
- ``no-range-check`` (shard-failover): the store applies an execution write whatever
  the writer's range id (`persistence/cassandra/mutable_state_store.go` makes every
  write conditional on the shard's range id). Breaks ``INV-SINGLE-SHARD-WRITER``.
"""

from __future__ import annotations

import dataclasses

from core import requests as rq
from core.enums import EventType
from core.events import HistoryEvent
from core.statemachine import matching as mx
from core.statemachine import shard
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.state import MutableState, evolve
from core.statemachine.history.service.txn import Txn


def handle(
    broken: str | None,
    run: MutableState,
    history: tuple[HistoryEvent, ...],
    request: rq.Request,
    now: int,
) -> service.Outcome:
    """`service.handle`, bent by the mutant `broken` names (None: the real service)."""
    outcome = service.handle(run, request, now)
    if not isinstance(outcome.reply, rq.Error):
        if broken == "duplicate-result" and isinstance(request, rq.RespondActivityTaskCompleted):
            return _duplicate_result(outcome)
        if broken == "no-buffering":
            return unbuffered(outcome, now)
        return outcome
    if broken != "no-dedup":
        return outcome
    if isinstance(request, rq.RecordActivityTaskStarted):
        info = run.activity(request.scheduled_event_id)
        if outcome.reply.kind is rq.ErrorKind.ALREADY_STARTED and info is not None:
            token = rq.ActivityTaskToken(info.scheduled_event_id, info.attempt)
            return service.Outcome(run, (), (), rq.ActivityTaskStarted(token))
    if isinstance(request, rq.RespondActivityTaskCompleted) and run.running:
        done = [
            e
            for e in history
            if e.event_type is EventType.ACTIVITY_TASK_COMPLETED
            and getattr(e.attributes, "scheduled_event_id", 0) == request.token.scheduled_event_id
        ]
        if done:
            copy = dataclasses.replace(done[-1], event_id=run.next_event_id, event_time=now)
            state = evolve(run, next_event_id=run.next_event_id + 1)
            return service.Outcome(state, (copy,), (), rq.Ok())
    return outcome


def _duplicate_result(outcome: service.Outcome) -> service.Outcome:
    """``duplicate-result``: the activity's result event is written a second time."""
    results = [e for e in outcome.events if e.event_type is EventType.ACTIVITY_TASK_COMPLETED]
    if not results:
        return outcome
    last_id = max(e.event_id for e in outcome.events)
    copy = dataclasses.replace(results[-1], event_id=last_id + 1)
    return dataclasses.replace(outcome, events=(*outcome.events, copy))


def reply_when_unavailable(broken: str | None) -> mx.RecordStartedReply:
    """What matching makes of a Record*Started call that never reached history: a
    transient error (respool), or under ``ack-before-started`` nothing - the task was
    already acked, as if delivered."""
    if broken == "ack-before-started":
        return mx.RecordStartedReply.OK
    return mx.RecordStartedReply.TRANSIENT_ERROR


def unbuffered(outcome: service.Outcome, now: int) -> service.Outcome:
    """``no-buffering``: whatever the service buffered is written now, with real ids."""
    if not outcome.state.buffered:
        return outcome
    txn = Txn(outcome.state, now)
    txn.flush()
    return dataclasses.replace(outcome, state=txn.state, events=outcome.events + tuple(txn.events))


def conditional_write(
    broken: str | None, store: shard.StoreState, write: shard.Write
) -> tuple[shard.StoreState, shard.WriteResult]:
    """`shard.conditional_write`, or under ``no-range-check`` one that skips the fence."""
    if broken == "no-range-check":
        current = shard.shard_record(store, write.shard_id).range_id
        write = dataclasses.replace(write, range_id=current)
    return shard.conditional_write(store, write)
