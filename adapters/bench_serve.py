"""`tmodel bench serve`: `tmodel serve` against the real dev server, same workload, same run.

One workload, measured the same way on both servers: N workflows, each running one
activity, sleeping 10 ms and then waiting for a signal the client sends right after
starting it, with one official SDK worker (temporalio, in this process) and one client.
Each workflow's latency is from its start call to its result; throughput is N over the
wall time from the first start to the last result. Each server gets one warm-up workflow
first, so its start-up is not counted. Also: with `--time-skipping`, how long a workflow
sleeping 30 days takes to complete.

What still differs: `tmodel serve` is one Python process; the dev server is Temporal's
Go binary with an in-memory SQLite store. Both run on this machine's two cores beside the
worker and the client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from adapters.bench import Figure
from adapters.bench_simulate import _connect, dev_server, temporal_binary
from adapters.serve.process import serve_process

TASK_QUEUE = "bench-serve"
TIMER = timedelta(days=30)


@contextlib.contextmanager
def _tmodel(*args: str) -> Iterator[str]:
    with serve_process(*args) as address:
        yield address


async def _run(address: str, workflows: int) -> tuple[float, list[float]]:
    """(wall seconds, per-workflow latencies) for `workflows` workflows on `address`."""
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker

    from adapters.bench_serve_workflow import ServeBenchWorkflow, serve_bench_activity

    client = await _connect(address)
    worker = Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=[ServeBenchWorkflow],
        activities=[serve_bench_activity],
        workflow_runner=UnsandboxedWorkflowRunner(),
        max_concurrent_activities=200,
    )
    async with worker:
        await _one(client, -1)  # warm-up
        start = time.perf_counter()
        latencies = await asyncio.gather(*(_one(client, k) for k in range(workflows)))
        wall = time.perf_counter() - start
    return wall, list(latencies)


async def _one(client: Any, n: int) -> float:
    from adapters.bench_serve_workflow import ServeBenchWorkflow

    began = time.perf_counter()
    handle = await client.start_workflow(
        ServeBenchWorkflow.run,
        n,
        id=f"bench-serve-{n}-{uuid.uuid4()}",
        task_queue=TASK_QUEUE,
        execution_timeout=timedelta(minutes=5),
    )
    await handle.signal(ServeBenchWorkflow.go)
    await handle.result()
    return time.perf_counter() - began


async def _skip(address: str) -> float:
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker

    from adapters.bench_serve_workflow import SleepyWorkflow

    client = await _connect(address)
    async with Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=[SleepyWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        began = time.perf_counter()
        await client.execute_workflow(
            SleepyWorkflow.run,
            TIMER.total_seconds(),
            id=f"sleepy-{uuid.uuid4()}",
            task_queue=TASK_QUEUE,
        )
        return time.perf_counter() - began


def _figures(name: str, wall: float, latencies: list[float]) -> list[Figure]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return [
        Figure("serve", f"{name}_workflows_per_second", len(latencies) / wall, "workflows/s"),
        Figure("serve", f"{name}_latency_p50", statistics.median(ordered), "s"),
        Figure("serve", f"{name}_latency_p99", p99, "s"),
    ]


def bench_serve(args: argparse.Namespace) -> list[Figure]:
    workflows = min(args.workflows, 500)
    figures = [Figure("serve", "workflows", workflows, "workflows")]
    with _tmodel() as address:
        wall, latencies = asyncio.run(_run(address, workflows))
    figures += _figures("tmodel", wall, latencies)
    binary = temporal_binary()
    if binary is not None:
        with dev_server(binary) as address:
            real_wall, real = asyncio.run(_run(address, workflows))
        figures += _figures("devserver", real_wall, real)
        figures.append(Figure("serve", "serve_vs_devserver_throughput", real_wall / wall, "x"))
    with _tmodel("--time-skipping") as address:
        figures.append(
            Figure("serve", "time_skipping_30_day_timer", asyncio.run(_skip(address)), "s")
        )
    return figures
