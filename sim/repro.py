"""Repro files: a failing simulation written down so that anyone can run it again.

Theory of operation. A simulation is a function of its `SimConfig`, so a failure is
reproduced by its config alone - provided the config does not depend on anything the
run derives afresh. A repro therefore always carries an explicit fault plan (never
``"swarm"`` or a list of kinds to be generated from the seed), and next to the config
it records what the run is expected to show: the ID of the invariant it violates and
the hash of its trace. Replaying the file runs the config and compares both; an equal
trace hash means the very same run happened, event for event.

The file is JSON, one object::

    {"format": "tmodel-simulate-repro", "version": 1,
     "config": {...sim.config.to_json...},
     "expect": {"violation": "INV-...", "trace_hash": "<sha256 hex>"},
     "shrink": {"steps": [...], "simulations": N}}      (optional, informative)

This module only turns a `Repro` into text and back; reading and writing files is the
adapters' business (`adapters/simulate_cmd.py`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sim.cluster import check_config
from sim.config import SimConfig, from_json, to_json
from sim.run import RunResult, simulate
from sim.shrink import Shrunk

FORMAT = "tmodel-simulate-repro"
VERSION = 1


class ReproError(ValueError):
    """The text is not a repro file this version understands (the message says why)."""


def from_shrunk(shrunk: Shrunk) -> Repro:
    """The repro of a shrunk run: its explicit config, what it violates, how it got there."""
    return Repro(
        config=shrunk.config,
        violation=shrunk.violation.id,
        trace_hash=shrunk.result.trace_hash,
        shrink_steps=shrunk.steps,
        simulations=shrunk.simulations,
    )


@dataclass(frozen=True, slots=True)
class Repro:
    """A run to replay and what it must show."""

    config: SimConfig  # with an explicit plan (the shrinker always pins one)
    violation: str  # the invariant ID the run violates
    trace_hash: str  # the trace hash the run produces
    shrink_steps: tuple[str, ...] = ()  # how the config was shrunk, for the reader
    simulations: int = 0  # simulations the shrinking took


@dataclass(frozen=True, slots=True)
class Replay:
    """The outcome of replaying a repro."""

    repro: Repro
    result: RunResult

    @property
    def same_trace(self) -> bool:
        return self.result.trace_hash == self.repro.trace_hash

    @property
    def violated(self) -> bool:
        """The expected invariant is violated again."""
        return any(v.id == self.repro.violation for v in self.result.violations)


def dumps(repro: Repro) -> str:
    """The repro as JSON text (sorted keys, so equal repros give equal files)."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "config": json.loads(to_json(repro.config)),
        "expect": {"violation": repro.violation, "trace_hash": repro.trace_hash},
        "shrink": {"steps": list(repro.shrink_steps), "simulations": repro.simulations},
    }
    return json.dumps(doc, sort_keys=True, indent=2) + "\n"


def loads(text: str) -> Repro:
    """Parse a repro file's text; raises `ReproError` with a one-line reason."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReproError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise ReproError("not a repro file (JSON nested too deeply)") from None
    except ValueError as exc:  # an integer with too many digits
        raise ReproError(f"not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ReproError(f'not a repro file (no "format": "{FORMAT}")')
    version = doc.get("version")
    # True and 1.0 equal 1 in Python: the type is checked too.
    if type(version) is not int or version != VERSION:
        raise ReproError(f"repro format version {version!r} (this is {VERSION})")
    expect, config = doc.get("expect"), doc.get("config")
    if not isinstance(expect, dict) or not isinstance(config, dict):
        raise ReproError('needs "config" and "expect" objects')
    violation, trace_hash = expect.get("violation"), expect.get("trace_hash")
    if not isinstance(violation, str) or not isinstance(trace_hash, str):
        raise ReproError('"expect" needs "violation" and "trace_hash" strings')
    if config.get("only") == []:
        # A run that starts no workflow reproduces nothing; the shrinker keeps one at least.
        raise ReproError('bad config: "only" names no workflow (give at least one index)')
    try:
        parsed = from_json(json.dumps(config))
        check_config(parsed)
    except ValueError as exc:
        raise ReproError(f"bad config: {exc}") from None
    steps, simulations = _shrink(doc.get("shrink", {}))
    return Repro(parsed, violation, trace_hash, steps, simulations)


def _shrink(shrink: object) -> tuple[tuple[str, ...], int]:
    """The optional "shrink" object: its steps (strings) and its simulation count."""
    if not isinstance(shrink, dict):
        raise ReproError('"shrink" must be an object')
    steps = shrink.get("steps", [])
    if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
        raise ReproError('"shrink": "steps" must be a list of strings')
    runs = shrink.get("simulations", 0)
    if type(runs) is not int or runs < 0:
        raise ReproError('"shrink": "simulations" must be a whole number, 0 or more')
    return tuple(steps), runs


def replay(repro: Repro) -> Replay:
    """Run the repro's config once."""
    return Replay(repro, simulate(repro.config))
