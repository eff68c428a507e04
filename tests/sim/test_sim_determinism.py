"""Same config -> byte-identical trace; different seeds -> different traces."""

from __future__ import annotations

import pytest

from sim.config import SimConfig, from_json, to_json
from sim.run import RunResult, same_trace_twice, simulate

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


def _first_events(result: RunResult) -> dict[str, object]:
    """Each top-level workflow's WorkflowExecutionStarted attributes (type and input)."""
    out: dict[str, object] = {}
    for run_id, workflow_id in result.workflow_ids.items():
        if run_id == f"run-{workflow_id.removeprefix('wf-')}":
            out[workflow_id] = result.histories[run_id][0].attributes
    return out


def test_a_subset_of_workflows_runs_each_as_the_full_run_does() -> None:
    """Shrinking relies on it: workflow i's script is a function of (seed, i) alone."""
    full = simulate(SimConfig(seed=5, workflows=8, faults=()))
    part = simulate(SimConfig(seed=5, workflows=8, faults=(), only=(2, 6)))
    assert part.workflows == 2 and part.ok
    assert "only=2,6" in part.trace[0]
    whole, some = _first_events(full), _first_events(part)
    assert set(some) == {"wf-2", "wf-6"}
    assert all(some[w] == whole[w] for w in some)
    assert (
        _first_events(simulate(SimConfig(seed=6, workflows=8, faults=())))["wf-2"] != whole["wf-2"]
    )


@pytest.mark.parametrize("only", [(3, 1), (1, 1), (0, 8), (-1,)])
def test_only_must_be_increasing_indices_below_the_workflow_count(only: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="only"):
        SimConfig(workflows=8, only=only)


def test_only_survives_the_repro_json_round_trip() -> None:
    config = SimConfig(seed=2, workflows=40, only=(4, 17, 39))
    assert from_json(to_json(config)) == config
    assert "only" not in to_json(SimConfig())
