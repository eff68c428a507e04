"""Update-with-start in the history service: the update is admitted in the start's own
transaction (`workflowLeaseCallback`, service/history/api/multioperation/api.go), so
the new run's first workflow task carries it."""

from __future__ import annotations

from core import requests as rq
from core.enums import EventType
from core.statemachine.history.service import handle as service

UPDATE = rq.UpdateWorkflowExecution("u1")


def _start(request_id: str, run_id: str = "run-1", **fields: object) -> rq.StartWorkflowExecution:
    return rq.StartWorkflowExecution(
        "default",
        "wf",
        run_id,
        "W",
        "q",
        request_id,
        **fields,  # type: ignore[arg-type]
    )


def test_the_start_admits_the_update_with_the_first_workflow_task() -> None:
    outcome = service.start(_start("r1", update=UPDATE), 0)
    assert [u.update_id for u in outcome.state.updates] == ["u1"]
    # held in memory, as an update the client sent: no event records it
    assert [e.event_type for e in outcome.events] == [
        EventType.WORKFLOW_EXECUTION_STARTED,
        EventType.WORKFLOW_TASK_SCHEDULED,
    ]
    plain = service.start(_start("r1"), 0)
    assert plain.state.updates == () and plain.events == outcome.events


def test_a_retried_update_with_start_updates_the_run_it_started() -> None:
    running = service.start(_start("r1"), 0).state
    again = service.handle(running, _start("r1", run_id="run-2", update=UPDATE), 1)
    assert again.new_run is None and isinstance(again.reply, rq.Ok)
    assert [u.update_id for u in again.state.updates] == ["u1"]


def test_a_new_run_after_a_closed_one_starts_with_the_update() -> None:
    running = service.start(_start("r1"), 0).state
    closed = service.handle(running, rq.TerminateWorkflowExecution("done"), 1).state
    assert not closed.running
    again = service.handle(closed, _start("r2", run_id="run-2", update=UPDATE), 2)
    assert again.new_run is not None
    assert [u.update_id for u in service.start(again.new_run, 2).state.updates] == ["u1"]
