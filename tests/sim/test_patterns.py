"""Each application pattern runs to its end through the live harness, every history is
well formed and replays, and the cold answer matches the sticky one at every task."""

from __future__ import annotations

import random

import pytest

from core import payloads
from core import requests as rq
from core.enums import EventType
from core.events import HistoryEvent
from core.opaque import JsonValue, Opaque
from core.statemachine.history.validator import validate
from core.statemachine.replay.driver import replay
from sim.patterns import DEFINITIONS, PATTERNS, Drive, mixed
from tests.core.statemachine.replay.live import LiveRun
from tests.proofs.replay_row import remove_started_after_cancel_row


def _drive(live: LiveRun, drive: Drive) -> None:
    for _, kind, n in drive.actions:
        if kind == "signal":
            live.signal("wf", drive.signal, n)
        elif kind == "cancel":
            live.client("wf", rq.RequestCancelWorkflowExecution())
        elif kind == "update":
            args = payloads.to_payloads([n])
            body: dict[str, JsonValue] = {
                "meta": {"updateId": f"u{n}"},
                "input": {"name": drive.update, "args": args.value() if args else None},
            }
            live.client("wf", rq.UpdateWorkflowExecution(f"u{n}", Opaque.of(body)))


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pattern_runs_to_a_close_and_replays(name: str) -> None:
    closes: set[str] = set()
    for seed in range(6):
        drive = PATTERNS[name](random.Random(seed))
        live = LiveRun(DEFINITIONS, seed)
        live.start(drive.workflow_type, "wf", *drive.args)
        _drive(live, drive)
        live.run()
        assert live.sticky_vs_cold == []
        for run_id, history in live.histories.items():
            assert validate(history).violations == ()
            replay(DEFINITIONS[live.types[run_id]], history, workflow_id=live.workflow_ids[run_id])
        closes.add(live.histories[live.current["wf"]][-1].event_type.name)
    assert closes <= {
        "WORKFLOW_EXECUTION_COMPLETED",
        "WORKFLOW_EXECUTION_FAILED",
        "WORKFLOW_EXECUTION_CANCELED",
    }
    assert closes  # every run closed


def test_mixed_draws_every_pattern() -> None:
    rng = random.Random(7)
    seen = {mixed(rng).workflow_type for _ in range(300)}
    assert seen == set(DEFINITIONS)


def test_the_bench_workload_has_the_real_bench_workflows_shape() -> None:
    """`tmodel bench simulate` compares the simulator with a dev server on this workload:
    22 events a workflow, as BenchWorkflow (adapters/bench_real_workflow.py) writes."""
    from sim.config import SimConfig
    from sim.run import simulate

    result = simulate(SimConfig(workload="two-activities-timer", faults=(), workflows=20))
    assert result.ok and result.workflows == 20
    assert {len(events) for events in result.histories.values()} == {22}
    kinds = [e.event_type.name for e in next(iter(result.histories.values()))]
    assert kinds.count("ACTIVITY_TASK_COMPLETED") == 2 and kinds.count("TIMER_FIRED") == 1
    assert kinds[-1] == "WORKFLOW_EXECUTION_COMPLETED"
    swarm = simulate(SimConfig(seed=3, workload="two-activities-timer", workflows=20))
    assert swarm.ok


def _started_after_cancel_request(history: tuple[HistoryEvent, ...]) -> bool:
    kinds = [e.event_type for e in history]
    if EventType.ACTIVITY_TASK_CANCEL_REQUESTED not in kinds:
        return False
    after = kinds[kinds.index(EventType.ACTIVITY_TASK_CANCEL_REQUESTED) + 1 :]
    return EventType.ACTIVITY_TASK_STARTED in after


def test_the_default_workload_starts_activities_after_their_cancel_request() -> None:
    """The mixed workload's CancelAtDeadline runs give histories where replay takes
    ActivityTaskStarted after ActivityTaskCancelRequested (the started event of an
    activity with a retry policy is written when the attempt closes)."""
    from sim.config import SimConfig
    from sim.run import simulate

    result = simulate(SimConfig(seed=0, workflows=40))
    assert result.ok, result.violations
    assert any(_started_after_cancel_request(h) for h in result.histories.values())


def test_the_simulator_catches_the_replay_row_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The replay-row mutation (tests/mutation) in-process: the workers' replay fails on
    the started event and the simulator reports THM-3.1. The failing tasks are retried
    until the run stops, so the run is cut at 5 virtual seconds (the clean one closes
    every workflow in about 1)."""
    from sim.config import SimConfig
    from sim.kernel import SECOND
    from sim.run import simulate

    config = SimConfig(
        seed=0,
        workflows=6,
        workload="activity-cancellation",
        faults=(),
        max_virtual_time=5 * SECOND,
    )
    assert simulate(config).ok
    remove_started_after_cancel_row(monkeypatch)
    violations = simulate(config).violations
    assert "THM-3.1" in {v.id for v in violations}
    thm = next(v for v in violations if v.id == "THM-3.1")
    assert "no transition from CANCEL_REQUESTED on STARTED" in thm.message
