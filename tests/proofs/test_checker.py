"""The checker on toy models: shortest counterexamples, replay, liveness, determinism."""

from __future__ import annotations

import itertools

import networkx as nx
import pytest

from proofs.checker import CheckError, check, replay, violated
from tests.proofs.toys import Grid, Toggle


def _brute_force_shortest(model: Grid, limit: int) -> int:
    """Length of the shortest action sequence reaching a violation, by trying them all."""
    for length in range(limit + 1):
        for actions in itertools.product(Grid.ACTIONS, repeat=length):
            state: tuple[int, int] | None = (0, 0)
            for action in actions:
                assert state is not None
                state = model.next_state(state, action)
                if state is None:
                    break
            if state is not None and not model.invariants["NotFourTwo"](state):
                return length
    raise AssertionError("no violation within the limit")


def test_counterexample_is_a_shortest_path() -> None:
    model = Grid()
    result = check(model)
    (v,) = result.violations
    assert v.property == "NotFourTwo" and v.kind == "safety"
    assert len(v.actions) == _brute_force_shortest(model, 8) == 4  # jump from (0,0) helps
    assert "jump" in v.actions
    states = replay(model, v.init, v.actions)
    assert states[-1] == (4, 2)
    assert violated(model, states) == [(len(v.actions), "NotFourTwo")]


def test_search_stops_at_first_violation_unless_keep_going() -> None:
    stopped = check(Grid())
    full = check(Grid(), keep_going=True)
    assert not stopped.complete and full.complete
    assert full.distinct_states == 25 > stopped.distinct_states
    assert stopped.violations == full.violations


def test_replay_rejects_a_disabled_action() -> None:
    with pytest.raises(CheckError, match="step 2: action jump is not enabled"):
        replay(Grid(), (0, 0), ["right", "jump"])


def test_generic_successors_count_every_transition() -> None:
    result = check(Grid(), keep_going=True)
    # right: 20 states with x<4; up: 20 with y<4; jump: (0,0), (1,1), (2,2).
    assert result.transitions == 43
    assert result.coverage.taken == {"jump": 3, "right": 20, "up": 20}
    assert sum(result.coverage.states_per_depth) == 25
    assert result.depth == len(result.coverage.states_per_depth)


def test_depth_is_the_longest_shortest_path_plus_one() -> None:
    result = check(Grid(), keep_going=True, graph=True)
    assert result.graph is not None
    distances = nx.single_source_shortest_path_length(result.graph, 0)
    assert result.depth == max(distances.values()) + 1
    per_depth = [0] * result.depth
    for d in distances.values():
        per_depth[d] += 1
    assert tuple(per_depth) == result.coverage.states_per_depth


def test_progress_callback_sees_growing_counts() -> None:
    seen: list[int] = []
    check(Grid(), keep_going=True, progress=seen.append, progress_every=5)
    assert seen and seen == sorted(seen) and seen[-1] <= 25
    assert len(seen) == 4  # after states 5, 10, 15 and 20 were explored


def test_liveness_weak_fairness_allows_toggling_when_finish_flickers() -> None:
    result = check(Toggle(finish_in_b=False))
    (v,) = result.violations
    assert v.kind == "liveness" and v.property == "Done"
    assert v.prefix == () and sorted(v.cycle) == ["toggle", "toggle"]
    states = replay(Toggle(False), v.init, v.actions)
    assert states[v.cycle_start or 0] == states[-1]  # the cycle closes


def test_liveness_holds_under_weak_fairness_and_fails_without() -> None:
    assert check(Toggle(finish_in_b=True), fair=True).ok
    unfair = check(Toggle(finish_in_b=True), fair=False)
    (v,) = unfair.violations
    assert v.cycle and set(v.cycle) == {"toggle"}


def test_liveness_deadlock_is_a_lasso_with_an_empty_cycle() -> None:
    (v,) = check(Toggle(finish_in_b=True, stuck=True)).violations
    assert v.actions == ("toggle", "halt") and v.cycle_start == 2 and v.cycle == ()


def test_symmetry_without_canonicalize_is_refused() -> None:
    with pytest.raises(CheckError, match="declares no symmetry"):
        check(Grid(), symmetry=True)


def test_two_runs_are_identical() -> None:
    first, second = check(Grid(), keep_going=True), check(Grid(), keep_going=True)
    assert first.violations == second.violations
    assert first.coverage == second.coverage
    assert (first.distinct_states, first.transitions) == (second.distinct_states, 43)
