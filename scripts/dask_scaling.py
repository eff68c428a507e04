"""Measure how a `tmodel simulate --scheduler` sweep scales with Dask worker processes.

A dev tool for docs/distributed-sweeps.md, never imported by the packages. For each
worker count it starts a Dask cluster on 127.0.0.1 (`distributed.LocalCluster`: a
scheduler and that many worker processes of one thread each), runs the same sweep
through it as `tmodel simulate --seeds A..B --scheduler ADDRESS` does
(`adapters.simulate_dask.run_on_cluster`), and prints seeds, history events and
events per wall second; first the same sweep here in one process without Dask. Every
run must give every seed the same trace hash.

    python scripts/dask_scaling.py                      # 1 and 2 workers, 40 seeds
    python scripts/dask_scaling.py --workers 1 2 4 --seeds 100 --workflows 200
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from typing import Any

import distributed

from adapters.simulate_dask import run_on_cluster
from adapters.simulate_pool import run_many
from sim.config import SimConfig


def sweep(workers: int, configs: list[SimConfig]) -> tuple[float, int, list[str]]:
    """(wall seconds, events, hashes) of the sweep on a fresh cluster of `workers`."""
    local_cluster: Any = distributed.LocalCluster  # partial type hints
    with local_cluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        run_on_cluster(configs[:workers], cluster.scheduler_address, full=False)  # warm-up
        start = time.perf_counter()
        done = run_on_cluster(configs, cluster.scheduler_address, full=False)
        seconds = time.perf_counter() - start
    return seconds, sum(r.events for r, _ in done), [r.trace_hash for r, _ in done]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--workflows", type=int, default=SimConfig().workflows)
    args = parser.parse_args()
    base = SimConfig(workflows=args.workflows)
    configs = [replace(base, seed=seed) for seed in range(args.seeds)]
    start = time.perf_counter()
    local = run_many(configs, 1, full=False)
    seconds = time.perf_counter() - start
    events = sum(r.events for r, _ in local)
    first = [r.trace_hash for r, _ in local]
    print(
        f"here, one process, no Dask: {len(configs)} seeds, {events:,} events in "
        f"{seconds:.1f} s = {events / seconds:,.0f} events per wall second"
    )
    for workers in args.workers:
        seconds, events, hashes = sweep(workers, configs)
        if hashes != first:
            raise SystemExit(f"{workers} worker(s) gave other trace hashes than one process")
        print(
            f"{workers} worker(s): {len(configs)} seeds, {events:,} events in {seconds:.1f} s "
            f"= {events / seconds:,.0f} events per wall second"
        )


if __name__ == "__main__":
    main()
