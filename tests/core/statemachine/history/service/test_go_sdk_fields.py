"""Fields the Go SDK sends that the other SDKs do not, as the server's own workflows
(scheduler, batcher, Worker Deployment, run by the server's Go SDK worker) show them in
the unseen histories `scheduler.json`, `deployment-*.json`: a command's deprecated
`control`, which the server copies into the command's event and into a signal's or a
child start's result (service/history/historybuilder/event_factory.go,
transfer_queue_active_task_executor.go), and an update response's meta naming no
identity, which the server writes as it is (CreateWorkflowExecutionUpdateCompletedEvent)."""

from __future__ import annotations

from typing import Any

from core import requests as rq
from core.commands import (
    Command,
    RequestCancelExternalWorkflowExecutionCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
)
from core.enums import CommandType, EventType
from core.events import WorkflowExecution, WorkflowType
from core.opaque import JsonValue, Opaque
from tests.core.statemachine.coverage_scenarios import Run

E = EventType
C = CommandType


def _signal(target: str, control: str) -> Command:
    return Command(
        C.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
        SignalExternalWorkflowExecutionCommandAttributes(
            execution=WorkflowExecution(workflow_id=target), signal_name="s", control=control
        ),
    )


def _event(run: Run, event_type: EventType, nth: int = 0) -> Any:
    return [e for e in run.events if e.event_type is event_type][nth].attributes


def test_a_signal_carries_its_control_into_its_initiated_and_result_events() -> None:
    run = Run()
    run.complete(_signal("delivered", "7"), _signal("missing", "8"))
    first, second = (
        e.event_id
        for e in run.events
        if e.event_type is E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED
    )
    assert [
        _event(run, E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, k).control for k in (0, 1)
    ] == ["7", "8"]
    run.send(rq.RecordExternalResult(first, cancel=False, delivered=True))
    run.send(rq.RecordExternalResult(second, cancel=False, delivered=False))
    assert _event(run, E.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED).control == "7"
    assert _event(run, E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED).control == "8"
    run.check()


def test_a_cancel_request_and_a_child_carry_their_control() -> None:
    run = Run()
    cancel = RequestCancelExternalWorkflowExecutionCommandAttributes(workflow_id="o", control="3")
    child = StartChildWorkflowExecutionCommandAttributes(
        workflow_id="kid", workflow_type=WorkflowType(name="Kid"), control="4"
    )
    run.complete(
        Command(C.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION, cancel),
        Command(C.START_CHILD_WORKFLOW_EXECUTION, child),
    )
    assert _event(run, E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED).control == "3"
    initiated = _event(run, E.START_CHILD_WORKFLOW_EXECUTION_INITIATED)
    assert initiated.control == "4"
    kid = next(
        e.event_id for e in run.events if e.event_type is E.START_CHILD_WORKFLOW_EXECUTION_INITIATED
    )
    run.send(rq.RecordStartChildExecutionFailed(kid))
    assert _event(run, E.START_CHILD_WORKFLOW_EXECUTION_FAILED).control == "4"
    run.check()


def test_an_update_response_keeps_the_meta_the_worker_sent() -> None:
    meta: JsonValue = {"updateId": "u1", "identity": "the caller"}
    alone: JsonValue = {"updateId": "u1"}
    request = Opaque.of({"meta": meta, "input": {"name": "u"}})
    for sent, written in ((None, meta), (alone, alone)):
        run = Run()
        run.complete()
        run.send(rq.UpdateWorkflowExecution("u1", request))
        accept = rq.UpdateMessage("m1", "u1", rq.UpdateMessageKind.ACCEPT)
        response = rq.UpdateMessage(
            "m2", "u1", rq.UpdateMessageKind.RESPOND, Opaque.of({"success": {}}),
            meta=None if sent is None else Opaque.of(sent),
        )  # fmt: skip
        run.send(rq.RespondWorkflowTaskCompleted(run.poll(), (), messages=(accept, response)))
        completed = _event(run, E.WORKFLOW_EXECUTION_UPDATE_COMPLETED)
        assert completed.meta == Opaque.of(written)
        run.check()
