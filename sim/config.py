"""What a simulation run is: its seed, workload, fault plan - a stable, serialisable value.

Theory of operation. A `SimConfig` fixes a run completely: the same config gives the same
trace, byte for byte (the kernel has one seeded RNG and a virtual clock). Faults are
either named kinds (the run generates a plan for them from the seed), ``"swarm"`` (the
seed picks a random subset of kinds at random intensities, FoundationDB / TigerBeetle
style swarm testing), or an explicit `FaultPlan`, which overrides generation - that is
what a repro file and the shrinker use. `to_json` / `from_json` round-trip a config
exactly, so a repro file replays the failing run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from sim.kernel import SECOND

DEFAULT_MAX_VIRTUAL_TIME = 3_600 * SECOND
MAX_RETENTION = 30 * 86_400 * SECOND  # the longest namespace retention a run may have
MAX_WORKFLOWS = 100_000  # the most one run starts (`--workflows`, a repro's config)

# Every fault the simulator can inject; the names appear in plans, traces and counts.
FAULT_KINDS: tuple[str, ...] = (
    "worker-crash",  # a workflow/activity worker dies and restarts; sticky cache lost
    "history-crash",  # a history host dies and restarts; its shards move
    "shard-move",  # a shard moves to another history host (range id bumps)
    "matching-crash",  # a matching host dies; in-memory backlog is lost, polls fail
    "partition",  # symmetric network partition between two nodes
    "partition-oneway",  # asymmetric: messages from a to b are lost, b to a pass
    "drop",  # messages are dropped at a rate
    "duplicate",  # messages are delivered twice at a rate
    "delay",  # messages are delayed (and so reordered) at a rate
    "clock-skew",  # a host's clock runs ahead or behind
    "persistence-error",  # writes fail with a transient error at a rate
    "persistence-timeout",  # writes time out: the write may or may not have happened
)

# Faults between clusters, for multi-cluster runs only (`clusters` > 1,
# sim/multicluster_faults.py); kept apart so single-cluster swarm draws stay as they were.
REPLICATION_FAULT_KINDS: tuple[str, ...] = (
    "cluster-partition",  # no message passes between two clusters
    "replication-lag",  # cross-cluster messages are late by up to max_ns
    "replication-loss",  # cross-cluster messages are lost at a rate
    "failover-graceful",  # the namespace is handed over to the target cluster
    "failover-forced",  # the target cluster makes itself active
)
MAX_CLUSTERS = 5

INSTANT_KINDS = frozenset({"shard-move", "failover-graceful", "failover-forced"})
"""Faults that happen at a moment: their plan item's duration means nothing."""

ParamValue = float | int | str


@dataclass(frozen=True, slots=True)
class FaultItem:
    """One scheduled fault: `kind` from FAULT_KINDS, active on [at, at + duration)."""

    kind: str
    at: int  # virtual ns from the start of the run
    duration: int  # virtual ns
    target: str  # a node name ("history-1", "worker-0", ...) or "*" for all
    params: tuple[tuple[str, ParamValue], ...] = ()

    def param(self, name: str, default: ParamValue) -> ParamValue:
        for key, value in self.params:
            if key == name:
                return value
        return default


@dataclass(frozen=True, slots=True)
class FaultPlan:
    items: tuple[FaultItem, ...] = ()


@dataclass(frozen=True, slots=True)
class SimConfig:
    seed: int = 0
    workflows: int = 200
    workload: str = "mixed"
    faults: tuple[str, ...] | Literal["swarm"] = "swarm"
    plan: FaultPlan | None = None  # explicit plan overrides generation
    mutant: str | None = None  # tests only: a broken variant (sim/mutants.py)
    max_virtual_time: int = DEFAULT_MAX_VIRTUAL_TIME  # a run stops here whatever remains
    # Which of workflows 0..workflows-1 the clients start (None: all). Workflow i's
    # script, id and start time depend on the seed and i alone, so shrinking can keep
    # any subset of a failing run's workflows exactly as they were.
    only: tuple[int, ...] | None = None
    clusters: int = 1  # > 1: a global namespace replicated between clusters (multicluster)
    # The namespace's retention in virtual ns (0: closed runs are kept) and whether
    # closed histories are archived before they are deleted (sim/retention.py).
    retention: int = 0
    archival: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.clusters <= MAX_CLUSTERS:
            raise ValueError(f"clusters: must be in 1..{MAX_CLUSTERS}")
        if not 0 <= self.retention <= MAX_RETENTION:
            raise ValueError(f"retention: must be in 0..{MAX_RETENTION} ns")
        if self.archival and not self.retention:
            raise ValueError("archival: needs a retention (archival happens before deletion)")
        if self.only is not None:
            if list(self.only) != sorted(set(self.only)):
                raise ValueError("only: workflow indices must be increasing, each once")
            if self.only and not 0 <= self.only[0] <= self.only[-1] < self.workflows:
                raise ValueError(f"only: workflow indices must be in 0..{self.workflows - 1}")

    def started(self) -> tuple[int, ...]:
        """The indices of the workflows the clients start."""
        return self.only if self.only is not None else tuple(range(self.workflows))


def to_json(config: SimConfig) -> str:
    """A canonical JSON text (sorted keys) for a repro file."""
    plan = None
    if config.plan is not None:
        plan = [
            {
                "kind": item.kind,
                "at": item.at,
                "duration": item.duration,
                "target": item.target,
                "params": [[key, value] for key, value in item.params],
            }
            for item in config.plan.items
        ]
    data = {
        "seed": config.seed,
        "workflows": config.workflows,
        "workload": config.workload,
        "faults": config.faults if config.faults == "swarm" else list(config.faults),
        "plan": plan,
        "mutant": config.mutant,
        "max_virtual_time": config.max_virtual_time,
    }
    if config.only is not None:
        data["only"] = list(config.only)
    if config.clusters != 1:
        data["clusters"] = config.clusters
    if config.retention:
        data["retention"] = config.retention
        data["archival"] = config.archival
    return json.dumps(data, sort_keys=True, indent=2)


def from_json(text: str) -> SimConfig:
    """The inverse of `to_json`; raises ValueError on a malformed text, or on values no
    run of this simulator has: a negative seed, no workflows or more than
    `MAX_WORKFLOWS`, virtual time that is not positive or beyond
    `DEFAULT_MAX_VIRTUAL_TIME` (a run never goes further), a fault at a negative time
    or with a parameter out of range. Which nodes a plan may name is the cluster's
    business (`sim.cluster.check_config`)."""
    try:
        data = json.loads(text)
        return _from_dict(data)
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as error:
        raise ValueError(f"not a simulation config: {error}") from error


def _from_dict(data: dict[str, object]) -> SimConfig:
    raw_faults = data.get("faults", "swarm")
    faults: tuple[str, ...] | Literal["swarm"] = "swarm"
    if raw_faults != "swarm":
        if not isinstance(raw_faults, list):
            raise ValueError("faults must be 'swarm' or a list of fault kinds")
        faults = tuple(_str(kind, "faults") for kind in raw_faults)
        unknown = sorted(set(faults) - set(FAULT_KINDS) - set(REPLICATION_FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kinds: {', '.join(unknown)}")
    raw_plan = data.get("plan")
    plan = None
    if raw_plan is not None:
        if not isinstance(raw_plan, list):
            raise ValueError("plan must be a list of fault items")
        plan = FaultPlan(tuple(_item(raw) for raw in raw_plan))
    mutant = data.get("mutant")
    raw_only = data.get("only")
    if raw_only is not None and not isinstance(raw_only, list):
        raise ValueError("only must be a list of workflow indices")
    return SimConfig(
        seed=_int(data.get("seed", 0), "seed", 0),
        workflows=_int(data.get("workflows", 200), "workflows", 1, MAX_WORKFLOWS),
        workload=_str(data.get("workload", "mixed"), "workload"),
        faults=faults,
        plan=plan,
        mutant=None if mutant is None else _str(mutant, "mutant"),
        max_virtual_time=_int(
            data.get("max_virtual_time", DEFAULT_MAX_VIRTUAL_TIME),
            "max_virtual_time",
            1,
            DEFAULT_MAX_VIRTUAL_TIME,
        ),
        only=None if raw_only is None else tuple(_int(i, "only") for i in raw_only),
        clusters=_int(data.get("clusters", 1), "clusters", 1, MAX_CLUSTERS),
        retention=_int(data.get("retention", 0), "retention", 0, MAX_RETENTION),
        archival=_bool(data.get("archival", False), "archival"),
    )


# The parameters each fault kind takes, with their ranges: a rate is a probability; a
# delay or a clock skew longer than the longest run means nothing.
PARAMS: dict[str, dict[str, tuple[float, float]]] = {
    "drop": {"rate": (0.0, 1.0)},
    "duplicate": {"rate": (0.0, 1.0)},
    "delay": {"rate": (0.0, 1.0), "max_ns": (0, DEFAULT_MAX_VIRTUAL_TIME)},
    "persistence-error": {"rate": (0.0, 1.0)},
    "persistence-timeout": {"rate": (0.0, 1.0)},
    "clock-skew": {"skew_ns": (-DEFAULT_MAX_VIRTUAL_TIME, DEFAULT_MAX_VIRTUAL_TIME)},
    "replication-lag": {"max_ns": (0, DEFAULT_MAX_VIRTUAL_TIME)},
    "replication-loss": {"rate": (0.0, 1.0)},
}


def _item(raw: object) -> FaultItem:
    if not isinstance(raw, dict):
        raise ValueError("a fault item must be an object")
    kind = _str(raw["kind"], "kind")
    if kind not in FAULT_KINDS and kind not in REPLICATION_FAULT_KINDS:
        raise ValueError(f"unknown fault kind: {kind}")
    raw_params = raw.get("params", [])
    if not isinstance(raw_params, list):
        raise ValueError("fault params must be a list of [name, value] pairs")
    return FaultItem(
        kind=kind,
        at=_int(raw["at"], "at", 0),
        duration=_int(raw["duration"], "duration", 0),
        target=_str(raw["target"], "target"),
        params=tuple(_param(kind, pair) for pair in raw_params),
    )


def _param(kind: str, pair: object) -> tuple[str, ParamValue]:
    if not isinstance(pair, list) or len(pair) != 2:
        raise ValueError("a fault parameter must be a [name, value] pair")
    key, value = pair
    known = PARAMS.get(kind, {})
    if key not in known:
        raise ValueError(f"{kind} takes no parameter {key!r} (known: {', '.join(known)})")
    low, high = known[key]
    number = value if key == "rate" and isinstance(value, float) else None
    if number is None:
        number = _int(value, key)
    if not low <= number <= high:
        raise ValueError(f"fault parameter {key} must be in [{low:g}, {high:g}]: {value!r}")
    return key, number


def _int(value: object, name: str, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"at least {low}" if high is None else f"in {low}..{high}"
        raise ValueError(f"{name}: must be {span}, got {value}")
    return value


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name}: expected true or false, got {value!r}")
    return value


def _str(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected a string, got {value!r}")
    return value
