"""The build-ids scenario driven through temporalio, and what a client sees of build ids.

A worker with build id 1.0 runs the first workflow task and activity of a
`BuildIdsWorkflow` (adapters/conform/scenarios/workflows_features.py) and goes away;
the run's sticky queue is reset and a worker with build id 2.0 continues it, as in the
SDK's test_workflow_current_build_id_appropriately_set. `observe` returns what the
SDK can see of the build ids along the way: the build id the workflow reports in
queries, Describe's most recent stamp, auto-reset points and `BuildIds` search
attribute, List's entry and a query on `BuildIds`, while running and once closed, and
the run's history.

`observe_stamps` completes workflow tasks by hand with stamps the SDK does not send
(an empty build id, none at all) and with a child pending, and returns what Describe
shows.

Run as a script against a server, it prints either observation (without the history)
as JSON; `tests/fixtures/build-ids/replies.json` and `stamps.json` were recorded so from
the dev server (temporal CLI 1.9.1, server 1.32.0):

    python -m tests.adapters.serve.build_ids_drive HOST:PORT [stamps]
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import uuid
from typing import Any

from google.protobuf import json_format
from temporalio.api.command.v1 import message_pb2 as cmd_pb
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import command_type_pb2 as ct
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from adapters.conform.scenarios.activities import ALL_ACTIVITIES
from adapters.conform.scenarios.context import E, wait_until_idle
from adapters.conform.scenarios.workflows_features import BuildIdsWorkflow
from tests.adapters.serve.serving import ROOT

REPLIES = ROOT / "tests" / "fixtures" / "build-ids" / "replies.json"
STAMPS = ROOT / "tests" / "fixtures" / "build-ids" / "stamps.json"
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


# --- stamps a worker sends by hand -----------------------------------------------------


async def _start(client: Client, workflow_id: str) -> None:
    await client.workflow_service.start_workflow_execution(
        ws.StartWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_id=workflow_id,
            workflow_type=common_pb.WorkflowType(name="Raw"),
            task_queue=tq_pb.TaskQueue(name=workflow_id),
            request_id=str(uuid.uuid4()),
        )
    )


async def _complete(
    client: Client,
    queue: str,
    stamp: common_pb.WorkerVersionStamp | None,
    *commands: cmd_pb.Command,
) -> None:
    """Poll `queue` for its workflow task and complete it with `stamp` (None: none)."""
    polled = await client.workflow_service.poll_workflow_task_queue(
        ws.PollWorkflowTaskQueueRequest(
            namespace=client.namespace, task_queue=tq_pb.TaskQueue(name=queue), identity="raw"
        )
    )
    request = ws.RespondWorkflowTaskCompletedRequest(
        namespace=client.namespace, task_token=polled.task_token, identity="raw", commands=commands
    )
    if stamp is not None:
        request.worker_version_stamp.CopyFrom(stamp)
    await client.workflow_service.respond_workflow_task_completed(request)


async def _described(client: Client, workflow_id: str) -> dict[str, Any]:
    described = await client.workflow_service.describe_workflow_execution(
        ws.DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )
    info = json_format.MessageToDict(described.workflow_execution_info)
    return {
        "BuildIds": _build_ids(info),
        "autoResetPoints": _points(info),
        "mostRecentWorkerVersionStamp": info.get("mostRecentWorkerVersionStamp"),
    }


async def observe_stamps(client: Client) -> dict[str, Any]:
    """What Describe shows after completions a worker stamps by hand: an empty build id
    (twice), no stamp at all, and build 2.0 completing a task while build 1.0's child is
    pending."""
    base = f"raw-{uuid.uuid4()}"
    seen: dict[str, Any] = {}
    empty = common_pb.WorkerVersionStamp(build_id="")
    await _start(client, base)
    await _complete(client, base, empty)
    seen["empty build id, once"] = await _described(client, base)
    await client.workflow_service.signal_workflow_execution(
        ws.SignalWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=base),
            signal_name="again",
            request_id=str(uuid.uuid4()),
        )
    )
    await _complete(client, base, empty)
    seen["empty build id, twice"] = await _described(client, base)
    await _start(client, base + "-none")
    await _complete(client, base + "-none", None)
    seen["no stamp"] = await _described(client, base + "-none")
    parent = base + "-parent"
    child = cmd_pb.Command(
        command_type=ct.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
        start_child_workflow_execution_command_attributes=(
            cmd_pb.StartChildWorkflowExecutionCommandAttributes(
                namespace=client.namespace,
                workflow_id=parent + "-child",
                workflow_type=common_pb.WorkflowType(name="Child"),
                task_queue=tq_pb.TaskQueue(name=parent + "-child"),  # never polled
            )
        ),
    )
    await _start(client, parent)
    await _complete(client, parent, common_pb.WorkerVersionStamp(build_id="1.0"), child)
    # the child's start schedules the next task, which build 2.0 completes
    await _complete(client, parent, common_pb.WorkerVersionStamp(build_id="2.0"))
    seen["new build while a child is pending"] = await _described(client, parent)
    return seen


async def _main(address: str, what: str) -> None:
    client = await Client.connect(address)
    if what == "stamps":
        print(json.dumps(await observe_stamps(client), indent=2, sort_keys=True))
        return
    seen, _ = await observe(client)
    print(json.dumps(seen, indent=2, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "run"))
