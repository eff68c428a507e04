"""When events come while a task whose events are not written yet waits unstarted.

A transient task (a retry after a failure) stays pending: the new events are written,
and the task becomes a normal one, attempt 1, only when a worker starts it - its
Scheduled event is written then, with its Started (AddWorkflowTaskStartedEvent in
service/history/workflow/workflow_task_state_machine.go). A speculative task (an
update's) is made normal as the transaction closes, before the buffered events are
flushed, so its Scheduled event comes first (convertSpeculativeWorkflowTaskToNormal,
called by closeTransactionHandleSpeculativeWorkflowTask in mutable_state_impl.go).
Recorded from the dev server: tests/fixtures/unseen-histories/transient-signals.json
and speculative-signal.json (docs/conformance.md).
"""

from __future__ import annotations

from core import requests as rq
from core.enums import EventType as E
from core.enums import WorkflowTaskFailedCause
from core.statemachine.history.service.unwritten_task import transient_events
from tests.core.statemachine.coverage_scenarios import Run
from tests.core.statemachine.history.service.rebuild_checks import rebuild_problems


def _failed_once() -> Run:
    run = Run()
    run.send(
        rq.RespondWorkflowTaskFailed(
            run.poll(), cause=WorkflowTaskFailedCause.WORKFLOW_WORKER_UNHANDLED_FAILURE
        )
    )
    wft = run.state.wft
    assert wft is not None and wft.transient and not wft.started
    return run


def test_signals_before_a_transient_task_starts_come_before_its_scheduled_event() -> None:
    run = _failed_once()
    written = len(run.events)
    run.send(rq.SignalWorkflowExecution("s", request_id="r1"))
    run.send(rq.SignalWorkflowExecution("s", request_id="r2"))
    assert [e.event_type for e in run.events[written:]] == [E.WORKFLOW_EXECUTION_SIGNALED] * 2
    wft = run.state.wft
    assert wft is not None and wft.transient  # still the same task, not written
    run.poll()
    after = run.events[written + 2 :]
    assert [e.event_type for e in after] == [E.WORKFLOW_TASK_SCHEDULED, E.WORKFLOW_TASK_STARTED]
    assert after[0].attributes.attempt == 1  # type: ignore[union-attr]
    started = run.state.wft
    assert started is not None and started.attempt == 1 and not started.unwritten
    assert started.scheduled_event_id == after[0].event_id
    assert rebuild_problems(run.state, run.events) == []  # the task as its events say
    run.check()


def test_a_read_shows_no_events_of_a_transient_task_that_events_came_after() -> None:
    run = _failed_once()
    assert [e.event_type for e in transient_events(run.state, read=True)] == [
        E.WORKFLOW_TASK_SCHEDULED
    ]
    run.send(rq.SignalWorkflowExecution("s", request_id="r1"))
    assert transient_events(run.state, read=True) == ()


def test_a_signal_before_a_speculative_task_starts_follows_its_scheduled_event() -> None:
    run = Run()
    run.complete()  # the workflow waits, no task pending
    assert run.send(rq.UpdateWorkflowExecution("u1")) is not None
    wft = run.state.wft
    assert wft is not None and wft.speculative and not wft.started
    written = len(run.events)
    run.send(rq.SignalWorkflowExecution("s", request_id="r1"))
    new = run.events[written:]
    assert [e.event_type for e in new] == [
        E.WORKFLOW_TASK_SCHEDULED,
        E.WORKFLOW_EXECUTION_SIGNALED,
    ]
    assert new[0].event_time == wft.scheduled_time  # written as it was scheduled
    normal = run.state.wft
    assert normal is not None and not normal.speculative and normal.stamp == wft.stamp
    assert normal.scheduled_event_id == new[0].event_id
    run.poll()
    assert run.events[-1].event_type is E.WORKFLOW_TASK_STARTED
    run.check()
