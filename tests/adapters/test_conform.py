"""`tmodel conform`: the model reproduces recorded histories field by field.

The recorded corpus (real Temporal 1.32 histories) must be reproduced exactly, apart from
the documented legitimately differing values; so must the simulator's own histories (the
model judged against itself, through the same derivation of requests). A seeded
divergence in a field the server decides is reported with its event, field and both
values; a model broken in the same place is caught on the unmodified corpus.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import main
from adapters.conform.judge import judge_events
from adapters.conform.scenarios.registry import SCENARIOS
from adapters.conform.scope import SCOPE, SCOPE_OF_EVENT
from adapters.history_compare import LEGITIMATE
from adapters.temporal_json import decode_history
from core.statemachine.history.service import activity_handlers as activity
from sim.config import SimConfig
from sim.run import simulate
from tests.conftest import HISTORIES, corpus_files, fault_files

ROOT = Path(__file__).resolve().parents[2]
Doc = dict[str, Any]
# recorded history -> the scope declaration (adapters/conform/scope.py) that covers it
# (none now: the Nexus and options-update histories are reproduced, test_conform_nexus.py)
NOT_MODELLED: dict[str, str] = {}


def _conform(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Doc]:
    code = main(["conform", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def _load(name: str) -> Doc:
    doc: Doc = json.loads((HISTORIES / name).read_text(encoding="utf-8"))
    return doc


def _write(tmp_path: Path, name: str, doc: Doc) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def _attrs(event: Doc) -> Doc:
    return next(v for k, v in event.items() if k.endswith("EventAttributes"))


def test_every_recorded_history_is_reproduced_field_for_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, doc = _conform(capsys, str(HISTORIES))
    bad = [h for h in doc["histories"] if not h["reproduced"]]
    declared = {
        Path(h["path"]).name: str(h["not_modelled"]).split(":")[0]
        for h in bad
        if h["first_difference"] is None and h["not_modelled"] is not None
    }
    # The histories of a feature declared out of scope; every other one is reproduced.
    assert declared == NOT_MODELLED and len(bad) == len(NOT_MODELLED) and code == 0
    # the corpus, and the fault scenarios' histories in its faults/ directory
    recorded = len(corpus_files()) + len(fault_files())
    assert doc["summary"] == {
        "histories": recorded,
        "reproduced": recorded - len(NOT_MODELLED),
        "differing": 0,
        "not_modelled": len(NOT_MODELLED),
        "unreadable": 0,
    }


def test_the_json_report_has_the_documented_shape(capsys: pytest.CaptureFixture[str]) -> None:
    _, doc = _conform(capsys, str(HISTORIES / "timers.json"))
    (entry,) = doc["histories"]
    assert set(entry) == {
        "path",
        "reproduced",
        "events",
        "first_difference",
        "not_modelled",
    }
    assert entry["events"] == len(_load("timers.json")["events"])


@pytest.mark.parametrize(
    "workload", ["mixed", "child-workflows", "scripted", "cancellation", "activity-cancellation"]
)
def test_the_simulators_histories_are_reproduced(workload: str) -> None:
    """The model judged against itself: every history a faulty simulated cluster wrote
    is reproduced by the pure service from the requests derived from it. (The simulator
    leaves task ids, which a real store allocates, unwritten: they are left out.)"""
    result = simulate(SimConfig(seed=11, workflows=40, workload=workload))
    assert result.histories, "the simulation wrote no history"
    for run_id, events in result.histories.items():
        verdict = judge_events(run_id, events, ignore=frozenset({"taskId"}))
        assert verdict.reproduced, (run_id, verdict.difference, verdict.not_modelled)


# Seeded divergences: what another implementation might write differently, in fields
# the server decides (not copied from a request), each with the field it must name.
def _retry_state(doc: Doc) -> None:
    event = next(e for e in doc["events"] if "activityTaskFailedEventAttributes" in e)
    _attrs(event)["retryState"] = "RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED"


def _queue_kind(doc: Doc) -> None:
    _attrs(doc["events"][0])["taskQueue"].pop("kind")


def _task_timeout(doc: Doc) -> None:
    event = next(e for e in doc["events"] if "workflowTaskScheduledEventAttributes" in e)
    _attrs(event)["startToCloseTimeout"] = "11s"


def _timeout_message(doc: Doc) -> None:
    event = next(e for e in doc["events"] if "activityTaskTimedOutEventAttributes" in e)
    _attrs(event)["failure"]["message"] = "activity timed out"


def _unnormalised(doc: Doc) -> None:  # the server fills in an unset timeout
    event = next(e for e in doc["events"] if "activityTaskScheduledEventAttributes" in e)
    _attrs(event).pop("scheduleToStartTimeout")


def _swap(doc: Doc) -> None:  # two events written in the other order
    events = doc["events"]
    events[5], events[6] = events[6], events[5]
    events[5]["eventId"], events[6]["eventId"] = events[6]["eventId"], events[5]["eventId"]


SEEDED: dict[str, tuple[str, Callable[[Doc], None], str]] = {
    "retry-state": ("activity-non-retryable.json", _retry_state, "retryState"),
    "task-queue-kind": ("activity-single.json", _queue_kind, "taskQueue.kind"),
    "task-timeout": ("timers.json", _task_timeout, "startToCloseTimeout"),
    "timeout-message": (
        "activity-schedule-to-close-timeout.json",
        _timeout_message,
        "failure.message",
    ),
    "unnormalised-timeout": ("activity-single.json", _unnormalised, "scheduleToStartTimeout"),
    "order": ("timers.json", _swap, ""),
}


@pytest.mark.parametrize("seeded", sorted(SEEDED))
def test_a_seeded_divergence_is_named(
    seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, mutate, field = SEEDED[seeded]
    doc = copy.deepcopy(_load(name))
    mutate(doc)
    code, report = _conform(capsys, _write(tmp_path, name, doc))
    (entry,) = report["histories"]
    assert code == 1 and not entry["reproduced"]
    assert field in entry["first_difference"]["field"]
    assert entry["first_difference"]["expected"] != entry["first_difference"]["produced"]


def test_a_legitimately_differing_value_is_not_a_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _load("activity-single.json")
    for event in doc["events"]:
        attrs = _attrs(event)
        if "identity" in attrs:
            attrs["identity"] = "another-worker@elsewhere"
    assert "identity" in LEGITIMATE
    code, report = _conform(capsys, _write(tmp_path, "renamed.json", doc))
    assert code == 0 and report["histories"][0]["reproduced"]


def test_ignore_leaves_a_field_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = copy.deepcopy(_load("timers.json"))
    _task_timeout(doc)
    path = _write(tmp_path, "timers.json", doc)
    assert _conform(capsys, path)[0] == 1
    code, report = _conform(capsys, path, "--ignore", "startToCloseTimeout")
    assert code == 0 and report["summary"]["reproduced"] == 1


def test_a_broken_model_is_caught_on_the_real_corpus(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The failure a timed-out attempt leaves (`processActivityTimeout`) broken: the
    retried attempt's Started no longer carries it as its last failure."""
    monkeypatch.setattr(activity, "timeout_failure", lambda *_args: None)
    code, report = _conform(capsys, str(HISTORIES / "activity-start-to-close-timeout.json"))
    assert code == 1
    assert "lastFailure" in report["histories"][0]["first_difference"]["field"]


def test_a_reset_run_is_reproduced_from_its_base(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _conform(
        capsys, str(HISTORIES / "reset.json"), str(HISTORIES / "reset.base.json")
    )
    assert code == 0 and report["summary"]["reproduced"] == 2


def test_a_reset_run_without_its_base_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _conform(capsys, str(HISTORIES / "reset.json"))
    assert code == 2
    assert "base run" in report["histories"][0]["error"]


def test_a_declared_feature_is_not_modelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _load("activity-single.json")
    scheduled = doc["events"][4]
    doc["events"][4] = {
        "eventId": scheduled["eventId"],
        "eventTime": scheduled["eventTime"],
        "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED",
        "taskId": scheduled["taskId"],
        "workflowExecutionPausedEventAttributes": {"identity": "operator", "reason": "r"},
    }
    del doc["events"][5:]
    code, report = _conform(capsys, _write(tmp_path, "paused.json", doc))
    assert code == 0
    assert report["histories"][0]["not_modelled"].startswith("SCOPE-PAUSE")
    assert report["summary"]["not_modelled"] == 1


def test_an_invalid_history_is_a_difference_naming_the_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _load("activity-single.json")
    doc["events"].append(dict(doc["events"][-1], eventId=str(len(doc["events"]) + 1)))
    code, report = _conform(capsys, _write(tmp_path, "twice.json", doc))
    assert code == 1
    assert report["histories"][0]["first_difference"]["field"] == "rule H3"


def test_bad_input_is_one_line_and_the_rest_is_still_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"events": [', encoding="utf-8")
    code = main(["conform", str(broken), str(HISTORIES / "timers.json")])
    out = capsys.readouterr().out
    assert code == 2
    errors = [line for line in out.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and "broken.json" in errors[0]
    assert "reproduced    " in out


def test_a_bad_ignore_argument_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["conform", str(HISTORIES / "timers.json"), "--ignore", "not a field"])
    assert exit_.value.code == 2
    assert "not a JSON field name" in capsys.readouterr().err


def test_the_scope_declarations_are_the_specs_table() -> None:
    """Every declaration is listed in spec/README.md's "Not modelled" table, with the
    event types it covers; nothing else is declared."""
    text = (ROOT / "spec" / "README.md").read_text(encoding="utf-8")
    table = text.split("## Not modelled", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| SCOPE-")]
    assert sorted(row.split("|")[1].strip() for row in rows) == sorted(SCOPE)
    for event_type, scope_id in SCOPE_OF_EVENT.items():
        row = next(r for r in rows if r.split("|")[1].strip() == scope_id)
        assert event_type.name in row, (scope_id, event_type.name)


def test_decoding_agrees_with_the_judge() -> None:
    """The judge compares the encoding of the decoded history: on the corpus that is
    the recorded JSON itself (the codec round-trips it exactly), so nothing recorded
    escapes the comparison."""
    from adapters.temporal_json import encode_history

    for path in corpus_files():
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert encode_history(decode_history(doc).events)["events"] == doc["events"], path.name


def test_the_docs_list_every_scenario_with_its_histories() -> None:
    page = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    manifest = json.loads((HISTORIES / "manifest.json").read_text(encoding="utf-8"))
    for name in SCENARIOS:
        row = next((line for line in page.splitlines() if line.startswith(f"| `{name}` |")), "")
        assert row, f"docs/conformance.md has no row for the scenario {name}"
        for entry in manifest["histories"]:
            if entry["scenario"] == name:
                assert f"`{entry['file']}`" in row, (name, entry["file"])
    assert f"the {len(SCENARIOS)} scenarios that recorded" in " ".join(page.split())
