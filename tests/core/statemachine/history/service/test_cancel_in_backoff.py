"""A cancel request during the first workflow task's backoff (a start delay) schedules
that task at once, where a signal waits for the backoff (requestcancelworkflow/api.go
asks for a new task unconditionally; signalworkflow/api.go checks
IsWorkflowPendingOnWorkflowTaskBackoff). tests/fixtures/unseen-histories/delayed-cancel.json
is the dev server's history; `tmodel serve` left such a run waiting out its delay (found
by running scripts/record_unseen.py's `clients` scenario against it)."""

from __future__ import annotations

import dataclasses

from core import requests as rq
from core.enums import EventType as E
from sim.service_run import ServiceRun

S = 10**9


def _delayed() -> ServiceRun:
    start = rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "s")
    return ServiceRun(dataclasses.replace(start, first_workflow_task_backoff=5 * S))


def test_a_signal_during_the_delay_waits_for_it() -> None:
    run = _delayed()
    run.send(rq.SignalWorkflowExecution("s"))
    assert run.state.wft is None
    assert [e.event_type for e in run.events] == [
        E.WORKFLOW_EXECUTION_STARTED,
        E.WORKFLOW_EXECUTION_SIGNALED,
    ]


def test_a_cancel_request_during_the_delay_schedules_the_task_at_once() -> None:
    run = _delayed()
    run.send(rq.SignalWorkflowExecution("s"))
    assert run.send(rq.RequestCancelWorkflowExecution()) == rq.Ok()
    assert [e.event_type for e in run.events] == [
        E.WORKFLOW_EXECUTION_STARTED,
        E.WORKFLOW_EXECUTION_SIGNALED,
        E.WORKFLOW_EXECUTION_CANCEL_REQUESTED,
        E.WORKFLOW_TASK_SCHEDULED,
    ]
    written = len(run.events)
    run.fire(rq.WorkflowBackoffTask)  # the delay's own timer, later, finds nothing to do
    assert len(run.events) == written and run.state.wft is not None
