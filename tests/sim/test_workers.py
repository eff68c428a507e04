"""Workflow workers: the sticky cache is bounded (least recently used goes first), a cache
of 0 turns stickiness off, and either way the run keeps every invariant. Also: a run
restores the garbage collector's settings."""

from __future__ import annotations

import gc
from dataclasses import replace

import pytest

from core.enums import TaskQueueKind
from core.events import WorkflowTaskScheduledEventAttributes
from sim import cluster as cluster_module
from sim import workloads
from sim.cluster import Cluster
from sim.config import SimConfig
from sim.nodes.workers import WorkflowWorker
from sim.run import simulate


def _run(monkeypatch: pytest.MonkeyPatch, cache_size: int) -> tuple[Cluster, int, int]:
    """Run 40 mixed workflows with workers caching `cache_size` runs: the cluster, the
    largest cache any worker held, and how many workflow tasks went to a sticky queue."""
    mixed = workloads.WORKLOADS["mixed"]
    behaviour = replace(mixed.behaviour, cache_size=cache_size)
    monkeypatch.setitem(workloads.WORKLOADS, "mixed", replace(mixed, behaviour=behaviour))
    largest = [0]
    answer = WorkflowWorker._answer

    def watched(self: WorkflowWorker, task: object, epoch: int) -> None:
        answer(self, task, epoch)  # type: ignore[arg-type]
        largest[0] = max(largest[0], len(self.cache))

    monkeypatch.setattr(WorkflowWorker, "_answer", watched)
    built: list[Cluster] = []
    monkeypatch.setattr(cluster_module, "Cluster", _Recording(built))
    monkeypatch.setattr(cluster_module, "dismantle", lambda cluster: None)  # read after
    result = simulate(SimConfig(seed=3, workflows=40, faults=()))
    assert result.ok, result.violations[:3]
    sticky = sum(
        1
        for events in result.histories.values()
        for e in events
        if isinstance(e.attributes, WorkflowTaskScheduledEventAttributes)
        and e.attributes.task_queue is not None
        and e.attributes.task_queue.kind is TaskQueueKind.STICKY
    )
    return built[0], largest[0], sticky


class _Recording:
    def __init__(self, built: list[Cluster]) -> None:
        self.built = built

    def __call__(self, config: SimConfig) -> Cluster:
        made = Cluster(config)
        self.built.append(made)
        return made


def test_the_sticky_cache_holds_at_most_cache_size_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    roomy, roomy_largest, _ = _run(monkeypatch, 1000)
    tight, tight_largest, _ = _run(monkeypatch, 2)
    assert tight_largest == 2 < roomy_largest  # the bound is reached and kept
    cold = sum(w.cold for w in tight.wworkers)
    assert cold > sum(w.cold for w in roomy.wworkers)  # evicted runs replay cold


def test_a_cache_of_zero_turns_stickiness_off(monkeypatch: pytest.MonkeyPatch) -> None:
    off, largest, sticky = _run(monkeypatch, 0)
    assert largest == 0 and sticky == 0
    assert _run(monkeypatch, 1000)[2] > 0  # with a cache, tasks do go to sticky queues
    assert sum(w.cold for w in off.wworkers) > 0  # every task is answered by cold replay


def test_a_run_restores_the_collector_settings() -> None:
    before = gc.get_threshold()
    simulate(SimConfig(seed=0, workflows=2, faults=()))
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0  # nothing left frozen
