"""Which workflows a timeline draws: the eventful ones, and why each was chosen.

A run of 200 workflows has room in a timeline for a few. The first few started are
mostly runs where nothing happened; a reader wants the ones where something did. For
each workflow (all the runs of its continue-as-new chain) this module counts, from the
run's record alone (trace, histories, fault plan, violations):

- violations naming it or one of its runs, or naming its shard while it was open (a
  shard's violation, such as INV-SINGLE-SHARD-WRITER, names no run);
- shard failovers during its life: its shard (Temporal's hash of the workflow id in the
  simulator's namespace, as the frontend routes it) passing to another history host
  while it was open;
- retries: activity attempts and workflow task attempts after the first (``attempt`` > 1
  in ACTIVITY_TASK_STARTED and WORKFLOW_TASK_SCHEDULED);
- faults that touched it: active while it was open, and aimed at every node (``*``), at
  its shard, at a history host that owned its shard meanwhile, or at a node of its own
  trace lines (its client, its workers). A matching host is not tied to a workflow in
  the record, so a matching crash counts only through those lines.

`choose` takes the workflows with violations first, then the one with the most
failovers, the most retries and the most faults, then the rest by all four together;
ties go to the workflow started first. Each chosen workflow carries a one-line reason
and the faults that touched it, which the timeline shades in its band.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from core.events import HistoryEvent
from core.statemachine.shard import shard_for
from sim.config import FaultItem
from sim.kernel import T0
from sim.nodes.base import DEFAULT_NAMESPACE
from sim.run import RunResult
from sim.server import SHARDS
from sim.timeline import Step, Workflow, event_steps, parse, tokens, workflows_of

TIMELINE_WORKFLOWS = 4  # workflows drawn in a timeline
_MOVE = re.compile(r"shard-(\d+) (\S+) -> (\S+)")
_SHARD = re.compile(r"\bshard-(\d+)\b")
_TOKEN = re.compile(r"[\w-]+")


@dataclass(frozen=True, slots=True)
class Interest:
    """What happened to one workflow (see the module docstring)."""

    workflow: Workflow
    order: int  # when it started (virtual ns): ties go to the first started
    violations: tuple[str, ...]  # invariant ids
    failovers: int
    retries: int
    faults: tuple[FaultItem, ...]

    def reason(self) -> str:
        parts = []
        if self.violations:
            parts.append("violated " + ", ".join(dict.fromkeys(self.violations)))
        for count, one, many in (
            (self.failovers, "shard failover", "shard failovers"),
            (self.retries, "retry", "retries"),
            (len(self.faults), "fault", "faults"),
        ):
            if count:
                parts.append(f"{count} {one if count == 1 else many}")
        return "; ".join(parts) or "nothing went wrong"

    def total(self) -> int:
        return 100 * len(self.violations) + 4 * self.failovers + 2 * self.retries + len(self.faults)


def _violated(i: Interest) -> int:
    return len(i.violations)


def _failovers(i: Interest) -> int:
    return i.failovers


def _retries_of(i: Interest) -> int:
    return i.retries


def _faults(i: Interest) -> int:
    return len(i.faults)


def choose(result: RunResult, limit: int = TIMELINE_WORKFLOWS) -> list[Workflow]:
    """The `limit` most eventful workflows of `result`, each with its reason and faults."""
    ranked = interests(result)
    picked: list[Interest] = []

    def best(key: Callable[[Interest], int]) -> None:
        rest = [i for i in ranked if i not in picked and key(i) > 0]
        if rest and len(picked) < limit:
            picked.append(min(rest, key=lambda i: (-key(i), -i.total(), i.order)))

    for _ in range(limit):
        best(_violated)
    for key in (_failovers, _retries_of, _faults):
        best(key)
    rest = sorted((i for i in ranked if i not in picked), key=lambda i: (-i.total(), i.order))
    picked += rest[: limit - len(picked)]
    return [
        Workflow(i.workflow.workflow_id, i.workflow.run_ids, i.reason(), i.faults) for i in picked
    ]


def interests(result: RunResult) -> list[Interest]:
    """What happened to each workflow of `result`, in the order they started."""
    steps = parse(result.trace)
    owners = _owners(steps)
    mine = _steps_by_workflow(steps, result.workflow_ids)
    violated, by_shard = _violations(result)
    out = []
    for wf in workflows_of(result.workflow_ids, result.workflow_ids):
        histories = [(run, result.histories.get(run, ())) for run in wf.run_ids]
        times = [s.time for s in mine.get(wf.workflow_id, ())]
        times += [s.time for run, events in histories for s in event_steps(run, events)]
        life = (min(times), max(times)) if times else (0, 0)
        shard = shard_for(DEFAULT_NAMESPACE, wf.workflow_id, SHARDS)
        changes = owners.get(shard, [])
        at_start = [new for t, _, new in changes if t <= life[0]][-1:]
        during = [(old, new) for t, old, new in changes if life[0] < t <= life[1]]
        hosts = {*at_start, *(new for _, new in during)}
        nodes = {s.node for s in mine.get(wf.workflow_id, ())} | hosts | {f"shard-{shard}"}
        out.append(
            Interest(
                wf,
                life[0],
                tuple(i for name in (wf.workflow_id, *wf.run_ids) for i in violated.get(name, ()))
                + tuple(i for n, t, i in by_shard if n == shard and life[0] <= t <= life[1]),
                sum(1 for old, _ in during if old != "None"),
                _retries(e for _, events in histories for e in events),
                tuple(f for f in result.plan.items if _touches(f, life, nodes)),
            )
        )
    return sorted(out, key=lambda i: (i.order, i.workflow.workflow_id))


def _violations(result: RunResult) -> tuple[dict[str, list[str]], list[tuple[int, int, str]]]:
    """Violation ids by the run or workflow they name, and those that name only a shard
    as (shard, time, id)."""
    named: dict[str, list[str]] = {}
    by_shard = []
    known = {*result.workflow_ids, *result.workflow_ids.values()}
    for v in result.violations:
        names = [v.run_id] if v.run_id else [w for w in _TOKEN.findall(v.message) if w in known]
        for name in dict.fromkeys(names):
            named.setdefault(name, []).append(v.id)
        shard = _SHARD.search(v.message)
        if not names and shard:
            by_shard.append((int(shard[1]), v.time - T0, v.id))
    return named, by_shard


def _steps_by_workflow(
    steps: Sequence[Step], run_to_workflow: Mapping[str, str]
) -> dict[str, list[Step]]:
    """Each workflow's trace steps: those naming its id or one of its run ids."""
    owner = {**{w: w for w in run_to_workflow.values()}, **run_to_workflow}
    out: dict[str, list[Step]] = {}
    for step in steps:
        for wf in dict.fromkeys(owner[t] for t in tokens(step) if t in owner):
            out.setdefault(wf, []).append(step)
    return out


def _owners(steps: Iterable[Step]) -> dict[int, list[tuple[int, str, str]]]:
    """Shard -> its ownership changes (time, old host, new host), from the controller."""
    out: dict[int, list[tuple[int, str, str]]] = {}
    for step in steps:
        match = _MOVE.match(step.what) if step.node == "controller" else None
        if match:
            out.setdefault(int(match[1]), []).append((step.time, match[2], match[3]))
    return out


def _retries(events: Iterable[HistoryEvent]) -> int:
    count = 0
    for event in events:
        attempt = getattr(event.attributes, "attempt", 0)
        if event.event_type.name.endswith(("ACTIVITY_TASK_STARTED", "WORKFLOW_TASK_SCHEDULED")):
            count += attempt > 1
    return count


def _touches(fault: FaultItem, life: tuple[int, int], nodes: set[str]) -> bool:
    if fault.at > life[1] or fault.at + fault.duration < life[0]:
        return False
    targets = set(re.split(r"[|>]", fault.target))
    return fault.target == "*" or not targets.isdisjoint(nodes)
