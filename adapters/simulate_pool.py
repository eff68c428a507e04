"""Simulate many seeds at once, one seed per worker process (`--jobs`).

A simulation is one thread on a virtual clock, so a single run uses one core. Seeds are
independent, so a sweep (`--seeds 0..999`) spreads over processes: each worker runs
`sim.run.simulate` on whole configs and sends back the result. The trace hash of a seed
does not depend on which process ran it, or on how many there were.

Results come back slim unless the caller needs the histories and the trace (`--out`):
pickling those costs about a seventh of the run that made them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import replace

from sim.config import SimConfig
from sim.run import RunResult, simulate

Done = tuple[RunResult, float]  # the result and the wall seconds the run took


def run_one(
    config: SimConfig, full: bool, on_progress: Callable[[int, int], None] | None = None
) -> Done:
    """Simulate `config` and time it; drop histories and trace unless `full`."""
    start = time.perf_counter()
    result = simulate(config, on_progress)
    seconds = time.perf_counter() - start
    if not full:
        result = replace(result, histories={}, trace=())
    return result, seconds


def run_many(
    configs: Sequence[SimConfig],
    jobs: int,
    full: bool,
    on_done: Callable[[int], None] | None = None,
) -> list[Done]:
    """Every config's result, in the order given, using up to `jobs` processes.

    `on_done(i)` is called in this process as config `i` finishes (for a progress bar).
    With one job, or one config, everything runs here without a pool.
    """
    if jobs <= 1 or len(configs) <= 1:
        out = []
        for i, config in enumerate(configs):
            out.append(run_one(config, full))
            if on_done is not None:
                on_done(i)
        return out
    results: dict[int, Done] = {}
    with ProcessPoolExecutor(max_workers=min(jobs, len(configs))) as pool:
        pending: dict[Future[Done], int] = {
            pool.submit(run_one, config, full): i for i, config in enumerate(configs)
        }
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    i = pending.pop(future)
                    results[i] = future.result()
                    if on_done is not None:
                        on_done(i)
        except BaseException:  # Ctrl-C or a failed run: drop the queued seeds at once
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return [results[i] for i in range(len(configs))]
