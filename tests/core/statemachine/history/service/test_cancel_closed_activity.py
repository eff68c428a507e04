"""A workflow task may ask to cancel an activity that closed while the task ran: its
close event is then in the buffer, not yet written. The server accepts the command,
writes ActivityTaskCancelRequested and does nothing more
(AddActivityTaskCancelRequestedEvent, whose HasActivityFinishEvent looks in the buffer,
service/history/workflow/mutable_state_impl.go and historybuilder/event_store.go). The
model failed the task with BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES; the SDK then failed
the workflow. Found by running the cancel-ignored workflow of scripts/record_unseen.py
against `tmodel serve`, where its activity's heartbeat timeout fired while the task that
cancels it ran."""

from __future__ import annotations

from core import requests as rq
from core.enums import EventType
from tests.core.statemachine.coverage_scenarios import Run, cancel
from tests.core.statemachine.coverage_scenarios import activity as schedule_activity

E = EventType


def _timed_out_during_a_task() -> tuple[Run, int, rq.WorkflowTaskToken]:
    """A run whose started activity timed out (for good) while a workflow task ran."""
    run = Run()
    run.complete(schedule_activity("a", attempts=1))
    sid = max(e.event_id for e in run.events if e.event_type is E.ACTIVITY_TASK_SCHEDULED)
    run.start_activity(sid)
    token = run.poll()  # a signal wakes the workflow; its task is with the worker
    run.fire(rq.ActivityTimeoutTask, scheduled_event_id=sid)
    assert run.state.activity(sid) is None and run.state.buffered  # closed, not yet written
    return run, sid, token


def test_a_cancel_of_an_activity_whose_close_is_buffered_is_written() -> None:
    run, sid, token = _timed_out_during_a_task()
    written = len(run.events)
    reply = run.send(rq.RespondWorkflowTaskCompleted(token, (cancel(sid),)))
    assert not isinstance(reply, rq.Error), reply
    new = run.events[written:]
    assert [e.event_type for e in new] == [
        E.WORKFLOW_TASK_COMPLETED,
        E.ACTIVITY_TASK_CANCEL_REQUESTED,
        E.ACTIVITY_TASK_STARTED,  # the buffer, after the batch
        E.ACTIVITY_TASK_TIMED_OUT,
        E.WORKFLOW_TASK_SCHEDULED,
    ]
    assert getattr(new[1].attributes, "scheduled_event_id", None) == sid
    run.check()


def test_a_cancel_of_an_activity_closed_and_written_earlier_still_fails_the_task() -> None:
    run, sid, token = _timed_out_during_a_task()
    run.send(rq.RespondWorkflowTaskCompleted(token, ()))  # the close is written now
    written = len(run.events)
    run.complete(cancel(sid))
    kinds = [e.event_type for e in run.events[written:]]
    assert E.WORKFLOW_TASK_FAILED in kinds and E.ACTIVITY_TASK_CANCEL_REQUESTED not in kinds
