"""`tmodel bench service`: requests per second through the pure history service.

The mixed workload of `sim.service_bench_driver` (activities with failures and retries,
timers, signals, cancels, continue-as-new, stale timer tasks, duplicate dispatches) is
played on one core. The loop is the real one - requests are not pre-generated, since
each depends on the replies before it - but the clock is read around every service call,
so the figures separate the cost of `handle` (and `start`) from the cost of the driver:
the matching, timer queue and scripted workers around it.

Times are CPU times of this process (`time.process_time`), so a busy machine does not
make the service look slower than it is; the cost of reading the clock is measured and
taken off. Figures are the best of ``--repeat`` runs of the same seed (the same requests
each time):

- ``handle``: `handle` calls / CPU seconds inside `handle` (the issue's target:
  >= 50,000 requests/s on one core);
- ``service_state_changing``: the `handle` calls that changed the run's state / CPU
  seconds inside them: the figure without the cheap replies that change nothing
  (rejections, idempotent repeats and, the most of them, NOT_FOUND to timer tasks of
  timers already gone), whose share of all calls is ``unchanged_share``, and the stale
  NOT_FOUND's alone ``stale_not_found_share``;
- ``handle_without_cyclic_gc``: the same in a run with `gc` disabled. The frozen values
  the service allocates are tracked by the cyclic GC, and the collections they trigger
  inside `handle` are part of its cost; this figure says how much;
- ``service_start_and_handle``: `handle` and `start` calls / CPU seconds inside either;
- ``end_to_end_loop``: every request / CPU seconds of the whole loop, driver included;
- ``handle_share_of_loop``: the part of the loop spent in `handle`.

`profile_handle` runs the workload under cProfile and returns the functions that take
the most of the time spent below `handle`.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time

from adapters.bench import Figure
from core.requests import (
    Error,
    ErrorKind,
    Request,
    StartWorkflowExecution,
)
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.txn import Outcome
from sim.service_bench_driver import Workload, WorkloadResult, run_workload

DEFAULT_WORKFLOWS = 2_000
clock = time.process_time


def _clock_overhead(samples: int = 20_000) -> float:
    """Seconds one timed window adds by itself (two clock reads), best of three."""
    best = float("inf")
    for _ in range(3):
        t = clock()
        for _ in range(samples):
            clock() - clock()  # the window being measured
        best = min(best, (clock() - t) / samples)
    return best / 2  # about half of each window's reads falls inside the window


class _Timed:
    """`start` and `handle` with a stopwatch around each call; `handle` calls are also
    counted and timed apart by what they did: changed the run's state, or not (a
    rejection or an idempotent repeat, the stale timer's NOT_FOUND among them)."""

    def __init__(self) -> None:
        self.handle_seconds = 0.0
        self.start_seconds = 0.0
        self.handle_calls = 0
        self.start_calls = 0
        self.changing_seconds = 0.0
        self.changing_calls = 0
        self.not_found_calls = 0

    def handle(self, state: MutableState, request: Request, now: int) -> Outcome:
        t = clock()
        outcome = service.handle(state, request, now)
        seconds = clock() - t
        self.handle_seconds += seconds
        self.handle_calls += 1
        if outcome.state is not state:  # `unchanged` hands the same state back
            self.changing_seconds += seconds
            self.changing_calls += 1
        elif isinstance(outcome.reply, Error) and outcome.reply.kind is ErrorKind.NOT_FOUND:
            self.not_found_calls += 1
        return outcome

    def start(self, request: StartWorkflowExecution, now: int) -> Outcome:
        t = clock()
        outcome = service.start(request, now)
        self.start_seconds += clock() - t
        self.start_calls += 1
        return outcome


def _timed_run(workload: Workload, collect: bool = True) -> tuple[_Timed, float, WorkloadResult]:
    """One run of the workload; `collect=False` runs it with the cyclic GC switched off."""
    timed = _Timed()
    gc.collect()
    if not collect:
        gc.disable()
    try:
        t = clock()
        result = run_workload(workload, start=timed.start, handle=timed.handle)
        return timed, clock() - t, result
    finally:
        gc.enable()


def bench_service(args: argparse.Namespace) -> list[Figure]:
    """The history service on the mixed workload (see the module docstring)."""
    # keep=False: each run's history is validated when it closes and then let go, as a
    # long simulation would; the heap (and so the cyclic GC's work) stays bounded.
    workload = Workload(
        workflows=getattr(args, "workflows", DEFAULT_WORKFLOWS),
        seed=getattr(args, "seed", 0),
        keep=False,
    )
    overhead = _clock_overhead()
    best_handle = best_service = best_loop = best_no_gc = best_changing = float("inf")
    for _ in range(getattr(args, "repeat", 1)):
        timed, loop, result = _timed_run(workload)
        calls = timed.handle_calls
        requests = calls + timed.start_calls
        best_handle = min(best_handle, timed.handle_seconds - calls * overhead)
        changing = timed.changing_calls
        best_changing = min(best_changing, timed.changing_seconds - changing * overhead)
        service_seconds = timed.handle_seconds + timed.start_seconds - requests * overhead
        best_service = min(best_service, service_seconds)
        best_loop = min(best_loop, loop)
        del result  # each run starts from the same heap
        no_gc, _, result = _timed_run(workload, collect=False)
        best_no_gc = min(best_no_gc, no_gc.handle_seconds - calls * overhead)
    if result.open_runs:  # the figures would be meaningless on a driver that got stuck
        raise RuntimeError(f"workload left runs open: {result.open_runs[:3]}")
    counts = result.counts
    return [
        Figure("service", "workflows", workload.workflows, "workflows"),
        Figure("service", "requests", requests, "requests"),
        Figure("service", "events_written", counts["events"], "events"),
        Figure("service", "not_found_replies", counts.get("reply.NotFound", 0), "requests"),
        Figure("service", "handle", calls / best_handle, "requests/s"),
        Figure("service", "service_state_changing", changing / best_changing, "requests/s"),
        Figure("service", "state_changing_requests", changing, "requests"),
        Figure("service", "unchanged_share", 100 * (calls - changing) / calls, "%"),
        Figure("service", "stale_not_found_share", 100 * timed.not_found_calls / calls, "%"),
        Figure("service", "handle_without_cyclic_gc", calls / best_no_gc, "requests/s"),
        Figure("service", "service_start_and_handle", requests / best_service, "requests/s"),
        Figure("service", "end_to_end_loop", requests / best_loop, "requests/s"),
        Figure("service", "handle_share_of_loop", 100 * best_handle / best_loop, "%"),
    ]


def profile_handle(workflows: int = DEFAULT_WORKFLOWS, top: int = 15) -> list[tuple[str, float]]:
    """(function, share of the time inside `handle`) for the `top` costliest functions,
    by time spent in the function itself (cProfile's tottime)."""
    profiler = cProfile.Profile()

    def handle(state: MutableState, request: Request, now: int) -> Outcome:
        profiler.enable()
        try:
            return service.handle(state, request, now)
        finally:
            profiler.disable()

    run_workload(Workload(workflows=workflows), handle=handle)
    stats = pstats.Stats(profiler)
    raw = stats.stats  # type: ignore[attr-defined]  # pstats has no typed accessor
    total = sum(row[2] for row in raw.values())
    rows = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:top]
    return [(f"{fn}:{line}({name})", row[2] / total) for (fn, line, name), row in rows]
