"""Breaking the core itself is caught by the simulator (and by `tmodel check`'s models).

Each test changes the real core in this process (a monkeypatched copy of one function
or one table row, sim/core_copy.py), runs bounded swarm searches with no sim-side
mutant, and expects the invariant the change breaks; the catching seed is then run
again on the real core to show the catch is the change's doing. The four changes are
issue 16's: the range-id fence off in `shard.conditional_write`, the duplicate-
completion guard removed (the service's activity table closing an activity on its
completion), a replay-table
row changed, a service-table row changed.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.fastenum import Enum
from core.statemachine import shard
from core.statemachine.fsm import Row
from core.statemachine.history.service import activity
from core.statemachine.replay import timer as replay_timer
from proofs.checker import check
from proofs.models.matching_dedup import MatchingDedup
from proofs.models.shard_failover import ShardFailover
from proofs.models.workflow_run import WorkflowRun
from sim.config import SimConfig
from sim.core_copy import (
    completion_keeps_activity_open,
    conditional_write_without_fence,
    mutated,
    with_row,
)
from sim.kernel import SECOND
from sim.run import RunResult, simulate

# The default run's search budget per change. About one swarm seed in four moves a
# shard under a write in flight: seeds 4 and 7 of 0..7 caught the fence off before the
# mixed workload drew CancelAtDeadline too, seeds 6 and 7 since (the draws moved).
SEEDS = 8
FULL_RUN_S = 3_600  # SimConfig's default bound of virtual time


def _first_catch(want: str, workflows: int, virtual_s: int) -> tuple[SimConfig, RunResult]:
    for seed in range(SEEDS):
        config = SimConfig(seed, workflows, "mixed", "swarm", max_virtual_time=virtual_s * SECOND)
        result = simulate(config)
        if any(v.id == want for v in result.violations):
            return config, result
    pytest.fail(f"{want} not reported in {SEEDS} swarm seeds")


def _caught_then_clean(
    monkeypatch: pytest.MonkeyPatch, want: str, workflows: int = 5, virtual_s: int = 15
) -> RunResult:
    """The first seed that reports `want`; with the change undone, it reports nothing
    (a run cut short of its workflows' ends may report only INV-EVENTUALLY-CLOSED)."""
    config, result = _first_catch(want, workflows, virtual_s)
    monkeypatch.undo()
    control = simulate(replace(config))
    allowed = {"INV-EVENTUALLY-CLOSED"} if virtual_s < FULL_RUN_S else set()
    assert {v.id for v in control.violations} <= allowed, (config.seed, control.violations[:3])
    return result


def test_fence_off_in_the_core_is_caught_by_the_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Persistence decides through `shard.conditional_write`: with the core's range-id
    check never taken, a stale owner's write commits (INV-SINGLE-SHARD-WRITER)."""
    monkeypatch.setattr(shard, "conditional_write", conditional_write_without_fence())
    result = _caught_then_clean(monkeypatch, "INV-SINGLE-SHARD-WRITER", 40, FULL_RUN_S)
    assert any("written with range id" in v.message for v in result.violations)


def test_fence_off_in_the_core_is_caught_by_the_shard_failover_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The model calls the core's `conditional_write` (not a restatement of it)."""
    monkeypatch.setattr(shard, "conditional_write", conditional_write_without_fence())
    result = check(ShardFailover())
    assert not result.ok
    assert "INV-SINGLE-SHARD-WRITER" in {v.property for v in result.violations}


def test_the_fence_copy_differs_from_the_core_only_in_its_range_check() -> None:
    store = shard.initial_store(1)
    owner = shard.start(1, "h1")
    store, stale = shard.acquire(store, owner)
    store, _ = shard.acquire(store, shard.start(1, "h2"))
    write = shard.Write(1, stale.range_id, "ns", "wf", "run", 0, 2)
    write = replace(write, shard_id=shard.shard_for("ns", "wf", 1))
    assert isinstance(shard.conditional_write(store, write)[1], shard.ShardOwnershipLost)
    assert isinstance(conditional_write_without_fence()(store, write)[1], shard.WriteOk)
    with pytest.raises(ValueError, match="occurs 0 times"):
        mutated(shard.conditional_write, "no such text", "")


def test_duplicate_completion_guard_removed_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the completion row keeping the activity open, a second answer records a
    second result."""
    monkeypatch.setattr(activity, "TABLE", completion_keeps_activity_open())
    _caught_then_clean(monkeypatch, "INV-RESULT-AT-MOST-ONCE")


@pytest.mark.parametrize("model", [WorkflowRun, MatchingDedup])
def test_duplicate_completion_guard_removed_is_caught_by_the_models(
    monkeypatch: pytest.MonkeyPatch, model: type[WorkflowRun] | type[MatchingDedup]
) -> None:
    monkeypatch.setattr(activity, "TABLE", completion_keeps_activity_open())
    result = check(model())
    assert "INV-RESULT-AT-MOST-ONCE" in {v.property for v in result.violations}


def test_a_replay_table_row_changed_fails_the_replay_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SDK-side timer skips Started: replaying a TimerFired then finds no row, and a
    worker replaying a history its own code wrote reports THM-3.1."""
    S, I = replay_timer.SdkTimerState, replay_timer.TimerInput  # noqa: E741
    row: Row[Enum, Enum] = Row(S.CREATED, I.STARTED, S.FIRED)
    changed = with_row(replay_timer.TABLE, S.CREATED, I.STARTED, row)
    monkeypatch.setattr(replay_timer, "TABLE", changed)
    result = _caught_then_clean(monkeypatch, "THM-3.1")
    assert any("nondeterminism" in v.message for v in result.violations if v.id == "THM-3.1")
