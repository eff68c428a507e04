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

Each has a random overlap policy and catch-up window; its action starts `ScheduledJob`,
which sleeps for a duration drawn so that runs often overlap, and sometimes fails.
"""

from __future__ import annotations

import random

from core import workflow
from core.opaque import JsonValue
from core.schedule import api
from core.schedule.messages import (
    IntervalSpec,
    OverlapPolicy,
    Schedule,
    SchedulePolicies,
    ScheduleSpec,
    StartWorkflowAction,
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
    fail = rng.random() < 0.2
    args: tuple[JsonValue, ...] = (job, fail)
    action = StartWorkflowAction(f"job-{index}", JOB_TYPE, JOB_QUEUE, args)
    # Pause on failure stays off: a paused schedule skips its times uncounted (as in
    # Temporal), which the accounting of sim/schedule_invariants.py cannot see.
    return Schedule(spec, action, SchedulePolicies(policy, window)), monthly


def create_args(schedule: Schedule, index: int) -> JsonValue:
    """The scheduler workflow's input, as CreateSchedule builds it."""
    args = api.StartScheduleArgs(schedule, "default", NAMESPACE_ID, schedule_id(index))
    return args.to_json()
