"""End-of-run checks and the `RunResult` of a finished cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import requests as rq
from core.statemachine import matching as m
from sim.kernel import T0
from sim.run import RunResult

if TYPE_CHECKING:
    from sim.cluster import Cluster
    from sim.server import ServerCluster


def lost_tasks(cluster: ServerCluster) -> list[tuple[str, str]]:
    """Tasks of open runs waiting to start that nothing holds any more."""
    held: set[tuple[str, int]] = set()
    for host in cluster.matching.values():
        for queue_state in host.states():
            for entry in (*queue_state.backlog, *queue_state.dispatching):
                held.add((entry.task.run_id, entry.task.scheduled_event_id))
    rescued: set[tuple[str, int]] = set()
    for box in cluster.persistence.outbox.values():
        for task in box.values():
            t = task.task
            if isinstance(
                t,
                rq.WorkflowTaskTransfer
                | rq.ActivityTaskTransfer
                | rq.WorkflowTaskTimeoutTask
                | rq.ActivityTimeoutTask
                | rq.ActivityRetryTask,
            ):
                rescued.add((task.run_id, t.scheduled_event_id))
            elif isinstance(t, rq.WorkflowBackoffTask):
                rescued.add((task.run_id, -1))
    out: list[tuple[str, str]] = []
    for run_id, record in sorted(cluster.persistence.runs.items()):
        state = record.state
        if not state.running or (run_id, -1) in rescued:
            continue
        waiting: list[tuple[int, str]] = []
        wft = state.wft
        if wft is not None and not wft.started and not wft.speculative:
            waiting.append((wft.scheduled_event_id, "workflow task"))
        for info in state.activities:
            if not info.started and not info.backoff:
                waiting.append((info.scheduled_event_id, f"activity {info.activity_id}"))
        for sid, what in waiting:
            if (run_id, sid) not in held and (run_id, sid) not in rescued:
                out.append((run_id, f"{what} (scheduled event {sid})"))
    return out


def matching_problems(cluster: ServerCluster) -> list[str]:
    """What matching's ledgers say went wrong (INV-NO-LOST-TASK)."""
    problems: list[str] = []
    for host in cluster.matching.values():
        problems.extend(host.problems)
        for queue_state in host.states():
            problems.extend(m.violations(queue_state))
    return problems


def build_result(cluster: Cluster, heal: int) -> RunResult:
    monitor, persistence = cluster.monitor, cluster.persistence
    problems = matching_problems(cluster)
    workflows = list(cluster.watched_ids)
    monitor.finish(
        {run_id: record.events for run_id, record in persistence.runs.items()},
        workflows,
        problems,
        lost_tasks(cluster),
        heal,
    )
    if cluster.retention is not None:
        cluster.retention.finish()
    checks = cluster.workload.checks
    if checks is not None:
        for id_, message in checks(monitor.ghost, monitor.workflow_of):
            monitor.violate(id_, message)
    kernel = cluster.kernel
    kernel.log("run", f"end events={monitor.events} violations={len(monitor.violations)}")
    histories = {run_id: tuple(events) for run_id, events in sorted(monitor.ghost.items())}
    return RunResult(
        seed=cluster.config.seed,
        trace_hash=kernel.trace_hash,
        workflows=cluster.client.started,
        events=monitor.events,
        faults=dict(sorted(cluster.faults.injected.items())),
        violations=tuple(monitor.violations),
        virtual_ns=kernel.now - T0,
        plan=cluster.plan,
        swarm=cluster.swarm,
        histories=histories,
        trace=tuple(kernel.trace),
        workflow_ids=dict(sorted(monitor.workflow_of.items())),
        requests=sum(h.requests for h in cluster.history.values()),
    )
