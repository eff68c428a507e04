"""Property tests of the applier: idempotent, reorder-safe, and convergent.

A source writes a run in batches (`write`), possibly across a failover; the tasks for
those batches reach a passive copy in any order, any number of times, with gaps filled
by the source's resync answers. Whatever the order, the passive copy ends equal to the
source, and a task delivered again once applied changes nothing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.statemachine.replication import applier, invariants, replica
from core.statemachine.replication.applier import Outcome, ReplicationTask
from core.statemachine.replication.replica import Event, RunReplica
from tests.core.statemachine.replication.build import COMPLETED, SIGNALED, started


@st.composite
def histories(draw: st.DrawFn) -> tuple[RunReplica, list[ReplicationTask]]:
    """A source run and the tasks of its batches, versions rising at a failover."""
    run = started("a", 1)
    tasks = [applier.task_for(run, "a", 1, 1)]
    version = 1
    for n in range(draw(st.integers(min_value=1, max_value=6))):
        if draw(st.booleans()):
            version += 10  # a failover back and forth: a's next version
        size = draw(st.integers(min_value=1, max_value=3))
        first = run.next_event_id
        batch = tuple(Event(first + i, version, SIGNALED, "a", f"s{n}.{i}") for i in range(size))
        run = replica.append_local(run, batch)
        tasks.append(applier.task_for(run, "a", first, first + size - 1))
    if draw(st.booleans()):
        first = run.next_event_id
        run = replica.append_local(run, (Event(first, version, COMPLETED, "a"),))
        tasks.append(applier.task_for(run, "a", first, first))
    return run, tasks


@settings(max_examples=150, deadline=None)
@given(histories(), st.data())
def test_any_order_with_duplicates_converges(
    case: tuple[RunReplica, list[ReplicationTask]], data: st.DataObject
) -> None:
    source, tasks = case
    pending = data.draw(st.permutations(tasks), label="order")
    pending += data.draw(st.lists(st.sampled_from(tasks), max_size=4), label="dups")
    passive = replica.absent("r1")
    applied_once: list[ReplicationTask] = []
    for _ in range(200):
        if not pending:
            break
        task = pending.pop(0)
        result = applier.apply_task(passive, task)
        if result.outcome is Outcome.RESYNC:
            assert result.resync is not None and result.replica == passive
            answer = applier.answer_resync(source, "a", result.resync)
            assert answer is not None
            passive = applier.apply_task(passive, answer).replica
            pending.append(task)  # RetryReplication: the task comes again
            continue
        passive = result.replica
        applied_once.append(task)
        assert invariants.reapplying_changes_nothing(passive, task)
        assert invariants.well_numbered(passive) and invariants.closes_once(passive)
    assert not pending
    assert passive == source
    for task in applied_once:
        assert invariants.holds(passive, task)


def test_the_idempotence_check_is_load_bearing() -> None:
    """`reapplying_changes_nothing` fails for a task that would still change the copy."""
    source = replica.append_local(started(), (Event(2, 1, SIGNALED, "a", "s"),))
    task = applier.task_for(source, "a", 2, 2)
    before = applier.apply_task(replica.absent("r1"), applier.task_for(source, "a", 1, 1))
    assert not invariants.reapplying_changes_nothing(before.replica, task)
    assert invariants.reapplying_changes_nothing(source, task)
    assert not invariants.holds(before.replica, task) and invariants.holds(source, task)
