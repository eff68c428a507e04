"""What the fuzz suite feeds to which command: the real documents it mutates and the
command line for each (every `tmodel` command that reads a file)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sim.config import SimConfig
from sim.repro import dumps, from_shrunk
from sim.run import simulate
from sim.shrink import shrink
from tests.conftest import HISTORIES
from tests.core.statemachine.replay.test_twins import TWINNED, TWINS, twin_of
from tests.fuzz.harness import MEMORY_BYTES

TWINS_MODULE = "adapters.conform.twins"
# Small histories whose events WorkflowExecution.tla models (TLC runs are slow).
TRACEABLE = ("timers.json", "activity-single.json", "signals.json", "activity-retry.json")


@dataclass(frozen=True)
class Target:
    """A command under fuzz: the documents it reads, its command line, its time limit."""

    name: str
    documents: Callable[[], dict[str, Any]]  # document name -> parsed JSON
    argv: Callable[[str, str], list[str]]  # (document name, mutant's path) -> argv
    seconds: float  # the time limit of one run
    # The address space the child may take (RLIMIT_AS); 0 for none: a JVM reserves more
    # than the bound up front (its resident memory is still checked against it).
    memory_bytes: int = MEMORY_BYTES


@cache
def histories() -> dict[str, Any]:
    return {name: json.loads((HISTORIES / name).read_text(encoding="utf-8")) for name in TWINNED}


def traceable() -> dict[str, Any]:
    return {name: histories()[name] for name in TRACEABLE}


@cache
def repros() -> dict[str, Any]:
    """A real repro file: a failing run (a seeded bug) shrunk by the simulator's shrinker."""
    # Seed 4: the first whose swarm faults make a sticky-cache miss under these draws of
    # the mixed workload (seed 1 was, until CancelAtDeadline joined it).
    config = SimConfig(seed=4, workflows=3, mutant="skip-replay")
    shrunk = shrink(config, simulate(config))
    return {"skip-replay.repro.json": json.loads(dumps(from_shrunk(shrunk)))}


def twin(name: str) -> str:
    """The --workflow argument for a history: its twin in the replay tests."""
    return f"{TWINS_MODULE}:{TWINS[twin_of(name)].cls.__name__}"


TARGETS = {
    "validate": Target("validate", histories, lambda _, path: ["validate", path], 10.0),
    "conform": Target("conform", histories, lambda _, path: ["conform", path], 10.0),
    "replay": Target(
        "replay",
        histories,
        lambda name, path: ["replay", path, "--workflow", twin(name)],
        10.0,  # the deadlock bound is 2 s
    ),
    "simulate --repro": Target(
        "simulate --repro", repros, lambda _, path: ["simulate", "--repro", path], 60.0
    ),
    "tlc --trace": Target(
        "tlc --trace", traceable, lambda _, path: ["tlc", "--trace", path], 120.0, 0
    ),
}
