"""The scenario library under swarm faults (slow: about six minutes on the project's
machine, so `pytest -m slow`): the real-history recorder drives every scenario of
scripts/record_histories.py with official temporalio workers against `tmodel serve
--faults swarm`; every scenario must end as it did on the real server, and the report
must show every invariant held. Histories are not compared with the real server's here:
faults rightly add events (a lost task times out and is retried).

A few scenarios race a short bound that a fault can outlast (TIMING_BOUND, each with
its reason): a lost workflow task waits out its 10 s timeout, longer than the bound. One
of those may end otherwise under faults, as it would on a real cluster that lost the
same message; it is then run again on a server without faults, where it must end as on
the real server. The faults are the only difference between the two runs, so a
scenario that fails there too is a failure of the server, and any other scenario that
fails under faults is one at once."""

from __future__ import annotations

import json
import re
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


# Scenarios whose expected end needs some run or task to finish within a bound shorter
# than a fault can delay it (a lost task: its 10 s workflow task timeout).
TIMING_BOUND = {
    # the retry run must complete inside its 2 s run timeout; with its first task
    # lost it times out as well, and the chain is TIMED_OUT, TIMED_OUT, ...
    "run-timeout-retry",
}
SEARCH_ATTRIBUTES = (
    *("--search-attribute", "RecorderStage=Keyword"),
    *("--search-attribute", "RecorderCount=Int"),
)


def _record(address: str, out: Path, *only: str) -> str:
    """Drive the scenarios (all, or `only`) against `address`: the recorder's output."""
    done = subprocess.run(
        [sys.executable, str(RECORDER), "--target", address, "--out", str(out)]
        + (["--only", *only] if only else []),
        cwd=ROOT / "scripts",
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return done.stdout + done.stderr


def _failed(log: str) -> list[str]:
    """The names of the scenarios the recorder reports FAILED ("[i/n] NAME  FAILED: ...")."""
    lines = [line for line in log.splitlines() if "FAILED" in line]
    named = [re.match(r"\[\s*\d+/\d+\]\s+(\S+)\s+FAILED", line) for line in lines]
    return [found.group(1) if found else line for found, line in zip(named, lines, strict=True)]


@pytest.mark.slow
def test_every_scenario_ends_right_under_swarm_faults(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    proc, address = launch(
        *("--faults", "swarm", "--seed", str(SEED), "--json-report", str(report)),
        *SEARCH_ATTRIBUTES,
        cwd=str(ROOT),
    )
    try:
        log = _record(address, tmp_path / "out")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    failed = _failed(log)
    assert set(failed) <= TIMING_BOUND, log[-3000:]
    # one line per scenario: without --only the recorder drives the whole library (43
    # scenarios when this test was written, more since library_features.py's were added)
    reported = sum(1 for line in log.splitlines() if line.startswith("["))
    assert reported == len(SCENARIOS), log[-3000:]
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert proc.returncode == 0 and doc["ok"], out
    assert len(doc["faults"]["injected"]) >= 5  # a real mix of kinds was injected
    if failed:  # the control: the same scenarios, the same server, no faults
        calm, calm_address = launch(*SEARCH_ATTRIBUTES, cwd=str(ROOT))
        try:
            again = _record(calm_address, tmp_path / "calm", *failed)
        finally:
            calm.send_signal(signal.SIGTERM)
            calm.communicate(timeout=60)
        assert _failed(again) == [], again[-3000:]
        assert sum(1 for line in again.splitlines() if line.startswith("[")) == len(failed)
