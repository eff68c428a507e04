"""Timelines of the overlap policies, generated from simulator runs (docs/schedules.md).

For each policy, one schedule runs alone, with no faults: a time every 10 s from 10 s
to 50 s after the start of the run, each starting a job that runs 25 s, so every start
after the first finds the previous job still running. The schedule is deleted at
120 s. The table rows come from the run's histories: when each time's job started and
how and when it ended. `scripts/schedule_timelines.py` writes them into the docs, and a
test checks that the docs show what the code does.
"""

from __future__ import annotations

import random
from dataclasses import replace

from core import payloads
from core.enums import EventType as E
from core.events import HistoryEvent
from core.opaque import Opaque
from core.schedule import api
from core.schedule.messages import (
    IntervalSpec,
    OverlapPolicy,
    Schedule,
    SchedulePolicies,
    ScheduleSpec,
    StartWorkflowAction,
)
from core.timefmt import rfc3339
from sim import workloads
from sim.cluster import Cluster
from sim.config import SimConfig
from sim.kernel import SECOND, T0
from sim.schedule_workload import create_args, schedule_id

EVERY, JOB, LAST, DELETE = 10, 25, 50, 120  # seconds
ENDS = {
    E.WORKFLOW_EXECUTION_COMPLETED: "completed",
    E.WORKFLOW_EXECUTION_CANCELED: "canceled",
    E.WORKFLOW_EXECUTION_TERMINATED: "terminated",
    E.WORKFLOW_EXECUTION_FAILED: "failed",
}


def _schedule(policy: OverlapPolicy) -> Schedule:
    return Schedule(
        ScheduleSpec(interval=(IntervalSpec(EVERY * SECOND),), end_time=T0 + LAST * SECOND),
        StartWorkflowAction("job", "ScheduledJob", "queue", (float(JOB), False)),
        SchedulePolicies(policy),
    )


def _workload(policy: OverlapPolicy) -> workloads.Workload:
    def script(rng: random.Random, index: int) -> workloads.Script:
        return workloads.Script(
            api.WORKFLOW_TYPE,
            payloads.to_payloads([create_args(_schedule(policy), index)]) or Opaque.of(None),
            (workloads.Action(DELETE * SECOND, "terminate"),),
            api.workflow_id(schedule_id(index)),
            api.TASK_QUEUE,
        )

    return replace(workloads.WORKLOADS["schedules"], name=f"timeline-{policy.name}", script=script)


def policy_runs(policy: OverlapPolicy) -> dict[str, list[HistoryEvent]]:
    """workflow id -> history of each job the schedule started (one run each)."""
    name = f"timeline-{policy.name}"
    workloads.WORKLOADS[name] = _workload(policy)
    try:
        cluster = Cluster(SimConfig(seed=0, workflows=1, workload=name, faults=()))
        result = cluster.run(None)
    finally:
        del workloads.WORKLOADS[name]
    if result.violations:
        raise AssertionError(f"the {policy.name} timeline run broke {result.violations[0]}")
    m = cluster.monitor
    return {w: m.ghost[r] for r, w in sorted(m.workflow_of.items()) if w.startswith("job-")}


def _at(event: HistoryEvent) -> str:
    return f"{((event.event_time or 0) - T0) / SECOND:.1f} s"


def policy_rows(policy: OverlapPolicy) -> list[str]:
    """The markdown table of one policy's timeline."""
    jobs = policy_runs(policy)
    rows = [
        f"**{policy.name}**",
        "",
        "| Time due | Job started | Job ended |",
        "|---|---|---|",
    ]
    for second in range(EVERY, LAST + 1, EVERY):
        history = jobs.get(f"job-{rfc3339(T0 + second * SECOND)}")
        if history is None:
            rows.append(f"| {second} s | not started | - |")
            continue
        end = history[-1]
        how = ENDS.get(end.event_type)
        ended = f"{how} at {_at(end)}" if how else "still running"
        rows.append(f"| {second} s | at {_at(history[0])} | {ended} |")
    return rows


def timelines() -> list[str]:
    out: list[str] = []
    for policy in OverlapPolicy:
        if policy is not OverlapPolicy.UNSPECIFIED:
            out += [*policy_rows(policy), ""]
    return out[:-1]
