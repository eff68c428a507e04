"""A start's workflow execution timeout is written as it came: absent when the request
had none, "0s" when it had a zero one (sdk-go always sends one). The server copies the
Duration into WorkflowExecutionStarted (service/history/historybuilder/event_factory.go),
and a retried or continued run's start copies the run's own (`continueAsNew`,
mutable_state_impl.go). Measured on the 1.32 dev server (`temporal server start-dev`):
a StartWorkflowExecution with `workflow_execution_timeout` set to 0 s gets a Started
event that has the field; one without gets one that does not."""

from __future__ import annotations

from core import requests as rq
from core.events import WorkflowExecutionStartedEventAttributes
from core.opaque import Opaque
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.txn import Outcome

S = 1_000_000_000
T0 = 1_796_518_237_268_000_000
POLICY = Opaque.of({"initialInterval": "1s", "backoffCoefficient": 2.0})


def _request(**fields: object) -> rq.StartWorkflowExecution:
    return rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "start", **fields)  # type: ignore[arg-type]


def _started(outcome: Outcome) -> WorkflowExecutionStartedEventAttributes:
    attrs = outcome.events[0].attributes
    assert isinstance(attrs, WorkflowExecutionStartedEventAttributes)
    return attrs


def test_no_execution_timeout_is_written_absent() -> None:
    assert _started(service.start(_request(), T0)).workflow_execution_timeout is None


def test_a_zero_execution_timeout_given_is_written_zero() -> None:
    started = service.start(_request(explicit_execution_timeout=True), T0)
    assert _started(started).workflow_execution_timeout == 0


def test_a_retried_run_keeps_the_zero_execution_timeout_its_chain_was_given() -> None:
    for explicit, written in ((True, 0), (False, None)):
        started = service.start(
            _request(run_timeout=2 * S, retry_policy=POLICY, explicit_execution_timeout=explicit),
            T0,
        )
        (task,) = (t for t in started.tasks if isinstance(t, rq.WorkflowRunTimeoutTask))
        timed_out = service.handle(started.state, rq.FireTimer(task), task.fire_time)
        new = timed_out.new_run
        assert new is not None and new.explicit_execution_timeout is explicit
        retried = service.start(new, task.fire_time + S)
        assert _started(retried).workflow_execution_timeout == written
