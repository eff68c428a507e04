"""The correct model breaks no invariant over a sample of swarm seeds."""

from __future__ import annotations

import pytest

from sim.config import SimConfig
from sim.run import simulate


def test_correct_model_has_no_violations_on_swarm_seeds() -> None:
    for seed in range(20):
        result = simulate(SimConfig(seed=seed, workflows=50))
        assert not result.violations, (seed, result.violations[:3])
        assert result.workflows == 50
        assert all(result.histories[run] for run in result.workflow_ids)


@pytest.mark.slow
def test_correct_model_thousand_seed_sweep() -> None:
    bad = []
    for seed in range(1_000):
        result = simulate(SimConfig(seed=seed, workflows=50))
        if result.violations:
            bad.append((seed, result.violations[0]))
    assert not bad, bad[:5]
