"""`tmodel prove` through the real entry point: exit codes 0/1/2, the report and the
``--json`` document."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from adapters.cli import main
from proofs.theorems import THEOREMS


def test_all_theorems_proved_exit_0_with_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove"]) == 0
    out = capsys.readouterr().out
    for theorem_id in THEOREMS:
        assert f"proved     {theorem_id} " in out
    assert "NOT PROVED" not in out and "not proved" in out  # the summary row, with 0


def test_json_document_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "thm-fencing", "THM-3.1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True
    assert [t["id"] for t in doc["theorems"]] == ["THM-FENCING", "THM-3.1"]
    for entry in doc["theorems"]:
        assert set(entry) == {
            "id",
            "statement",
            "variant",
            "proved",
            "seconds",
            "obligations",
            "counterexample",
        }
        assert entry["proved"] is True and entry["counterexample"] is None
        assert entry["statement"] == THEOREMS[entry["id"]].statement
        assert isinstance(entry["seconds"], float)


def test_negative_variant_exits_1_with_counterexample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "THM-EXACTLY-ONCE", "--negative", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    (entry,) = doc["theorems"]
    assert doc["ok"] is False and entry["proved"] is False
    assert entry["variant"] == "negative: the service's drop of a closed activity made a no-op"
    assert "result-at-most-once violated" in entry["counterexample"]


def test_negative_report_prints_numbered_steps(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "THM-FENCING", "--negative"]) == 1
    out = capsys.readouterr().out
    assert "NOT PROVED THM-FENCING" in out
    assert "single writer since the latest acquisition violated, 3 steps from:" in out
    assert "   3. host " in out and "commits a write with range id 1 (stored: 2)" in out


def test_unknown_theorem_is_one_line_exit_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "prove", "THM-3.1", "THM-NOPE"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "tmodel prove: unknown theorem 'THM-NOPE' (known: THM-3.1, THM-RESULT-AT-MOST-ONCE, "
        "THM-FENCING, THM-EXACTLY-ONCE)"
    ]
