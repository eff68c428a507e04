"""What `tmodel simulate` prints: the report (violations, the summary table, the shrunk
repro and how to replay it) and the ``--json`` document. ``--out`` is `simulate_out`."""

from __future__ import annotations

import re
import shlex
import sys
import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from adapters.console import summary_table
from sim.config import FAULT_KINDS, REPLICATION_FAULT_KINDS, SimConfig
from sim.faults import INTENSITY_MEANING
from sim.invariants import EVENTUALLY_BOUND
from sim.kernel import SECOND
from sim.multicluster_faults import REPL_INTENSITY_MEANING, REPL_INVARIANTS
from sim.repro import Repro
from sim.retention import RETENTION_INVARIANTS
from sim.run import RunResult, Violation
from sim.shrink import Shrunk, elapsed
from sim.workloads import WORKLOADS


@dataclass(frozen=True, slots=True)
class Outcome:
    """One seed's run and the wall time it took."""

    config: SimConfig
    result: RunResult
    wall_seconds: float


# What every run checks (`sim/invariants.py`; IDs of spec/README.md), each with what it
# says. A test keeps this list and the monitor in step.
INVARIANTS: tuple[tuple[str, str], ...] = (
    ("INV-SINGLE-SHARD-WRITER", "every commit carries its shard's current range id"),
    ("INV-RUN-CLOSES-ONCE", "a run closes once and nothing is committed after"),
    ("INV-RESULT-AT-MOST-ONCE", "one result per activity, one fire per timer"),
    ("INV-DURABLE-HISTORY", "persistence holds, event for event, what was committed"),
    ("INV-ACTIVITY-AT-LEAST-ONCE", "a recorded activity completion was run by a worker"),
    ("INV-WORKFLOW-EXACTLY-ONCE", "no workflow closes for good twice"),
    ("INV-NO-LOST-TASK", "a pending task is in matching or the outbox, never lost"),
    (
        "INV-EVENTUALLY-CLOSED",
        f"every workflow closes within {EVENTUALLY_BOUND // SECOND} s after the faults heal",
    ),
    ("THM-3.1", "replaying each closed history cold gives the commands it holds"),
    ("H1..H19", "each closed history passes the validator (spec/history.md)"),
)
_RULE = re.compile(r"H\d+")
_TEXT_WIDTH = 88


def invariant_ids(multi: bool = False) -> tuple[str, ...]:
    """The invariants every run checks (their IDs, spec/README.md); `multi`: those of a
    multi-cluster run."""
    return tuple(name for name, _ in _checked(multi))


def _checked(multi: bool) -> tuple[tuple[str, str], ...]:
    return REPL_INVARIANTS if multi else INVARIANTS


def checked_rows(outcomes: Sequence[Outcome]) -> list[tuple[str, str]]:
    """(id, what it says) of every invariant these runs checked: the cluster's, each
    workload's own (sim/workloads.py `invariants`), and retention's where it was on."""
    rows = list(_checked(any(o.config.clusters > 1 for o in outcomes)))
    for o in outcomes:
        rows += [r for r in WORKLOADS[o.config.workload].invariants if r not in rows]
        if o.config.retention:  # a run with retention checks its deletions too
            rows += [r for r in RETENTION_INVARIANTS if r not in rows]
    return rows


def checked_as(violation_id: str) -> str:
    """The row of `INVARIANTS` a violation counts against (a history rule: H1..H19)."""
    return "H1..H19" if _RULE.fullmatch(violation_id) else violation_id


def repro_command(path: str) -> str:
    return f"tmodel simulate --repro {shlex.quote(path)}"


# --------------------------------------------------------------------------- JSON


def _violation(v: Violation) -> dict[str, Any]:
    return {"id": v.id, "message": v.message, "time": v.time, "run_id": v.run_id}


def seed_document(outcome: Outcome) -> dict[str, Any]:
    r = outcome.result
    return {
        "seed": r.seed,
        "trace_hash": r.trace_hash,
        "workflows": r.workflows,
        "events": r.events,
        "requests": r.requests,
        "faults": dict(sorted(r.faults.items())),
        "swarm": dict(sorted(r.swarm.items())),
        "violations": [_violation(v) for v in r.violations],
        "virtual_ns": r.virtual_ns,
        "wall_seconds": round(outcome.wall_seconds, 6),
    }


def document(
    outcomes: Sequence[Outcome],
    shrunk: Shrunk | None,
    repro_path: str | None,
    replayed: Repro | None,
    out: Path | None,
) -> dict[str, Any]:
    """The ``--json`` document."""
    doc: dict[str, Any] = {
        "seeds": [seed_document(o) for o in outcomes],
        "summary": _totals(outcomes),
        "out": str(out) if out is not None else None,
        "shrunk": None,
        "replay": None,
    }
    if shrunk is not None and repro_path is not None:
        doc["shrunk"] = {
            "seed": shrunk.original.seed,
            "violation": shrunk.violation.id,
            "workflows": len(shrunk.config.started()),
            "workflow_ids": [f"wf-{i}" for i in shrunk.config.started()],
            "faults": len(shrunk.config.plan.items) if shrunk.config.plan else 0,
            "max_virtual_time": shrunk.config.max_virtual_time,
            "trace_hash": shrunk.result.trace_hash,
            "steps": list(shrunk.steps),
            "simulations": shrunk.simulations,
            "repro": repro_path,
            "command": repro_command(repro_path),
        }
    if replayed is not None:
        result = outcomes[0].result
        doc["replay"] = {
            "repro": repro_path,
            "expected_violation": replayed.violation,
            "expected_trace_hash": replayed.trace_hash,
            "same_trace": result.trace_hash == replayed.trace_hash,
            "violated": any(v.id == replayed.violation for v in result.violations),
        }
    return doc


def _totals(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    faults: Counter[str] = Counter()
    violated: Counter[str] = Counter()
    for o in outcomes:
        faults.update(o.result.faults)
        violated.update(v.id for v in o.result.violations)
    return {
        "seeds": len(outcomes),
        "workflows": sum(o.result.workflows for o in outcomes),
        "events": sum(o.result.events for o in outcomes),
        "requests": sum(o.result.requests for o in outcomes),
        "faults": dict(sorted(faults.items())),
        "invariants_checked": [name for name, _ in checked_rows(outcomes)],
        "violated": dict(sorted(violated.items())),
        "failing_seeds": [o.result.seed for o in outcomes if o.result.violations],
        "virtual_ns": sum(o.result.virtual_ns for o in outcomes),
        "wall_seconds": round(sum(o.wall_seconds for o in outcomes), 6),
    }


# --------------------------------------------------------------------------- text


def print_report(
    outcomes: Sequence[Outcome],
    shrunk: Shrunk | None,
    repro_path: str | None,
    replayed: Repro | None,
) -> None:
    out = sys.stdout
    if len(outcomes) > 1:
        for o in outcomes:
            r = o.result
            verdict = ", ".join(sorted({v.id for v in r.violations})) or "clean"
            print(
                f"seed {r.seed:<6} {verdict:<24} events {r.events:>8,}  "
                f"faults {sum(r.faults.values()):>4}  hash {r.trace_hash[:16]}",
                file=out,
            )
    for o in outcomes:
        for v in o.result.violations[:5]:
            run = f" run {v.run_id}" if v.run_id else ""
            when = _secs(elapsed(v.time))
            print(f"VIOLATION seed {o.result.seed}: {v.id} at {when}{run}: {v.message}")
        extra = len(o.result.violations) - 5
        if extra > 0:
            print(f"  ... and {extra} more in seed {o.result.seed}")
    if replayed is not None:
        _print_replay(outcomes[0].result, replayed, repro_path)
    _summary(outcomes)
    if shrunk is not None and repro_path is not None:
        _print_shrunk(shrunk, repro_path)


def _print_replay(result: RunResult, replayed: Repro, path: str | None) -> None:
    if result.trace_hash == replayed.trace_hash:
        print(f"replayed {path}: same trace hash {result.trace_hash[:16]} (the very same run)")
    else:
        print(
            f"replayed {path}: trace hash {result.trace_hash[:16]} differs from the file's "
            f"{replayed.trace_hash[:16]} (the simulator changed since it was written)"
        )
    still = any(v.id == replayed.violation for v in result.violations)
    print(f"{replayed.violation}: {'still violated' if still else 'no longer violated'}")


def _print_shrunk(shrunk: Shrunk, path: str) -> None:
    faults = len(shrunk.config.plan.items) if shrunk.config.plan else 0
    print(
        f"shrunk seed {shrunk.original.seed} ({shrunk.violation.id}) in "
        f"{shrunk.simulations} simulations to {len(shrunk.config.started())} workflow(s), "
        f"{faults} fault(s), at most {shrunk.config.max_virtual_time / SECOND:g} s of "
        "virtual time:"
    )
    for step in shrunk.steps:
        print(f"  - {step}")
    print(f"repro written to {path}")
    print(f"replay it with:  {repro_command(path)}")


def _summary(outcomes: Sequence[Outcome]) -> None:
    totals = _totals(outcomes)
    seeds = [o.result.seed for o in outcomes]
    wall = totals["wall_seconds"]
    virtual = totals["virtual_ns"] / SECOND
    rows = [
        ("seeds", _seeds(seeds)),
        ("workload", ", ".join(sorted({o.config.workload for o in outcomes}))),
        *[("clusters", str(o.config.clusters)) for o in outcomes[:1] if o.config.clusters > 1],
        ("workflows", f"{totals['workflows']:,}"),
        ("history events", f"{totals['events']:,}"),
        ("requests handled", f"{totals['requests']:,}"),
        ("faults injected", f"{sum(totals['faults'].values()):,}"),
    ]
    rows += [(f"  {kind}", f"{count:,}") for kind, count in totals["faults"].items()]
    violated = totals["violated"]
    rows += [
        ("invariants violated", ", ".join(violated) if violated else "none"),
        ("failing seeds", _seeds(totals["failing_seeds"]) if totals["failing_seeds"] else "none"),
        ("virtual time", f"{virtual:,.1f} s"),
        ("wall time", f"{wall:.2f} s"),
        ("virtual / wall", f"{virtual / wall:,.0f} x" if wall > 0 else "-"),
        ("events / wall s", f"{totals['events'] / wall:,.0f}" if wall > 0 else "-"),
    ]
    verdict = "violation" if violated else "no violation"
    summary_table(f"simulate: {verdict}", rows)
    print("\n".join(invariant_lines(outcomes)))
    if len(outcomes) == 1:
        result = outcomes[0].result
        if result.swarm:
            multi = outcomes[0].config.clusters > 1
            print("\n".join(swarm_lines(result.seed, result.swarm, multi)))
        print(
            f"trace hash {result.trace_hash} (SHA-256 of the trace; the same config gives "
            "the same hash)"
        )


def invariant_lines(outcomes: Sequence[Outcome]) -> list[str]:
    """Each invariant checked, what it says, and whether it held."""
    counts: Counter[str] = Counter()
    seeds: dict[str, list[int]] = {}
    for o in outcomes:
        for v in o.result.violations:
            counts[checked_as(v.id)] += 1
            seeds.setdefault(checked_as(v.id), []).append(o.result.seed)
    rows = checked_rows(outcomes)
    width = max(len(name) for name, _ in rows)
    lines = [f"invariants checked ({len(rows)}; their IDs are those of spec/README.md):"]
    for name, says in rows:
        verdict, note = "held", ""
        if counts[name]:
            verdict = "VIOLATED"
            note = f" ({counts[name]} time{'s' * (counts[name] != 1)}"
            note += f", seeds {_seeds(sorted(set(seeds[name])))})" if len(outcomes) > 1 else ")"
        lines.append(f"  {verdict:<8}  {name:<{width}}  {says}{note}")
    return lines


def swarm_lines(seed: int, swarm: dict[str, float], multi: bool = False) -> list[str]:
    """What swarm mode chose for a seed, and what its intensities mean (`multi`: a
    multi-cluster run, whose swarm picks among the replication faults)."""
    kinds = REPLICATION_FAULT_KINDS if multi else FAULT_KINDS
    off = [kind for kind in kinds if kind not in swarm]
    levels = ", ".join(f"{kind} {level:g}" for kind, level in swarm.items())
    meaning = REPL_INTENSITY_MEANING if multi else INTENSITY_MEANING
    text = (
        f"swarm: seed {seed} turned on {len(swarm)} of the {len(kinds)} fault kinds, "
        f"each at an intensity from 0.1 to 1, which sets {meaning}:"
    )
    wrap = partial(textwrap.wrap, width=_TEXT_WIDTH, break_on_hyphens=False)
    lines = wrap(text, subsequent_indent="  ")
    lines += wrap(levels, initial_indent="  ", subsequent_indent="  ")
    if off:
        lines.append(f"  off for this seed: {', '.join(off)}")
    return lines


def _seeds(seeds: Sequence[int]) -> str:
    if len(seeds) == 1:
        return str(seeds[0])
    if list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}..{seeds[-1]} ({len(seeds)})"
    return ", ".join(map(str, seeds))


def _secs(ns: int) -> str:
    return f"t={ns / SECOND:.3f} s"
