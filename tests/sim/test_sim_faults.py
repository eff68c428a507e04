"""Each fault kind is injected (counted) and changes the run; configs round-trip."""

from __future__ import annotations

import pytest

from sim.config import FAULT_KINDS, FaultItem, FaultPlan, SimConfig, from_json, to_json
from sim.run import simulate


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_fault_kind_is_injected_and_observable(kind: str) -> None:
    faulty = simulate(SimConfig(seed=2, workflows=30, faults=(kind,)))
    clean = simulate(SimConfig(seed=2, workflows=30, faults=()))
    assert faulty.faults.get(kind, 0) > 0, faulty.faults
    assert any(item.kind == kind for item in faulty.plan.items)
    assert faulty.trace_hash != clean.trace_hash
    assert not faulty.violations, faulty.violations[:3]


def test_swarm_records_its_choice() -> None:
    result = simulate(SimConfig(seed=5, workflows=10))
    assert set(result.swarm) <= set(FAULT_KINDS)
    assert {item.kind for item in result.plan.items} == set(result.swarm)
    assert f"swarm={result.swarm}" in result.trace[0]


def test_explicit_plan_overrides_generation() -> None:
    plan = FaultPlan((FaultItem("drop", 0, 2_000_000_000, "*", (("rate", 0.1),)),))
    result = simulate(SimConfig(seed=3, workflows=10, faults=("history-crash",), plan=plan))
    assert result.plan == plan and result.swarm == {}
    assert result.faults.get("drop", 0) > 0 and "history-crash" not in result.faults


def test_config_json_round_trip() -> None:
    plan = FaultPlan((FaultItem("clock-skew", 5, 7, "history-1", (("skew_ns", -3),)),))
    for config in (SimConfig(), SimConfig(seed=9, faults=("drop",), plan=plan, mutant="x")):
        assert from_json(to_json(config)) == config
    with pytest.raises(ValueError):
        from_json('{"faults": ["no-such-fault"]}')
