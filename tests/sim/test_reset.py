"""A reset through a history host (sim/nodes/history.py, `HistoryHost.serve`).

In the middle of a fault-free simulation a running client workflow is reset to its
first workflow task through the host that owns its shard; the run goes on. The base
run and the new run are committed in one write, the new run becomes the workflow's
current run, the workers finish it, and every invariant still holds (a run terminated
by a reset is not its workflow's final close: the new run continues the workflow).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from core import requests as rq
from core.commands import Command, StartChildWorkflowExecutionCommandAttributes
from core.enums import CommandType, EventType, WorkflowTaskFailedCause
from core.events import (
    WorkflowExecutionTerminatedEventAttributes,
    WorkflowTaskFailedEventAttributes,
    WorkflowType,
)
from core.statemachine.history.service.state import RunStatus
from core.statemachine.history.validator import validate
from sim import cluster as cluster_module
from sim import invariants
from sim.cluster import Cluster
from sim.config import SimConfig
from sim.kernel import MS, SECOND, T0
from sim.nodes.base import Payload, Request, StartedWorkflowTask
from sim.nodes.history import HistoryHost
from sim.persistence import Commit, Mutation, RunRecord
from sim.run import RunResult

E = EventType
NAMESPACE = "default"


@dataclass
class Reset:
    """What the reset did, seen from outside the host."""

    workflow_id: str = ""
    base_run_id: str = ""
    finish: int = 0
    reply: Payload | None = None
    writes: list[tuple[Mutation, ...]] = field(default_factory=list)


def _reset_one(cluster: Cluster, seen: Reset) -> None:
    """Reset the first running workflow with a completed workflow task (or try later)."""
    persistence = cluster.persistence
    for index in cluster.config.started():
        workflow_id = f"wf-{index}"
        run_id = persistence.current.get((NAMESPACE, workflow_id), "")
        record = persistence.runs.get(run_id)
        if record is None or not record.state.running:
            continue
        completed = [e for e in record.events if e.event_type is E.WORKFLOW_TASK_COMPLETED]
        if completed:
            seen.workflow_id, seen.base_run_id = workflow_id, run_id
            seen.finish = completed[0].event_id
            _reset(cluster, seen)
            return
    cluster.kernel.after(50 * MS, _reset_one, cluster, seen)


def _reset(cluster: Cluster, seen: Reset) -> None:
    """Send the reset to the host owning the workflow's shard, noting what it writes."""
    persistence = cluster.persistence
    shard = cluster.router.shard(NAMESPACE, seen.workflow_id)
    host = cluster.history[cluster.router.owner[shard]]
    request = rq.ResetWorkflowExecution("sim reset", seen.finish, "reset-1")
    on_commit = persistence.on_commit
    assert on_commit is not None

    def record_write(commit: Commit, mutations: tuple[Mutation, ...]) -> None:
        seen.writes.append(mutations)
        on_commit(commit, mutations)

    persistence.on_commit = record_write
    seen.reply = host.serve(shard, NAMESPACE, seen.workflow_id, "", request)
    persistence.on_commit = on_commit


def _simulate(monkeypatch: pytest.MonkeyPatch) -> tuple[Cluster, Reset, RunResult]:
    built: list[Cluster] = []
    seen = Reset()

    def build(config: SimConfig) -> Cluster:
        made = Cluster(config)
        made.kernel.at(T0 + 400 * MS, _reset_one, made, seen)
        built.append(made)
        return made

    monkeypatch.setattr(cluster_module, "Cluster", build)
    monkeypatch.setattr(cluster_module, "dismantle", lambda cluster: None)  # read below
    # Parents and their FanOut children: every run completes (the mixed workload's draws
    # would make the reset run's close depend on which pattern wf-0 gets).
    config = SimConfig(seed=2, workflows=8, workload="child-workflows", faults=())
    result = cluster_module.run_cluster(config)
    return built[0], seen, result


def test_a_reset_through_a_history_host(monkeypatch: pytest.MonkeyPatch) -> None:
    cluster, seen, result = _simulate(monkeypatch)
    assert isinstance(seen.reply, rq.WorkflowReset), seen.reply
    new_run_id = seen.reply.run_id
    persistence = cluster.persistence
    # One write held the base run and the new run; the new run is current.
    (write,) = seen.writes
    assert [m.run_id for m in write] == [seen.base_run_id, new_run_id]
    assert persistence.current[(NAMESPACE, seen.workflow_id)] == new_run_id
    base, new = persistence.runs[seen.base_run_id], persistence.runs[new_run_id]
    assert base.state.status is RunStatus.TERMINATED
    assert base.state.reset_run_id == new_run_id
    terminated = base.events[-1].attributes
    assert isinstance(terminated, WorkflowExecutionTerminatedEventAttributes)
    assert terminated.identity == "history-resetter"
    # The new run: the base's prefix, the reset's failure, and then it ran to its end.
    assert new.events[: seen.finish - 1] == base.events[: seen.finish - 1]
    failed = new.events[seen.finish - 1].attributes
    assert isinstance(failed, WorkflowTaskFailedEventAttributes)
    assert failed.cause is WorkflowTaskFailedCause.RESET_WORKFLOW
    assert (failed.base_run_id, failed.new_run_id) == (seen.base_run_id, new_run_id)
    assert new.state.status is RunStatus.COMPLETED, new.state.status
    assert validate(new.events).violations == ()
    assert not result.violations, result.violations[:3]


def test_without_the_reset_rule_the_workflow_would_close_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The monitor's exception for a run a reset terminated is what keeps
    INV-WORKFLOW-EXACTLY-ONCE quiet here; without it the check fires."""
    monkeypatch.setattr(invariants, "_reset_away", lambda close: False)
    _, seen, result = _simulate(monkeypatch)
    assert isinstance(seen.reply, rq.WorkflowReset)
    assert [v.id for v in result.violations] == ["INV-WORKFLOW-EXACTLY-ONCE"]


# --- a child's close follows its parent's reset ------------------------------------------


class Calls:
    """Requests to the history hosts of a cluster whose clients and workers are idle."""

    def __init__(self) -> None:
        self.cluster = Cluster(SimConfig(seed=0, workflows=1, faults=()))
        self.cluster.rebalance()
        self.settle()

    def settle(self) -> None:
        kernel = self.cluster.kernel
        kernel.run(kernel.now + 2 * SECOND)

    def serve(self, workflow_id: str, req: Request, run_id: str = "") -> Payload:
        cluster = self.cluster
        shard = cluster.router.shard(NAMESPACE, workflow_id)
        host = cluster.history[cluster.router.owner[shard]]
        return host.serve(shard, NAMESPACE, workflow_id, run_id, req)

    def run(self, run_id: str) -> RunRecord:
        return self.cluster.persistence.runs[run_id]

    def complete_task(self, workflow_id: str, run_id: str, *commands: Command) -> int:
        """Start the run's pending workflow task and complete it; the completion's id."""
        wft = self.run(run_id).state.wft
        assert wft is not None
        poll = rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, f"poll-{wft.stamp}")
        started = self.serve(workflow_id, poll, run_id)
        assert isinstance(started, StartedWorkflowTask), started
        done = rq.RespondWorkflowTaskCompleted(started.started.token, commands)
        assert self.serve(workflow_id, done, run_id) == rq.Ok()
        return started.started.token.started_event_id + 1


def _start_child() -> Command:
    attrs = StartChildWorkflowExecutionCommandAttributes(
        workflow_id="child", workflow_type=WorkflowType(name="Child")
    )
    return Command(CommandType.START_CHILD_WORKFLOW_EXECUTION, attrs)


def _parent_reset_after_its_child_started(calls: Calls) -> tuple[str, str]:
    """A parent starts a child, is reset after the child started; (base, new) run ids."""
    start = rq.StartWorkflowExecution(NAMESPACE, "parent", "p-run", "Flow", "q", "start-p")
    assert calls.serve("parent", start) == rq.Ok()
    calls.complete_task("parent", "p-run", _start_child())
    calls.settle()  # the transfer task starts the child and tells the parent
    assert calls.run("p-run").state.children[0].started_event_id
    finish = calls.complete_task("parent", "p-run")
    reply = calls.serve("parent", rq.ResetWorkflowExecution("r", finish, "reset-p"))
    assert isinstance(reply, rq.WorkflowReset), reply
    calls.settle()
    return "p-run", reply.run_id


def test_a_childs_close_reaches_the_run_its_parent_was_reset_to() -> None:
    calls = Calls()
    base, new = _parent_reset_after_its_child_started(calls)
    (child,) = calls.run(new).state.children  # the new run has the child pending
    child_run = calls.run(child.run_id)
    assert child_run.state.running  # a reset keeps the base's children (no close policy)
    assert calls.serve("child", rq.TerminateWorkflowExecution("stop")) == rq.Ok()
    calls.settle()  # the child's close goes to its parent, the base, then on to the new run
    assert calls.run(new).events[-1].event_type is E.CHILD_WORKFLOW_EXECUTION_TERMINATED
    assert calls.run(new).state.children == ()
    assert calls.run(base).events[-1].event_type is E.WORKFLOW_EXECUTION_TERMINATED


def test_without_following_the_reset_the_childs_close_is_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        HistoryHost, "_reset_successor", lambda self, sh, run_id, loaded: (run_id, loaded)
    )
    calls = Calls()
    _, new = _parent_reset_after_its_child_started(calls)
    assert calls.serve("child", rq.TerminateWorkflowExecution("stop")) == rq.Ok()
    calls.settle()
    assert len(calls.run(new).state.children) == 1  # never told
