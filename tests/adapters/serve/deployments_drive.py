"""Worker Deployments on a server: where a ramp sends each workflow, and the registry's
answers (`answers`).

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

`answers` (run with a second argument, `answers`) drives the registry: its describes,
its errors (conflict tokens, unknown builds, ramping the current version, a bad
percentage, refused deletes), and where pinned, auto-upgrade and override-pinned runs
and their queries (sticky, and through the normal queue) go when the current version
moves from 1.0 to 2.0; `tests/fixtures/deployments/answers.json` was recorded so from
the same dev server:

    python -m tests.adapters.serve.deployments_drive HOST:PORT answers
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any

from temporalio import workflow
from temporalio.api.enums.v1.task_queue_pb2 import ROUTING_CONFIG_UPDATE_STATE_COMPLETED
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.common import (
    PinnedVersioningOverride,
    VersioningBehavior,
    WorkerDeploymentVersion,
)
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


ANSWERS = ROOT / "tests" / "fixtures" / "deployments" / "answers.json"


@workflow.defn(name="PinWorkflow", versioning_behavior=VersioningBehavior.PINNED)
class PinV1:
    """Waits for signal `finish`; query `where` and the result name its build."""

    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done)
        return "1.0"

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def where(self) -> str:
        return "1.0"


@workflow.defn(name="PinWorkflow", versioning_behavior=VersioningBehavior.PINNED)
class PinV2:
    """Waits for signal `finish`; query `where` and the result name its build."""

    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done)
        return "2.0"

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def where(self) -> str:
        return "2.0"


@workflow.defn(name="UpWorkflow", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class UpV1:
    """Waits for signal `finish`; query `where` and the result name its build."""

    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done)
        return "1.0"

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def where(self) -> str:
        return "1.0"


@workflow.defn(name="UpWorkflow", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class UpV2:
    """Waits for signal `finish`; query `where` and the result name its build."""

    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done)
        return "2.0"

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def where(self) -> str:
        return "2.0"


async def _error(call: Any) -> dict[str, Any]:
    try:
        await call
    except RPCError as err:
        return {"status": err.status.name, "message": err.message}
    return {"status": "OK"}


async def _deletes(
    client: Client, name: str, v1: WorkerDeploymentVersion, v2: WorkerDeploymentVersion
) -> dict[str, Any]:
    """DeleteWorkerDeploymentVersion and DeleteWorkerDeployment refused: 2.0 is current,
    1.0 draining and polled, the deployment has versions; and unknown names."""
    service = client.workflow_service

    def version(deployment: str, build_id: str, skip: bool = False) -> Any:
        request = ws.DeleteWorkerDeploymentVersionRequest(
            namespace=client.namespace, skip_drainage=skip
        )
        request.deployment_version.deployment_name = deployment
        request.deployment_version.build_id = build_id
        return service.delete_worker_deployment_version(request)

    def deployment(deployment: str) -> Any:
        return service.delete_worker_deployment(
            ws.DeleteWorkerDeploymentRequest(namespace=client.namespace, deployment_name=deployment)
        )

    return {
        "current": await _error(version(name, v2.build_id)),
        "draining": await _error(version(name, v1.build_id)),
        "polled": await _error(version(name, v1.build_id, skip=True)),
        "unknown build": await _error(version(name, "9.9")),
        "unknown deployment's version": await _error(version("no-such-deployment", "1.0")),
        "deployment with versions": await _error(deployment(name)),
        "unknown deployment": await _error(deployment("no-such-deployment")),
    }


async def _polls_both(client: Client, version: WorkerDeploymentVersion) -> None:
    """Wait until `version` has its two task queues."""
    request = ws.DescribeWorkerDeploymentVersionRequest(namespace=client.namespace)
    request.deployment_version.deployment_name = version.deployment_name
    request.deployment_version.build_id = version.build_id
    for _ in range(200):
        reply = await client.workflow_service.describe_worker_deployment_version(request)
        if len(reply.version_task_queues) == 2:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{version} never polled both queues")


def _shape(reply: ws.DescribeWorkerDeploymentResponse, name: str) -> dict[str, Any]:
    """What a describe says, without times and with the deployment's name generic."""
    info = reply.worker_deployment_info
    routing = info.routing_config
    return {
        # by version: which poller registers first is a race
        "versions": sorted(
            [s.version.replace(name, "D"), s.status] for s in info.version_summaries
        ),
        "current": routing.current_version.replace(name, "D"),
        "ramping": routing.ramping_version.replace(name, "D"),
        "percentage": routing.ramping_version_percentage,
        "revision": routing.revision_number,
        "state": info.routing_config_update_state,
    }


async def propagated(client: Client, name: str) -> ws.DescribeWorkerDeploymentResponse:
    """The deployment described once its last routing change has reached the task
    queues: the dev server answers the change first and propagates it to matching after,
    describing it IN_PROGRESS meanwhile."""
    request = ws.DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=name)
    # seconds: on a loaded machine the dev server has taken more than 10 s (a full test
    # run beside it); on an idle one, well under one
    deadline = asyncio.get_running_loop().time() + PROPAGATION_SECONDS
    while True:
        reply = await client.workflow_service.describe_worker_deployment(request)
        state = reply.worker_deployment_info.routing_config_update_state
        if state == ROUTING_CONFIG_UPDATE_STATE_COMPLETED:
            return reply
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the routing config never propagated: {reply}")
        await asyncio.sleep(0.05)


PROPAGATION_SECONDS = 60.0


async def answers(client: Client) -> dict[str, Any]:
    """The registry's answers and errors, and where pinned and auto-upgrade runs, their
    queries and a pinned override go when the current version moves from 1.0 to 2.0."""
    name = f"answers-{uuid.uuid4()}"
    queue = f"answers-{uuid.uuid4()}"
    v1 = WorkerDeploymentVersion(deployment_name=name, build_id="1.0")
    v2 = WorkerDeploymentVersion(deployment_name=name, build_id="2.0")
    service = client.workflow_service
    ns = client.namespace
    seen: dict[str, Any] = {}

    def current(version: str, token: bytes = b"") -> Any:
        return service.set_worker_deployment_current_version(
            ws.SetWorkerDeploymentCurrentVersionRequest(
                namespace=ns, deployment_name=name, version=version, conflict_token=token
            )
        )

    def ramp(version: str, percentage: float, token: bytes = b"") -> Any:
        return service.set_worker_deployment_ramping_version(
            ws.SetWorkerDeploymentRampingVersionRequest(
                namespace=ns,
                deployment_name=name,
                version=version,
                percentage=percentage,
                conflict_token=token,
            )
        )

    def describe() -> Any:
        return service.describe_worker_deployment(
            ws.DescribeWorkerDeploymentRequest(namespace=ns, deployment_name=name)
        )

    w1 = Worker(
        client,
        task_queue=queue,
        workflows=[PinV1, UpV1],
        deployment_config=WorkerDeploymentConfig(version=v1, use_worker_versioning=True),
    )
    w2 = Worker(
        client,
        task_queue=queue,
        workflows=[PinV2, UpV2],
        deployment_config=WorkerDeploymentConfig(version=v2, use_worker_versioning=True),
    )
    # workers that cache nothing poll no sticky queue: a query of their run goes to
    # the normal queue, where matching routes it by the run's version
    uncached = [
        Worker(
            client,
            task_queue=f"{queue}-uncached",
            workflows=[wf],
            deployment_config=WorkerDeploymentConfig(version=v, use_worker_versioning=True),
            max_cached_workflows=0,
        )
        for v, wf in ((v1, PinV1), (v2, PinV2))
    ]
    async with w1, w2, uncached[0], uncached[1]:
        await _visible(client, v1)
        await _visible(client, v2)
        for version in (v1, v2):  # both queues in both versions before 2.0 is made current
            await _polls_both(client, version)
        token = await _visible(client, v2)
        seen["described"] = _shape(await describe(), name)
        seen["bad token"] = await _error(current(v1.to_canonical_string(), b"xx"))
        seen["unknown build"] = await _error(current(f"{name}.9.9"))
        seen["ramp out of range"] = await _error(ramp(v2.to_canonical_string(), 101))
        first = await current(v1.to_canonical_string(), token)
        seen["first previous"] = first.previous_version
        again = await current(v1.to_canonical_string())
        seen["again keeps the token"] = bytes(again.conflict_token) == bytes(first.conflict_token)
        seen["again previous"] = again.previous_version.replace(name, "D")
        seen["old token"] = await _error(current(v2.to_canonical_string(), token))
        seen["ramp current"] = await _error(ramp(v1.to_canonical_string(), 10))
        ramped = await ramp(v2.to_canonical_string(), 30)
        seen["ramped"] = _shape(await propagated(client, name), name)
        unramped = await ramp("", 0, ramped.conflict_token)
        seen["unramped previous"] = [
            unramped.previous_version.replace(name, "D"),
            unramped.previous_percentage,
        ]
        seen["unramped"] = _shape(await propagated(client, name), name)
        pinned = await client.start_workflow(
            "PinWorkflow", id=f"pin-{uuid.uuid4()}", task_queue=queue, result_type=str
        )
        upgrading = await client.start_workflow(
            "UpWorkflow", id=f"up-{uuid.uuid4()}", task_queue=queue, result_type=str
        )
        seen["queries on 1.0"] = [await pinned.query("where"), await upgrading.query("where")]
        unsticky = await client.start_workflow(
            "PinWorkflow", id=f"unsticky-{uuid.uuid4()}", task_queue=f"{queue}-uncached"
        )
        await unsticky.query("where")  # it has run its first task (on 1.0)
        await current(v2.to_canonical_string())
        overridden = await client.start_workflow(
            "UpWorkflow",
            id=f"override-{uuid.uuid4()}",
            task_queue=queue,
            result_type=str,
            versioning_override=PinnedVersioningOverride(v1),
        )
        seen["query of the pinned run after 2.0"] = await pinned.query("where")
        try:
            where = await asyncio.wait_for(unsticky.query("where"), 20)
        except TimeoutError:
            where = "no answer"
        seen["query of the uncached pinned run after 2.0"] = where
        await unsticky.terminate()
        seen["deletes"] = await _deletes(client, name, v1, v2)
        for handle in (pinned, upgrading, overridden):
            await handle.signal("finish")
        seen["results"] = [await h.result() for h in (pinned, upgrading, overridden)]
        info = (await overridden.describe()).raw_description.workflow_execution_info
        seen["override versioning info"] = {
            "behavior": info.versioning_info.behavior,
            "version": info.versioning_info.version.replace(name, "D"),
            "override pinned": info.versioning_info.versioning_override.HasField("pinned"),
        }
    generic: dict[str, Any] = json.loads(json.dumps(seen).replace(name, "D"))
    return generic


def main() -> None:
    if sys.argv[2:] == ["answers"]:
        seen = asyncio.run(_answers(sys.argv[1]))
        print(json.dumps(seen, indent=2, sort_keys=True))
        return
    seen = asyncio.run(_main(sys.argv[1]))
    print(json.dumps(seen, indent=2, sort_keys=True))


async def _main(address: str) -> dict[str, Any]:
    return await observe(await Client.connect(address))


async def _answers(address: str) -> dict[str, Any]:
    return await answers(await Client.connect(address))


if __name__ == "__main__":
    main()
