"""Hostile input through the real entry point: binary histories with values out of
range, big binary histories, deeply nested values, paths that cannot be looked at,
empty output paths and control characters in messages. Each is bad input: one line,
exit code 2, and the good files given with it are still checked."""

from __future__ import annotations

import errno
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import OneLineStderr, escape_controls, main
from adapters.input_file import BinaryHistoryJson, history_events, read_history
from core.errors import BadInput
from tests.conftest import HISTORIES

GOOD = HISTORIES / "activity-retry.json"
WORKFLOW = "adapters.conform.twins.tasks:ActivityRetry"


def _history(doc: dict[str, Any]) -> Any:
    from google.protobuf import json_format
    from temporalio.api.history.v1 import History

    return json_format.ParseDict(doc, History())


def _good() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(GOOD.read_text(encoding="utf-8"))
    return doc


def _out_of_range(tmp_path: Path, what: str) -> Path:
    history = _history(_good())
    first = history.events[0]
    if what == "timestamp":
        first.event_time.nanos = -1
    else:
        first.workflow_execution_started_event_attributes.workflow_task_timeout.seconds = 2**62
    path = tmp_path / f"{what}.bin"
    path.write_bytes(history.SerializeToString())
    return path


# ------------------------------------------------------------ 1. values out of range


@pytest.mark.parametrize("what", ["timestamp", "duration"])
@pytest.mark.parametrize("command", ["validate", "conform", "lint"])
def test_a_binary_value_out_of_range_is_bad_input_and_the_rest_go_on(
    what: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _out_of_range(tmp_path, what)
    assert main([command, str(bad), str(GOOD)]) == 2
    out, err = capsys.readouterr()
    assert "internal error" not in err
    line = next(x for x in out.splitlines() if str(bad) in x)
    assert line.startswith("ERROR") and "events[0] (eventId 1)" in line
    assert "is not valid" in line
    assert any(str(GOOD) in x and not x.startswith("ERROR") for x in out.splitlines())


def test_replay_of_a_binary_value_out_of_range_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _out_of_range(tmp_path, "timestamp")
    assert main(["replay", str(bad), "--workflow", WORKFLOW]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Timestamp is not valid" in err


# ------------------------------------------------------------ 2. binary histories stream


def _binary_events(doc: dict[str, Any], times: int) -> bytes:
    """The events of `doc`, `times` over, in the wire format of a History."""
    history = _history(doc)
    one: bytes = history.SerializeToString()
    return one * times  # a History is its run of events: concatenation is one History


def test_a_binary_history_is_read_event_by_event() -> None:
    data = _binary_events(_good(), 3000)  # about 3.6 MB
    source = io.BytesIO(data)
    events = history_events(io.BufferedReader(source))
    first = next(events)
    assert first.event_id == 1
    assert source.tell() < len(data) // 2  # not read whole for the first event
    assert sum(1 for _ in events) + 1 == 11 * 3000


def test_a_streamed_binary_history_gives_the_json_events(tmp_path: Path) -> None:
    for name in ("activity-single.json", "updates.json", "timers.json"):
        doc = json.loads((HISTORIES / name).read_text(encoding="utf-8"))
        path = tmp_path / "h.bin"
        path.write_bytes(_history(doc).SerializeToString())
        with open(path, "rb") as stream:
            streamed = tuple(history_events(stream))
        assert streamed == read_history(str(HISTORIES / name))
        assert read_history(str(path)) == streamed


@pytest.mark.parametrize(
    ("tail", "reason"),
    [
        (b"\x12\x00", "byte 0x12 where an event's tag 0x0a belongs"),
        (b"\x0a\x05ab", "the file ends inside an event"),
        (b"\x0a" + b"\xff" * 10, "an event's length runs past ten bytes"),
        (b"\x0a\xff\xff\xff\xff\x0f", "more than"),
        (b"\x0a\x02\xff\xff", "does not parse"),
    ],
)
def test_a_broken_binary_history_is_bad_input(tail: bytes, reason: str) -> None:
    data = _binary_events(_good(), 1) + tail
    with pytest.raises(BadInput, match="neither JSON nor a binary protobuf History") as info:
        tuple(history_events(io.BufferedReader(io.BytesIO(data)), limit=2**20))
    assert reason in str(info.value)


def test_a_broken_binary_history_does_not_stop_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(_binary_events(_good(), 1) + b"\x12\x00")
    assert main(["validate", str(bad), str(GOOD)]) == 2
    out = capsys.readouterr().out
    assert f"ERROR    {bad}: neither JSON nor a binary protobuf History" in out
    assert f"valid    {GOOD}" in out


def test_binary_json_text_is_handed_out_in_pieces() -> None:
    whole = BinaryHistoryJson(io.BytesIO(_binary_events(_good(), 2))).read()
    reader = BinaryHistoryJson(io.BytesIO(_binary_events(_good(), 2)))
    pieces = b"".join(iter(lambda: reader.read(7), b""))
    assert pieces == whole and json.loads(whole)["events"][11]["eventId"] == "1"


# ------------------------------------------------------------ 3. deeply nested values


def test_conform_reports_a_deeply_nested_history_and_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _good()
    attributes = doc["events"][0]["workflowExecutionStartedEventAttributes"]
    attributes["header"] = {"fields": {"x": json.loads("[" * 900 + "]" * 900)}}
    deep = tmp_path / "deep.json"
    deep.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["conform", str(deep), str(GOOD)]) == 2
    out, err = capsys.readouterr()
    assert "internal error" not in err
    assert f"ERROR         {deep}: JSON nested too deeply" in out
    assert f"reproduced    {GOOD}" in out


# ------------------------------------------------------------ 4. paths not to be looked at


@pytest.fixture
def closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory the user may not search nor list (as without CAP_DAC_*: root passes
    real permission bits, so the system calls are made to refuse)."""
    folder = tmp_path / "closed"
    folder.mkdir()
    (folder / "x.json").write_text(GOOD.read_text(encoding="utf-8"), encoding="utf-8")
    stat, scandir = os.stat, os.scandir

    def refused(path: Any) -> bool:
        return Path(os.fsdecode(path)).parent == folder

    def fake_stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if refused(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(path))
        return stat(path, *args, **kwargs)

    def fake_scandir(path: Any = ".") -> Any:
        if Path(os.fsdecode(path)) == folder:
            raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(path))
        return scandir(path)

    monkeypatch.setattr(os, "stat", fake_stat)
    monkeypatch.setattr(os, "scandir", fake_scandir)
    return folder


@pytest.mark.parametrize("command", ["validate", "conform", "lint"])
def test_a_file_in_a_closed_directory_is_bad_input(
    command: str, closed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, str(closed / "x.json"), str(GOOD)]) == 2
    out, err = capsys.readouterr()
    assert "internal error" not in err
    assert f"{closed / 'x.json'}: Permission denied" in out


def test_a_closed_subdirectory_is_reported_not_skipped(
    tmp_path: Path, closed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ok.json").write_text(GOOD.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["validate", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert f"ERROR    {closed}: cannot read directory: Permission denied" in out
    assert f"valid    {tmp_path / 'ok.json'}" in out


def test_simulate_out_in_a_closed_directory_is_bad_input(
    closed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = closed / "out"
    assert main(["simulate", "--workflows", "1", "--faults", "none", "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"tmodel simulate: --out {out}: Permission denied\n"


def test_check_dot_in_a_closed_directory_is_bad_input(
    closed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dot = closed / "g.dot"
    assert main(["check", "two-phase-commit", "--param", "rms=1", "--dot", str(dot)]) == 2
    assert capsys.readouterr().err == f"tmodel check: {dot}: Permission denied\n"


# ------------------------------------------------------------ 5. an empty output path


@pytest.mark.parametrize("option", ["--dot", "--graphml", "--graph-json"])
def test_check_refuses_an_empty_graph_path(option: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["check", "two-phase-commit", "--param", "rms=1", option, ""])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "an empty path names no file" in err


# ------------------------------------------------------------ 6. control characters


@pytest.mark.parametrize(
    "args",
    [
        ["replay", "no-such-dir/no\nsuch.json", "--workflow", WORKFLOW],
        ["tlc", "--trace", "no-such-dir/no\nsuch.json"],
        ["simulate", "--repro", "no-such-dir/no\nsuch.json"],
        ["replay", str(GOOD), "--workflow", "a\nb:X"],
    ],
)
def test_a_newline_in_a_message_stays_on_one_line(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n")
    assert "\\n" in err


def test_escaping_leaves_normal_text_alone() -> None:
    assert escape_controls("tmodel check: rms=12 ✓ é") == "tmodel check: rms=12 ✓ é"
    assert escape_controls("a\tb\x1b[1m\x7f\u2028") == "a\\tb\\x1b[1m\\x7f\\u2028"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_on_a_terminal_is_passed_on() -> None:
    terminal = _Terminal()
    stderr = OneLineStderr(terminal)
    stderr.write("\r\x1b[2Kvalidating 1/3")
    stderr.write("bad\npath\n")
    assert terminal.getvalue() == "\r\x1b[2Kvalidating 1/3bad\\npath\n"
    assert stderr.isatty()
