"""The `schedules` workload: the scheduler workflow on the internal worker over a
virtual month, its invariants, and mutations of the scheduler those invariants catch."""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from core import payloads
from core.events import HistoryEvent, WorkflowExecutionStartedEventAttributes
from core.opaque import JsonValue, Opaque
from core.schedule import api
from core.schedule.messages import (
    IntervalSpec,
    OverlapPolicy,
    Schedule,
    SchedulePolicies,
    ScheduleSpec,
    StartWorkflowAction,
)
from core.schedule.scheduler import Scheduler
from core.timefmt import rfc3339
from sim import workloads
from sim.cluster import Cluster
from sim.config import FaultItem, FaultPlan, SimConfig
from sim.kernel import SECOND, T0
from sim.run import RunResult
from sim.schedule_invariants import check_schedules
from sim.schedule_workload import MONTH, create_args, schedule_id

DAY = 86_400 * SECOND


def _run(config: SimConfig) -> tuple[RunResult, Cluster]:
    cluster = Cluster(config)
    return cluster.run(None), cluster


def _jobs(cluster: Cluster, prefix: str) -> Counter[str]:
    """Runs per started job workflow id."""
    return Counter(w for w in cluster.monitor.workflow_of.values() if w.startswith(prefix))


@pytest.mark.parametrize("seed", [1, 3])
def test_swarm_seeds_run_clean(seed: int) -> None:
    result, cluster = _run(SimConfig(seed=seed, workflows=6, workload="schedules"))
    assert result.violations == ()
    assert result.virtual_ns >= MONTH  # the monthly schedules ran their month
    assert sum(_jobs(cluster, "job-").values()) > 30
    schedulers = [w for w in cluster.monitor.workflow_of.values() if w.startswith("temporal-sys-")]
    assert len(schedulers) > 6  # continue-as-new chains


def _one_schedule(schedule: Schedule, actions: tuple[workloads.Action, ...]) -> workloads.Workload:
    def script(rng: random.Random, index: int) -> workloads.Script:
        return workloads.Script(
            api.WORKFLOW_TYPE,
            payloads.to_payloads([create_args(schedule, index)]) or Opaque.of(None),
            actions,
            api.workflow_id(schedule_id(index)),
            api.TASK_QUEUE,
        )

    return replace(workloads.WORKLOADS["schedules"], script=script)


DAILY = Schedule(
    ScheduleSpec(cron_string=("@daily",)),
    StartWorkflowAction("daily", "ScheduledJob", "queue", (60.0, False)),
    SchedulePolicies(OverlapPolicy.ALLOW_ALL),
)
DELETE = (workloads.Action(MONTH + SECOND, "terminate"),)


def test_a_daily_schedule_runs_30_times_in_a_virtual_month(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(workloads.WORKLOADS, "schedules", _one_schedule(DAILY, DELETE))
    result, cluster = _run(SimConfig(seed=1, workflows=1, workload="schedules", faults=()))
    assert result.violations == ()
    # Created at 00:00:00.05 on January 1st, deleted 30 days and a second later: every
    # midnight from January 2nd to January 31st.
    want = {f"daily-{rfc3339(T0 + d * DAY)}" for d in range(1, 31)}
    assert _jobs(cluster, "daily-") == Counter(dict.fromkeys(want, 1))


def test_a_scheduled_start_carries_the_actions_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """SCHED-START-OPTIONS in the simulator: timeouts, retry policy, memo, header and
    search attributes reach the started run, with the scheduler's two attributes."""
    given: JsonValue = {"indexedFields": {"Team": payloads.payload("blue")}}
    options = StartWorkflowAction(
        "opts",
        "ScheduledJob",
        "queue",
        (60.0, False),
        execution_timeout=5 * DAY,
        run_timeout=2 * DAY,
        task_timeout=7 * SECOND,
        retry_policy=Opaque.of({"maximumAttempts": 3}),
        memo=Opaque.of({"fields": {"owner": payloads.payload("ops")}}),
        search_attributes=Opaque.of(given),
        header=Opaque.of({"fields": {"h": payloads.payload(1)}}),
    )
    schedule = replace(DAILY, action=options)
    stop = (workloads.Action(2 * DAY + SECOND, "terminate"),)
    monkeypatch.setitem(workloads.WORKLOADS, "schedules", _one_schedule(schedule, stop))
    result, cluster = _run(SimConfig(seed=1, workflows=1, workload="schedules", faults=()))
    assert result.violations == ()
    firsts = {
        cluster.monitor.workflow_of[run]: events[0].attributes
        for run, events in cluster.monitor.ghost.items()
        if cluster.monitor.workflow_of[run].startswith("opts-")
    }
    assert len(firsts) == 2  # the two midnights
    for wid, a in firsts.items():
        assert isinstance(a, WorkflowExecutionStartedEventAttributes)
        assert a.workflow_execution_timeout == 5 * DAY and a.workflow_run_timeout == 2 * DAY
        assert a.workflow_task_timeout == 7 * SECOND
        for name in ("retry_policy", "memo", "header"):
            got, want = getattr(a, name), getattr(options, name)
            assert got is not None and want is not None and got.value() == want.value()
        attrs: Any = a.search_attributes.value() if a.search_attributes else {}
        fields = attrs["indexedFields"]
        assert payloads.from_payload(fields["Team"]) == "blue"
        assert payloads.from_payload(fields[api.SCHEDULED_BY_ID]) == schedule_id(0)
        nominal = payloads.from_payload(fields[api.SCHEDULED_START_TIME])
        assert wid == f"opts-{nominal}"


DENSE = Schedule(
    ScheduleSpec(interval=(IntervalSpec(2 * SECOND),), end_time=T0 + 120 * SECOND),
    StartWorkflowAction("dense", "ScheduledJob", "queue", (1.0, False)),
    SchedulePolicies(OverlapPolicy.ALLOW_ALL, catchup_window=10 * SECOND),
)
# The internal worker is down from 20 s to 80 s: the times it could not see in time
# fall out of the 10 s catch-up window.
DOWN = FaultPlan((FaultItem("worker-crash", 20 * SECOND, 60 * SECOND, "iworker-0"),))


def _dense(monkeypatch: pytest.MonkeyPatch) -> tuple[RunResult, Cluster]:
    delete = (workloads.Action(150 * SECOND, "terminate"),)  # rather than 7 days' retention
    monkeypatch.setitem(workloads.WORKLOADS, "schedules", _one_schedule(DENSE, delete))
    return _run(SimConfig(seed=2, workflows=1, workload="schedules", faults=(), plan=DOWN))


def _ids(result: RunResult) -> set[str]:
    return {v.id for v in result.violations}


def test_catch_up_after_the_internal_worker_was_down(monkeypatch: pytest.MonkeyPatch) -> None:
    result, cluster = _dense(monkeypatch)
    assert result.violations == ()
    assert result.faults == {"worker-crash": 1}
    started = _jobs(cluster, "dense-")
    assert 20 < len(started) < 55  # of 60 times, those of the outage were missed


def test_ignoring_the_catch_up_window_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Scheduler, "catchup_window", lambda self: 10**18)
    assert "INV-SCHEDULE-CATCHUP" in _ids(_dense(monkeypatch)[0])


def test_a_dropped_start_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Scheduler.add_start

    def drop_some(self: Scheduler, nominal: int, actual: int, p: OverlapPolicy, m: bool) -> None:
        if nominal // SECOND % 7:  # every time not a multiple of 7 s is buffered
            original(self, nominal, actual, p, m)

    monkeypatch.setattr(Scheduler, "add_start", drop_some)
    assert "INV-SCHEDULE-ACTIONS" in _ids(_dense(monkeypatch)[0])


def test_a_start_taken_twice_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Scheduler.add_start

    def twice(self: Scheduler, nominal: int, actual: int, p: OverlapPolicy, m: bool) -> None:
        original(self, nominal, actual, p, m)
        original(self, nominal, actual, p, m)

    monkeypatch.setattr(Scheduler, "add_start", twice)
    assert "INV-SCHEDULE-NO-DUPLICATE" in _ids(_dense(monkeypatch)[0])


def test_a_time_the_spec_does_not_give_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        Scheduler, "workflow_id_for", lambda self, start: "dense-2026-01-01T00:00:01Z"
    )
    _, cluster = _dense(monkeypatch)
    problems = check_schedules(cluster.monitor.ghost, cluster.monitor.workflow_of)
    assert any(p[0] == "INV-SCHEDULE-ACTIONS" and "not a processed time" in p[1] for p in problems)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(200))
def test_swarm_seeds_200(seed: int) -> None:
    result, _ = _run(SimConfig(seed=seed, workflows=8, workload="schedules"))
    assert result.violations == (), result.violations


def test_the_invariants_listed_are_those_checked() -> None:
    import sim.schedule_invariants as inv

    source = Path(inv.__file__).read_text(encoding="utf-8")
    checked = set(re.findall(r'\("(INV-[A-Z-]+)",', source))
    assert checked == {name for name, _ in inv.INVARIANTS}
    assert workloads.WORKLOADS["schedules"].invariants == inv.INVARIANTS


def _started_jobs(cluster: Cluster, prefix: str) -> list[HistoryEvent]:
    """The Started events of the runs whose workflow id begins with `prefix`, in id
    (nominal time) order."""
    firsts = {
        cluster.monitor.workflow_of[run]: events[0]
        for run, events in cluster.monitor.ghost.items()
        if cluster.monitor.workflow_of[run].startswith(prefix)
    }
    return [firsts[wid] for wid in sorted(firsts)]


@pytest.mark.parametrize("fail", [False, True])
def test_a_scheduled_start_gets_the_last_result_or_failure(
    monkeypatch: pytest.MonkeyPatch, fail: bool
) -> None:
    """workflow.go processWatcherResult and startWorkflow in the simulator: a SKIP
    schedule's next run starts with the closed run's result as its last completion
    result, or with its failure as the continued failure (no result before it)."""
    metadata = Opaque.of({"summary": payloads.payload("nightly")})
    action = StartWorkflowAction(
        "carry", "ScheduledJob", "queue", (60.0, fail), user_metadata=metadata
    )
    schedule = Schedule(DAILY.spec, action, SchedulePolicies(OverlapPolicy.SKIP))
    stop = (workloads.Action(3 * DAY + SECOND, "terminate"),)
    monkeypatch.setitem(workloads.WORKLOADS, "schedules", _one_schedule(schedule, stop))
    result, cluster = _run(SimConfig(seed=1, workflows=1, workload="schedules", faults=()))
    assert result.violations == ()
    events = _started_jobs(cluster, "carry-")
    assert len(events) == 3  # the three midnights
    # the action's user metadata reaches every run (workflow.go startWorkflow)
    for e in events:
        assert e.user_metadata is not None and e.user_metadata.value() == metadata.value()
    first, *later = [e.attributes for e in events]
    assert isinstance(first, WorkflowExecutionStartedEventAttributes)
    assert first.last_completion_result is None and first.continued_failure is None
    for a in later:
        assert isinstance(a, WorkflowExecutionStartedEventAttributes)
        if fail:
            assert a.last_completion_result is None and a.continued_failure is not None
            assert payloads.failure_message(a.continued_failure) == "the job failed"
        else:
            assert a.continued_failure is None and a.last_completion_result is not None
            assert payloads.first(a.last_completion_result) == "done"
