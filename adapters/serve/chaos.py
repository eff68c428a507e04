"""`tmodel serve --faults LIST|swarm --seed N`: the simulator's faults, injected live.

Theory of operation. The simulator draws a fault plan from a seed (sim/faults.py) and
its cluster switches each fault on and off at its time (`ServerCluster.inject`: a host
crash and restart, a shard move, a network, clock or store fault). The live server runs
the same server nodes, so it injects the same plans the same way; only the clock is
real. A server runs without end while a simulation run ends, so the plan is drawn
window after window: window k covers [k x 20 s, (k + 1) x 20 s) from the start, and its
plan comes from an RNG of its own seeded with (seed, k). The schedule (which faults, at
what times, on which targets, how hard) is therefore a function of the seed alone:
the same seed gives the same schedule whatever the callers do. What a rate fault hits
(which message is lost, which write fails) is drawn from the server's RNG as calls
arrive, so that depends on the workload and its timing too.

The kinds are the simulator's but for worker-crash: the workers are the callers' own
processes. With ``swarm`` each window picks its own mix of the other kinds and their
intensities, as each simulator seed does.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.config import FAULT_KINDS, FaultItem, FaultPlan, SimConfig
from sim.faults import FAULT_WINDOW, plan_for
from sim.kernel import MS
from sim.server import SHARDS, ServerCluster

if TYPE_CHECKING:
    from .runtime import Runtime

LIVE_KINDS = tuple(kind for kind in FAULT_KINDS if kind != "worker-crash")  # serve_cmd's too
Spec = tuple[str, ...] | str  # kinds, or "swarm"


@dataclass(frozen=True, slots=True)
class Window:
    index: int
    plan: FaultPlan
    swarm: dict[str, float]


def draw_window(spec: Spec, seed: int, index: int) -> Window:
    """Window `index`'s plan: a function of the spec, the seed and the index alone."""
    rng = random.Random(f"tmodel-serve-faults/{seed}/{index}")  # str seeds: SHA-512
    if spec == "swarm":
        config = SimConfig(seed=seed, faults="swarm")
    else:
        config = SimConfig(seed=seed, faults=tuple(spec))
    nodes = ServerCluster.server_node_names()
    plan, swarm = plan_for(config, rng, nodes, SHARDS, LIVE_KINDS)
    return Window(index, plan, swarm)


def item_document(window: int, item: FaultItem) -> dict[str, Any]:
    """A scheduled fault as the report lists it (times in ms from the server's start)."""
    return {
        "window": window,
        "kind": item.kind,
        "at_ms": (window * FAULT_WINDOW + item.at) // MS,
        "duration_ms": item.duration // MS,
        "target": item.target,
        "params": dict(item.params),
    }


class LiveFaults:
    """The windows drawn so far, each scheduled on the runtime's kernel."""

    def __init__(self, runtime: Runtime, spec: Spec, seed: int) -> None:
        self.runtime = runtime
        self.spec = spec
        self.seed = seed
        self.windows: list[Window] = []
        self.origin = 0

    def start(self) -> None:
        self.origin = self.runtime.kernel.tick()
        self._open(0)

    def _open(self, index: int) -> None:
        window = draw_window(self.spec, self.seed, index)
        self.windows.append(window)
        origin = self.origin + index * FAULT_WINDOW
        self.runtime.cluster.schedule_faults(window.plan, origin, self.runtime.inject)
        self.runtime.kernel.at(origin + FAULT_WINDOW, self._open, index + 1)

    def schedule(self) -> list[dict[str, Any]]:
        """Every fault of the windows begun so far."""
        return [item_document(w.index, item) for w in self.windows for item in w.plan.items]

    def document(self) -> dict[str, Any]:
        schedule = self.schedule()
        text = json.dumps(schedule, sort_keys=True, separators=(",", ":"))
        return {
            "faults": self.spec if self.spec == "swarm" else list(self.spec),
            "window_ms": FAULT_WINDOW // MS,
            "windows": len(self.windows),
            "swarm": [{"window": w.index, "intensity": w.swarm} for w in self.windows],
            "schedule": schedule,
            "schedule_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "injected": dict(sorted(self.runtime.faults.injected.items())),
        }
