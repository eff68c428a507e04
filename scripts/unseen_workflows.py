"""Workflows of tests/fixtures/unseen-histories, part one: failures, children, external
requests, workflow tasks refused or failed, continue-as-new, timers and sizes. Each
docstring says which fixture it recorded (record_unseen.py drives them)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from unseen_activities import (
        SHORT,
        big,
        echo,
        hb_then_fatal,
        nested_fail,
        slow_local,
    )


@workflow.defn
class MissingExternalWorkflow:
    """missing-external: a signal and a cancel request to workflows that do not exist."""

    @workflow.run
    async def run(self) -> list[str]:
        out = []
        try:
            await workflow.get_external_workflow_handle("hh-no-such-workflow").signal("nope", "x")
            out.append("signalled")
        except Exception as e:
            out.append(f"signal: {type(e).__name__}: {e}")
        try:
            await workflow.get_external_workflow_handle("hh-no-such-workflow-2").cancel()
            out.append("cancelled")
        except Exception as e:
            out.append(f"cancel: {type(e).__name__}: {e}")
        return out


@workflow.defn
class LingeringChild:
    """A child that sleeps an hour; cancelled, it runs a cleanup activity first."""

    @workflow.run
    async def run(self) -> str:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await workflow.execute_activity(echo, "cleanup", start_to_close_timeout=SHORT)
            raise
        return "slept"


@workflow.defn
class ParentClosePolicyWorkflow:
    """pcp-request-cancel, pcp-terminate: the parent completes, its child still running."""

    @workflow.run
    async def run(self, policy: str) -> str:
        await workflow.start_child_workflow(
            LingeringChild.run,
            id=f"{workflow.info().workflow_id}-child",
            parent_close_policy=workflow.ParentClosePolicy[policy],
        )
        return f"left child with {policy}"


async def _failure_text(kind: str, policy: RetryPolicy | None = None) -> str:
    try:
        await workflow.execute_activity(
            nested_fail, kind, start_to_close_timeout=SHORT, retry_policy=policy
        )
    except Exception as e:
        return str(e)
    return "no failure"


@workflow.defn
class FailureChainWorkflow:
    """failure-chain: retries exhausted, nextRetryDelay, a non-retryable type, a BENIGN
    failure, a heartbeat timeout then a non-retryable failure, nested causes."""

    @workflow.run
    async def run(self) -> str:
        fast = timedelta(milliseconds=100)
        results = [await _failure_text("exhaust", RetryPolicy(fast, maximum_attempts=2))]
        results.append(
            await workflow.execute_activity(
                nested_fail,
                "next-delay",
                start_to_close_timeout=SHORT,
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=5)),
            )
        )
        nonretry = RetryPolicy(non_retryable_error_types=["Fatal"])
        results.append(await _failure_text("nonretry-type", nonretry))
        results.append(await _failure_text("benign"))
        try:
            await workflow.execute_activity(
                hb_then_fatal,
                start_to_close_timeout=SHORT,
                heartbeat_timeout=timedelta(seconds=1),
                retry_policy=RetryPolicy(initial_interval=fast),
            )
        except Exception as e:
            results.append(str(e))
        try:
            await workflow.execute_activity(nested_fail, "nested", start_to_close_timeout=SHORT)
        except Exception as e:
            raise ApplicationError(
                "workflow gives up",
                {"results": results},
                [1, 2, 3],
                type="GiveUp",
                non_retryable=True,
            ) from e
        return "unreachable"


@workflow.defn(name="NdeWorkflow")
class NdeV1:
    """nde-fixed, the code that first ran it and the fixed code: a timer, then an activity."""

    @workflow.run
    async def run(self) -> str:
        await asyncio.sleep(2)
        return await workflow.execute_activity(echo, "v1", start_to_close_timeout=SHORT)


@workflow.defn(name="NdeWorkflow", sandboxed=False)
class NdeV2:
    """nde-fixed, the changed code: an activity first, which the history contradicts."""

    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity(echo, "v2-first", start_to_close_timeout=SHORT)
        await asyncio.sleep(2)
        return "v2"


@workflow.defn
class UnhandledCommandWorkflow:
    """unhandled-command: a signal arrives during the last task's 2 s local activity."""

    def __init__(self) -> None:
        self.got: list[str] = []

    @workflow.signal
    def sig(self, v: str) -> None:
        self.got.append(v)

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: bool(self.got))
        await workflow.execute_local_activity(slow_local, 2.0, start_to_close_timeout=SHORT)
        return self.got


@workflow.defn
class CanNewQueueWorkflow:
    """can-new-queue: continue-as-new to another queue with new timeouts, memo, retry."""

    @workflow.run
    async def run(self, n: int) -> str:
        if n == 0:
            await asyncio.sleep(0.1)
            workflow.continue_as_new(
                1,
                task_queue=workflow.info().task_queue + "-next",
                run_timeout=timedelta(seconds=60),
                task_timeout=timedelta(seconds=7),
                memo={"carried": "yes", "n": 1},
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=2),
                    maximum_attempts=4,
                    non_retryable_error_types=["X"],
                ),
            )
        queue = workflow.info().task_queue
        return await workflow.execute_activity(
            echo, f"run {n} on {queue}", start_to_close_timeout=SHORT
        )


@workflow.defn
class LargePayloadWorkflow:
    """A 900 kB input and a 1.2 MB activity result (recorded, not kept as a fixture)."""

    @workflow.run
    async def run(self, blob: str) -> int:
        result = await workflow.execute_activity(big, 1_200_000, start_to_close_timeout=SHORT)
        return len(blob) + len(result)


@workflow.defn
class ManyEventsWorkflow:
    """Batches of 50 activities (36 batches: 6,386 events; recorded, not kept)."""

    @workflow.run
    async def run(self, batches: int) -> int:
        total = 0
        for b in range(batches):
            results = await asyncio.gather(
                *[
                    workflow.execute_activity(echo, f"{b}.{i}", start_to_close_timeout=SHORT)
                    for i in range(50)
                ]
            )
            total += len(results)
        return total


@workflow.defn
class TimersSideWorkflow:
    """timers-memo: memo upserts, patch markers, timers cancelled two ways."""

    @workflow.run
    async def run(self) -> str:
        workflow.upsert_memo({"stage": "one", "gone": None})
        workflow.patched("p1")
        workflow.deprecate_patch("p2")
        long_timer = asyncio.ensure_future(asyncio.sleep(30))
        await asyncio.sleep(0.2)
        long_timer.cancel()
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: False, timeout=0.3)
        same_task = asyncio.ensure_future(asyncio.sleep(40))
        await asyncio.sleep(0)
        same_task.cancel()
        workflow.upsert_memo({"stage": "two"})
        return "done"
