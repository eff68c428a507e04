"""The workflows `tmodel bench serve` runs (kept apart so importing the benchmark never
needs the SDK's workflow machinery until a server is driven)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="serve-bench-activity")
async def serve_bench_activity(n: int) -> int:
    return n + 1


@workflow.defn(name="ServeBenchWorkflow")
class ServeBenchWorkflow:
    """An activity, a 10 ms timer, then a signal."""

    def __init__(self) -> None:
        self.released = False

    @workflow.run
    async def run(self, n: int) -> int:
        done = await workflow.execute_activity(
            serve_bench_activity, n, start_to_close_timeout=timedelta(seconds=30)
        )
        await workflow.sleep(timedelta(milliseconds=10))
        await workflow.wait_condition(lambda: self.released)
        return int(done)

    @workflow.signal
    def go(self) -> None:
        self.released = True


@workflow.defn(name="SleepyWorkflow")
class SleepyWorkflow:
    """Sleeps for the given number of seconds (30 days in the benchmark)."""

    @workflow.run
    async def run(self, seconds: float) -> str:
        await workflow.sleep(timedelta(seconds=seconds))
        return "woke"
