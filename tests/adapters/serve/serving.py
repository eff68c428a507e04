"""Starting `tmodel serve` for a test: a subprocess on a free 127.0.0.1 port."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from adapters.serve.process import serve_process

ROOT = Path(__file__).resolve().parents[3]


@contextlib.contextmanager
def serve(*args: str) -> Iterator[str]:
    """`tmodel serve` on a free loopback port, run from the repository root."""
    with serve_process(*args, cwd=str(ROOT)) as address:
        yield address
