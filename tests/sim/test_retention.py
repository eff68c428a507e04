"""Retention and archival in the simulator (sim/retention.py): closed runs are archived,
then deleted at close + retention through the history hosts' queues; each deletion is
checked (INV-RETENTION, INV-ARCHIVED-BEFORE-DELETE), a history crash inside archival
loses nothing, a deleted run is accounted for at the end while a run that vanished
without a checked deletion is still reported, and each retention mutant is caught."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import replace

import pytest

from core import requests as rq
from core.statemachine import shard as shardlib
from core.statemachine.history.service import handle
from sim.cluster import Cluster
from sim.config import SimConfig, from_json, to_json
from sim.invariants import Monitor
from sim.kernel import MS, SECOND, T0, Kernel
from sim.nodes.history import HistoryHost
from sim.persistence import Commit, DeleteHistoryTask, Mutation, OutboxTask
from sim.retention import RETENTION_MUTANTS, Item
from sim.run import RunResult, simulate

MINUTE = 60 * SECOND


def cluster_run(
    config: SimConfig, prepare: Callable[[Cluster], None] | None = None
) -> tuple[Cluster, RunResult]:
    """Run `config`'s cluster, after `prepare` has had a look at it."""
    cluster = Cluster(config)
    if prepare is not None:
        prepare(cluster)
    return cluster, cluster.run(None)


def closed_runs_all_deleted(cluster: Cluster, result: RunResult) -> None:
    """Every run closed, and every one was deleted through a checked deletion."""
    retention = cluster.retention
    assert retention is not None
    assert set(result.histories) == set(cluster.monitor.closed)
    assert cluster.persistence.runs == {}
    assert cluster.monitor.deleted == set(result.histories)
    assert retention.counts["deleted"] == len(result.histories)


def test_off_by_default_and_a_config_round_trips_it() -> None:
    assert SimConfig().retention == 0 and not SimConfig().archival
    assert "retention" not in json.loads(to_json(SimConfig()))  # repro files stay as they were
    config = SimConfig(seed=4, retention=3 * 86_400 * SECOND, archival=True)
    assert from_json(to_json(config)) == config
    with pytest.raises(ValueError, match="archival: needs a retention"):
        SimConfig(archival=True)
    with pytest.raises(ValueError, match="archival: expected true or false"):
        from_json(to_json(config).replace('"archival": true', '"archival": 1'))
    with pytest.raises(ValueError, match="retention: must be in 0"):
        from_json(to_json(config).replace(str(config.retention), "-1"))


@pytest.mark.parametrize("archival", [True, False])
def test_every_closed_run_is_deleted_after_its_retention(archival: bool) -> None:
    cluster, result = cluster_run(SimConfig(1, 8, faults=(), retention=MINUTE, archival=archival))
    assert result.violations == ()
    retention = cluster.retention
    assert retention is not None
    closed_runs_all_deleted(cluster, result)
    if archival:  # the archive holds every deleted history, event for event
        for run_id, events in result.histories.items():
            key = ("default", result.workflow_ids[run_id], run_id)
            assert retention.store.histories[key] == events
    else:
        assert retention.store.histories == {}


def test_retention_does_not_change_what_the_workflows_do() -> None:
    """Retention draws from its own stream: with no faults, the same histories."""
    config = SimConfig(2, 6, faults=())
    plain = simulate(config)
    kept = simulate(replace(config, retention=MINUTE, archival=True))
    assert kept.histories == plain.histories and kept.violations == ()
    assert kept.trace_hash != plain.trace_hash  # the deletions are in the trace


@pytest.mark.parametrize("step", ["_upload", "_then_delete"])
def test_a_history_crash_inside_archival_loses_nothing(
    step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host running an archive task crashes before the upload (during archival) or
    after it, before the deletion task is added; the task is still in the outbox, the
    shard's next owner runs it again, and every run is archived and deleted."""
    config = SimConfig(3, 6, faults=(), retention=MINUTE, archival=True)
    cluster, result = cluster_run(config, lambda c: _crash_at(c, step, monkeypatch))
    retention = cluster.retention
    assert retention is not None
    assert result.violations == ()
    missed = "archive interrupted" if step == "_upload" else "deletion not added"
    assert retention.counts[missed] >= 1
    assert retention.counts["archive"] > retention.counts["deleted"]  # some ran twice
    closed_runs_all_deleted(cluster, result)


def _crash_at(cluster: Cluster, step: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Crash the first host that reaches `step` of an archive task, just before it;
    restart it two seconds later."""
    retention = cluster.retention
    assert retention is not None
    original = getattr(retention, step)
    crashed: list[str] = []

    def restart(name: str) -> None:
        cluster.crash_or_restart(name, False)

    def crash_first(host: HistoryHost, key: Item, *rest: object) -> None:
        if not crashed:
            crashed.append(host.name)
            cluster.crash_or_restart(host.name, True)
            cluster.kernel.after(2 * SECOND, restart, host.name)
        original(host, key, *rest)

    monkeypatch.setattr(retention, step, crash_first)


def test_a_deletion_is_fenced_by_the_shard_range_id() -> None:
    """`Persistence.delete_run` goes through the core's conditional write: a stale owner's
    deletion is refused and changes nothing; the owner's removes the run, its outbox
    tasks and the current-run pointer, and nothing of any other run."""
    cluster, _ = cluster_run(SimConfig(1, 3, faults=()))
    persistence = cluster.persistence
    run_id, record = sorted(persistence.runs.items())[0]
    owner = next(h for h in cluster.history.values() if record.shard in h.shards)
    ctx = owner.shards[record.shard].ctx
    others = {r: list(rec.events) for r, rec in persistence.runs.items() if r != run_id}
    box = persistence.outbox.setdefault(record.shard, {})
    box[10**9] = OutboxTask(10**9, run_id, record.workflow_id, DeleteHistoryTask(0, 0), "default")
    stale = dataclasses.replace(ctx, range_id=ctx.range_id - 1)
    refused = persistence.delete_run(stale, run_id)
    assert isinstance(refused, shardlib.ShardOwnershipLost)
    assert run_id in persistence.runs and 10**9 in box
    assert isinstance(persistence.delete_run(ctx, run_id), shardlib.WriteOk)
    assert run_id not in persistence.runs and 10**9 not in box
    assert run_id not in persistence.current.values()
    assert {r: list(rec.events) for r, rec in persistence.runs.items()} == others


def test_a_deleted_run_is_accounted_for_and_a_vanished_one_is_not() -> None:
    monitor = Monitor(Kernel(0), None)
    histories = {}
    for run_id in ("deleted", "vanished", "kept", "deleted but still there"):
        request = rq.StartWorkflowExecution("default", "wf", run_id, "type", "queue", run_id)
        started = handle.start(request, T0)
        monitor.on_commit(
            Commit(1, 1, 1), (Mutation(run_id, "wf", 0, started.state, started.events),)
        )
        histories[run_id] = list(started.events)
    monitor.deleted |= {"deleted", "deleted but still there"}
    persisted = {"kept": histories["kept"], "deleted but still there": []}
    monitor.finish_histories(persisted)
    assert sorted((v.id, v.run_id) for v in monitor.violations) == [
        ("INV-DURABLE-HISTORY", "deleted but still there"),
        ("INV-DURABLE-HISTORY", "vanished"),
    ]


def test_a_run_lost_without_a_checked_deletion_is_reported() -> None:
    """In a run with retention, a closed run removed from persistence behind the
    deletion's back is reported as INV-DURABLE-HISTORY, the deleted ones are not."""
    config = SimConfig(1, 6, faults=(), retention=MINUTE, archival=True)
    lost: list[str] = []

    def remove_one(cluster: Cluster) -> None:
        persistence, monitor = cluster.persistence, cluster.monitor

        def remove() -> None:
            run_id = next(r for r in sorted(monitor.closed) if r in persistence.runs)
            lost.append(run_id)
            del persistence.runs[run_id]

        cluster.kernel.at(T0 + 20 * SECOND, remove)

    _, result = cluster_run(config, remove_one)
    assert [(v.id, v.run_id) for v in result.violations] == [("INV-DURABLE-HISTORY", lost[0])]


def test_an_archive_lost_or_changed_after_its_deletion_is_caught_at_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The end-of-run read-back compares every deleted run's archive with the monitor's
    copy of its history: one archive removed and one cut short after the deletions are
    both reported."""
    config = SimConfig(4, 6, faults=(), retention=MINUTE, archival=True)
    damaged: list[str] = []

    def damage_then_finish(cluster: Cluster) -> None:
        retention = cluster.retention
        assert retention is not None
        finish = retention.finish

        def damaged_finish() -> None:
            gone, cut = sorted(retention.store.histories)[:2]
            del retention.store.histories[gone]
            retention.store.histories[cut] = retention.store.histories[cut][:-1]
            damaged.extend((gone[2], cut[2]))
            finish()

        monkeypatch.setattr(retention, "finish", damaged_finish)

    _, result = cluster_run(config, damage_then_finish)
    assert sorted((v.id, v.message, v.run_id) for v in result.violations) == sorted(
        [
            ("INV-ARCHIVED-BEFORE-DELETE", "an archived history is gone", damaged[0]),
            (
                "INV-ARCHIVED-BEFORE-DELETE",
                "an archived history changed after deletion",
                damaged[1],
            ),
        ]
    )


# Each mutant in the setting where it matters: deleting before archival shows when the
# archive takes longer than the retention (100 ms here); the others at any retention.
MUTANT_RETENTION = {"delete-before-archive": 100 * MS}


@pytest.mark.parametrize("mutant", sorted(RETENTION_MUTANTS))
def test_each_retention_mutant_is_caught(mutant: str) -> None:
    want = RETENTION_MUTANTS[mutant]
    retention = MUTANT_RETENTION.get(mutant, MINUTE)
    for seed in range(5):
        config = SimConfig(seed, 10, retention=retention, archival=True, mutant=mutant)
        result = simulate(config)
        if any(v.id == want for v in result.violations):
            break
    else:
        pytest.fail(f"{mutant} not caught as {want} in 5 seeds")
    control = simulate(replace(config, mutant=None))
    assert control.violations == (), control.violations[:3]


@pytest.mark.parametrize("seed", range(4))
def test_swarm_runs_with_retention_and_archival_are_clean(seed: int) -> None:
    result = simulate(SimConfig(seed, 15, retention=MINUTE, archival=True))
    assert result.violations == (), result.violations[:3]


DAY = 86_400 * SECOND


def _schedules_with_retention(seed: int, workflows: int) -> None:
    """The schedules workload over its virtual month with a 3-day retention and archival:
    clean, its job runs and the scheduler's continued-as-new runs deleted as they age."""
    config = SimConfig(seed, workflows, "schedules", retention=3 * DAY, archival=True)
    cluster, result = cluster_run(config)
    assert result.violations == (), result.violations[:3]
    retention = cluster.retention
    assert retention is not None
    deleted = {cluster.monitor.workflow_of[r] for r in cluster.monitor.deleted}
    assert any(w.startswith("job-") for w in deleted)
    assert any(w.startswith("temporal-sys-") for w in deleted)
    assert cluster.monitor.deleted == set(cluster.monitor.closed)  # every closed run
    assert all(record.state.running for record in cluster.persistence.runs.values())


def test_schedules_run_clean_with_retention() -> None:
    _schedules_with_retention(1, 1)


# Seed 7 (6 workflows) is left out: it reports INV-SCHEDULE-ACTIONS (sched-3 loses 7 of
# 20 times) without a retention too, the same verdict word for word.
@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2, 7))
def test_schedules_run_clean_with_retention_over_seeds(seed: int) -> None:
    _schedules_with_retention(seed, 6)
