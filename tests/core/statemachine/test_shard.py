"""History shards: the pinned map, range-id ownership, task-id ranges and fenced writes."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from core.errors import BadInput, InvalidTransition
from core.statemachine.fsm import allowed_inputs, step
from core.statemachine.shard import (
    RANGE_SIZE_BITS,
    TABLE,
    ConditionFailed,
    ShardContext,
    ShardInput,
    ShardOwnershipLost,
    ShardState,
    StoreState,
    Write,
    WriteOk,
    acquire,
    allocate_task_id,
    conditional_write,
    fingerprint32,
    initial_store,
    on_write_result,
    shard_for,
    shard_record,
    start,
    task_id_range,
    transition,
)

# --- the shard map -------------------------------------------------------------------------


def test_fingerprint_is_the_pinned_sha256_prefix() -> None:
    # SHA-256("") starts e3b0c442: anyone can recompute these without this code.
    assert fingerprint32("") == 0xE3B0C442
    assert fingerprint32("ns_wf") == 0xC0425A4E


@pytest.mark.parametrize(
    ("workflow_id", "shards", "expected"),
    [
        ("wf-0", 4, 4),
        ("wf-1", 4, 2),
        ("order-42", 4, 1),
        ("payments/7", 4, 1),
        ("wf-0", 16, 12),
        ("order-42", 512, 221),
    ],
)
def test_shard_for_golden_values(workflow_id: str, shards: int, expected: int) -> None:
    assert shard_for("default", workflow_id, shards) == expected


def test_shard_for_hashes_namespace_underscore_workflow() -> None:
    assert shard_for("a", "b_c", 1024) == fingerprint32("a_b_c") % 1024 + 1
    assert shard_for("a_b", "c", 1024) == shard_for("a", "b_c", 1024)


def test_distribution_over_four_shards_is_roughly_even() -> None:
    counts = Counter(shard_for("ns-uuid", f"workflow-{i}", 4) for i in range(10_000))
    assert set(counts) == {1, 2, 3, 4}  # 1-based: 0 never appears, 4 does
    # Binomial sd is ~43; 150 is ~3.5 sd, so an even hash passes and a skewed one fails.
    assert all(abs(n - 2_500) < 150 for n in counts.values()), counts
    chi2 = sum((n - 2_500) ** 2 / 2_500 for n in counts.values())
    assert chi2 < 16.3  # p = 0.001 for 3 degrees of freedom


@given(st.text(max_size=12), st.text(max_size=12), st.integers(1, 64))
def test_shard_ids_are_one_based(namespace: str, workflow_id: str, shards: int) -> None:
    shard = shard_for(namespace, workflow_id, shards)
    assert 1 <= shard <= shards
    assert shard == shard_for(namespace, workflow_id, shards)


def test_bad_shard_counts_are_rejected() -> None:
    with pytest.raises(BadInput):
        shard_for("ns", "wf", 0)
    with pytest.raises(BadInput):
        initial_store(0)
    with pytest.raises(BadInput):
        shard_record(initial_store(2), 3)


# --- task-id ranges ------------------------------------------------------------------------


def test_task_id_range_is_range_id_shifted_by_twenty_bits() -> None:
    assert RANGE_SIZE_BITS == 20
    assert task_id_range(0) == range(0, 1 << 20)
    assert task_id_range(3) == range(3 << 20, 4 << 20)
    assert len(task_id_range(7)) == 1_048_576


@given(st.integers(0, 1 << 30), st.integers(0, 1 << 30))
def test_task_id_ranges_of_different_range_ids_are_disjoint(a: int, b: int) -> None:
    ra, rb = task_id_range(a), task_id_range(b)
    overlap = max(ra.start, rb.start) < min(ra.stop, rb.stop)
    assert overlap == (a == b)


def test_allocation_walks_the_range_and_reports_exhaustion() -> None:
    _, ctx = acquire(initial_store(1), start(1, "h1"))
    ctx, first = allocate_task_id(ctx)
    ctx, second = allocate_task_id(ctx)
    assert (first, second) == (1 << 20, (1 << 20) + 1)
    last = ShardContext(1, "h1", ShardState.ACQUIRED, 1, (2 << 20) - 1)
    last, final = allocate_task_id(last)
    assert final == (2 << 20) - 1
    assert allocate_task_id(last) == (last, None)


def test_only_an_acquired_context_allocates() -> None:
    with pytest.raises(InvalidTransition, match="shard context: no transition from ACQUIRING"):
        allocate_task_id(start(1, "h1"))


# --- ownership and fencing -----------------------------------------------------------------


def _write(ctx: ShardContext, store: StoreState, wf: str, expected: int, next_event: int) -> Write:
    return Write(
        shard_for("ns", wf, store.num_shards), ctx.range_id, "ns", wf, "run", expected, next_event
    )


def test_acquire_bumps_the_range_and_records_the_owner() -> None:
    store = initial_store(2)
    store, a = acquire(store, start(2, "h1"))
    assert (a.state, a.range_id, a.next_task_id) == (ShardState.ACQUIRED, 1, 1 << 20)
    store, b = acquire(store, start(2, "h2"))
    assert b.range_id == 2
    assert shard_record(store, 2).owner == "h2" and shard_record(store, 2).range_id == 2
    assert shard_record(store, 1).range_id == 0


def test_acquire_needs_an_acquiring_context() -> None:
    store, ctx = acquire(initial_store(1), start(1, "h1"))
    with pytest.raises(InvalidTransition):
        acquire(store, ctx)


def test_stale_owner_loses_ownership_and_stops() -> None:
    store = initial_store(1)
    store, old = acquire(store, start(1, "h1"))
    store, new = acquire(store, start(1, "h2"))
    before = store
    store, result = conditional_write(store, _write(old, store, "wf", 0, 3))
    assert result == ShardOwnershipLost(1, writer_range_id=1, current_range_id=2)
    assert store == before
    old = on_write_result(old, result)
    assert old.state is ShardState.STOPPING
    assert transition(old, ShardInput.FINISH_STOP).state is ShardState.STOPPED
    store, result = conditional_write(store, _write(new, store, "wf", 0, 3))
    assert result == WriteOk(1)


def test_version_condition_guards_each_execution() -> None:
    store, ctx = acquire(initial_store(4), start(shard_for("ns", "wf", 4), "h1"))
    store, r1 = conditional_write(store, _write(ctx, store, "wf", 0, 3))
    assert r1 == WriteOk(1)
    unchanged = store
    store, r2 = conditional_write(store, _write(ctx, store, "wf", 0, 5))
    assert r2 == ConditionFailed(expected_version=0, actual_version=1)
    assert store == unchanged
    store, r3 = conditional_write(store, _write(ctx, store, "wf", 1, 7))
    assert r3 == WriteOk(2)
    assert [(e.db_version, e.next_event_id) for e in store.executions] == [(2, 7)]
    assert on_write_result(ctx, r2) == ctx


def test_records_stay_sorted_and_a_rewrite_replaces_only_its_own() -> None:
    store, ctx = acquire(initial_store(1), start(1, "h1"))
    for wf in ("wf-c", "wf-a", "wf-d", "wf-b"):
        store, result = conditional_write(store, _write(ctx, store, wf, 0, 3))
        assert result == WriteOk(1)
    keys = [(e.namespace_id, e.workflow_id, e.run_id) for e in store.executions]
    assert keys == sorted(keys) and len(keys) == 4
    store, result = conditional_write(store, _write(ctx, store, "wf-b", 1, 9))
    assert result == WriteOk(2)
    assert [(e.workflow_id, e.db_version, e.next_event_id) for e in store.executions] == [
        ("wf-a", 1, 3),
        ("wf-b", 2, 9),
        ("wf-c", 1, 3),
        ("wf-d", 1, 3),
    ]


def test_write_to_the_wrong_shard_is_bad_input() -> None:
    store, ctx = acquire(initial_store(4), start(1, "h1"))
    wrong = 1 if shard_for("ns", "wf-1", 4) != 1 else 2
    with pytest.raises(BadInput, match="lives on shard"):
        conditional_write(store, Write(wrong, ctx.range_id, "ns", "wf-1", "run", 0, 3))


def test_unknown_write_outcome_reacquires_and_fences_the_old_range() -> None:
    store, ctx = acquire(initial_store(1), start(1, "h1"))
    in_doubt = _write(ctx, store, "wf", 0, 3)
    ctx = transition(ctx, ShardInput.WRITE_OUTCOME_UNKNOWN)
    assert ctx.state is ShardState.ACQUIRING
    store, ctx = acquire(store, ctx)
    assert ctx.range_id == 2
    _, late = conditional_write(store, in_doubt)
    assert isinstance(late, ShardOwnershipLost)


def test_range_acquired_only_through_acquire() -> None:
    with pytest.raises(BadInput):
        transition(start(1, "h1"), ShardInput.RANGE_ACQUIRED)


# --- the lifecycle table -------------------------------------------------------------------


def test_lifecycle_rows() -> None:
    assert {(r.source, r.input, r.target) for r in TABLE.rows} == {
        (ShardState.ACQUIRING, ShardInput.RANGE_ACQUIRED, ShardState.ACQUIRED),
        (ShardState.ACQUIRING, ShardInput.OWNERSHIP_LOST, ShardState.STOPPING),
        (ShardState.ACQUIRING, ShardInput.STOP, ShardState.STOPPING),
        (ShardState.ACQUIRED, ShardInput.WRITE_OUTCOME_UNKNOWN, ShardState.ACQUIRING),
        (ShardState.ACQUIRED, ShardInput.OWNERSHIP_LOST, ShardState.STOPPING),
        (ShardState.ACQUIRED, ShardInput.STOP, ShardState.STOPPING),
        (ShardState.STOPPING, ShardInput.FINISH_STOP, ShardState.STOPPED),
    }
    assert TABLE.terminal == frozenset({ShardState.STOPPED})
    assert TABLE.rule == "INV-SINGLE-SHARD-WRITER"


def test_docs_show_the_rows_the_code_uses() -> None:
    lines = ["| from | on | to | outputs |", "|---|---|---|---|"]
    lines += [f"| {r.source.value} | {r.input.value} | {r.target.value} | — |" for r in TABLE.rows]
    docs = Path(__file__).resolve().parents[3] / "docs" / "matching.md"
    assert "\n".join(lines) in docs.read_text(encoding="utf-8")


@given(st.sampled_from(list(ShardState)), st.sampled_from(list(ShardInput)))
def test_table_totality(state: ShardState, input_: ShardInput) -> None:
    if (state, input_) in TABLE.next:
        target, _ = step(TABLE, state, input_)
        assert target in TABLE.states and input_ in allowed_inputs(TABLE, state)
    else:
        with pytest.raises(InvalidTransition):
            step(TABLE, state, input_)


# --- INV-SINGLE-SHARD-WRITER over random interleavings -------------------------------------

HOSTS = ("h1", "h2", "h3")
WORKFLOWS = ("wf-a", "wf-b", "wf-c", "wf-d")
NUM_SHARDS = 2


class ShardOwnership(RuleBasedStateMachine):
    """Hosts race to acquire shards and write; only the latest owner's writes may land."""

    def __init__(self) -> None:
        super().__init__()
        self.store = initial_store(NUM_SHARDS)
        self.contexts: dict[tuple[str, int], ShardContext] = {}
        self.latest: dict[int, tuple[str, int]] = {}  # shard -> (host, range id)
        self.versions: dict[str, int] = {}  # what the latest successful writes produced
        self.task_ids: set[tuple[int, int]] = set()

    @initialize()
    def boot(self) -> None:
        assert self.store.num_shards == NUM_SHARDS

    def _ctx(self, host: str, shard: int) -> ShardContext:
        return self.contexts.get((host, shard), start(shard, host))

    @rule(host=st.sampled_from(HOSTS), shard=st.integers(1, NUM_SHARDS))
    def acquire_shard(self, host: str, shard: int) -> None:
        ctx = self._ctx(host, shard)
        if ctx.state is ShardState.STOPPED:
            ctx = start(shard, host)  # the host loads the shard afresh
        if ctx.state is not ShardState.ACQUIRING:
            return
        snapshot = copy.deepcopy(self.store)
        store, acquired = acquire(self.store, ctx)
        assert self.store == snapshot  # the input store is never mutated
        assert acquire(self.store, ctx) == (store, acquired)  # deterministic
        assert acquired.range_id == shard_record(self.store, shard).range_id + 1
        self.store, ctx = store, acquired
        self.contexts[(host, shard)] = ctx
        self.latest[shard] = (host, ctx.range_id)

    @rule(
        host=st.sampled_from(HOSTS),
        workflow=st.sampled_from(WORKFLOWS),
        stale_version=st.booleans(),
    )
    def write(self, host: str, workflow: str, stale_version: bool) -> None:
        shard = shard_for("ns", workflow, NUM_SHARDS)
        ctx = self.contexts.get((host, shard))
        if ctx is None or ctx.state is not ShardState.ACQUIRED:
            return
        current = self.versions.get(workflow, 0)
        expected = current + 1 if stale_version else current
        w = Write(shard, ctx.range_id, "ns", workflow, "run", expected, 10)
        before = copy.deepcopy(self.store)
        store, result = conditional_write(self.store, w)
        assert self.store == before  # the input store is never mutated
        assert conditional_write(before, w) == (store, result)  # deterministic
        is_latest = self.latest[shard] == (host, ctx.range_id)
        # INV-SINGLE-SHARD-WRITER: a write lands iff it comes from the latest owner.
        if not is_latest:
            assert isinstance(result, ShardOwnershipLost), result
        elif stale_version:
            assert isinstance(result, ConditionFailed), result
        else:
            assert result == WriteOk(current + 1), result
            self.versions[workflow] = current + 1
        self.store = store
        self.contexts[(host, shard)] = on_write_result(ctx, result)

    @rule(host=st.sampled_from(HOSTS), shard=st.integers(1, NUM_SHARDS), n=st.integers(1, 3))
    def allocate(self, host: str, shard: int, n: int) -> None:
        ctx = self.contexts.get((host, shard))
        if ctx is None or ctx.state is not ShardState.ACQUIRED:
            return
        for _ in range(n):
            ctx, task_id = allocate_task_id(ctx)
            assert task_id is not None and task_id in task_id_range(ctx.range_id)
            assert (shard, task_id) not in self.task_ids  # never reused across owners
            self.task_ids.add((shard, task_id))
        self.contexts[(host, shard)] = ctx

    @rule(
        host=st.sampled_from(HOSTS),
        shard=st.integers(1, NUM_SHARDS),
        input_=st.sampled_from(
            [ShardInput.STOP, ShardInput.WRITE_OUTCOME_UNKNOWN, ShardInput.FINISH_STOP]
        ),
    )
    def lifecycle(self, host: str, shard: int, input_: ShardInput) -> None:
        ctx = self.contexts.get((host, shard))
        if ctx is None or (ctx.state, input_) not in TABLE.next:
            return
        self.contexts[(host, shard)] = transition(ctx, input_)

    @invariant()
    def single_writer(self) -> None:
        for shard, (host, range_id) in self.latest.items():
            row = shard_record(self.store, shard)
            assert (row.owner, row.range_id) == (host, range_id)
            holders = [
                c
                for c in self.contexts.values()
                if c.shard_id == shard and c.range_id == row.range_id and c.range_id > 0
            ]
            assert len(holders) <= 1  # at most one context can still pass the fence
        for e in self.store.executions:
            assert e.db_version == self.versions[e.workflow_id]


TestShardOwnership = ShardOwnership.TestCase
TestShardOwnership.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
