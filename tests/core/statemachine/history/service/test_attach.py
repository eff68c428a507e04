"""A start that met a running workflow under USE_EXISTING and attaches itself to it
(core/statemachine/history/service/attach.py, after `handleUseExistingWorkflowOnConflictOptions`
in service/history/api/startworkflow/api.go): one WorkflowExecutionOptionsUpdated event,
always worker-may-ignore, no workflow task, the callbacks added to the run's."""

from __future__ import annotations

from core import requests as rq
from core.enums import EventType as E
from core.events import OpaqueAttributes
from core.opaque import JsonValue, Opaque
from sim.service_run import ServiceRun
from tests.core.statemachine.coverage_scenarios import Run
from tests.core.statemachine.history.service.test_service_rules import complete_cmd

OWN: JsonValue = {"nexus": {"url": "temporal://system", "header": {"k": "own"}}}
ATTACHED: JsonValue = {"nexus": {"url": "temporal://system", "header": {"k": "attached"}}}
LINK = Opaque.of([{"workflowEvent": {"namespace": "default", "workflowId": "caller"}}])


def _run() -> Run:
    run = Run()
    run.state = ServiceRun(
        rq.StartWorkflowExecution(
            "default", "wf", "run-1", "Flow", "q", "start", completion_callbacks=Opaque.of([OWN])
        )
    ).state
    run.events = []
    return run


def test_an_attached_start_writes_one_options_updated_event_and_adds_its_callbacks() -> None:
    run = _run()
    before = run.state.wft
    request = rq.AttachToRun("attach-1", Opaque.of([ATTACHED]), LINK)
    assert run.send(request) == rq.Ok()
    [event] = run.events
    assert event.event_type is E.WORKFLOW_EXECUTION_OPTIONS_UPDATED
    assert isinstance(event.attributes, OpaqueAttributes)
    assert event.attributes.value.value() == {
        "attachedRequestId": "attach-1",
        "attachedCompletionCallbacks": [ATTACHED],
    }
    assert (event.worker_may_ignore, event.links) == (True, LINK)
    assert run.state.wft == before  # no workflow task for it
    assert run.state.completion_callbacks == Opaque.of([OWN, ATTACHED])


def test_an_attach_with_nothing_to_attach_still_writes_the_event() -> None:
    run = _run()
    assert run.send(rq.AttachToRun()) == rq.Ok()
    [event] = run.events
    assert isinstance(event.attributes, OpaqueAttributes)
    assert event.attributes.value.value() == {} and event.worker_may_ignore
    assert run.state.completion_callbacks == Opaque.of([OWN])


def test_a_closed_run_takes_no_attach() -> None:
    run = Run()
    run.complete(complete_cmd())
    written = len(run.events)
    refused = run.send(rq.AttachToRun("attach-1"))
    assert isinstance(refused, rq.Error) and refused.kind is rq.ErrorKind.WORKFLOW_COMPLETED
    assert len(run.events) == written
