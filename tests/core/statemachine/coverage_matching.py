"""Targeted scenarios that take every row of the matching and shard tables (coverage gate).

Each scenario drives the public API of `core.statemachine.matching` or
`core.statemachine.shard` through one path with plain, deterministic calls and checks its
outcome: where each task ends (Delivered, or Dropped with the expected reason), what the
poller sees, and that a stale shard owner's write is refused. `run_all` runs them all;
`TABLES` are the tables they cover between them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.statemachine import matching, shard
from core.statemachine.fsm import Table
from core.statemachine.matching import (
    LONG_POLL_EXPIRATION_NS,
    Backlogged,
    Dispatch,
    DropReason,
    MatchingState,
    MatchingTask,
    PollExpired,
    RecordStartedReply,
    TaskKind,
    TaskQueue,
    TaskState,
    Waiting,
    add_task,
    expire_polls,
    find_task,
    on_record_started_reply,
    poll,
    violations,
)
from core.statemachine.shard import (
    ConditionFailed,
    ShardInput,
    ShardOwnershipLost,
    ShardState,
    Write,
    WriteOk,
    acquire,
    conditional_write,
    initial_store,
    on_write_result,
    shard_for,
    shard_record,
    start,
    transition,
)

TABLES: list[Table[Any, Any]] = [matching.TASK_TABLE, matching.POLLER_TABLE, shard.TABLE]

NS = "ns"
QUEUE = TaskQueue(NS, "orders", TaskKind.WORKFLOW)
SECOND = 10**9
T0 = 1_000 * SECOND


def _task(scheduled: int, expiry: int | None = None) -> MatchingTask:
    return MatchingTask(NS, "wf-1", "run-1", scheduled, 1, TaskKind.WORKFLOW, expiry)


def _dispatched_from_backlog(scheduled: int) -> tuple[MatchingState, Dispatch]:
    """A task added with no poller (backlogged), then taken by a poll (dispatched)."""
    state, added = add_task(MatchingState(), QUEUE, _task(scheduled), T0)
    assert isinstance(added, Backlogged)
    state, polled = poll(state, "p1", QUEUE, T0 + SECOND, T0 + SECOND + LONG_POLL_EXPIRATION_NS)
    assert isinstance(polled, Dispatch)
    assert polled.task_key == added.task_key and polled.poller_id == "p1"
    entry = find_task(state, added.task_key)
    assert entry is not None and entry.state is TaskState.DISPATCHING
    return state, polled


# --- matching ------------------------------------------------------------------------------


def sync_match_is_delivered() -> None:
    """A waiting poller takes a new task at once; history's OK delivers it to that poller."""
    state, polled = poll(MatchingState(), "p1", QUEUE, T0, T0 + LONG_POLL_EXPIRATION_NS)
    assert polled == Waiting("p1")
    state, added = add_task(state, QUEUE, _task(2), T0 + SECOND)
    assert isinstance(added, Dispatch) and added.poller_id == "p1"
    assert state.backlog == ()
    state, reply = on_record_started_reply(
        state, added.task_key, RecordStartedReply.OK, T0 + 2 * SECOND
    )
    assert reply.task_state is TaskState.DELIVERED
    assert reply.delivered == _task(2) and reply.reason is None
    assert state.pollers == () and state.dispatching == ()
    entry = find_task(state, added.task_key)
    assert entry is not None and entry.state is TaskState.DELIVERED and entry.poller_id == "p1"
    assert violations(state) == ()


def expired_backlog_task_is_dropped_and_poll_times_out() -> None:
    """A backlog task read after its schedule-to-start expiry is dropped, not delivered; the
    poller that read it keeps waiting and gets an empty response at its deadline."""
    expiry = T0 + 5 * SECOND
    state, added = add_task(MatchingState(), QUEUE, _task(2, expiry), T0)
    assert isinstance(added, Backlogged)
    now = expiry + SECOND
    deadline = now + LONG_POLL_EXPIRATION_NS
    state, polled = poll(state, "p1", QUEUE, now, deadline)
    assert polled == Waiting("p1")
    entry = find_task(state, added.task_key)
    assert entry is not None and entry.state is TaskState.DROPPED
    assert entry.reason is DropReason.EXPIRED and entry.poller_id is None
    assert state.backlog == ()
    early, none = expire_polls(state, deadline - 1)
    assert none == () and early == state
    state, expired = expire_polls(state, deadline)
    assert expired == (PollExpired("p1", QUEUE),)
    assert state.pollers == ()
    assert violations(state) == ()


def rejected_replies_drop_the_task_and_the_poller_waits_again() -> None:
    """NotFound, TaskAlreadyStarted and ObsoleteMatchingTask each drop the task with that
    reason; the poller is freed, waits again, and takes the next task."""
    cases = [
        (RecordStartedReply.NOT_FOUND, DropReason.NOT_FOUND),
        (RecordStartedReply.ALREADY_STARTED, DropReason.ALREADY_STARTED),
        (RecordStartedReply.OBSOLETE, DropReason.OBSOLETE),
    ]
    for reply_kind, reason in cases:
        state, dispatch = _dispatched_from_backlog(2)
        now = T0 + 2 * SECOND
        state, reply = on_record_started_reply(state, dispatch.task_key, reply_kind, now)
        assert reply.task_state is TaskState.DROPPED and reply.reason is reason
        assert reply.delivered is None and reply.dispatches == ()
        entry = find_task(state, dispatch.task_key)
        assert entry is not None and entry.state is TaskState.DROPPED and entry.reason is reason
        (poller,) = state.pollers
        assert poller.poller_id == "p1" and poller.state is matching.PollerState.WAITING
        # The freed poller is matched to the next task straight away.
        state, added = add_task(state, QUEUE, _task(3), now + SECOND)
        assert isinstance(added, Dispatch) and added.poller_id == "p1"
        assert violations(state) == ()


def transient_error_respools_and_redelivers() -> None:
    """A transient error must not lose the task: it goes back to the backlog, is offered
    again to the freed poller, and the second attempt is delivered."""
    state, dispatch = _dispatched_from_backlog(2)
    state, reply = on_record_started_reply(
        state, dispatch.task_key, RecordStartedReply.TRANSIENT_ERROR, T0 + 2 * SECOND
    )
    assert reply.task_state is TaskState.BACKLOG and reply.reason is None
    (again,) = reply.dispatches
    assert again.task_key == dispatch.task_key and again.poller_id == "p1"
    assert state.backlog == ()
    state, final = on_record_started_reply(
        state, again.task_key, RecordStartedReply.OK, T0 + 3 * SECOND
    )
    assert final.task_state is TaskState.DELIVERED and final.delivered == _task(2)
    assert violations(state) == ()


# --- shard ---------------------------------------------------------------------------------

SHARDS = 4
WF = "wf-1"
SHARD = shard_for(NS, WF, SHARDS)


def _write(range_id: int, expected_version: int, next_event_id: int) -> Write:
    return Write(SHARD, range_id, NS, WF, "run-1", expected_version, next_event_id)


def stale_owner_is_fenced_and_stops() -> None:
    """Host B's acquisition bumps the range; host A's next write is refused and A stops."""
    store = initial_store(SHARDS)
    store, a = acquire(store, start(SHARD, "host-a"))
    assert a.state is ShardState.ACQUIRED and a.range_id == 1
    store, result = conditional_write(store, _write(a.range_id, 0, 3))
    assert result == WriteOk(1)
    assert on_write_result(a, result) == a
    store, b = acquire(store, start(SHARD, "host-b"))
    assert b.range_id == 2 and shard_record(store, SHARD).owner == "host-b"
    before = store
    store, refused = conditional_write(store, _write(a.range_id, 1, 5))
    assert refused == ShardOwnershipLost(SHARD, 1, 2)
    assert store == before
    a = on_write_result(a, refused)
    assert a.state is ShardState.STOPPING
    a = transition(a, ShardInput.FINISH_STOP)
    assert a.state is ShardState.STOPPED
    # The new owner writes from the version it reads; a stale version is refused.
    store, stale = conditional_write(store, _write(b.range_id, 0, 5))
    assert stale == ConditionFailed(0, 1)
    store, ok = conditional_write(store, _write(b.range_id, 1, 5))
    assert ok == WriteOk(2)
    (record,) = store.executions
    assert record.db_version == 2 and record.next_event_id == 5


def unknown_write_outcome_reacquires_and_fences_the_write_in_doubt() -> None:
    """A write of unknown outcome sends the owner back to Acquiring; re-acquiring bumps the
    range, so a retry of the write in doubt under the old range cannot land."""
    store = initial_store(SHARDS)
    store, a = acquire(store, start(SHARD, "host-a"))
    old_range = a.range_id
    a = transition(a, ShardInput.WRITE_OUTCOME_UNKNOWN)
    assert a.state is ShardState.ACQUIRING
    store, a = acquire(store, a)
    assert a.state is ShardState.ACQUIRED and a.range_id == old_range + 1
    store, result = conditional_write(store, _write(old_range, 0, 3))
    assert result == ShardOwnershipLost(SHARD, old_range, a.range_id)
    assert store.executions == ()
    a = transition(a, ShardInput.STOP)
    assert a.state is ShardState.STOPPING
    assert transition(a, ShardInput.FINISH_STOP).state is ShardState.STOPPED


def ownership_lost_while_reacquiring_stops() -> None:
    """A write's outcome is unknown (A goes back to Acquiring); meanwhile host B takes the
    shard, so A's other in-flight write comes back ShardOwnershipLost and A stops."""
    store = initial_store(SHARDS)
    store, a = acquire(store, start(SHARD, "host-a"))
    in_flight = _write(a.range_id, 0, 3)
    a = transition(a, ShardInput.WRITE_OUTCOME_UNKNOWN)
    store, b = acquire(store, start(SHARD, "host-b"))
    store, result = conditional_write(store, in_flight)
    assert isinstance(result, ShardOwnershipLost) and result.current_range_id == b.range_id
    a = on_write_result(a, result)
    assert a.state is ShardState.STOPPING
    assert shard_record(store, SHARD).owner == "host-b"


def stop_before_acquiring_leaves_the_store_alone() -> None:
    """A context stopped before it acquires never touches the shard row."""
    store = initial_store(SHARDS)
    ctx = transition(start(SHARD, "host-a"), ShardInput.STOP)
    assert ctx.state is ShardState.STOPPING and ctx.range_id == 0
    ctx = transition(ctx, ShardInput.FINISH_STOP)
    assert ctx.state is ShardState.STOPPED
    assert shard_record(store, SHARD).range_id == 0
    assert shard_record(store, SHARD).owner == shard.NO_OWNER


SCENARIOS: list[Callable[[], None]] = [
    sync_match_is_delivered,
    expired_backlog_task_is_dropped_and_poll_times_out,
    rejected_replies_drop_the_task_and_the_poller_waits_again,
    transient_error_respools_and_redelivers,
    stale_owner_is_fenced_and_stops,
    unknown_write_outcome_reacquires_and_fences_the_write_in_doubt,
    ownership_lost_while_reacquiring_stops,
    stop_before_acquiring_leaves_the_store_alone,
]


def run_all() -> None:
    for scenario in SCENARIOS:
        scenario()
