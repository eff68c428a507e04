"""Build the cluster, inject the plan, play the workload, check the invariants.

Nodes: one frontend, three history hosts sharing eight shards, two matching hosts,
three workflow workers, three activity workers and a client. The controller (Temporal's
membership ring) assigns shards round-robin to live history hosts and moves them when a
host crashes or restarts or a `shard-move` fault fires; the new owner acquires the shard
(bumping its range id), the old one is told to let go by a message that may be lost, so
a stale owner can keep trying to write until the fence stops it.
"""

from __future__ import annotations

import random
from collections import Counter

from core.statemachine import shard as shardlib
from sim.config import INSTANT_KINDS, FaultItem, SimConfig
from sim.faults import Faults, plan_for
from sim.invariants import EVENTUALLY_BOUND, Monitor, replay_check
from sim.kernel import MS, T0, Kernel
from sim.mutants import MUTANTS, handle_for
from sim.network import Network
from sim.nodes.base import Base, Router
from sim.nodes.client import Client
from sim.nodes.frontend import Frontend
from sim.nodes.history import HistoryHost
from sim.nodes.matching import MatchingHost
from sim.nodes.workers import ActivityWorker, WorkflowWorker
from sim.persistence import Persistence
from sim.run import ProgressFn, RunResult
from sim.workloads import WORKLOADS

SHARDS = 8
HISTORY_HOSTS = 3
MATCHING_HOSTS = 2
WORKERS = 3
START_GAP = 2 * MS
DETECT = 500 * MS  # membership notices a dead host
MEMBERSHIP_LAG = 1_000 * MS  # until the old owner of a moved shard hears of it
CRASH_KINDS = ("worker-crash", "history-crash", "matching-crash")


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
    nodes = Cluster.names()
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


class Cluster:
    def __init__(self, config: SimConfig) -> None:
        check_config(config)
        self.config = config
        self.kernel = Kernel(config.seed)
        names = self.names()
        self.plan, self.swarm = plan_for(config, self.kernel.rng, names, SHARDS)
        self.faults = Faults(self.kernel, self.plan)
        self.net = Network(self.kernel, self.faults)
        self.workload = WORKLOADS[config.workload]
        self.code = self.workload.code()
        self.side_effects: Counter[tuple[str, str]] = Counter()
        self.monitor = Monitor(self.kernel, replay_check(self.code))
        self.persistence = Persistence(self.faults, shardlib.initial_store(SHARDS))
        self.persistence.range_check = config.mutant != "no-range-check"
        self.persistence.on_commit = self.monitor.on_commit
        self.router = Router(SHARDS, [f"matching-{i}" for i in range(MATCHING_HOSTS)])
        self._build(config.mutant)

    @staticmethod
    def names() -> list[str]:
        return (
            [f"history-{i}" for i in range(HISTORY_HOSTS)]
            + [f"matching-{i}" for i in range(MATCHING_HOSTS)]
            + [f"wworker-{i}" for i in range(WORKERS)]
            + [f"aworker-{i}" for i in range(WORKERS)]
        )

    def _build(self, mutant: str | None) -> None:
        self.frontend = Frontend("frontend", self, self.router)
        handle = handle_for(mutant)
        self.history = {
            f"history-{i}": HistoryHost(f"history-{i}", self, self.persistence, self.router, handle)
            for i in range(HISTORY_HOSTS)
        }
        self.matching = {
            name: MatchingHost(name, self, self.router, mutant == "ack-before-started")
            for name in self.router.matching
        }
        b = self.workload.behaviour
        self.wworkers = [
            WorkflowWorker(f"wworker-{i}", self, b, self.code, mutant == "skip-replay")
            for i in range(WORKERS)
        ]
        self.aworkers = [ActivityWorker(f"aworker-{i}", self, b) for i in range(WORKERS)]
        self.client = Client("client", self)
        self.nodes: dict[str, Base] = {
            n.name: n
            for n in (
                *self.history.values(),
                *self.matching.values(),
                *self.wworkers,
                *self.aworkers,
            )
        }

    # -- the controller ---------------------------------------------------------------
    def _live_hosts(self) -> list[str]:
        return [name for name, host in sorted(self.history.items()) if host.up]

    def rebalance(self) -> None:
        live = self._live_hosts()
        if not live:
            return
        for shard in range(1, SHARDS + 1):
            want = live[(shard - 1) % len(live)]
            if self.router.owner.get(shard) != want:
                self.move(shard, want)
            elif shard not in self.history[want].shards:  # restarted before it was noticed
                self.kernel.after(100 * MS, self._acquire, shard, want)

    def move(self, shard: int, new: str) -> None:
        old = self.router.owner.get(shard)
        self.router.owner[shard] = new
        self.kernel.log("controller", f"shard-{shard} {old} -> {new}")
        if old is not None and old != new:  # membership news reaches the old owner late
            host = self.history[old]
            lag = self.kernel.jitter(0, MEMBERSHIP_LAG)
            self.kernel.after(lag, self.net.send, "controller", old, host.release_shard, shard)
        self.kernel.after(100 * MS, self._acquire, shard, new)

    def _acquire(self, shard: int, host: str) -> None:
        if self.router.owner.get(shard) != host:
            return
        if self.history[host].up:
            self.history[host].acquire_shard(shard)
        else:
            self.kernel.after(DETECT, self.rebalance)

    # -- faults -----------------------------------------------------------------------
    def schedule_faults(self) -> None:
        for item in self.plan.items:
            self.kernel.at(T0 + item.at, self._fault, item, True)
            if item.kind not in INSTANT_KINDS:
                self.kernel.at(T0 + item.at + item.duration, self._fault, item, False)

    def _fault(self, item: FaultItem, on: bool) -> None:
        if item.kind in CRASH_KINDS:
            node = self.nodes[item.target]
            if on and node.up:
                node.crash()
                self.faults.count(item.kind)
            elif not on and not node.up:
                node.restart()
            if item.kind == "history-crash":
                self.kernel.after(DETECT, self.rebalance)
        elif item.kind == "shard-move":
            shard = int(item.target.removeprefix("shard-"))
            live = [h for h in self._live_hosts() if h != self.router.owner.get(shard)]
            if live:
                self.faults.count(item.kind)
                self.move(shard, live[self.kernel.rng.randrange(len(live))])
        else:
            self.faults.switch(item, on)

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
        self.schedule_faults()
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
