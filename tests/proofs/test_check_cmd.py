"""`tmodel check` through its own argparse harness: exit codes, reports, JSON, exports."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest

from tests.proofs.checkcli import run_check


def test_no_violation_exits_0_with_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_check("check", "two-phase-commit") == 0
    out = capsys.readouterr().out
    assert "no violation" in out and "288" in out


def test_violation_exits_1_with_numbered_actions(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_check("check", "two-phase-commit", "--param", "broken=true") == 1
    out = capsys.readouterr().out
    assert "TCConsistent violated (safety), 2 steps" in out
    assert "   1. RMChooseToAbort(0)\n   2. RMCommitUnilaterally(1)" in out


def test_liveness_lasso_marks_its_cycle(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_check("check", "two-phase-commit", "--param", "liveness=true", "--unfair") == 1
    out = capsys.readouterr().out
    assert "AllDecided violated (liveness)" in out and "-- cycle" in out


def test_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    code = run_check(
        "check", "two-phase-commit", "--param", "rms=5", "--param", "broken=1", "--json"
    )
    assert code == 1
    doc = json.loads(capsys.readouterr().out)
    assert {"distinct_states", "transitions", "depth", "seconds", "violations"} <= set(doc)
    (v,) = doc["violations"]
    assert v["property"] == "TCConsistent" and v["actions"] == [
        "RMChooseToAbort(0)",
        "RMCommitUnilaterally(1)",
    ]


def test_symmetry_json_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_check("check", "two-phase-commit", "--param", "rms=5", "--symmetry", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["distinct_states"] == 314 and doc["symmetry"] is True and doc["violations"] == []


def test_exports_are_written(tmp_path: Path) -> None:
    files = [tmp_path / name for name in ("g.dot", "g.graphml", "g.json")]
    flags = ["--dot", str(files[0]), "--graphml", str(files[1]), "--graph-json", str(files[2])]
    assert run_check("check", "two-phase-commit", *flags, "--json") == 0
    assert nx.read_graphml(files[1]).number_of_nodes() == 288
    assert len(json.loads(files[2].read_text(encoding="utf-8"))["nodes"]) == 288
    assert files[0].read_text(encoding="utf-8").startswith("digraph")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope"], "unknown model 'nope'"),
        (["two-phase-commit", "--param", "rms"], "expected K=V"),
        (["two-phase-commit", "--param", "rms=x"], "not a whole number"),
        (["two-phase-commit", "--param", "rms=0"], "between 1 and 12"),
        (["two-phase-commit", "--param", "color=red"], "no parameter 'color'"),
        (["two-phase-commit", "--param", "broken=maybe"], "expected true or false"),
        (["two-phase-commit", "--dot", "/no/such/dir/g.dot"], "no such directory"),
    ],
)
def test_bad_input_exits_2_on_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_check("check", *argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1
    assert "Traceback" not in captured.err and captured.out == ""


def test_graph_file_that_is_a_directory_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_check("check", "two-phase-commit", "--graphml", str(tmp_path)) == 2
    assert "is a directory" in capsys.readouterr().err
