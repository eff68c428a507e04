"""Workflows of tests/fixtures/unseen-histories, part eight (the `hunt6` scenario of
record_unseen.py, driven by unseen_hunt6_scenario.py): user metadata (summaries and
details) and event groups on every command that takes them, priorities on activities,
children and retried runs, links on starts, signals, cancel requests and terminations,
and Worker Versioning v3 overrides (pinned, auto-upgrade and one-time) on starts and
children, a pinned run continued as new onto the current version, a ramping version.

The scenario starts its own workers on `hh-hunt6` (and on versioned queues), on a dev
server with the dynamic config the Python SDK's own tests set (its conftest), e.g.::

    temporal server start-dev --ip 127.0.0.1 --headless --port 17233 --http-port 17234 \\
      --dynamic-config-value frontend.workerVersioningWorkflowAPIs=true \\
      --dynamic-config-value frontend.workerVersioningDataAPIs=true \\
      --dynamic-config-value system.enableDeploymentVersions=true \\
      --dynamic-config-value system.enableEagerWorkflowStart=true \\
      --dynamic-config-value frontend.enableExecuteMultiOperation=true
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import (
    AutoUpgradeVersioningOverride,
    PinnedVersioningOverride,
    Priority,
    RetryPolicy,
    VersioningBehavior,
    WorkerDeploymentVersion,
)
from temporalio.exceptions import ApplicationError
from unseen_nexus import ENDPOINT, NxService, RunInput

HUNT6 = "hh-hunt6"
SHORT = timedelta(seconds=20)


@activity.defn
async def h6_echo(text: str) -> str:
    return text


@activity.defn
async def h6_nap(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return f"napped {seconds}"


@workflow.defn
class Kid6:
    """A child: an activity, a timer with a summary, then its answer."""

    @workflow.run
    async def run(self, text: str) -> str:
        await workflow.sleep(0.1, summary="the kid naps")
        return await workflow.execute_activity(h6_echo, text, start_to_close_timeout=SHORT)


@workflow.defn
class Meta6:
    """User metadata and event groups on a timer, a condition's timeout, an activity, a
    local activity, a child and an external signal; priorities on the activity and the
    child. `fail_first`: the first attempt fails (the run's retry policy retries it)."""

    def __init__(self) -> None:
        self.go = False

    @workflow.signal
    def poke(self, _: str) -> None:
        self.go = True

    @workflow.run
    async def run(self, fail_first: bool) -> str:
        group = workflow.create_event_group("g-first", label="the first group")
        with group.scope():
            await workflow.sleep(0.2, summary="a short nap")
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self.go, timeout=0.3, timeout_summary="waiting for a poke"
                )
        act = workflow.start_activity(
            h6_echo, "a", start_to_close_timeout=SHORT, summary="echo a",
            priority=Priority(priority_key=2, fairness_key="fa", fairness_weight=1.5),
            event_groups=[workflow.create_event_group("g-act")],
        )  # fmt: skip
        local = workflow.start_local_activity(
            h6_echo, "la", start_to_close_timeout=SHORT, summary="local echo"
        )
        await act
        await local
        info = workflow.info()
        kid = await workflow.execute_child_workflow(
            Kid6.run, "k", id=f"{info.workflow_id}-kid{info.attempt}",
            static_summary="the kid", static_details="**kid** details",
            priority=Priority(priority_key=4, fairness_key="fk"),
        )  # fmt: skip
        if fail_first and info.attempt == 1:
            raise ApplicationError("the first attempt fails")
        return kid


@workflow.defn
class Linked6:
    """Waits for two pokes, then continues as new once (the continued run waits for
    a cancel or a termination)."""

    def __init__(self) -> None:
        self.pokes = 0

    @workflow.signal
    def poke(self, _: str) -> None:
        self.pokes += 1

    @workflow.update
    def bump(self, n: int) -> int:
        self.pokes += n
        return self.pokes

    @workflow.run
    async def run(self, again: bool) -> str:
        await workflow.wait_condition(lambda: self.pokes >= 2)
        if again:
            workflow.continue_as_new(False)
        await workflow.wait_condition(lambda: self.pokes >= 99)
        return "never"


@workflow.defn
class Cron6:
    """A cron run: one activity."""

    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(h6_echo, "cron", start_to_close_timeout=SHORT)


@workflow.defn
class Pinned6:
    """Runs an activity and a child on its own queue, then waits for a poke; with
    `hop`, continues as new with the given initial versioning behavior."""

    def __init__(self) -> None:
        self.go = False

    @workflow.signal
    def poke(self, _: str) -> None:
        self.go = True

    @workflow.run
    async def run(self, hop: int) -> str:
        await workflow.execute_activity(h6_echo, "p", start_to_close_timeout=SHORT)
        await workflow.wait_condition(lambda: self.go)
        if hop == 1:
            workflow.continue_as_new(
                0, initial_versioning_behavior=workflow.ContinueAsNewVersioningBehavior.AUTO_UPGRADE
            )
        if hop == 3:  # no initial behavior: the continued run stays pinned
            workflow.continue_as_new(0)
        if hop == 2:
            workflow.continue_as_new(
                0,
                initial_versioning_behavior=(
                    workflow.ContinueAsNewVersioningBehavior.USE_RAMPING_VERSION
                ),
            )
        return await workflow.execute_activity(h6_echo, "done", start_to_close_timeout=SHORT)


@workflow.defn
class Groups6:
    """Every command in an event group: a timer started and cancelled, an activity on a
    queue nobody polls requested to cancel, a signal and a cancel request to a workflow
    that does not exist, a memo upsert and a patch marker; the first run continues as
    new inside the group, the second completes inside it."""

    @workflow.run
    async def run(self, again: bool) -> str:
        with workflow.create_event_group("g-all", label="everything").scope():
            timer = asyncio.ensure_future(workflow.sleep(30, summary="cancelled timer"))
            act = workflow.start_activity(
                h6_echo, "never", task_queue="hh6-nobody", start_to_close_timeout=SHORT,
                summary="cancelled activity",
            )  # fmt: skip
            await workflow.sleep(0.1)
            timer.cancel()
            act.cancel()
            with contextlib.suppress(BaseException):
                await act
            with contextlib.suppress(BaseException):
                await timer
            missing = workflow.get_external_workflow_handle("hh6-nobody-here")
            with contextlib.suppress(BaseException):
                await missing.signal("poke", "x")
            with contextlib.suppress(BaseException):
                await missing.cancel()
            workflow.upsert_memo({"group": "g-all"})
            workflow.patched("hh6-patch")
            await workflow.sleep(0.1)
            if again:
                workflow.continue_as_new(False)
            return "grouped"


@workflow.defn
class Prio6:
    """Waits for a poke, starts a child with no priority of its own, then: "can"
    continues as new once (the continued run does the same and completes), "fail"
    fails its first attempt (the run's retry policy retries it), else completes."""

    def __init__(self) -> None:
        self.go = False

    @workflow.signal
    def poke(self, _: str) -> None:
        self.go = True

    @workflow.run
    async def run(self, then: str) -> str:
        await workflow.wait_condition(lambda: self.go)
        info = workflow.info()
        kid = await workflow.execute_child_workflow(
            Kid6.run, "p", id=f"{info.workflow_id}-kid{info.attempt}-{info.run_id[:4]}"
        )
        if then == "can":
            workflow.continue_as_new("done")
        if then == "fail" and info.attempt == 1:
            raise ApplicationError("the first attempt fails")
        return kid


@workflow.defn
class FailOnce6:
    """Fails its first attempt, completes its second."""

    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity(h6_echo, "x", start_to_close_timeout=SHORT)
        if workflow.info().attempt == 1:
            raise ApplicationError("the first attempt fails")
        return "second"


@workflow.defn
class RetryKid6:
    """Runs FailOnce6 as a child on its own queue, with a retry policy of two attempts."""

    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_child_workflow(
            FailOnce6.run, id=f"{workflow.info().workflow_id}-kid", retry_policy=RETRY_TWICE
        )


@workflow.defn(versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class Upgrading6:
    """An auto-upgrade workflow: waits for a poke, then its first attempt fails."""

    def __init__(self) -> None:
        self.go = False

    @workflow.signal
    def poke(self, _: str) -> None:
        self.go = True

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.go)
        if workflow.info().attempt == 1:
            raise ApplicationError("the first attempt fails")
        return "second"


@workflow.defn
class Kids6:
    """A cron child (ABANDON, a summary, a memo) left running, and a child with a retry
    policy, an execution timeout, a memo, a summary and a priority that fails its first
    attempt; waits for the second."""

    @workflow.run
    async def run(self) -> str:
        wid = workflow.info().workflow_id
        await workflow.start_child_workflow(
            Cron6.run, id=f"{wid}-cron", cron_schedule="@every 2s", static_summary="cron kid",
            parent_close_policy=workflow.ParentClosePolicy.ABANDON, memo={"k": "cron"},
        )  # fmt: skip
        return await workflow.execute_child_workflow(
            FailOnce6.run, id=f"{wid}-retried", retry_policy=RETRY_TWICE,
            execution_timeout=timedelta(seconds=60), memo={"k": "retried"},
            static_summary="retried kid", priority=Priority(fairness_key="kids"),
        )  # fmt: skip


@workflow.defn
class Upsert6:
    """Upserts its memo, then fails its first attempt."""

    @workflow.run
    async def run(self) -> str:
        workflow.upsert_memo({"x": f"changed by attempt {workflow.info().attempt}"})
        await workflow.sleep(0.1)
        if workflow.info().attempt == 1:
            raise ApplicationError("the first attempt fails")
        return "second"


_OVERRIDES = {
    "auto": AutoUpgradeVersioningOverride(),
    "pinned": PinnedVersioningOverride(WorkerDeploymentVersion("hh6dep2", "b1")),
}


@workflow.defn
class Nexus6:
    """Nexus operations with summaries: a synchronous one, and a workflow-run one
    (in an event group) whose handler run is `<workflow id>.handler`."""

    @workflow.run
    async def run(self) -> str:
        client = workflow.create_nexus_client(endpoint=ENDPOINT, service=NxService)
        echoed = await client.execute_operation(
            NxService.echo, "hi", summary="a synchronous echo",
            schedule_to_close_timeout=SHORT,
        )  # fmt: skip
        with workflow.create_event_group("g-nexus").scope():
            handle = await client.start_operation(
                NxService.run, RunInput("ok", f"{workflow.info().workflow_id}.handler"),
                summary="a workflow-run operation", schedule_to_close_timeout=SHORT,
            )  # fmt: skip
        return f"{echoed} {await handle}"


@workflow.defn
class Parent6:
    """Starts a child on its own queue with the versioning override `override` names
    (none for another name), waits for it."""

    @workflow.run
    async def run(self, override: str) -> str:
        info = workflow.info()
        return await workflow.execute_child_workflow(
            Kid6.run, "v", id=f"{info.workflow_id}-kid",
            versioning_override=_OVERRIDES.get(override),
        )  # fmt: skip


HUNT6_WORKFLOWS = [
    Kid6, Meta6, Linked6, Cron6, Pinned6, Parent6, Nexus6, Groups6, Prio6, FailOnce6, RetryKid6,
    Upgrading6, Kids6, Upsert6,
]  # fmt: skip
HUNT6_ACTIVITIES: list[Callable[..., Any]] = [h6_echo, h6_nap]
RETRY_TWICE = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=2)
