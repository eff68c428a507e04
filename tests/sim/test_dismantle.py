"""A finished run is freed by reference counting, not left for the garbage collector:
the workers release every cached replay they drop (evicted, replaced, failed or lost in
a crash), and `run_cluster` takes the finished cluster apart (`sim.cluster.dismantle`).
Left in cycles, a 2,000-workflow run's cluster cost the collector's end-of-run pass
about a tenth of the run's time."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import replace

import pytest

from core.statemachine.replay.engine import Execution
from sim import cluster as cluster_module
from sim import workloads
from sim.cluster import Cluster, run_cluster
from sim.config import SimConfig
from sim.replay_code import ReplayCode

CONFIG = SimConfig(seed=5, workflows=40, faults=("worker-crash",))


@pytest.fixture
def collector_off() -> Iterator[None]:
    """The collector off for the test, so that a run's cyclic garbage stays to be counted."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _cyclic_garbage(config: SimConfig) -> int:
    run_cluster(config)
    return gc.collect()  # unreachable objects found: the run's cycles


def test_a_dismantled_run_leaves_almost_no_cyclic_garbage(
    collector_off: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    dismantled = _cyclic_garbage(CONFIG)
    monkeypatch.setattr(cluster_module, "dismantle", lambda cluster: None)
    kept = _cyclic_garbage(CONFIG)
    assert kept > 1000  # the cluster is one web of cycles
    assert dismantled * 20 < kept, (dismantled, kept)


def test_every_replay_a_worker_drops_is_released(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each Execution a worker got from its workflow code is, at the end of the run,
    either still in a worker's cache or released; a small cache (evictions) and worker
    crashes (lost caches) exercise every way of dropping one."""
    mixed = workloads.WORKLOADS["mixed"]
    behaviour = replace(mixed.behaviour, cache_size=2)
    monkeypatch.setitem(workloads.WORKLOADS, "mixed", replace(mixed, behaviour=behaviour))
    made: dict[int, Execution] = {}
    released: set[int] = set()
    answer, release = ReplayCode.answer_task, Execution.release

    def answering(self: ReplayCode, *args: object) -> tuple[object, object]:
        execution, result = answer(self, *args)  # type: ignore[arg-type]
        if isinstance(execution, Execution):
            made[id(execution)] = execution  # kept alive here, so ids stay unique
        return execution, result

    def releasing(self: Execution) -> None:
        released.add(id(self))
        release(self)

    monkeypatch.setattr(ReplayCode, "answer_task", answering)
    monkeypatch.setattr(Execution, "release", releasing)
    built: list[Cluster] = []

    def build(config: SimConfig) -> Cluster:
        built.append(Cluster(config))
        return built[-1]

    monkeypatch.setattr(cluster_module, "Cluster", build)
    monkeypatch.setattr(cluster_module, "dismantle", lambda cluster: None)  # read below
    run_cluster(CONFIG)
    crashes = [w for w in built[0].wworkers if w.epoch > 0]
    assert crashes, "the run should crash a workflow worker"
    cached = {id(e) for w in built[0].wworkers for e in w.cache.values()}
    assert len(made) > len(cached) + 10  # many were dropped
    dropped = set(made) - cached - released
    assert not dropped, f"{len(dropped)} of {len(made)} replays dropped unreleased"
