"""The activities of the scenario library, and the retry and timeout settings its
workflows share.

The workflows (`workflows.py`, `workflows_runs.py`) and activities live in modules of
their own, apart from the scenario drivers, so that temporalio's workflow sandbox can
re-import them by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ApplicationError

# Retries must be quick so the whole recording takes minutes, not hours.
FAST_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=1.0,
    maximum_interval=timedelta(seconds=1),
)
NO_RETRY = RetryPolicy(maximum_attempts=1)
SHORT = timedelta(seconds=10)
# Core keeps a timer per local-activity attempt and panics (noisily, but
# harmlessly) if the worker shuts down before it fires, so local activities
# get short start-to-close timeouts and their workers linger past them.
LOCAL_TIMEOUT = timedelta(seconds=2)

# Registered on the dev server with ``start-dev --search-attribute``.
KEYWORD_ATTR = SearchAttributeKey.for_keyword("RecorderStage")
INT_ATTR = SearchAttributeKey.for_int("RecorderCount")
SEARCH_ATTRIBUTE_FLAGS = ("RecorderStage=Keyword", "RecorderCount=Int")


# --------------------------------------------------------------------------
# Activities (all async, so workers need no executor)
# --------------------------------------------------------------------------


@activity.defn
async def greet(name: str) -> str:
    return f"hello {name}"


@activity.defn
async def fail_first_attempts(failures: int) -> str:
    """Fails retryably on the first ``failures`` attempts, then succeeds."""
    attempt = activity.info().attempt
    if attempt <= failures:
        raise ApplicationError(f"transient failure on attempt {attempt}", type="Transient")
    return f"succeeded on attempt {attempt}"


@activity.defn
async def reject(reason: str) -> str:
    raise ApplicationError(reason, type="Rejected", non_retryable=True)


@activity.defn
async def slow_first_attempt(seconds: float) -> str:
    """Outlives its start-to-close timeout on attempt 1 only."""
    attempt = activity.info().attempt
    if attempt == 1:
        await asyncio.sleep(seconds)
    return f"finished attempt {attempt}"


@activity.defn
async def heartbeat_then_stall(seconds: float) -> str:
    """Attempt 1 heartbeats briefly then goes silent so the heartbeat times out."""
    attempt = activity.info().attempt
    for i in range(3):
        activity.heartbeat(f"attempt {attempt} beat {i}")
        await asyncio.sleep(0.2)
    if attempt == 1:
        await asyncio.sleep(seconds)
    return f"finished attempt {attempt}"


@activity.defn
async def heartbeat_until_cancelled(seconds: float) -> str:
    """Heartbeats (the only way a Python activity learns of a cancel)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    try:
        while loop.time() < deadline:
            activity.heartbeat("working")
            await asyncio.sleep(0.2)
    except asyncio.CancelledError:
        # A little cleanup time makes WAIT_CANCELLATION_COMPLETED observable.
        await asyncio.sleep(0.5)
        raise
    return "never cancelled"


@activity.defn
async def heartbeat_long_on_first_attempt(seconds: float) -> str:
    """Attempt 1 runs long (its worker gets killed); later attempts are quick."""
    attempt = activity.info().attempt
    if attempt == 1:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            activity.heartbeat("alive")
            await asyncio.sleep(0.2)
    return f"finished attempt {attempt}"


@activity.defn
async def heartbeat_details_then_fail(failures: int) -> str:
    """Heartbeats its progress, resuming from the last attempt's details; fails
    retryably on the first ``failures`` attempts."""
    info = activity.info()
    done = int(info.heartbeat_details[0]) if info.heartbeat_details else 0
    for step in range(done, done + 2):
        activity.heartbeat(step + 1)
        await asyncio.sleep(0.1)
    if info.attempt <= failures:
        raise ApplicationError(f"failed after step {done + 2}", type="Transient")
    return f"finished at step {done + 2} on attempt {info.attempt}"


@activity.defn
async def sleep_for(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return f"slept {seconds}s"


@activity.defn
async def saga_step(step: int, fail: bool) -> str:
    if fail:
        raise ApplicationError(f"step {step} failed", type="StepFailed", non_retryable=True)
    return f"step {step} done"


@activity.defn
async def compensate(step: int) -> str:
    return f"step {step} compensated"


ALL_ACTIVITIES: list[Callable[..., Any]] = [
    greet,
    fail_first_attempts,
    reject,
    slow_first_attempt,
    heartbeat_then_stall,
    heartbeat_until_cancelled,
    heartbeat_long_on_first_attempt,
    heartbeat_details_then_fail,
    sleep_for,
    saga_step,
    compensate,
]
