"""Each INV-REPL-* predicate holds where it should and fails where it must."""

from __future__ import annotations

from core.statemachine.replication import applier, invariants, replica
from core.statemachine.replication import namespace as ns
from core.statemachine.replication import version_history as vh
from core.statemachine.replication.replica import Event, RunReplica, RunState
from core.statemachine.replication.versions import make_metadata
from tests.core.statemachine.replication.build import (
    COMPLETED,
    SIGNALED,
    last_task,
    started,
    write,
)

META = make_metadata(10, {"a": 1, "b": 2})


def test_one_active() -> None:
    record = ns.register(META, "ns", "a")
    moved = ns.failover(META, record, "b")
    assert invariants.one_active([record, moved, moved])
    assert not invariants.one_active([record, ns.NamespaceRecord("ns", "b", 1)])


def test_versions_owned() -> None:
    run = write(started(), "b", 2, SIGNALED, "s")
    assert invariants.versions_owned(META, [run])
    forged = write(started(), "a", 2, SIGNALED, "s")  # a writing under b's version
    assert not invariants.versions_owned(META, [run, forged])


def test_converged() -> None:
    a = write(started(), "a", 1, SIGNALED, "s")
    b = applier.apply_task(replica.absent("r1"), applier.task_for(a, "a", 1, 2)).replica
    assert invariants.converged([{"r1": a}, {"r1": b}, {"r1": b, "r2": replica.absent("r2")}])
    assert not invariants.converged([{"r1": a}, {"r1": started()}])
    assert not invariants.converged([{"r1": a}, {}])
    assert invariants.converged([{"r1": a}, {"r1": b}], ["r1", "r1"])
    assert not invariants.converged([{"r1": a}, {"r1": b}], ["r1", None])


def test_signals_kept() -> None:
    a = write(started(), "a", 1, SIGNALED, "s1")
    assert invariants.signals_kept(["s1"], {"r1": a})
    assert not invariants.signals_kept(["s1", "s2"], {"r1": a})
    # a signal only on a losing branch is not kept
    b = write(applier.apply_task(replica.absent("r1"), last_task(started(), "a")).replica, "b", 2)
    lost = applier.apply_task(b, last_task(a, "a")).replica
    assert len(lost.branches) == 2 and not invariants.signals_kept(["s1"], {"r1": lost})
    # ... unless the reapply API dropped it as the active cluster's own (the known gap),
    # and only that signal
    assert invariants.signals_kept(["s1"], {"r1": lost}, dropped=["s1"])
    assert not invariants.signals_kept(["s1", "s2"], {"r1": lost}, dropped=["s1"])


def _forged(events: tuple[Event, ...]) -> RunReplica:
    items = replica.items_for((), events)
    return RunReplica("r1", RunState.RUNNING, vh.VersionHistories((items,)), (events,))


def test_closes_once_and_well_numbered() -> None:
    closed = write(started(), "a", 1, COMPLETED)
    assert invariants.closes_once(closed) and invariants.closes_once(started())
    after_close = _forged((*closed.current_events, Event(3, 1, SIGNALED, "a", "late")))
    assert not invariants.closes_once(after_close)
    assert invariants.well_numbered(after_close)
    gap = _forged((Event(1, 1, SIGNALED, "a"), Event(3, 1, SIGNALED, "a")))
    twice = _forged((Event(1, 1, SIGNALED, "a"), Event(1, 1, SIGNALED, "a")))
    assert not invariants.well_numbered(gap) and not invariants.well_numbered(twice)
