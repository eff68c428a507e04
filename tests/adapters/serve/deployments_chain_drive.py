"""Worker Deployments across a continue-as-new: what the new run inherits, and the flag
that tells a pinned run its target version moved (`chains`).

Two workers of one deployment (builds 1.0 and 2.0) poll one task queue with
`use_worker_versioning`, and 1.0 is made current. Then:

- "upgrade": a pinned workflow waits on short timers until a WorkflowTaskStarted tells
  it the target version changed (2.0 is made current meanwhile) and continues as new
  with initial behavior AUTO_UPGRADE; the new run goes to 2.0;
- "ramping": a pinned workflow, signalled after 2.0 starts ramping at 0%, continues as
  new with USE_RAMPING_VERSION; the new run goes to the ramping 2.0;
- "pinned": a pinned workflow continues as new with no initial behavior: the new run
  inherits its version, 1.0, though 2.0 is current by then;
- "auto": an auto-upgrade workflow continues as new: the new run inherits the
  auto-upgrade info (no initial behavior).

For each, the result, each run's Started-event versioning fields, which of its
WorkflowTaskStarted events carry `target_worker_deployment_version_changed`, and its
DescribeWorkflowExecution `versioning_info`, with the deployment's name made "D".
`tests/fixtures/deployments/chains.json` was recorded from the dev server (temporal CLI
1.9.1, server 1.32.0):

    python -m tests.adapters.serve.deployments_chain_drive HOST:PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import timedelta
from typing import Any

from google.protobuf.json_format import MessageToDict
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client, WorkflowHandle
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import Worker, WorkerDeploymentConfig

from tests.adapters.serve.deployments_drive import _visible, propagated

with workflow.unsafe.imports_passed_through():
    from tests.adapters.serve.serving import ROOT

CHAINS = ROOT / "tests" / "fixtures" / "deployments" / "chains.json"
_AUTO = workflow.ContinueAsNewVersioningBehavior.AUTO_UPGRADE
_RAMPING = workflow.ContinueAsNewVersioningBehavior.USE_RAMPING_VERSION


@workflow.defn(name="Upgrade", versioning_behavior=VersioningBehavior.PINNED)
class Upgrade1:
    @workflow.run
    async def run(self, attempt: int) -> str:
        if attempt > 0:
            return "1.0"
        while True:
            await asyncio.sleep(0.05)
            if workflow.info().is_target_worker_deployment_version_changed():
                workflow.continue_as_new(arg=attempt + 1, initial_versioning_behavior=_AUTO)


class _Waits:
    def __init__(self) -> None:
        self.go = False

    @workflow.signal
    def proceed(self) -> None:
        self.go = True


@workflow.defn(name="Ramping", versioning_behavior=VersioningBehavior.PINNED)
class Ramping1(_Waits):
    @workflow.run
    async def run(self, attempt: int) -> str:
        if attempt > 0:
            return "1.0"
        await workflow.wait_condition(lambda: self.go)
        workflow.continue_as_new(arg=attempt + 1, initial_versioning_behavior=_RAMPING)


@workflow.defn(name="Pinned", versioning_behavior=VersioningBehavior.PINNED)
class Pinned1(_Waits):
    @workflow.run
    async def run(self, attempt: int) -> str:
        if attempt > 0:
            return "1.0"
        await workflow.wait_condition(lambda: self.go)
        workflow.continue_as_new(arg=attempt + 1)


@workflow.defn(name="Auto", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class Auto1:
    @workflow.run
    async def run(self, attempt: int) -> str:
        if attempt > 0:
            return "1.0"
        workflow.continue_as_new(arg=attempt + 1)


@workflow.defn(name="Upgrade", versioning_behavior=VersioningBehavior.PINNED)
class Upgrade2:
    @workflow.run
    async def run(self, attempt: int) -> str:
        return "2.0"


@workflow.defn(name="Ramping", versioning_behavior=VersioningBehavior.PINNED)
class Ramping2:
    @workflow.run
    async def run(self, attempt: int) -> str:
        return "2.0"


@workflow.defn(name="Pinned", versioning_behavior=VersioningBehavior.PINNED)
class Pinned2:
    @workflow.run
    async def run(self, attempt: int) -> str:
        return "2.0"


@workflow.defn(name="Auto", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class Auto2:
    @workflow.run
    async def run(self, attempt: int) -> str:
        return "2.0"


_BUILDS: dict[str, list[type]] = {
    "1.0": [Upgrade1, Ramping1, Pinned1, Auto1],
    "2.0": [Upgrade2, Ramping2, Pinned2, Auto2],
}


_STARTED_FIELDS = (
    "inheritedPinnedVersion",
    "inheritedAutoUpgradeInfo",
    "declinedTargetVersionUpgrade",
    "versioningOverride",
)


async def _runs(client: Client, handle: WorkflowHandle[Any, Any]) -> list[dict[str, Any]]:
    """Each run of the chain, first run first: its versioning as history and describe
    show it."""
    shown: list[dict[str, Any]] = []
    run_id: str | None = handle.first_execution_run_id or handle.result_run_id
    while run_id:
        run = client.get_workflow_handle(handle.id, run_id=run_id)
        history = await run.fetch_history()
        started = MessageToDict(history.events[0].workflow_execution_started_event_attributes)
        flags = [
            e.workflow_task_started_event_attributes.target_worker_deployment_version_changed
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
        ]
        described = await run.describe()
        info = described.raw_description.workflow_execution_info.versioning_info
        shown.append(
            {
                "started": {k: started[k] for k in _STARTED_FIELDS if k in started},
                # the upgrade's first run waits on timers a varying number of times
                "flags before the last task": sorted(set(flags[:-1])),
                "flag of the last task": flags[-1],
                "versioning info": MessageToDict(info),
            }
        )
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            else None
        )
    return shown


async def chains(client: Client) -> dict[str, Any]:
    name = f"chains-{uuid.uuid4()}"
    queue = f"chains-{uuid.uuid4()}"
    v1 = WorkerDeploymentVersion(deployment_name=name, build_id="1.0")
    v2 = WorkerDeploymentVersion(deployment_name=name, build_id="2.0")
    service = client.workflow_service
    workers = [
        Worker(
            client,
            task_queue=queue,
            workflows=_BUILDS[v.build_id],
            deployment_config=WorkerDeploymentConfig(version=v, use_worker_versioning=True),
        )
        for v in (v1, v2)
    ]
    seen: dict[str, Any] = {}

    def current(version: WorkerDeploymentVersion) -> Any:
        request = ws.SetWorkerDeploymentCurrentVersionRequest(
            namespace=client.namespace, deployment_name=name, build_id=version.build_id
        )
        return service.set_worker_deployment_current_version(request)

    def ramp(version: WorkerDeploymentVersion | None, percentage: float) -> Any:
        request = ws.SetWorkerDeploymentRampingVersionRequest(
            namespace=client.namespace,
            deployment_name=name,
            build_id=version.build_id if version is not None else "",
            percentage=percentage,
        )
        return service.set_worker_deployment_ramping_version(request)

    async def start(kind: str) -> WorkflowHandle[Any, Any]:
        return await client.start_workflow(
            kind,
            0,
            id=f"{kind}-{uuid.uuid4()}",
            task_queue=queue,
            result_type=str,
            execution_timeout=timedelta(seconds=30),
        )

    async def on_1_0(handle: WorkflowHandle[Any, Any]) -> None:
        for _ in range(200):
            info = (await handle.describe()).raw_description.workflow_execution_info
            if info.versioning_info.deployment_version.build_id == "1.0":
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{handle.id} never ran on 1.0")

    async with workers[0], workers[1]:
        await _visible(client, v1)
        await _visible(client, v2)
        await current(v1)
        await propagated(client, name)
        handles = {kind: await start(kind) for kind in ("Auto", "Upgrade", "Ramping", "Pinned")}
        seen["Auto"] = {"result": await handles["Auto"].result()}  # all on 1.0
        for kind in ("Upgrade", "Ramping", "Pinned"):
            await on_1_0(handles[kind])
        await ramp(v2, 0)
        await propagated(client, name)
        await handles["Ramping"].signal("proceed")
        seen["Ramping"] = {"result": await handles["Ramping"].result()}
        await ramp(None, 0)  # ramping stops
        await propagated(client, name)
        await current(v2)
        await propagated(client, name)
        await handles["Pinned"].signal("proceed")
        for kind in ("Upgrade", "Pinned"):
            seen[kind] = {"result": await handles[kind].result()}
        for kind, handle in handles.items():
            seen[kind]["runs"] = await _runs(client, handle)
    generic: dict[str, Any] = json.loads(json.dumps(seen).replace(name, "D"))
    return generic


async def _main(address: str) -> dict[str, Any]:
    return await chains(await Client.connect(address))


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_main(sys.argv[1])), indent=2, sort_keys=True), flush=True)
