"""Workloads: which workflow code runs and what clients do to it (a pluggable registry).

A workload names its workflow code (behind the `WorkflowCode` door), a `script`
function that decides, from the run's RNG, what the client does with workflow number
`index` (its input, and signals, cancels, updates, queries, terminations at offsets), and
the behaviour of activity and workflow workers. Register new ones in `WORKLOADS`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from core import payloads
from core.events import HistoryEvent
from core.opaque import Opaque
from core.schedule import api
from sim.kernel import MS, SECOND
from sim.patterns import (
    BENCH_DEFINITIONS,
    DEFINITIONS,
    PATTERNS,
    Drive,
    mixed,
    two_activities_and_timer,
)
from sim.replay_code import ReplayCode
from sim.schedule_invariants import INVARIANTS as SCHEDULE_INVARIANTS
from sim.schedule_invariants import check_schedules
from sim.schedule_workload import (
    DAY,
    MONTH,
    client_signals,
    create_args,
    draw_schedule,
    schedule_id,
)
from sim.schedule_workload import DEFINITIONS as SCHEDULE_DEFINITIONS
from sim.scripted_workflow import Spec
from sim.workflow_code import ScriptedCode, WorkflowCode


@dataclass(frozen=True, slots=True)
class Behaviour:
    """Rates of the workers' own behaviour (faults are separate)."""

    activity_latency: tuple[int, int] = (5 * MS, 200 * MS)
    activity_failure: float = 0.15
    activity_non_retryable: float = 0.02
    activity_lost: float = 0.02  # the worker silently abandons the attempt
    activity_heartbeat: float = 0.2
    workflow_task_failure: float = 0.02
    workflow_task_latency: tuple[int, int] = (1 * MS, 20 * MS)
    cache_size: int = 1000
    """Runs a workflow worker keeps in its sticky cache (temporalio's `max_cached_workflows`
    default). A worker with a cache always asks for a sticky queue, as SDK workers do;
    0 turns stickiness off. The least recently used run is evicted when the cache is full."""


@dataclass(frozen=True, slots=True)
class Action:
    """Something a client does to a workflow, `delay` ns after starting it."""

    delay: int
    kind: str  # signal | cancel | terminate | update | query
    n: int = 0
    name: str = ""  # the signal, update or query handler ("" for the scripted workflow's)
    input: Opaque | None = None  # the signal's or update's arguments (Payloads)


@dataclass(frozen=True, slots=True)
class Script:
    workflow_type: str
    input: Opaque
    actions: tuple[Action, ...]
    workflow_id: str = ""  # "" is wf-<index>
    task_queue: str = ""  # "" is the workload's


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    code: Callable[[], WorkflowCode]
    script: Callable[[random.Random, int], Script]
    behaviour: Behaviour = Behaviour()
    task_queue: str = "queue"
    # The schedules workload: an internal worker runs system workflows; matching holds
    # a long poll `poll_deadline` (Temporal: 60 s; the simulator's default 5 s) - longer
    # keeps idle polling cheap over a virtual month; a run may last `horizon` ns longer
    # than the faults.
    internal_worker: bool = False
    poll_deadline: int = 0  # 0: sim/nodes/matching.py POLL_DEADLINE
    horizon: int = 0
    workers: int = 3  # workflow workers, and as many activity workers
    activity_workers: bool = True
    # The workload's own end-of-run checks over the histories (run id -> events, run id
    # -> workflow id), giving (invariant id, message) pairs, and those invariants.
    checks: (
        Callable[[Mapping[str, Sequence[HistoryEvent]], Mapping[str, str]], list[tuple[str, str]]]
        | None
    ) = None
    invariants: tuple[tuple[str, str], ...] = ()


def _mixed_script(rng: random.Random, index: int) -> Script:
    spec = Spec.draw(rng, signals=0.5, continue_as_new=0.2)
    actions = [Action(rng.randint(0, 3_000 * MS), "signal", n) for n in range(spec.signals)]
    r = rng.random()
    if r < 0.08:
        actions.append(Action(rng.randint(0, 4_000 * MS), "cancel"))
    elif r < 0.11:
        actions.append(Action(rng.randint(0, 4_000 * MS), "terminate"))
    if rng.random() < 0.15:
        actions.append(Action(rng.randint(0, 2_000 * MS), "update", rng.randint(0, 9)))
    if rng.random() < 0.15:
        actions.append(Action(rng.randint(0, 3_000 * MS), "query"))
    actions.sort(key=lambda a: (a.delay, a.kind, a.n))
    return Script("scripted", spec.to_input(), tuple(actions))


def _pattern_script(
    pick: Callable[[random.Random], Drive],
) -> Callable[[random.Random, int], Script]:
    def script(rng: random.Random, index: int) -> Script:
        drive = pick(rng)
        actions = [_action(drive, delay, kind, n) for delay, kind, n in drive.actions]
        actions.sort(key=lambda a: (a.delay, a.kind, a.n))
        return Script(
            drive.workflow_type, payloads.to_payloads(drive.args) or Opaque.of(None), tuple(actions)
        )

    return script


def _action(drive: Drive, delay_ms: int, kind: str, n: int) -> Action:
    name = {"signal": drive.signal, "update": drive.update, "query": drive.query}.get(kind, "")
    arguments = payloads.to_payloads([n]) if kind in ("signal", "update") else None
    return Action(delay_ms * MS, kind, n, name, arguments)


def _schedule_script(rng: random.Random, index: int) -> Script:
    schedule, monthly = draw_schedule(rng, index)
    signals = client_signals(rng, schedule, monthly)
    actions = [
        Action(at, "signal", n, name, payloads.to_payloads([value]))
        for n, (at, name, value) in enumerate(signals)
    ]
    paused = any(isinstance(v, dict) and v.get("pause") for _, _, v in signals)
    if monthly or schedule.policies.pause_on_failure or paused:
        # DeleteSchedule: a monthly one after its month; a dense one that may stay
        # paused (a paused schedule never ends itself) after its retention.
        actions.append(Action(MONTH + SECOND if monthly else 8 * DAY, "terminate"))
    return Script(
        api.WORKFLOW_TYPE,
        payloads.to_payloads([create_args(schedule, index)]) or Opaque.of(None),
        tuple(actions),
        api.workflow_id(schedule_id(index)),
        api.TASK_QUEUE,
    )


def _replay_code() -> WorkflowCode:
    return ReplayCode(DEFINITIONS)


WORKLOADS: dict[str, Workload] = {
    # The seed's application patterns, mixed, run by the replay engine (the default).
    "mixed": Workload("mixed", _replay_code, _pattern_script(mixed)),
    # The scripted workflow of sim/scripted_workflow.py: no workflow code, the fastest.
    "scripted": Workload("scripted", ScriptedCode, _mixed_script),
    **{
        name: Workload(name, _replay_code, _pattern_script(pick))
        for name, pick in sorted(PATTERNS.items())
    },
    # What `tmodel bench simulate` also runs on a real dev server: two activities and a
    # timer, workers that never fail (faults are the config's; the bench sets none).
    "two-activities-timer": Workload(
        "two-activities-timer",
        lambda: ReplayCode(BENCH_DEFINITIONS),
        _pattern_script(two_activities_and_timer),
        Behaviour(
            activity_failure=0.0,
            activity_non_retryable=0.0,
            activity_lost=0.0,
            activity_heartbeat=0.0,
            workflow_task_failure=0.0,
        ),
    ),
    # Schedules over a virtual month (sim/schedule_workload.py), run by the internal worker.
    "schedules": Workload(
        "schedules",
        lambda: ReplayCode(SCHEDULE_DEFINITIONS),
        _schedule_script,
        internal_worker=True,
        poll_deadline=300 * SECOND,
        horizon=MONTH + 8 * DAY,
        workers=1,  # jobs only sleep: no activity workers, one workflow worker
        activity_workers=False,
        checks=check_schedules,
        invariants=SCHEDULE_INVARIANTS,
    ),
}
