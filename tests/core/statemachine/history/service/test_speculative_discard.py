"""A speculative workflow task (an update's, with no task pending) that completes with
nothing but the update's rejection leaves no trace in history. An event that comes while
it runs (a signal, a child's start) makes it a normal task at once: its Scheduled and
Started events are written then, the event is buffered, and the rejection-only
completion writes WorkflowTaskCompleted, the buffered event and a normal workflow task
after it (`convertSpeculativeWorkflowTaskToNormal`, `hasBufferedEventsOrMessages` in
service/history/api/respondworkflowtaskcompleted/api.go; recorded from the dev server:
tests/fixtures/unseen-histories/spec-rejected-signal.json). Without that last task the
run waited for ever: the SDK's test_worker_interceptor hung on `tmodel serve` this way
(a rejected update while the workflow's child started)."""

from __future__ import annotations

from core import requests as rq
from core.enums import EventType as E
from tests.core.statemachine.coverage_scenarios import Run


def _rejecting(run: Run) -> rq.WorkflowTaskToken:
    run.complete()  # the first task: the workflow waits, no task pending
    assert run.state.wft is None
    assert run.send(rq.UpdateWorkflowExecution("u1")) is not None
    assert run.state.wft is not None and run.state.wft.speculative
    return run.poll()


def _reject(run: Run, token: rq.WorkflowTaskToken) -> rq.Reply:
    rejection = rq.UpdateMessage("u1/reject", "u1", rq.UpdateMessageKind.REJECT)
    return run.send(rq.RespondWorkflowTaskCompleted(token, (), messages=(rejection,)))


def test_a_rejection_only_task_with_buffered_events_writes_them_and_schedules_a_task() -> None:
    run = Run()
    token = _rejecting(run)
    written = len(run.events)
    run.send(rq.SignalWorkflowExecution("s", request_id="r1"))  # buffered: the task runs
    assert run.state.buffered  # and the task, made normal, is written
    assert [e.event_type for e in run.events[written:]] == [
        E.WORKFLOW_TASK_SCHEDULED,
        E.WORKFLOW_TASK_STARTED,
    ]
    assert run.events[-1].attributes.identity == ""  # type: ignore[union-attr]
    _reject(run, token)
    assert [e.event_type for e in run.events[written + 2 :]] == [
        E.WORKFLOW_TASK_COMPLETED,
        E.WORKFLOW_EXECUTION_SIGNALED,
        E.WORKFLOW_TASK_SCHEDULED,
    ]
    wft = run.state.wft
    assert wft is not None and not wft.speculative and not run.state.buffered
    run.check()


def test_a_rejection_only_task_without_buffered_events_leaves_no_trace() -> None:
    run = Run()
    token = _rejecting(run)
    written = len(run.events)
    assert isinstance(_reject(run, token), rq.TaskDiscarded)
    assert len(run.events) == written and run.state.wft is None
