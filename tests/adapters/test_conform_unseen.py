"""Real histories of shapes the scenario library lacks (tests/fixtures/unseen-histories).

Each was recorded from the Temporal 1.32 dev server by a workflow written outside the
library (the manifest says what each makes the server write) and saved as the Python
SDK's `fetch_history().to_json()`. Every one must keep the history rules, round-trip
exactly through the codec and be reproduced field for field. A few also come as
`temporal workflow show -o json` prints them and as the server HTTP API answers them
(with shorthand payloads, and with `?noPayloadShorthand=true`): those must decode to
the same events, the shorthand ones up to the bytes of the payloads' JSON
(docs/conformance.md, "Shorthand payloads are rebuilt, not recovered").
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from adapters.cli import main
from adapters.conform.derive import Driver
from adapters.conform.judge import reset_of, run_id
from adapters.temporal_json import decode_history, encode_history
from core.events import HistoryEvent
from core.events import WorkflowTaskFailedEventAttributes as WTFailed
from core.statemachine.history.validator import validate
from tests.conftest import FIXTURES

UNSEEN = FIXTURES / "unseen-histories"
MANIFEST: dict[str, Any] = json.loads((UNSEEN / "manifest.json").read_text(encoding="utf-8"))
NAMES = [entry["file"] for entry in MANIFEST["histories"]]
BASES = {entry["file"]: entry["base"] for entry in MANIFEST["histories"] if "base" in entry}
FORMS = [
    (entry["file"], form, file)
    for entry in MANIFEST["histories"]
    for form, file in entry.get("forms", {}).items()
]


def _chain(name: str) -> list[str]:
    """`name` after its base run, that one's base run, and so on, the first run first."""
    given = [name]
    while given[0] in BASES:
        given.insert(0, BASES[given[0]])
    return given


def _text(name: str) -> str:
    return (UNSEEN / name).read_text(encoding="utf-8")


def _events(name: str) -> list[HistoryEvent]:
    return list(decode_history(_text(name)).events)


def _json(events: list[HistoryEvent]) -> list[dict[str, Any]]:
    encoded: list[dict[str, Any]] = encode_history(events)["events"]  # type: ignore[assignment]
    return encoded


def test_the_manifest_lists_every_file() -> None:
    listed = NAMES + [file for _, _, file in FORMS]
    on_disk = sorted(p.name for p in UNSEEN.glob("*.json") if p.name != "manifest.json")
    assert sorted(listed) == on_disk
    for entry in MANIFEST["histories"]:
        assert entry["events"] == len(_events(entry["file"])), entry["file"]


@pytest.mark.parametrize("name", NAMES)
def test_an_unseen_history_is_valid_round_trips_and_is_reproduced(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    events = _events(name)
    assert not validate(events).violations
    assert encode_history(events) == json.loads(_text(name))
    # a reset run is reproduced from its base run's history (given with it, and with
    # the base's own base when a reset made the base)
    given = _chain(name)
    code = main(["conform", "--json", *(str(UNSEEN / n) for n in given)])
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["histories"]) == len(given)
    for verdict in doc["histories"]:
        assert verdict["first_difference"] is None and verdict["reproduced"], verdict
    assert code == 0


def test_a_reset_of_a_reset_run_is_reproduced_from_every_run_of_its_chain(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """reset-twice.run3 holds two reset WorkflowTaskFailed events: event 4, copied from
    run2 (base run1, new run run2), and event 31, its own (base run2, new run run3). The
    run's own reset is the last one (service/history/ndc/workflow_resetter.go forks the
    base's history, then fails the task); run2 is rebuilt from run1 before it is reset."""
    runs = [_events(f"reset-twice.run{n}.json") for n in (1, 2, 3)]
    first = run_id(runs[0])
    failed = [e.attributes for e in runs[2] if isinstance(e.attributes, WTFailed)]
    second, third = failed[0].new_run_id, failed[1].new_run_id
    assert [a.base_run_id for a in failed] == [first, second]
    assert reset_of(runs[1]) == (first, second) and run_id(runs[1]) == second
    assert reset_of(runs[2]) == (second, third) and run_id(runs[2]) == third
    files = [str(UNSEEN / f"reset-twice.run{n}.json") for n in (1, 2, 3)]
    assert main(["conform", *files]) == 0
    assert capsys.readouterr().out.count("reproduced    ") == 3
    # without run1, run3's base (run2) cannot be rebuilt: the missing run is named
    assert main(["conform", *files[1:]]) == 2
    assert f"(run id {first}) too" in capsys.readouterr().out


def _payload_values(value: Any) -> Any:
    """`value` with each json/plain payload's data replaced by the JSON value it holds."""
    if isinstance(value, list):
        return [_payload_values(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _payload_values(v) for k, v in value.items()}
    encoding = value.get("metadata", {}).get("encoding") if "data" in value else None
    if encoding == base64.b64encode(b"json/plain").decode():
        out["data"] = json.loads(base64.b64decode(value["data"]))
    return out


@pytest.mark.parametrize(("name", "form", "file"), FORMS)
def test_the_cli_and_http_forms_decode_to_the_sdks_events(name: str, form: str, file: str) -> None:
    sdk = _json(_events(name))
    other = _json(_events(file))
    if form == "http":  # shorthand: the same values, not necessarily the same bytes
        assert _payload_values(other) == _payload_values(sdk)
    else:
        assert other == sdk


def test_the_http_answer_of_a_versioned_run_is_reproduced(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["conform", str(UNSEEN / "versioned.http.json")])
    out = capsys.readouterr().out
    assert code == 0 and "reproduced" in out and "rebuilt from their values" in out


def test_a_versioned_workers_completions_carry_its_deployment() -> None:
    """The model writes the Worker Deployment fields of WorkflowTaskCompleted from the
    completion request, as the server does."""
    real = json.loads(_text("versioned.json"))["events"]
    model = _json(list(Driver(_events("versioned.json")).run()))
    key = "workflowTaskCompletedEventAttributes"
    pairs = [(m[key], r[key]) for m, r in zip(model, real, strict=True) if key in r]
    assert len(pairs) == 2
    for m, r in pairs:
        for field in ("deploymentVersion", "workerDeploymentName", "versioningBehavior"):
            assert m[field] == r[field], field
        assert r["versioningBehavior"] == "VERSIONING_BEHAVIOR_PINNED"


def test_the_deriver_reads_the_suggest_continue_as_new_level_from_the_history() -> None:
    """suggest-can.run1 was recorded with limit.historyCount.suggestContinueAsNew lowered
    (dynamic config, not in the history): the deriver takes the level from the first
    task the server suggested at, and keeps the default when nothing was suggested."""
    from dataclasses import replace

    from adapters.conform.derive_base import limits_of
    from core.events import WorkflowTaskStartedEventAttributes
    from core.statemachine.history.limits import DEFAULT_LIMITS

    events = _events("suggest-can.run1.json")
    suggested = [
        e.event_id
        for e in events
        if isinstance(e.attributes, WorkflowTaskStartedEventAttributes)
        and e.attributes.suggest_continue_as_new
    ]
    assert suggested and suggested[0] < DEFAULT_LIMITS.history_count_suggest_continue_as_new
    assert limits_of(events).history_count_suggest_continue_as_new == suggested[0]
    plain = [
        replace(e, attributes=replace(e.attributes, suggest_continue_as_new=False,
                                      suggest_continue_as_new_reasons=()))
        if isinstance(e.attributes, WorkflowTaskStartedEventAttributes) else e
        for e in events
    ]  # fmt: skip
    assert limits_of(plain) == DEFAULT_LIMITS
