"""Each invariant checker catches a planted breach."""

from __future__ import annotations

from core import requests as rq
from core.enums import EventType, TimeoutType
from core.events import ActivityTaskCompletedEventAttributes, HistoryEvent
from core.opaque import Opaque
from sim.accounting import ACTIVITY, Ledger, answered_attempts
from sim.config import SimConfig
from sim.invariants import Monitor, replay_check, results_at_most_once, service_rule
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


def test_activity_at_least_once_catches_an_unexecuted_attempt() -> None:
    """Every attempt history recorded before a worker's answer, and every answer it
    accepted, must have been executed: not just some attempt of the activity."""
    run_id, history = _run()
    recorded = answered_attempts(history)
    assert recorded and all(attempt >= 1 for _, attempt in recorded)
    seen: list[tuple[str, str, str | None]] = []
    ledger = Ledger(lambda i, m, r: seen.append((i, m, r)), lambda: 0)
    assert len(ledger.unexecuted({run_id: list(history)})) == len(recorded)
    for scheduled, attempt in recorded:
        ledger.executed_attempt(run_id, scheduled, attempt)
    assert ledger.unexecuted({run_id: list(history)}) == []
    # an answer accepted for attempt 2 that no worker ran is caught, attempt 1 ran
    scheduled, _ = recorded[0]
    ledger.served(run_id, rq.RespondActivityTaskCompleted(rq.ActivityTaskToken(scheduled, 2)))
    assert [m for _, m in ledger.unexecuted({})] == [
        f"activity {scheduled} attempt 2: RespondActivityTaskCompleted accepted, not run"
    ]


def test_no_uncaused_redelivery_needs_a_cause_between_deliveries() -> None:
    seen: list[str] = []
    disturbed = [0]
    ledger = Ledger(lambda i, m, r: seen.append(i), lambda: disturbed[0])
    ledger.delivered(ACTIVITY, "run-1", 5, 1)
    assert seen == []
    ledger.delivered(ACTIVITY, "run-1", 5, 1)
    assert seen == ["INV-NO-UNCAUSED-REDELIVERY"]
    timeout = rq.ActivityTimeoutTask(5, TimeoutType.START_TO_CLOSE, 1, 1, 0)
    ledger.served("run-1", rq.FireTimer(timeout))  # a timeout of this task: a cause
    ledger.delivered(ACTIVITY, "run-1", 5, 2)
    assert len(seen) == 1
    ledger.served("run-2", rq.FireTimer(timeout))  # another run's task: no cause here
    ledger.delivered(ACTIVITY, "run-1", 5, 2)
    assert len(seen) == 2
    disturbed[0] += 1  # a crash, a shard move, a duplicated message: a cause for all
    ledger.delivered(ACTIVITY, "run-1", 5, 2)
    assert seen == ["INV-NO-UNCAUSED-REDELIVERY"] * 2


def test_a_refused_service_transition_is_named_by_its_table_rule() -> None:
    assert service_rule("activity (service)") == "INV-RESULT-AT-MOST-ONCE"
    assert service_rule("workflow task (service)") == "H5"


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
    monitor.finish({}, ["wf-1"], [], [], 0)
    assert [v.id for v in monitor.violations] == ["INV-WORKFLOW-EXACTLY-ONCE"]
