"""Build the cluster, inject the plan, play the workload, check the invariants.

Nodes: the server side of `sim.server` (one frontend, three history hosts sharing eight
shards, two matching hosts, persistence and the shard controller), plus three workflow
workers, three activity workers and a client, all on the discrete-event kernel.
"""

from __future__ import annotations

import random

from sim.accounting import DISTURBANCES
from sim.config import REPLICATION_FAULT_KINDS, FaultItem, SimConfig
from sim.faults import Faults, plan_for
from sim.invariants import EVENTUALLY_BOUND, Monitor, replay_check
from sim.kernel import MS, T0, Kernel
from sim.mutants import MUTANTS
from sim.network import Network
from sim.nodes.client import Client
from sim.nodes.internal_worker import InternalWorker
from sim.nodes.workers import ActivityWorker, WorkflowWorker, release
from sim.retention import RETENTION_MUTANTS, Retention
from sim.run import ProgressFn, RunResult
from sim.server import SHARDS, ServerCluster
from sim.workloads import WORKLOADS, Workload

START_GAP = 2 * MS


# What each fault kind may target: crashes name a node of their kind, rate faults hit
# every message or write ("*"), a shard move names a shard, a partition two nodes.
CRASH_TARGETS = {
    "worker-crash": ("wworker-", "aworker-", "iworker-"),
    "history-crash": ("history-",),
    "matching-crash": ("matching-",),
}


def check_config(config: SimConfig) -> None:
    """Raise ValueError if `config` names a workload, mutant, node or shard this cluster
    does not have (a hand-written or damaged repro file)."""
    if config.clusters > 1 and config.retention:
        raise ValueError("retention is simulated on one cluster only (no --clusters)")
    if config.clusters > 1:  # a multi-cluster run checks its own (sim/multicluster_faults.py)
        from sim.multicluster_faults import check_config as check_multicluster

        return check_multicluster(config)
    if config.workload not in WORKLOADS:
        raise ValueError(f"unknown workload {config.workload!r}")
    if config.mutant is not None and config.mutant not in (*MUTANTS, *RETENTION_MUTANTS):
        raise ValueError(f"unknown mutant {config.mutant!r}")
    if config.mutant in RETENTION_MUTANTS and not config.retention:
        raise ValueError(f"the {config.mutant} mutant needs a retention")
    kinds = () if config.faults == "swarm" else config.faults
    items = config.plan.items if config.plan is not None else ()
    if any(k in REPLICATION_FAULT_KINDS for k in (*kinds, *(i.kind for i in items))):
        raise ValueError("replication faults need more than one cluster (--clusters)")
    workload = WORKLOADS[config.workload]
    for item in config.plan.items if config.plan is not None else ():
        if not _targets_fit(item, workload):
            raise ValueError(f"a {item.kind} fault cannot target {item.target!r}")


def _targets_fit(item: FaultItem, workload: Workload) -> bool:
    nodes = Cluster._names(workload)
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
        self.workload = WORKLOADS[config.workload]
        names = self._names(self.workload)
        self.plan, self.swarm = plan_for(config, kernel.rng, names, SHARDS)
        faults = Faults(kernel, self.plan)
        net = Network(kernel, faults)
        self.code = self.workload.code()
        monitor = Monitor(kernel, replay_check(self.code))
        injected = faults.injected.get  # a Counter: a kind not injected yet counts 0
        kinds = tuple(DISTURBANCES)
        zeros = (0,) * len(kinds)  # injected(kind, 0) for each kind, by map: asked per delivery
        monitor.ledger.disturbances = lambda: sum(map(injected, kinds, zeros))
        super().__init__(kernel, faults, net, monitor, config.mutant)
        self.retention = self._retention(config)
        b = self.workload.behaviour
        w = self.workload
        self.wworkers = [
            WorkflowWorker(f"wworker-{i}", self, b, self.code, config.mutant == "skip-replay")
            for i in range(w.workers)
        ]
        skip = config.mutant == "skip-retried-attempts"
        self.aworkers = [
            ActivityWorker(f"aworker-{i}", self, b, skip)
            for i in range(w.workers if w.activity_workers else 0)
        ]
        # The worker service's per-namespace worker (system workflows), when the
        # workload has system workflows to run.
        self.iworkers = (
            [InternalWorker("iworker-0", self, b, self.code)]
            if self.workload.internal_worker
            else []
        )
        if self.workload.poll_deadline:
            self.poll_deadline = self.workload.poll_deadline
        self.client = Client("client", self)
        self.watched_ids: tuple[str, ...] = ()
        self.nodes.update((w.name, w) for w in (*self.wworkers, *self.aworkers, *self.iworkers))

    def _retention(self, config: SimConfig) -> Retention | None:
        """Retention and archival (sim/retention.py), when the config has a retention."""
        if not config.retention:
            return None
        retention = Retention(
            self.kernel,
            self.persistence,
            self.monitor,
            config.retention,
            config.archival,
            config.mutant,
            random.Random(f"tmodel-retention/{config.seed}"),
        )
        for host in self.history.values():
            host.retention = retention
        return retention

    @classmethod
    def _names(cls, workload: Workload | None = None) -> list[str]:
        w = workload or WORKLOADS["mixed"]
        return (
            cls.server_node_names()
            + [f"wworker-{i}" for i in range(w.workers)]
            + [f"aworker-{i}" for i in range(w.workers if w.activity_workers else 0)]
            + (["iworker-0"] if w.internal_worker else [])
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
        for worker in (*self.wworkers, *self.aworkers, *self.iworkers):
            worker.start()
        ids: list[str] = []
        for index in started:
            script = self.workload.script(script_rng(config.seed, index), index)
            ids.append(script.workflow_id or f"wf-{index}")
            kernel.at(T0 + 50 * MS + index * START_GAP, self.client.start_workflow, index, script)
        self.watched_ids = tuple(ids)
        self.schedule_faults(self.plan, T0)
        heal = max(self.faults.heal_time, T0)
        # Every workflow must close within EVENTUALLY_BOUND of the faults healing (or of
        # its start): running longer could only repeat an INV-EVENTUALLY-CLOSED verdict.
        last_start = T0 + 50 * MS + max(started, default=0) * START_GAP
        bound = EVENTUALLY_BOUND + self.workload.horizon
        until = min(
            T0 + config.max_virtual_time + self.workload.horizon, max(heal, last_start) + bound
        )
        retention = self.retention
        if retention is not None:  # the last deletions come a retention after the closes
            until += retention.tail()
        total = len(started)
        last = [-1]

        self.monitor.watched = frozenset(self.watched_ids)

        def done() -> bool:
            closed = self.monitor.watched_closed
            if on_progress is not None and closed != last[0]:
                last[0] = closed
                on_progress(closed, total)
            return closed >= total and (retention is None or retention.idle())

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
    cluster = Cluster(config)
    result = cluster.run(on_progress)
    dismantle(cluster)
    return result


def dismantle(cluster: Cluster) -> None:
    """Take a finished cluster apart so that reference counting frees it at once.

    The nodes, the network, the kernel's queue (which holds the nodes' bound methods)
    and the workers' cached replays reference each other in cycles; left so, the
    whole cluster waits for the garbage collector's end-of-run pass, which walks every
    object in it (`sim.run.few_collections`). The result keeps only values (histories,
    the trace), none of which is touched here. The cluster cannot be used afterwards.
    """
    for worker in (*cluster.wworkers, *cluster.iworkers):
        for cached in worker.cache.values():
            release(cached)
    cluster.kernel.clear()
    for node in (*cluster.nodes.values(), *cluster.net.nodes.values()):
        vars(node).clear()
    vars(cluster.monitor.ledger).clear()  # it holds the monitor's `violate`
    vars(cluster.monitor).clear()
    vars(cluster).clear()
