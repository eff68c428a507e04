"""A few runs as DescribeWorkflowExecution and ListWorkflowExecutions show them: two
running (with and without a memo), one completed at once (and one more with run and
execution timeouts), one completed after a signal and one after an activity and a
timer. For each run: the Describe and List replies, the
encoded size of its history when described, and each WorkflowTaskStarted's
`historySizeBytes` with the encoded size of the events before it.

`python -m tests.adapters.serve.describe_scenario HOST:PORT` prints the record as JSON;
tests/fixtures/serve/describe_dev.json is its output against the real dev server
(`temporal server start-dev`, CLI 1.9.1 / server 1.32.0).
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta
from typing import Any

from google.protobuf import json_format
from temporalio import activity, workflow
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.history.v1 import message_pb2 as history_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

QUEUE = "describe-q"
RUNNING = ("desc-running", "desc-running-memo")
CLOSED = ("desc-act-timer", "desc-quick", "desc-signalled", "desc-timeouts")


@activity.defn
async def shout(text: str) -> str:
    return text.upper()


@workflow.defn
class Waits:
    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done)
        return "ok"

    @workflow.signal
    def finish(self) -> None:
        self.done = True


@workflow.defn
class ActAndTimer:
    @workflow.run
    async def run(self, text: str) -> str:
        out = await workflow.execute_activity(
            shout, text, start_to_close_timeout=timedelta(seconds=10)
        )
        await workflow.sleep(1)
        return out


@workflow.defn
class Quick:
    @workflow.run
    async def run(self) -> str:
        return "done"


def _sizes(events: list[history_pb.HistoryEvent]) -> dict[str, Any]:
    started = [
        [e.workflow_task_started_event_attributes.history_size_bytes, _encoded(events[:i])]
        for i, e in enumerate(events)
        if e.HasField("workflow_task_started_event_attributes")
    ]
    return {"history_bytes": _encoded(events), "wft_started": started}


def _encoded(events: list[history_pb.HistoryEvent]) -> int:
    return len(history_pb.History(events=events).SerializeToString())


async def record(client: Client) -> dict[str, Any]:
    """Run the scenario on `client`'s server (which must not know the ids yet)."""
    svc = client.workflow_service
    out: dict[str, Any] = {"describe": {}, "sizes": {}}
    workflows = [Waits, ActAndTimer, Quick]
    async with Worker(client, task_queue=QUEUE, workflows=workflows, activities=[shout]):
        start = client.start_workflow
        running: list[WorkflowHandle[Any, Any]] = [
            await start(Waits.run, id=RUNNING[0], task_queue=QUEUE),
            await start(Waits.run, id=RUNNING[1], task_queue=QUEUE, memo={"note": "hello"}),
        ]
        acted = await start(ActAndTimer.run, "hi", id=CLOSED[0], task_queue=QUEUE, memo={"k": 1})
        quick = await start(Quick.run, id=CLOSED[1], task_queue=QUEUE)
        signalled = await start(Waits.run, id=CLOSED[2], task_queue=QUEUE)
        timeouts = await start(
            Quick.run,
            id=CLOSED[3],
            task_queue=QUEUE,
            run_timeout=timedelta(seconds=60),
            execution_timeout=timedelta(seconds=120),
        )
        await acted.result()
        await quick.result()
        await timeouts.result()
        await signalled.signal(Waits.finish)
        await signalled.result()
        await asyncio.sleep(1.5)  # the running runs' first tasks complete; visibility catches up
        for wid in RUNNING + CLOSED:
            reply = await svc.describe_workflow_execution(
                ws.DescribeWorkflowExecutionRequest(
                    namespace="default", execution=common_pb.WorkflowExecution(workflow_id=wid)
                )
            )
            out["describe"][wid] = json_format.MessageToDict(reply)
            history = await client.get_workflow_handle(wid).fetch_history()
            out["sizes"][wid] = _sizes(list(history.events))
        listed = await svc.list_workflow_executions(
            ws.ListWorkflowExecutionsRequest(
                namespace="default", query="WorkflowId STARTS_WITH 'desc-'"
            )
        )
        out["list"] = {
            e.execution.workflow_id: json_format.MessageToDict(e) for e in listed.executions
        }
        for handle in running:
            await handle.signal(Waits.finish)
            await handle.result()
    return out


async def _main(address: str) -> None:
    print(json.dumps(await record(await Client.connect(address)), indent=1, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
