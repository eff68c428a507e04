"""Trace validation on histories whose text or size TLC cannot take as it is: ids with
any character are accepted as the same history with plain ids, and a history beyond
what TLC explores in reasonable time is refused at once, in one line (exit 2)."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any, cast

import pytest

from adapters import tlc, tlc_trace
from adapters.cli import main
from adapters.conform import checks
from adapters.temporal_json import decode_history
from tests.adapters.test_tlc import _toolchain_or_skip
from tests.conftest import HISTORIES

ODD_IDS = ["check-✓", 'a\nb"\\c', "\t"]


def _doc(name: str = "activity-retry.json") -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((HISTORIES / name).read_text(encoding="utf-8"))
    return doc


def _with_activity_id(activity_id: str) -> dict[str, Any]:
    doc = _doc()
    for event in doc["events"]:
        for key, value in event.items():
            if key.endswith("Attributes") and "activityId" in value:
                value["activityId"] = activity_id
    return doc


def _with_attempt(attempt: int) -> dict[str, Any]:
    doc = _doc()
    for event in doc["events"]:
        started = event.get("activityTaskStartedEventAttributes")
        if started is not None:
            started["attempt"] = attempt
    return doc


def _write(tmp_path: Path, doc: dict[str, Any], name: str = "h.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def _long(blocks: int) -> dict[str, Any]:
    """signals.json with its signal and workflow-task block repeated `blocks` times."""
    events = _doc("signals.json")["events"]
    head, block, tail = events[:4], events[4:8], copy.deepcopy(events[-1])
    out = [copy.deepcopy(e) for e in head]
    for _ in range(blocks):
        base = len(out)
        for event in copy.deepcopy(block):
            attributes = next(v for k, v in event.items() if k.endswith("Attributes"))
            if "scheduledEventId" in attributes:
                attributes["scheduledEventId"] = str(base + 2)
            if "startedEventId" in attributes:
                attributes["startedEventId"] = str(base + 3)
            out.append(event)
    out.append(tail)
    for n, event in enumerate(out, start=1):
        event["eventId"] = str(n)
    return {"events": out}


@pytest.mark.parametrize("activity_id", ODD_IDS)
def test_the_log_holds_plain_ascii_names_whatever_the_ids(activity_id: str) -> None:
    events = decode_history(_with_activity_id(activity_id)).events
    records = tlc_trace.trace_records(events)
    module = tlc_trace.log_module(records)
    config = tlc_trace.trace_config(records)
    assert module.isascii() and config.isascii()
    assert activity_id not in module and 'eid |-> "id1"' in module
    assert 'ActivityIds = {"id1"}' in config
    # the same ids as the plain history gets: the verdict cannot depend on the text
    plain = tlc_trace.trace_records(decode_history(_doc()).events)
    assert module == tlc_trace.log_module(plain)


def test_equal_ids_get_equal_names_across_logs() -> None:
    one = [{"eid": "x"}, {"eid": ""}, {"eid": "y"}]
    two = [{"eid": "y"}, {"eid": "z"}]
    names = tlc_trace.id_names(cast(Any, (one, two)))
    assert names == {"": "", "x": "id1", "y": "id2", "z": "id3"}


@pytest.fixture(scope="module")
def toolchain() -> tlc.Toolchain:
    """TLC needs Java and the jar: a developer without them skips, CI fails."""
    return _toolchain_or_skip()


@pytest.mark.parametrize("activity_id", ODD_IDS[:2])
def test_tlc_accepts_a_valid_history_with_odd_ids(
    toolchain: tlc.Toolchain, activity_id: str
) -> None:
    events = decode_history(_with_activity_id(activity_id)).events
    report = tlc_trace.validate_events(toolchain, events, "odd ids", timeout=120)
    assert report.accepted, report.reason


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    began = time.monotonic()
    assert main(argv) == 2
    assert time.monotonic() - began < 20
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_an_attempt_beyond_the_bound_is_refused_at_once(
    toolchain: tlc.Toolchain, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, _with_attempt(2147483647))
    err = _refused(["tlc", "--trace", path], capsys)
    assert "attempt 2147483647" in err and f"up to {tlc_trace.MAX_TRACE_ATTEMPT}" in err
    # at the bound it is checked as usual
    at_bound = decode_history(_with_attempt(tlc_trace.MAX_TRACE_ATTEMPT)).events
    tlc_trace.check_traceable(at_bound, "at the bound")


def test_a_history_beyond_the_event_bound_is_refused_unread(
    toolchain: tlc.Toolchain, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _long(tlc_trace.MAX_TRACE_EVENTS // 4 + 1)
    text = json.dumps(doc)
    # what follows the first events past the bound is never read: garbage there is not seen
    path = tmp_path / "long.json"
    path.write_text(text[: text.rindex("}]}")] + "}, GARBAGE", encoding="utf-8")
    err = _refused(["tlc", "--trace", str(path)], capsys)
    assert f"more than {tlc_trace.MAX_TRACE_EVENTS:,} events" in err
    events = decode_history(doc).events
    with pytest.raises(tlc_trace.TraceTooLarge, match="events; trace validation takes"):
        tlc_trace.check_traceable(events, "long")


def test_conform_skips_the_tla_check_of_a_history_too_large() -> None:
    tla = checks.Tla(1.0)
    tla.toolchain = cast(tlc.Toolchain, object())  # refused before TLC would be run
    cell = tla.check("h", decode_history(_with_attempt(10**6)).events)
    assert cell.status == checks.SKIPPED and "attempt 1000000" in cell.detail


def test_every_bad_history_of_several_is_named_before_tlc_runs(
    toolchain: tlc.Toolchain, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A good history between two bad ones: one line for each bad one, in the order
    given, exit 2, and no TLC run (so no verdict is printed)."""
    bad_attempt = _write(tmp_path, _with_attempt(10**6), "attempt.json")
    truncated = tmp_path / "truncated.json"
    truncated.write_text('{"events": [', encoding="utf-8")
    good = _write(tmp_path, _doc(), "good.json")
    argv = ["tlc", "--trace", bad_attempt, "--trace", good, "--trace", str(truncated)]
    began = time.monotonic()
    assert main(argv) == 2
    assert time.monotonic() - began < 20
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"tmodel tlc: {bad_attempt}") and "attempt 1000000" in lines[0]
    assert lines[1].startswith(f"tmodel tlc: {truncated}")
    assert captured.out == ""
