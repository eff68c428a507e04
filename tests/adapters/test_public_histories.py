"""Histories older Temporal servers wrote, as the official SDKs' own test suites keep
them: what the readers, the history rules and `tmodel conform` make of the ways they
differ from a 1.32 server's. Every case is built here from the project's own recorded
fixtures, changed the way an older server wrote the same thing (no SDK file is copied).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import main
from adapters.temporal_json import BadInput, decode_history, decode_history_generic
from core.statemachine.history.validator import validate
from tests.conftest import FIXTURES, HISTORIES
from tests.conftest import script as load_script


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _events_of_type(doc: dict[str, Any], event_type: str) -> list[dict[str, Any]]:
    return [e for e in doc["events"] if e["eventType"] == event_type]


# ------------------------------------------------------------ renamed enum values


def _with_old_update_names(doc: dict[str, Any]) -> dict[str, Any]:
    """The history as a server built before temporalio/api 1d4c8980 (April 2024) wrote
    it: Update Admitted was Update Requested (event type 47, its attributes key, the
    origin enum)."""
    old = copy.deepcopy(doc)
    changed = 0
    for event in old["events"]:
        if event["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED":
            event["eventType"] = "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REQUESTED"
            attrs = event.pop("workflowExecutionUpdateAdmittedEventAttributes")
            attrs["origin"] = "UPDATE_REQUESTED_EVENT_ORIGIN_REAPPLY"
            event["workflowExecutionUpdateRequestedEventAttributes"] = attrs
            changed += 1
    assert changed, "the fixture has no UpdateAdmitted event"
    return old


@pytest.mark.parametrize("decode", [decode_history, decode_history_generic])
def test_old_update_requested_names_read_as_update_admitted(decode: Any) -> None:
    doc = _load(FIXTURES / "unseen-histories" / "reset-mid-all.json")
    assert decode(_with_old_update_names(doc)).events == decode(doc).events


def test_old_bad_memo_cause_reads_as_its_new_name() -> None:
    doc = _load(HISTORIES / "limit-memo-size.json")
    old = copy.deepcopy(doc)
    cause = "WORKFLOW_TASK_FAILED_CAUSE_BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES"
    text = json.dumps(old).replace(cause, "WORKFLOW_TASK_FAILED_CAUSE_BAD_MEMO")
    assert text != json.dumps(old)
    assert decode_history(text).events == decode_history(doc).events


def test_a_name_the_api_never_had_is_still_refused() -> None:
    doc = _with_old_update_names(_load(FIXTURES / "unseen-histories" / "reset-mid-all.json"))
    text = json.dumps(doc).replace(
        "UPDATE_REQUESTED_EVENT_ORIGIN_REAPPLY", "UPDATE_REQUESTED_EVENT_ORIGIN_REPLAY"
    )
    with pytest.raises(BadInput, match="unknown UpdateAdmittedEventOrigin value"):
        decode_history(text)


# ------------------------------------------------------------ unknown event types


def _with_unknown_event(may_ignore: bool | None) -> dict[str, Any]:
    """A recorded history whose last event became one of a type the API does not have
    (a newer server's), as the SDKs' forward-compatibility tests write it."""
    doc = copy.deepcopy(_load(HISTORIES / "activity-single.json"))
    last = doc["events"][-1]
    doc["events"][-1] = {k: v for k, v in last.items() if not k.endswith("Attributes")}
    doc["events"][-1]["eventType"] = "EVENT_TYPE_SOMETHING_NEWER"
    if may_ignore is not None:
        doc["events"][-1]["workerMayIgnore"] = may_ignore
    return doc


@pytest.mark.parametrize("may_ignore", [True, False, None])
def test_unknown_event_type_is_one_line_bad_input_saying_whether_ignorable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], may_ignore: bool | None
) -> None:
    path = tmp_path / "h.json"
    path.write_text(json.dumps(_with_unknown_event(may_ignore)))
    for command in ("validate", "conform"):
        assert main([command, str(path)]) == 2
        out = capsys.readouterr().out
        line = next(x for x in out.splitlines() if "EVENT_TYPE_SOMETHING_NEWER" in x)
        assert "unknown EventType value" in line
        assert ("marked workerMayIgnore" in line) is (may_ignore is True)
        assert "Traceback" not in out


# ------------------------------------------------------------ update completed, pre-1.21


def _without_accepted_event_id(doc: dict[str, Any], update_id: str | None = None) -> Any:
    """UpdateCompleted events as servers before 1.21 wrote them: no acceptedEventId
    (optionally naming another update id)."""
    old = copy.deepcopy(doc)
    completed = _events_of_type(old, "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED")
    assert completed
    for event in completed:
        attrs = event["workflowExecutionUpdateCompletedEventAttributes"]
        del attrs["acceptedEventId"]
        if update_id is not None:
            attrs["meta"]["updateId"] = update_id
    return decode_history(old).events


def test_update_completed_without_accepted_event_id_is_matched_by_update_id() -> None:
    events = _without_accepted_event_id(_load(HISTORIES / "updates.json"))
    assert validate(events).violations == ()


def test_update_completed_without_accepted_event_id_of_no_open_update_is_invalid() -> None:
    events = _without_accepted_event_id(_load(HISTORIES / "updates.json"), "no-such-update")
    rules = {v.rule for v in validate(events).violations}
    assert rules, "an UpdateCompleted naming no accepted update must break a rule"


# ------------------------------------------------------------ conform's comparison


def _history(name: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = _load(HISTORIES / name)["events"]
    return events


def _scheduled(events: list[dict[str, Any]]) -> dict[str, Any]:
    return next(
        e["activityTaskScheduledEventAttributes"]
        for e in events
        if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
    )


def test_scalar_fields_holding_their_proto3_default_equal_absent() -> None:
    from adapters.history_compare import compare

    recorded = _history("activity-single.json")
    older = copy.deepcopy(recorded)
    # as an older encoder wrote them: proto3 scalars and enums at their default values
    attrs = _scheduled(older)
    attrs["retryPolicy"]["maximumAttempts"] = 0
    attrs["retryPolicy"]["nonRetryableErrorTypes"] = []
    attrs["priority"]["priorityKey"] = 0
    older[0]["workerMayIgnore"] = False
    older[0]["workflowExecutionStartedEventAttributes"]["cronSchedule"] = ""
    older[0]["workflowExecutionStartedEventAttributes"]["parentInitiatedEventId"] = "0"
    assert older != recorded
    assert compare(recorded, older) is None
    assert compare(older, recorded) is None
    # a value other than the default is still a difference
    attrs["retryPolicy"]["maximumAttempts"] = 1
    found = compare(recorded, older)
    assert found is not None and found.field.endswith("retryPolicy.maximumAttempts")


def test_a_message_field_present_but_zero_still_differs_from_absent() -> None:
    from adapters.history_compare import compare

    recorded = _history("activity-single.json")
    older = copy.deepcopy(recorded)
    started = older[0]["workflowExecutionStartedEventAttributes"]
    assert "workflowExecutionTimeout" not in started
    started["workflowExecutionTimeout"] = "0s"  # a Duration: it has presence
    found = compare(recorded, older)
    assert found is not None
    assert found.field == "workflowExecutionStartedEventAttributes.workflowExecutionTimeout"


def test_the_pre_1_0_empty_failover_version_equals_none() -> None:
    from adapters.history_compare import compare

    recorded = _history("activity-single.json")
    older = copy.deepcopy(recorded)
    for event in older:
        event["version"] = "-24"
    assert compare(recorded, older) is None
    older[0]["version"] = "-23"
    found = compare(recorded, older)
    assert found is not None and found.field == "version"


def test_use_compatible_version_reads_as_its_new_name() -> None:
    doc = _load(HISTORIES / "activity-single.json")
    older = copy.deepcopy(doc)
    attrs = _scheduled(older["events"])
    attrs["useCompatibleVersion"] = attrs.pop("useWorkflowBuildId")
    assert decode_history(older).events == decode_history(doc).events


# ------------------------------------------------------------ fields older servers lacked


def _before_workflow_id(year: str) -> dict[str, Any]:
    """activity-single as a server without WorkflowExecutionStarted.workflowId wrote it,
    its first event dated in `year` (the other events keep their times)."""
    doc = copy.deepcopy(_load(HISTORIES / "activity-single.json"))
    first = doc["events"][0]
    del first["workflowExecutionStartedEventAttributes"]["workflowId"]
    first["eventTime"] = year + first["eventTime"][4:]
    return doc


def _conform(tmp_path: Path, doc: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> str:
    path = tmp_path / "h.json"
    path.write_text(json.dumps(doc))
    main(["conform", str(path)])
    out: str = capsys.readouterr().out
    return out


def test_a_history_older_than_a_field_is_not_faulted_for_lacking_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _conform(tmp_path, _before_workflow_id("2022"), capsys).startswith("reproduced")


def test_a_history_newer_than_a_field_is_faulted_for_lacking_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _conform(tmp_path, _before_workflow_id("2024"), capsys)
    assert out.startswith("DIFFERS")
    assert "workflowExecutionStartedEventAttributes.workflowId" in out


# ------------------------------------------------------------ binary protobuf histories


def _binary(doc: dict[str, Any]) -> bytes:
    from google.protobuf import json_format
    from temporalio.api.history.v1 import History

    history = History()
    json_format.Parse(json.dumps(doc), history)
    data: bytes = history.SerializeToString()
    return data


@pytest.mark.parametrize("name", ["activity-single.json", "updates.json", "timers.json"])
def test_a_binary_protobuf_history_reads_as_its_json(name: str, tmp_path: Path) -> None:
    from adapters.input_file import read_history

    doc = _load(HISTORIES / name)
    path = tmp_path / "h.bin"
    path.write_bytes(_binary(doc))
    assert read_history(str(path)) == decode_history(doc).events


def test_validate_and_conform_read_a_binary_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "h.bin"
    path.write_bytes(_binary(_load(HISTORIES / "activity-single.json")))
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.startswith("valid")
    assert main(["conform", str(path)]) == 0
    assert capsys.readouterr().out.startswith("reproduced")


def test_a_directory_is_walked_for_binary_histories_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "h.bin").write_bytes(_binary(_load(HISTORIES / "timers.json")))
    assert main(["validate", str(tmp_path)]) == 0
    assert "h.bin" in capsys.readouterr().out
    assert main(["conform", str(tmp_path)]) == 0
    assert "h.bin" in capsys.readouterr().out


def test_a_file_neither_json_nor_a_history_is_one_line_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "h.bin"
    path.write_bytes(b"\n\xff\xff\xff")  # the events tag, then a broken length
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr().out
    assert "neither JSON nor a binary protobuf History" in out
    assert "Traceback" not in out


# ------------------------------------------------------------ a global namespace's version


def _versioned(versions: list[str]) -> dict[str, Any]:
    doc = copy.deepcopy(_load(HISTORIES / "activity-single.json"))
    for event, version in zip(doc["events"], versions, strict=False):
        event["version"] = version
    return doc


def test_a_global_namespaces_failover_version_is_taken_as_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    n = len(_load(HISTORIES / "activity-single.json")["events"])
    assert _conform(tmp_path, _versioned(["1001"] * n), capsys).startswith("reproduced")


def test_a_version_that_changes_within_the_history_still_differs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    n = len(_load(HISTORIES / "activity-single.json")["events"])
    out = _conform(tmp_path, _versioned(["1001"] * (n - 1) + ["1011"]), capsys)
    assert out.startswith("DIFFERS")
    assert ": version" in out


# ------------------------------------------------------------ a zero execution timeout


def test_a_zero_execution_timeout_the_start_carried_is_reproduced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = copy.deepcopy(_load(HISTORIES / "activity-single.json"))
    started = doc["events"][0]["workflowExecutionStartedEventAttributes"]
    started["workflowExecutionTimeout"] = "0s"  # as sdk-go's starts have it
    assert _conform(tmp_path, doc, capsys).startswith("reproduced")


def test_worker_versioning_id_reads_as_the_worker_version_it_became() -> None:
    doc = _load(HISTORIES / "build-ids.json")
    older = copy.deepcopy(doc)
    completed = _events_of_type(older, "EVENT_TYPE_WORKFLOW_TASK_COMPLETED")
    for event in completed:
        attrs = event["workflowTaskCompletedEventAttributes"]
        stamp = attrs.pop("workerVersion")
        assert set(stamp) == {"buildId"}
        attrs["workerVersioningId"] = {"workerBuildId": stamp["buildId"]}
    assert completed
    assert decode_history(older).events == decode_history(doc).events


def test_an_update_completed_older_than_its_accepted_event_id_is_reproduced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = copy.deepcopy(_load(HISTORIES / "updates.json"))
    for event in _events_of_type(doc, "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED"):
        del event["workflowExecutionUpdateCompletedEventAttributes"]["acceptedEventId"]
    recent = _conform(tmp_path, doc, capsys)
    assert recent.startswith("DIFFERS") and "acceptedEventId" in recent
    first = doc["events"][0]
    first["eventTime"] = "2022" + first["eventTime"][4:]  # a server before 1.21.0
    assert _conform(tmp_path, doc, capsys).startswith("reproduced")


# ------------------------------------------------------------ an external command's namespace


@pytest.mark.parametrize(
    ("name", "event_type", "key"),
    [
        (
            "signal-external.json",
            "EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
            "signalExternalWorkflowExecutionInitiatedEventAttributes",
        ),
        (
            "cancel-external.json",
            "EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
            "requestCancelExternalWorkflowExecutionInitiatedEventAttributes",
        ),
    ],
)
def test_an_external_command_naming_no_namespace_is_written_without_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, event_type: str, key: str
) -> None:
    """sdk-java sends these commands without a namespace; the server writes the Initiated
    event with the command's namespace as it is (it fills in the run's own only for a
    child's start)."""
    doc = copy.deepcopy(_load(HISTORIES / name))
    initiated = _events_of_type(doc, event_type)
    assert initiated
    for event in initiated:
        assert event[key].pop("namespace") == "default"
    assert _conform(tmp_path, doc, capsys).startswith("reproduced")


# ------------------------------------------------------------ a failed task's binary checksum


@pytest.mark.parametrize(
    "path",
    [
        HISTORIES / "wft-failure-fixed.json",  # the worker failed its tasks
        FIXTURES / "unseen-histories" / "race-complete.json",  # a completion refused
    ],
)
def test_a_workflow_task_failure_keeps_the_workers_binary_checksum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], path: Path
) -> None:
    """Older SDKs (sdk-core 2022) send a binary checksum with a failure or a completion;
    the server writes it on WorkflowTaskFailed."""
    doc = copy.deepcopy(_load(path))
    failed = _events_of_type(doc, "EVENT_TYPE_WORKFLOW_TASK_FAILED")
    assert failed
    for event in failed:
        event["workflowTaskFailedEventAttributes"]["binaryChecksum"] = "an-old-build"
    assert _conform(tmp_path, doc, capsys).startswith("reproduced")


def test_an_empty_child_memo_older_servers_copied_is_not_a_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Servers before 1.31.0 copied a StartChildWorkflowExecution command's empty memo
    (sdk-typescript 1.13 sends one); 1.31.0 and later leave it out, as the model does."""
    doc = copy.deepcopy(_load(HISTORIES / "child-success.json"))
    key = "startChildWorkflowExecutionInitiatedEventAttributes"
    initiated = _events_of_type(doc, "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED")
    assert initiated and "memo" not in initiated[0][key]
    initiated[0][key]["memo"] = {}
    recent = _conform(tmp_path, doc, capsys)  # recorded by 1.32: a difference
    assert recent.startswith("DIFFERS") and f"{key}.memo" in recent
    first = doc["events"][0]
    first["eventTime"] = "2025" + first["eventTime"][4:]
    assert _conform(tmp_path, doc, capsys).startswith("reproduced")


def test_an_update_response_meta_is_written_as_the_worker_sent_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """sdk-go of 2023 answered an update with a meta naming the update id alone; the
    server writes the response's meta on UpdateCompleted as it is."""
    doc = copy.deepcopy(_load(HISTORIES / "updates.json"))
    completed = _events_of_type(doc, "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED")
    assert completed
    for event in completed:
        meta = event["workflowExecutionUpdateCompletedEventAttributes"]["meta"]
        assert meta.pop("identity")
    assert _conform(tmp_path, doc, capsys).startswith("reproduced")


def test_a_nexus_start_older_than_operation_tokens_is_reproduced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Servers before 1.27.0 wrote a started Nexus operation's token as operationId
    alone; 1.32 writes it as operationToken too."""
    doc = copy.deepcopy(_load(HISTORIES / "nexus.json"))
    key = "nexusOperationStartedEventAttributes"
    started = _events_of_type(doc, "EVENT_TYPE_NEXUS_OPERATION_STARTED")
    assert started
    for event in started:
        attrs = event[key]
        assert attrs.pop("operationToken") == attrs["operationId"]
    recent = _conform(tmp_path, doc, capsys)
    assert recent.startswith("DIFFERS") and f"{key}.operationToken" in recent
    first = doc["events"][0]
    first["eventTime"] = "2024" + first["eventTime"][4:]
    assert _conform(tmp_path, doc, capsys).startswith("reproduced")


def test_an_update_message_id_older_servers_drew_is_not_a_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Servers before 1.21.0 sent an update to the worker in a message with a random id,
    which UpdateAccepted names; 1.21.0 on name it after the update."""
    doc = copy.deepcopy(_load(HISTORIES / "updates.json"))
    key = "workflowExecutionUpdateAcceptedEventAttributes"
    accepted = _events_of_type(doc, "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED")
    assert accepted
    for n, event in enumerate(accepted):
        assert event[key]["acceptedRequestMessageId"].endswith("/request")
        event[key]["acceptedRequestMessageId"] = f"0d6c1f0e-1111-4c2b-9a7e-00000000000{n}"
    recent = _conform(tmp_path, doc, capsys)
    assert recent.startswith("DIFFERS") and f"{key}.acceptedRequestMessageId" in recent
    first = doc["events"][0]
    first["eventTime"] = "2022" + first["eventTime"][4:]
    assert _conform(tmp_path, doc, capsys).startswith("reproduced")
    del accepted[0][key]["acceptedRequestMessageId"]  # its presence is still compared
    assert _conform(tmp_path, doc, capsys).startswith("DIFFERS")


# ------------------------------------------------------------ the script


def test_public_histories_script_counts_the_verdicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script("public_histories")
    (tmp_path / "a.json").write_text((HISTORIES / "activity-single.json").read_text())
    (tmp_path / "b.bin").write_bytes(_binary(_load(HISTORIES / "timers.json")))
    invalid = _load(HISTORIES / "activity-single.json")
    del invalid["events"][3]["workflowTaskCompletedEventAttributes"]["startedEventId"]
    (tmp_path / "c.json").write_text(json.dumps(invalid))
    (tmp_path / "notes.txt").write_text("not a history, not read")
    assert script.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "histories: 3" in out
    assert "validate: valid 2, invalid 1, unreadable 0" in out
    assert "conform:  reproduced 2, differing 1," in out
    assert "java test server" in out
