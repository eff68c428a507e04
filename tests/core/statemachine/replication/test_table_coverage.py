"""Transition coverage of the replication tables: every row of the run-replica and the
namespace machines is taken by the checker model's exhaustive search or a scenario."""

from __future__ import annotations

from typing import Any

from core.statemachine.fsm import Table
from core.statemachine.replication import applier, replica
from core.statemachine.replication import namespace as ns
from core.statemachine.replication.versions import make_metadata
from proofs.checker import check
from proofs.models.multi_cluster import MultiCluster
from tests.core.statemachine.replication.build import COMPLETED, last_task, started, write
from tests.core.statemachine.test_transition_coverage import recording


def _graceful_failover_scenarios() -> None:
    meta = make_metadata(10, {"a": 1, "b": 2})
    record = ns.register(meta, "ns", "a")
    ns.abort_handover(ns.start_handover(record))
    ns.failover(meta, ns.start_handover(record), "b")
    ns.failover(meta, record, "b")


def _both_close_scenario() -> None:
    """Both sides of a partition close the run; the higher version's close wins."""
    a = started("a", 1)
    b = applier.apply_task(replica.absent("r1"), last_task(a, "a")).replica
    a = write(a, "a", 1, COMPLETED)
    b = write(b, "b", 2, COMPLETED)
    assert applier.apply_task(a, last_task(b, "b")).outcome is applier.Outcome.SWITCHED


def test_every_replication_row_is_taken() -> None:
    tables: list[Table[Any, Any]] = [replica.TABLE, ns.TABLE]
    with recording(tables) as hits:
        assert check(MultiCluster(failovers=2, dups=0), keep_going=True).complete
        _graceful_failover_scenarios()
        _both_close_scenario()
    for table in tables:
        missing = [
            f"{row.source.name} on {row.input.name}"
            for row in table.rows
            if (row.source, row.input) not in hits[table.name]
        ]
        assert not missing, f"{table.name}: rows never taken: {missing}"
