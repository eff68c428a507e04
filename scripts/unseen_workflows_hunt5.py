"""Workflows of tests/fixtures/unseen-histories, part seven (the `hunt5` scenario of
record_unseen.py, driven by unseen_hunt5_scenario.py): commands past the pending-entity
limits (activities, children, signals and cancel requests to other workflows), which
the server refuses by failing the workflow task with the limit's cause, once or on two
attempts in a row (the second is dropped and times out); resets around updates and
signals; a start carrying completion callbacks.

The scenario starts its own worker (unsandboxed: the workflows count, in module globals,
how often their code has run, and issue fewer commands once a task has failed) on
`hh-hunt5`, on a dev server with the pending limits lowered to two and HTTP callbacks
to the loopback allowed (under both keys servers have used)::

    ALLOW='[{"Pattern":"*","AllowInsecure":true}]'
    temporal server start-dev --ip 127.0.0.1 --headless --port 17233 --http-port 17234 \\
      --dynamic-config-value limit.numPendingActivities.error=2 \\
      --dynamic-config-value limit.numPendingChildExecutions.error=2 \\
      --dynamic-config-value limit.numPendingSignals.error=2 \\
      --dynamic-config-value limit.numPendingCancelRequests.error=2 \\
      --dynamic-config-value "component.callbacks.allowedAddresses=$ALLOW" \\
      --dynamic-config-value "callback.allowedAddresses=$ALLOW"
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ParentClosePolicy
from unseen_nexus import ENDPOINT, NxService, RunInput

HUNT5 = "hh-hunt5"
SHORT = timedelta(seconds=20)

_RUNS: dict[str, int] = {}  # per workflow id: how often its code started from the top


def _run_count() -> int:
    """How often this workflow's code has started (1 the first time): after a refused
    task the SDK evicts the run and replays it from the top."""
    key = workflow.info().workflow_id
    _RUNS[key] = _RUNS.get(key, 0) + 1
    return _RUNS[key]


def _wide(fails: int) -> bool:
    """Whether this run of the code issues too many commands: for its first `fails` runs."""
    return _run_count() <= fails


@activity.defn
async def h5_nap(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return f"napped {seconds}"


@workflow.defn(sandboxed=False)
class H5Target:
    """Counts the signals `stop` until `wait` seconds have passed (or a cancel comes)."""

    def __init__(self) -> None:
        self.stops = 0

    @workflow.run
    async def run(self, wait: float) -> int:
        await workflow.sleep(wait)
        return self.stops

    @workflow.signal
    async def stop(self, _: str) -> None:
        self.stops += 1


@workflow.defn(sandboxed=False)
class TooManyActivities:
    """Schedules three activities in its first task (one past the limit of two) while the
    code runs wide, then two, then one more after them."""

    @workflow.run
    async def run(self, fails: int) -> list[str]:
        count = 3 if _wide(fails) else 2
        first = [
            workflow.execute_activity(h5_nap, 0.5, start_to_close_timeout=SHORT)
            for _ in range(count)
        ]
        results = list(await asyncio.gather(*first))
        results.append(await workflow.execute_activity(h5_nap, 0.1, start_to_close_timeout=SHORT))
        return results


@workflow.defn(sandboxed=False)
class TooManyChildren:
    """Starts three children in its first task (one past the limit) while the code runs
    wide, then two."""

    @workflow.run
    async def run(self, fails: int) -> list[int]:
        me = workflow.info().workflow_id
        count = 3 if _wide(fails) else 2
        kids = [
            workflow.execute_child_workflow(
                H5Target.run, 0.5, id=f"{me}-k{i}", parent_close_policy=ParentClosePolicy.ABANDON
            )
            for i in range(count)
        ]
        return list(await asyncio.gather(*kids))


@workflow.defn(sandboxed=False)
class TooManySignals:
    """Signals a running workflow three times in one task (one past the limit of pending
    signals) while the code runs wide, then twice; then three times over two tasks."""

    @workflow.run
    async def run(self, target: str, fails: int) -> str:
        handle = workflow.get_external_workflow_handle(target)
        count = 3 if _wide(fails) else 2
        await asyncio.gather(*(handle.signal(H5Target.stop, f"s{i}") for i in range(count)))
        await workflow.sleep(0.2)
        await handle.signal(H5Target.stop, "later")
        return "signalled"


@workflow.defn(sandboxed=False)
class TooManyCancels:
    """Requests the cancel of three running workflows in one task (one past the limit of
    pending cancel requests) while the code runs wide, then of two, then the third."""

    @workflow.run
    async def run(self, targets: list[str], fails: int) -> str:
        count = 3 if _wide(fails) else 2
        await asyncio.gather(
            *(workflow.get_external_workflow_handle(t).cancel() for t in targets[:count])
        )
        await workflow.sleep(0.2)
        for t in targets[count:]:
            await workflow.get_external_workflow_handle(t).cancel()
        return "cancelled"


@workflow.defn(sandboxed=False)
class Resettable5:
    """Takes signals `s` and updates `u` (which wait on `go` when asked to), runs one
    activity per signal, and completes on the signal `done`."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.go = False

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.execute_activity(h5_nap, 0.1, start_to_close_timeout=SHORT)
        await workflow.wait_condition(lambda: "done" in self.seen)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.seen

    @workflow.signal
    async def s(self, value: str) -> None:
        self.seen.append(value)
        if value == "go":
            self.go = True
        if value not in ("done", "go"):
            await workflow.execute_activity(h5_nap, 0.1, start_to_close_timeout=SHORT)

    @workflow.update
    async def u(self, value: str) -> str:
        if value.startswith("wait"):
            await workflow.wait_condition(lambda: self.go)
        self.seen.append(f"u:{value}")
        return value


@workflow.defn(sandboxed=False)
class CalledBack:
    """Naps in an activity and completes (its start carries completion callbacks)."""

    @workflow.run
    async def run(self, fail: bool) -> str:
        await workflow.execute_activity(h5_nap, 0.1, start_to_close_timeout=SHORT)
        if fail:
            raise ApplicationError("called back with a failure", non_retryable=True)
        return "done"


HUNT5_WORKFLOWS: list[Any] = [
    H5Target,
    TooManyActivities,
    TooManyChildren,
    TooManySignals,
    TooManyCancels,
    Resettable5,
    CalledBack,
]
HUNT5_ACTIVITIES: list[Any] = [h5_nap]


@workflow.defn(sandboxed=False)
class H5NxCaller:
    """Nexus operations through unseen_nexus.py's endpoint: cancelled before they start
    (the handler keeps failing with a retryable error), and many at once."""

    @workflow.run
    async def run(self, shape: str) -> list[str]:
        nx = workflow.create_nexus_client(service=NxService, endpoint=ENDPOINT)
        wid = workflow.info().workflow_id
        out: list[str] = []

        async def attempt(op: Any, arg: Any, **kw: Any) -> None:
            try:
                out.append(str(await nx.execute_operation(op, arg, **kw)))
            except Exception as e:  # (the failure is what is recorded)
                out.append(f"{type(e).__name__}: {e}")

        if shape.startswith("unstarted-"):
            kind = _NX_CANCEL[shape.removeprefix("unstarted-")]
            # (the SDK's start waits for the operation to start: cancelling it cancels
            # the operation)
            start = asyncio.ensure_future(
                nx.start_operation(NxService.fail, "retryable", cancellation_type=kind)
            )
            await workflow.sleep(1.5)
            start.cancel()
            try:
                out.append(str(await start))
            except BaseException as e:
                out.append(f"{type(e).__name__}: {e}")
            await workflow.sleep(1)
        elif shape == "many":
            await asyncio.gather(
                *(attempt(NxService.echo, f"e{i}") for i in range(6)),
                *(attempt(NxService.run, RunInput("ok", f"{wid}.handler{i}")) for i in range(2)),
                attempt(NxService.fail, "bad-request"),
                attempt(NxService.fail, "op-canceled"),
            )
        return out


_NX_CANCEL = {
    "try": workflow.NexusOperationCancellationType.TRY_CANCEL,
    "wait-completed": workflow.NexusOperationCancellationType.WAIT_COMPLETED,
    "wait-requested": workflow.NexusOperationCancellationType.WAIT_REQUESTED,
    "abandon": workflow.NexusOperationCancellationType.ABANDON,
}
