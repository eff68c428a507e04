"""The simulator's entry point: `simulate(config) -> RunResult` (a stable API).

Theory of operation. `simulate` builds a cluster (frontend, history hosts owning shards,
matching hosts, persistence, workers, clients) on the discrete-event kernel, injects the
fault plan, plays the workload to the end or to `config.max_virtual_time`, and checks
the invariants during and after the run. Everything it returns is a function of the
config alone: the trace lines, their hash, the histories, the violations.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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

    if config.clusters > 1:  # a global namespace between clusters (sim/multicluster.py)
        from sim.multicluster import run_multicluster

        with few_collections():
            return run_multicluster(config)
    with few_collections(final_pass=False):  # run_cluster dismantles its cluster
        result: RunResult = run_cluster(config, on_progress)
    return result


GC_THRESHOLD = 1_000_000
"""First-generation threshold while a run goes (CPython's default is 700)."""


@contextmanager
def few_collections(final_pass: bool = True) -> Iterator[None]:
    """Let the cyclic garbage collector run rarely for the block, then restore it.

    A run allocates millions of short-lived tuples and frozen dataclasses and keeps a
    large, long-lived heap (histories, states). With the default thresholds the
    collector re-walks that heap over and over: a third of a run's wall time in
    `tmodel bench simulate`. Objects alive before the run are frozen out of collection
    and the first-generation threshold is raised; cycles are still collected, only
    less often, so memory stays bounded; at the end of the block the run's own garbage
    is collected. A run makes almost no cyclic garbage while it goes (its replays are
    released when done with, and the finished cluster is taken apart:
    `sim.cluster.dismantle`), so the threshold is high enough that a run of a few
    thousand workflows needs no pass before the end: a pass walks every object that
    survived since the last one, and the final pass walks them anyway. Nothing
    observable depends on when the collector runs, so traces are unchanged.

    Without `final_pass` (a block that leaves almost no cyclic garbage: a dismantled
    cluster is freed by reference counting inside the block) the objects the block
    leaves alive, its result above all, go straight to the oldest generation without a
    pass over them, as the objects from before the block do; the few hundred cyclic
    objects such a run leaves (2,000 workflows: under 300) wait for the collector's
    next full pass.
    """
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, before[1], before[2])
    try:
        yield
    finally:
        if final_pass:
            # The run's own cyclic garbage (the finished cluster) is collected here,
            # while what lived before the run is still frozen out: each run pays for
            # its own clean-up inside its timing, not the next run or the interpreter's
            # exit.
            gc.collect()
        else:
            gc.freeze()  # the block's survivors join what lived before it
        gc.set_threshold(*before)
        gc.unfreeze()


def same_trace_twice(config: SimConfig) -> bool:
    """The determinism self-check: run `config` twice and compare the trace hashes."""
    first = simulate(config)
    second = simulate(config)
    return first.trace_hash == second.trace_hash and first.trace == second.trace
