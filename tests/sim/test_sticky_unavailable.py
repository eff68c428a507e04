"""StickyWorkerUnavailable is consumed: when matching answers it to the push of a sticky
workflow task (no poller on the sticky queue for 10 s, here after matching hosts
crashed and lost their pollers), history pushes the same task to the run's normal
queue at once (`processWorkflowTask` in transfer_queue_active_task_executor.go)
instead of leaving it to the sticky schedule-to-start timeout."""

from __future__ import annotations

from typing import Any

import pytest

from core.statemachine import matching as m
from sim.config import SimConfig
from sim.nodes.history import HistoryHost
from sim.run import RunResult, simulate

# A run whose matching crashes leave sticky queues without pollers (16 answers).
CONFIG = SimConfig(seed=2, workflows=15, faults=("matching-crash",))
Key = tuple[str, int, int]  # run id, scheduled event id, stamp


def _run(monkeypatch: pytest.MonkeyPatch) -> tuple[RunResult, list[tuple[Key, bool, bool]]]:
    """Simulate CONFIG, logging each add: (task, to a sticky queue, answered unavailable)."""
    adds: list[tuple[Key, bool, bool]] = []
    add_task = m.add_task

    def logged(state: m.MatchingState, queue: m.TaskQueue, task: m.MatchingTask, *a: Any) -> Any:
        state, out = add_task(state, queue, task, *a)
        key = (task.run_id, task.scheduled_event_id, task.stamp)
        sticky = queue.kind is m.QueueKind.STICKY
        adds.append((key, sticky, isinstance(out, m.StickyWorkerUnavailable)))
        return state, out

    monkeypatch.setattr(m, "add_task", logged)
    return simulate(CONFIG), adds


def _not_pushed_to_normal(adds: list[tuple[Key, bool, bool]]) -> list[Key]:
    """Tasks answered StickyWorkerUnavailable and never pushed to a normal queue after."""
    return [
        key
        for i, (key, _, unavailable) in enumerate(adds)
        if unavailable and not any(k == key and not sticky for k, sticky, _ in adds[i + 1 :])
    ]


def test_a_task_no_sticky_poller_takes_goes_to_the_normal_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result, adds = _run(monkeypatch)
    assert result.ok, result.violations
    assert sum(unavailable for *_, unavailable in adds) > 0, "the config must exercise it"
    assert _not_pushed_to_normal(adds) == []


def test_without_the_fallback_the_task_waits_for_its_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check above can fail: with the answer treated as a plain ack (as before the
    fallback), the unavailable tasks are never pushed to the normal queue."""

    def ack_only(self: HistoryHost, key: Any, answer: m.AddOutcome) -> None:
        shard_id, range_id, task = key
        self._ack(shard_id, range_id, task.task_id)

    monkeypatch.setattr(HistoryHost, "on_added", ack_only)
    _, adds = _run(monkeypatch)
    assert _not_pushed_to_normal(adds) != []
