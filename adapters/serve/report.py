"""The invariant report of `tmodel serve`: `--json-report FILE`, and the lines printed
when the server is stopped (SIGTERM or SIGINT).

The monitor (sim/invariants.py) checks some invariants as commits happen; the report
adds the checks the simulator makes at the end of a run that mean something while
callers still run workflows (`final_checks`), then lists every invariant with how it
was checked and whether it held, and every violation with its run.

Some of the simulator's invariants cannot be checked here, and the report says why:
the workflow code and the activities run in the callers' workers (THM-3.1's replay,
INV-ACTIVITY-AT-LEAST-ONCE), and a live workflow may rightly stay open for ever or be
started again under its id (INV-EVENTUALLY-CLOSED, INV-WORKFLOW-EXACTLY-ONCE).
"""

from __future__ import annotations

import datetime
import time
from typing import TYPE_CHECKING, Any

from sim.result import lost_tasks, matching_problems

if TYPE_CHECKING:
    from .chaos import LiveFaults
    from .runtime import Runtime

HISTORY_RULES = "H1-H19"  # the validator's rule ids, reported together
CHECKED: tuple[tuple[str, str], ...] = (
    ("INV-SINGLE-SHARD-WRITER", "every commit: its range id is the shard row's"),
    ("INV-RUN-CLOSES-ONCE", "every commit: nothing after a run's close, one close"),
    (HISTORY_RULES, "each run's history when it closes; every open run's at the report"),
    ("INV-RESULT-AT-MOST-ONCE", "each run's history when it closes and at the report"),
    (
        "INV-DURABLE-HISTORY",
        "at the report: every run as the store holds it (read back from the file with "
        "--store) equals what was committed",
    ),
    (
        "INV-NO-LOST-TASK",
        "matching's ledgers, and at the report every waiting task is in matching or the outbox",
    ),
    ("INV-RETENTION", "each deletion: the run closed, and its retention is over"),
    (
        "INV-ARCHIVED-BEFORE-DELETE",
        "with --archive, each deletion: the archive reads back equal to every committed "
        "event; at the report: every deleted run's archive still reads back as it was",
    ),
)
NOT_CHECKED: tuple[tuple[str, str], ...] = (
    ("THM-3.1", "the workflow code runs in the callers' workers, not in the server"),
    ("INV-ACTIVITY-AT-LEAST-ONCE", "activities run in the callers' workers, unseen"),
    ("INV-WORKFLOW-EXACTLY-ONCE", "a caller may start a workflow id again after it closed"),
    ("INV-EVENTUALLY-CLOSED", "a live workflow may rightly wait for ever"),
)


def final_checks(runtime: Runtime) -> None:
    """The end-of-run checks that hold for a live server, once, at the report."""
    runtime.kernel.run_due()  # history checks scheduled by the last closes
    monitor, persistence = runtime.monitor, runtime.persistence
    stored = runtime.store.read().runs if runtime.store is not None else persistence.runs
    monitor.finish_histories({run_id: record.events for run_id, record in stored.items()})
    monitor.finish_tasks(matching_problems(runtime.cluster), lost_tasks(runtime.cluster))


def _family(invariant: str) -> str:
    return HISTORY_RULES if invariant[:1] == "H" and invariant[1:].isdigit() else invariant


def build(runtime: Runtime, faults: LiveFaults | None, seed: int, started: float) -> dict[str, Any]:
    """The report of what the server saw since it started at `started` (monotonic
    seconds); run `final_checks` first."""
    monitor = runtime.monitor
    found: dict[str, int] = {}
    for v in monitor.violations:
        found[_family(v.id)] = found.get(_family(v.id), 0) + 1
    runs = runtime.persistence.runs
    closed = sum(1 for record in runs.values() if not record.state.running)
    violations = [
        {
            "invariant": v.id,
            "message": v.message,
            "run_id": v.run_id,
            "workflow_id": monitor.workflow_of.get(v.run_id or "", None),
            "time": _iso(v.time),
        }
        for v in monitor.violations
    ]
    return {
        "ok": not violations,
        "seed": seed,
        "mutant": runtime.mutant,
        "store": runtime.store.path if runtime.store is not None else None,
        "uptime_s": round(time.monotonic() - started, 3),
        "runs": {"total": len(runs), "closed": closed, "events": monitor.events},
        "faults": faults.document() if faults is not None else None,
        "invariants": [
            {"id": i, "checked": how, "held": i not in found, "violations": found.get(i, 0)}
            for i, how in CHECKED
        ]
        + [{"id": i, "checked": None, "why_not": why} for i, why in NOT_CHECKED],
        "violations": violations,
    }


def _iso(ns: int) -> str:
    when = datetime.datetime.fromtimestamp(ns / 1e9, tz=datetime.UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def lines(report: dict[str, Any]) -> list[str]:
    """The report as the few lines printed when the server stops."""
    runs = report["runs"]
    out = [
        f"tmodel serve: report: {runs['total']} runs ({runs['closed']} closed), "
        f"{runs['events']} events in {report['uptime_s']} s"
    ]
    faults = report["faults"]
    if faults is not None:
        injected = ", ".join(f"{k} {n}" for k, n in faults["injected"].items()) or "none yet"
        out.append(
            f"tmodel serve: faults {faults['faults']} seed {report['seed']}: "
            f"{len(faults['schedule'])} scheduled in {faults['windows']} windows "
            f"(schedule sha256 {faults['schedule_sha256'][:16]}); injected: {injected}"
        )
    for entry in report["invariants"]:
        if entry["checked"] is None:
            continue
        verdict = "held" if entry["held"] else f"VIOLATED {entry['violations']} times"
        out.append(f"tmodel serve: {entry['id']}: {verdict}")
    for v in report["violations"][:20]:
        where = f" run {v['run_id']} (workflow {v['workflow_id']})" if v["run_id"] else ""
        out.append(f"tmodel serve: VIOLATION {v['invariant']}{where}: {v['message']}")
    if len(report["violations"]) > 20:
        out.append(f"tmodel serve: and {len(report['violations']) - 20} more violations")
    return out
