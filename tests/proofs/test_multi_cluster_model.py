"""The multi-cluster model: replication, a forced failover and conflict resolution through
the real `core.statemachine.replication`, with each seeded bug caught by its invariant."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.errors import BadInput
from proofs.checker import Result, check, replay, violated
from proofs.graph import graph_states
from proofs.models import MODELS
from proofs.models.multi_cluster import VARIANTS, MultiCluster, State, strict_no_lost_signal
from tests.proofs.checkcli import run_check

DISTINCT_STATES = 5589  # computed from the model at its default bounds, then pinned
GRACEFUL_STATES = 960  # the same, with one graceful failover instead of the forced one
FAILBACK_STATES = 29571  # the same, with two forced failovers (there and back)
SAFETY = {
    "INV-REPL-ONE-ACTIVE",
    "INV-REPL-VERSION-OWNER",
    "INV-REPL-CLOSES-ONCE",
    "INV-REPL-IDEMPOTENT",
    "INV-REPL-CONVERGENCE",
    "INV-REPL-NO-LOST-SIGNAL",
}
CAUGHT_BY = {
    "lower-version": "INV-REPL-CONVERGENCE",
    "no-reapply": "INV-REPL-NO-LOST-SIGNAL",
    "no-forward": "INV-REPL-NO-LOST-SIGNAL",
    "stale-active": "INV-REPL-VERSION-OWNER",
    "no-bump": "INV-REPL-ONE-ACTIVE",
    "no-dedup": "INV-REPL-IDEMPOTENT",
    "reset-keeps-close": "INV-REPL-CLOSES-ONCE",
    "current-by-arrival": "INV-REPL-CONVERGENCE",
}


@pytest.fixture(scope="module")
def correct() -> Result:
    return check(MultiCluster(), graph=True)


def test_correct_model_holds(correct: Result) -> None:
    assert set(MultiCluster().invariants) == SAFETY
    assert correct.ok and correct.complete, correct.violations
    assert correct.distinct_states == DISTINCT_STATES
    assert set(correct.coverage.discovered) == {
        "Signal",
        "Complete",
        "ForcedFailover",
        "Partition",
        "Heal",
        "Deliver",
        "DeliverKeep",
    }


def test_the_interesting_cases_are_reached(correct: Result) -> None:
    """Reachable: a run with two branches in both clusters, a losing signal reapplied,
    a run reset to take a reapplied signal, drained states after a forced failover."""
    assert correct.graph is not None
    states: list[State] = graph_states(correct.graph)
    assert any(
        all(len(r.branches) == 2 for c in s.copies for r in c.runs) and s.copies[0].runs
        for s in states
    )
    reapplied = [s for s in states if any(r.reapplied for c in s.copies for r in c.runs)]
    assert reapplied
    assert any(len(c.runs) == 2 for s in reapplied for c in s.copies)  # a reset run
    drained_after_failover = [
        s for s in states if not any(s.queues) and s.phase == 2 and s.failovers == 0
    ]
    assert any(len(s.acked) == 2 for s in drained_after_failover)


NEEDS_FAILBACK = {"no-forward"}  # a passive cluster forwards only after a failback
NEEDS_TWO_RESETS = {"current-by-arrival"}  # two reset runs need two closes


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_mutant_is_caught(variant: str) -> None:
    model = MultiCluster(
        broken=variant,
        failovers=2 if variant in NEEDS_FAILBACK else 1,
        closes=2 if variant in NEEDS_TWO_RESETS else 1,
    )
    result = check(model)
    assert not result.ok
    first = result.violations[0]
    assert CAUGHT_BY[variant] in {v.property for v in result.violations}, result.violations
    assert first.kind == "safety"
    states = replay(model, first.init, first.actions)
    assert (len(first.actions), first.property) in violated(model, states)


def test_two_closes_reach_two_reset_runs_and_converge() -> None:
    """At the bounds where `current-by-arrival` is caught, the correct model holds every
    invariant over the whole space, and reaches a cluster holding two reset runs."""
    result = check(MultiCluster(closes=2), graph=True)
    assert result.ok and result.complete
    assert result.graph is not None
    states: list[State] = graph_states(result.graph)
    assert any(len(c.runs) == 3 for s in states for c in s.copies)


def test_mutants_are_named_and_pinned() -> None:
    assert set(VARIANTS) == set(CAUGHT_BY)
    (v,) = check(MultiCluster(broken="no-bump")).violations
    assert [str(a) for a in v.actions] == ["ForcedFailover(b)"]
    (v,) = check(MultiCluster(broken="stale-active")).violations
    assert [str(a) for a in v.actions] == [
        "ForcedFailover(b)",
        "Signal(b)",
        "Deliver(b, 1)",
        "Signal(a)",
    ]


def test_two_failovers_lose_a_signal_as_temporal_does() -> None:
    """GAP-REPL-OWN-CLUSTER-REAPPLY, Temporal's behaviour: fail over to b and back to a
    with messages crossing, and a's signal, on a's branch that loses to b's, is forwarded
    back to a by b, which drops it as its own (`service/history/api/reapplyevents/api.go`
    skips events of the same cluster), while a itself does not reapply on rebuilding to
    b's branch (`ndc/conflict_resolver.go`). The strict property finds the loss; the
    restated INV-REPL-NO-LOST-SIGNAL excuses it because the drop is recorded."""
    model = MultiCluster(failovers=2)
    model.invariants = {"strict": strict_no_lost_signal}
    (v,) = check(model).violations
    last = replay(model, v.init, v.actions)[-1]
    assert last.dropped == ("s1",) and last.acked == ("s1", "s2")
    assert [str(a) for a in v.actions] == [
        "Signal(a)",
        "ForcedFailover(b)",
        "Signal(b)",
        "Deliver(b, 0)",
        "ForcedFailover(a)",
        "Deliver(a, 1)",
        "Deliver(a, 0)",
        "Deliver(b, 0)",
        "Deliver(b, 0)",
    ]


@pytest.mark.slow
@pytest.mark.ci_sample
def test_two_failovers_hold_every_invariant() -> None:
    """With a failback, every invariant holds, INV-REPL-NO-LOST-SIGNAL excusing only
    the recorded drops (the default run checks the loss and the no-forward mutant at
    these bounds, each stopping at its first violation)."""
    result = check(MultiCluster(failovers=2))
    assert result.ok and result.complete, result.violations
    assert result.distinct_states == FAILBACK_STATES


def test_a_graceful_failover_never_forks_a_run() -> None:
    """With only graceful failovers no two clusters write at once: every run keeps one
    branch, in every reachable state, and the handover is reached and completed."""
    result = check(MultiCluster(failovers=0, graceful=1), graph=True)
    assert result.ok and result.complete and result.distinct_states == GRACEFUL_STATES
    assert result.graph is not None
    states: list[State] = graph_states(result.graph)
    assert all(len(r.branches) == 1 for s in states for c in s.copies for r in c.runs)
    assert any(s.records[0].active_cluster == "b" == s.records[1].active_cluster for s in states)
    assert {"StartHandover", "CompleteHandover", "AbortHandover"} <= set(result.coverage.discovered)


def test_registered_with_params() -> None:
    assert MODELS["multi-cluster"]({"signals": "1"}).signals == 1
    assert MODELS["multi-cluster"]({"graceful": "1"}).graceful == 1
    assert MODELS["multi-cluster"]({"broken": "no-reapply"}).broken == "no-reapply"
    for bad in ({"broken": "no-range-check"}, {"signals": "9"}, {"hosts": "2"}):
        with pytest.raises(BadInput):
            MODELS["multi-cluster"](bad)
    with pytest.raises(ValueError):
        MultiCluster(broken="nonsense")


def test_cli_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_check("check", "multi-cluster", "--param", "signals=1", "--json") == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert doc["violations"] == [] and doc["distinct_states"] > 0
    assert run_check("check", "multi-cluster", "--param", "broken=no-reapply", "--json") == 1
    doc = json.loads(capsys.readouterr().out)
    (v,) = doc["violations"]
    assert v["property"] == "INV-REPL-NO-LOST-SIGNAL" and len(v["actions"]) == 6


def test_a_broken_core_version_rule_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The model runs the core itself: with the core's `next_failover_version` keeping
    the old version on a failover (owned by the cluster failed away from), the unchanged
    model reports a violated INV-REPL-* invariant."""
    from core.statemachine.replication import namespace, versions

    right = versions.next_failover_version  # what namespace.py imports and calls

    def keeps_the_version(meta: Any, target: str, current: int) -> int:
        return current if current else right(meta, target, current)  # registering: right

    monkeypatch.setattr(namespace, "next_failover_version", keeps_the_version)
    result = check(MultiCluster())
    assert not result.ok
    assert {v.property for v in result.violations} & SAFETY, result.violations
