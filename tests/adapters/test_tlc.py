"""TLC on the TLA+ specs: manifest expectations and the `tmodel tlc` CLI.

Every configuration of spec/tla/manifest.json is checked (normal: exact distinct-state
count; revert and probe: the named invariant violated), on two TLC processes at a time.
Trace validation of histories is tested in test_tlc_trace.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from adapters import tlc, tlc_cmd

ROOT = Path(__file__).resolve().parents[2]
HISTORIES = ROOT / "tests" / "fixtures" / "histories"

# The specs whose configurations this manifest covers (TwoPhase has its own checks).
OWN_SPECS = (
    "WorkflowExecution",
    "Matching",
    "ShardOwnership",
    "Replay",
    "TwoPhase",
    "MultiClusterReplication",
)


def _toolchain_or_skip() -> tlc.Toolchain:
    """TLC needs Java and the jar; a developer without them skips, CI never does."""
    try:
        return tlc.find_toolchain()
    except tlc.TlcUnavailable as exc:
        if os.environ.get("CI"):  # .ci/run installs both: a missing one is a failure
            pytest.fail(f"TLC unavailable in CI: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def toolchain() -> tlc.Toolchain:
    return _toolchain_or_skip()


@pytest.fixture(scope="module")
def reports(toolchain: tlc.Toolchain) -> dict[str, tlc.ConfigReport]:
    entries = tlc.load_manifest()
    return {r.entry.config: r for r in tlc.check_all(toolchain, entries, jobs=2)}


def _entries() -> list[tlc.ManifestEntry]:
    return tlc.load_manifest()


@pytest.mark.parametrize("entry", _entries(), ids=lambda e: e.config)
def test_config_meets_manifest(
    entry: tlc.ManifestEntry, reports: dict[str, tlc.ConfigReport]
) -> None:
    report = reports[entry.config]
    assert report.ok, f"{entry.config}: {report.reason}"
    result = report.result
    assert result is not None
    if entry.kind == "normal":
        assert result.violated is None
        assert result.distinct_states == entry.expected_states
    else:
        assert result.violated == entry.expected_violation
        assert result.trace, "a violation comes with a counterexample"


def test_manifest_names_every_config_file() -> None:
    listed = {e.config for e in _entries()}
    on_disk = {p.name for prefix in OWN_SPECS for p in tlc.SPEC_DIR.glob(f"MC{prefix}*.cfg")}
    assert listed == on_disk


def _bugs_set(config: str) -> set[str]:
    text = (tlc.SPEC_DIR / config).read_text(encoding="utf-8")
    return set(re.findall(r"(BUG_\w+) = TRUE", text))


@pytest.mark.parametrize("entry", _entries(), ids=lambda e: e.config)
def test_revert_configs_put_back_exactly_one_bug(entry: tlc.ManifestEntry) -> None:
    bugs = _bugs_set(entry.config)
    if entry.kind == "revert":
        assert len(bugs) == 1 and next(iter(bugs)) in entry.config
    else:
        assert not bugs


def test_every_invariant_has_a_revert() -> None:
    """Each invariant and property a normal config checks is the target of a revert."""
    checked: set[str] = set()
    for entry in _entries():
        if entry.kind != "normal":
            continue
        text = (tlc.SPEC_DIR / entry.config).read_text(encoding="utf-8")
        body = text.split("INVARIANTS", 1)[1] if "INVARIANTS" in text else ""
        body += text.split("PROPERTIES", 1)[1] if "PROPERTIES" in text else ""
        checked |= {w for w in body.split() if re.fullmatch(r"[A-Za-z_0-9]+", w)}
    checked -= {"PROPERTIES", "INVARIANTS"}
    # TwoPhase is the checker calibration (state counts only); its broken variant is
    # exercised against our explicit-state checker in tests/proofs/.
    checked -= {"TPTypeOK", "TCConsistent"}
    reverted = {e.expected_violation for e in _entries() if e.kind == "revert"}
    assert checked - reverted == set()


def test_liveness_counterexample_is_a_lasso(reports: dict[str, tlc.ConfigReport]) -> None:
    result = reports["MCWorkflowExecution_revert_BUG_NO_WFT_TIMEOUT.cfg"].result
    assert result is not None
    assert result.trace[-1].action in ("Stuttering",) or result.trace[-1].action.startswith(
        "Back to state"
    )


# ------------------------------------------------------------------------- output


def test_parse_output_reads_tool_messages() -> None:
    text = (
        "@!@!@STARTMSG 2110:1 @!@!@\nInvariant H6_NothingWhileInFlight is violated.\n"
        "@!@!@ENDMSG 2110 @!@!@\n"
        "@!@!@STARTMSG 2217:4 @!@!@\n1: <Initial predicate>\n/\\ x = 0\n/\\ h = <<>>\n\n"
        "@!@!@ENDMSG 2217 @!@!@\n"
        "@!@!@STARTMSG 2217:4 @!@!@\n2: <Inc line 6, col 8 to line 6, col 69 of module T>\n"
        "/\\ x = 1\n/\\ h = <<[t |-> 1]>>\n\n@!@!@ENDMSG 2217 @!@!@\n"
        "@!@!@STARTMSG 2199:0 @!@!@\n3 states generated, 2 distinct states found, 0 states "
        "left on queue.\n@!@!@ENDMSG 2199 @!@!@\n"
    )
    result = tlc.parse_output(text)
    assert result.violated == "H6_NothingWhileInFlight"
    assert (result.generated_states, result.distinct_states) == (3, 2)
    assert [s.action for s in result.trace] == ["Initial predicate", "Inc"]
    assert result.trace[1].value("h") == "<<[t |-> 1]>>"
    assert not result.errors


def test_temporal_violation_is_attributed_to_the_single_property() -> None:
    text = (
        "@!@!@STARTMSG 2116:1 @!@!@\nTemporal properties were violated.\n@!@!@ENDMSG 2116 @!@!@\n"
    )
    assert tlc.parse_output(text, ("INV_EVENTUALLY_CLOSED",)).violated == "INV_EVENTUALLY_CLOSED"


def test_a_java_that_does_not_start_is_an_error_not_a_verdict() -> None:
    text = "Error occurred during initialization of VM\nCould not allocate heap\n"
    result = tlc.parse_output(text, exit_code=1)
    assert result.errors == ("Error occurred during initialization of VM",)
    assert tlc.parse_output("", exit_code=1).errors == ("java ended with exit status 1",)
    assert not tlc.parse_output(text, exit_code=0).errors  # only a failed run says so


# ---------------------------------------------------------------------------- CLI


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tmodel")
    commands = parser.add_subparsers(dest="command", required=True)
    tlc_cmd.add_parser(commands)
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


def test_cli_json_for_one_spec(
    toolchain: tlc.Toolchain, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(["tlc", "ShardOwnership", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True
    rows = {row["config"]: row for row in doc["configs"]}
    normal = rows["MCShardOwnership.cfg"]
    assert normal["distinct_states"] == normal["expected_states"]
    revert = rows["MCShardOwnership_revert_BUG_NO_RANGE_CHECK.cfg"]
    assert revert["violated"] == revert["expected_violation"] == "INV_SINGLE_SHARD_WRITER"
    assert set(normal) >= {
        "spec", "config", "distinct_states", "expected_states", "expected_violation",
        "violated", "ok",
    }  # fmt: skip


def test_cli_trace_mutated_history_exits_1(
    toolchain: tlc.Toolchain, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads((HISTORIES / "signals.json").read_text(encoding="utf-8"))
    events = doc["events"]
    events[3], events[4] = events[4], events[3]
    for i, event in enumerate(events, start=1):
        event["eventId"] = str(i)
    bad = tmp_path / "mutated.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    assert _cli(["tlc", "--trace", str(bad), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["traces"][0]["accepted"] is False


def test_cli_unknown_spec_is_bad_input(
    toolchain: tlc.Toolchain, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(["tlc", "NoSuchSpec"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NoSuchSpec" in err


def test_cli_missing_history_is_bad_input(
    toolchain: tlc.Toolchain, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(["tlc", "--trace", "/nonexistent/h.json"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_missing_jar_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TLA2TOOLS_JAR", "/nonexistent/tla2tools.jar")
    assert _cli(["tlc"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "TLA2TOOLS_JAR" in captured.err and "Traceback" not in captured.err


def test_missing_jar_in_a_subprocess_has_no_traceback(tmp_path: Path) -> None:
    code = (
        "import argparse, sys\n"
        "from adapters import tlc_cmd\n"
        "p = argparse.ArgumentParser(prog='tmodel')\n"
        "c = p.add_subparsers(dest='command', required=True)\n"
        "tlc_cmd.add_parser(c)\n"
        "a = p.parse_args(['tlc', '--json'])\n"
        "sys.exit(a.run(a))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"TLA2TOOLS_JAR": "/nonexistent", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
