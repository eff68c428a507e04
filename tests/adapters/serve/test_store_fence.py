"""The SQLite store's fenced writes (store.py), without a server: a writer whose range
id is stale, or whose run version is not the stored one, writes nothing to the file;
the range-check mutant's writes pass the fence; everything written reads back."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.serve.store import DurablePersistence, SqliteStore, StoreError, open_store
from core import requests as rq
from core.statemachine import shard as shardlib
from core.statemachine.history.service import handle as service
from sim.config import FaultPlan
from sim.faults import Faults
from sim.kernel import T0, Kernel
from sim.persistence import Mutation

SHARDS = 4


def persistence(path: Path) -> DurablePersistence:
    return open_store(str(path), Faults(Kernel(0), FaultPlan()), SHARDS)[0]


def created(workflow_id: str) -> Mutation:
    start = rq.StartWorkflowExecution("default", workflow_id, f"run-{workflow_id}", "T", "q", "r")
    out = service.start(start, T0)
    return Mutation(out.state.run_id, workflow_id, 0, out.state, out.events)


def owner(p: DurablePersistence, workflow_id: str, host: str) -> shardlib.ShardContext:
    shard = shardlib.shard_for("default", workflow_id, SHARDS)
    return p.acquire(shardlib.start(shard, host))


def test_a_stale_owner_writes_nothing_and_the_owner_writes_durably(tmp_path: Path) -> None:
    p = persistence(tmp_path / "s.db")
    old = owner(p, "wf", "history-0")
    new = owner(p, "wf", "history-1")  # the shard moved: the row's range id is bumped
    lost = p.write(old, (created("wf"),), ())
    assert isinstance(lost, shardlib.ShardOwnershipLost)
    assert isinstance(p.write(new, (created("wf"),), ()), shardlib.WriteOk)
    again = p.write(new, (created("wf"),), ())  # version 0 again: the run exists
    assert again == shardlib.ConditionFailed(0, 1)
    p.store.close()
    reopened = persistence(tmp_path / "s.db")
    assert list(reopened.runs) == ["run-wf"]
    assert reopened.runs["run-wf"].events == list(created("wf").events)
    assert reopened.range_id(new.shard_id) == new.range_id


def test_the_fence_is_checked_against_the_file_not_the_memory(tmp_path: Path) -> None:
    p = persistence(tmp_path / "s.db")
    ctx = owner(p, "wf", "history-0")
    other = SqliteStore.__new__(SqliteStore)  # a second writer of the same rows
    other.db, other.path = p.store.db, p.store.path
    other.acquire(ctx.shard_id, ctx.range_id, ctx.range_id + 1, "elsewhere")
    assert isinstance(p.write(ctx, (created("wf"),), ()), shardlib.ShardOwnershipLost)
    assert p.runs == {}


def test_the_range_check_mutant_writes_through_the_fence(tmp_path: Path) -> None:
    p = persistence(tmp_path / "s.db")
    p.range_check = False
    old = owner(p, "wf", "history-0")
    owner(p, "wf", "history-1")
    assert isinstance(p.write(old, (created("wf"),), ()), shardlib.WriteOk)


def test_a_store_made_for_other_shards_is_refused(tmp_path: Path) -> None:
    persistence(tmp_path / "s.db").store.close()
    with pytest.raises(StoreError, match="made for 4 shards"):
        SqliteStore(str(tmp_path / "s.db"), 8)
