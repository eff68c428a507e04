"""Shared fixtures: the recorded real-history corpus."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from adapters.temporal_json import decode_history
from core.events import HistoryEvent

FIXTURES = Path(__file__).resolve().parent / "fixtures"
HISTORIES = FIXTURES / "histories"


def corpus_files() -> list[Path]:
    """Every recorded history (the manifest lists them; a test checks the two agree)."""
    manifest = json.loads((HISTORIES / "manifest.json").read_text(encoding="utf-8"))
    return [HISTORIES / entry["file"] for entry in manifest["histories"]]


def fault_files() -> list[Path]:
    """The histories of the scenarios that inject a live fault (tests/fixtures/histories/
    faults, with a manifest of its own; see adapters/conform/scenarios/registry.py)."""
    folder = HISTORIES / "faults"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return [folder / entry["file"] for entry in manifest["histories"]]


@cache
def corpus_events(name: str) -> tuple[HistoryEvent, ...]:
    return tuple(decode_history((HISTORIES / name).read_text(encoding="utf-8")).events)
