"""The simulator's entry point: `simulate(config) -> RunResult` (a stable API).

Theory of operation. `simulate` builds a cluster (frontend, history hosts owning shards,
matching hosts, persistence, workers, clients) on the discrete-event kernel, injects the
fault plan, plays the workload to the end or to `config.max_virtual_time`, and checks
the invariants during and after the run. Everything it returns is a function of the
config alone: the trace lines, their hash, the histories, the violations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.events import HistoryEvent
from sim.config import FaultPlan, SimConfig

ProgressFn = Callable[[int, int], None]  # (workflows closed, workflows in all)


@dataclass(frozen=True, slots=True)
class Violation:
    """An invariant broken: its ID (spec/README.md), what, when (virtual ns), which run."""

    id: str
    message: str
    time: int
    run_id: str | None


@dataclass(frozen=True, slots=True)
class RunResult:
    seed: int
    trace_hash: str  # sha256 hex over the canonical trace lines
    workflows: int  # workflows started by clients
    events: int  # history events committed, all runs
    faults: dict[str, int]  # injected, by kind (sorted keys)
    violations: tuple[Violation, ...]
    virtual_ns: int  # virtual time the run lasted
    plan: FaultPlan  # the plan actually used
    swarm: dict[str, float]  # fault kinds chosen and their intensities (empty: not swarm)
    histories: dict[str, tuple[HistoryEvent, ...]]  # run id -> committed events
    trace: tuple[str, ...]  # "t=<ns> <node> <what>", in order
    workflow_ids: dict[str, str]  # run id -> workflow id
    requests: int  # requests the history service handled

    @property
    def ok(self) -> bool:
        return not self.violations


def simulate(config: SimConfig, on_progress: ProgressFn | None = None) -> RunResult:
    """Run one simulation (see the module docstring)."""
    from sim.cluster import run_cluster  # the cluster imports this module's types

    result: RunResult = run_cluster(config, on_progress)
    return result


def same_trace_twice(config: SimConfig) -> bool:
    """The determinism self-check: run `config` twice and compare the trace hashes."""
    first = simulate(config)
    second = simulate(config)
    return first.trace_hash == second.trace_hash and first.trace == second.trace
