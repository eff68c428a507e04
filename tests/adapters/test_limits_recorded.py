"""The model enforces the limits as the real server did, on the recorded limit histories.

`tmodel conform` reproduces these histories from the requests the history shows: a
failed task as the failure it records, a termination as a terminate request. That says
nothing about the limits. Here the model is given what the real worker actually sent
(the completion with the commands over the limit, the oversized activity result, the
timer fire or poll that pushed the history over its limit), under the limits the dev
server ran with (the manifest's `dynamic_config`), and must write, by itself, the very
events the server wrote: compared field by field as `tmodel conform` compares. The
size of the history is the store's: the host part of this test adds, after each of the
model's transactions, the encoded size of the events the real server wrote with those
ids, and each WorkflowTaskStarted's historySizeBytes checks that sum. With the default
limits the same requests write a different history (the guards are load-bearing).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf import json_format
from temporalio.api.history.v1 import History

from adapters.conform.derive import Driver
from adapters.conform.judge import _json, _stamped
from adapters.conform.requests import CannotReproduce
from adapters.history_compare import compare
from core import requests as rq
from core.commands import (
    Command,
    ModifyWorkflowPropertiesCommandAttributes,
    RequestCancelExternalWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
    UpsertWorkflowSearchAttributesCommandAttributes,
)
from core.enums import CommandType as C
from core.enums import EventType as E
from core.events import (
    ActivityType,
    TaskQueue,
    TimerFiredEventAttributes,
    WorkflowExecution,
    WorkflowType,
)
from core.opaque import Opaque
from core.payloads import payload, to_payloads
from core.statemachine.history.limits import DEFAULT_LIMITS, Limits, with_settings
from core.statemachine.history.service import enforce
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.txn import Outcome
from core.statemachine.history.validator import validate
from tests.conftest import HISTORIES, corpus_events

MANIFEST = json.loads((HISTORIES / "manifest.json").read_text(encoding="utf-8"))
CONFIGURED = {
    e["file"]: e["dynamic_config"] for e in MANIFEST["histories"] if "dynamic_config" in e
}


def recorded_limits(name: str) -> Limits:
    return with_settings(DEFAULT_LIMITS, CONFIGURED[name])


class Host(Driver):
    """Conform's driver, under `limits`, as a host that keeps the store's history size.

    `instead` maps a position of the recorded history to what the real worker or timer
    queue did there (which the history does not show); it returns the next position."""

    def __init__(
        self, name: str, limits: Limits, instead: dict[int, Callable[[Host, int], int]]
    ) -> None:
        super().__init__(corpus_events(name))
        self.limits = limits
        self.instead = instead
        self.stored = _proto_events(name)
        self.batches: list[tuple[int, int]] = []  # (first event id, encoded size)
        self.answers: list[rq.Reply] = []

    def apply(self, outcome: Outcome) -> rq.Reply:
        written = [e.event_id for e in outcome.events]
        if written and max(written) <= len(self.stored):
            size = History(events=[self.stored[i - 1] for i in written]).ByteSize()
            self.batches.append((written[0], size))
            outcome = dataclasses.replace(outcome, state=enforce.persisted(outcome.state, size))
        return super().apply(outcome)

    def send(self, request: rq.Request, now: int) -> rq.Reply:
        assert self.state is not None
        reply = self.apply(service.handle(self.state, request, now, self.limits))
        if isinstance(reply, rq.Error):
            raise CannotReproduce(f"{type(request).__name__} rejected: {reply.message}")
        return reply

    def over_the_limit(self, request: rq.Request, now: int) -> None:
        """Send the request the recorded limits refuse (the server answered it with
        InvalidArgument); its reply is kept in `answers`."""
        assert self.state is not None
        self.answers.append(self.apply(service.handle(self.state, request, now, self.limits)))

    def step(self, i: int) -> int:
        action = self.instead.get(i)
        return action(self, i) if action is not None else super().step(i)


def _proto_events(name: str) -> list[Any]:
    history = json_format.Parse((HISTORIES / name).read_text(encoding="utf-8"), History())
    return list(history.events)


def _difference(host: Host, name: str) -> object:
    produced = host.run()
    return compare(_json(_stamped(produced)), _json(corpus_events(name)))


def _completion(host: Host, i: int, commands: list[Command]) -> None:
    event = host.real[i]
    host.over_the_limit(
        rq.RespondWorkflowTaskCompleted(host.token(), tuple(commands), identity=_identity(host, i)),
        event.event_time or 0,
    )


def _identity(host: Host, i: int) -> str:
    return str(getattr(host.real[i].attributes, "identity", ""))


# --- what the real workers sent (adapters/conform/scenarios/workflows_limits.py) ---------

KB3 = 3000


def _pending_commands(kind: str, workflow_id: str) -> list[Command]:
    target = f"{workflow_id}-target"
    made: list[Command] = []
    for i in range(3):
        if kind == "activities":
            made.append(
                Command(
                    C.SCHEDULE_ACTIVITY_TASK,
                    ScheduleActivityTaskCommandAttributes(
                        activity_id=str(i + 1),
                        activity_type=ActivityType(name="limit_echo"),
                        task_queue=TaskQueue(name="rec-limits-unpolled"),
                        input=to_payloads([f"a{i}"]),
                        schedule_to_close_timeout=10 * 10**9,
                    ),
                )
            )
        elif kind == "children":
            made.append(
                Command(
                    C.START_CHILD_WORKFLOW_EXECUTION,
                    StartChildWorkflowExecutionCommandAttributes(
                        workflow_id=f"{target}-{i}",
                        workflow_type=WorkflowType(name="LimitChildWorkflow"),
                    ),
                )
            )
        elif kind == "signals":
            made.append(
                Command(
                    C.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
                    SignalExternalWorkflowExecutionCommandAttributes(
                        execution=WorkflowExecution(workflow_id=f"{target}-{i}"),
                        signal_name="ping",
                    ),
                )
            )
        else:
            made.append(
                Command(
                    C.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION,
                    RequestCancelExternalWorkflowExecutionCommandAttributes(
                        workflow_id=f"{target}-{i}"
                    ),
                )
            )
    return made


def _fails_the_task(commands: list[Command], skip: int) -> Callable[[Host, int], int]:
    def act(host: Host, i: int) -> int:
        _completion(host, i, commands)
        return i + skip

    return act


PENDING = {
    "limit-pending-activities.json": "activities",
    "limit-pending-children.json": "children",
    "limit-pending-signals.json": "signals",
    "limit-pending-cancels.json": "cancels",
}


def _pending_scenario(name: str) -> dict[int, Callable[[Host, int], int]]:
    workflow_id = str(getattr(corpus_events(name)[0].attributes, "workflow_id", ""))
    commands = _pending_commands(PENDING[name], workflow_id)
    return {3: _fails_the_task(commands, 1)}  # WorkflowTaskFailed(4): the completion


def _big_input() -> list[Command]:
    attributes = ScheduleActivityTaskCommandAttributes(
        activity_id="1",
        activity_type=ActivityType(name="limit_echo"),
        task_queue=TaskQueue(name="rec-limit-blob-input"),  # the run's, as the SDK named it
        input=to_payloads(["y" * KB3]),
        start_to_close_timeout=10 * 10**9,
    )
    return [Command(C.SCHEDULE_ACTIVITY_TASK, attributes)]


def _big_memo() -> list[Command]:
    memo = Opaque.of({"fields": {"note": payload("m" * 800)}})
    return [Command(C.MODIFY_WORKFLOW_PROPERTIES, ModifyWorkflowPropertiesCommandAttributes(memo))]


def _big_search_attribute() -> list[Command]:
    value = payload("s" * 300)
    metadata = value["metadata"]
    assert isinstance(metadata, dict)
    metadata["type"] = "S2V5d29yZA=="  # base64 "Keyword"
    attributes = Opaque.of({"indexedFields": {"RecorderStage": value}})
    return [
        Command(
            C.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
            UpsertWorkflowSearchAttributesCommandAttributes(attributes),
        )
    ]


def _big_result(host: Host, i: int) -> int:
    """The activity answered with a 3000-byte result: the frontend fails it instead."""
    failed = host.real[i]
    sid = int(getattr(failed.attributes, "scheduled_event_id", 0))
    started = host.started_event(sid)
    assert started is not None
    now = failed.event_time or 0
    host.start_final_attempt(started, now)
    completed = rq.RespondActivityTaskCompleted(
        host.activity_token(sid), to_payloads(["x" * KB3]), _identity(host, i)
    )
    host.send(completed, now)
    return i + 1


def _timer_fires(host: Host, i: int) -> int:
    """The timer fired: the transaction would take the history past its count limit."""
    task = host.pending(rq.UserTimerTask, {})
    host.timers.remove(task)
    host.over_the_limit(rq.FireTimer(task), host.real[i].event_time or 0)
    return i + 1


def _task_polled(host: Host, i: int) -> int:
    """A worker polled the next task: the store already holds more than the size limit."""
    assert host.state is not None and host.state.wft is not None
    wft = host.state.wft
    poll = rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, "poll", "worker")
    host.over_the_limit(poll, host.real[i].event_time or 0)
    return i + 1


Instead = dict[int, Callable[[Host, int], int]]


def _pending_of(name: str) -> Callable[[], Instead]:
    return lambda: _pending_scenario(name)


SCENARIOS: dict[str, Callable[[], Instead]] = {
    **{name: _pending_of(name) for name in PENDING},
    "limit-blob-input.json": lambda: {3: _fails_the_task(_big_input(), 2)},
    "limit-memo-size.json": lambda: {3: _fails_the_task(_big_memo(), 2)},
    "limit-search-attribute-size.json": lambda: {3: _fails_the_task(_big_search_attribute(), 2)},
    "limit-blob-result.json": lambda: {6: _big_result},
    "limit-history-count.json": lambda: {20: _timer_fires},
    "limit-history-size.json": lambda: {17: _task_polled},
}


def test_every_recorded_limit_history_has_its_scenario_here() -> None:
    assert set(SCENARIOS) == set(CONFIGURED)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_model_enforces_the_limit_as_the_server_did(name: str) -> None:
    host = Host(name, recorded_limits(name), SCENARIOS[name]())
    assert _difference(host, name) is None
    if name != "limit-blob-result.json":  # (there the frontend converts the request)
        (answer,) = host.answers
        assert isinstance(answer, rq.Error) and answer.kind is rq.ErrorKind.INVALID_ARGUMENT


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_without_the_recorded_limits_the_model_writes_another_history(name: str) -> None:
    host = Host(name, DEFAULT_LIMITS, SCENARIOS[name]())
    try:
        found = _difference(host, name)
    except CannotReproduce:  # the run went on where the recorded one had ended
        found = "the rest of the history cannot follow"
    assert found is not None
    assert not any(isinstance(answer, rq.Error) for answer in host.answers)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_store_sizes_add_up_to_the_servers_history_sizes(name: str) -> None:
    """The model's transactions are the server's batches: summing their recorded sizes
    gives every WorkflowTaskStarted's historySizeBytes."""
    host = Host(name, recorded_limits(name), SCENARIOS[name]())
    host.run()
    started = [e for e in corpus_events(name) if e.event_type is E.WORKFLOW_TASK_STARTED]
    assert started
    for event in started:
        before = sum(size for first, size in host.batches if first < event.event_id)
        assert before == getattr(event.attributes, "history_size_bytes", None), event.event_id


@pytest.mark.parametrize("name", sorted(CONFIGURED))
def test_the_validator_accepts_each_under_its_own_limits(name: str) -> None:
    assert validate(corpus_events(name), recorded_limits(name)).violations == ()


def test_the_validator_catches_a_run_that_went_on_past_the_count_limit() -> None:
    """The count history as a server without the limit would have gone on: the timer
    fires (events 21, 22) instead of the termination."""
    name = "limit-history-count.json"
    events = corpus_events(name)
    fired, scheduled = events[15], events[16]  # the previous timer's TimerFired, next task
    assert isinstance(fired.attributes, TimerFiredEventAttributes)
    assert scheduled.event_type is E.WORKFLOW_TASK_SCHEDULED
    attributes = dataclasses.replace(fired.attributes, timer_id="4", started_event_id=20)
    went_on = (
        *events[:-1],
        dataclasses.replace(fired, event_id=21, attributes=attributes),
        dataclasses.replace(scheduled, event_id=22),
    )
    assert validate(went_on).violations == ()
    found = [(v.rule, v.event_id) for v in validate(went_on, recorded_limits(name)).violations]
    assert found == [("LIMIT-HISTORY-COUNT", 22), ("LIMIT-HISTORY-COUNT", 22)]
