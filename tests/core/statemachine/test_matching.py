"""Matching: partitions, sync match vs backlog, long polls, sticky queues, expiry, and the
Record*Started dispatch protocol (``INV-NO-LOST-TASK``)."""

from __future__ import annotations

from collections import Counter
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import BadInput, InvalidTransition
from core.statemachine.fsm import Table, allowed_inputs, step
from core.statemachine.matching import (
    DEFAULT_PARTITIONS,
    LONG_POLL_EXPIRATION_NS,
    POLLER_TABLE,
    STICKY_POLLER_UNAVAILABLE_WINDOW_NS,
    TASK_TABLE,
    Backlogged,
    Dispatch,
    Dropped,
    DropReason,
    MatchingConfig,
    MatchingState,
    MatchingTask,
    PollerState,
    PollExpired,
    QueueKind,
    RecordStartedReply,
    StickyWorkerUnavailable,
    TaskKind,
    TaskQueue,
    TaskState,
    Waiting,
    add_task,
    cancel_poll,
    expire_polls,
    find_task,
    has_recent_poller,
    on_record_started_reply,
    partition_count,
    pick_partition,
    poll,
    violations,
)

ROOT = Path(__file__).resolve().parents[3]
NS = "ns"
WFQ = TaskQueue(NS, "orders", TaskKind.WORKFLOW)
ACTQ = TaskQueue(NS, "orders", TaskKind.ACTIVITY)
STICKY = TaskQueue(NS, "worker-1:sticky", TaskKind.WORKFLOW, QueueKind.STICKY)
MS = 10**6  # times are ns since the epoch and durations ns, as in history events
SECOND = 10**9
MINUTE = LONG_POLL_EXPIRATION_NS
OK = RecordStartedReply.OK


def wft(scheduled: int = 2, expiry: int | None = None, wf: str = "wf-1") -> MatchingTask:
    return MatchingTask(NS, wf, "run-1", scheduled, 1, TaskKind.WORKFLOW, expiry)


def act(scheduled: int = 5, expiry: int | None = None) -> MatchingTask:
    return MatchingTask(NS, "wf-1", "run-1", scheduled, 1, TaskKind.ACTIVITY, expiry)


def isolated() -> MatchingState:
    return MatchingState(MatchingConfig(forwarding=False))


# --- partitions ----------------------------------------------------------------------------


def test_default_is_four_read_and_write_partitions_and_sticky_has_one() -> None:
    config = MatchingConfig()
    assert DEFAULT_PARTITIONS == 4
    assert partition_count(config, WFQ, write=True) == 4
    assert partition_count(config, WFQ, write=False) == 4
    assert partition_count(config, STICKY, write=True) == 1


def test_partition_is_picked_from_the_argument_or_a_pinned_hash() -> None:
    assert [pick_partition(k, 4) for k in ("poller-a", "poller-b", "ns/wf/run/5")] == [1, 3, 2]
    state, _ = add_task(isolated(), WFQ, wft(), 0, partition=3)
    assert state.backlog[0].partition == 3
    state, _ = add_task(isolated(), WFQ, wft(), 0)
    assert state.backlog[0].partition == pick_partition(f"{NS}/wf-1/run-1/2", 4)
    state, _ = poll(isolated(), "poller-b", WFQ, 0, MINUTE)
    assert state.pollers[0].partition == 3


def test_bad_partitions_and_configs_are_rejected() -> None:
    with pytest.raises(BadInput, match=r"partition 4 outside 0\.\.3"):
        add_task(MatchingState(), WFQ, wft(), 0, partition=4)
    with pytest.raises(BadInput, match=r"partition 1 outside 0\.\.0"):
        poll(MatchingState(), "p", STICKY, 0, MINUTE, partition=1)
    with pytest.raises(BadInput, match="write_partitions <= read_partitions"):
        MatchingConfig(read_partitions=2, write_partitions=4)
    with pytest.raises(BadInput, match="sticky"):
        TaskQueue(NS, "s", TaskKind.ACTIVITY, QueueKind.STICKY)
    with pytest.raises(BadInput, match="cannot go to"):
        add_task(MatchingState(), ACTQ, wft(), 0)


def test_without_forwarding_partitions_are_isolated() -> None:
    state, _ = add_task(isolated(), WFQ, wft(), 0, partition=2)
    state, outcome = poll(state, "p", WFQ, 0, MINUTE, partition=1)
    assert outcome == Waiting("p")
    state, outcome = poll(state, "q", WFQ, 0, MINUTE, partition=2)
    assert isinstance(outcome, Dispatch) and outcome.poller_id == "q"


def test_forwarding_reaches_other_partitions_but_prefers_the_local_one() -> None:
    state, _ = poll(MatchingState(), "far", WFQ, 0, MINUTE, partition=0)
    state, _ = poll(state, "near", WFQ, 0, MINUTE, partition=2)
    state, outcome = add_task(state, WFQ, wft(), 1, partition=2)
    assert isinstance(outcome, Dispatch) and outcome.poller_id == "near"
    state, outcome = add_task(state, WFQ, wft(3), 1, partition=3)
    assert isinstance(outcome, Dispatch) and outcome.poller_id == "far"


def test_queues_do_not_share_tasks() -> None:
    state, _ = add_task(MatchingState(), ACTQ, act(), 0)
    state, outcome = poll(state, "p", WFQ, 0, MINUTE)
    assert outcome == Waiting("p")


# --- sync match vs backlog -----------------------------------------------------------------


def test_sync_match_when_a_poller_is_waiting() -> None:
    state, waiting = poll(MatchingState(), "p", WFQ, 0, MINUTE)
    assert waiting == Waiting("p")
    state, outcome = add_task(state, WFQ, wft(), 5)
    assert outcome == Dispatch(1, "p", wft())
    assert state.backlog == () and [e.state for e in state.dispatching] == [TaskState.DISPATCHING]
    assert state.pollers[0].state is PollerState.OFFERED and state.pollers[0].task_key == 1


def test_backlog_when_no_poller_then_polls_take_oldest_first() -> None:
    state, first = add_task(MatchingState(), WFQ, wft(2), 0, partition=0)
    state, second = add_task(state, WFQ, wft(7), 0, partition=0)
    assert (first, second) == (Backlogged(1), Backlogged(2))
    state, outcome = poll(state, "p", WFQ, 1, MINUTE, partition=0)
    assert outcome == Dispatch(1, "p", wft(2))
    state, outcome = poll(state, "q", WFQ, 1, MINUTE, partition=0)
    assert outcome == Dispatch(2, "q", wft(7))
    assert state.backlog == ()


# --- long polls ----------------------------------------------------------------------------


def test_a_cancelled_poll_leaves_and_a_later_task_is_backlogged() -> None:
    state, _ = poll(MatchingState(), "p", WFQ, 0, MINUTE)
    state, removed = cancel_poll(state, "p")
    assert removed and state.pollers == ()
    state, outcome = add_task(state, WFQ, wft(), 5)
    assert isinstance(outcome, Backlogged)  # nobody to offer it to
    assert violations(state) == ()


def test_an_offered_poll_is_not_cancelled_and_unknown_ones_are_ignored() -> None:
    state, _ = poll(MatchingState(), "p", WFQ, 0, MINUTE)
    state, _ = add_task(state, WFQ, wft(), 5)  # offered to "p", waiting for history
    same, removed = cancel_poll(state, "p")
    assert not removed and same == state
    same, removed = cancel_poll(state, "nobody")
    assert not removed and same == state


def test_long_poll_expiry_returns_an_empty_response() -> None:
    state, _ = poll(MatchingState(), "p", WFQ, 0, MINUTE)
    same, early = expire_polls(state, MINUTE - 1)
    assert early == () and same == state
    state, responses = expire_polls(state, MINUTE)
    assert responses == (PollExpired("p", WFQ),)
    assert state.pollers == ()
    state, outcome = add_task(state, WFQ, wft(), MINUTE + 1)
    assert outcome == Backlogged(1)


def test_an_overdue_poller_is_not_offered_a_task_before_it_is_expired() -> None:
    state, _ = poll(MatchingState(), "p", WFQ, 0, SECOND)
    state, outcome = add_task(state, WFQ, wft(), SECOND)
    assert outcome == Backlogged(1)
    _, responses = expire_polls(state, SECOND)
    assert responses == (PollExpired("p", WFQ),)


def test_an_overdue_poller_gets_no_backlog_task() -> None:
    state, _ = add_task(MatchingState(), WFQ, wft(2), 0, partition=0)
    state, _ = add_task(state, WFQ, wft(3), 0, partition=0)
    late, outcome = poll(state, "late", WFQ, 500 * MS, 500 * MS, partition=0)  # deadline is now
    assert outcome == Waiting("late") and len(late.backlog) == 2
    state, _ = poll(state, "p", WFQ, 0, SECOND, partition=0)
    state, reply = on_record_started_reply(state, 1, RecordStartedReply.NOT_FOUND, SECOND)
    assert reply.dispatches == ()  # freed after its deadline: expire it, do not offer
    assert [e.key for e in state.backlog] == [2]
    _, responses = expire_polls(state, SECOND)
    assert responses == (PollExpired("p", WFQ),)


def test_an_offered_poller_does_not_expire() -> None:
    state, _ = poll(MatchingState(), "p", WFQ, 0, SECOND)
    state, _ = add_task(state, WFQ, wft(), 10 * MS)
    same, responses = expire_polls(state, 5 * SECOND)
    assert responses == () and same == state


def test_a_poller_id_has_one_outstanding_poll() -> None:
    state, _ = poll(MatchingState(), "p", WFQ, 0, MINUTE)
    with pytest.raises(BadInput, match="outstanding poll"):
        poll(state, "p", WFQ, 1, MINUTE)


# --- sticky queues -------------------------------------------------------------------------


def test_sticky_fallback_after_ten_seconds_without_pollers() -> None:
    assert STICKY_POLLER_UNAVAILABLE_WINDOW_NS == 10 * SECOND
    assert MatchingConfig().sticky_window == 10 * SECOND
    empty = MatchingState()
    assert not has_recent_poller(empty, STICKY, 0)
    assert add_task(empty, STICKY, wft(), 0) == (empty, StickyWorkerUnavailable(STICKY))
    state, _ = poll(empty, "worker-1", STICKY, 0, SECOND)
    state, _ = expire_polls(state, SECOND)
    assert has_recent_poller(state, STICKY, 10 * SECOND - 1)
    assert not has_recent_poller(state, STICKY, 10 * SECOND)  # HasPollerAfter is strict
    assert not has_recent_poller(state, WFQ, 5 * SECOND)  # recency is per queue
    fell_back, outcome = add_task(state, STICKY, wft(), 10 * SECOND + 1)
    assert outcome == StickyWorkerUnavailable(STICKY) and fell_back == state
    kept, outcome = add_task(state, STICKY, wft(), 10 * SECOND - 1)
    assert outcome == Backlogged(1) and kept.backlog[0].queue == STICKY


def test_an_outstanding_sticky_poll_counts_as_recent_however_old() -> None:
    state, _ = poll(MatchingState(), "worker-1", STICKY, 0, 5 * MINUTE)
    assert has_recent_poller(state, STICKY, 4 * MINUTE)
    state, outcome = add_task(state, STICKY, wft(), 4 * MINUTE)
    assert outcome == Dispatch(1, "worker-1", wft())
    assert has_recent_poller(state, STICKY, 5 * MINUTE + 1)  # offered: still in its RPC


# --- expiry --------------------------------------------------------------------------------


def test_expired_backlog_tasks_are_dropped_at_dispatch_time() -> None:
    state, _ = add_task(MatchingState(), WFQ, wft(2, expiry=100 * MS), 0, partition=0)
    state, _ = add_task(state, WFQ, wft(3, expiry=None), 0, partition=0)
    kept, outcome = poll(state, "p", WFQ, 100 * MS, MINUTE, partition=0)
    assert outcome == Dispatch(1, "p", wft(2, expiry=100 * MS))  # expiry == now: not expired
    state, outcome = poll(state, "p", WFQ, 100 * MS + 1, MINUTE, partition=0)
    assert outcome == Dispatch(2, "p", wft(3))
    dropped = find_task(state, 1)
    assert dropped is not None
    assert (dropped.state, dropped.reason) == (TaskState.DROPPED, DropReason.EXPIRED)
    assert kept.finished == ()


def test_an_expired_task_is_dropped_instead_of_sync_matched() -> None:
    state, _ = poll(MatchingState(), "p", WFQ, 0, MINUTE)
    state, outcome = add_task(state, WFQ, wft(expiry=50 * MS), 60 * MS)
    assert outcome == Dropped(1, DropReason.EXPIRED)
    assert state.pollers[0].state is PollerState.WAITING
    state, outcome = add_task(state, WFQ, wft(3), 61 * MS)
    assert isinstance(outcome, Dispatch) and outcome.task_key == 2


def test_an_expired_task_without_pollers_waits_in_the_backlog() -> None:
    state, outcome = add_task(MatchingState(), WFQ, wft(expiry=50 * MS), 60 * MS)
    assert outcome == Backlogged(1) and state.backlog[0].state is TaskState.BACKLOG


# --- Record*Started replies ----------------------------------------------------------------


def _dispatched() -> MatchingState:
    state, _ = poll(MatchingState(), "p", WFQ, 0, MINUTE)
    state, _ = add_task(state, WFQ, wft(), 1)
    return state


def test_ok_delivers_the_task_to_its_poller() -> None:
    state, outcome = on_record_started_reply(_dispatched(), 1, OK, 2)
    assert outcome.task_state is TaskState.DELIVERED and outcome.delivered == wft()
    assert outcome.poller_id == "p" and outcome.dispatches == ()
    assert state.pollers == () and state.dispatching == () and state.backlog == ()
    entry = find_task(state, 1)
    assert entry is not None and (entry.state, entry.poller_id) == (TaskState.DELIVERED, "p")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (RecordStartedReply.NOT_FOUND, DropReason.NOT_FOUND),
        (RecordStartedReply.ALREADY_STARTED, DropReason.ALREADY_STARTED),
        (RecordStartedReply.OBSOLETE, DropReason.OBSOLETE),
    ],
)
def test_drop_replies_drop_the_task_and_the_poller_keeps_waiting(
    reply: RecordStartedReply, reason: DropReason
) -> None:
    state, outcome = on_record_started_reply(_dispatched(), 1, reply, 2)
    assert (outcome.task_state, outcome.reason, outcome.delivered) == (
        TaskState.DROPPED,
        reason,
        None,
    )
    assert outcome.dispatches == ()
    assert state.backlog == () and state.dispatching == ()
    assert [(p.poller_id, p.state) for p in state.pollers] == [("p", PollerState.WAITING)]
    state, next_outcome = add_task(state, WFQ, wft(3), 3)
    assert next_outcome == Dispatch(2, "p", wft(3))


def test_a_dropped_task_frees_the_poller_for_the_next_backlog_task() -> None:
    state, _ = add_task(MatchingState(), WFQ, wft(2), 0, partition=0)
    state, _ = add_task(state, WFQ, wft(3), 0, partition=0)
    state, _ = poll(state, "p", WFQ, 1, MINUTE, partition=0)
    state, outcome = on_record_started_reply(state, 1, RecordStartedReply.OBSOLETE, 2)
    assert outcome.dispatches == (Dispatch(2, "p", wft(3)),)


def test_transient_error_respools_the_task_at_the_end_of_the_backlog() -> None:
    state, _ = add_task(MatchingState(), WFQ, wft(2), 0, partition=0)
    state, _ = add_task(state, WFQ, wft(3), 0, partition=0)
    state, _ = poll(state, "p", WFQ, 1, MINUTE, partition=0)
    state, outcome = on_record_started_reply(state, 1, RecordStartedReply.TRANSIENT_ERROR, 2)
    assert outcome.task_state is TaskState.BACKLOG and outcome.reason is None
    assert outcome.dispatches == (Dispatch(2, "p", wft(3)),)  # task 2 is now ahead of task 1
    assert [(e.key, e.state) for e in state.backlog] == [(1, TaskState.BACKLOG)]
    state, again = poll(state, "q", WFQ, 3, MINUTE, partition=0)
    assert again == Dispatch(1, "q", wft(2))  # retried, not lost


def test_transient_error_with_a_lone_task_offers_it_again_at_once() -> None:
    state, outcome = on_record_started_reply(
        _dispatched(), 1, RecordStartedReply.TRANSIENT_ERROR, 2
    )
    assert outcome.dispatches == (Dispatch(1, "p", wft()),)
    assert violations(state) == ()


def test_a_respooled_task_reaches_another_waiting_poller() -> None:
    config = MatchingState(MatchingConfig(forwarding=False))
    state, _ = poll(config, "p", WFQ, 0, MINUTE, partition=0)
    state, _ = poll(state, "q", WFQ, 0, MINUTE, partition=1)
    state, _ = add_task(state, WFQ, wft(), 1, partition=1)
    state, _ = poll(state, "r", WFQ, 1, MINUTE, partition=1)
    state, outcome = on_record_started_reply(state, 1, RecordStartedReply.TRANSIENT_ERROR, 2)
    # q (partition 1, waiting longest of those who can see it) is offered the task again.
    assert outcome.dispatches == (Dispatch(1, "q", wft()),)


def test_replies_to_tasks_not_dispatching_are_rejected() -> None:
    state, _ = on_record_started_reply(_dispatched(), 1, OK, 2)
    with pytest.raises(InvalidTransition, match="matching task: no transition from DELIVERED"):
        on_record_started_reply(state, 1, OK, 3)
    backlogged, _ = add_task(MatchingState(), WFQ, wft(), 0)
    with pytest.raises(InvalidTransition, match="from BACKLOG on NOT_FOUND"):
        on_record_started_reply(backlogged, 1, RecordStartedReply.NOT_FOUND, 1)
    with pytest.raises(BadInput, match="no task with key 9"):
        on_record_started_reply(state, 9, OK, 3)


def test_duplicate_add_is_delivered_at_most_once_when_history_dedupes() -> None:
    state, _ = poll(MatchingState(), "p1", WFQ, 0, MINUTE)
    state, _ = poll(state, "p2", WFQ, 0, MINUTE)
    state, first = add_task(state, WFQ, wft(), 1)  # the transfer task ...
    state, second = add_task(state, WFQ, wft(), 2)  # ... re-executed: same task again
    assert first == Dispatch(1, "p1", wft()) and second == Dispatch(2, "p2", wft())
    state, r1 = on_record_started_reply(state, 1, OK, 3)
    state, r2 = on_record_started_reply(state, 2, RecordStartedReply.ALREADY_STARTED, 3)
    assert (r1.task_state, r2.task_state) == (TaskState.DELIVERED, TaskState.DROPPED)
    delivered = [e for e in state.finished if e.state is TaskState.DELIVERED]
    assert [e.key for e in delivered] == [1]
    assert [p.poller_id for p in state.pollers] == ["p2"]


@settings(max_examples=150, deadline=None)
@given(
    copies=st.lists(st.integers(1, 3), min_size=1, max_size=4),
    transient=st.lists(st.booleans(), max_size=30),
    partitions=st.lists(st.integers(0, 3), min_size=1, max_size=8),
)
def test_at_least_once_and_history_dedupe_give_exactly_one_delivery(
    copies: list[int], transient: list[bool], partitions: list[int]
) -> None:
    """Every schedule is added 1-3 times; history answers like recordworkflowtaskstarted:
    OK the first time, TaskAlreadyStarted after, sometimes a transient error. Polling until
    matching is empty delivers each schedule exactly once and drops every other copy."""
    state, now = MatchingState(), 0
    for scheduled, n in enumerate(copies, start=2):
        for _ in range(n):
            state, _ = add_task(
                state, WFQ, wft(scheduled), now, partition=partitions[now % 4 % len(partitions)]
            )
            now += 1
    started: set[int] = set()
    faults = iter(transient)
    for step_no in range(200):
        if not state.backlog and not state.dispatching:
            break
        if state.dispatching:
            entry = state.dispatching[0]
            scheduled = entry.task.scheduled_event_id
            if next(faults, False):
                reply = RecordStartedReply.TRANSIENT_ERROR
            elif scheduled in started:
                reply = RecordStartedReply.ALREADY_STARTED
            else:
                reply = OK
                started.add(scheduled)
            state, _ = on_record_started_reply(state, entry.key, reply, now)
        else:
            part = partitions[step_no % len(partitions)]
            state, _ = poll(state, f"p{step_no}", WFQ, now, now + MINUTE, partition=part)
        now += 1
        assert violations(state) == ()
    assert state.backlog == () and state.dispatching == ()
    delivered = Counter(
        e.task.scheduled_event_id for e in state.finished if e.state is TaskState.DELIVERED
    )
    assert delivered == Counter(range(2, 2 + len(copies)))
    dropped = [e.reason for e in state.finished if e.state is TaskState.DROPPED]
    assert dropped == [DropReason.ALREADY_STARTED] * (sum(copies) - len(copies))


# --- tables --------------------------------------------------------------------------------

TABLES: list[Table[Any, Any]] = [TASK_TABLE, POLLER_TABLE]


@pytest.mark.parametrize("table", TABLES, ids=[t.name for t in TABLES])
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_table_totality(table: Table[Any, Any], data: Any) -> None:
    state: Enum = data.draw(st.sampled_from(table.states))
    input_: Enum = data.draw(st.sampled_from(table.inputs))
    if (state, input_) in table.next:
        target, outputs = step(table, state, input_)
        assert target in table.states and isinstance(outputs, tuple)
        assert input_ in allowed_inputs(table, state)
    else:
        with pytest.raises(InvalidTransition):
            step(table, state, input_)
        assert input_ not in allowed_inputs(table, state)


def test_terminal_states() -> None:
    assert TASK_TABLE.terminal == frozenset({TaskState.DELIVERED, TaskState.DROPPED})
    assert POLLER_TABLE.terminal == frozenset({PollerState.MATCHED, PollerState.EXPIRED})
    assert TASK_TABLE.rule == POLLER_TABLE.rule == "INV-NO-LOST-TASK"


def _markdown_rows(table: Table[Any, Any]) -> str:
    lines = ["| from | on | to | outputs |", "|---|---|---|---|"]
    for r in table.rows:
        outputs = ", ".join(r.outputs) or "—"
        lines.append(f"| {r.source.value} | {r.input.value} | {r.target.value} | {outputs} |")
    return "\n".join(lines)


@pytest.mark.parametrize("table", TABLES, ids=[t.name for t in TABLES])
def test_docs_show_the_rows_the_code_uses(table: Table[Any, Any]) -> None:
    docs = (ROOT / "docs" / "matching.md").read_text(encoding="utf-8")
    assert _markdown_rows(table) in docs
