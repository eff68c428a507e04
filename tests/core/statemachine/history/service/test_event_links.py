"""The HistoryEvent fields beyond an event's attributes (links, its time, the
worker-may-ignore flag) as the history service keeps them:

- a signal's links go on its WorkflowExecutionSignaled event, a start's on its
  WorkflowExecutionStarted event, a cancel request's on its
  WorkflowExecutionCancelRequested event and a termination's on its
  WorkflowExecutionTerminated event (event_factory.go in service/history/historybuilder;
  recorded: `links*.json` of the unseen histories);
- every run continuing the chain (continue-as-new, retry, cron) is started with the
  first start's links (`startEvent.Links` in AddContinueAsNewEvent and
  SetupNewWorkflowForRetryOrCron; recorded: `links.run2.json`);
- a reset reapplies a signal with the base event's links (`reapplyEvents` in
  service/history/ndc/workflow_resetter.go; recorded: `reset-links.json`);
- an event buffered while a workflow task runs keeps those fields, and the time it was
  created, when the buffer is flushed: the event store only gives it its id
  (service/history/historybuilder/event_store.go).
"""

from __future__ import annotations

import pytest

from core import requests as rq
from core.commands import (
    Command,
    ContinueAsNewWorkflowExecutionCommandAttributes,
    FailWorkflowExecutionCommandAttributes,
)
from core.enums import CommandType as C
from core.enums import EventType as E
from core.events import HistoryEvent, WorkflowExecutionSignaledEventAttributes, WorkflowType
from core.opaque import Opaque
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.rebuild import rebuild
from core.statemachine.history.service.reset import reset
from core.statemachine.history.service.state import BUFFERED_EVENT_ID
from core.statemachine.history.service.txn import Txn
from sim.service_run import ServiceRun
from tests.core.statemachine.coverage_scenarios import Run

LINK = Opaque.of(
    [
        {
            "workflowEvent": {
                "namespace": "default",
                "workflowId": "caller",
                "runId": "caller-run",
                "eventRef": {"eventId": "5", "eventType": "EVENT_TYPE_NEXUS_OPERATION_SCHEDULED"},
            }
        }
    ]
)


def _signaled(run: Run) -> list[HistoryEvent]:
    return [e for e in run.events if e.event_type is E.WORKFLOW_EXECUTION_SIGNALED]


def test_a_signal_s_links_go_on_its_signaled_event() -> None:
    run = Run()
    run.send(rq.SignalWorkflowExecution("s", request_id="r1", links=LINK))
    [signaled] = _signaled(run)
    assert signaled.links == LINK


def test_a_start_s_links_go_on_its_started_event() -> None:
    start = rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "start", links=LINK)
    run = ServiceRun(start)
    assert run.events[0].event_type is E.WORKFLOW_EXECUTION_STARTED
    assert run.events[0].links == LINK


def test_a_buffered_signal_keeps_its_links_and_time_when_the_buffer_is_flushed() -> None:
    run = Run()
    token = run.poll()  # the workflow task is in flight: the signal is buffered
    run.send(rq.SignalWorkflowExecution("s", request_id="r1", links=LINK))
    buffered_at = run.now
    assert not _signaled(run) and run.state.buffered
    run.send(rq.RespondWorkflowTaskCompleted(token, ()), advance=7_000_000_000)
    [signaled] = _signaled(run)
    assert signaled.links == LINK
    assert signaled.event_time == buffered_at < run.now


def test_a_buffered_event_keeps_worker_may_ignore_when_the_buffer_is_flushed() -> None:
    run = Run()
    run.poll()
    txn = Txn(run.state, run.now)
    event_id = txn.add(
        E.WORKFLOW_EXECUTION_SIGNALED, WorkflowExecutionSignaledEventAttributes(signal_name="s")
    )
    assert event_id == BUFFERED_EVENT_ID
    txn.mark(event_id, worker_may_ignore=True, links=LINK)
    txn.set(wft=None)  # as if the task had completed: flush the buffer
    txn.flush()
    [event] = txn.events
    assert (event.event_id, event.worker_may_ignore, event.links) == (
        run.state.next_event_id,
        True,
        LINK,
    )


@pytest.mark.parametrize("in_flight", [False, True])
def test_a_cancel_request_s_links_go_on_its_event_buffered_or_not(in_flight: bool) -> None:
    run = Run()
    token = run.poll() if in_flight else None  # a task in flight buffers the request
    run.send(rq.RequestCancelWorkflowExecution(reason="stop", links=LINK))
    if token is not None:
        run.send(rq.RespondWorkflowTaskCompleted(token, ()))
    [asked] = [e for e in run.events if e.event_type is E.WORKFLOW_EXECUTION_CANCEL_REQUESTED]
    assert asked.links == LINK


def test_a_termination_s_links_go_on_its_terminated_event() -> None:
    run = Run()
    run.send(rq.TerminateWorkflowExecution("enough", "me", links=LINK))
    assert run.events[-1].event_type is E.WORKFLOW_EXECUTION_TERMINATED
    assert run.events[-1].links == LINK


def test_a_reset_reapplies_a_signal_with_its_links() -> None:
    run = Run()
    run.complete()
    run.send(rq.SignalWorkflowExecution("after the point", request_id="r1", links=LINK))
    finish = next(e.event_id for e in run.events if e.event_type is E.WORKFLOW_TASK_COMPLETED)
    request = rq.ResetWorkflowExecution("r", finish, "reset-1")
    outcome = reset(run.state, list(run.events), request, "new-run", run.now + 10**9)
    assert outcome.new_run is not None, outcome.reply
    [again] = [e for e in outcome.new_run.events if e.event_type is E.WORKFLOW_EXECUTION_SIGNALED]
    assert again.links == LINK


def _linked_run() -> ServiceRun:
    policy = Opaque.of({"initialInterval": "1s", "maximumAttempts": 3})
    start = rq.StartWorkflowExecution(
        "default", "wf", "run-1", "Flow", "q", "start", links=LINK, retry_policy=policy
    )
    return ServiceRun(start)


def test_the_start_s_links_go_to_the_continued_run_and_the_retry() -> None:
    """Recorded: `links.run2.json`, whose Started event has the first run's links."""
    continued = Command(
        C.CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        ContinueAsNewWorkflowExecutionCommandAttributes(workflow_type=WorkflowType("Flow")),
    )
    failed = Command(
        C.FAIL_WORKFLOW_EXECUTION,
        FailWorkflowExecutionCommandAttributes(failure=Opaque.of({"message": "boom"})),
    )
    for command in (continued, failed):
        run = _linked_run()
        done = rq.RespondWorkflowTaskCompleted(run.poll(), (command,))
        outcome = service.handle(run.state, done, run.now + 1)
        assert outcome.new_run is not None, command.command_type
        assert outcome.new_run.links == LINK
        # and a run rebuilt from its history keeps them for its chain
        rebuilt = rebuild(list(run.events), "default", "wf", "run-1", "start", 0)
        assert rebuilt.state.start_links == LINK
