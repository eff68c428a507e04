"""Worker Deployments: a versioning override set and unset on a running run with
UpdateWorkflowExecutionOptions (`options`).

Builds 1.0 and 2.0 of one deployment poll one task queue, 1.0 current. An auto-upgrade
run (deployments_drive.py's UpWorkflow) runs its first task on 1.0; the update is then
refused without a mask, with a bad path, pinning with no version (the run is not
pinned) and pinning to a version that does not poll the queue; it pins the run to 1.0,
again (no change, no event), and sets a priority key. After 2.0 is made current, a
signal's workflow task and a query still run on 1.0; the override is unset, and the
run, signalled, finishes on 2.0; an update of the closed run is refused. Recorded: each
answer, the run's describe after the pin and after the unset, its
WorkflowExecutionOptionsUpdated events (and their worker-may-ignore mark) and the build
of each workflow task completion, with the deployment's name made "D", the queue's "Q"
and the workflow id "W". `tests/fixtures/deployments/options.json` was recorded from
the dev server (temporal CLI 1.9.1, server 1.32.0):

    python -m tests.adapters.serve.deployments_options_drive HOST:PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any

from google.protobuf.json_format import MessageToDict
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflow.v1.message_pb2 import VersioningOverride
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError
from temporalio.worker import Worker, WorkerDeploymentConfig

from tests.adapters.serve.deployments_drive import UpV1, UpV2, _visible

with workflow.unsafe.imports_passed_through():
    from tests.adapters.serve.serving import ROOT

OPTIONS = ROOT / "tests" / "fixtures" / "deployments" / "options.json"
PINNED = VersioningOverride.PinnedOverrideBehavior.PINNED_OVERRIDE_BEHAVIOR_PINNED


async def _answer(call: Any) -> dict[str, Any]:
    try:
        reply = await call
    except RPCError as err:
        return {"status": err.status.name, "message": err.message}
    return {"status": "OK", "reply": MessageToDict(reply)}


async def options(client: Client) -> dict[str, Any]:
    name = f"options-{uuid.uuid4()}"
    queue = f"options-{uuid.uuid4()}"
    workflow_id = f"options-{uuid.uuid4()}"
    v1 = WorkerDeploymentVersion(deployment_name=name, build_id="1.0")
    v2 = WorkerDeploymentVersion(deployment_name=name, build_id="2.0")
    service = client.workflow_service
    seen: dict[str, Any] = {}

    def update(paths: list[str] | None, pin: str | None = "", priority: int = 0) -> Any:
        """Pin to build `pin` (None: pin with no version; "": no override)."""
        request = ws.UpdateWorkflowExecutionOptionsRequest(
            namespace=client.namespace, identity="me"
        )
        request.workflow_execution.workflow_id = workflow_id
        options = request.workflow_execution_options
        options.SetInParent()
        if pin is None or pin:
            options.versioning_override.pinned.behavior = PINNED
        if pin:
            options.versioning_override.pinned.version.deployment_name = name
            options.versioning_override.pinned.version.build_id = pin
        if priority:
            options.priority.priority_key = priority
        if paths is not None:
            request.update_mask.paths.extend(paths)
        return service.update_workflow_execution_options(request)

    def current(build_id: str) -> Any:
        return service.set_worker_deployment_current_version(
            ws.SetWorkerDeploymentCurrentVersionRequest(
                namespace=client.namespace, deployment_name=name, build_id=build_id
            )
        )

    async def described() -> dict[str, Any]:
        info = (await handle.describe()).raw_description.workflow_execution_info
        return MessageToDict(info.versioning_info)

    def worker(version: WorkerDeploymentVersion, wf: type) -> Worker:
        config = WorkerDeploymentConfig(version=version, use_worker_versioning=True)
        return Worker(client, task_queue=queue, workflows=[wf], deployment_config=config)

    async with worker(v1, UpV1), worker(v2, UpV2):
        await _visible(client, v1)
        await _visible(client, v2)
        await current("1.0")
        handle = await client.start_workflow(
            "UpWorkflow", id=workflow_id, task_queue=queue, result_type=str
        )
        seen["first query"] = await handle.query("where")  # its first task ran, on 1.0
        seen["no mask"] = await _answer(update(None, "1.0"))
        seen["bad path"] = await _answer(update(["nope"], "1.0"))
        seen["pin with no version"] = await _answer(update(["versioning_override"], None))
        seen["pin to a version not polling"] = await _answer(update(["versioning_override"], "9.9"))
        seen["pin"] = await _answer(update(["versioning_override"], "1.0"))
        seen["pin again"] = await _answer(update(["versioning_override"], "1.0"))
        seen["priority"] = await _answer(update(["priority"], "", priority=3))
        await current("2.0")
        # a workflow task while the override pins the run: it runs on 1.0, not 2.0
        await handle.signal("poke")
        seen["query after 2.0"] = await handle.query("where")
        seen["described pinned"] = await described()
        seen["unset"] = await _answer(update(["versioning_override"]))
        seen["described unset"] = await described()
        await handle.signal("finish")
        seen["result"] = await handle.result()
        seen["closed"] = await _answer(update(["versioning_override"], "1.0"))
        history = await handle.fetch_history()
        seen["events"] = [
            [
                MessageToDict(e.workflow_execution_options_updated_event_attributes),
                e.worker_may_ignore,
            ]
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED
        ]
        seen["builds of the completions"] = [
            e.workflow_task_completed_event_attributes.deployment_version.build_id
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        ]
    text = json.dumps(seen).replace(name, "D").replace(queue, "Q").replace(workflow_id, "W")
    generic: dict[str, Any] = json.loads(text)
    return generic


async def _main(address: str) -> dict[str, Any]:
    return await options(await Client.connect(address))


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_main(sys.argv[1])), indent=2, sort_keys=True), flush=True)
