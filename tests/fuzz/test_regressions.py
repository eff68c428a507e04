"""Every hostile input that ever broke a command, kept: tests/fuzz/regressions/.

Each case of regressions/manifest.json names a file, the command it broke, the history
whose twin `replay` uses, the exit code the command must now give and words its
reason or report must hold; it must also keep the CLI contract (harness `problems`).
Inputs that cannot live in a repository (a FIFO, a device, code that spins) follow.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.fuzz.harness import Outcome, Workers, describe, problems
from tests.fuzz.targets import TARGETS

REGRESSIONS = Path(__file__).resolve().parent / "regressions"
CASES: list[dict[str, Any]] = json.loads(
    (REGRESSIONS / "manifest.json").read_text(encoding="utf-8")
)["cases"]


def _run(workers: Workers, command: str, base: str, path: str) -> Outcome:
    target = TARGETS[command]
    worker = workers.get(target.memory_bytes)
    outcome = worker.run(target.argv(base, path), timeout=2 * target.seconds)
    found = problems(outcome, target.seconds)
    assert not found, describe(outcome, found)
    return outcome


def test_every_kept_file_is_in_the_manifest() -> None:
    kept = {p.name for p in REGRESSIONS.iterdir()} - {"manifest.json"}
    assert kept == {case["file"] for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[f"{c['command']}:{c['file']}" for c in CASES])
def test_a_kept_mutant_gives_its_verdict(case: dict[str, Any], workers: Workers) -> None:
    path = str(REGRESSIONS / case["file"])
    outcome = _run(workers, case["command"], case["base"], path)
    assert outcome.code == case["exit"], describe(outcome, ["another exit code"])
    assert case["says"] in outcome.out + outcome.err, describe(outcome, ["another reason"])


@pytest.fixture
def fifo(tmp_path: Path) -> str:
    path = tmp_path / "fifo.json"
    os.mkfifo(path)
    return str(path)


@pytest.mark.parametrize("command", sorted(TARGETS))
@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_a_fifo_or_a_device_is_refused_at_once(
    command: str, special: str, fifo: str, workers: Workers
) -> None:
    path = fifo if special == "fifo" else special
    outcome = _run(workers, command, "timers.json", path)
    assert outcome.code == 2
    assert "not a regular file" in outcome.out + outcome.err
