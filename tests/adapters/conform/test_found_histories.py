"""Real histories from outside the scenario library (tests/fixtures/found-histories).

Each was recorded from the Temporal 1.32 dev server (some by the official samples,
some by workflows written to reach features the scenario library does not), and each
made `tmodel conform` report a difference that was the model's or its deriver's; its
manifest entry says which. Every one must keep the history rules and be reproduced
field for field, and a few values each fix is about are checked on the model's own
events, so that a fix undone fails here by name.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from adapters.cli import main
from adapters.conform.derive import Driver
from adapters.temporal_json import decode_history, encode_history
from core.events import HistoryEvent
from core.statemachine.history.validator import validate
from tests.conftest import FIXTURES

FOUND = FIXTURES / "found-histories"
MANIFEST: dict[str, Any] = json.loads((FOUND / "manifest.json").read_text(encoding="utf-8"))
NAMES = [entry["file"] for entry in MANIFEST["histories"]]


def _events(name: str) -> list[HistoryEvent]:
    return list(decode_history((FOUND / name).read_text(encoding="utf-8")).events)


def _model(name: str) -> list[dict[str, Any]]:
    """The model's events for the history, as JSON."""
    events: list[dict[str, Any]] = encode_history(Driver(_events(name)).run())["events"]  # type: ignore[assignment]
    return events


def _attrs(event: dict[str, Any]) -> dict[str, Any]:
    return next(v for k, v in event.items() if k.endswith("EventAttributes"))


def test_the_manifest_lists_every_file() -> None:
    on_disk = sorted(p.name for p in FOUND.glob("*.json") if p.name != "manifest.json")
    assert sorted(NAMES) == on_disk
    for entry in MANIFEST["histories"]:
        assert entry["events"] == len(_events(entry["file"])), entry["file"]


@pytest.mark.parametrize("name", NAMES)
def test_a_found_history_is_valid_and_reproduced(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert not validate(_events(name)).violations
    code = main(["conform", "--json", str(FOUND / name)])
    doc = json.loads(capsys.readouterr().out)
    (verdict,) = doc["histories"]
    assert verdict["first_difference"] is None and verdict["reproduced"], verdict
    assert code == 0


def test_signals_buffered_during_a_task_are_flushed_after_its_completion() -> None:
    kinds = [e["eventType"].removeprefix("EVENT_TYPE_") for e in _model("buffered-signals.json")]
    assert kinds[3:9] == [
        "WORKFLOW_TASK_COMPLETED",
        "MARKER_RECORDED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]


def test_a_running_activity_is_only_asked_to_cancel() -> None:
    kinds = [e["eventType"] for e in _model("cancel-running-activity.json")]
    assert "EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED" in kinds
    assert "EVENT_TYPE_ACTIVITY_TASK_CANCELED" not in kinds


def test_the_start_keeps_its_user_metadata_and_priority() -> None:
    real = json.loads((FOUND / "summaries.json").read_text(encoding="utf-8"))["events"][0]
    started = _model("summaries.json")[0]
    assert started["userMetadata"] == real["userMetadata"]
    assert _attrs(started)["priority"] == _attrs(real)["priority"] != {}


def test_a_failed_child_start_names_the_target_namespace() -> None:
    failed = next(
        _attrs(e)
        for e in _model("child-already-exists.json")
        if e["eventType"] == "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED"
    )
    assert failed["namespace"] == "default" and failed["namespaceId"]


def test_an_execution_timeout_writes_the_chains_deadline() -> None:
    started = _attrs(_model("execution-timeout-retry.run1.json")[0])
    assert started["workflowExecutionTimeout"] == "3s"
    assert "workflowExecutionExpirationTime" in started


def test_the_final_failed_attempt_names_the_failure_before_it() -> None:
    started = next(
        _attrs(e)
        for e in _model("hello-exception.json")
        if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_STARTED"
    )
    assert started["attempt"] == 2 and "lastFailure" in started


def test_a_continued_run_without_backoff_writes_none() -> None:
    started = _attrs(_model("hello-continue-as-new.json")[0])
    assert started["initiator"] == "CONTINUE_AS_NEW_INITIATOR_WORKFLOW"
    assert "firstWorkflowTaskBackoff" not in started


def test_a_child_chains_close_names_the_run_that_closed_it() -> None:
    model = _model("batch-sliding-window.json")
    started = {
        _attrs(e)["initiatedEventId"]: _attrs(e)["workflowExecution"]["runId"]
        for e in model
        if e["eventType"] == "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED"
    }
    closed = {
        _attrs(e)["initiatedEventId"]: _attrs(e)["workflowExecution"]["runId"]
        for e in model
        if e["eventType"] == "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED"
    }
    # the children continued as new: each chain closed in a later run than it started
    assert closed and all(closed[i] != started[i] for i in closed)


def test_an_activity_cancelled_before_it_started_closes_after_the_batch() -> None:
    model = _model("cancel-before-start.json")
    kinds = [e["eventType"].removeprefix("EVENT_TYPE_") for e in model]
    at = kinds.index("ACTIVITY_TASK_CANCEL_REQUESTED")
    assert kinds[at : at + 5] == [
        "ACTIVITY_TASK_CANCEL_REQUESTED",
        "TIMER_CANCELED",
        "TIMER_STARTED",
        "ACTIVITY_TASK_CANCELED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    canceled = _attrs(model[at + 3])
    completed = _attrs(model[at - 1])
    assert canceled["identity"] == completed["identity"] != ""
    data = canceled["details"]["payloads"][0]["data"]
    assert base64.b64decode(data) == b'"ACTIVITY_ID_NOT_STARTED"'


def test_a_final_failure_with_no_time_left_to_retry_is_reproduced() -> None:
    failed = next(
        _attrs(e)
        for e in _model("stc-during-backoff.json")
        if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_FAILED"
    )
    assert failed["retryState"] == "RETRY_STATE_TIMEOUT"
