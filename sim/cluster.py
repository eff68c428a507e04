"""Build the cluster, inject the plan, play the workload, check the invariants.

Nodes: the server side of `sim.server` (one frontend, three history hosts sharing eight
shards, two matching hosts, persistence and the shard controller), plus three workflow
workers, three activity workers and a client, all on the discrete-event kernel.
"""

from __future__ import annotations

import random

from sim.accounting import DISTURBANCES
from sim.config import FaultItem, SimConfig
from sim.faults import Faults, plan_for
from sim.invariants import EVENTUALLY_BOUND, Monitor, replay_check
from sim.kernel import MS, T0, Kernel
from sim.mutants import MUTANTS
from sim.network import Network
from sim.nodes.client import Client
from sim.nodes.workers import ActivityWorker, WorkflowWorker
from sim.run import ProgressFn, RunResult
from sim.server import SHARDS, ServerCluster
from sim.workloads import WORKLOADS

WORKERS = 3
START_GAP = 2 * MS


# What each fault kind may target: crashes name a node of their kind, rate faults hit
# every message or write ("*"), a shard move names a shard, a partition two nodes.
CRASH_TARGETS = {
    "worker-crash": ("wworker-", "aworker-"),
    "history-crash": ("history-",),
    "matching-crash": ("matching-",),
}


def check_config(config: SimConfig) -> None:
    """Raise ValueError if `config` names a workload, mutant, node or shard this cluster
    does not have (a hand-written or damaged repro file)."""
    if config.workload not in WORKLOADS:
        raise ValueError(f"unknown workload {config.workload!r}")
    if config.mutant is not None and config.mutant not in MUTANTS:
        raise ValueError(f"unknown mutant {config.mutant!r}")
    for item in config.plan.items if config.plan is not None else ():
        if not _targets_fit(item):
            raise ValueError(f"a {item.kind} fault cannot target {item.target!r}")


def _targets_fit(item: FaultItem) -> bool:
    nodes = Cluster._names()
    if item.kind in CRASH_TARGETS:
        return item.target in nodes and item.target.startswith(CRASH_TARGETS[item.kind])
    if item.kind == "shard-move":
        return item.target in {f"shard-{n}" for n in range(1, SHARDS + 1)}
    if item.kind in ("partition", "partition-oneway"):
        a, sep, b = item.target.partition("|" if item.kind == "partition" else ">")
        return bool(sep) and a in nodes and b in nodes and a != b
    if item.kind == "clock-skew":
        return item.target in nodes
    return item.target == "*"


class Cluster(ServerCluster):
    def __init__(self, config: SimConfig) -> None:
        check_config(config)
        self.config = config
        kernel = Kernel(config.seed)
        names = self._names()
        self.plan, self.swarm = plan_for(config, kernel.rng, names, SHARDS)
        faults = Faults(kernel, self.plan)
        net = Network(kernel, faults)
        self.workload = WORKLOADS[config.workload]
        self.code = self.workload.code()
        monitor = Monitor(kernel, replay_check(self.code))
        monitor.ledger.disturbances = lambda: sum(faults.injected[k] for k in DISTURBANCES)
        super().__init__(kernel, faults, net, monitor, config.mutant)
        b = self.workload.behaviour
        self.wworkers = [
            WorkflowWorker(f"wworker-{i}", self, b, self.code, config.mutant == "skip-replay")
            for i in range(WORKERS)
        ]
        skip = config.mutant == "skip-retried-attempts"
        self.aworkers = [ActivityWorker(f"aworker-{i}", self, b, skip) for i in range(WORKERS)]
        self.client = Client("client", self)
        self.nodes.update((w.name, w) for w in (*self.wworkers, *self.aworkers))

    @classmethod
    def _names(cls) -> list[str]:
        return (
            cls.server_node_names()
            + [f"wworker-{i}" for i in range(WORKERS)]
            + [f"aworker-{i}" for i in range(WORKERS)]
        )

    # -- the run ----------------------------------------------------------------------
    def run(self, on_progress: ProgressFn | None) -> RunResult:
        config, kernel = self.config, self.kernel
        started = config.started()
        only = "" if config.only is None else f" only={','.join(map(str, config.only))}"
        kernel.log(
            "run",
            f"seed={config.seed} workflows={config.workflows}{only} "
            f"workload={config.workload} mutant={config.mutant} swarm={self.swarm}",
        )
        self.rebalance()
        for worker in (*self.wworkers, *self.aworkers):
            worker.start()
        for index in started:
            script = self.workload.script(script_rng(config.seed, index), index)
            kernel.at(T0 + 50 * MS + index * START_GAP, self.client.start_workflow, index, script)
        self.schedule_faults(self.plan, T0)
        heal = max(self.faults.heal_time, T0)
        # Every workflow must close within EVENTUALLY_BOUND of the faults healing (or of
        # its start): running longer could only repeat an INV-EVENTUALLY-CLOSED verdict.
        last_start = T0 + 50 * MS + max(started, default=0) * START_GAP
        until = min(T0 + config.max_virtual_time, max(heal, last_start) + EVENTUALLY_BOUND)
        total = len(started)
        last = [-1]

        self.monitor.watched = frozenset(f"wf-{i}" for i in started)

        def done() -> bool:
            closed = self.monitor.watched_closed
            if on_progress is not None and closed != last[0]:
                last[0] = closed
                on_progress(closed, total)
            return closed >= total

        kernel.run(until, done)
        done()
        return self._result(heal)

    def _result(self, heal: int) -> RunResult:
        from sim.result import build_result

        return build_result(self, heal)


def script_rng(seed: int, index: int) -> random.Random:
    """Workflow `index`'s own stream for its client script: a function of the seed and
    the index alone, so a workflow behaves the same whichever others run beside it."""
    return random.Random(f"tmodel-script/{seed}/{index}")  # str seeds hash with SHA-512


def run_cluster(config: SimConfig, on_progress: ProgressFn | None = None) -> RunResult:
    return Cluster(config).run(on_progress)
