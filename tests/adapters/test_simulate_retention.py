"""`tmodel simulate --retention DURATION [--archival]`: the config it builds, the
invariants its report lists, a retention that is out of range, and a repro file that
carries the retention and replays to the same trace."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from adapters import simulate_cmd
from adapters.cli import main
from sim.config import SimConfig
from sim.kernel import SECOND
from sim.repro import Repro, dumps
from sim.retention import RETENTION_MUTANTS
from sim.run import simulate

DAY = 86_400 * SECOND


@pytest.mark.parametrize(
    ("text", "ns"), [("90s", 90 * SECOND), ("72h", 3 * DAY), ("3d", 3 * DAY), ("30d", 30 * DAY)]
)
def test_a_retention_is_a_go_duration_or_days(text: str, ns: int) -> None:
    assert simulate_cmd._retention(text) == ns


@pytest.mark.parametrize("text", ["0s", "31d", "-1h", "1x", "d"])
def test_a_retention_out_of_range_or_malformed_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        simulate_cmd._retention(text)


def test_a_run_with_retention_reports_its_deletion_checks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["simulate", "--seed", "2", "--workflows", "4", "--retention", "90s", "--archival"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "held      INV-RETENTION" in out and "held      INV-ARCHIVED-BEFORE-DELETE" in out
    assert main(["simulate", "--seed", "2", "--workflows", "4"]) == 0
    assert "INV-RETENTION" not in capsys.readouterr().out  # only runs with a retention


def test_a_repro_carries_the_retention_and_replays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mutant = "archive-drops-last-event"
    config = SimConfig(1, 4, retention=90 * SECOND, archival=True, mutant=mutant)
    result = simulate(config)
    assert RETENTION_MUTANTS[mutant] in {v.id for v in result.violations}
    path = tmp_path / "retention.repro.json"
    path.write_text(dumps(Repro(config, RETENTION_MUTANTS[mutant], result.trace_hash)))
    assert main(["simulate", "--repro", str(path), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["replay"]["same_trace"] is True and doc["replay"]["violated"] is True
