"""A completion by activity id (RespondActivityTaskCompletedById, `temporal activity
complete`) of an activity no attempt of which is running: the server starts the attempt
for the completer and completes it in one batch (fabricateStartedEvent in
service/history/api/respondactivitytaskcompleted/api.go). Its ActivityTaskStarted has
the completer's identity, no request id, the current attempt and the last failure; a
workflow task follows. The table's rows Scheduled and Backoff --RespondActivityTaskCompleted
[by id]--> Closed; a completion by token of such an activity is still NotFound."""

from __future__ import annotations

from core import requests as rq
from core.enums import EventType
from core.events import ActivityTaskCompletedEventAttributes, ActivityTaskStartedEventAttributes
from core.opaque import Opaque
from tests.core.statemachine.coverage_scenarios import Run, activity, completion_by_id

E = EventType


def _by_id(run: Run, sid: int, identity: str = "cli") -> rq.Reply:
    info = run.state.activity(sid)
    assert info is not None
    token = rq.ActivityTaskToken(sid, info.attempt)
    return run.send(rq.RespondActivityTaskCompleted(token, Opaque.of("r"), identity, by_id=True))


def test_a_scheduled_activity_is_started_and_completed_by_the_completer() -> None:
    run = Run()
    run.complete(activity("a"))
    sid = max(e.event_id for e in run.events if e.event_type is E.ACTIVITY_TASK_SCHEDULED)
    before = len(run.events)
    assert isinstance(_by_id(run, sid), rq.Ok)
    started, completed, scheduled = run.events[before:]
    assert (started.event_type, completed.event_type, scheduled.event_type) == (
        E.ACTIVITY_TASK_STARTED,
        E.ACTIVITY_TASK_COMPLETED,
        E.WORKFLOW_TASK_SCHEDULED,
    )
    attrs, done = started.attributes, completed.attributes
    assert isinstance(attrs, ActivityTaskStartedEventAttributes)
    assert isinstance(done, ActivityTaskCompletedEventAttributes)
    assert (attrs.scheduled_event_id, attrs.identity, attrs.request_id, attrs.attempt) == (
        sid,
        "cli",
        "",
        1,
    )
    assert (done.started_event_id, done.identity) == (started.event_id, "cli")
    assert run.state.activity(sid) is None
    run.check()


def test_a_completion_by_token_of_a_scheduled_activity_is_still_not_found() -> None:
    run = Run()
    run.complete(activity("a"))
    sid = max(e.event_id for e in run.events if e.event_type is E.ACTIVITY_TASK_SCHEDULED)
    before = len(run.events)
    reply = run.send(rq.RespondActivityTaskCompleted(rq.ActivityTaskToken(sid, 1), identity="w"))
    assert isinstance(reply, rq.Error) and reply.kind is rq.ErrorKind.NOT_FOUND
    assert len(run.events) == before
    assert run.state.activity(sid) is not None


def test_an_activity_waiting_to_retry_is_completed_with_its_next_attempt() -> None:
    started = completion_by_id()
    assert started.attempt == 2
    assert started.last_failure is not None  # the failed attempt's, as any retry's Started
