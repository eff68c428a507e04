"""`tmodel simulate` through the real entry point: exit codes 0/1/2, the ``--json``
document, ``--out`` (histories that ``tmodel validate`` accepts, the trace, the SVG
timeline), shrinking to a repro file and replaying it, and bad input on one line.

A mutant is switched on only through `SimConfig.mutant`: by a repro file written here,
or by the test replacing the config the command builds - never by a CLI flag.
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from functools import partial
from pathlib import Path

import pytest

from adapters import simulate_cmd
from adapters.cli import main
from adapters.simulate_out import hashed_lines, trace_text
from adapters.simulate_report import invariant_ids
from sim.config import SimConfig
from sim.repro import Repro, dumps
from sim.run import simulate
from tests.adapters.test_cli import _run_cli

MUTANT = "skip-replay"  # caught within a few seeds of 10 workflows; any mutant serves here
SEED_KEYS = {"seed", "trace_hash", "workflows", "events", "faults", "violations"}


def _json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    doc = json.loads(capsys.readouterr().out)
    assert isinstance(doc, dict)
    return doc


def test_clean_run_exits_0_with_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--seed", "1", "--workflows", "6", "--json"]) == 0
    seeds = _json(capsys)["seeds"]
    assert isinstance(seeds, list)
    trace_hash = seeds[0]["trace_hash"]
    assert main(["simulate", "--seed", "1", "--workflows", "6"]) == 0
    out = capsys.readouterr().out
    for row in ("workflows", "history events", "faults injected", "invariants checked"):
        assert row in out
    assert "no violation" in out
    # Every invariant by name, each with its verdict, not a bare count.
    for name in invariant_ids():
        assert re.search(rf"^  held +{re.escape(name)} +\S", out, re.MULTILINE), name
    # The trace hash once, in full; no abbreviated copy.
    assert out.count(str(trace_hash)) == 1 and out.count(str(trace_hash)[:16]) == 1
    # Swarm intensities come with what they mean and the kinds left out.
    flowing = " ".join(out.split())  # the explanation is wrapped
    assert "intensity from 0.1 to 1, which sets how many faults of the kind" in flowing
    assert "off for this seed:" in out


def test_json_document_per_seed_and_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", "--seeds", "0..2", "--workflows", "4", "--faults", "drop,delay", "--json"]
    assert main(args) == 0
    doc = _json(capsys)
    seeds = doc["seeds"]
    assert isinstance(seeds, list) and [s["seed"] for s in seeds] == [0, 1, 2]
    for seed in seeds:
        assert set(seed) >= SEED_KEYS
        assert seed["workflows"] == 4 and seed["events"] > 0 and seed["violations"] == []
        assert set(seed["faults"]) <= {"drop", "delay"}
        assert len(seed["trace_hash"]) == 64
    assert len({s["trace_hash"] for s in seeds}) == 3
    assert main(args) == 0
    again = _json(capsys)["seeds"]
    assert isinstance(again, list)
    assert [s["trace_hash"] for s in again] == [s["trace_hash"] for s in seeds]


def test_jobs_give_each_seed_the_trace_hash_one_process_gives(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["simulate", "--seeds", "3..6", "--workflows", "5", "--json"]
    assert main(args) == 0
    alone = _json(capsys)["seeds"]
    assert main([*args, "--jobs", "2"]) == 0
    pooled = _json(capsys)["seeds"]
    assert isinstance(alone, list) and isinstance(pooled, list)
    assert [s["seed"] for s in pooled] == [3, 4, 5, 6]  # the order given, not finish order
    assert pooled == [
        {**s, "wall_seconds": p["wall_seconds"]} for s, p in zip(alone, pooled, strict=True)
    ]


def test_out_writes_histories_that_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--seed", "2", "--workflows", "5", "--out", str(tmp_path)]) == 0
    folder = tmp_path / "seed-2"
    histories = sorted((folder / "histories").glob("*.json"))
    assert len(histories) >= 5  # continue-as-new adds runs
    trace = (folder / "trace.txt").read_text(encoding="utf-8").splitlines()
    steps = [line for line in trace if not line.startswith("#")]
    assert steps and all(re.match(r"t=\d+\.\d{9}s ", line) for line in steps)
    svg = ET.parse(folder / "timeline.svg").getroot()
    assert svg.tag.endswith("svg") and len(svg.findall(".//{*}circle")) > 0
    # The report says what it wrote, and where.
    said = capsys.readouterr().out
    assert f"wrote to {tmp_path}/:" in said
    assert f"tmodel validate {folder / 'histories'}" in said
    assert f"{len(histories)} histories" in said and f"{len(steps)} steps" in said
    assert main(["validate", str(folder / "histories")]) == 0
    assert "INVALID" not in capsys.readouterr().out


def _mutant_repro(tmp_path: Path) -> tuple[Path, Repro]:
    for seed in range(20):
        found = simulate(SimConfig(seed=seed, workflows=10, mutant=MUTANT))
        if found.violations:
            config = SimConfig(seed=seed, workflows=10, plan=found.plan, mutant=MUTANT)
            result = simulate(config)
            repro = Repro(config, result.violations[0].id, result.trace_hash)
            path = tmp_path / "mutant.repro.json"
            path.write_text(dumps(repro), encoding="utf-8")
            return path, repro
    raise AssertionError(f"the {MUTANT} mutant broke no invariant in 20 seeds")


def test_repro_replays_to_the_same_hash_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, repro = _mutant_repro(tmp_path)
    assert main(["simulate", "--repro", str(path), "--json"]) == 1
    doc = _json(capsys)
    replay = doc["replay"]
    assert isinstance(replay, dict) and replay["same_trace"] is True
    assert replay["violated"] is True
    seeds = doc["seeds"]
    assert isinstance(seeds, list) and seeds[0]["trace_hash"] == repro.trace_hash
    assert repro.violation in {v["id"] for v in seeds[0]["violations"]}
    assert main(["simulate", "--repro", str(path)]) == 1
    out = capsys.readouterr().out
    assert "same trace hash" in out and "still violated" in out


def test_violation_is_shrunk_to_a_repro_that_replays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The only way in for a mutant: the test swaps the config the command builds.
    monkeypatch.setattr(simulate_cmd, "SimConfig", partial(SimConfig, mutant=MUTANT))
    out = tmp_path / "out"
    code = main(["simulate", "--seeds", "0..9", "--workflows", "40", "--out", str(out)])
    assert code == 1
    text = capsys.readouterr().out
    assert "VIOLATION" in text and "shrunk seed" in text
    repro_path = next(out.glob("tmodel-repro-seed-*.json"))
    assert f"tmodel simulate --repro {repro_path}" in text
    assert (out / f"{repro_path.stem.replace('tmodel-repro-', '')}-shrunk" / "trace.txt").exists()
    monkeypatch.undo()
    assert main(["simulate", "--repro", str(repro_path), "--json"]) == 1
    replay = _json(capsys)["replay"]
    assert isinstance(replay, dict) and replay["same_trace"] and replay["violated"]


def test_no_cli_flag_or_variable_exposes_mutants() -> None:
    result = _run_cli("simulate", "--help")
    assert "mutant" not in result.stdout.lower()
    for module in ("simulate_cmd.py", "simulate_report.py"):
        source = (Path(simulate_cmd.__file__).parent / module).read_text(encoding="utf-8")
        assert "mutant" not in source and "environ" not in source


def _bad_repro(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    return str(path)


BAD_ARGS = {
    "reversed-range": ["--seeds", "5..2"],
    "range-not-numbers": ["--seeds", "a..b"],
    "range-without-dots": ["--seeds", "5"],
    "negative-seed": ["--seed", "-1"],
    "seed-and-seeds": ["--seed", "1", "--seeds", "1..2"],
    "zero-workflows": ["--workflows", "0"],
    "zero-jobs": ["--jobs", "0"],
    "jobs-not-a-number": ["--jobs", "many"],
    "repro-only-out-of-range": [
        "--repro",
        '@{"format": "tmodel-simulate-repro", "version": 1, "config": {"workflows": 3,'
        ' "only": [1, 7]}, "expect": {"violation": "INV-X", "trace_hash": "00"}}',
    ],
    "unknown-workload": ["--workload", "nope"],
    "unknown-fault": ["--faults", "drop,meteor"],
    "missing-repro": ["--repro", "/no/such/repro.json"],
    "not-json-repro": ["--repro", "@not json"],
    "wrong-format-repro": ["--repro", '@{"format": "something-else"}'],
    "malformed-config-repro": [
        "--repro",
        '@{"format": "tmodel-simulate-repro", "version": 1, "config": {"faults": ["meteor"]},'
        ' "expect": {"violation": "INV-X", "trace_hash": "00"}}',
    ],
    "repro-with-seed": ["--repro", "@{}", "--seed", "3"],
    "archival-without-retention": ["--archival"],
    "retention-with-clusters": ["--retention", "1h", "--clusters", "2"],
    "out-is-a-file": ["--out", "@x"],
}


@pytest.mark.parametrize("kind", sorted(BAD_ARGS))
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, kind: str) -> None:
    args = [_bad_repro(tmp_path, arg[1:]) if arg.startswith("@") else arg for arg in BAD_ARGS[kind]]
    result = _run_cli("simulate", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""


@pytest.mark.slow
@pytest.mark.ci_sample
def test_default_run_is_clean_and_quick() -> None:
    result = _run_cli("simulate", "--json")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    doc = json.loads(result.stdout)
    assert doc["seeds"][0]["workflows"] >= 100
    assert doc["summary"]["wall_seconds"] < 30


def test_the_invariants_reported_are_those_the_monitor_checks() -> None:
    import sim.invariants

    source = Path(sim.invariants.__file__).read_text(encoding="utf-8")
    checked = set(re.findall(r'"(INV-[A-Z-]+)"', source))
    assert checked == {i for i in invariant_ids() if i.startswith("INV-")}


def test_bench_simulate_reports_one_process_and_a_sweep(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from argparse import Namespace

    from adapters import bench_simulate

    monkeypatch.setattr(bench_simulate, "temporal_binary", lambda: None)  # no real server
    monkeypatch.setattr(bench_simulate, "SWEEP_SEEDS_PER_JOB", 1)
    monkeypatch.setattr(bench_simulate, "SimConfig", partial(SimConfig, workflows=5))
    args = Namespace(seed=0, workflows=6, repeat=1, jobs=2)
    figures = {f.metric: f.value for f in bench_simulate.bench_simulate(args)}
    assert figures["workflows"] == 6 and figures["violations"] == 0
    assert figures["events_per_wall_second"] > 0 and figures["virtual_over_wall"] > 0
    assert figures["sweep_jobs"] == 2 and figures["sweep_seeds"] == 2
    assert figures["sweep_workflows_per_seed"] == 5 and figures["sweep_violations"] == 0
    assert figures["sweep_events_per_wall_second"] > 0
    assert "real-server comparison skipped" in capsys.readouterr().err
    one = {f.metric for f in bench_simulate.bench_simulate(Namespace(**{**vars(args), "jobs": 1}))}
    assert not any(m.startswith("sweep_") for m in one)  # one job: no sweep


def test_jobs_with_out_write_every_seed_histories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs"
    args = ["simulate", "--seeds", "0..1", "--workflows", "3", "--jobs", "2", "--out", str(out)]
    assert main([*args, "--json"]) == 0
    doc = _json(capsys)
    seeds = doc["seeds"]
    assert isinstance(seeds, list)
    for seed in seeds:
        folder = out / f"seed-{seed['seed']}"
        assert len(list((folder / "histories").glob("*.json"))) >= seed["workflows"]
        text = (folder / "trace.txt").read_text(encoding="utf-8")
        lines = hashed_lines(text)
        assert (
            hashlib.sha256("".join(f"{line}\n" for line in lines).encode()).hexdigest()
            == (seed["trace_hash"])
        )
        assert seed["trace_hash"] in text  # the header names the hash it gives back
    written = doc["written"]
    assert isinstance(written, list) and [w["folder"] for w in written] == [
        str(out / "seed-0"),
        str(out / "seed-1"),
    ]


def test_trace_file_times_are_seconds_and_give_back_the_hashed_lines() -> None:
    lines = ("t=0 run seed=3", "t=1500000000 client start wf-0", "t=-7 node x t=5 y", "t=12 z")
    text = trace_text(lines, 3, "ab" * 32)
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert body == [
        "t=0.000000000s run seed=3",
        "t=1.500000000s client start wf-0",
        "t=-0.000000007s node x t=5 y",  # only the step's own time is converted
        "t=0.000000012s z",
    ]
    assert hashed_lines(text) == list(lines)
    assert "ab" * 32 in text.splitlines()[2]


def test_the_json_summary_lists_the_workloads_own_invariants(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A schedules run checks INV-SCHEDULE-*: the JSON summary names the same rows as
    the text report, not only the cluster's."""
    args = ["simulate", "--workload", "schedules", "--workflows", "1", "--faults", "none"]
    assert main([*args, "--json"]) == 0
    summary = _json(capsys)["summary"]
    assert isinstance(summary, dict)
    assert main(args) == 0
    text = capsys.readouterr().out
    listed = re.findall(r"^  held +(\S+)", text, re.MULTILINE)
    assert summary["invariants_checked"] == listed
    assert "INV-SCHEDULE-PAUSE" in listed and set(invariant_ids()) < set(listed)
