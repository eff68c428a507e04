"""Which version of a Worker Deployment a ramp sends each workflow to, on a server.

Two workers of one deployment (builds 1.0 and 2.0) poll one task queue with
`use_worker_versioning`; 1.0 is made the current version and 2.0 ramps at 50%. An
auto-upgrade workflow started then runs on the version matching picks for its workflow
id (common/worker_versioning/worker_versioning.go
`FindTargetDeploymentVersionAndRevisionNumberForWorkflowID`), and returns that
version's build id. `observe` returns the build id each fixed workflow id ran on, and
the error DescribeWorkerDeployment gives for a deployment no poller has made.

Run as a script against a server, it prints the observation as JSON;
`tests/fixtures/deployments/ramp.json` was recorded so from the dev server (temporal
CLI 1.9.1, server 1.32.0):

    python -m tests.adapters.serve.deployments_drive HOST:PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any

from temporalio import workflow
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.service import RPCError
from temporalio.worker import Worker, WorkerDeploymentConfig

with workflow.unsafe.imports_passed_through():
    from tests.adapters.serve.serving import ROOT

RAMP = ROOT / "tests" / "fixtures" / "deployments" / "ramp.json"
WORKFLOW_IDS = tuple(f"ramp-{i}" for i in range(24))
PERCENTAGE = 50.0


@workflow.defn(name="RampWorkflow", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class RampV1:
    @workflow.run
    async def run(self) -> str:
        return "1.0"


@workflow.defn(name="RampWorkflow", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class RampV2:
    @workflow.run
    async def run(self) -> str:
        return "2.0"


def _worker(client: Client, queue: str, version: WorkerDeploymentVersion, wf: type) -> Worker:
    config = WorkerDeploymentConfig(version=version, use_worker_versioning=True)
    return Worker(client, task_queue=queue, workflows=[wf], deployment_config=config)


async def _visible(client: Client, version: WorkerDeploymentVersion) -> bytes:
    """The deployment's conflict token once `version` is among its versions."""
    request = ws.DescribeWorkerDeploymentRequest(
        namespace=client.namespace, deployment_name=version.deployment_name
    )
    for _ in range(200):
        try:
            reply = await client.workflow_service.describe_worker_deployment(request)
        except RPCError:
            reply = None
        if reply is not None and any(
            s.version == version.to_canonical_string()
            for s in reply.worker_deployment_info.version_summaries
        ):
            return bytes(reply.conflict_token)
        await asyncio.sleep(0.1)
    raise AssertionError(f"{version} never became visible")


async def _unknown(client: Client) -> dict[str, Any]:
    request = ws.DescribeWorkerDeploymentRequest(
        namespace=client.namespace, deployment_name="no-such-deployment"
    )
    try:
        await client.workflow_service.describe_worker_deployment(request)
    except RPCError as err:
        return {"status": err.status.name, "message": err.message}
    return {"status": "OK"}


async def observe(client: Client) -> dict[str, Any]:
    name = f"ramp-{uuid.uuid4()}"
    queue = f"ramp-{uuid.uuid4()}"
    v1 = WorkerDeploymentVersion(deployment_name=name, build_id="1.0")
    v2 = WorkerDeploymentVersion(deployment_name=name, build_id="2.0")
    runs: dict[str, str] = {}
    async with _worker(client, queue, v1, RampV1), _worker(client, queue, v2, RampV2):
        await _visible(client, v1)
        token = await _visible(client, v2)
        current = await client.workflow_service.set_worker_deployment_current_version(
            ws.SetWorkerDeploymentCurrentVersionRequest(
                namespace=client.namespace,
                deployment_name=name,
                version=v1.to_canonical_string(),
                conflict_token=token,
            )
        )
        await client.workflow_service.set_worker_deployment_ramping_version(
            ws.SetWorkerDeploymentRampingVersionRequest(
                namespace=client.namespace,
                deployment_name=name,
                version=v2.to_canonical_string(),
                conflict_token=current.conflict_token,
                percentage=PERCENTAGE,
            )
        )
        for workflow_id in WORKFLOW_IDS:
            handle = await client.start_workflow(
                "RampWorkflow", id=workflow_id, task_queue=queue, result_type=str
            )
            runs[workflow_id] = await handle.result()
    return {"percentage": PERCENTAGE, "runs": runs, "unknown": await _unknown(client)}


def main() -> None:
    seen = asyncio.run(_main(sys.argv[1]))
    print(json.dumps(seen, indent=2, sort_keys=True))


async def _main(address: str) -> dict[str, Any]:
    return await observe(await Client.connect(address))


if __name__ == "__main__":
    main()
