"""Fault plans of a multi-cluster run (`--clusters N`, N > 1).

A multi-cluster run injects only the replication faults, between clusters: a
cross-cluster partition (``cluster-a|cluster-b``), replication lag (extra delay on every
cross-cluster message, ``max_ns``), replication loss (each cross-cluster message lost at
``rate``), and failovers of the global namespace at a random moment, graceful (Handover,
drain, then move) or forced (the target makes itself active; the old active cluster
learns it only through namespace replication). Failovers target the cluster that
becomes active and last no time; a forced failover is drawn with a partition between its
target and another cluster (from just before it, for a while), the situation it is made
for. Swarm mode picks a subset of these kinds per seed, as
`sim.faults` does for the single-cluster kinds.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from sim.config import REPLICATION_FAULT_KINDS, FaultItem, FaultPlan, SimConfig
from sim.kernel import MS, SECOND
from sim.multicluster_mutants import REPL_MUTANTS

FAULT_WINDOW = 2 * SECOND  # generated faults start within this window
FAILOVER_KINDS = frozenset({"failover-graceful", "failover-forced"})


# What a multi-cluster run checks (IDs of spec/README.md), for the report.
REPL_INVARIANTS: tuple[tuple[str, str], ...] = (
    ("INV-REPL-ONE-ACTIVE", "no failover version has two active clusters"),
    ("INV-REPL-VERSION-OWNER", "every event's version is owned by the cluster that wrote it"),
    ("INV-REPL-CONVERGENCE", "after heal and drain every cluster has the same current branches"),
    (
        "INV-REPL-NO-LOST-SIGNAL",
        "after heal and drain every acknowledged signal is current "
        "(or was dropped as its cluster's own, Temporal's gap)",
    ),
    ("INV-REPL-CLOSES-ONCE", "a current branch closes at most once, with its last event"),
    ("INV-REPL-IDEMPOTENT", "a replication task applied again changes nothing"),
)
REPL_INTENSITY_MEANING = (
    "how many faults of the kind the plan holds (1 + 2 x intensity, rounded down), how "
    "long each lasts (0.1 s up to 0.1 + intensity s), the longest replication lag and "
    "the loss rate"
)


def cluster_names(count: int) -> tuple[str, ...]:
    return tuple(f"cluster-{chr(ord('a') + i)}" for i in range(count))


def check_config(config: SimConfig) -> None:
    """ValueError if the config's mutant, fault kinds or plan do not fit a multi-cluster
    run of its cluster count."""
    if config.mutant is not None and config.mutant not in REPL_MUTANTS:
        raise ValueError(f"unknown multi-cluster mutant {config.mutant!r}")
    if config.workload != "mixed":
        raise ValueError("a multi-cluster run has its own client script; --workload is mixed")
    names = set(cluster_names(config.clusters))
    kinds = () if config.faults == "swarm" else config.faults
    wrong = [kind for kind in kinds if kind not in REPLICATION_FAULT_KINDS]
    if wrong:
        raise ValueError(f"a multi-cluster run takes only replication faults, not {wrong[0]}")
    for item in config.plan.items if config.plan is not None else ():
        if item.kind not in REPLICATION_FAULT_KINDS or not _fits(item, names):
            raise ValueError(f"a {item.kind} fault cannot target {item.target!r}")


def _fits(item: FaultItem, names: set[str]) -> bool:
    if item.kind == "cluster-partition":
        a, sep, b = item.target.partition("|")
        return bool(sep) and a in names and b in names and a != b
    if item.kind in FAILOVER_KINDS:
        return item.target in names
    return item.target == "*"


def plan_for(config: SimConfig, rng: random.Random) -> tuple[FaultPlan, dict[str, float]]:
    """The plan a run uses and the swarm choice; drawn even when the config gives a
    plan (which then wins), so the run's later draws are the same (`sim.faults`)."""
    if config.faults == "swarm":
        kinds = [kind for kind in REPLICATION_FAULT_KINDS if rng.random() < 0.5]
        swarm = {kind: round(rng.uniform(0.1, 1.0), 3) for kind in kinds}
    else:
        kinds, swarm = list(config.faults), {}
    names = cluster_names(config.clusters)
    items: list[FaultItem] = []
    for kind in kinds:
        items.extend(_items(rng, kind, swarm.get(kind, 0.5), names))
    items.sort(key=lambda i: (i.at, i.kind, i.target))
    if config.plan is not None:
        return config.plan, {}
    return FaultPlan(tuple(items)), dict(sorted(swarm.items()))


def _items(
    rng: random.Random, kind: str, intensity: float, names: Sequence[str]
) -> list[FaultItem]:
    out = []
    for _ in range(1 + int(2 * intensity)):
        at = int(rng.random() * FAULT_WINDOW)
        duration = 100 * MS + int(rng.random() * intensity * SECOND)
        if kind == "cluster-partition":
            a, b = rng.sample(list(names), 2)
            out.append(FaultItem(kind, at, duration, f"{a}|{b}"))
        elif kind == "failover-forced":
            # Forced failover is what an operator does when the active cluster cannot be
            # reached: it comes with a partition that cuts the new active cluster off.
            target = rng.choice(list(names))
            other = rng.choice([n for n in names if n != target])
            out.append(FaultItem(kind, at, 0, target))
            cut = "|".join(sorted((target, other)))
            out.append(FaultItem("cluster-partition", max(0, at - 20 * MS), duration, cut))
        elif kind == "failover-graceful":
            out.append(FaultItem(kind, at, 0, rng.choice(list(names))))
        elif kind == "replication-lag":
            lag = 10 * MS + int(rng.random() * intensity * 400 * MS)
            out.append(FaultItem(kind, at, duration, "*", (("max_ns", lag),)))
        else:
            rate = round(0.05 + 0.5 * intensity * rng.random(), 3)
            out.append(FaultItem(kind, at, duration, "*", (("rate", rate),)))
    return out
