"""Same config -> byte-identical trace; different seeds -> different traces."""

from __future__ import annotations

import pytest

from sim.config import SimConfig
from sim.run import same_trace_twice, simulate

MIXES: list[tuple[str, ...] | str] = [
    "swarm",
    (),
    ("drop", "duplicate", "delay"),
    ("history-crash", "shard-move", "persistence-timeout"),
    ("worker-crash", "matching-crash", "clock-skew", "partition", "partition-oneway"),
]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("faults", MIXES, ids=str)
def test_same_seed_same_trace_hash(seed: int, faults: tuple[str, ...] | str) -> None:
    config = SimConfig(seed=seed, workflows=15, faults=faults)  # type: ignore[arg-type]
    assert same_trace_twice(config)


def test_trace_lines_start_with_time_and_node() -> None:
    result = simulate(SimConfig(seed=1, workflows=5, faults=()))
    assert result.trace[0].startswith("t=0 run seed=1")
    assert all(line.startswith("t=") and len(line.split(" ", 2)) >= 2 for line in result.trace)
    assert any(" client start wf-0" in line for line in result.trace)


def test_different_seeds_give_different_hashes() -> None:
    hashes = {simulate(SimConfig(seed=s, workflows=10)).trace_hash for s in range(8)}
    assert len(hashes) == 8
