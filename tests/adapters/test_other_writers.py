"""Histories as writers other than a 1.32 server write them, found by running the
histories of the SDKs' repositories, samples-go and the Web UI's test fixtures through
`tmodel validate` and `tmodel conform` (docs/conformance.md, "Histories from the SDKs'
repositories"). Each case is built here from the project's own recorded fixtures,
changed the way that writer wrote the same thing; no outside file is copied.

- JSON writers that emit every field write an unset message as `null` (protojson's
  unset), inside failures and payloads too;
- servers before 1.16.0 wrote every activity timeout's failure as "activity timeout";
- a difference that an older server explains names the --server-version that would;
- the Java SDK's test server writes WorkflowTaskCompleted without its startedEventId.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import main
from adapters.conform.older_servers import NEWER_FIELDS, WROTE_OTHERWISE, hint
from adapters.history_compare import compare
from adapters.temporal_json import BadInput, decode_history
from tests.conftest import HISTORIES


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HISTORIES / name).read_text())
    return data


def _run(
    tmp_path: Path, doc: dict[str, Any], capsys: pytest.CaptureFixture[str], *args: str
) -> Any:
    path = tmp_path / "h.json"
    path.write_text(json.dumps(doc))
    code = main([*args, "--json", str(path)])
    return code, json.loads(capsys.readouterr().out)


def _conform(
    tmp_path: Path, doc: dict[str, Any], capsys: pytest.CaptureFixture[str], *options: str
) -> tuple[int, dict[str, Any]]:
    code, out = _run(tmp_path, doc, capsys, "conform", *options)
    (verdict,) = out["histories"]
    return code, verdict


def _older_only(
    tmp_path: Path,
    doc: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    older: str,
    release: str,
    field: str,
) -> str:
    """Check that `doc` is reproduced as written by the server `older`, and differs at
    `field` as written by `release`, with no hint (a version was given); its hint when
    judged by its 2026 events' date."""
    code, verdict = _conform(tmp_path, doc, capsys, "--server-version", older)
    assert (code, verdict["reproduced"]) == (0, True), verdict
    code, verdict = _conform(tmp_path, doc, capsys, "--server-version", release)
    assert (code, verdict["first_difference"]["field"]) == (1, field), verdict
    assert "hint" not in verdict
    code, verdict = _conform(tmp_path, doc, capsys)
    assert code == 1
    hinted: str = verdict["hint"]
    return hinted


def _events(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [e[key] for e in doc["events"] if key in e]


# ------------------------------------------------------------ null is unset


def _timed_out(doc: dict[str, Any]) -> dict[str, Any]:
    (attrs,) = _events(doc, "activityTaskTimedOutEventAttributes")
    return attrs


def test_null_in_a_failure_is_the_field_unset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A schedule-to-start timeout whose failure has `"cause": null` and
    `"lastHeartbeatDetails": null`, as a writer emitting every field writes it: the
    model builds that failure itself and writes neither field, which is the same."""
    doc = copy.deepcopy(_load("activity-schedule-to-start-timeout.json"))
    failure = _timed_out(doc)["failure"]
    failure["cause"] = None
    failure["timeoutFailureInfo"]["lastHeartbeatDetails"] = None
    code, verdict = _conform(tmp_path, doc, capsys)
    assert (code, verdict["reproduced"]) == (0, True), verdict


def test_a_value_where_the_other_side_has_none_still_differs() -> None:
    """The control, on the comparison itself: null is the same as absent, a failure
    is not."""
    doc = _load("activity-schedule-to-start-timeout.json")
    for cause, differs in ((None, False), ({"message": "an attempt failed"}, True)):
        edited = copy.deepcopy(doc)
        _timed_out(edited)["failure"]["cause"] = cause
        found = compare(doc["events"], edited["events"])
        assert (found is not None) == differs, found
        if found is not None:
            assert found.field.endswith("failure.cause")
            shown = '{"message": "an attempt failed"}'
            assert (found.expected, found.produced) == ("(absent)", shown)


# ------------------------------------------------------------ "activity timeout" before 1.16

_TIMED_OUT, _STARTED = "activityTaskTimedOutEventAttributes", "activityTaskStartedEventAttributes"


@pytest.mark.parametrize(
    ("name", "key", "failure"),
    [
        ("activity-schedule-to-start-timeout.json", _TIMED_OUT, "failure"),
        ("activity-schedule-to-close-timeout.json", _TIMED_OUT, "failure"),
        ("activity-start-to-close-timeout.json", _STARTED, "lastFailure"),
        ("activity-heartbeat-timeout.json", _STARTED, "lastFailure"),
    ],
)
def test_servers_before_1_16_wrote_every_activity_timeout_alike(
    name: str, key: str, failure: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """temporal f6acc48e8c (1.16.0) named the timeout's type in its message; before it,
    "activity timeout" (timerQueueActiveTaskExecutor.go), on the timeout event and on
    the next attempt's ActivityTaskStarted as its last failure."""
    doc = copy.deepcopy(_load(name))
    changed = [a[failure] for a in _events(doc, key) if "timeoutFailureInfo" in a.get(failure, {})]
    assert changed, "the fixture has no activity timeout there"
    for value in changed:
        value["message"] = "activity timeout"
    # a 1.16 server named the type: the old message is a difference there
    assert _older_only(tmp_path, doc, capsys, "1.15.0", "1.16.0", f"{key}.{failure}.message") == (
        "servers before 1.16.0 wrote this value: if an older server wrote this history, "
        "give its version, as in --server-version 1.15.0"
    )


# ------------------------------------------------------------ hints


def test_a_missing_newer_field_names_the_version_that_explains_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 2026 history without the start's workflowId (an older server of a
    self-hosted cluster, recorded after 1.21.0 came out) differs, and says which
    --server-version would excuse it; given that version, it is reproduced."""
    doc = copy.deepcopy(_load("activity-single.json"))
    del doc["events"][0]["workflowExecutionStartedEventAttributes"]["workflowId"]
    code, verdict = _conform(tmp_path, doc, capsys)
    assert code == 1
    field = verdict["first_difference"]["field"]
    assert field == "workflowExecutionStartedEventAttributes.workflowId"
    assert "--server-version 1.20.0" in verdict["hint"]
    assert "servers before 1.21.0 do not write this field" in verdict["hint"]
    code, verdict = _conform(tmp_path, doc, capsys, "--server-version", "1.20.0")
    assert (code, verdict["reproduced"]) == (0, True), verdict
    path = tmp_path / "h.json"
    assert main(["conform", str(path)]) == 1
    assert "  hint: servers before 1.21.0" in capsys.readouterr().out


def test_a_difference_no_older_server_explains_has_no_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A timeout message no server wrote differs with no hint; nor does a newer field
    the recorded event has, with another value."""
    doc = copy.deepcopy(_load("activity-schedule-to-start-timeout.json"))
    _timed_out(doc)["failure"]["message"] = "activity went away"
    code, verdict = _conform(tmp_path, doc, capsys)
    assert code == 1 and verdict["first_difference"]["field"].endswith("failure.message")
    assert "hint" not in verdict
    field = "workflowExecutionStartedEventAttributes.workflowId"
    assert hint(field, {"workflowExecutionStartedEventAttributes": {"workflowId": "x"}}) is None
    assert hint("workflowExecutionStartedEventAttributes.input", {}) is None


def test_every_rule_hints_at_a_release_before_its_own() -> None:
    """Each NEWER_FIELDS and WROTE_OTHERWISE rule, met in a recorded event, gives a
    hint naming the release before the one that changed it (MINOR_RELEASES)."""
    for newer in NEWER_FIELDS:
        text = hint(f"{newer.attributes}.{newer.path}", {newer.attributes: {}})
        assert text is not None and "do not write this field" in text, newer
    for other in WROTE_OTHERWISE:
        recorded: dict[str, Any] = {}
        inner = recorded.setdefault(other.attributes, {})
        *parents, last = other.path.split(".")
        for part in parents:
            inner = inner.setdefault(part, {})
        inner[last] = other.old
        text = hint(f"{other.attributes}.{other.path}", recorded)
        assert text is not None and "wrote this value" in text, other


# ------------------------------------------------------------ the Java SDK's test server


def _as_java_test_server(doc: dict[str, Any], task_ids: bool = False) -> dict[str, Any]:
    """The history as sdk-java's test server writes it: WorkflowTaskCompleted without
    its startedEventId, the commands' events naming the WorkflowTaskStarted as their
    completion, and (unless `task_ids`) no task ids."""
    doc = copy.deepcopy(doc)
    for event in doc["events"]:
        if not task_ids:
            event.pop("taskId", None)
        done = event.get("workflowTaskCompletedEventAttributes")
        if done is not None:
            done.pop("startedEventId")
        for key, attrs in event.items():
            if key.endswith("EventAttributes") and "workflowTaskCompletedEventId" in attrs:
                attrs["workflowTaskCompletedEventId"] = str(
                    int(attrs["workflowTaskCompletedEventId"]) - 1
                )
    return doc


def test_a_java_test_server_history_is_invalid_and_says_who_writes_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _as_java_test_server(_load("activity-single.json"))
    code, out = _run(tmp_path, doc, capsys, "validate")
    (report,) = out["files"]
    assert code == 1 and not report["valid"]
    assert {v["rule"] for v in report["violations"]} >= {"H5"}
    assert "Java SDK's test server" in report["note"]
    code, verdict = _conform(tmp_path, doc, capsys)
    assert code == 1 and verdict["first_difference"]["field"] == "rule H5"
    assert "Java SDK's test server" in verdict["hint"]
    main(["validate", str(tmp_path / "h.json")])
    assert "  note: every WorkflowTaskCompleted lacks" in capsys.readouterr().out


def test_an_invalid_history_with_task_ids_is_not_put_down_to_the_test_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same breakage in a history with task ids (a server's) gets no such note."""
    doc = _as_java_test_server(_load("activity-single.json"), task_ids=True)
    code, out = _run(tmp_path, doc, capsys, "validate")
    (report,) = out["files"]
    assert code == 1 and "note" not in report
    code, verdict = _conform(tmp_path, doc, capsys)
    assert code == 1 and "hint" not in verdict


# ------------------------------------------------------------ a child without a header


def test_a_child_started_without_a_header_gets_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server copies a start-child command's header as it comes
    (CreateStartChildWorkflowExecutionInitiatedEvent, historybuilder/event_factory.go),
    and so do the child's events: a worker that sends none (sdk-php through RoadRunner)
    gets none on StartChildWorkflowExecutionInitiated and ChildWorkflowExecutionStarted.
    The model wrote `{}`. An empty header sent is kept (child-success.json as
    recorded, in the corpus)."""
    doc = copy.deepcopy(_load("child-success.json"))
    dropped = 0
    for key in (
        "startChildWorkflowExecutionInitiatedEventAttributes",
        "childWorkflowExecutionStartedEventAttributes",
    ):
        for attrs in _events(doc, key):
            dropped += attrs.pop("header", None) == {}
    assert dropped == 2
    code, verdict = _conform(tmp_path, doc, capsys)
    assert (code, verdict["reproduced"]) == (0, True), verdict


# ------------------------------------------------------------ pre-release servers


def test_a_pre_release_server_is_older_than_its_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """temporal CLI 1.6.1's dev server reports 1.31.0-151.0, a pre-release that still
    wrote an empty memo (6d1c05c8bd, DROPPED_EMPTY, came in 1.31.0-154.0): judged as
    written before 1.31.0, its `memo: {}` is no difference; judged as 1.31.0 it is one.
    Without a version, the difference hints at one."""
    doc = copy.deepcopy(_load("activity-single.json"))
    doc["events"][0]["workflowExecutionStartedEventAttributes"]["memo"] = {}
    field = "workflowExecutionStartedEventAttributes.memo"
    assert _older_only(tmp_path, doc, capsys, "1.31.0-151.0", "1.31.0", field) == (
        "servers before 1.31.0 wrote this field empty: if an older server wrote this "
        "history, give its version, as in --server-version 1.30.0"
    )


# ------------------------------------------------------------ the old Web UI's export


def test_the_old_web_uis_oneof_marker_is_no_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """temporalio/web loaded the protos with protobufjs' `oneofs: true`, which names the
    member set under the oneof's name; its export removed that key from `failure` and
    `cause` only, so a `lastFailure` keeps `"failureInfo": "timeoutFailureInfo"`. A key
    naming a member that is not there, or no member, is still a difference."""
    doc = _load("activity-start-to-close-timeout.json")
    for marker, same in (("timeoutFailureInfo", True), ("applicationFailureInfo", False)):
        edited = copy.deepcopy(doc)
        (started,) = _events(edited, _STARTED)
        started["lastFailure"]["failureInfo"] = marker
        code, verdict = _conform(tmp_path, edited, capsys)
        assert verdict["reproduced"] is same, verdict
    edited = copy.deepcopy(doc)
    (started,) = _events(edited, _STARTED)
    started["lastFailure"]["failureInfo"] = "noSuchFailureInfo"
    code, verdict = _conform(tmp_path, edited, capsys)
    assert code == 1
    assert verdict["first_difference"]["field"] == f"{_STARTED}.lastFailure.failureInfo"


# ------------------------------------------------------------ forms that are no history


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ("list of histories", 'a list of histories (objects with "events"), not a list of'),
        ("encoded twice", "found a JSON string: a history encoded twice"),
        ("ui event objects", "the Web UI's display objects of events"),
    ],
)
def test_forms_that_hold_no_history_are_refused_in_one_line(
    shape: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """temporalio/features keeps a list of histories per file; a sample of
    documentation-samples-python wrote json.dumps(history.to_json()); the Web UI's test
    fixtures keep its display objects. Each is refused saying what it is, by both
    commands, rather than as a malformed event or a valid history."""
    doc = _load("timers.json")
    data: Any = {
        "list of histories": [doc],
        "encoded twice": json.dumps(doc),
        "ui event objects": {
            "events": [
                {**e, "classification": "Started", "category": "workflow"} for e in doc["events"]
            ]
        },
    }[shape]
    path = tmp_path / "h.json"
    path.write_text(json.dumps(data))
    for command in ("validate", "conform"):
        assert main([command, str(path)]) == 2
        (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("ERROR")]
        assert message in line, line
    with pytest.raises(BadInput, match=re.escape(message)):
        decode_history(path.read_text())  # the library's reader says the same
