"""A worker of the scenario library in a process of its own, for the scenarios that kill
a worker process (adapters/conform/scenarios/library_faults.py).

    python -m adapters.conform.scenarios.worker_process ADDRESS TASK_QUEUE IDENTITY

It polls TASK_QUEUE on the server at ADDRESS with every workflow and activity of the
library until it is killed (or, should its parent have vanished, for at most
`MAX_SECONDS`).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence

from temporalio.client import Client
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.worker import Worker

from adapters.conform.scenarios.activities import ALL_ACTIVITIES
from adapters.conform.scenarios.context import STICKY_TIMEOUT
from adapters.conform.scenarios.workflows_runs import ALL_WORKFLOWS

MAX_SECONDS = 300.0


def quiet_runtime(verbose: bool) -> Runtime:
    """The SDK core logs every deliberate failure at WARN; keep them out of the way."""
    level = "WARN" if verbose else "ERROR"
    filt = TelemetryFilter(core_level=level, other_level="ERROR")
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=filt)))


async def serve_worker(address: str, task_queue: str, identity: str) -> None:
    client = await Client.connect(address, runtime=quiet_runtime(False))
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=ALL_WORKFLOWS,
        activities=ALL_ACTIVITIES,
        identity=identity,
        sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
    )
    async with worker:
        await asyncio.sleep(MAX_SECONDS)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if len(words) != 3:
        print("usage: worker_process ADDRESS TASK_QUEUE IDENTITY", file=sys.stderr)
        return 2
    logging.getLogger("temporalio").setLevel(logging.CRITICAL)
    asyncio.run(serve_worker(*words))
    return 0


if __name__ == "__main__":
    sys.exit(main())
