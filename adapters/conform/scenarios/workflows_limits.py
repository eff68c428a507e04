"""The workflows of the limit scenarios (library_limits.py): each runs into one of the
server's limits on a dev server started with small ones (``--dynamic-config-value``);
the docstrings say which. A module of their own, so the temporalio workflow sandbox can
re-import them by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ActivityError

SHORT = timedelta(seconds=10)
# A task queue no worker polls: activities scheduled there stay pending.
UNPOLLED = "rec-limits-unpolled"
KEYWORD_ATTR = SearchAttributeKey.for_keyword("RecorderStage")


@activity.defn
async def limit_echo(value: str) -> str:
    return value


@activity.defn
async def limit_big_result(size: int) -> str:
    """A result of `size` bytes of text (over the blob limit: the server fails it)."""
    return "x" * size


@workflow.defn
class TooManyPendingWorkflow:
    """Starts `count` activities, children, signals or cancel requests in its first
    workflow task: one more than the pending limit fails the task, every attempt, until
    the run times out."""

    @workflow.run
    async def run(self, kind: str, count: int) -> None:
        target = f"{workflow.info().workflow_id}-target"
        starts: list[Any] = []
        for i in range(count):
            if kind == "activities":
                workflow.start_activity(
                    limit_echo, f"a{i}", task_queue=UNPOLLED, schedule_to_close_timeout=SHORT
                )
            elif kind == "children":
                child = workflow.start_child_workflow(LimitChildWorkflow.run, id=f"{target}-{i}")
                starts.append(child)
            else:
                handle = workflow.get_external_workflow_handle(f"{target}-{i}")
                starts.append(handle.signal("ping") if kind == "signals" else handle.cancel())
        await asyncio.gather(*starts)
        await workflow.wait_condition(lambda: False)


@workflow.defn
class LimitChildWorkflow:
    """Never started: its parent's task fails first."""

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)


@workflow.defn
class BigInputWorkflow:
    """Schedules an activity whose input is over the blob limit: the server fails the
    task and terminates the run."""

    @workflow.run
    async def run(self, size: int) -> None:
        await workflow.execute_activity(limit_echo, "y" * size, start_to_close_timeout=SHORT)


@workflow.defn
class BigResultWorkflow:
    """Runs an activity whose result is over the blob limit: the server fails the
    activity, non-retryably, and the workflow catches that."""

    @workflow.run
    async def run(self, size: int) -> str:
        try:
            return await workflow.execute_activity(
                limit_big_result, size, start_to_close_timeout=SHORT
            )
        except ActivityError:
            return "the result was too large"


@workflow.defn
class BigMemoWorkflow:
    """Upserts a memo over the memo limit: the server fails the task and terminates."""

    @workflow.run
    async def run(self, size: int) -> None:
        workflow.upsert_memo({"note": "m" * size})
        await workflow.sleep(1)


@workflow.defn
class BigSearchAttributeWorkflow:
    """Upserts a search attribute value over the size limit: the server fails the task
    and terminates the run."""

    @workflow.run
    async def run(self, size: int) -> None:
        workflow.upsert_search_attributes([KEYWORD_ATTR.value_set("s" * size)])
        await workflow.sleep(1)


@workflow.defn
class TimerLoopWorkflow:
    """Sleeps `count` times, a timer per workflow task, until the history outgrows the
    count or size limit and the server terminates the run."""

    @workflow.run
    async def run(self, count: int) -> None:
        for _ in range(count):
            await workflow.sleep(0.01)


LIMIT_WORKFLOWS: list[type] = [
    TooManyPendingWorkflow,
    LimitChildWorkflow,
    BigInputWorkflow,
    BigResultWorkflow,
    BigMemoWorkflow,
    BigSearchAttributeWorkflow,
    TimerLoopWorkflow,
]
LIMIT_ACTIVITIES: list[Callable[..., Any]] = [limit_echo, limit_big_result]
