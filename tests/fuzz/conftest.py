"""The fuzz suite's child processes, shared by a module's tests (one per memory limit)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz.harness import Workers


@pytest.fixture(scope="module")
def workers() -> Iterator[Workers]:
    pool = Workers()
    yield pool
    pool.close()
