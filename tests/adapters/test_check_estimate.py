"""`tmodel check`'s estimate of a state space from smaller settings, and its warning."""

from __future__ import annotations

import itertools

import pytest

from adapters import check_cmd
from adapters.check_estimate import STATE_LIMIT, Setting, estimate, path, warning
from proofs.checker import check
from proofs.models import SIZES
from proofs.models.two_phase_commit import TwoPhaseCommit
from tests.proofs.checkcli import run_check


def test_the_path_raises_one_parameter_at_a_time_all_together() -> None:
    sizes = SIZES["matching-dedup"]
    steps = path(sizes, {"pollers": 3, "duplicates": 2, "faults": 2})
    assert steps[0] == (("pollers", 1), ("duplicates", 0), ("faults", 0))
    assert steps[-1] == (("pollers", 3), ("duplicates", 2), ("faults", 2))
    for before, after in itertools.pairwise(steps):
        assert sorted(b - a for (_, a), (_, b) in zip(before, after, strict=True)) == [0, 0, 1]
    # Each parameter is halfway when the path is: none runs ahead of the others.
    middle = dict(steps[len(steps) // 2])
    assert middle == {"pollers": 2, "duplicates": 1, "faults": 1}


class Geometric:
    """A model of states = 10 x 4^(steps from the lowest setting), explored at 1,000
    states a second on a clock the measurements move."""

    def __init__(self) -> None:
        self.now = 0.0
        self.explored: list[Setting] = []

    def clock(self) -> float:
        return self.now

    def measure(self, setting: Setting, seconds: float) -> tuple[int, float, bool]:
        self.explored.append(setting)
        states = 10 * 4 ** sum(value - 1 for _, value in setting)
        took = states / 1000
        if took > seconds:
            self.now += seconds
            return int(seconds * 1000), seconds, False
        self.now += took
        return states, took, True


def test_geometric_growth_is_extrapolated_exactly() -> None:
    fake = Geometric()
    asked = {"rms": "12"}
    found = estimate("two-phase-commit", asked, budget=20, measure=fake.measure, clock=fake.clock)
    assert found is not None
    # rms=1..6 finish within 20 s (rms=6: 10 x 4^5 = 10,240 states, 10 s); rms=7 is cut
    # short, and being short of rms=6's count it does not lower the estimate.
    assert [dict(s)["rms"] for s in fake.explored] == [1, 2, 3, 4, 5, 6, 7]
    assert found.per_step == pytest.approx(4)
    assert found.states == pytest.approx(10 * 4**11)
    assert found.seconds == pytest.approx(10 * 4**11 / 1000)
    assert found.too_big() and found.target == (("rms", 12),)
    # The largest setting within an hour at 1,000 states/s: 10 x 4^9 states, 2,621 s.
    assert found.within == (("rms", 10),)
    text = "\n".join(warning(found))
    assert "rms=12 looks infeasible: about 4.2e7 states, 11 h" in text
    assert "rms=10 would stay under" in text


def test_no_estimate_at_or_below_the_defaults() -> None:
    fake = Geometric()
    assert estimate("two-phase-commit", {"rms": "3"}, measure=fake.measure) is None
    assert estimate("workflow-run", {}, measure=fake.measure) is None  # no size parameter
    assert fake.explored == []  # nothing was even measured


def test_a_known_explosion_is_estimated_as_one() -> None:
    """Two-phase commit with 12 resource managers: billions of states (rms=7 has
    296,448 and each one more multiplies them by about six)."""
    found = estimate("two-phase-commit", {"rms": "12"}, budget=2.0)
    assert found is not None and found.too_big()
    assert found.states > STATE_LIMIT
    # Budget enough for rms=1..6 to finish (about 2 s) even on a busy machine.
    small = estimate("two-phase-commit", {"rms": "6"}, budget=60.0)
    assert small is not None and not small.too_big()
    assert small.states == check(TwoPhaseCommit(6)).distinct_states  # measured, not guessed


def test_check_warns_on_stderr_and_searches_anyway(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    searched = []

    def quick_search(model: object, args: object, want_graph: bool) -> object:
        searched.append(model)
        return check(TwoPhaseCommit(3))  # the real one would take hours

    monkeypatch.setattr(check_cmd, "_search", quick_search)
    assert run_check("check", "two-phase-commit", "--param", "rms=12", "--json") == 0
    err = capsys.readouterr().err
    assert err.startswith("tmodel check: warning: rms=12 looks infeasible: about ")
    assert "Searching anyway" in err and len(searched) == 1
    assert run_check("check", "two-phase-commit", "--param", "rms=5") == 0
    assert "warning" not in capsys.readouterr().err


def test_a_setting_cut_short_counts_as_a_floor() -> None:
    """When the setting the budget ran out in had already reached more states than the
    finished ones predict, the estimate grows from it instead."""
    now = [0.0]

    def measure(setting: Setting, seconds: float) -> tuple[int, float, bool]:
        rms = dict(setting)["rms"]
        if rms < 4:
            now[0] += 0.1
            return 10 * 4 ** (rms - 1), 0.1, True  # 10, 40, 160
        now[0] += seconds
        return 100_000, seconds, False  # rms=4 was far bigger than x4

    asked = {"rms": "6"}
    found = estimate("two-phase-commit", asked, budget=1.0, measure=measure, clock=lambda: now[0])
    assert found is not None
    assert found.per_step == pytest.approx(100_000 / 160)
    assert found.states == pytest.approx(100_000 * (100_000 / 160) ** 2)
    assert not found.measured[-1].finished
    assert "rms=4: at least 100,000" in "\n".join(warning(found))
