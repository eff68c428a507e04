"""Worker Deployments: a version's metadata and a deployment's manager (`metadata`).

One worker of build 1.0 polls with `use_worker_versioning`. UpdateWorkerDeploymentVersionMetadata
upserts and removes entries, DescribeWorkerDeploymentVersion shows them, and unknown
versions and deployments answer errors; SetWorkerDeploymentManager names a manager (by
name, and as the caller itself with `self`), a Set request from another identity is
refused while a manager is named, and a stale conflict token and an unknown deployment
answer errors. `tests/fixtures/deployments/metadata.json` was recorded from the dev
server (temporal CLI 1.9.1, server 1.32.0):

    python -m tests.adapters.serve.deployments_meta_drive HOST:PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any

from google.protobuf.json_format import MessageToDict
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import Worker, WorkerDeploymentConfig

from tests.adapters.serve.deployments_drive import _error, _visible

with workflow.unsafe.imports_passed_through():
    from tests.adapters.serve.serving import ROOT

METADATA = ROOT / "tests" / "fixtures" / "deployments" / "metadata.json"


@workflow.defn(name="Meta", versioning_behavior=VersioningBehavior.PINNED)
class Meta:
    @workflow.run
    async def run(self) -> str:
        return "1.0"


def _payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


async def metadata(client: Client) -> dict[str, Any]:
    name = f"meta-{uuid.uuid4()}"
    queue = f"meta-{uuid.uuid4()}"
    v1 = WorkerDeploymentVersion(deployment_name=name, build_id="1.0")
    service = client.workflow_service
    ns = client.namespace
    seen: dict[str, Any] = {}

    def update(
        deployment: str, build: str, upsert: dict[str, str], remove: list[str], identity: str = ""
    ) -> Any:
        request = ws.UpdateWorkerDeploymentVersionMetadataRequest(
            namespace=ns, remove_entries=remove, identity=identity
        )
        request.deployment_version.deployment_name = deployment
        request.deployment_version.build_id = build
        for key, value in upsert.items():
            request.upsert_entries[key].CopyFrom(_payload(value))
        return service.update_worker_deployment_version_metadata(request)

    async def described_version() -> dict[str, Any]:
        request = ws.DescribeWorkerDeploymentVersionRequest(namespace=ns)
        request.deployment_version.deployment_name = name
        request.deployment_version.build_id = "1.0"
        reply = await service.describe_worker_deployment_version(request)
        info = reply.worker_deployment_version_info
        return {
            "metadata": MessageToDict(info.metadata),
            "last modifier": info.last_modifier_identity,
        }

    async def described() -> dict[str, Any]:
        request = ws.DescribeWorkerDeploymentRequest(namespace=ns, deployment_name=name)
        info = (await service.describe_worker_deployment(request)).worker_deployment_info
        return {"manager": info.manager_identity, "last modifier": info.last_modifier_identity}

    def manager(
        identity: str, manager_identity: str = "", self: bool = False, token: bytes = b""
    ) -> Any:
        request = ws.SetWorkerDeploymentManagerRequest(
            namespace=ns, deployment_name=name, conflict_token=token, identity=identity
        )
        if self:  # `self` and `manager_identity` are one oneof: set only the one meant
            request.self = True
        else:
            request.manager_identity = manager_identity
        return service.set_worker_deployment_manager(request)

    def current(identity: str) -> Any:
        return service.set_worker_deployment_current_version(
            ws.SetWorkerDeploymentCurrentVersionRequest(
                namespace=ns, deployment_name=name, build_id="1.0", identity=identity
            )
        )

    config = WorkerDeploymentConfig(version=v1, use_worker_versioning=True)
    async with Worker(client, task_queue=queue, workflows=[Meta], deployment_config=config):
        token = await _visible(client, v1)
        upserted = await update(name, "1.0", {"a": "1", "b": "2"}, [], "editor")
        seen["upserted"] = MessageToDict(upserted.metadata)
        changed = await update(name, "1.0", {"b": "3", "c": "4"}, ["a", "zz"])
        seen["changed"] = MessageToDict(changed.metadata)
        seen["version described"] = await described_version()
        seen["unknown build"] = await _error(update(name, "9.9", {"a": "1"}, []))
        seen["unknown deployment"] = await _error(
            update("no-such-deployment", "1.0", {"a": "1"}, [])
        )
        seen["nothing to change"] = await _error(update(name, "1.0", {}, []))
        seen["no manager"] = await described()
        first = await manager("me", "m1", token=token)
        seen["first previous"] = first.previous_manager_identity
        seen["named"] = await described()
        again = await manager("me", "m1")
        seen["again keeps the token"] = bytes(again.conflict_token) == bytes(first.conflict_token)
        seen["again previous"] = again.previous_manager_identity
        seen["stale token"] = await _error(manager("me", "m2", token=token))
        seen["current by another"] = await _error(current("other"))
        await current("m1")
        seen["current by the manager"] = await described()
        taken = await manager("me2", self=True)
        seen["taken previous"] = taken.previous_manager_identity
        seen["taken"] = await described()
        released = await manager("me2", "")
        seen["released previous"] = released.previous_manager_identity
        seen["released"] = await described()
        seen["manager with no identity"] = await _error(manager("", "m3"))
        seen["unknown deployment's manager"] = await _error(
            service.set_worker_deployment_manager(
                ws.SetWorkerDeploymentManagerRequest(
                    namespace=ns,
                    deployment_name="no-such-deployment",
                    manager_identity="m",
                    identity="me",
                )
            )
        )
    generic: dict[str, Any] = json.loads(json.dumps(seen).replace(name, "D"))
    return generic


async def _main(address: str) -> dict[str, Any]:
    return await metadata(await Client.connect(address))


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_main(sys.argv[1])), indent=2, sort_keys=True), flush=True)
