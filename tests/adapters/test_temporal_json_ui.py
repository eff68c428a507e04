"""The Temporal Web UI's history exports.

tests/fixtures/forms/ui holds runs recorded from the real dev server with its Web UI
(temporal CLI 1.9.1: server 1.32.0, UI 2.54.1): `temporal workflow show --output json`
(`NAME.cli.json`) beside the UI server's "View raw history" answer for the same run,
`GET /api/v1/namespaces/default/workflows/ID/run/RUN/history.json` (`NAME.ui-raw.json`,
Go's struct JSON). `activity-single.ui-download.json` is what the Download button writes
with "Encoded" payloads, built as the UI's export-history.ts builds it from the UI
server's answer (`{events}`, indented by two) from the real answer for that run.
`activity-single.cli-reverse.json` is `temporal workflow show --reverse --output json` of
the same run (used by test_temporal_json_forms.py).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from adapters.temporal_json import BadInput, decode_history, decode_history_generic
from tests.adapters.test_temporal_json_forms import assert_bad_input
from tests.conftest import FIXTURES

UI = FIXTURES / "forms" / "ui"
RECORDED = sorted(p.name.removesuffix(".cli.json") for p in UI.glob("*.cli.json"))


def _read(path: Path) -> Any:
    return decode_history(path.read_bytes())


def test_ui_fixtures_exist() -> None:
    assert len(RECORDED) >= 5
    for name in RECORDED:
        assert (UI / f"{name}.ui-raw.json").is_file()


@pytest.mark.parametrize("name", RECORDED)
def test_ui_raw_history_decodes_to_the_cli_export_exactly(name: str) -> None:
    raw = json.loads((UI / f"{name}.ui-raw.json").read_text(encoding="utf-8"))
    assert isinstance(raw, list)
    assert "Attributes" in raw[0]  # the file really is Go's struct JSON
    cli = _read(UI / f"{name}.cli.json")
    assert _read(UI / f"{name}.ui-raw.json").events == cli.events
    assert decode_history_generic(raw).events == cli.events


def test_go_struct_json_in_the_other_wrappers_decodes_exactly() -> None:
    """Go's encoding/json of a History or of the whole response (proto names for the
    response's fields too)."""
    cli = _read(UI / "nexus.cli.json")
    raw = _raw("nexus")
    response = {"history": {"events": raw}, "raw_history": None, "next_page_token": None}
    for doc in ({"events": raw}, {**response, "archived": False}):
        assert decode_history(json.dumps(doc)).events == cli.events
        assert decode_history_generic(doc).events == cli.events


def test_ui_download_decodes_to_the_cli_export_exactly() -> None:
    cli = _read(UI / "activity-single.cli.json")
    assert _read(UI / "activity-single.ui-download.json").events == cli.events


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "adapters.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_ui_raw_history_validates_and_conforms() -> None:
    path = str(UI / "workflow-failure.ui-raw.json")
    for command in ("validate", "conform"):
        result = _cli(command, path)
        assert result.returncode == 0, result.stdout + result.stderr


def _raw(name: str) -> list[Any]:
    events: list[Any] = json.loads((UI / f"{name}.ui-raw.json").read_text(encoding="utf-8"))
    return events


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda ev: ev.append({"error": "context deadline exceeded"}), "could not fetch the whole"),
        (lambda ev: ev[1].update(event_time={"seconds": "x"}), "event_time"),
        (lambda ev: ev[1].update(Attributes={"NoSuchAttributes": {}}), "NoSuchAttributes"),
        (lambda ev: ev[1].update(Attributes={"A": {}, "B": {}}), "one member"),
        (lambda ev: ev[1].update(no_such_field=1), "no_such_field"),
        (lambda ev: ev[1].update(event_type="WorkflowTaskScheduled"), "enum number"),
    ],
)
def test_bad_ui_raw_history_is_bad_input(change: Any, message: str, tmp_path: Path) -> None:
    events = _raw("activity-single")
    change(events)
    assert_bad_input(json.dumps(events), message, tmp_path)


def _readable(download: dict[str, Any]) -> dict[str, Any]:
    """The "Human Readable" download's payloads (ui: decode-payload.ts,
    parseRawPayloadToJSON with returnDataOnly false): metadata as plain text, data
    parsed."""
    import base64

    def payload(p: dict[str, Any]) -> dict[str, Any]:
        meta = {k: base64.b64decode(v).decode() for k, v in p["metadata"].items()}
        return {"metadata": meta, "data": json.loads(base64.b64decode(p["data"]))}

    out = copy.deepcopy(download)
    started = out["events"][0]["workflowExecutionStartedEventAttributes"]
    started["input"]["payloads"] = [payload(p) for p in started["input"]["payloads"]]
    return out


def test_ui_decoded_download_is_refused_with_what_to_export(tmp_path: Path) -> None:
    download = json.loads((UI / "activity-single.ui-download.json").read_text(encoding="utf-8"))
    text = json.dumps(_readable(download), indent=2)
    for decode in (decode_history, lambda t: decode_history_generic(json.loads(t))):
        with pytest.raises(BadInput, match=r'"Human Readable" download.*"Encoded" payloads'):
            decode(text)
    path = tmp_path / "readable.json"
    path.write_text(text, encoding="utf-8")
    for command in ("validate", "conform", "replay"):
        args = [command, str(path)]
        if command == "replay":
            args += ["--workflow", "adapters.conform.twins.tasks:SingleActivity"]
        result = _cli(*args)
        assert result.returncode == 2, command
        out = result.stdout + result.stderr
        assert "Traceback" not in out
        assert out.count('"Encoded" payloads') == 1, out


# ------------------------------------------------------------------ bad files, every command


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    forms = FIXTURES / "forms"
    http = (forms / "activity-single.http.json").read_text(encoding="utf-8")
    raw = _raw("activity-single")
    texts = {
        "truncated-http": http[: len(http) // 2],
        "truncated-ui-raw": json.dumps(raw)[:-40],
        "wrong-wrapper": json.dumps({"History": json.loads(http)["history"]}),
        "events-not-array": json.dumps({"history": {"events": {"eventId": "1"}}}),
        "unknown-event-type": http.replace(
            "EVENT_TYPE_TIMER_STARTED", "EVENT_TYPE_TIMER_BEGUN"
        ).replace("EVENT_TYPE_ACTIVITY_TASK_STARTED", "EVENT_TYPE_ACTIVITY_TASK_BEGUN"),
        "huge-event-id": http.replace('"eventId":"3"', '"eventId":"123456789012345678901234567"'),
        "huge-number": http.replace('"attempt":1', '"attempt":1e999', 1),
        "ui-raw-error": json.dumps([*raw[:3], {"error": "rpc error: code = Unavailable"}]),
        "one-page": (forms / "activity-single.http-page1.json").read_text(encoding="utf-8"),
    }
    paths = {}
    for name, text in texts.items():
        path = tmp_path / f"{name}.json"
        path.write_text(text, encoding="utf-8")
        paths[name] = path
    return paths


def _one_line_each(result: subprocess.CompletedProcess[str], paths: list[Path]) -> None:
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "Traceback" not in out and "internal error" not in out, out
    for path in paths:
        assert sum(str(path) in line for line in out.splitlines()) == 1, (path, out)


def test_bad_files_are_one_line_and_exit_2_for_every_command(tmp_path: Path) -> None:
    paths = list(_bad_files(tmp_path).values())
    for command in ("validate", "conform", "lint"):
        _one_line_each(_cli(command, *map(str, paths)), paths)
    twin = "adapters.conform.twins.tasks:SingleActivity"
    for path in paths:
        _one_line_each(_cli("replay", "--workflow", twin, str(path)), [path])
        _one_line_each(_cli("tlc", "--trace", str(path)), [path])
