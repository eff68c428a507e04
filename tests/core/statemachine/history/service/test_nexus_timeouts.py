"""A Nexus operation's timeout timers as the caller's history service takes them
(core/statemachine/history/service/nexus.py; the timeout tasks of
components/nexusoperations/statemachine.go and executors.go recordOperationTimeout):
schedule-to-close closes a scheduled or a started operation, schedule-to-start only one
not started yet, start-to-close only a started one; a stale timer changes nothing."""

from __future__ import annotations

import dataclasses

import pytest

from core import requests as rq
from core.commands import Command
from core.enums import CommandType as C
from core.enums import EventType as E
from core.events import OpaqueAttributes
from core.opaque import JsonValue, Opaque
from core.statemachine.history.service import nexus
from core.statemachine.history.service.state import NexusOperationInfo
from sim.service_run import SECOND
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


# -- the timeouts as timer tasks of the outbox -----------------------------------------


def _scheduled(timeouts: dict[str, JsonValue]) -> tuple[Run, int, str]:
    """A run whose workflow task scheduled an operation with `timeouts`: the run, the
    Scheduled event's id and its request id."""
    run = Run()
    attributes: dict[str, JsonValue] = {"endpoint": "ep", "service": "Svc", "operation": "op"}
    command = Command(
        C.SCHEDULE_NEXUS_OPERATION,
        OpaqueAttributes(
            "scheduleNexusOperationCommandAttributes", Opaque.of(attributes | timeouts)
        ),
    )
    completed = rq.RespondWorkflowTaskCompleted(
        run.poll(), (command,), nexus_endpoints=(("ep", "ep-id"),)
    )
    run.send(completed)
    info = run.state.nexus_operations[0]
    return run, info.scheduled_event_id, info.request_id


def _time(run: Run, event_type: E) -> int:
    """When the run's (one) event of `event_type` was written."""
    time = next(e.event_time for e in run.events if e.event_type is event_type)
    assert time is not None
    return time


def _armed(run: Run) -> dict[str, rq.NexusTimeoutTask]:
    return {t.outcome: t for t in run.timers if isinstance(t, rq.NexusTimeoutTask)}


def test_the_schedule_arms_its_timeouts_as_timer_tasks_and_the_start_its_start_to_close() -> None:
    run, sid, request_id = _scheduled(
        {
            "scheduleToCloseTimeout": "30s",
            "scheduleToStartTimeout": "5s",
            "startToCloseTimeout": "7.5s",
        }
    )
    scheduled_at = _time(run, E.NEXUS_OPERATION_SCHEDULED)
    armed = _armed(run)
    assert set(armed) == {"schedule_to_close_timed_out", "schedule_to_start_timed_out"}
    assert armed["schedule_to_close_timed_out"] == rq.NexusTimeoutTask(
        sid, request_id, "schedule_to_close_timed_out", scheduled_at + 30 * SECOND
    )
    assert armed["schedule_to_start_timed_out"].fire_time == scheduled_at + 5 * SECOND
    run.send(rq.RecordNexusOperationResult(sid, request_id, "started", operation_token="tok"))
    started_at = _time(run, E.NEXUS_OPERATION_STARTED)
    assert started_at > scheduled_at
    assert _armed(run)["start_to_close_timed_out"].fire_time == started_at + 7_500_000_000


def test_an_unset_timeout_arms_no_timer_task() -> None:
    run, sid, request_id = _scheduled({})
    assert _armed(run) == {}
    run.send(rq.RecordNexusOperationResult(sid, request_id, "started", operation_token="tok"))
    assert _armed(run) == {}


def test_a_fired_timer_task_times_the_operation_out_once_and_a_stale_one_changes_nothing() -> None:
    run, sid, request_id = _scheduled({"scheduleToStartTimeout": "5s", "startToCloseTimeout": "9s"})
    run.send(rq.RecordNexusOperationResult(sid, request_id, "started", operation_token="tok"))
    armed = _armed(run)
    # the operation started: its schedule-to-start timer is stale
    stale = armed["schedule_to_start_timed_out"]
    assert not nexus.timeout_armed(run.state, stale)
    events = len(run.events)
    assert isinstance(run.send(rq.FireTimer(stale)), rq.Error)
    assert len(run.events) == events and len(run.state.nexus_operations) == 1
    # a task armed for another operation at the same event id (another request id)
    other = dataclasses.replace(armed["start_to_close_timed_out"], request_id="another")
    assert not nexus.timeout_armed(run.state, other)
    assert isinstance(run.send(rq.FireTimer(other)), rq.Error) and len(run.events) == events
    live = armed["start_to_close_timed_out"]
    assert nexus.timeout_armed(run.state, live)
    assert run.send(rq.FireTimer(live)) == rq.Ok()
    timed_out = [e for e in run.events if e.event_type is E.NEXUS_OPERATION_TIMED_OUT]
    assert len(timed_out) == 1 and len(run.state.nexus_operations) == 0
    assert run.state.wft is not None  # the caller's workflow task to take the outcome
    assert not nexus.timeout_armed(run.state, live)  # fired: stale from now on
