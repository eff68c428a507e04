"""The scenario library under swarm faults (slow: about six minutes on the project's
machine, so `pytest -m slow`): the real-history recorder drives every scenario of
scripts/record_histories.py with official temporalio workers against `tmodel serve
--faults swarm`; every scenario must end as it did on the real server, and the report
must show every invariant held. Histories are not compared with the real server's here:
faults rightly add events (a lost task times out and is retried)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.conform.scenarios.registry import SCENARIOS
from adapters.serve.process import launch
from tests.adapters.serve.serving import ROOT
from tests.adapters.serve.test_scenarios import RECORDER

SEED = 1


@pytest.mark.slow
def test_every_scenario_ends_right_under_swarm_faults(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    proc, address = launch(
        *("--faults", "swarm", "--seed", str(SEED), "--json-report", str(report)),
        *("--search-attribute", "RecorderStage=Keyword"),
        *("--search-attribute", "RecorderCount=Int"),
        cwd=str(ROOT),
    )
    try:
        done = subprocess.run(
            [sys.executable, str(RECORDER), "--target", address, "--out", str(tmp_path / "out")],
            cwd=ROOT / "scripts",
            capture_output=True,
            text=True,
            timeout=1800,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    log = done.stdout + done.stderr
    assert [line for line in log.splitlines() if "FAILED" in line] == [], log[-3000:]
    # one line per scenario: without --only the recorder drives the whole library (43
    # scenarios when this test was written, more since library_features.py's were added)
    reported = sum(1 for line in log.splitlines() if line.startswith("["))
    assert reported == len(SCENARIOS), log[-3000:]
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert proc.returncode == 0 and doc["ok"], out
    assert len(doc["faults"]["injected"]) >= 5  # a real mix of kinds was injected
