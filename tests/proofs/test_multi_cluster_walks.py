"""Random walks through the multi-cluster model at bounds its exhaustive check does not
reach (more signals, duplicates, two failovers), drained at the end: every invariant
holds on the way, and after the drain every cluster has converged and kept every
acknowledged signal. Property tests (Hypothesis) over the real replication core."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    views = [[(r.run_id, r.current_events) for r in c.runs] for c in final.copies]
    assert views[0] == views[1]


# Found by the walk above in a full run on 2026-12-06 (not yet diagnosed): after this
# walk and the drain, cluster a's copy ends on run r1/reset2 and cluster b's on
# r1/reset1, so the clusters have not converged. Kept, strict, until the replication
# core is fixed; the steps are (action, cluster, k) as the walk drew them.
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


@pytest.mark.xfail(
    strict=True, reason="clusters end on different reset runs (r1/reset2 vs r1/reset1)"
)
def test_the_walk_found_on_2026_12_06_converges() -> None:
    (state,) = WALK.init_states()
    for name, cluster, k in FOUND_2026_12_06:
        moves = {(a.name, a.cluster, a.k): s for a, s in WALK.successors(state)}
        state = moves[(name, cluster, k)]
        assert broken(WALK, state) == []
    final = drain(WALK, state)
    views = [[(r.run_id, r.current_events) for r in c.runs] for c in final.copies]
    assert views[0] == views[1]
