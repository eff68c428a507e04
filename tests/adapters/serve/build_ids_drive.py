"""The build-ids scenario driven through temporalio, and what a client sees of build ids.

A worker with build id 1.0 runs the first workflow task and activity of a
`BuildIdsWorkflow` (adapters/conform/scenarios/workflows_features.py) and goes away;
the run's sticky queue is reset and a worker with build id 2.0 continues it, as in the
SDK's test_workflow_current_build_id_appropriately_set. `observe` returns what the
SDK can see of the build ids along the way: the build id the workflow reports in
queries, Describe's most recent stamp, auto-reset points and `BuildIds` search
attribute, List's entry and a query on `BuildIds`, while running and once closed, and
the run's history.

Run as a script against a server, it prints the observation (without the history) as
JSON; `tests/fixtures/build-ids/replies.json` was recorded so from the dev server:

    python -m tests.adapters.serve.build_ids_drive HOST:PORT
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import uuid
from typing import Any

from google.protobuf import json_format
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from adapters.conform.scenarios.activities import ALL_ACTIVITIES
from adapters.conform.scenarios.context import E, wait_until_idle
from adapters.conform.scenarios.workflows_features import BuildIdsWorkflow
from tests.adapters.serve.serving import ROOT

REPLIES = ROOT / "tests" / "fixtures" / "build-ids" / "replies.json"
BUILD_FIELDS = ("mostRecentWorkerVersionStamp", "autoResetPoints", "assignedBuildId")


def _build_ids(info: dict[str, Any]) -> list[str] | None:
    payload = info.get("searchAttributes", {}).get("indexedFields", {}).get("BuildIds")
    if payload is None:
        return None
    return list(json.loads(base64.b64decode(payload["data"])))


def _points(info: dict[str, Any]) -> list[dict[str, Any]]:
    """The reset points, less the run id and the time they were made."""
    points = info.get("autoResetPoints", {}).get("points", [])
    return [{k: v for k, v in p.items() if k not in ("runId", "createTime")} for p in points]


async def _visible(client: Client, workflow_id: str) -> dict[str, Any]:
    service = client.workflow_service
    execution = WorkflowExecution(workflow_id=workflow_id)
    described = await service.describe_workflow_execution(
        ws.DescribeWorkflowExecutionRequest(namespace=client.namespace, execution=execution)
    )
    info = json_format.MessageToDict(described.workflow_execution_info)
    listed = await service.list_workflow_executions(
        ws.ListWorkflowExecutionsRequest(
            namespace=client.namespace, query=f"WorkflowId = '{workflow_id}'"
        )
    )
    entries = [json_format.MessageToDict(e) for e in listed.executions]
    matching = {}
    for build in ("unversioned:1.0", "unversioned:2.0"):
        query = f"WorkflowId = '{workflow_id}' AND BuildIds = '{build}'"
        counted = await service.count_workflow_executions(
            ws.CountWorkflowExecutionsRequest(namespace=client.namespace, query=query)
        )
        matching[build] = counted.count
    return {
        "describe": {
            "mostRecentWorkerVersionStamp": info.get("mostRecentWorkerVersionStamp"),
            "autoResetPoints": _points(info),
            "BuildIds": _build_ids(info),
            "assignedBuildId": info.get("assignedBuildId"),
        },
        "list": [
            {"BuildIds": _build_ids(e), "fields": sorted(k for k in BUILD_FIELDS if k in e)}
            for e in entries
        ],
        "count_by_build": matching,
    }


async def _settle_visibility(client: Client, workflow_id: str, closed: bool) -> None:
    """Wait until List shows the run in its latest state (visibility lags on the dev
    server)."""
    for _ in range(100):
        listed = await client.workflow_service.list_workflow_executions(
            ws.ListWorkflowExecutionsRequest(
                namespace=client.namespace, query=f"WorkflowId = '{workflow_id}'"
            )
        )
        if listed.executions and (listed.executions[0].HasField("close_time") == closed):
            return
        await asyncio.sleep(0.1)


async def observe(client: Client) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run the scenario on a fresh queue; return the observation and the history."""
    queue = f"build-ids-{uuid.uuid4()}"
    workflow_id = queue
    seen: dict[str, Any] = {"queries": {}}

    def worker(build_id: str) -> Worker:
        return Worker(
            client,
            task_queue=queue,
            workflows=[BuildIdsWorkflow],
            activities=ALL_ACTIVITIES,
            build_id=build_id,
        )

    async with worker("1.0"):
        handle: WorkflowHandle[Any, Any] = await client.start_workflow(
            BuildIdsWorkflow.run, id=workflow_id, task_queue=queue
        )
        await wait_until_idle(handle, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
        seen["queries"]["worker 1.0"] = await handle.query(BuildIdsWorkflow.build_id)
    await _settle_visibility(client, workflow_id, closed=False)
    seen["running"] = await _visible(client, workflow_id)
    await client.workflow_service.reset_sticky_task_queue(
        ws.ResetStickyTaskQueueRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )
    async with worker("2.0"):
        # a new worker replays the history: the build id is the one that wrote it
        seen["queries"]["worker 2.0 before the signal"] = await handle.query(
            BuildIdsWorkflow.build_id
        )
        await handle.signal(BuildIdsWorkflow.proceed)
        seen["result"] = await handle.result()
        seen["queries"]["worker 2.0 once closed"] = await handle.query(BuildIdsWorkflow.build_id)
    await _settle_visibility(client, workflow_id, closed=True)
    seen["closed"] = await _visible(client, workflow_id)
    history = json.loads((await handle.fetch_history()).to_json())["events"]
    return seen, history


async def _main(address: str) -> None:
    client = await Client.connect(address)
    seen, _ = await observe(client)
    print(json.dumps(seen, indent=2, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
