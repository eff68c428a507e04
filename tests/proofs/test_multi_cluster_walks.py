"""Random walks through the multi-cluster model at bounds its exhaustive check does not
reach (more signals, duplicates, two failovers), drained at the end: every invariant
holds on the way, and after the drain every cluster has converged and kept every
acknowledged signal. Property tests (Hypothesis) over the real replication core."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.statemachine.replication import endpoint
from core.statemachine.replication.endpoint import WorkflowCopies
from core.statemachine.replication.replica import Events, RunReplica
from proofs.models.multi_cluster import Action, MultiCluster, State, drained

WALK = MultiCluster(signals=3, closes=2, failovers=1, dups=2)


def broken(model: MultiCluster, state: State) -> list[str]:
    return [name for name, holds in model.invariants.items() if not holds(state)]


def drain(model: MultiCluster, state: State) -> State:
    """Heal, then deliver the oldest deliverable message until nothing is queued."""
    for _ in range(400):
        if drained(state):
            return state
        moves = [(a, s) for a, s in model.successors(state) if a.name in ("Heal", "Deliver")]
        assert moves, model.describe(state)
        state = moves[0][1]
        assert broken(model, state) == [], model.describe(state)
    raise AssertionError(f"not drained: {model.describe(state)}")


def walk(model: MultiCluster, data: st.DataObject, steps: int) -> State:
    (state,) = model.init_states()
    for _ in range(steps):
        moves = model.successors(state)
        if not moves:
            break
        action, state = data.draw(st.sampled_from(moves), label="move")
        assert isinstance(action, Action)
        assert broken(model, state) == [], (str(action), model.describe(state))
    return drain(model, state)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.integers(min_value=0, max_value=30))
def test_walks_converge_and_keep_every_signal(data: st.DataObject, steps: int) -> None:
    final = walk(WALK, data, steps)
    assert drained(final) and broken(WALK, final) == []
    assert views(final)[0] == views(final)[1]


def views(state: State) -> list[tuple[str | None, dict[str, Events]]]:
    """Per cluster: its current run, and each run's current branch."""
    return [(c.current_id, {r.run_id: r.current_events for r in c.runs}) for c in state.copies]


# Found by the walk above in a full run on 2026-12-06: cluster b resets r1 twice
# (r1/reset1@b, then r1/reset2@b), and cluster a receives the second before the first.
# The current run was the last to arrive, so a ended on the first and b on the second. The
# current run is now decided as Temporal decides it (`endpoint.happens_after`), and
# INV-REPL-CONVERGENCE compares the current run too. Steps: (action, cluster, k).
FOUND_2026_12_06 = (
    ("Signal", 0, 0),
    ("ForcedFailover", 1, 0),
    ("Complete", 1, 0),
    ("Partition", 0, 0),
    ("Signal", 0, 0),
    ("Signal", 0, 0),
    ("Heal", 0, 0),
    ("Deliver", 0, 0),
    ("Complete", 1, 0),
    ("Deliver", 0, 0),
    ("Deliver", 0, 0),
    ("Deliver", 1, 0),
    ("Deliver", 1, 0),
    ("Deliver", 1, 2),
)


def replay_found(
    model: MultiCluster = WALK, steps: tuple[tuple[str, int, int], ...] = FOUND_2026_12_06
) -> State:
    (state,) = model.init_states()
    for name, cluster, k in steps:
        moves = {(a.name, a.cluster, a.k): s for a, s in model.successors(state)}
        state = moves[(name, cluster, k)]
        assert broken(model, state) == []
    return state


def test_the_walk_found_on_2026_12_06_converges() -> None:
    final = drain(WALK, replay_found())
    assert [c.current_id for c in final.copies] == ["r1/reset2@b"] * 2
    assert views(final)[0] == views(final)[1]


def test_the_current_run_by_arrival_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put back the rule the model had before the fix (a run keeps its place, a new run
    goes last and so becomes current, whatever `happens_after` says): the same walk
    ends with the clusters on different current runs, and INV-REPL-CONVERGENCE
    reports it."""

    def by_arrival(copies: WorkflowCopies, run: RunReplica) -> WorkflowCopies:
        ids = [r.run_id for r in copies.runs]
        if run.run_id not in ids:
            return WorkflowCopies((*copies.runs, run))
        return WorkflowCopies(tuple(run if r.run_id == run.run_id else r for r in copies.runs))

    monkeypatch.setattr(WorkflowCopies, "put", by_arrival)
    state = replay_found()
    with pytest.raises(AssertionError, match="INV-REPL-CONVERGENCE"):
        drain(WALK, state)


FAILBACK = MultiCluster(signals=3, closes=2, failovers=2, dups=1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.integers(min_value=0, max_value=40))
def test_walks_with_a_failback_converge(data: st.DataObject, steps: int) -> None:
    """As above, with a failover and a failback and two closes: both clusters may reset
    the run (each active by its own record), so two reset runs can be made at once."""
    final = walk(FAILBACK, data, steps)
    assert drained(final) and broken(FAILBACK, final) == []
    assert views(final)[0] == views(final)[1]


# Found by a longer walk with two failovers (2026-12-06): after a failover to b and back
# to a, both clusters reset r1 (each receiving the other's losing signal while active
# by its own record), and both named the new run r1/reset1. The two runs were taken
# for branches of one run, and the clusters did not converge. Reset runs are now named
# by their creator too (`endpoint.reset_run_id`).
FOUND_COLLISION = (
    ("Signal", 0, 0),
    ("Partition", 0, 0),
    ("Signal", 0, 0),
    ("ForcedFailover", 1, 0),
    ("Heal", 0, 0),
    ("Deliver", 1, 0),
    ("Deliver", 0, 0),
    ("ForcedFailover", 0, 0),
    ("Complete", 0, 0),
    ("Signal", 1, 0),
    ("Complete", 1, 0),
)


def test_two_clusters_resetting_at_once_make_two_runs_and_converge() -> None:
    final = drain(FAILBACK, replay_found(FAILBACK, FOUND_COLLISION))
    assert views(final)[0] == views(final)[1]
    resets = {r.run_id for c in final.copies for r in c.runs} - {"r1"}
    assert resets == {"r1/reset1@a", "r1/reset1@b"}


def test_a_reset_name_without_its_creator_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Name reset runs as before (``r1/reset<n>``, without the creator): the two resets
    of the walk above collide, and an invariant reports it during the drain."""
    named = endpoint.reset_run_id
    monkeypatch.setattr(
        endpoint,
        "reset_run_id",
        lambda copies, base, cluster: named(copies, base, cluster).partition("@")[0],
    )
    with pytest.raises(AssertionError, match="INV-REPL"):
        drain(FAILBACK, replay_found(FAILBACK, FOUND_COLLISION))
