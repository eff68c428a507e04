"""The workflow `tmodel bench simulate` runs on a real Temporal dev server.

Kept apart from `adapters/bench_simulate.py` so that importing the benchmark never needs
the `temporalio` SDK: this module is imported only when a real server is driven. The
workflow is a small cousin of the simulator's mixed workload: two activities and a short
timer, then completion (about 20 history events).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench-activity")
async def bench_activity(n: int) -> int:
    return n + 1


@workflow.defn(name="BenchWorkflow")
class BenchWorkflow:
    @workflow.run
    async def run(self, n: int) -> int:
        timeout = timedelta(seconds=30)
        a = await workflow.execute_activity(bench_activity, n, start_to_close_timeout=timeout)
        await workflow.sleep(timedelta(milliseconds=10))
        b = await workflow.execute_activity(bench_activity, a, start_to_close_timeout=timeout)
        return int(b)
