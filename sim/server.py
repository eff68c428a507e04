"""The server side of a cluster: frontend, history hosts, matching hosts, persistence
and the controller that assigns shards.

Theory of operation. Temporal's server is a set of services over one store: a
stateless frontend routes each call by namespace and workflow id; history hosts own
shards (membership assigns them, `service/history/shard/controller_impl.go`) and run
the history service; matching hosts own task queues. `ServerCluster` builds those nodes
on a kernel, a network and a fault view it is given, so the same nodes serve two
drivers: the simulator (`sim.cluster.Cluster` adds simulated clients and workers and
runs on the discrete-event kernel) and the live server (`tmodel serve`, where real SDK
clients and workers call in through a gRPC frontend and a live kernel keeps time).

The controller (Temporal's membership ring) assigns shards round-robin to live history
hosts and moves them when a host crashes or restarts or a `shard-move` fault fires; the
new owner acquires the shard (bumping its range id), the old one is told to let go by a
message that may be lost, so a stale owner can keep trying to write until the fence
stops it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from core.statemachine import shard as shardlib
from sim.config import INSTANT_KINDS, FaultItem, FaultPlan
from sim.faults import Faults
from sim.invariants import Monitor
from sim.kernel import MS, Kernel
from sim.mutants import handle_for
from sim.network import Network
from sim.nodes.base import DEFAULT_NAMESPACE, Base, Router
from sim.nodes.frontend import Frontend
from sim.nodes.history import HistoryHost
from sim.nodes.matching import POLL_DEADLINE, MatchingHost
from sim.persistence import Persistence

SHARDS = 8
HISTORY_HOSTS = 3
MATCHING_HOSTS = 2
DETECT = 500 * MS  # membership notices a dead host
MEMBERSHIP_LAG = 1_000 * MS  # until the old owner of a moved shard hears of it
ACQUIRE_DELAY = 100 * MS  # a new owner takes the shard this long after the move
CRASH_KINDS = ("worker-crash", "history-crash", "matching-crash")


class ServerCluster:
    """Frontend, history and matching hosts, persistence and the shard controller."""

    def __init__(
        self,
        kernel: Kernel,
        faults: Faults,
        net: Network,
        monitor: Monitor,
        mutant: str | None = None,
        namespaces: Iterable[str] = (DEFAULT_NAMESPACE,),
        shards: int = SHARDS,
        persistence: Persistence | None = None,
    ) -> None:
        self.kernel = kernel
        self.faults = faults
        self.net = net
        self.monitor = monitor
        self.poll_deadline = POLL_DEADLINE  # how long matching holds a long poll
        self.namespaces: set[str] = set(namespaces)
        if persistence is None:  # in memory (a live server may pass one that keeps a file)
            persistence = Persistence(faults, shardlib.initial_store(shards))
        self.persistence = persistence
        self.persistence.range_check = mutant != "no-range-check"
        self.persistence.on_commit = monitor.on_commit
        self.router = Router(shards, [f"matching-{i}" for i in range(MATCHING_HOSTS)])
        self.frontend = Frontend("frontend", self, self.router)
        handle = handle_for(mutant)
        self.history = {
            f"history-{i}": HistoryHost(f"history-{i}", self, self.persistence, self.router, handle)
            for i in range(HISTORY_HOSTS)
        }
        self.matching = {
            name: MatchingHost(
                name, self, self.router, mutant == "ack-before-started", mutant == "redeliver"
            )
            for name in self.router.matching
        }
        self.nodes: dict[str, Base] = {
            n.name: n for n in (*self.history.values(), *self.matching.values())
        }

    @staticmethod
    def server_node_names() -> list[str]:
        return [f"history-{i}" for i in range(HISTORY_HOSTS)] + [
            f"matching-{i}" for i in range(MATCHING_HOSTS)
        ]

    # -- the controller ---------------------------------------------------------------
    def _live_hosts(self) -> list[str]:
        return [name for name, host in sorted(self.history.items()) if host.up]

    def rebalance(self) -> None:
        live = self._live_hosts()
        if not live:
            return
        for shard in range(1, self.router.shards + 1):
            want = live[(shard - 1) % len(live)]
            if self.router.owner.get(shard) != want:
                self.move(shard, want)
            elif shard not in self.history[want].shards:  # restarted before it was noticed
                self.kernel.after(ACQUIRE_DELAY, self._acquire, shard, want)

    def move(self, shard: int, new: str) -> None:
        old = self.router.owner.get(shard)
        self.router.owner[shard] = new
        self.kernel.log("controller", f"shard-{shard} {old} -> {new}")
        if old is not None and old != new:  # membership news reaches the old owner late
            host = self.history[old]
            lag = self.kernel.jitter(0, MEMBERSHIP_LAG)
            self.kernel.after(lag, self.net.send, "controller", old, host.release_shard, shard)
        self.kernel.after(ACQUIRE_DELAY, self._acquire, shard, new)

    def _acquire(self, shard: int, host: str) -> None:
        if self.router.owner.get(shard) != host:
            return
        if self.history[host].up:
            self.history[host].acquire_shard(shard)
        else:
            self.kernel.after(DETECT, self.rebalance)

    def crash_or_restart(self, name: str, on: bool) -> bool:
        """Crash node `name` (`on`) or restart it; True if it crashed now."""
        node = self.nodes[name]
        crashed = False
        if on and node.up:
            node.crash()
            crashed = True
        elif not on and not node.up:
            node.restart()
        if name in self.history:
            self.kernel.after(DETECT, self.rebalance)
        return crashed

    # -- faults -----------------------------------------------------------------------
    def schedule_faults(
        self,
        plan: FaultPlan,
        origin: int,
        inject: Callable[[FaultItem, bool], None] | None = None,
    ) -> None:
        """Switch each fault of `plan` on at `origin` + its time, and off after it, by
        `inject` (default: `self.inject`; a live server adds to what a fault does)."""
        fn = inject if inject is not None else self.inject
        for item in plan.items:
            self.kernel.at(origin + item.at, fn, item, True)
            if item.kind not in INSTANT_KINDS:
                self.kernel.at(origin + item.at + item.duration, fn, item, False)

    def inject(self, item: FaultItem, on: bool) -> None:
        """A fault begins (`on`) or ends: a crash or restart, a shard move, or a change
        of what the network, the clocks and the store do (faults.py)."""
        if item.kind in CRASH_KINDS:
            if self.crash_or_restart(item.target, on):
                self.faults.count(item.kind)
        elif item.kind == "shard-move":
            if on and self.move_somewhere_else(int(item.target.removeprefix("shard-"))):
                self.faults.count(item.kind)
        else:
            self.faults.switch(item, on)

    def move_somewhere_else(self, shard: int) -> bool:
        """A `shard-move` fault: give `shard` to another live host, if there is one."""
        live = [h for h in self._live_hosts() if h != self.router.owner.get(shard)]
        if not live:
            return False
        self.move(shard, live[self.kernel.rng.randrange(len(live))])
        return True
