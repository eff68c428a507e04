"""The `schedules` workload: schedules over a virtual month, run by the internal worker.

Each workflow index of the run is one schedule, created as Temporal's CreateSchedule
does: the client starts the scheduler workflow (core/schedule/workflow.py) with id
``temporal-sys-scheduler:sched-<i>`` on ``temporal-sys-per-ns-tq``, and the simulator's
internal worker (sim/nodes/internal_worker.py) runs it. A schedule is one of

- *monthly*: a cron-like spec (daily, every six hours, weekdays at 09:30, every other
  day, every eight hours with a phase), optionally jittered up to 30 minutes, deleted
  (its workflow terminated, as DeleteSchedule does) after 30 virtual days;
- *dense*: an interval of 2-10 s with a phase, ending 60 s after the start, so its
  starts fall inside the fault window; it ends itself after the 7-day retention.

Each has a random overlap policy and catch-up window, and some pause on failure; its
action starts `ScheduledJob`, which sleeps for a duration drawn so that runs often
overlap, and sometimes fails. A simulated client sends some schedules, at seeded
times, a trigger-immediately, a backfill, an unpause, (monthly ones) an update to
another spec, and a pause, most often lifted by an unpause later (`client_signals`), as
the "patch" and "update" signals PatchSchedule and UpdateSchedule send.
"""

from __future__ import annotations

import random
from dataclasses import replace

from core import workflow
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
from core.schedule.workflow import SchedulerWorkflow
from core.workflow import ApplicationError, Context
from sim.kernel import SECOND, T0

DAY = 86_400 * SECOND
MONTH = 30 * DAY
JOB_TYPE = "ScheduledJob"
JOB_QUEUE = "queue"
NAMESPACE_ID = "ns-default"
CRONS = ("@daily", "0 */6 * * *", "30 9 * * mon-fri", "0 0 */2 * *")


@workflow.defn(name=JOB_TYPE)
class ScheduledJob:
    """What a schedule starts: sleeps `seconds`, then completes or fails."""

    @workflow.run
    async def run(self, wf: Context, seconds: float, fail: bool) -> str:
        await wf.sleep(seconds)
        if fail:
            raise ApplicationError("the job failed", type="JobFailed", non_retryable=True)
        return "done"


DEFINITIONS: dict[str, workflow.Definition] = {
    api.WORKFLOW_TYPE: workflow.definition(SchedulerWorkflow),
    JOB_TYPE: workflow.definition(ScheduledJob),
}


def schedule_id(index: int) -> str:
    return f"sched-{index}"


def draw_schedule(rng: random.Random, index: int) -> tuple[Schedule, bool]:
    """Schedule `index` and whether it is a monthly one (deleted after 30 days)."""
    monthly = rng.random() < 0.5
    if monthly:
        if rng.random() < 0.8:
            spec = ScheduleSpec(cron_string=(rng.choice(CRONS),))
        else:
            spec = ScheduleSpec(interval=(IntervalSpec(8 * 3600 * SECOND, 3600 * SECOND),))
        if rng.random() < 0.3:
            spec = ScheduleSpec(
                spec.structured_calendar, spec.cron_string, (), spec.interval, jitter=1800 * SECOND
            )
        job = rng.choice([60.0, 3600.0, 30_000.0, 200_000.0])
    else:
        every = rng.randint(2, 10)
        phase = rng.randint(0, every - 1)
        spec = ScheduleSpec(
            interval=(IntervalSpec(every * SECOND, phase * SECOND),), end_time=T0 + 60 * SECOND
        )
        job = float(rng.randint(1, 3 * every))
    policy = rng.choice([p for p in OverlapPolicy if p != OverlapPolicy.UNSPECIFIED])
    window = rng.choice([None, 10 * SECOND, 60 * SECOND])
    pause_on_failure = rng.random() < 0.3
    fail = rng.random() < (0.5 if pause_on_failure else 0.2)
    args: tuple[JsonValue, ...] = (job, fail)
    action = StartWorkflowAction(f"job-{index}", JOB_TYPE, JOB_QUEUE, args)
    policies = SchedulePolicies(policy, window, pause_on_failure)
    return Schedule(spec, action, policies), monthly


# When the client acts, as (day, time of day) offsets from the creation: off the hour
# and half hour, so that a trigger's nominal time (when the scheduler takes it, whole
# seconds) never names a time the specs give (SCHED-WORKFLOW-ID would then collide).
TRIGGER_AT = (12 * 3600 + 47 * 60 + 13) * SECOND
UNPAUSE_AT = (15 * 3600 + 41 * 60 + 7) * SECOND
UPDATE_AT = (10 * 3600 + 23 * 60 + 31) * SECOND
BACKFILL_AT = (2 * 3600 + 13 * 60 + 11) * SECOND
PAUSE_AT = (7 * 3600 + 17 * 60 + 29) * SECOND


def client_signals(
    rng: random.Random, schedule: Schedule, monthly: bool
) -> list[tuple[int, str, JsonValue]]:
    """What a client sends the schedule, as (delay after creation, signal, value): a
    trigger-immediately, a backfill of times before the creation (never scheduled, so
    their ids are free), an unpause (after a pause on failure) and, for a monthly
    schedule, an update to another spec, and a pause followed, two times in three, by an
    unpause - each with some probability."""
    out: list[tuple[int, str, JsonValue]] = []
    allow_all = OverlapPolicy.ALLOW_ALL
    if rng.random() < 0.3:
        at = rng.randint(1, 27) * DAY + TRIGGER_AT if monthly else rng.randint(70, 90) * SECOND
        patch = SchedulePatch(TriggerImmediatelyRequest(allow_all))
        out.append((at, api.SIGNAL_PATCH, patch.to_json()))
    if rng.random() < 0.3:
        span = 3 * DAY if monthly else 30 * SECOND
        backfill = BackfillRequest(T0 - span, T0 - SECOND, allow_all)
        at = BACKFILL_AT if monthly else rng.randint(5, 50) * SECOND
        out.append((at, api.SIGNAL_PATCH, SchedulePatch(backfill_request=(backfill,)).to_json()))
    if schedule.policies.pause_on_failure and rng.random() < 0.7:
        at = rng.randint(2, 25) * DAY + UNPAUSE_AT if monthly else rng.randint(20, 55) * SECOND
        out.append((at, api.SIGNAL_PATCH, SchedulePatch(unpause="back on").to_json()))
    if monthly and rng.random() < 0.25:
        spec = replace(schedule.spec, cron_string=(rng.choice(CRONS),), interval=())
        update = FullUpdateRequest(replace(schedule, spec=spec))
        out.append((rng.randint(8, 22) * DAY + UPDATE_AT, api.SIGNAL_UPDATE, update.to_json()))
    if rng.random() < 0.3:
        at = rng.randint(3, 20) * DAY + PAUSE_AT if monthly else rng.randint(10, 40) * SECOND
        out.append((at, api.SIGNAL_PATCH, SchedulePatch(pause="client pause").to_json()))
        if rng.random() < 2 / 3:
            after = (
                rng.randint(1, 4) * DAY + 3600 * SECOND if monthly else rng.randint(5, 15) * SECOND
            )
            unpause = SchedulePatch(unpause="client unpause").to_json()
            out.append((at + after, api.SIGNAL_PATCH, unpause))
    return out


def create_args(schedule: Schedule, index: int) -> JsonValue:
    """The scheduler workflow's input, as CreateSchedule builds it."""
    args = api.StartScheduleArgs(schedule, "default", NAMESPACE_ID, schedule_id(index))
    return args.to_json()
