"""The calibration model: exact state counts, symmetry, the seeded bug, liveness."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import networkx as nx
import pytest

from proofs.checker import check, replay, violated
from proofs.graph import graph_states
from proofs.models import MODELS
from proofs.models.two_phase_commit import Action, RMState, State, TwoPhaseCommit

# (rms, distinct states, transitions = TLC's "states generated" - 1, TLC depth)
CALIBRATION = [(3, 288, 1145, 11), (5, 8832, 58145, 17)]
REDUCED = {3: 80, 4: 166, 5: 314, 7: 920}


@pytest.mark.parametrize(("rms", "states", "transitions", "depth"), CALIBRATION)
def test_state_counts_match_tlc(rms: int, states: int, transitions: int, depth: int) -> None:
    result = check(TwoPhaseCommit(rms))
    assert (result.distinct_states, result.transitions, result.depth) == (
        states,
        transitions,
        depth,
    )
    assert result.ok and result.complete


def test_seven_rms_give_296448_states() -> None:
    result = check(TwoPhaseCommit(7))
    assert (result.distinct_states, result.transitions, result.depth) == (296_448, 2_744_705, 23)
    assert result.ok


@pytest.mark.parametrize("rms", sorted(REDUCED))
def test_symmetry_reduces_and_keeps_the_verdict(rms: int) -> None:
    reduced = check(TwoPhaseCommit(rms), symmetry=True)
    assert reduced.distinct_states == REDUCED[rms]
    assert reduced.ok and reduced.complete
    assert reduced.depth == 3 * rms + 2  # symmetry keeps distances (see CALIBRATION)


@pytest.mark.parametrize("rms", [3, 4, 5])
def test_reduced_count_is_the_number_of_orbits(rms: int) -> None:
    """Independent of the reduced search: canonicalize every unreduced state."""
    model = TwoPhaseCommit(rms)
    full = check(model, graph=True)
    assert full.graph is not None
    orbits = {model.canonicalize(s)[0] for s in graph_states(full.graph)}
    assert len(orbits) == REDUCED[rms] == check(model, symmetry=True).distinct_states


def test_successors_agree_with_the_readable_actions() -> None:
    """The unrolled hot path and the per-action definitions are the same relation."""
    for model in (TwoPhaseCommit(3), TwoPhaseCommit(3, broken=True)):
        result = check(model, graph=True, keep_going=True)
        assert result.graph is not None
        for state in graph_states(result.graph):
            fast = model.successors(state)
            assert [(a, model.next_state(state, a)) for a, _ in fast] == fast
            for name in ("TMCommit", "TMAbort"):
                assert (model.next_state(state, Action(name)) is not None) == (
                    Action(name) in model.actions(state)
                )


def test_broken_variant_counterexample_replays_to_a_tcconsistent_violation() -> None:
    model = TwoPhaseCommit(3, broken=True)
    (v,) = check(model).violations
    assert v.property == "TCConsistent" and v.kind == "safety"
    states = replay(TwoPhaseCommit(3, broken=True), v.init, v.actions)
    assert violated(model, states) == [(len(states) - 1, "TCConsistent")]
    assert len(v.actions) == 2  # abort one RM, commit another: nothing shorter exists


def _with_invariant(model: TwoPhaseCommit, name: str, inv: Callable[[State], bool]) -> None:
    model.invariants = {**model.invariants, name: inv}


def test_counterexample_depth_is_the_bfs_distance() -> None:
    """Parent links give a shortest path: compare with networkx on the full graph."""
    model = TwoPhaseCommit(3)
    full = check(model, graph=True)
    assert full.graph is not None
    distance = nx.single_source_shortest_path_length(full.graph, 0)
    states = graph_states(full.graph)
    nearest = min(d for n, d in distance.items() if _committed(states[n]))
    _with_invariant(model, "NoCommit", lambda s: not _committed(s))
    (v,) = check(model).violations
    assert len(v.actions) == nearest == 8


def _committed(state: State) -> bool:
    return RMState.COMMITTED in state.rm_state


@pytest.mark.parametrize("rms", [3, 4])
def test_every_symmetric_trace_replays_on_the_unreduced_model(rms: int) -> None:
    """For many reduced states, ask for a path to its orbit, replay it unreduced."""
    model = TwoPhaseCommit(rms)
    reduced = check(model, symmetry=True, graph=True)
    assert reduced.graph is not None
    targets: list[State] = graph_states(reduced.graph)[3::7]
    assert len(targets) > 10
    permuted = 0
    for target in targets:
        probe = TwoPhaseCommit(rms)
        _with_invariant(probe, "Avoid", _avoiding(probe, target))
        (v,) = check(probe, symmetry=True).violations
        final = replay(TwoPhaseCommit(rms), v.init, v.actions)[-1]
        assert probe.canonicalize(final)[0] == target
        permuted += final != target
    assert permuted > 0  # the permutation bookkeeping was load-bearing


def _avoiding(model: TwoPhaseCommit, target: State) -> Callable[[State], bool]:
    return lambda s: model.canonicalize(s)[0] != target


def test_symmetric_broken_counterexample_replays_unreduced() -> None:
    model = TwoPhaseCommit(5, broken=True)
    (v,) = check(model, symmetry=True).violations
    states = replay(TwoPhaseCommit(5, broken=True), v.init, v.actions)
    assert violated(model, states)[-1] == (len(states) - 1, "TCConsistent")


def test_liveness_all_decided_needs_fairness() -> None:
    assert check(TwoPhaseCommit(3, liveness=True), fair=True).ok
    (v,) = check(TwoPhaseCommit(3, liveness=True), fair=False).violations
    assert v.property == "AllDecided" and v.kind == "liveness" and v.cycle
    model = TwoPhaseCommit(3)
    states = replay(model, v.init, v.actions)
    assert states[v.cycle_start or 0] == states[-1]
    assert not any(
        all(st in (RMState.COMMITTED, RMState.ABORTED) for st in s.rm_state) for s in states
    )


def test_liveness_is_skipped_with_a_note_under_symmetry() -> None:
    result = check(TwoPhaseCommit(3, liveness=True), symmetry=True, fair=False)
    assert result.ok and "liveness not checked" in result.notes[0]


def test_registry_builds_the_model_from_string_params() -> None:
    model = MODELS["two-phase-commit"]({"rms": "4", "broken": "true"})
    assert isinstance(model, TwoPhaseCommit) and model.rms == 4 and model.broken


def test_the_fast_successors_read_the_rm_states_in_their_declared_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The successors unpack the RM states from `_RM_STATES` by position: with that
    tuple out of order the model no longer explores TLC's state space."""
    tpc = importlib.import_module("proofs.models.two_phase_commit")
    monkeypatch.setattr(tpc, "_RM_STATES", tuple(reversed(tpc._RM_STATES)))
    rms, states, transitions, depth = CALIBRATION[0]
    result = check(TwoPhaseCommit(rms))
    assert (result.distinct_states, result.transitions, result.depth) != (
        states,
        transitions,
        depth,
    )
