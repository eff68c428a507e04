"""`check_file` runs the cyclic collector less often while it checks a file, and puts
the collector's thresholds back afterwards, whatever the file holds."""

from __future__ import annotations

import gc
from collections.abc import Iterable
from pathlib import Path

import pytest

from adapters import validate_cmd
from adapters.temporal_json import write_events
from core.events import HistoryEvent
from core.statemachine.history.validator import ValidationResult, validate
from sim.synthetic import synthetic_history


def _history(path: Path) -> tuple[Path, int]:
    with path.open("wb") as out:
        count = write_events(synthetic_history(300), out)
    return path, count


def test_the_collector_runs_less_often_during_the_check_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, int, int]] = []

    def watched(events: Iterable[HistoryEvent], limits: object = None) -> ValidationResult:
        seen.append(gc.get_threshold())
        return validate(events)

    monkeypatch.setattr(validate_cmd, "validate", watched)
    before = gc.get_threshold()
    path, count = _history(tmp_path / "h.json")
    report = validate_cmd.check_file(str(path))
    assert report.valid and report.events == count
    assert seen == [(validate_cmd._GC_THRESHOLD, *before[1:])]
    assert gc.get_threshold() == before


@pytest.mark.parametrize("text", [b'{"events": [{"eventId": ', b"not json", b'{"events": 1}'])
def test_the_thresholds_come_back_after_bad_input(tmp_path: Path, text: bytes) -> None:
    before = gc.get_threshold()
    path = tmp_path / "bad.json"
    path.write_bytes(text)
    report = validate_cmd.check_file(str(path))
    assert report.error is not None
    assert gc.get_threshold() == before
