"""The namespace failover machine: graceful (Handover) and forced failovers."""

from __future__ import annotations

import pytest

from core.errors import BadInput, InvalidTransition
from core.statemachine.replication import namespace as ns
from core.statemachine.replication.versions import make_metadata

META = make_metadata(10, {"a": 1, "b": 2})


def test_register_and_forced_failover() -> None:
    record = ns.register(META, "ns", "a")
    assert (record.active_cluster, record.failover_version) == ("a", 1)
    assert ns.write_version(META, record, "a", 0) == 1
    assert ns.write_version(META, record, "b", 0) is None
    moved = ns.failover(META, record, "b")
    assert (moved.active_cluster, moved.failover_version, moved.state) == (
        "b",
        2,
        ns.ReplicationState.NORMAL,
    )
    back = ns.failover(META, moved, "a")
    assert back.failover_version == 11
    with pytest.raises(BadInput):
        ns.failover(META, back, "a")


def test_graceful_failover_stops_writes_during_handover() -> None:
    record = ns.register(META, "ns", "a")
    handover = ns.start_handover(record)
    assert ns.write_version(META, handover, "a", 0) is None
    assert ns.abort_handover(handover) == record
    moved = ns.failover(META, handover, "b")
    assert ns.write_version(META, moved, "b", 1) == 2
    with pytest.raises(InvalidTransition):
        ns.start_handover(handover)
    with pytest.raises(InvalidTransition):
        ns.abort_handover(record)


def test_write_refused_when_the_run_holds_another_clusters_higher_version() -> None:
    """`closeTransactionWithPolicyCheck`: a stale record does not let `a` write a run
    that already carries `b`'s newer version."""
    stale = ns.register(META, "ns", "a")
    assert ns.write_version(META, stale, "a", 2) is None
    assert ns.write_version(META, stale, "a", 1) == 1


def test_namespace_replication_takes_only_higher_versions() -> None:
    record = ns.register(META, "ns", "a")
    moved = ns.failover(META, record, "b")
    assert ns.apply_replicated(record, moved) == moved
    assert ns.apply_replicated(moved, record) == moved
    assert ns.apply_replicated(moved, moved) == moved
    with pytest.raises(BadInput):
        ns.apply_replicated(record, ns.register(META, "other", "a"))
