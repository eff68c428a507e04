"""More of what older Temporal servers wrote, as the official SDKs' replay-test histories
show it (tests/adapters/test_public_histories.py has the first part): each case is built
from the project's own recorded fixtures, changed the way an older server or another
namespace wrote the same thing; no SDK file is copied.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import main
from adapters.conform.judge import judge_events
from adapters.conform.older_servers import _epoch_ns, is_version, older_server, released
from adapters.temporal_json import decode_history, encode_history
from tests.adapters.test_conform_nexus import _early_completion
from tests.adapters.test_public_histories import _conform, _load
from tests.conftest import FIXTURES, HISTORIES
from tests.conftest import script as load_script

UNSEEN = FIXTURES / "unseen-histories"


def _dated(doc: dict[str, Any], year: str) -> dict[str, Any]:
    """The history with its first event (its date, for older_servers.py) in `year`."""
    first = doc["events"][0]
    first["eventTime"] = year + first["eventTime"][4:]
    return doc


def _without_key(value: Any, key: str) -> int:
    """Drop `key` wherever it occurs in `value`; how many were dropped."""
    dropped = 0
    if isinstance(value, dict):
        dropped += value.pop(key, None) is not None
        for inner in value.values():
            dropped += _without_key(inner, key)
    elif isinstance(value, list):
        for inner in value:
            dropped += _without_key(inner, key)
    return dropped


# ------------------------------------------------------------ Nexus before 1.27.0


def test_an_early_completion_older_than_operation_tokens_is_reproduced() -> None:
    """A completion that came before the start's answer: the server writes the Started
    it lacked from the completion's token, which servers before 1.27.0 recorded as
    operationId alone. Read back without a token, the completion would write no Started
    and every later event id would be one off (sdk-java's
    testAsyncWorkflowOperationTestHistory, February 2025)."""
    doc: dict[str, Any] = json.loads(json.dumps(encode_history(_early_completion(False))))
    started = [e for e in doc["events"] if e["eventType"] == "EVENT_TYPE_NEXUS_OPERATION_STARTED"]
    assert len(started) == 1
    attrs = started[0]["nexusOperationStartedEventAttributes"]
    assert attrs["operationId"] == attrs.pop("operationToken")
    events = list(decode_history(json.dumps(_dated(doc, "1970"))).events)
    assert events[0].event_time is not None and events[0].event_time < 10**18
    verdict = judge_events("early", events)
    assert verdict.reproduced, verdict.difference


@pytest.mark.parametrize("name", ["nexus-async.json", "nexus-cancel-try.json"])
def test_a_nexus_failure_older_than_operation_tokens_is_reproduced(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Servers before 1.27.0 named the operation in the failure they wrap around a
    failed or canceled operation's cause by operationId alone, as they did on Started."""
    doc = copy.deepcopy(_load(UNSEEN / name))
    started = [e for e in doc["events"] if e["eventType"] == "EVENT_TYPE_NEXUS_OPERATION_STARTED"]
    assert _without_key(doc, "operationToken") > len(started)  # a failure's too
    recent = _conform(tmp_path, doc, capsys)
    assert recent.startswith("DIFFERS") and "operationToken" in recent
    assert _conform(tmp_path, _dated(doc, "2024"), capsys).startswith("reproduced")


# ------------------------------------------------------------ the run's namespace


def test_the_runs_namespace_is_read_from_the_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A history of a namespace other than "default" names it where an event pairs the
    namespace's name with its id (here the external signal's events, which the server
    fills in with the run's own); the model writes the run's namespace there."""
    doc = copy.deepcopy(_load(HISTORIES / "signal-external.json"))
    text = json.dumps(doc)
    renamed = text.replace('"namespace": "default"', '"namespace": "UnitTest"')
    assert renamed != text
    assert _conform(tmp_path, json.loads(renamed), capsys).startswith("reproduced")


# ------------------------------------------------------------ a 1.26 server's deployment


def _with_deployment(doc: dict[str, Any]) -> dict[str, Any]:
    """The history as a 1.26 server wrote it for a worker that sent its build id as the
    task completion's deployment: the server copied it onto WorkflowTaskCompleted."""
    completed = [e for e in doc["events"] if e["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_COMPLETED"]
    assert completed
    for event in completed:
        event["workflowTaskCompletedEventAttributes"]["deployment"] = {"buildId": "b-1"}
    return doc


def test_a_126_servers_deployment_field_is_not_a_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only 1.26 servers wrote WorkflowTaskCompleted's `deployment` (sdk-go's nexus-cancel
    replay tests, May 2025); 1.32 writes none."""
    doc = _with_deployment(copy.deepcopy(_load(HISTORIES / "activity-single.json")))
    assert _conform(tmp_path, doc, capsys).startswith("reproduced")
    # it dates the history before 1.27.0 only: a field 1.21.0 began writing is missing
    del doc["events"][0]["workflowExecutionStartedEventAttributes"]["workflowId"]
    out = _conform(tmp_path, doc, capsys)
    assert out.startswith("DIFFERS") and "workflowId" in out


def test_a_126_servers_deployment_dates_its_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A history recorded after 1.27.0's release by a 1.26 server (its `deployment` says
    so) is judged as one older than 1.27.0: it lacks the operation tokens 1.27.0 began
    writing; without the mark, a recent history lacking them differs."""
    doc = copy.deepcopy(_load(HISTORIES / "nexus.json"))
    assert _without_key(doc, "operationToken")
    recent = _conform(tmp_path, doc, capsys)
    assert recent.startswith("DIFFERS") and "operationToken" in recent
    assert _conform(tmp_path, _with_deployment(doc), capsys).startswith("reproduced")


# ------------------------------------------------------------ a removed field, empty


@pytest.mark.parametrize(("value", "verdict"), [("", "reproduced"), ("other", "DIFFERS")])
def test_a_removed_field_holding_its_default_is_unset(
    value: str, verdict: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ActivityTaskScheduled's `namespace` (a string, removed from the API in 2022) as a
    JSON written with every default emitted holds it: "" is the field unset (sdk-
    typescript's cancel_fake_progress_history.json, whose binary form is reproduced);
    another value is still a difference."""
    doc = copy.deepcopy(_load(HISTORIES / "activity-single.json"))
    key = "activityTaskScheduledEventAttributes"
    scheduled = [e for e in doc["events"] if key in e]
    assert scheduled
    scheduled[0][key]["namespace"] = value
    assert _conform(tmp_path, doc, capsys).startswith(verdict)


# ------------------------------------------------ an empty memo or search attributes, before 1.31.0


@pytest.mark.parametrize(
    "key",
    [
        "workflowExecutionStartedEventAttributes",
        "workflowExecutionContinuedAsNewEventAttributes",
        "startChildWorkflowExecutionInitiatedEventAttributes",
    ],
)
@pytest.mark.parametrize(
    ("path", "empty", "full"),
    [
        ("memo", {}, {"fields": {"a": 1}}),
        ("memo", {"fields": {}}, {"fields": {"a": 1}}),
        ("searchAttributes", {"indexedFields": {}}, {"indexedFields": {"A": 1}}),
    ],
)
def test_an_empty_memo_or_search_attributes_older_servers_copied_is_left_out(
    key: str, path: str, empty: dict[str, object], full: dict[str, object]
) -> None:
    """1.31.0 and later write no memo or search attributes for an empty one on a start,
    a continue-as-new or a child's start (payload.FilterNilMemo and
    FilterNilSearchAttributes); older servers copied it. Where the model writes none, the
    recorded empty value of a history older than 1.31.0 is left out, and only then."""
    model = [{"eventId": "1", key: {"input": "x"}}]
    recorded = [{"eventId": "1", key: {"input": "x", path: empty}}]
    before = _epoch_ns("2025-01-01")
    _, old = older_server(model, recorded, before)
    assert old == model
    _, recent = older_server(model, recorded, _epoch_ns("2026-06-01"))
    assert recent == recorded
    _, kept = older_server(model, [{"eventId": "1", key: {path: full}}], before)
    assert kept[0][key] == {path: full}


def test_the_script_counts_the_126_servers_histories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script("public_histories")
    (tmp_path / "a.json").write_text((HISTORIES / "activity-single.json").read_text())
    doc = _with_deployment(_load(HISTORIES / "activity-single.json"))
    (tmp_path / "b.json").write_text(json.dumps(doc))
    assert script.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "conform:  reproduced 2, differing 0," in out
    assert "     1  1.26 server (WorkflowTaskCompleted.deployment)" in out


# ------------------------------------------------ a server version instead of the date


def test_a_server_version_is_read_as_its_minor_releases_day() -> None:
    assert released("1.29.1") == _epoch_ns("2025-10-03")
    # a pre-release of x.y.0 came before x.y.0 (1.31.0-151.0 lacks a commit 1.31.0 has);
    # one of a later patch, or with build metadata only, is read as its minor
    assert released("v1.31.0-154.4") == _epoch_ns("2026-04-29") - 1
    assert released("1.31.0-151.0") == _epoch_ns("2026-04-29") - 1
    assert released("1.31.2-rc1") == released("1.31.0+build.7") == _epoch_ns("2026-04-29")
    assert released("1.31") == _epoch_ns("2026-04-29")
    assert released("1.2.3") == _epoch_ns("2020-10-13")  # 1.2.0 has no tag: 1.1's day
    assert released("1.32.0") is None and released("1.40") is None  # the model's, or newer
    assert not is_version("unknown") and is_version("1.29")
    with pytest.raises(ValueError, match="not a server version"):
        released("unknown")


def test_a_recent_history_of_an_older_server_is_judged_by_its_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 1.29 dev server run today copies a child's empty memo (1.31.0 leaves it out:
    DROPPED_EMPTY); the events' times are today's, so only --server-version tells."""
    doc = _load(HISTORIES / "child-success.json")
    key = "startChildWorkflowExecutionInitiatedEventAttributes"
    initiated = [e for e in doc["events"] if key in e]
    assert initiated
    initiated[0][key]["memo"] = {}
    path = tmp_path / "h.json"
    path.write_text(json.dumps(doc))
    main(["conform", str(path)])
    assert "DIFFERS" in capsys.readouterr().out
    assert main(["conform", "--server-version", "1.29.1", str(path)]) == 0
    assert main(["conform", "--server-version", "1.31.0", str(path)]) == 1
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["conform", "--server-version", "banana", str(path)])
    assert exited.value.code == 2
    assert "not a server version: 'banana'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("activity-schedule-to-start-timeout", None),
        ("activity-schedule-to-close-timeout", "activity ScheduleToClose timeout"),
    ],
)
def test_a_schedule_timeout_before_131_is_a_non_retryable_failure(
    name: str, message: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Servers before 1.31.0 closed an activity whose schedule-to-start or
    schedule-to-close timeout left no attempt as a non-retryable failure, the
    schedule-to-close one with the timer's own message (as the 1.29.1 and 1.30.2 dev
    servers wrote these two scenarios); 1.31.0 writes RETRY_STATE_TIMEOUT
    (WROTE_OTHERWISE)."""
    doc = _load(HISTORIES / f"{name}.json")
    key = "activityTaskTimedOutEventAttributes"
    timed_out = [e[key] for e in doc["events"] if key in e]
    assert timed_out and timed_out[-1]["retryState"] == "RETRY_STATE_TIMEOUT"
    timed_out[-1]["retryState"] = "RETRY_STATE_NON_RETRYABLE_FAILURE"
    if message is not None:
        timed_out[-1]["failure"]["message"] = message
    path = tmp_path / "h.json"
    path.write_text(json.dumps(doc))
    assert main(["conform", "--server-version", "1.30.2", str(path)]) == 0
    assert main(["conform", "--server-version", "1.31.0", str(path)]) == 1
    assert main(["conform", str(path)]) == 1  # recorded in 2026, after 1.31.0
    capsys.readouterr()
