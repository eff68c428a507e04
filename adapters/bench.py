"""`tmodel bench [NAME ...] [--json]`: the project's one benchmark entry point.

Benchmarks are measurements, not tests: they print figures and never fail on a
threshold (targets live in the issues and the README). Each benchmark is a function
returning a list of `Figure`s; later issues register theirs in `BENCHMARKS`.
``--json`` prints a list of ``{"bench", "metric", "value", "unit"}``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from adapters.argtypes import HelpFormatter, cpu_count, positive_up_to
from adapters.console import progress, summary_table
from adapters.temporal_json import write_events
from core.events import HistoryEvent


@dataclass(frozen=True, slots=True)
class Figure:
    bench: str
    metric: str
    value: float
    unit: str


Bench = Callable[[argparse.Namespace], list[Figure]]


def best_seconds(
    work: Callable[[], object], repeat: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    """The shortest of `repeat` timed runs of `work` on `clock`, each after a collection."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = clock()
        work()
        best = min(best, clock() - start)
    return best


def peak_bytes(work: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def write_history_json(events: Iterable[HistoryEvent], path: str) -> int:
    """Stream a history to `path` in canonical protojson; return the file's size."""
    with open(path, "wb") as out:
        write_events(events, out)
    return os.path.getsize(path)


def bench_validate(args: argparse.Namespace) -> list[Figure]:
    """Validation of generated histories: the pure step, memory, and JSON end to end."""
    from adapters.bench_validate import bench_validate as run_validate  # it imports Figure

    return run_validate(args)


def bench_check(args: argparse.Namespace) -> list[Figure]:
    """TwoPhase with 7 RMs: our checker (full and symmetric) against TLC, in one run."""
    from adapters.bench_check import bench_check as run_check  # it imports Figure from here

    return run_check(args)


def bench_service(args: argparse.Namespace) -> list[Figure]:
    """The pure history service on a mixed workload: requests/s through `handle`."""
    from adapters.bench_service import bench_service as run_service  # it imports Figure

    return run_service(args)


def bench_replay(args: argparse.Namespace) -> list[Figure]:
    """Cold replay of the twinned real corpus: ours against temporalio's Replayer."""
    from adapters.bench_replay import bench_replay as run_replay  # it imports Figure

    return run_replay(args)


def bench_simulate(args: argparse.Namespace) -> list[Figure]:
    """The cluster simulator: events per wall second; a real dev server's, if installed."""
    from adapters.bench_simulate import bench_simulate as run_simulate  # it imports Figure

    return run_simulate(args)


def bench_serve(args: argparse.Namespace) -> list[Figure]:
    """`tmodel serve` against the real dev server on one workload, and time skipping."""
    from adapters.bench_serve import bench_serve as run_serve  # it imports Figure

    return run_serve(args)


def bench_trace(args: argparse.Namespace) -> list[Figure]:
    """TLA+ trace validation of histories with 4 to 32 concurrent activities."""
    from adapters.bench_trace import bench_trace as run_trace  # it imports Figure from here

    return run_trace(args)


# Upper bounds of the count options: each bounds a benchmark's time and memory (a
# history of --events events is held in memory; --e2e-events is written to a file).
MAX_EVENTS = 5_000_000
MAX_E2E_EVENTS = 2_000_000
MAX_REPEAT = 100
MAX_WORKFLOWS = 100_000
MAX_JOBS = 1024
MAX_REPLAY_EVENTS = 2_000_000
MAX_SDK_EVENTS = 100_000

BENCHMARKS: dict[str, Bench] = {
    "validate": bench_validate,
    "check": bench_check,
    "service": bench_service,
    "replay": bench_replay,
    "simulate": bench_simulate,
    "serve": bench_serve,
    "trace": bench_trace,
}


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "bench",
        formatter_class=HelpFormatter,
        help="run benchmarks and print figures",
        description=f"Run benchmarks (default: all of {', '.join(BENCHMARKS)}).",
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default all), any of: {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list of figures")
    parser.add_argument(
        "--events",
        type=positive_up_to(MAX_EVENTS),
        default=1_000_000,
        help="history length (default 1000000, at most 5000000)",
    )
    parser.add_argument(
        "--e2e-events",
        type=positive_up_to(MAX_E2E_EVENTS),
        default=220_000,
        help="validate: events of the file validated end to end (default 220000, at most 2000000)",
    )
    parser.add_argument(
        "--repeat",
        type=positive_up_to(MAX_REPEAT),
        default=3,
        help="timed repetitions, best taken (default 3, at most 100)",
    )
    parser.add_argument(
        "--workflows",
        type=positive_up_to(MAX_WORKFLOWS),
        default=2000,
        help="service, simulate: workflows in the mixed workload (default 2000, at most 100000)",
    )
    parser.add_argument(
        "--jobs",
        type=positive_up_to(MAX_JOBS),
        default=cpu_count(),
        help="simulate: processes for the seed sweep (default: one per core; 1 skips it; at "
        "most 1024)",
    )
    parser.add_argument(
        "--replay-events",
        type=positive_up_to(MAX_REPLAY_EVENTS),
        default=200_000,
        help="replay: events our replay runs through (default 200000, at most 2000000)",
    )
    parser.add_argument(
        "--sdk-events",
        type=positive_up_to(MAX_SDK_EVENTS),
        default=5_000,
        help="replay: events both replayers run through for the comparison (default 5000, "
        "at most 100000)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    names = args.names or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(
            f"tmodel bench: unknown benchmark {unknown[0]!r} (known: {', '.join(BENCHMARKS)})",
            file=sys.stderr,
        )
        return 2
    figures: list[Figure] = []
    with progress("bench", total=len(names), enabled=not args.json, unit="benchmarks") as advance:
        for name in names:
            figures.extend(BENCHMARKS[name](args))
            advance(1)
    if args.json:
        print(json.dumps([asdict(f) for f in figures], indent=2))
    else:
        summary_table(
            "bench",
            [(f"{f.bench}.{f.metric}", f"{f.value:,.1f} {f.unit}") for f in figures],
        )
    return 0
