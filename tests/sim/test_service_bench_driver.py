"""The mixed-workload driver: deterministic, every history valid, every behaviour played;
and the `service` benchmark built on it."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from adapters.bench_service import bench_service
from core.enums import EventType
from core.events import ActivityTaskScheduledEventAttributes
from core.requests import Request, StartWorkflowExecution
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.txn import Outcome
from core.statemachine.history.validator import validate
from sim.scripted_workflow import Spec, decide
from sim.service_bench_driver import Workload, WorkloadResult, run_workload

SEEDS = range(6)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def results() -> dict[int, WorkloadResult]:
    return {seed: run_workload(Workload(workflows=80, seed=seed)) for seed in SEEDS}


def test_same_seed_same_requests_and_events(results: dict[int, WorkloadResult]) -> None:
    again = run_workload(Workload(workflows=80, seed=3))
    assert again.requests == results[3].requests
    assert again.histories == results[3].histories
    assert again.counts == results[3].counts


def test_another_seed_another_run(results: dict[int, WorkloadResult]) -> None:
    assert results[0].requests != results[1].requests


def test_wrapping_the_service_changes_nothing(results: dict[int, WorkloadResult]) -> None:
    """The benchmark times the service through wrappers: they must not change the run."""
    calls = Counter[str]()

    def start(request: StartWorkflowExecution, now: int) -> Outcome:
        calls["start"] += 1
        return service.start(request, now)

    def handle(state: MutableState, request: Request, now: int) -> Outcome:
        calls["handle"] += 1
        return service.handle(state, request, now)

    wrapped = run_workload(Workload(workflows=80, seed=2), start=start, handle=handle)
    assert wrapped.requests == results[2].requests
    assert calls["start"] + calls["handle"] == len(wrapped.requests)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_history_is_valid_and_closed(results: dict[int, WorkloadResult], seed: int) -> None:
    result = results[seed]
    assert result.open_runs == ()
    invalid = {
        run: verdict.violations[:3]
        for run, history in result.histories.items()
        if not (verdict := validate(history)).valid
    }
    assert invalid == {}
    assert sum(len(h) for h in result.histories.values()) == result.counts["events"]


def test_the_validator_would_notice_a_broken_history(results: dict[int, WorkloadResult]) -> None:
    """The validity test can fail: drop one event from a produced history."""
    history = max(results[0].histories.values(), key=len)
    assert not validate(history[:3] + history[4:]).valid


def test_the_mix_plays_every_behaviour(results: dict[int, WorkloadResult]) -> None:
    counts: Counter[str] = Counter()
    for result in results.values():
        counts.update(result.counts)
    E = EventType
    for key in (
        "buffered",  # a signal or an activity result arrived while a task was in flight
        "sticky_lost",
        "request.RecordActivityTaskHeartbeat",
        "request.RespondActivityTaskFailed",
        "reply.NotFound",  # stale timer tasks and tokens
        "reply.TaskAlreadyStarted",  # duplicate dispatches
        "closed.Completed",
        "closed.Failed",
        "closed.Canceled",
        "closed.ContinuedAsNew",
        f"event.{E.ACTIVITY_TASK_FAILED.name}",
        f"event.{E.ACTIVITY_TASK_CANCEL_REQUESTED.name}",
        f"event.{E.TIMER_FIRED.name}",
        f"event.{E.TIMER_CANCELED.name}",
        f"event.{E.WORKFLOW_EXECUTION_SIGNALED.name}",
        f"event.{E.WORKFLOW_TASK_FAILED.name}",
        f"event.{E.WORKFLOW_TASK_TIMED_OUT.name}",
    ):
        assert counts[key] > 0, key
    retried = counts["request.RespondActivityTaskFailed"] - counts["event.ACTIVITY_TASK_FAILED"]
    assert retried > 0, "some failures were retried without an event"
    assert counts["runs"] == 6 * 80 + counts["closed.ContinuedAsNew"]


def test_decide_first_task_schedules_activities_and_a_timer() -> None:
    result = run_workload(Workload(workflows=1, seed=0, cancel=0.0))
    (history,) = result.histories.values()
    spec = Spec.from_history(history)
    assert len(decide(spec, history[:1])) == spec.activities + 1
    scheduled = [
        e for e in history if isinstance(e.attributes, ActivityTaskScheduledEventAttributes)
    ]
    assert len(scheduled) == spec.activities


def test_bench_service_runs_a_tiny_workload() -> None:
    figures = bench_service(argparse.Namespace(workflows=5, repeat=1, seed=0))
    units = {f.metric: f.unit for f in figures}
    assert units == {
        "workflows": "workflows",
        "requests": "requests",
        "events_written": "events",
        "not_found_replies": "requests",
        "handle": "requests/s",
        "service_state_changing": "requests/s",
        "state_changing_requests": "requests",
        "unchanged_share": "%",
        "stale_not_found_share": "%",
        "handle_without_cyclic_gc": "requests/s",
        "service_start_and_handle": "requests/s",
        "end_to_end_loop": "requests/s",
        "handle_share_of_loop": "%",
    }
    shares = {"unchanged_share", "stale_not_found_share", "not_found_replies"}
    assert all(f.bench == "service" for f in figures)
    assert all(f.value > 0 for f in figures if f.metric not in shares)
    assert all(f.value >= 0 for f in figures)
    by_metric = {f.metric: f.value for f in figures}
    assert by_metric["stale_not_found_share"] <= by_metric["unchanged_share"] < 100
    assert by_metric["end_to_end_loop"] < by_metric["service_start_and_handle"]


def test_same_seed_same_run_under_another_hash_seed() -> None:
    """No set or hash order leaks into the run (docs/style.md#determinism): another
    process, another PYTHONHASHSEED, the same requests and events."""
    code = (
        "import hashlib\n"
        "from sim.service_bench_driver import Workload, run_workload\n"
        "r = run_workload(Workload(workflows=40, seed=5))\n"
        "print(hashlib.sha256(repr((r.requests, r.histories)).encode()).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": str(hash_seed)},
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        ).stdout
        for hash_seed in (1, 2)
    }
    assert len(digests) == 1


def test_letting_closed_runs_go_changes_no_count() -> None:
    """keep=False validates each closed run and drops it; the run itself is the same."""
    kept = run_workload(Workload(workflows=30, seed=3))
    dropped = run_workload(Workload(workflows=30, seed=3, keep=False))
    assert dropped.counts == kept.counts
    assert dropped.requests == () and len(kept.requests) == kept.counts["requests"]
    assert all(not events for events in dropped.histories.values())
