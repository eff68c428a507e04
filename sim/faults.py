"""Fault plans: generation (named kinds or swarm) and the live view nodes consult.

Theory of operation. A fault is a scheduled, replayable `FaultItem` (config.py): a kind,
a start and a duration in virtual ns, a target node and parameters. `plan_for` turns a
config into a plan: an explicit plan is used as is; named kinds get items at random
times in the fault window; ``swarm`` first picks, per seed, a random subset of kinds and
an intensity for each (swarm testing: Groce et al., used by FoundationDB and
TigerBeetle's VOPR), recorded in the run header. `Faults` is the live view: the kernel
switches items on and off at their times, and nodes ask it whether a message is lost,
how late it is, whether a write fails, and how far a host's clock is off. Every
injection is counted by kind, so a test can see that each kind really happened.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from sim.config import FAULT_KINDS, FaultItem, FaultPlan, SimConfig
from sim.kernel import MS, SECOND, Kernel

FAULT_WINDOW = 20 * SECOND  # generated faults start within this window
RATE_KINDS = ("drop", "duplicate", "delay", "persistence-error", "persistence-timeout")
MAX_RATE = {
    "drop": 0.15,
    "duplicate": 0.15,
    "delay": 0.3,
    "persistence-error": 0.08,
    "persistence-timeout": 0.03,
}


def plan_for(
    config: SimConfig,
    rng: random.Random,
    nodes: Sequence[str],
    shards: int,
    kinds: Sequence[str] = FAULT_KINDS,
) -> tuple[FaultPlan, dict[str, float]]:
    """The plan a run uses, and the swarm choice (kind -> intensity; empty if not swarm).

    `rng` is the run's one RNG, drawn from before anything else happens. The plan is
    drawn even when `config.plan` gives one explicitly (which then wins), so the draws
    after it - every later choice of the run - are the same: a pinned or shrunk plan
    replays the original run's schedule with fewer faults, not a different one.
    `kinds` are the kinds swarm picks from (a cluster without simulated workers, such
    as the live server, leaves out worker-crash).
    """
    drawn, swarm = _draw(config, rng, nodes, shards, kinds)
    if config.plan is not None:
        return config.plan, {}
    return drawn, swarm


def _draw(
    config: SimConfig,
    rng: random.Random,
    nodes: Sequence[str],
    shards: int,
    available: Sequence[str],
) -> tuple[FaultPlan, dict[str, float]]:
    if config.faults == "swarm":
        kinds = [kind for kind in available if rng.random() < 0.5]
        swarm = {kind: round(rng.uniform(0.1, 1.0), 3) for kind in kinds}
    else:
        swarm = {}
        kinds = list(config.faults)
    items: list[FaultItem] = []
    for kind in kinds:
        intensity = swarm.get(kind, 0.5)
        items.extend(_items(rng, kind, intensity, nodes, shards))
    items.sort(key=lambda i: (i.at, i.kind, i.target))
    return FaultPlan(tuple(items)), dict(sorted(swarm.items()))


# What a swarm intensity scales, in `_items` below (the report prints it).
INTENSITY_MEANING = (
    "how many faults of the kind the plan holds (1 + 4 x intensity, rounded down), how "
    "long each lasts (0.2 s up to 0.2 + 5 x intensity s) and how hard it hits (message "
    "drop, duplicate and delay rates, persistence error rates, the longest delay, the "
    "clock skew)"
)


def _items(
    rng: random.Random, kind: str, intensity: float, nodes: Sequence[str], shards: int
) -> list[FaultItem]:
    def of(prefix: str) -> list[str]:
        return [n for n in nodes if n.startswith(prefix)]

    count = 1 + int(intensity * 4)
    out: list[FaultItem] = []
    for _ in range(count):
        at = rng.randrange(0, FAULT_WINDOW)
        duration = rng.randrange(200 * MS, 1 + int(intensity * 5 * SECOND) + 200 * MS)
        params: tuple[tuple[str, float | int | str], ...] = ()
        if kind in RATE_KINDS:
            target = "*"
            params = (("rate", round(MAX_RATE[kind] * intensity, 4)),)
            if kind == "delay":
                params += (("max_ns", int(intensity * 800 * MS)),)
        elif kind == "worker-crash":
            target = rng.choice(of("wworker-") + of("aworker-"))
        elif kind == "history-crash":
            target = rng.choice(of("history-"))
        elif kind == "matching-crash":
            target = rng.choice(of("matching-"))
        elif kind == "shard-move":
            target = f"shard-{rng.randint(1, shards)}"
        elif kind == "clock-skew":
            target = rng.choice(of("history-"))
            params = (("skew_ns", rng.choice((-1, 1)) * int(intensity * 2 * SECOND)),)
        else:  # partition, partition-oneway
            a, b = rng.sample(of("history-") + of("matching-") + of("wworker-"), 2)
            target = f"{a}|{b}" if kind == "partition" else f"{a}>{b}"
        out.append(FaultItem(kind, at, duration, target, params))
    return out


class Faults:
    """What is going wrong right now; counts of what was injected."""

    def __init__(self, kernel: Kernel, plan: FaultPlan) -> None:
        self.kernel = kernel
        self.plan = plan
        self.rates: dict[str, float] = dict.fromkeys(RATE_KINDS, 0.0)
        self.active: list[FaultItem] = []
        self.blocked: set[tuple[str, str]] = set()  # (src, dst) pairs cut off
        self.skew: dict[str, int] = {}
        self.delay_max = 0
        self.injected: Counter[str] = Counter()
        self.heal_time = max((kernel.now + i.at + i.duration for i in plan.items), default=0)

    def count(self, kind: str) -> None:
        self.injected[kind] += 1

    def chance(self, kind: str) -> bool:
        rate = self.rates[kind]
        if rate > 0.0 and self.kernel.rng.random() < rate:
            self.injected[kind] += 1
            return True
        return False

    def switch(self, item: FaultItem, on: bool) -> None:
        """Turn a network, clock or persistence fault on or off (crashes: see cluster)."""
        if on:
            self.active.append(item)
            self.kernel.log("faults", f"on {item.kind} {item.target}")
        else:
            self.active.remove(item)
            self.kernel.log("faults", f"off {item.kind} {item.target}")
        self._recompute()
        if on and item.kind in ("clock-skew", "partition", "partition-oneway"):
            self.injected[item.kind] += 1

    def _recompute(self) -> None:
        self.rates = dict.fromkeys(RATE_KINDS, 0.0)
        self.blocked = set()
        self.skew = {}
        self.delay_max = 0
        for item in self.active:
            if item.kind in RATE_KINDS:
                rate = float(item.param("rate", 0.0))
                self.rates[item.kind] = max(self.rates[item.kind], rate)
                if item.kind == "delay":
                    self.delay_max = max(self.delay_max, int(item.param("max_ns", 0)))
            elif item.kind == "partition":
                a, b = item.target.split("|")
                self.blocked |= {(a, b), (b, a)}
            elif item.kind == "partition-oneway":
                a, b = item.target.split(">")
                self.blocked.add((a, b))
            elif item.kind == "clock-skew":
                self.skew[item.target] = int(item.param("skew_ns", 0))
