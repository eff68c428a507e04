"""`tmodel validate` and `tmodel bench` through the real entry point: exit codes,
reports, and bad input that must never produce a traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from adapters import validate_cmd
from adapters.bench import write_history_json
from adapters.bench_validate import write_pretty
from adapters.cli import main
from adapters.temporal_json import encode_event
from sim.synthetic import synthetic_history
from tests.conftest import HISTORIES

ONE = HISTORIES / "activity-single.json"


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args], capture_output=True, text=True, timeout=300
    )


def _invalid_copy(tmp_path: Path) -> Path:
    doc = json.loads(ONE.read_text(encoding="utf-8"))
    doc["events"].append(dict(doc["events"][-1], eventId=str(len(doc["events"]) + 1)))
    path = tmp_path / "duplicate-close.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_valid_corpus_exits_0_with_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(HISTORIES)]) == 0
    out = capsys.readouterr().out
    assert "valid    " in out and "INVALID" not in out and "violations" in out


def test_invalid_history_exits_1_and_names_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(_invalid_copy(tmp_path))]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out and "H3" in out and "event 12" in out


def test_json_document_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _invalid_copy(tmp_path)
    broken = tmp_path / "broken.json"
    broken.write_text('{"events": [', encoding="utf-8")
    assert main(["validate", "--json", str(ONE), str(bad), str(broken)]) == 2
    doc = json.loads(capsys.readouterr().out)
    files = {Path(f["path"]).name: f for f in doc["files"]}
    assert files["activity-single.json"] == {
        "path": str(ONE),
        "valid": True,
        "events": 11,
        "violations": [],
    }
    assert files["duplicate-close.json"]["valid"] is False
    assert files["duplicate-close.json"]["violations"][0] == {
        "rule": "H3",
        "event_id": 12,
        "message": files["duplicate-close.json"]["violations"][0]["message"],
    }
    assert "error" in files["broken.json"] and "violations" not in files["broken.json"]
    assert doc["summary"] == {"files": 3, "valid": 1, "invalid": 2, "events": 23}


BAD_INPUTS = {
    "truncated": '{"events": [{"eventId": "1", "eventType": "EVENT_TYPE_WORKFLOW_EXEC',
    "not-json": "this is not json",
    "wrong-top-type": "[1, 2, 3]",
    "wrong-field-type": '{"events": [{"eventId": {"x": 1}, "eventType": '
    '"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", "workflowExecutionStartedEventAttributes": {}}]}',
    "unknown-event-number": '{"events": [{"eventId": "1", "eventType": 999, '
    '"workflowExecutionStartedEventAttributes": {}}]}',
    "unknown-event-name": '{"events": [{"eventId": "1", "eventType": "EVENT_TYPE_BOGUS"}]}',
    "missing-attributes": '{"events": [{"eventId": "1", '
    '"eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"}]}',
    "empty": "",
    "binary": "\x00\x01\x02\xff",
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.json"
    path.write_text(BAD_INPUTS[kind], encoding="utf-8", errors="surrogateescape")
    result = _run_cli("validate", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    error_lines = [line for line in result.stdout.splitlines() if line.startswith("ERROR")]
    assert len(error_lines) == 1 and str(path) in error_lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ["validate"],
        ["validate", "/no/such/file.json"],
        ["frobnicate"],
        ["bench", "nope"],
        ["bench", "--events", "0"],
        [],
    ],
)
def test_bad_arguments_exit_2_without_traceback(args: list[str]) -> None:
    result = _run_cli(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert (result.stderr.strip() or result.stdout.strip()) != ""


def test_a_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{", encoding="utf-8")
    shutil.copy(ONE, tmp_path / "b.json")
    result = _run_cli("validate", "--json", str(tmp_path))
    doc = json.loads(result.stdout)
    assert result.returncode == 2
    assert [f.get("valid") for f in doc["files"]] == [False, True]


def test_a_100_mb_history_is_validated_streaming(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    size = write_history_json(synthetic_history(520_000), str(path))
    assert size >= 100 * 10**6
    result = _run_cli("validate", "--json", str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["valid"] == 1


def test_a_100_mb_malformed_file_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "huge-garbage.json"
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"events": [')
        out.write('{"eventId": "1", "note": "' + "x" * (100 * 10**6) + '"')
    result = _run_cli("validate", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_bench_json_schema() -> None:
    result = _run_cli(
        "bench", "validate", "--events", "3000", "--e2e-events", "3000", "--repeat", "1", "--json"
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert {tuple(sorted(f)) for f in figures} == {("bench", "metric", "unit", "value")}
    metrics = {f["metric"]: f for f in figures}
    assert metrics["validate_step"]["unit"] == "events/s" and metrics["validate_step"]["value"] > 0
    assert "end_to_end_json" in metrics
    for name in ("validate_end_to_end", "validate_end_to_end_generic"):
        assert metrics[name]["unit"] == "events/s" and metrics[name]["value"] > 0
    assert metrics["validate_end_to_end_events"]["value"] >= 3000
    reference = metrics["validate_end_to_end_msgspec_reference"]
    assert reference["unit"] == "events/s" and reference["value"] > 0
    share = metrics["validate_end_to_end_share_of_msgspec"]["value"]
    assert share == pytest.approx(metrics["validate_end_to_end_cpu"]["value"] / reference["value"])


def test_bench_writes_histories_as_json_dump_indents_them(tmp_path: Path) -> None:
    events = list(synthetic_history(50))
    path = tmp_path / "pretty.json"
    assert write_pretty(events, str(path))[0] == len(events)
    expected = json.dumps({"events": [encode_event(e) for e in events]}, indent=2) + "\n"
    assert path.read_text(encoding="utf-8") == expected


def test_an_unexpected_error_is_one_line_exit_3_and_a_traceback_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: object) -> int:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(validate_cmd, "run", broken)
    assert main(["validate", str(ONE)]) == 3
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith("tmodel: internal error: RuntimeError: boom (traceback written to ")
    written = Path(err.split("traceback written to ")[1].split(")")[0])
    try:
        text = written.read_text(encoding="utf-8")
        assert text.startswith("Traceback (most recent call last)") and "in broken" in text
    finally:
        written.unlink()


def test_text_a_terminal_cannot_encode_is_escaped(
    monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    def prints_a_lone_surrogate(args: object) -> int:
        print("workflow type 'Timers\ud800'")
        return 0

    monkeypatch.setattr(validate_cmd, "run", prints_a_lone_surrogate)
    assert main(["validate", str(ONE)]) == 0
    assert capsysbinary.readouterr().out == b"workflow type 'Timers\\ud800'\n"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["tlc", "--jobs", "0"], "--jobs: must be at least 1"),
        (["tlc", "--jobs", "-1"], "--jobs: must be at least 1"),
        (["simulate", "--jobs", "0"], "--jobs: must be at least 1"),
        (["simulate", "--out", ""], "--out: an empty path names no file or directory"),
        (["simulate", "--repro", ""], "--repro: an empty path"),
        (["simulate", "--workflows", "100001"], "more than 100,000 workflows"),
        (["validate", ""], "PATH: an empty path"),
        (["replay", "", "--workflow", "m:W"], "HISTORY: an empty path"),
        (["tlc", "--trace", ""], "--trace: an empty path"),
    ],
)
def test_tlc_and_simulate_take_the_same_arguments_the_same_way(
    args: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and reason in err


@pytest.mark.parametrize(
    ("command", "names"),
    [
        ("simulate", "sim.workloads:WORKLOADS"),
        ("bench", "adapters.bench:BENCHMARKS"),
        ("check", "proofs.models:MODELS"),
    ],
)
def test_help_lists_every_valid_name_whole(
    command: str, names: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--workload NAME``, ``bench NAME`` and ``check MODEL`` list what NAME may be,
    each name on one line (no break inside ``state-machine``)."""
    import importlib

    module, attribute = names.split(":")
    valid = list(getattr(importlib.import_module(module), attribute))
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    words = {w.strip(",.():") for w in capsys.readouterr().out.split()}
    assert set(valid) <= words, set(valid) - words
