"""Requests that reach a run after it closed, answered as Temporal's history service
answers them. Under faults a sender retries a request whose first answer was lost
(a transfer task, a client), so these answers decide whether it records a failure for
something that happened.

- A signal's request id is compared before the run's state
  (`service/history/api/signalworkflow/api.go`): a repeat of a signal that was applied
  is OK after the run closed; a new signal is refused.
- A cancel request to a closed run is "a success even if the target workflow has
  already finished" (`service/history/api/requestcancelworkflow/api.go`), and writes
  nothing.
"""

from __future__ import annotations

from core import requests as rq
from tests.core.statemachine.coverage_scenarios import Run
from tests.core.statemachine.history.service.test_service_rules import complete_cmd


def test_a_repeated_signal_is_ok_after_the_run_closed_and_a_new_one_is_refused() -> None:
    run = Run()
    assert run.send(rq.SignalWorkflowExecution("s", request_id="first")) == rq.Ok()
    run.complete(complete_cmd())
    assert not run.state.running
    assert run.send(rq.SignalWorkflowExecution("s", request_id="first")) == rq.Ok()
    refused = run.send(rq.SignalWorkflowExecution("s", request_id="second"))
    assert isinstance(refused, rq.Error) and refused.kind is rq.ErrorKind.WORKFLOW_COMPLETED


def test_a_cancel_request_to_a_closed_run_succeeds_and_writes_nothing() -> None:
    run = Run()
    run.complete(complete_cmd())
    closed = len(run.events)
    assert run.send(rq.RequestCancelWorkflowExecution("c", "late")) == rq.Ok()
    assert len(run.events) == closed and not run.state.cancel_requested
