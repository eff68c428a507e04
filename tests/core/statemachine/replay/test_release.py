"""A released Execution is freed at once, by reference counting, leaving no cyclic garbage.

A run's objects reference each other in cycles (coroutines hold the `Context`, which
holds the Execution, which holds the tasks; a pending future's cancel hook holds its
entity, which holds the future). `Execution.release` closes the run's coroutines and
drops those links, so a run its owner is done with (a finished replay check, a cache
entry a cold replay replaced) does not wait for the garbage collector. The simulator
collects its oldest generation once, at the end, so every run dropped unreleased
lingered until then.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import weakref
from collections.abc import Iterator

import pytest

from core import workflow
from core.enums import EventType as E
from core.events import HistoryEvent
from core.statemachine.replay.driver import answer_task, query, replay
from core.statemachine.replay.scheduler import Task
from core.workflow import CancelledError, Context
from tests.core.statemachine.replay.live import LiveRun, Rates

QUERIED: list[weakref.ref[object]] = []  # the objects queries ran on


@workflow.defn(name="Holder")
class Holder:
    """Leaves a bit of everything behind: a task failed with an error (and its traceback),
    a cancelled timer whose cancellation the run caught, finished activities under a
    gather, and a condition that never holds, so the run method is still waiting when
    the history ends."""

    def __init__(self) -> None:
        self.go = False
        self.failed: Task[None] | None = None
        self.closed_at: int | None = None

    @workflow.query
    def state(self, wf: Context) -> str:
        QUERIED.append(weakref.ref(self))
        return "waiting" if not self.go else "going"

    @workflow.run
    async def run(self, wf: Context, width: int) -> str:
        async def fails() -> None:
            raise ValueError("at once")

        self.failed = wf.create_task(fails())
        timer = wf.create_task(wf.sleep(3600))
        work = await wf.gather(
            *(wf.execute_activity("work", i, start_to_close_timeout=5) for i in range(width))
        )
        timer.cancel()  # the activities come first: the harness fires no timer before
        with contextlib.suppress(CancelledError):
            await timer
        try:
            await wf.wait_condition(lambda: self.go)
        finally:  # runs when the run is released (GeneratorExit at the await)
            self.closed_at = wf.now()
        return str(work)


DEFINITION = workflow.definition(Holder)
QUIET = Rates(
    lose_workflow_task=0, evict_cache=0, activity_failure=0, activity_lost=0, prefer_timers=0
)


@functools.cache
def _history() -> tuple[HistoryEvent, ...]:
    live = LiveRun({"Holder": DEFINITION}, seed=7, rates=QUIET, cold_check=False)
    run_id = live.start("Holder", "holder-1", 3)
    live.run()
    return tuple(live.histories[run_id])


def _collect() -> int:
    """Collect until nothing is left, and count what was found: a pass that runs
    finalizers (a suspended coroutine's) leaves what they held to the next one."""
    found = 0
    while n := gc.collect():
        found += n
    return found


@pytest.fixture
def history() -> Iterator[tuple[HistoryEvent, ...]]:
    """The run's history; then the collector off, after collecting what came before:
    whatever the test leaves in cycles stays, and `_collect()` at its end counts it."""
    events = _history()
    _collect()
    gc.disable()
    try:
        yield events
    finally:
        gc.enable()


def test_a_released_replay_leaves_nothing_for_the_collector(
    history: tuple[HistoryEvent, ...],
) -> None:
    result = replay(DEFINITION, history)
    assert [e.event_type for e in history].count(E.TIMER_CANCELED) == 1
    ex = result.execution
    assert ex.run_task is not None and not ex.run_task.done()  # still waiting
    instance, execution = weakref.ref(ex.instance), weakref.ref(ex)
    ex.release()
    del ex, result
    assert instance() is None and execution() is None
    assert _collect() == 0


def test_a_replaced_cache_entry_released_is_freed(history: tuple[HistoryEvent, ...]) -> None:
    # A cache entry handed a history it does not continue (here: one that ends before
    # what the entry has seen): the answer comes from a cold replay, the entry is dropped.
    started = [i for i, e in enumerate(history) if e.event_type is E.WORKFLOW_TASK_STARTED]
    cached, _ = answer_task(DEFINITION, None, history)
    assert cached is not None
    fresh, _ = answer_task(DEFINITION, cached, history[: started[1] + 1])
    assert fresh is not None and fresh is not cached
    instance = weakref.ref(cached.instance)
    cached.release()
    del cached
    assert instance() is None
    fresh.release()
    del fresh
    assert _collect() == 0


def test_a_query_releases_the_run_it_replayed(history: tuple[HistoryEvent, ...]) -> None:
    assert query(DEFINITION, history, "state") == "waiting"
    assert QUERIED[-1]() is None
    assert _collect() == 0


def test_a_failed_task_keeps_the_codes_traceback_not_the_schedulers() -> None:
    # The traceback of a task's error starts at the code's own frame: the scheduler's
    # frame would link the error to the whole stack that ran the scheduler.
    ex = replay(DEFINITION, _history()).execution
    assert isinstance(ex.instance, Holder) and ex.instance.failed is not None
    error = ex.instance.failed.exception()
    assert isinstance(error, ValueError)
    assert error.__traceback__ is not None
    assert error.__traceback__.tb_frame.f_code.co_name == "fails"
    ex.release()


def test_release_ends_the_code_while_the_run_is_whole() -> None:
    # The waiting run method is closed first (GeneratorExit at its await, as the
    # coroutine's finalizer would close it), while the Execution still answers
    # `wf.now()`; only then is the Execution emptied.
    ex = replay(DEFINITION, _history()).execution
    holder, now = ex.instance, ex.now_ns
    assert isinstance(holder, Holder) and holder.closed_at is None
    ex.release()
    assert holder.closed_at == now
