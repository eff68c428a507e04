"""The shard-failover model: range-id fencing and outbox re-execution via core shard.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.errors import BadInput
from proofs.checker import check, replay, violated
from proofs.graph import graph_states
from proofs.models import MODELS
from proofs.models.shard_failover import (
    Committed,
    ShardFailover,
    State,
    durable_history,
    single_shard_writer,
)
from tests.proofs.checkcli import run_check

DISTINCT_STATES = 5089  # computed from the model at its CI bound, then pinned
SAFETY = {"INV-SINGLE-SHARD-WRITER", "INV-DURABLE-HISTORY"}


def test_correct_model_holds() -> None:
    model = ShardFailover()
    assert set(model.invariants) == SAFETY and set(model.eventually) == {"INV-OUTBOX-DRAINED"}
    result = check(model)
    assert result.ok and result.complete, result.violations
    assert result.distinct_states == DISTINCT_STATES
    assert set(result.coverage.discovered) == {
        "AcquireShard",
        "AppendHistoryEvent",
        "AppendTimedOut",
        "FinishStop",
        "ExecuteTransferTask",
        "AckTransferTask",
    }


def test_failover_happens_and_stale_writes_are_fenced() -> None:
    """Reachable: a stale owner's write is rejected, and a task executed by one owner is
    executed again by the next (at least once)."""
    model = ShardFailover()
    result = check(model, graph=True)
    assert result.graph is not None
    states: list[State] = graph_states(result.graph)
    writers = {e.host for s in states for e in s.log}
    assert writers == {"h1", "h2"}
    # some state has a host stopping after ShardOwnershipLost
    assert any(h.ctx.state.value == "Stopping" for s in states for h in s.hosts)
    # some task is being executed by both hosts at once (the old owner's and the new's)
    assert any(
        len({h.executing for h in s.hosts}) == 1 and s.hosts[0].executing is not None
        for s in states
    )


def test_invariants_are_load_bearing() -> None:
    state = next(iter(ShardFailover().init_states()))
    a, b = Committed("h1", 1, 1, 1 << 20), Committed("h2", 2, 2, 2 << 20)
    assert single_shard_writer(state._replace(log=(a, b)))
    assert not single_shard_writer(state._replace(log=(a, Committed("h1", 1, 2, 5))))
    assert durable_history(state._replace(log=(a, b), first=(a,)))
    assert not durable_history(state._replace(log=(b,), first=(a,)))


def test_no_range_check_is_caught() -> None:
    model = ShardFailover(broken="no-range-check")
    (v,) = check(model).violations
    assert (v.property, v.kind) == ("INV-SINGLE-SHARD-WRITER", "safety")
    assert [str(a) for a in v.actions] == [
        "AcquireShard(h1)",
        "AcquireShard(h2)",
        "AppendHistoryEvent(h1)",
    ]
    states = replay(model, v.init, v.actions)
    assert violated(model, states) == [(3, "INV-SINGLE-SHARD-WRITER")]


def test_liveness_is_checked() -> None:
    """A queue processor that never executes leaves the outbox full: the eventually
    property must catch it."""

    class NoQueue(ShardFailover):
        def successors(self, state: State) -> list[Any]:
            return [(a, s) for a, s in super().successors(state) if a.name != "ExecuteTransferTask"]

    (v,) = check(NoQueue()).violations
    assert (v.property, v.kind) == ("INV-OUTBOX-DRAINED", "liveness")


def test_registered_with_params() -> None:
    assert MODELS["shard-failover"]({"hosts": "3"}).hosts == 3
    assert MODELS["shard-failover"]({"broken": "no-range-check"}).broken == "no-range-check"
    with pytest.raises(BadInput):
        MODELS["shard-failover"]({"broken": "no-dedup"})


def test_cli_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_check("check", "shard-failover", "--json") == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert doc["distinct_states"] == DISTINCT_STATES and doc["violations"] == []
    assert run_check("check", "shard-failover", "--param", "broken=no-range-check", "--json") == 1
    doc = json.loads(capsys.readouterr().out)
    (v,) = doc["violations"]
    assert v["property"] == "INV-SINGLE-SHARD-WRITER" and len(v["actions"]) == 3
