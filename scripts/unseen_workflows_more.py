"""Workflows of tests/fixtures/unseen-histories, part two: headers, updates, cancels,
resets, Worker Deployment versioning, start delays, operated activities (record_unseen.py
drives them; the docstrings name the fixtures)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import RetryPolicy, VersioningBehavior
from temporalio.exceptions import ApplicationError, ChildWorkflowError
from temporalio.worker import (
    ContinueAsNewInput,
    Interceptor,
    SignalChildWorkflowInput,
    SignalExternalWorkflowInput,
    StartActivityInput,
    StartChildWorkflowInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

with workflow.unsafe.imports_passed_through():
    from unseen_activities import (
        SHORT,
        always_fail,
        async_done,
        echo,
        flaky_until_file,
        ignore_cancel,
        silent,
        slow_local,
    )
    from unseen_workflows import LingeringChild


def _header(headers: Mapping[str, Payload], what: str) -> dict[str, Payload]:
    data = f'"{what}"'.encode()
    return {**headers, "x-trace": Payload(metadata={"encoding": b"json/plain"}, data=data)}


class _Outbound(WorkflowOutboundInterceptor):
    """Writes an `x-trace` header on every command that carries one."""

    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        input.headers = _header(input.headers, "act")
        return super().start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> workflow.ActivityHandle[Any]:
        input.headers = _header(input.headers, "local")
        return super().start_local_activity(input)

    async def start_child_workflow(
        self, input: StartChildWorkflowInput
    ) -> workflow.ChildWorkflowHandle[Any, Any]:
        input.headers = _header(input.headers, "child")
        return await super().start_child_workflow(input)

    async def signal_external_workflow(self, input: SignalExternalWorkflowInput) -> None:
        input.headers = _header(input.headers, "sigext")
        await super().signal_external_workflow(input)

    async def signal_child_workflow(self, input: SignalChildWorkflowInput) -> None:
        input.headers = _header(input.headers, "sigchild")
        await super().signal_child_workflow(input)

    def continue_as_new(self, input: ContinueAsNewInput) -> NoReturn:
        input.headers = _header(input.headers, "can")
        super().continue_as_new(input)


class _Inbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound))


class HeaderInterceptor(Interceptor):
    """headers.*: the worker's interceptor."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _Inbound


@workflow.defn
class SignalMe:
    """headers.child: waits for two signals."""

    def __init__(self) -> None:
        self.n = 0

    @workflow.signal
    def poke(self, v: str) -> None:
        self.n += 1

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.n >= 2)
        return self.n


@workflow.defn
class HeadersEverywhere:
    """headers.run1, headers.run2: every kind of command with a header."""

    @workflow.run
    async def run(self, n: int) -> str:
        if n == 0:
            await workflow.execute_activity(echo, "a", start_to_close_timeout=SHORT)
            await workflow.execute_local_activity(slow_local, 0.0, start_to_close_timeout=SHORT)
            child_id = workflow.info().workflow_id + "-c"
            child = await workflow.start_child_workflow(SignalMe.run, id=child_id)
            await child.signal(SignalMe.poke, "via child handle")
            external = workflow.get_external_workflow_handle(child.id)
            await external.signal(SignalMe.poke, "via external")
            await child
            workflow.continue_as_new(1)
        return "second run"


@workflow.defn
class Waiter:
    """terminate-existing, updates-mixed: waits for `release`; `bump` is an update."""

    def __init__(self) -> None:
        self.go = False
        self.count = 0

    @workflow.signal
    def release(self) -> None:
        self.go = True

    @workflow.update
    async def bump(self, by: int) -> int:
        self.count += by
        return self.count

    @bump.validator
    def check(self, by: int) -> None:
        if by < 0:
            raise ValueError("negative")

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.go)
        return self.count


@workflow.defn
class CancelDuringTask:
    """cancel-during-task: cancelled while its first task runs a local activity."""

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_local_activity(slow_local, 1.5, start_to_close_timeout=SHORT)
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            await workflow.execute_activity(echo, "cleanup", start_to_close_timeout=SHORT)
            raise
        return "not cancelled"


@workflow.defn
class ReuseAfterCancel:
    """reuse-after-cancel: cancels an activity no worker has taken, schedules another
    with the same activity id and completes, all in one workflow task. The server closes
    the first at once with a buffered ActivityTaskCanceled, which the run's close drops."""

    @workflow.run
    async def run(self) -> str:
        first = workflow.start_activity(
            "nobody-runs-this", task_queue="hh-nowhere", activity_id="a0",
            start_to_close_timeout=SHORT,
        )  # fmt: skip
        await workflow.sleep(0.5)
        first.cancel()
        with contextlib.suppress(BaseException):
            await first  # resolved at once: TRY_CANCEL of an activity never started
        workflow.start_activity(
            "nobody-runs-this", task_queue="hh-nowhere", activity_id="a0",
            start_to_close_timeout=SHORT,
        )  # fmt: skip
        return "done"


@workflow.defn
class KidThat:
    """A child that fails for good or sleeps past its timeout (child-retry-states)."""

    @workflow.run
    async def run(self, fails: bool) -> str:
        if fails:
            raise ApplicationError("the kid failed")
        await workflow.sleep(10)
        return "slept"


@workflow.defn
class ChildRetryStates:
    """child-retry-states: a child whose retries run out and one that outlives its
    execution timeout; the parent's close events copy each child's retry state."""

    @workflow.run
    async def run(self) -> str:
        me = workflow.info().workflow_id
        policy = RetryPolicy(maximum_attempts=2, initial_interval=timedelta(milliseconds=100))
        with contextlib.suppress(ChildWorkflowError):
            await workflow.execute_child_workflow(
                KidThat.run, True, id=f"{me}-fails", retry_policy=policy
            )
        one_second = timedelta(seconds=1)
        with contextlib.suppress(ChildWorkflowError):
            await workflow.execute_child_workflow(
                KidThat.run, False, id=f"{me}-late", execution_timeout=one_second
            )
        return "done"


@workflow.defn
class StuckTask:
    """stuck-task: every workflow task fails (a bug in the workflow code), so the run's
    task is retried as a transient task; the history is read while it is pending."""

    @workflow.run
    async def run(self) -> str:
        raise RuntimeError("a bug in the workflow code")


@workflow.defn
class CanWithSignals:
    """can-with-signals.*: a signal during the task that continues as new."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @workflow.signal
    def s(self, v: str) -> None:
        self.seen.append(v)

    @workflow.run
    async def run(self, n: int) -> list[str]:
        await workflow.wait_condition(lambda: bool(self.seen))
        if n == 0:
            await workflow.execute_local_activity(slow_local, 1.5, start_to_close_timeout=SHORT)
            workflow.continue_as_new(1)
        return self.seen


@workflow.defn
class ChildCancelEarly:
    """child-cancel-early.*: a child cancelled right after its start."""

    @workflow.run
    async def run(self) -> str:
        handle = await workflow.start_child_workflow(
            LingeringChild.run,
            id=workflow.info().workflow_id + "-c",
            cancellation_type=workflow.ChildWorkflowCancellationType.TRY_CANCEL,
        )
        handle.cancel()
        try:
            await handle
        except Exception as e:
            return f"child: {type(e).__name__}"
        return "child done"


@workflow.defn
class ExecTimeoutPending:
    """exec-timeout-pending: the execution timeout ends it with work pending."""

    @workflow.run
    async def run(self) -> str:
        workflow.start_activity(slow_local, 30.0, start_to_close_timeout=timedelta(seconds=60))
        await workflow.start_child_workflow(
            LingeringChild.run,
            id=workflow.info().workflow_id + "-c",
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )
        await asyncio.sleep(60)
        return "never"


@workflow.defn
class ResetMe:
    """reset-first-noreapply.*: an activity, two signals, an activity."""

    def __init__(self) -> None:
        self.got: list[str] = []

    @workflow.signal
    def s(self, v: str) -> None:
        self.got.append(v)

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.execute_activity(echo, "one", start_to_close_timeout=SHORT)
        await workflow.wait_condition(lambda: len(self.got) >= 2)
        await workflow.execute_activity(echo, "two", start_to_close_timeout=SHORT)
        return self.got


@workflow.defn
class Resettable:
    """reset-mid-*: an abandoned child, signals and an update, reset mid-run."""

    def __init__(self) -> None:
        self.got: list[str] = []

    @workflow.signal
    def s(self, v: str) -> None:
        self.got.append(v)

    @workflow.update
    async def u(self, v: str) -> int:
        self.got.append("u:" + v)
        return len(self.got)

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.start_child_workflow(
            LingeringChild.run,
            id=workflow.info().workflow_id + "-c",
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )
        await workflow.execute_activity(echo, "one", start_to_close_timeout=SHORT)
        await workflow.wait_condition(lambda: len(self.got) >= 3)
        await workflow.execute_activity(echo, "two", start_to_close_timeout=SHORT)
        await workflow.wait_condition(lambda: "done" in self.got)
        return self.got


@workflow.defn
class Versioned:
    """versioned: one activity, on a versioned worker."""

    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity(echo, "v", start_to_close_timeout=SHORT)
        return "versioned"


@workflow.defn
class VChild:
    """v-pinned-chain.child, v-unversioned-named: one activity (PINNED by its worker's
    default behavior)."""

    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(echo, "child", start_to_close_timeout=SHORT)


@workflow.defn
class VParent:
    """v-pinned-chain.run1, .run2: a child, then continue-as-new (PINNED by its worker's
    default behavior)."""

    @workflow.run
    async def run(self, n: int) -> str:
        if n == 0:
            await workflow.execute_child_workflow(VChild.run, id=workflow.info().workflow_id + "-c")
            workflow.continue_as_new(1)
        return await workflow.execute_activity(echo, "after can", start_to_close_timeout=SHORT)


@workflow.defn(versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class VAuto:
    """v-auto-upgrade: an activity, a signal, another activity (on the new build)."""

    def __init__(self) -> None:
        self.go = 0

    @workflow.signal
    def poke(self) -> None:
        self.go += 1

    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity(echo, "on first build", start_to_close_timeout=SHORT)
        await workflow.wait_condition(lambda: self.go >= 1)
        await workflow.execute_activity(echo, "after upgrade", start_to_close_timeout=SHORT)
        return "auto"


@workflow.defn
class CancelIgnored:
    """cancel-ignored: cancels an activity that completes anyway and one that times out;
    a local activity fails four attempts."""

    @workflow.run
    async def run(self) -> list[str]:
        out: list[str] = []
        wait = workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
        first = workflow.start_activity(
            ignore_cancel,
            1.5,
            start_to_close_timeout=SHORT,
            heartbeat_timeout=timedelta(seconds=5),
            cancellation_type=wait,
        )
        await asyncio.sleep(0.3)
        first.cancel()
        try:
            out.append(await first)
        except Exception as e:
            out.append(type(e).__name__)
        second = workflow.start_activity(
            silent,
            4.0,
            start_to_close_timeout=SHORT,
            heartbeat_timeout=timedelta(seconds=1),
            retry_policy=RetryPolicy(maximum_attempts=1),
            cancellation_type=wait,
        )
        await asyncio.sleep(0.3)
        second.cancel()
        try:
            out.append(await second)
        except Exception as e:
            out.append(f"{type(e).__name__}:{type(e.__cause__).__name__}")
        policy = RetryPolicy(
            initial_interval=timedelta(milliseconds=500),
            backoff_coefficient=1.0,
            maximum_attempts=4,
        )
        try:
            await workflow.execute_local_activity(
                always_fail, start_to_close_timeout=timedelta(seconds=3), retry_policy=policy
            )
        except Exception as e:
            out.append(f"{type(e).__name__}:{type(e.__cause__).__name__}")
        return out


@workflow.defn
class Delayed:
    """delayed-cancel, delayed-sws: waits for two signals."""

    def __init__(self) -> None:
        self.n = 0

    @workflow.signal
    def s(self) -> None:
        self.n += 1

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.n >= 2)
        return self.n


@workflow.defn
class OperatedActivities:
    """operated-activities: an activity retrying until a file exists (an operator updates,
    pauses, unpauses and resets it meanwhile), two completed asynchronously."""

    @workflow.run
    async def run(self, path: str) -> list[str]:
        every_second = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=1.0)
        out = [
            await workflow.execute_activity(
                flaky_until_file,
                path,
                activity_id="flaky",
                start_to_close_timeout=timedelta(seconds=5),
                retry_policy=every_second,
            )
        ]
        minute = timedelta(seconds=60)
        out.append(
            await workflow.execute_activity(
                async_done, activity_id="external", start_to_close_timeout=minute
            )
        )
        try:
            await workflow.execute_activity(
                async_done,
                activity_id="external-fail",
                start_to_close_timeout=minute,
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except Exception as e:
            out.append(f"{type(e).__name__}: {e.__cause__}")
        return out
