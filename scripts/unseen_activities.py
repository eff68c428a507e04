"""Activities of the workflows that recorded tests/fixtures/unseen-histories
(unseen_workflows.py, unseen_workflows_more.py; record_unseen.py drives them)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

SHORT = timedelta(seconds=10)


@activity.defn
async def echo(x: str) -> str:
    return x


@activity.defn
async def big(n: int) -> str:
    return "y" * n


@activity.defn
async def slow_local(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "slow done"


@activity.defn
async def nested_fail(kind: str) -> str:
    """Fails in the way `kind` names (failure-chain)."""
    attempt = activity.info().attempt
    if kind == "nested":
        try:
            raise ValueError("the innermost problem")
        except ValueError as inner:
            try:
                raise ApplicationError("middle", {"k": 1}, type="Middle") from inner
            except ApplicationError as mid:
                raise ApplicationError(
                    "outer failure", "detail-a", 2, type="Outer", non_retryable=True
                ) from mid
    if kind == "exhaust":
        raise ApplicationError(f"attempt {attempt} failed", type="Flaky")
    if kind == "next-delay":
        if attempt < 3:
            raise ApplicationError(
                "retry me later", type="Delayed", next_retry_delay=timedelta(milliseconds=300)
            )
        return "third time"
    if kind == "nonretry-type":
        raise ApplicationError("typed as non-retryable by the policy", type="Fatal")
    if kind == "benign":
        raise ApplicationError(
            "benign failure",
            type="Benign",
            category=ApplicationErrorCategory.BENIGN,
            non_retryable=True,
        )
    return "ok"


@activity.defn
async def hb_then_fatal() -> str:
    """Attempt 1 heartbeats, then outlives its heartbeat timeout; attempt 2 fails for good."""
    info = activity.info()
    if info.attempt == 1:
        activity.heartbeat("progress-1")
        await asyncio.sleep(3)
        return "late"
    raise ApplicationError(
        f"fatal on attempt {info.attempt}",
        {"seen": list(info.heartbeat_details)},
        non_retryable=True,
    )


@activity.defn
async def ignore_cancel(seconds: float) -> str:
    """Heartbeats, and finishes its work even when asked to cancel."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        try:
            activity.heartbeat("working")
            await asyncio.sleep(0.2)
        except asyncio.CancelledError:
            pass
    return "finished anyway"


@activity.defn
async def silent(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "silent done"


@activity.defn
async def always_fail() -> str:
    raise RuntimeError("local failure")


@activity.defn
async def flaky_until_file(path: str) -> str:
    if os.path.exists(path):
        return f"file found on attempt {activity.info().attempt}"
    raise RuntimeError(f"no file yet (attempt {activity.info().attempt})")


@activity.defn
async def async_done() -> str:
    activity.raise_complete_async()


ACTIVITIES: list[Callable[..., Any]] = [
    echo,
    big,
    slow_local,
    nested_fail,
    hb_then_fatal,
    ignore_cancel,
    silent,
    always_fail,
    flaky_until_file,
    async_done,
]
