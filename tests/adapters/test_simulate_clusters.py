"""`tmodel simulate --clusters N`: exit codes, the report's invariants and swarm lines,
a violation shrunk to a repro file that replays, and bad input on one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.cli import main
from sim.multicluster_faults import REPL_INVARIANTS
from sim.repro import loads


def test_clean_run_names_the_replication_invariants(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--clusters", "2", "--seed", "4", "--workflows", "10"]) == 0
    out = capsys.readouterr().out
    assert "no violation" in out
    assert "clusters" in out
    for name, _ in REPL_INVARIANTS:
        assert f"held      {name}" in out
    assert "INV-NO-LOST-TASK" not in out  # the single-cluster list is not claimed
    assert "of the 5 fault kinds" in out


def test_a_mutant_run_is_shrunk_to_a_repro(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace

    from adapters import simulate_cmd

    parse = simulate_cmd.parse_request

    def with_mutant(args: object) -> simulate_cmd.Request:
        request = parse(args)  # type: ignore[arg-type]
        configs = tuple(replace(c, mutant="repl-no-bump") for c in request.configs)
        return replace(request, configs=configs)

    monkeypatch.setattr(simulate_cmd, "parse_request", with_mutant)
    args = ["simulate", "--clusters", "2", "--seed", "0", "--workflows", "10"]
    assert main([*args, "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "INV-REPL-ONE-ACTIVE" in out
    repro = loads((tmp_path / "tmodel-repro-seed-0.json").read_text(encoding="utf-8"))
    assert repro.config.clusters == 2 and repro.violation == "INV-REPL-ONE-ACTIVE"
    monkeypatch.setattr(simulate_cmd, "parse_request", parse)
    assert main(["simulate", "--repro", str(tmp_path / "tmodel-repro-seed-0.json")]) == 1
    assert "same trace hash" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra",
    [
        ["--clusters", "0"],
        ["--clusters", "6"],
        ["--clusters", "two"],
        ["--clusters", "2", "--faults", "drop"],
        ["--faults", "replication-loss"],
        ["--clusters", "2", "--workload", "fanout"],
    ],
)
def test_bad_input_exits_2_on_one_line(
    extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code: int | str | None
    try:
        code = main(["simulate", "--workflows", "2", *extra])
    except SystemExit as exit_:  # argparse rejects the argument itself
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--clusters", "3", "--seed", "1", "--workflows", "5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["seeds"][0]["violations"] == []
    assert doc["summary"]["invariants_checked"] == [name for name, _ in REPL_INVARIANTS]
