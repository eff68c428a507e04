"""Shared fixtures: the recorded real-history corpus; the test run's Hypothesis settings."""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from types import ModuleType

from hypothesis import settings

from adapters.temporal_json import decode_history
from core.events import HistoryEvent

# No per-example deadline: tests check what the code does, never how fast (speed lives in
# `tmodel bench`), and on a loaded machine Hypothesis's default 200 ms deadline turns a
# slow but correct example into a failure.
settings.register_profile("tmodel", deadline=None)
settings.load_profile("tmodel")

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def script(name: str) -> ModuleType:
    """The project's script `name` (a file of the scripts folder, without its .py),
    loaded as a module (scripts are no package)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
