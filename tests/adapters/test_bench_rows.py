"""`tmodel bench --json` gives each headline row by its documented `metric` name, and
every ratio is ours over theirs, computed from the two rates the same run reports.

The benchmarks measure; these tests do not judge their figures, only that each row is
there, is a finite positive number, and is the quotient it claims to be. The service
bench is cheap and runs by default (the replay rows are checked in
tests/adapters/test_replay_cmd.py); the others start TLC or a dev server, or write a
large file, and are `slow`.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench(*args: str, timeout: float) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "bench", *args, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    figures = {row["metric"]: row["value"] for row in rows}
    assert len(figures) == len(rows), "a metric name appears twice"
    for name, value in figures.items():
        assert isinstance(value, (int, float)) and math.isfinite(value), (name, value)
    return figures


def _is_quotient(ratio: float, numerator: float, denominator: float) -> None:
    assert ratio > 0 and numerator > 0 and denominator > 0
    assert ratio == pytest.approx(numerator / denominator, rel=1e-9)


def test_service_row_counts_only_state_changing_requests() -> None:
    figures = _bench("service", "--workflows", "40", "--repeat", "1", timeout=300)
    assert figures["service_state_changing"] > 0
    # the requests that changed nothing are reported apart, as percentages of every call
    unchanged = figures["unchanged_share"]
    assert 0 < unchanged < 100
    assert 0 <= figures["stale_not_found_share"] <= unchanged
    # the shares are of the `handle` calls: every request but the starts, of which there
    # is at least one a workflow
    handle_calls = figures["state_changing_requests"] / (1 - unchanged / 100)
    assert handle_calls == pytest.approx(round(handle_calls), abs=1e-6)
    assert handle_calls <= figures["requests"] - figures["workflows"]


@pytest.mark.slow
@pytest.mark.ci_sample
def test_validate_end_to_end_row() -> None:
    figures = _bench(
        "validate", "--events", "5000", "--e2e-events", "5000", "--repeat", "1", timeout=600
    )
    assert figures["validate_end_to_end"] > 0
    assert figures["validate_end_to_end_events"] >= 5000


@pytest.mark.slow
def test_check_rows_compare_tlc_reported_time() -> None:
    figures = _bench("check", "--repeat", "1", timeout=3600)
    # ratio = TLC's own reported seconds over ours, i.e. our rate over TLC's
    _is_quotient(
        figures["check_vs_tlc"], figures["2pc7_tlc_reported_seconds"], figures["2pc7_seconds"]
    )
    _is_quotient(
        figures["check_symmetry_vs_tlc_symmetry"],
        figures["2pc7_tlc_symmetry_reported_seconds"],
        figures["2pc7_symmetry_seconds"],
    )
    assert figures["2pc7_tlc_symmetry_states"] == figures["2pc7_symmetry_states"]


@pytest.mark.slow
def test_simulate_row_same_workload() -> None:
    figures = _bench("simulate", "--workflows", "40", "--repeat", "1", timeout=1800)
    assert figures["simulate_vs_devserver_same_workload"] > 0
