"""`tmodel bench trace`: how TLA+ trace validation scales with parallelism.

For 4, 8, 16 and 32 concurrent activities, a history written by the pure history
service (`sim.concurrent_history`) is trace-validated against WorkflowExecution with
TLC (`adapters.tlc_trace.validate_events`, one TLC process with one worker): the wall
time of the TLC run, JVM start included, and the history's length. A history that is
not accepted makes the figures meaningless and raises. Without ``java`` or the
``tla2tools.jar`` the benchmark prints a note on stderr and no figures.
"""

from __future__ import annotations

import argparse
import sys

from adapters.bench import Figure
from adapters.tlc import TlcUnavailable, find_toolchain
from adapters.tlc_trace import validate_events
from sim.concurrent_history import concurrent_activities_history

WIDTHS = (4, 8, 16, 32)
TIMEOUT = 600.0  # seconds per history (8 activities took over 300 s before the pruning)


def bench_trace(args: argparse.Namespace) -> list[Figure]:
    """Seconds to trace-validate a history of each width of `WIDTHS` (best of --repeat)."""
    try:
        toolchain = find_toolchain()
    except TlcUnavailable as exc:
        print(f"bench trace: skipped: {exc}", file=sys.stderr)
        return []
    repeat = getattr(args, "repeat", 1)
    figures: list[Figure] = []
    for width in WIDTHS:
        events = concurrent_activities_history(width)
        label = f"{width} concurrent activities"
        best = float("inf")
        for _ in range(repeat):
            report = validate_events(toolchain, events, label, timeout=TIMEOUT)
            if not report.accepted:
                raise RuntimeError(f"trace validation rejected {label}: {report.reason}")
            best = min(best, report.seconds)
        figures += [
            Figure("trace", f"{width}_concurrent_activities_events", len(events), "events"),
            Figure("trace", f"{width}_concurrent_activities_tlc_seconds", best, "s"),
        ]
    return figures
