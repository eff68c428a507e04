"""The `BuildIds` search attribute of runs on a Worker Deployment version.

One versioned worker (build 1.0 of a fresh deployment, made current) runs a pinned
workflow, an auto-upgrade workflow, and the auto-upgrade workflow again started with a
pinned versioning override; a worker of the same deployment that does not use
versioning runs an unversioned one on another queue. `observe` returns each closed
run's `BuildIds` as Describe shows it, and which of the runs a List query on
`BuildIds = 'pinned:<deployment>:1.0'` finds (the deployment name replaced by `D`).
It also follows a running pinned run's list through an auto-upgrade override, the
override's removal and the run's close (`override changes`).

Run as a script against a server, it prints the observation as JSON;
`tests/fixtures/build-ids/pinned.json` was recorded so from the dev server (temporal
CLI 1.9.1, server 1.32.0):

    python -m tests.adapters.serve.build_ids_pinned_drive HOST:PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any

from temporalio import workflow
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.common import PinnedVersioningOverride, VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import Worker, WorkerDeploymentConfig

with workflow.unsafe.imports_passed_through():
    from tests.adapters.serve.serving import ROOT

PINNED = ROOT / "tests" / "fixtures" / "build-ids" / "pinned.json"


@workflow.defn(name="PinnedBuildIds", versioning_behavior=VersioningBehavior.PINNED)
class Pinned:
    @workflow.run
    async def run(self) -> str:
        return "pinned"


@workflow.defn(name="AutoBuildIds", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class Auto:
    @workflow.run
    async def run(self) -> str:
        return "auto"


@workflow.defn(name="PinnedWaitBuildIds", versioning_behavior=VersioningBehavior.PINNED)
class PinnedWait:
    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done)
        return "done"

    @workflow.signal
    def finish(self) -> None:
        self.done = True


@workflow.defn(name="PlainBuildIds")
class Plain:
    @workflow.run
    async def run(self) -> str:
        return "plain"


async def _build_ids(client: Client, workflow_id: str) -> list[str] | None:
    reply = await client.workflow_service.describe_workflow_execution(
        ws.DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )
    fields = reply.workflow_execution_info.search_attributes.indexed_fields
    if "BuildIds" not in fields:
        return None
    return list(json.loads(fields["BuildIds"].data))


async def _current(client: Client, version: WorkerDeploymentVersion) -> None:
    """Make `version` current once its poller has made it known."""
    request = ws.SetWorkerDeploymentCurrentVersionRequest(
        namespace=client.namespace,
        deployment_name=version.deployment_name,
        build_id=version.build_id,
    )
    for _ in range(200):
        try:
            await client.workflow_service.set_worker_deployment_current_version(request)
            return
        except Exception:
            await asyncio.sleep(0.1)
    raise AssertionError(f"{version} never became current")


async def _overridden(client: Client, queue: str, workflow_id: str) -> dict[str, Any]:
    """A running pinned run's list once its first task completed, after an auto-upgrade
    override, after the override is unset, and once the run closed."""
    handle = await client.start_workflow(PinnedWait.run, id=workflow_id, task_queue=queue)
    seen: dict[str, Any] = {}
    for _ in range(100):
        seen["running"] = await _build_ids(client, workflow_id)
        if seen["running"] is not None:
            break
        await asyncio.sleep(0.1)

    async def update(auto_upgrade: bool) -> None:
        request = ws.UpdateWorkflowExecutionOptionsRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id),
        )
        request.workflow_execution_options.SetInParent()  # an empty one unsets the override
        if auto_upgrade:
            request.workflow_execution_options.versioning_override.auto_upgrade = True
        request.update_mask.paths.append("versioning_override")
        await client.workflow_service.update_workflow_execution_options(request)

    await update(auto_upgrade=True)
    seen["auto-upgrade override"] = await _build_ids(client, workflow_id)
    await update(auto_upgrade=False)
    seen["override unset"] = await _build_ids(client, workflow_id)
    await handle.signal(PinnedWait.finish)
    await handle.result()
    seen["closed"] = await _build_ids(client, workflow_id)
    return seen


async def _listed(client: Client, query: str, expected: int) -> list[str]:
    found: list[str] = []
    for _ in range(100):
        found = sorted([w.id async for w in client.list_workflows(query)])
        if len(found) >= expected:
            break
        await asyncio.sleep(0.1)
    return found


async def observe(client: Client) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    name = f"bid-{tag}"
    queue, plain_queue = f"bid-{tag}", f"bid-plain-{tag}"
    version = WorkerDeploymentVersion(deployment_name=name, build_id="1.0")
    versioned = WorkerDeploymentConfig(version=version, use_worker_versioning=True)
    unversioned = WorkerDeploymentConfig(version=version, use_worker_versioning=False)
    ids = {k: f"{k}-{tag}" for k in ("pinned", "auto", "override", "unversioned")}
    async with (
        Worker(
            client,
            task_queue=queue,
            workflows=[Pinned, Auto, PinnedWait],
            deployment_config=versioned,
        ),
        Worker(client, task_queue=plain_queue, workflows=[Plain], deployment_config=unversioned),
    ):
        await _current(client, version)
        await client.execute_workflow(Pinned.run, id=ids["pinned"], task_queue=queue)
        await client.execute_workflow(Auto.run, id=ids["auto"], task_queue=queue)
        await client.execute_workflow(
            Auto.run,
            id=ids["override"],
            task_queue=queue,
            versioning_override=PinnedVersioningOverride(version),
        )
        await client.execute_workflow(Plain.run, id=ids["unversioned"], task_queue=plain_queue)
        changed = await _overridden(client, queue, f"changed-{tag}")
    seen: dict[str, Any] = {k: await _build_ids(client, v) for k, v in ids.items()}
    query = f"BuildIds = 'pinned:{name}:1.0' AND WorkflowId IN " + (
        "(" + ", ".join(f"'{v}'" for v in ids.values()) + ")"
    )
    found = await _listed(client, query, 2)
    seen["listed pinned"] = [k for k, v in ids.items() if v in found]
    seen["override changes"] = changed
    generic: dict[str, Any] = json.loads(json.dumps(seen).replace(name, "D"))
    return generic


def main() -> None:
    seen = asyncio.run(_main(sys.argv[1]))
    print(json.dumps(seen, indent=2, sort_keys=True))


async def _main(address: str) -> dict[str, Any]:
    return await observe(await Client.connect(address))


if __name__ == "__main__":
    main()
