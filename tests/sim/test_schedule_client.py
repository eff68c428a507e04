"""The `schedules` workload's client: trigger, backfill, update and pause on failure as
the simulator drives them, and mutants of the scheduler mishandling each, caught by
INV-SCHEDULE-MANUAL, INV-SCHEDULE-ACTIONS and INV-SCHEDULE-PAUSE."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from core import payloads
from core.opaque import JsonValue
from core.schedule import api
from core.schedule.api import FullUpdateRequest
from core.schedule.messages import (
    BackfillRequest,
    IntervalSpec,
    OverlapPolicy,
    Schedule,
    SchedulePatch,
    SchedulePolicies,
    ScheduleSpec,
    StartWorkflowAction,
    TriggerImmediatelyRequest,
)
from core.schedule.scheduler import Scheduler
from core.timefmt import rfc3339
from sim import workloads
from sim.config import SimConfig
from sim.kernel import SECOND, T0
from sim.run import RunResult
from sim.schedule_workload import (
    BACKFILL_AT,
    DAY,
    PAUSE_AT,
    TRIGGER_AT,
    UNPAUSE_AT,
    UPDATE_AT,
)
from tests.sim.test_schedules import _jobs, _one_schedule, _run

HOUR = 3600 * SECOND
ALL = OverlapPolicy.ALLOW_ALL
DAILY = Schedule(
    ScheduleSpec(cron_string=("@daily",)),
    StartWorkflowAction("c", "ScheduledJob", "queue", (60.0, False)),
    SchedulePolicies(OverlapPolicy.SKIP),
)
SIX_HOURLY = replace(DAILY, spec=ScheduleSpec(cron_string=("0 */6 * * *",)))


def _signal(n: int, at: int, name: str, value: JsonValue) -> workloads.Action:
    return workloads.Action(at, "signal", n, name, payloads.to_payloads([value]))


CLIENT = (
    _signal(
        0,
        BACKFILL_AT,
        api.SIGNAL_PATCH,
        SchedulePatch(
            backfill_request=(BackfillRequest(T0 - 3 * DAY, T0 - SECOND, ALL),)
        ).to_json(),
    ),
    _signal(
        1,
        DAY + TRIGGER_AT,
        api.SIGNAL_PATCH,
        SchedulePatch(TriggerImmediatelyRequest(ALL)).to_json(),
    ),
    _signal(2, 2 * DAY + UPDATE_AT, api.SIGNAL_UPDATE, FullUpdateRequest(SIX_HOURLY).to_json()),
    workloads.Action(6 * DAY + SECOND, "terminate"),
)


def _client(monkeypatch: pytest.MonkeyPatch) -> tuple[RunResult, Counter[str]]:
    monkeypatch.setitem(workloads.WORKLOADS, "schedules", _one_schedule(DAILY, CLIENT))
    result, cluster = _run(SimConfig(seed=4, workflows=1, workload="schedules", faults=()))
    return result, _jobs(cluster, "c-")


def _ids(result: RunResult) -> set[str]:
    return {v.id for v in result.violations}


def test_trigger_backfill_and_update_as_the_client_sends_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result, started = _client(monkeypatch)
    assert result.violations == ()
    assert set(started.values()) == {1}
    backfilled = {rfc3339(T0 - d * DAY) for d in (1, 2, 3)}
    daily = {rfc3339(T0 + d * DAY) for d in (1, 2)}  # before the update (day 2, 10:23)
    six_hourly = {rfc3339(T0 + 2 * DAY + h * HOUR) for h in range(12, 4 * 24 + 1, 6)}
    triggered = {n for n in (k.removeprefix("c-") for k in started) if n[11:16] == "12:47"}
    assert len(triggered) == 1 and next(iter(triggered)).startswith("2026-01-02T12:47:13")
    want = backfilled | daily | six_hourly | triggered
    assert {k.removeprefix("c-") for k in started} == want


def test_a_lost_trigger_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Scheduler.process_patch

    def no_trigger(self: Scheduler, patch: SchedulePatch, now: int) -> None:
        original(self, replace(patch, trigger_immediately=None), now)

    monkeypatch.setattr(Scheduler, "process_patch", no_trigger)
    assert "INV-SCHEDULE-MANUAL" in _ids(_client(monkeypatch)[0])


def test_a_backfill_missing_its_first_time_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Scheduler.process_patch

    def exclusive(self: Scheduler, patch: SchedulePatch, now: int) -> None:
        later = tuple(
            replace(b, start_time=b.start_time + 2_000_000) for b in patch.backfill_request
        )
        original(self, replace(patch, backfill_request=later), now)

    monkeypatch.setattr(Scheduler, "process_patch", exclusive)
    assert "INV-SCHEDULE-MANUAL" in _ids(_client(monkeypatch)[0])


def test_an_ignored_update_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Scheduler, "process_update", lambda self, schedule, token, now: False)
    assert "INV-SCHEDULE-ACTIONS" in _ids(_client(monkeypatch)[0])


def test_an_update_reprocessing_its_past_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Scheduler.process_update

    def no_update_time(self: Scheduler, schedule: Schedule, token: int, now: int) -> bool:
        applied = original(self, schedule, token, now)
        self.update_time = 0
        return applied

    monkeypatch.setattr(Scheduler, "process_update", no_update_time)
    assert "INV-SCHEDULE-ACTIONS" in _ids(_client(monkeypatch)[0])


# Hourly; every run fails after a minute; pause on failure; an unpause on day 1.
FAILING = Schedule(
    ScheduleSpec(interval=(IntervalSpec(HOUR),)),
    StartWorkflowAction("f", "ScheduledJob", "queue", (60.0, True)),
    SchedulePolicies(OverlapPolicy.SKIP, pause_on_failure=True),
)
UNPAUSE = (
    _signal(0, DAY + UNPAUSE_AT, api.SIGNAL_PATCH, SchedulePatch(unpause="again").to_json()),
    workloads.Action(2 * DAY, "terminate"),
)


def _failing(monkeypatch: pytest.MonkeyPatch) -> tuple[RunResult, Counter[str]]:
    monkeypatch.setitem(workloads.WORKLOADS, "schedules", _one_schedule(FAILING, UNPAUSE))
    result, cluster = _run(SimConfig(seed=5, workflows=1, workload="schedules", faults=()))
    return result, _jobs(cluster, "f-")


def test_pause_on_failure_and_unpause(monkeypatch: pytest.MonkeyPatch) -> None:
    result, started = _failing(monkeypatch)
    assert result.violations == ()
    # 01:00 fails; 02:00 finds it failed and pauses; the unpause at 15:41 on day 1
    # lets 16:00 start, which fails: paused again for good.
    assert set(started) == {f"f-{rfc3339(T0 + HOUR)}", f"f-{rfc3339(T0 + DAY + 16 * HOUR)}"}


def test_not_pausing_on_failure_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        Scheduler, "workflow_closed", lambda self, wid, status, failure="": self.running.clear()
    )
    assert "INV-SCHEDULE-PAUSE" in _ids(_failing(monkeypatch)[0])


def test_an_ignored_unpause_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Scheduler.process_patch

    def no_unpause(self: Scheduler, patch: SchedulePatch, now: int) -> None:
        original(self, replace(patch, unpause=""), now)

    monkeypatch.setattr(Scheduler, "process_patch", no_unpause)
    assert "INV-SCHEDULE-ACTIONS" in _ids(_failing(monkeypatch)[0])


def test_an_update_ends_a_pause_on_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """An update replaces the whole schedule, its state too: unpaused (workflow.go
    processUpdate); the checks follow it."""
    update = FullUpdateRequest(FAILING).to_json()
    actions = (_signal(0, DAY + UPDATE_AT, api.SIGNAL_UPDATE, update), UNPAUSE[1])
    monkeypatch.setitem(workloads.WORKLOADS, "schedules", _one_schedule(FAILING, actions))
    result, cluster = _run(SimConfig(seed=5, workflows=1, workload="schedules", faults=()))
    assert result.violations == ()
    # 10:23 on day 1: unpaused; 11:00 starts and fails, pausing it again.
    want = {f"f-{rfc3339(T0 + HOUR)}", f"f-{rfc3339(T0 + DAY + 11 * HOUR)}"}
    assert set(_jobs(cluster, "f-")) == want


def test_two_patches_before_a_wake_up_are_both_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backfill and a trigger sent together: the second waits in the signal channel
    instead of overwriting the first (found by the 200-seed sweep: a backfill then an
    unpause lost the backfill)."""
    backfill = SchedulePatch(backfill_request=(BackfillRequest(T0 - 3 * DAY, T0 - SECOND, ALL),))
    actions = (
        _signal(0, BACKFILL_AT, api.SIGNAL_PATCH, backfill.to_json()),
        _signal(1, BACKFILL_AT, api.SIGNAL_PATCH, SchedulePatch(unpause="go").to_json()),
        workloads.Action(DAY + SECOND, "terminate"),
    )
    monkeypatch.setitem(workloads.WORKLOADS, "schedules", _one_schedule(DAILY, actions))
    result, cluster = _run(SimConfig(seed=4, workflows=1, workload="schedules", faults=()))
    assert result.violations == ()
    backfilled = {f"c-{rfc3339(T0 - d * DAY)}" for d in (1, 2, 3)}
    assert backfilled <= set(_jobs(cluster, "c-"))


# Every six hours; the client pauses it on day 1 at 07:17 and unpauses it on day 2 at
# 15:41 (or never): 12:00 and 18:00 of day 1 and 00:00 to 12:00 of day 2 are not taken.
PAUSE = _signal(0, DAY + PAUSE_AT, api.SIGNAL_PATCH, SchedulePatch(pause="hold").to_json())
RESUME = _signal(1, 2 * DAY + UNPAUSE_AT, api.SIGNAL_PATCH, SchedulePatch(unpause="go").to_json())
END = workloads.Action(3 * DAY + SECOND, "terminate")


def _paused(
    monkeypatch: pytest.MonkeyPatch, *actions: workloads.Action
) -> tuple[RunResult, set[str]]:
    monkeypatch.setitem(workloads.WORKLOADS, "schedules", _one_schedule(SIX_HOURLY, actions))
    result, cluster = _run(SimConfig(seed=4, workflows=1, workload="schedules", faults=()))
    return result, {k.removeprefix("c-") for k in _jobs(cluster, "c-")}


def test_a_client_pause_and_unpause(monkeypatch: pytest.MonkeyPatch) -> None:
    result, started = _paused(monkeypatch, PAUSE, RESUME, END)
    assert result.violations == ()
    taken = [
        h for h in range(6, 3 * 24 + 1, 6) if not DAY + PAUSE_AT < h * HOUR <= 2 * DAY + UNPAUSE_AT
    ]
    assert started == {rfc3339(T0 + h * HOUR) for h in taken}
    assert len(taken) == 12 - 5  # 12:00, 18:00 of day 1; 00:00, 06:00, 12:00 of day 2


def test_a_scheduler_ignoring_a_pause_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Scheduler.process_patch

    def no_pause(self: Scheduler, patch: SchedulePatch, now: int) -> None:
        original(self, replace(patch, pause=""), now)

    monkeypatch.setattr(Scheduler, "process_patch", no_pause)
    result, started = _paused(monkeypatch, PAUSE, END)
    assert rfc3339(T0 + 2 * DAY) in started  # it went on starting
    problems = [v for v in result.violations if v.id == "INV-SCHEDULE-PAUSE"]
    assert problems and "never paused" in problems[0].message


def test_starting_while_paused_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheduler that records the pause but takes its times all the same."""
    original = Scheduler.can_take_scheduled_action

    def ignore_paused(self: Scheduler, manual: bool, decrement: bool) -> bool:
        return original(self, True, decrement)

    monkeypatch.setattr(Scheduler, "can_take_scheduled_action", ignore_paused)
    result, started = _paused(monkeypatch, PAUSE, RESUME, END)
    assert rfc3339(T0 + 2 * DAY) in started
    problems = [v for v in result.violations if v.id == "INV-SCHEDULE-PAUSE"]
    assert problems and "while paused" in problems[0].message
