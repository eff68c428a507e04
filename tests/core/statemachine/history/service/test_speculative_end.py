"""A speculative workflow task (an update's, with no task pending) that fails or times
out instead of completing writes its Scheduled and Started events first, then its
WorkflowTaskFailed or WorkflowTaskTimedOut (AddWorkflowTaskFailedEvent,
AddWorkflowTaskTimedOutEvent, AddWorkflowTaskScheduleToStartTimeoutEvent in
service/history/workflow/workflow_task_state_machine.go). Recorded from the dev server:
tests/fixtures/unseen-histories/broken-update.json, whose update handler fails its first
task (events 5 to 7). The model wrote nothing for it, as for a transient task, so the
served history lost the failed attempt."""

from __future__ import annotations

import json
from pathlib import Path

from core import requests as rq
from core.enums import EventType as E
from core.enums import TimeoutType
from tests.core.statemachine.coverage_scenarios import Run

FIXTURE = Path(__file__).resolve().parents[4] / "fixtures" / "unseen-histories"


def _speculative(run: Run) -> rq.WorkflowTaskToken:
    run.complete()  # the first task: the workflow waits, no task pending
    assert run.send(rq.UpdateWorkflowExecution("u1")) is not None
    assert run.state.wft is not None and run.state.wft.speculative
    return run.poll()


def test_a_failed_speculative_task_is_written_as_the_dev_server_writes_it() -> None:
    recorded = json.loads((FIXTURE / "broken-update.json").read_text())["events"]
    failed = [e["eventType"][len("EVENT_TYPE_") :] for e in recorded[4:7]]
    run = Run()
    token = _speculative(run)
    written = len(run.events)
    run.send(rq.RespondWorkflowTaskFailed(token, identity="worker"))
    types = [e.event_type.name for e in run.events[written:]]
    assert (
        types
        == failed
        == ["WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED", "WORKFLOW_TASK_FAILED"]
    )
    scheduled, started, failure = run.events[written:]
    assert started.attributes.scheduled_event_id == scheduled.event_id  # type: ignore[union-attr]
    assert failure.attributes.started_event_id == started.event_id  # type: ignore[union-attr]
    assert started.attributes.identity == "worker"  # type: ignore[union-attr]
    wft = run.state.wft
    assert wft is not None and not wft.speculative and wft.attempt == 2  # the retry
    run.check()


def test_a_timed_out_speculative_task_is_written_before_its_timeout() -> None:
    run = Run()
    _speculative(run)
    written = len(run.events)
    run.fire(rq.WorkflowTaskTimeoutTask, timeout_type=TimeoutType.START_TO_CLOSE)
    assert [e.event_type for e in run.events[written:]] == [
        E.WORKFLOW_TASK_SCHEDULED,
        E.WORKFLOW_TASK_STARTED,
        E.WORKFLOW_TASK_TIMED_OUT,
    ]
    assert run.events[written + 1].attributes.identity == ""  # type: ignore[union-attr]
    run.check()
