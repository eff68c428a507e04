"""Starting `tmodel serve` for a test: a subprocess on a free 127.0.0.1 port."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from adapters.serve.process import serve_process

ROOT = Path(__file__).resolve().parents[3]


@contextlib.contextmanager
def serve(*args: str) -> Iterator[str]:
    """`tmodel serve` on a free loopback port, run from the repository root."""
    with serve_process(*args, cwd=str(ROOT)) as address:
        yield address


def refused(*args: str) -> str:
    """Run `tmodel serve --address 127.0.0.1:0 ARGS`, which must refuse to start: exit 2,
    nothing on stdout, one line on stderr (returned)."""
    done = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "serve", "--address", "127.0.0.1:0", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and done.stdout == "" and len(lines) == 1, done.stderr
    return lines[0]
