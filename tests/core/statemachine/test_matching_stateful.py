"""Matching's stateful test: a Hypothesis state machine adds, polls, cancels, expires
and answers Record*Started over random queues and partitions; after every step no task
is lost (``INV-NO-LOST-TASK``: `violations()` is empty and every added task is still
found), a task is delivered only after an OK reply, every dispatch was reported, and no
waiting poller is left beside a task it could take.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from core.statemachine.matching import (
    Dispatch,
    Dropped,
    DropReason,
    MatchingConfig,
    MatchingState,
    MatchingTask,
    PollerState,
    QueueKind,
    RecordStartedReply,
    StickyWorkerUnavailable,
    TaskQueue,
    TaskState,
    Waiting,
    add_task,
    expire_polls,
    find_task,
    has_recent_poller,
    on_record_started_reply,
    partition_count,
    poll,
    violations,
)
from tests.core.statemachine.test_matching import (
    ACTQ,
    MINUTE,
    MS,
    NS,
    OK,
    STICKY,
    WFQ,
)

# --- the stateful test ---------------------------------------------------------------------

QUEUES = (WFQ, ACTQ, STICKY)
REPLIES = list(RecordStartedReply)


def _millis(lo: int, hi: int) -> st.SearchStrategy[int]:
    """Durations in ns on a millisecond grid, so that clock advances still land exactly on
    deadlines, expiries and the sticky window edge as often as they did in ms."""
    return st.integers(lo, hi).map(lambda ms: ms * MS)


def _task_for(queue: TaskQueue, identity: int, expiry: int | None) -> MatchingTask:
    kind = queue.task_type
    return MatchingTask(NS, f"wf-{identity}", "run", identity, 1, kind, expiry)


class Matching(RuleBasedStateMachine):
    """Random add / poll / reply / expire / clock interleavings against the invariants."""

    def __init__(self) -> None:
        super().__init__()
        self.state = MatchingState()
        self.now = 0
        self.added: set[int] = set()
        self.ok_replied: set[int] = set()
        self.offered: dict[int, str] = {}  # dispatches reported and not yet replied to
        self.poller_seq = 0

    @initialize(forwarding=st.booleans(), partitions=st.integers(1, 4))
    def configure(self, forwarding: bool, partitions: int) -> None:
        self.state = MatchingState(MatchingConfig(partitions, partitions, forwarding))

    def _apply(self, f: Any, *args: Any) -> Any:
        """Run a handler twice on a snapshot: inputs never mutated, same answer each time."""
        snapshot = copy.deepcopy(self.state)
        first = f(self.state, *args)
        assert self.state == snapshot
        assert f(self.state, *args) == first
        hash(first[0])  # states stay hashable for the model checker
        return first

    def _note(self, dispatches: tuple[Dispatch, ...]) -> None:
        deadlines = {p.poller_id: p.deadline for p in self.state.pollers}
        for d in dispatches:
            assert d.task_key not in self.offered
            assert deadlines[d.poller_id] > self.now  # never offered to an overdue poll
            self.offered[d.task_key] = d.poller_id

    def _partition(self, queue: TaskQueue, raw: int | None) -> int | None:
        if raw is None:
            return None
        return raw % partition_count(self.state.config, queue, write=True)

    @rule(
        queue=st.sampled_from(QUEUES),
        identity=st.integers(1, 3),
        ttl=st.none() | _millis(-5_000, 20_000),
        partition=st.none() | st.integers(0, 3),
    )
    def add_to_queue(
        self, queue: TaskQueue, identity: int, ttl: int | None, partition: int | None
    ) -> None:
        expiry = None if ttl is None else self.now + ttl
        task = _task_for(queue, identity, expiry)
        recent = has_recent_poller(self.state, queue, self.now)
        part = self._partition(queue, partition)
        self.state, outcome = self._apply(add_task, queue, task, self.now, part)
        if isinstance(outcome, StickyWorkerUnavailable):
            assert queue.kind is QueueKind.STICKY and not recent
            return
        assert queue.kind is QueueKind.NORMAL or recent
        key = self.state.next_key - 1
        self.added.add(key)
        if isinstance(outcome, Dispatch):
            self._note((outcome,))
        elif isinstance(outcome, Dropped):
            assert outcome.reason is DropReason.EXPIRED and expiry is not None
            assert expiry < self.now

    @rule(
        queue=st.sampled_from(QUEUES),
        timeout=_millis(0, MINUTE // MS),
        partition=st.none() | st.integers(0, 3),
    )
    def poll_queue(self, queue: TaskQueue, timeout: int, partition: int | None) -> None:
        self.poller_seq += 1
        poller_id = f"p{self.poller_seq}"
        part = (
            None
            if partition is None
            else partition % partition_count(self.state.config, queue, write=False)
        )
        self.state, outcome = self._apply(
            poll, poller_id, queue, self.now, self.now + timeout, part
        )
        if isinstance(outcome, Dispatch):
            assert outcome.poller_id == poller_id and timeout > 0
            self._note((outcome,))
        else:
            assert outcome == Waiting(poller_id)

    @precondition(lambda self: bool(self.offered))
    @rule(data=st.data(), reply=st.sampled_from(REPLIES))
    def reply(self, data: st.DataObject, reply: RecordStartedReply) -> None:
        key = data.draw(st.sampled_from(sorted(self.offered)))
        poller_id = self.offered.pop(key)
        self.state, outcome = self._apply(on_record_started_reply, key, reply, self.now)
        assert outcome.poller_id == poller_id
        if reply is OK:
            self.ok_replied.add(key)
            assert outcome.task_state is TaskState.DELIVERED and outcome.delivered is not None
        elif reply is RecordStartedReply.TRANSIENT_ERROR:
            assert outcome.task_state is TaskState.BACKLOG
        else:
            assert outcome.task_state is TaskState.DROPPED and outcome.reason is not None
        self._note(outcome.dispatches)

    @rule()
    def expire(self) -> None:
        before = {p.poller_id for p in self.state.pollers}
        self.state, responses = self._apply(expire_polls, self.now)
        for r in responses:
            assert r.poller_id in before
        for p in self.state.pollers:
            assert p.state is PollerState.OFFERED or p.deadline > self.now

    @rule(dt=_millis(0, 15_000))
    def advance(self, dt: int) -> None:
        self.now += dt

    @invariant()
    def no_lost_task(self) -> None:
        assert violations(self.state) == ()
        for key in self.added:
            entry = find_task(self.state, key)
            assert entry is not None, f"INV-NO-LOST-TASK: task {key} vanished"
            if entry.state is TaskState.DROPPED:
                assert entry.reason is not None
        assert self.state.next_key - 1 == len(self.added)

    @invariant()
    def delivered_only_after_ok(self) -> None:
        delivered = {e.key for e in self.state.finished if e.state is TaskState.DELIVERED}
        assert delivered == self.ok_replied

    @invariant()
    def every_dispatch_was_reported(self) -> None:
        assert {e.key: e.poller_id for e in self.state.dispatching} == self.offered

    @invariant()
    def matching_is_greedy(self) -> None:
        forwarding = self.state.config.forwarding
        for p in self.state.pollers:
            if p.state is not PollerState.WAITING or p.deadline <= self.now:
                continue
            for e in self.state.backlog:
                visible = e.queue == p.queue and (forwarding or e.partition == p.partition)
                live = e.task.expiry is None or e.task.expiry >= self.now
                assert not (visible and live), f"poller {p.poller_id} idles beside task {e.key}"


TestMatchingStateful = Matching.TestCase
TestMatchingStateful.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
