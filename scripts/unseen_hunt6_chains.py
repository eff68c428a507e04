"""Parts of the `hunt6` scenario (unseen_hunt6_scenario.py) whose histories chain:
runs retried or continued as new and children, whose starts the model makes itself
(tests/adapters/test_conform_successors.py checks them against these recordings)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from google.protobuf.field_mask_pb2 import FieldMask
from temporalio.api.common.v1 import Priority as ApiPriority
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflow.v1 import WorkflowExecutionOptions
from temporalio.api.workflowservice.v1 import UpdateWorkflowExecutionOptionsRequest
from temporalio.common import PinnedVersioningOverride, Priority, WorkerDeploymentVersion
from temporalio.worker import Worker
from unseen_hunt3_scenario import _chain, _dump_chain, _run
from unseen_hunt5_scenario import _deployment
from unseen_workflows_hunt6 import (
    HUNT6,
    HUNT6_ACTIVITIES,
    HUNT6_WORKFLOWS,
    RETRY_TWICE,
    FailOnce6,
    Kids6,
    Prio6,
    RetryKid6,
    Upgrading6,
    Upsert6,
)

if TYPE_CHECKING:
    from record_unseen import Recorder

VQ5, DEP5 = "hh6-v5", "hh6dep5"  # the versioned workers' queue and deployment


async def prio(r: Recorder) -> None:
    """prio-*: UpdateWorkflowExecutionOptions changes a run's priority before it starts
    a child with none of its own, then continues as new (prio-can) or fails and is
    retried (prio-fail); the children and the following runs show what they took."""
    tag = uuid.uuid4().hex[:4]
    first = Priority(priority_key=3, fairness_key="tenant-a", fairness_weight=2.0)
    for then in ("can", "fail"):
        wid = f"hh6-prio-{then}-{tag}"
        h = await r.client.start_workflow(
            Prio6.run, then, id=wid, task_queue=HUNT6, priority=first, retry_policy=RETRY_TWICE
        )
        await asyncio.sleep(1)
        options = WorkflowExecutionOptions(priority=ApiPriority(priority_key=5, fairness_key="b"))
        await r.client.workflow_service.update_workflow_execution_options(
            UpdateWorkflowExecutionOptionsRequest(
                namespace="default", workflow_execution=WorkflowExecution(workflow_id=wid),
                workflow_execution_options=options, identity="hh6-options",
                update_mask=FieldMask(paths=["priority.priority_key", "priority.fairness_key"]),
            )
        )  # fmt: skip
        await h.signal("poke", "go")
        await asyncio.sleep(2)
        await r.client.get_workflow_handle(wid).signal("poke", "again")
        await _run(r, f"prio-{then}", r.client.get_workflow_handle(wid))
        runs = await _chain(r, wid)
        for i, run_id in enumerate(runs):
            await r.dump(f"prio-{then}.run{i + 1}", wid, run_id)
            kid = f"{wid}-kid{i + 1 if then == 'fail' else 1}-{run_id[:4]}"
            await r.dump(f"prio-{then}.kid{i + 1}", kid)


async def versions5(r: Recorder) -> None:
    """v10-*: a pinned parent's child (inheriting its version) retried; an auto-upgrade
    run moved to a new current build, then retried."""
    tag = uuid.uuid4().hex[:4]

    def worker(build: str) -> Worker:
        return Worker(
            r.client, task_queue=VQ5, workflows=HUNT6_WORKFLOWS, activities=HUNT6_ACTIVITIES,
            deployment_config=_deployment(DEP5, build),
        )  # fmt: skip

    kid, up = f"hh6-v10-kid-{tag}", f"hh6-v10-up-{tag}"
    async with worker("b1"):
        await r.set_current(DEP5, "b1")
        await r.client.start_workflow(RetryKid6.run, id=kid, task_queue=VQ5)
        await r.client.start_workflow(
            Upgrading6.run, id=up, task_queue=VQ5, retry_policy=RETRY_TWICE
        )
        await _run(r, "v10-kid", r.client.get_workflow_handle(kid))
        async with worker("b2"):
            await r.set_current(DEP5, "b2")
            await asyncio.sleep(2)
            await r.client.get_workflow_handle(up).signal("poke", "go")
            await asyncio.sleep(3)
            await r.client.get_workflow_handle(up).signal("poke", "again")
            await _run(r, "v10-up", r.client.get_workflow_handle(up))
    await r.dump("v10-kid", kid)
    await _dump_chain(r, "v10-kid.child", f"{kid}-kid")
    await _dump_chain(r, "v10-up", up)


async def kids(r: Recorder) -> None:
    """kids.*: a cron child and a retried child (Kids6) of a parent with a priority."""
    wid = f"hh6-kids-{uuid.uuid4().hex[:4]}"
    prio = Priority(priority_key=2, fairness_key="parent", fairness_weight=3.0)
    h = await r.client.start_workflow(Kids6.run, id=wid, task_queue=HUNT6, priority=prio)
    await _run(r, "kids", h)
    await asyncio.sleep(3)
    await r.client.get_workflow_handle(f"{wid}-cron").terminate("recorded")
    await r.dump("kids", wid)
    await _dump_chain(r, "kids.cron", f"{wid}-cron")
    await _dump_chain(r, "kids.retried", f"{wid}-retried")


async def retries(r: Recorder) -> None:
    """retry-*: retried runs: one that upserted its memo, one started eagerly, one
    started with a pinned override (hh6dep5's b1)."""
    tag = uuid.uuid4().hex[:4]
    ids = {n: f"hh6-retry-{n}-{tag}" for n in ("memo", "eager", "pinned")}
    await r.client.start_workflow(
        Upsert6.run, id=ids["memo"], task_queue=HUNT6, retry_policy=RETRY_TWICE,
        memo={"x": "original"}, static_summary="upserting",
        execution_timeout=timedelta(seconds=60),
    )  # fmt: skip
    await r.client.start_workflow(
        FailOnce6.run, id=ids["eager"], task_queue=HUNT6, retry_policy=RETRY_TWICE,
        request_eager_start=True,
    )  # fmt: skip
    async with Worker(
        r.client, task_queue=VQ5, workflows=HUNT6_WORKFLOWS, activities=HUNT6_ACTIVITIES,
        deployment_config=_deployment(DEP5, "b1"),
    ):  # fmt: skip
        await r.set_current(DEP5, "b1")
        await r.client.start_workflow(
            FailOnce6.run, id=ids["pinned"], task_queue=VQ5, retry_policy=RETRY_TWICE,
            versioning_override=PinnedVersioningOverride(WorkerDeploymentVersion(DEP5, "b1")),
        )  # fmt: skip
        for name, workflow_id in ids.items():
            await _run(r, f"retry-{name}", r.client.get_workflow_handle(workflow_id))
    for name, workflow_id in ids.items():
        await _dump_chain(r, f"retry-{name}", workflow_id)
