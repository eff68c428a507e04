"""Each invariant checker catches a planted breach."""

from __future__ import annotations

from collections import Counter

from core.enums import EventType
from core.events import ActivityTaskCompletedEventAttributes, HistoryEvent
from core.opaque import Opaque
from sim.config import SimConfig
from sim.invariants import (
    Monitor,
    replay_check,
    results_at_most_once,
    unexecuted_completions,
)
from sim.kernel import Kernel
from sim.persistence import Commit, Mutation
from sim.run import simulate
from sim.workflow_code import ScriptedCode


def _run() -> tuple[str, tuple[HistoryEvent, ...]]:
    result = simulate(SimConfig(seed=1, workflows=4, workload="scripted", faults=()))
    run_id = next(
        r
        for r, h in result.histories.items()
        if any(e.event_type is EventType.ACTIVITY_TASK_COMPLETED for e in h)
    )
    return run_id, result.histories[run_id]


def _completed(history: tuple[HistoryEvent, ...]) -> HistoryEvent:
    return next(e for e in history if e.event_type is EventType.ACTIVITY_TASK_COMPLETED)


def _monitor() -> Monitor:
    return Monitor(Kernel(0), None)


def test_result_at_most_once_catches_a_second_result() -> None:
    _, history = _run()
    assert results_at_most_once(history) == []
    first = _completed(history)
    again = HistoryEvent(len(history) + 1, first.event_type, first.attributes)
    assert results_at_most_once((*history, again))


def test_activity_at_least_once_catches_an_unexecuted_completion() -> None:
    run_id, history = _run()
    assert unexecuted_completions(run_id, history, Counter())
    ran = Counter({(run_id, f"a{i}"): 1 for i in range(4)})
    assert unexecuted_completions(run_id, history, ran) == []


def test_replay_check_catches_a_rewritten_batch() -> None:
    _, history = _run()
    check = replay_check(ScriptedCode())
    assert check("mixed", history) == []
    i = next(k for k, e in enumerate(history) if e.event_type is EventType.ACTIVITY_TASK_SCHEDULED)
    broken = history[:i] + history[i + 1 :]
    assert check("mixed", broken)


def test_single_shard_writer_catches_a_stale_range() -> None:
    monitor = _monitor()
    for stale in (False, True):
        monitor.on_commit(Commit(1, 1, 2 if stale else 1), ())
    assert [v.id for v in monitor.violations] == ["INV-SINGLE-SHARD-WRITER"]


def test_end_checks_catch_planted_breaches() -> None:
    run_id, history = _run()
    monitor = _monitor()
    from dataclasses import dataclass

    @dataclass
    class S:
        workflow_type: str = "mixed"

    monitor.on_commit(Commit(1, 1, 1), (Mutation(run_id, "wf-x", 0, S(), history),))  # type: ignore[arg-type]
    extra = HistoryEvent(
        len(history) + 1,
        EventType.ACTIVITY_TASK_COMPLETED,
        ActivityTaskCompletedEventAttributes(Opaque.of(1), 5, 6),
    )
    monitor.on_commit(Commit(1, 1, 1), (Mutation(run_id, "wf-x", 1, S(), (extra,)),))  # type: ignore[arg-type]
    monitor.kernel.run(monitor.kernel.now + 1)
    tampered = list(history[:-1])
    monitor.finish(
        {run_id: tampered},
        Counter(),
        ["wf-x", "wf-y"],
        ["a matching problem"],
        [(run_id, "workflow task")],
        0,
    )
    ids = {v.id for v in monitor.violations}
    assert {
        "INV-RUN-CLOSES-ONCE",
        "INV-DURABLE-HISTORY",
        "INV-ACTIVITY-AT-LEAST-ONCE",
        "INV-EVENTUALLY-CLOSED",
        "INV-NO-LOST-TASK",
        "H3",
    } <= ids, ids


def test_workflow_exactly_once_catches_two_final_closes() -> None:
    monitor = _monitor()
    monitor.final_closes["wf-1"] = 2
    monitor.finish({}, Counter(), ["wf-1"], [], [], 0)
    assert [v.id for v in monitor.violations] == ["INV-WORKFLOW-EXACTLY-ONCE"]
