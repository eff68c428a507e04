"""One cluster's side of replication: writes, receipts, reapplication, forwards, resync."""

from __future__ import annotations

from core.enums import EventType
from core.statemachine.replication import endpoint
from core.statemachine.replication import namespace as ns
from core.statemachine.replication.applier import Outcome, ReplicationTask, ResyncRequest
from core.statemachine.replication.endpoint import Forward, WorkflowCopies
from core.statemachine.replication.version_history import item
from core.statemachine.replication.versions import make_metadata
from tests.core.statemachine.replication.build import started
from tests.core.statemachine.replication.build import write as append

META = make_metadata(10, {"a": 1, "b": 2})
A_ACTIVE = ns.register(META, "ns", "a")
B_ACTIVE = ns.failover(META, A_ACTIVE, "b")
SIGNAL, DONE = EventType.WORKFLOW_EXECUTION_SIGNALED, EventType.WORKFLOW_EXECUTION_COMPLETED
START = EventType.WORKFLOW_EXECUTION_STARTED


def write(
    record: ns.NamespaceRecord,
    cluster: str,
    copies: WorkflowCopies,
    kind: EventType,
    request_id: str = "",
) -> tuple[WorkflowCopies, ReplicationTask]:
    written = endpoint.write_local(META, record, cluster, copies, kind, request_id)
    assert written is not None
    return written


def start_both() -> tuple[WorkflowCopies, WorkflowCopies]:
    started = endpoint.write_local(META, A_ACTIVE, "a", WorkflowCopies(), START, run_id="r1")
    assert started is not None
    a, task = started
    return a, endpoint.receive(META, A_ACTIVE, "b", WorkflowCopies(), task).copies


def test_who_may_write() -> None:
    a, b = start_both()
    assert endpoint.write_local(META, A_ACTIVE, "b", b, SIGNAL) is None  # passive
    assert endpoint.write_local(META, ns.start_handover(A_ACTIVE), "a", a, SIGNAL) is None
    assert endpoint.write_local(META, A_ACTIVE, "a", WorkflowCopies(), SIGNAL) is None
    assert endpoint.write_local(META, A_ACTIVE, "a", WorkflowCopies(), SIGNAL, run_id="r9") is None
    closed, _ = write(A_ACTIVE, "a", a, DONE)
    assert endpoint.write_local(META, A_ACTIVE, "a", closed, SIGNAL) is None


def test_losing_signal_is_reapplied_by_the_active_cluster() -> None:
    a, b = start_both()
    a, lost = write(A_ACTIVE, "a", a, SIGNAL, "s-a")  # a, partitioned, still writes
    b, _ = write(B_ACTIVE, "b", b, SIGNAL, "s-b")
    got = endpoint.receive(META, B_ACTIVE, "b", b, lost)
    assert got.applied is not None and got.applied.outcome is Outcome.BACKFILLED
    (sent,) = got.send
    assert [(e.request_id, e.version, e.origin) for e in sent.events] == [("s-a", 2, "b")]
    assert got.copies.current is not None
    assert [e.request_id for e in got.copies.current.current_events] == ["", "s-b", "s-a"]


def test_closed_winner_is_reset_and_a_passive_forwards() -> None:
    a, b = start_both()
    a, lost = write(A_ACTIVE, "a", a, SIGNAL, "s-a")
    b_closed, _ = write(B_ACTIVE, "b", b, DONE)
    got = endpoint.receive(META, B_ACTIVE, "b", b_closed, lost)
    assert [r.run_id for r in got.copies.runs] == ["r1", "r1/reset1@b"]
    (sent,) = got.send
    assert sent.run_id == "r1/reset1@b" and sent.events[0].event_id == 1
    # the same losing batch at a cluster that is not active: forwarded
    b_open, _ = write(B_ACTIVE, "b", b, SIGNAL, "s-b")
    passive = endpoint.receive(META, ns.failover(META, B_ACTIVE, "a"), "b", b_open, lost)
    assert passive.send == () and passive.forward == Forward("r1", lost.events)


def test_forwards_are_taken_only_by_an_active_cluster_and_not_for_its_own_events() -> None:
    a, b = start_both()
    b, _ = write(B_ACTIVE, "b", b, SIGNAL, "s-b")
    foreign = Forward("r1", b.runs[0].current_events[1:])
    assert endpoint.receive_forward(META, B_ACTIVE, "a", a, foreign) is None
    taken = endpoint.receive_forward(META, A_ACTIVE, "a", a, foreign)
    assert taken is not None and len(taken.send) == 1
    a2, _ = write(A_ACTIVE, "a", a, SIGNAL, "s-a")
    own = Forward("r1", a2.runs[0].current_events[1:])
    mine = endpoint.receive_forward(META, A_ACTIVE, "a", a2, own)
    assert mine is not None and mine.send == () and mine.copies == a2
    assert [e.request_id for e in mine.dropped] == ["s-a"]  # held here, for now
    assert taken.dropped == ()
    assert endpoint.receive_forward(META, A_ACTIVE, "a", WorkflowCopies(), foreign) is None


def test_gaps_and_resync_answers() -> None:
    a, b = start_both()
    a, _ = write(A_ACTIVE, "a", a, SIGNAL, "s1")
    a, second = write(A_ACTIVE, "a", a, SIGNAL, "s2")
    got = endpoint.receive(META, A_ACTIVE, "b", b, second)
    assert got.resync == ResyncRequest("r1", item(1, 1), item(3, 1)) and got.copies == b
    answer = endpoint.resync_answer(a, "a", got.resync)
    assert answer is not None and [e.request_id for e in answer.events] == ["s1"]
    assert endpoint.resync_answer(WorkflowCopies(), "a", got.resync) is None


def test_an_active_cluster_that_cannot_write_retries() -> None:
    """In Handover the active cluster neither reapplies nor forwards: the task fails and
    comes again (the shard refuses the write with ErrNamespaceHandover)."""
    a, b = start_both()
    a, lost = write(A_ACTIVE, "a", a, SIGNAL, "s-a")
    b, _ = write(B_ACTIVE, "b", b, SIGNAL, "s-b")
    got = endpoint.receive(META, ns.start_handover(B_ACTIVE), "b", b, lost)
    assert got.retry and got.copies == b and got.send == () and got.forward is None
    foreign = Forward("r1", b.runs[0].current_events[1:])
    assert endpoint.receive_forward(META, ns.start_handover(A_ACTIVE), "a", a, foreign) is None


def test_a_failback_loses_the_signal_the_loser_wrote() -> None:
    """GAP-REPL-OWN-CLUSTER-REAPPLY, as Temporal's source has it: a writes s-a, b is
    forced active and writes s-b; a switches to b's branch without reapplying s-a
    (`conflict_resolver.go` rebuilds, `conflictResolveAsCurrent` is passive); the
    namespace fails back to a before b received s-a; b, now passive, forwards s-a; a
    drops it as its own (`reapplyevents/api.go`) and reports it in `dropped`."""
    a, b = start_both()
    a, lost = write(A_ACTIVE, "a", a, SIGNAL, "s-a")
    b, won = write(B_ACTIVE, "b", b, SIGNAL, "s-b")
    switched = endpoint.receive(META, B_ACTIVE, "a", a, won)
    assert switched.applied is not None and switched.applied.outcome is Outcome.SWITCHED
    assert switched.send == () and switched.forward is None  # nothing reapplied at a
    back = ns.failover(META, B_ACTIVE, "a")
    at_b = endpoint.receive(META, back, "b", b, lost)
    assert at_b.forward == Forward("r1", lost.events) and at_b.send == ()
    got = endpoint.receive_forward(META, back, "a", switched.copies, at_b.forward)
    assert got is not None and got.send == () and got.copies == switched.copies
    assert [e.request_id for e in got.dropped] == ["s-a"]
    current = got.copies.current
    assert current is not None and "s-a" not in {e.request_id for e in current.current_events}


def test_a_run_that_arrives_older_than_the_current_one_is_a_zombie() -> None:
    """`put` decides the current run as `workflowHappensAfter` does: the higher last
    write version, then (for equal versions) the later created run."""
    r1 = append(started(), "b", 2, DONE)
    reset1 = append(started(run_id="r1/reset1@b"), "b", 2)
    reset2 = append(started(run_id="r1/reset2@b"), "b", 2)
    copies = WorkflowCopies((r1,)).put(reset2).put(reset1)  # reset1 arrives last
    assert [r.run_id for r in copies.runs] == ["r1", "r1/reset1@b", "r1/reset2@b"]
    assert copies.put(append(reset1, "b", 2, DONE)).current == reset2  # still a zombie
    newer = append(reset1, "a", 11)  # a higher version makes the zombie current
    assert copies.put(newer).current == newer
    assert endpoint.happens_after(reset2, reset1) and not endpoint.happens_after(reset1, reset2)
    assert endpoint.happens_after(newer, reset2)
