"""The replication applier: create, append, duplicate, gap/resync, fork, conflict."""

from __future__ import annotations

import dataclasses

import pytest

from core.errors import BadInput, InvalidTransition
from core.statemachine.replication import applier, replica
from core.statemachine.replication import version_history as vh
from core.statemachine.replication.applier import Outcome
from core.statemachine.replication.replica import RunState
from tests.core.statemachine.replication.build import (
    COMPLETED,
    SIGNALED,
    last_task,
    started,
    write,
)


def passive_copy(source: replica.RunReplica) -> replica.RunReplica:
    task = applier.task_for(source, "a", 1, len(source.current_events))
    return applier.apply_task(replica.absent(source.run_id), task).replica


def test_create_append_close_and_duplicate() -> None:
    a = started()
    created = applier.apply_task(replica.absent("r1"), last_task(a, "a"))
    assert created.outcome is Outcome.CREATED and created.replica.state is RunState.RUNNING
    a = write(a, "a", 1, SIGNALED, "s1")
    applied = applier.apply_task(created.replica, last_task(a, "a"))
    assert applied.outcome is Outcome.APPLIED and applied.replica.current_events == a.current_events
    again = applier.apply_task(applied.replica, last_task(a, "a"))
    assert again.outcome is Outcome.DUPLICATE and again.replica == applied.replica
    a = write(a, "a", 1, COMPLETED)
    closed = applier.apply_task(applied.replica, last_task(a, "a"))
    assert closed.replica.state is RunState.CLOSED and closed.replica == a


def test_gap_asks_for_a_resync_and_its_answer_fills_it() -> None:
    a = started()
    for i in range(3):
        a = write(a, "a", 1, SIGNALED, f"s{i}")
    b = passive_copy(started())
    gap = applier.apply_task(b, last_task(a, "a"))
    assert gap.outcome is Outcome.RESYNC and gap.replica == b
    assert gap.resync == applier.ResyncRequest("r1", vh.item(1, 1), vh.item(4, 1))
    answer = applier.answer_resync(a, "a", gap.resync)
    assert answer is not None and [e.event_id for e in answer.events] == [2, 3]
    filled = applier.apply_task(b, answer).replica
    assert applier.apply_task(filled, last_task(a, "a")).replica == a
    missing = applier.apply_task(replica.absent("r1"), last_task(a, "a"))
    assert missing.outcome is Outcome.RESYNC and missing.resync is not None
    assert missing.resync.start is None
    # nothing between the two items, or no branch holding the end: no answer
    assert (
        applier.answer_resync(a, "a", applier.ResyncRequest("r1", vh.item(3, 1), vh.item(4, 1)))
        is None
    )
    assert applier.answer_resync(a, "a", applier.ResyncRequest("r1", None, vh.item(4, 7))) is None


def test_higher_version_wins_and_the_loser_is_backfilled() -> None:
    a = started()
    b = passive_copy(a)
    a = write(a, "a", 1, SIGNALED, "lost-in-a")  # a keeps writing during a partition
    b = write(b, "b", 2, SIGNALED, "in-b")  # b was failed over to (version 2)
    at_b = applier.apply_task(b, last_task(a, "a"))
    assert at_b.outcome is Outcome.BACKFILLED
    assert [e.request_id for e in at_b.losing] == ["lost-in-a"]
    assert at_b.replica.current_events == b.current_events
    assert len(at_b.replica.histories.histories) == 2
    at_a = applier.apply_task(a, last_task(b, "b"))
    assert at_a.outcome is Outcome.SWITCHED and at_a.replica.current_events == b.current_events
    assert at_a.losing == ()


def test_a_run_closed_on_the_losing_branch_is_open_again() -> None:
    """The close goes with its branch: the rebuilt run follows the winner, open."""
    a = started()
    b = passive_copy(a)
    a = write(a, "a", 1, COMPLETED)
    b = write(b, "b", 2, SIGNALED, "s")
    switched = applier.apply_task(a, last_task(b, "b"))
    assert a.state is RunState.CLOSED
    assert switched.outcome is Outcome.SWITCHED and switched.replica.state is RunState.RUNNING
    b_closed = write(b, "b", 2, COMPLETED)
    closed = applier.apply_task(a, applier.task_for(b_closed, "b", 2, 3))
    assert closed.replica.state is RunState.CLOSED


def test_bad_tasks_are_refused() -> None:
    a = write(started(), "a", 1, SIGNALED, "s")
    task = last_task(a, "a")
    with pytest.raises(BadInput):
        applier.apply_task(replica.absent("other"), task)
    with pytest.raises(BadInput):
        applier.check_task(dataclasses.replace(task, items=vh.items_of([(2, 2)])))
    with pytest.raises(BadInput):
        applier.check_task(dataclasses.replace(task, items=vh.items_of([(1, 1), (2, 2)])))
    with pytest.raises(BadInput):
        applier.check_task(dataclasses.replace(task, events=()))
    with pytest.raises(BadInput):
        applier.task_for(a, "a", 2, 3)
    # a batch under the current branch's last version, for another branch: an error
    a_lost = write(started(), "a", 1, SIGNALED, "lost")
    b = write(passive_copy(started()), "b", 2, SIGNALED, "x")
    b = applier.apply_task(b, last_task(a_lost, "a")).replica
    bogus = replica.Event(3, 2, SIGNALED, "b", "y")
    task = applier.ReplicationTask("b", "r1", vh.items_of([(2, 1), (3, 2)]), (bogus,))
    with pytest.raises(BadInput, match="last write version"):
        applier.apply_task(b, task)


def test_a_closed_run_takes_no_more_local_writes() -> None:
    a = write(started(), "a", 1, COMPLETED)
    with pytest.raises(InvalidTransition):
        write(a, "a", 1, SIGNALED, "late")
    with pytest.raises(BadInput):
        replica.append_local(
            started(),
            (
                replica.Event(2, 1, COMPLETED, "a"),
                replica.Event(3, 1, SIGNALED, "a"),
            ),
        )
