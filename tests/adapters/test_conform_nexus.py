"""`tmodel conform` on Nexus operations and UpdateWorkflowExecutionOptions.

The real histories (tests/fixtures/histories/nexus.json, options-updated.json, and the
nexus-* and options-* of tests/fixtures/unseen-histories, recorded by
scripts/unseen_nexus.py) hold every Nexus event type and WorkflowExecutionOptionsUpdated;
the deriver (adapters/conform/derive_nexus.py) reads back the requests behind them and the
model writes them field for field. A deriver that drops one kind of request, or reads
one back wrongly, makes them differ.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import main
from adapters.conform import derive_nexus, requests
from adapters.conform.derive import Driver
from adapters.conform.judge import judge_events
from adapters.temporal_json import decode_history
from core import requests as rq
from core.commands import Command, CompleteWorkflowExecutionCommandAttributes
from core.enums import CommandType, EventType
from core.events import HistoryEvent, OpaqueAttributes
from core.opaque import JsonValue, Opaque
from core.options_request import UpdateWorkflowExecutionOptions
from sim.service_run import ServiceRun
from tests.conftest import FIXTURES, HISTORIES

E = EventType
UNSEEN = FIXTURES / "unseen-histories"
RECORDED = [
    HISTORIES / "nexus.json",
    HISTORIES / "options-updated.json",
    *(
        UNSEEN / str(entry["file"])
        for entry in json.loads((UNSEEN / "manifest.json").read_text(encoding="utf-8"))["histories"]
        if str(entry["file"]).startswith(("nexus-", "options-"))
    ),
]
NEXUS_EVENTS = {t for t in EventType if t.name.startswith("NEXUS_OPERATION_")}


def _events(path: Path) -> list[HistoryEvent]:
    return list(decode_history(path.read_text(encoding="utf-8")).events)


def _types(path: Path) -> set[EventType]:
    return {e.event_type for e in _events(path)}


def test_the_recordings_hold_every_nexus_event_and_options_updates() -> None:
    seen = set().union(*(_types(p) for p in RECORDED))
    assert NEXUS_EVENTS | {E.WORKFLOW_EXECUTION_OPTIONS_UPDATED} <= seen
    assert len(RECORDED) >= 29
    # both writers of WorkflowExecutionOptionsUpdated: the options update, a start's attach
    updated = [
        derive_nexus.fields(e)
        for p in RECORDED
        for e in _events(p)
        if e.event_type is E.WORKFLOW_EXECUTION_OPTIONS_UPDATED
    ]
    assert any("attachedRequestId" in f for f in updated)
    assert any("attachedRequestId" not in f for f in updated)


def test_every_nexus_and_options_history_is_reproduced(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["conform", "--json", *map(str, RECORDED)])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["summary"]["reproduced"] == len(RECORDED) == doc["summary"]["histories"]


def _with(name: str) -> Path:
    """A recorded history holding an event of the type `name` (nexus/options)."""
    kind = EventType[name]
    return next(p for p in RECORDED if kind in _types(p))


# What a mutant deriver drops: requests of one kind, each behind one event type.
Dropped = Callable[[rq.Request], bool]
_DROPS: dict[str, Dropped] = {
    "NEXUS_OPERATION_STARTED": lambda r: _outcome(r) == "started",
    "NEXUS_OPERATION_COMPLETED": lambda r: _outcome(r) == "completed",
    "NEXUS_OPERATION_FAILED": lambda r: _outcome(r) == "failed",
    "NEXUS_OPERATION_CANCELED": lambda r: _outcome(r) == "canceled",
    "NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED": lambda r: _outcome(r) == "cancel_completed",
    "NEXUS_OPERATION_CANCEL_REQUEST_FAILED": lambda r: _outcome(r) == "cancel_failed",
    "NEXUS_OPERATION_TIMED_OUT": lambda r: (
        isinstance(r, rq.FireTimer) and isinstance(r.task, rq.NexusTimeoutTask)
    ),
    "WORKFLOW_EXECUTION_OPTIONS_UPDATED": lambda r: isinstance(r, UpdateWorkflowExecutionOptions),
    "attach": lambda r: isinstance(r, rq.AttachToRun),
}


def _outcome(request: rq.Request) -> str | None:
    return request.outcome if isinstance(request, rq.RecordNexusOperationResult) else None


@pytest.mark.parametrize("event_type", sorted(_DROPS))
def test_a_deriver_that_drops_one_kind_of_request_differs(
    event_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = UNSEEN / "nexus-attach.handler.json" if event_type == "attach" else _with(event_type)
    assert judge_events(str(path), _events(path)).reproduced
    send = Driver.send

    def dropping(self: Driver, request: rq.Request, now: int) -> rq.Reply:
        if _DROPS[event_type](request):
            return rq.Ok()
        return send(self, request, now)

    monkeypatch.setattr(Driver, "send", dropping)
    verdict = judge_events(str(path), _events(path))
    assert verdict.difference is not None, path.name


def test_a_deriver_that_reads_the_schedule_command_back_empty_differs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ScheduleNexusOperation without the Scheduled event's fields names no endpoint: the
    model fails the workflow task instead of scheduling the operation."""
    path = _with("NEXUS_OPERATION_SCHEDULED")
    real = _events(path)
    scheduled = next(e for e in real if e.event_type is E.NEXUS_OPERATION_SCHEDULED)
    monkeypatch.setattr(derive_nexus, "_SCHEDULE_FIELDS", ())
    verdict = judge_events(str(path), real)
    assert verdict.difference is not None
    assert verdict.difference.event_id <= scheduled.event_id


def test_a_deriver_that_drops_the_cancel_command_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    path = _with("NEXUS_OPERATION_CANCEL_REQUESTED")
    real = _events(path)
    cancel = next(e for e in real if e.event_type is E.NEXUS_OPERATION_CANCEL_REQUESTED)
    command = derive_nexus.nexus_command

    def without_cancel(event: HistoryEvent) -> Any:
        return None if event.event_type is E.NEXUS_OPERATION_CANCEL_REQUESTED else command(event)

    monkeypatch.setattr(requests, "nexus_command", without_cancel)
    verdict = judge_events(str(path), real)
    assert verdict.difference is not None
    assert verdict.difference.event_id <= cancel.event_id  # its batch, at the latest


def test_the_handlers_failure_is_the_cause_the_server_wraps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The failure a handler answered with is the cause of the recorded one: a deriver that
    hands the model the recorded wrapper makes the model wrap it twice."""
    path = _with("NEXUS_OPERATION_FAILED")
    answer = derive_nexus.answer

    def unwrapped(state: Any, event: HistoryEvent) -> rq.RecordNexusOperationResult:
        request = answer(state, event)
        failure = derive_nexus.fields(event).get("failure")
        if request.outcome == "failed" and failure is not None:
            return rq.RecordNexusOperationResult(
                request.scheduled_event_id,
                request.request_id,
                request.outcome,
                failure=Opaque.of(failure),
                operation_token=request.operation_token,
            )
        return request

    monkeypatch.setattr(derive_nexus, "answer", unwrapped)
    verdict = judge_events(str(path), _events(path))
    assert verdict.difference is not None and verdict.difference.event_type == (
        "NEXUS_OPERATION_FAILED"
    )
    assert "failure" in verdict.difference.field


# -- a completion that arrives before the start's answer ------------------------------


def _early_completion(in_flight: bool) -> list[HistoryEvent]:
    """A history the model writes: a workflow schedules an operation, whose completion
    (with the token, the handler's links and start time) arrives before the start's
    answer; with `in_flight`, while a workflow task (a signal's) is in flight."""
    run = ServiceRun(rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "start"))
    fields: dict[str, JsonValue] = {"endpoint": "ep", "service": "S", "operation": "op"}
    attributes = OpaqueAttributes("scheduleNexusOperationCommandAttributes", Opaque.of(fields))
    schedule = Command(CommandType.SCHEDULE_NEXUS_OPERATION, attributes)
    endpoints = (("ep", "ep-id"),)
    run.send(rq.RespondWorkflowTaskCompleted(run.poll(), (schedule,), nexus_endpoints=endpoints))
    info = run.state.nexus_operations[0]
    token = None
    if in_flight:
        run.send(rq.SignalWorkflowExecution("go"))
        token = run.poll()
    link: JsonValue = {"workflowEvent": {"namespace": "default", "workflowId": "h", "runId": "r"}}
    completion = rq.RecordNexusOperationResult(
        info.scheduled_event_id,
        info.request_id,
        "completed",
        result=Opaque.of({"data": "eA=="}),
        operation_token="the-token",
        links=Opaque.of([link]),
        start_time=run.now,
    )
    assert isinstance(run.send(completion), rq.Ok)
    if token is not None:
        run.send(rq.RespondWorkflowTaskCompleted(token, ()))
    done = Command(
        CommandType.COMPLETE_WORKFLOW_EXECUTION, CompleteWorkflowExecutionCommandAttributes()
    )
    run.send(rq.RespondWorkflowTaskCompleted(run.poll(), (done,)))
    return [dataclasses.replace(e, task_id=n) for n, e in enumerate(run.events, start=1)]


@pytest.mark.parametrize("in_flight", [False, True])
def test_a_completion_before_the_starts_answer_is_one_request(in_flight: bool) -> None:
    """The server writes NexusOperationStarted and the outcome together for a completion
    that came first (fabricateStartedEventIfMissing); read back as two answers, the
    Started would schedule a workflow task between them, or the second would be
    refused."""
    events = _early_completion(in_flight)
    kinds = [e.event_type for e in events]
    started = kinds.index(E.NEXUS_OPERATION_STARTED)
    assert kinds[started + 1] is E.NEXUS_OPERATION_COMPLETED
    assert judge_events("early", events).reproduced
