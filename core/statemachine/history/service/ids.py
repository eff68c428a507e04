"""Run ids the history service derives from others (children, retries, continue-as-new,
reset).

The server draws a random UUID for every new run (`uuid.New()` in
`service/history/api/resetworkflow/api.go` and the continue-as-new and child start
paths). The model must be deterministic, so it derives the id from the run that causes
the new one and the purpose, through a pinned hash (never `hash()`), formatted as a
version-4 UUID.
"""

from __future__ import annotations

import hashlib


def new_run_id(run_id: str, purpose: str) -> str:
    """The id of a run that `run_id` causes for `purpose` ("retry", "child/7", ...)."""
    d = hashlib.sha256(f"{run_id}/{purpose}".encode()).hexdigest()
    return f"{d[:8]}-{d[8:12]}-4{d[13:16]}-a{d[17:20]}-{d[20:32]}"
