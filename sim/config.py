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

INSTANT_KINDS = frozenset({"shard-move"})
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

    def __post_init__(self) -> None:
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
    return json.dumps(data, sort_keys=True, indent=2)


def from_json(text: str) -> SimConfig:
    """The inverse of `to_json`; raises ValueError on a malformed text."""
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
        faults = tuple(str(kind) for kind in raw_faults)
        unknown = sorted(set(faults) - set(FAULT_KINDS))
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
        seed=_int(data.get("seed", 0)),
        workflows=_int(data.get("workflows", 200)),
        workload=str(data.get("workload", "mixed")),
        faults=faults,
        plan=plan,
        mutant=None if mutant is None else str(mutant),
        max_virtual_time=_int(data.get("max_virtual_time", DEFAULT_MAX_VIRTUAL_TIME)),
        only=None if raw_only is None else tuple(_int(i) for i in raw_only),
    )


def _item(raw: object) -> FaultItem:
    if not isinstance(raw, dict):
        raise ValueError("a fault item must be an object")
    kind = str(raw["kind"])
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind: {kind}")
    params: list[tuple[str, ParamValue]] = []
    for pair in raw.get("params", []):
        key, value = pair
        if not isinstance(value, int | float | str):
            raise ValueError(f"fault parameter {key} must be a number or a string")
        params.append((str(key), value))
    return FaultItem(
        kind=kind,
        at=_int(raw["at"]),
        duration=_int(raw["duration"]),
        target=str(raw["target"]),
        params=tuple(params),
    )


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value
