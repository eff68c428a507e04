"""`tmodel serve` as a child process on a free 127.0.0.1 port (benchmarks and tests)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

STARTUP_TIMEOUT = 30.0
_LISTENING = re.compile(r"listening on (127\.0\.0\.1:\d+)")


def launch(*args: str, cwd: str | None = None) -> tuple[subprocess.Popen[str], str]:
    """Start `tmodel serve --address 127.0.0.1:0 ARGS` (an `--address` in ARGS wins);
    the process and the address it announced."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "serve", "--address", "127.0.0.1:0", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            line = proc.stdout.readline()
            found = _LISTENING.search(line)
            if found:
                return proc, found.group(1)
            if proc.poll() is not None or time.monotonic() > deadline:
                error = proc.stderr.read() if proc.stderr is not None else ""
                raise RuntimeError(f"tmodel serve did not start: {line!r} {error[-500:]}")
    except BaseException:
        stop(proc)
        raise


def stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM, and SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def serve_process(*args: str, cwd: str | None = None) -> Iterator[str]:
    """Run `tmodel serve --address 127.0.0.1:0 ARGS`; yield its address; stop it with
    SIGTERM (killed if it lingers)."""
    proc, address = launch(*args, cwd=cwd)
    try:
        yield address
    finally:
        stop(proc)
