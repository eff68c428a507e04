"""Running `tmodel` commands on hostile input, and the property every run must keep.

`CliWorker` keeps one child process (tests/fuzz/cli_worker.py) that runs commands
in-process - fast, with no interpreter start per case - under a memory limit, and
gives each command a time limit: a command that does not answer in time is a hang,
and the child is killed and replaced. `problems` is the fuzz property of the CLI
contract (docs/cli.rst): exit code 0, 1 or 2; on exit 2 a one-line reason; never a
traceback; within the time limit; within the memory bound.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
MEMORY_BYTES = 3 * 2**30  # the address space a command may use (RLIMIT_AS of the child)
MEMORY_KIB = MEMORY_BYTES // 1024
TRACEBACK = "Traceback (most recent call last)"


@dataclass(frozen=True)
class Outcome:
    """What one command did. `code` is None when it did not answer (see `problem`)."""

    argv: tuple[str, ...]
    code: int | None
    out: str = ""
    err: str = ""
    seconds: float = 0.0
    max_rss_kib: int = 0
    problem: str = ""


class CliWorker:
    """A child process that runs `tmodel` commands one at a time (see the module doc)."""

    def __init__(self, memory_bytes: int = MEMORY_BYTES) -> None:
        self.memory_bytes = memory_bytes
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self._proc is None or self._proc.poll() is not None:
            # The child's own stderr (kept for the report if it dies), closed in close().
            self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "tests.fuzz.cli_worker", str(self.memory_bytes)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                cwd=ROOT,
                text=True,
                encoding="utf-8",
            )
        return self._proc

    def run(self, argv: list[str], timeout: float) -> Outcome:
        """Run ``tmodel ARGV`` in the child; a hang or a dead child is an Outcome too."""
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"argv": argv}) + "\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        if not ready:
            self._kill()
            return Outcome(tuple(argv), None, problem=f"no answer within {timeout:g} s (a hang)")
        line = proc.stdout.readline()
        if not line:
            return Outcome(tuple(argv), None, problem=f"the child died: {self._died()}")
        reply = json.loads(line)
        return Outcome(
            tuple(argv),
            reply["code"],
            reply["out"],
            reply["err"],
            reply["seconds"],
            reply["max_rss_kib"],
        )

    def _died(self) -> str:
        self._kill()
        if self._stderr is None:
            return "no output"
        self._stderr.seek(0)
        return self._stderr.read()[-2000:] or f"exit status {self._proc_status()}"

    def _proc_status(self) -> int | None:
        return None if self._proc is None else self._proc.returncode

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._kill()
        if self._stderr is not None:
            self._stderr.close()


class Workers:
    """Children made when first asked for, one per memory limit, closed at the end."""

    def __init__(self) -> None:
        self._children: dict[int, CliWorker] = {}

    def get(self, memory_bytes: int) -> CliWorker:
        if memory_bytes not in self._children:
            self._children[memory_bytes] = CliWorker(memory_bytes)
        return self._children[memory_bytes]

    def close(self) -> None:
        for child in self._children.values():
            child.close()


def problems(outcome: Outcome, time_limit: float) -> list[str]:
    """How `outcome` breaks the CLI contract (empty: it keeps it)."""
    if outcome.code is None:
        return [outcome.problem]
    found = []
    if outcome.code not in (0, 1, 2):
        found.append(f"exit code {outcome.code}")
    if TRACEBACK in outcome.out or TRACEBACK in outcome.err:
        found.append("a traceback")
    if outcome.code == 2:
        reasons = _reasons(outcome)
        if len(reasons) != 1:
            found.append(f"exit 2 with {len(reasons)} lines of reason, not one")
    if outcome.seconds > time_limit:
        found.append(f"took {outcome.seconds:.1f} s (limit {time_limit:g} s)")
    if outcome.max_rss_kib > MEMORY_KIB:
        found.append(f"used {outcome.max_rss_kib // 1024} MiB (bound {MEMORY_KIB // 1024} MiB)")
    return found


def _reasons(outcome: Outcome) -> list[str]:
    """The lines that say why the input is bad: `validate` reports each file on stdout
    (``ERROR    PATH: reason``), every other command on stderr."""
    if outcome.argv[0] == "validate":
        return [line for line in outcome.out.splitlines() if line.startswith("ERROR")]
    return outcome.err.splitlines()


def describe(outcome: Outcome, found: list[str]) -> str:
    """A failure message: what broke, the command, and what it printed."""
    return (
        f"tmodel {' '.join(outcome.argv)}: {'; '.join(found)}\n"
        f"exit {outcome.code}, {outcome.seconds:.2f} s\n"
        f"--- stdout\n{outcome.out[-3000:]}\n--- stderr\n{outcome.err[-3000:]}"
    )
