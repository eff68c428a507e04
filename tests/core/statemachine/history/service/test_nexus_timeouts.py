"""A Nexus operation's timeout timers as the caller's history service takes them
(core/statemachine/history/service/nexus.py; the timeout tasks of
components/nexusoperations/statemachine.go and executors.go recordOperationTimeout):
schedule-to-close closes a scheduled or a started operation, schedule-to-start only one
not started yet, start-to-close only a started one; a stale timer changes nothing."""

from __future__ import annotations

import dataclasses

import pytest

from core import requests as rq
from core.enums import EventType as E
from core.events import OpaqueAttributes
from core.statemachine.history.service.state import NexusOperationInfo
from tests.core.statemachine.coverage_scenarios import Run

SCHEDULED = 5


def _run(token: str) -> Run:
    run = Run()
    info = NexusOperationInfo(SCHEDULED, "ep", "ep-id", "Svc", "op", "req-1", operation_token=token)
    run.state = dataclasses.replace(run.state, nexus_operations=(info,))
    run.events = []
    return run


@pytest.mark.parametrize(
    ("token", "outcome", "timeout_type"),
    [
        ("", "schedule_to_close_timed_out", "TIMEOUT_TYPE_SCHEDULE_TO_CLOSE"),
        ("tok", "schedule_to_close_timed_out", "TIMEOUT_TYPE_SCHEDULE_TO_CLOSE"),
        ("", "schedule_to_start_timed_out", "TIMEOUT_TYPE_SCHEDULE_TO_START"),
        ("tok", "start_to_close_timed_out", "TIMEOUT_TYPE_START_TO_CLOSE"),
    ],
)
def test_a_live_timer_writes_timed_out_and_closes_the_operation(
    token: str, outcome: str, timeout_type: str
) -> None:
    run = _run(token)
    assert run.send(rq.RecordNexusOperationResult(SCHEDULED, "req-1", outcome)) == rq.Ok()
    timed_out = [e for e in run.events if e.event_type is E.NEXUS_OPERATION_TIMED_OUT]
    assert len(timed_out) == 1 and isinstance(timed_out[0].attributes, OpaqueAttributes)
    info = {"scheduledEventId": "5", "endpoint": "ep", "service": "Svc", "operation": "op"}
    if token:
        info |= {"operationId": token, "operationToken": token}
    assert timed_out[0].attributes.value.value() == {
        "scheduledEventId": "5",
        "failure": {
            "message": "nexus operation completed unsuccessfully",
            "cause": {
                "message": "operation timed out",
                "timeoutFailureInfo": {"timeoutType": timeout_type},
            },
            "nexusOperationExecutionFailureInfo": info,
        },
        "requestId": "req-1",
    }
    assert run.state.nexus_operations == ()


@pytest.mark.parametrize(
    ("token", "outcome"),
    [("tok", "schedule_to_start_timed_out"), ("", "start_to_close_timed_out")],
)
def test_a_stale_timer_changes_nothing(token: str, outcome: str) -> None:
    run = _run(token)
    before = run.state.nexus_operations
    reply = run.send(rq.RecordNexusOperationResult(SCHEDULED, "req-1", outcome))
    assert isinstance(reply, rq.Error) and reply.kind is rq.ErrorKind.NOT_FOUND
    assert run.events == [] and run.state.nexus_operations == before
