"""Eager activity execution as a client sees it, driven by raw gRPC and by temporalio.

`observe` completes workflow tasks by hand with a ScheduleActivityTask command asking
for eager execution and records what comes back: the activity task in the completion's
reply (`activity_tasks`, less its token and times, whose order is checked), the
pending activity DescribeWorkflowExecution shows and the run's state transition count,
the activity queue's statistics (DescribeTaskQueue: an eager activity never reaches
matching), and the history once the activity and the run are completed with that
task's token. Then the completions that get no eager activity: not asked for, the
activity cancelled by a later command, the run completed by a later command. Last, a
temporalio worker runs a workflow with an activity on its own queue (the SDK asks for
eager execution there), and the queue's statistics show it never polled for it.

Run as a script against a server it prints the observation as JSON;
`tests/fixtures/serve/eager_activities_dev.json` was recorded so from the dev server
(temporal CLI 1.9.1, server 1.32.0):

    python -m tests.adapters.serve.eager_activity_drive HOST:PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import timedelta
from typing import Any

from google.protobuf import json_format
from google.protobuf.duration_pb2 import Duration
from temporalio import activity, workflow
from temporalio.api.command.v1 import message_pb2 as cmd_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import command_type_pb2 as ct
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.worker import Worker

from tests.adapters.serve.serving import ROOT

RECORDED = ROOT / "tests" / "fixtures" / "serve" / "eager_activities_dev.json"
NS = "default"
IDENTITY = "eager-drive"
TIMES = ("scheduledTime", "currentAttemptScheduledTime", "startedTime")


def _one(text: str) -> common_pb.Payload:
    return common_pb.Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


def _payload(text: str) -> common_pb.Payloads:
    return common_pb.Payloads(payloads=[_one(text)])


def _schedule(queue: str, eager: bool = True) -> cmd_pb.Command:
    return cmd_pb.Command(
        command_type=ct.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
        schedule_activity_task_command_attributes=cmd_pb.ScheduleActivityTaskCommandAttributes(
            activity_id="a1",
            activity_type=common_pb.ActivityType(name="Greet"),
            task_queue=tq_pb.TaskQueue(name=queue),
            header=common_pb.Header(fields={"h": _one("header")}),
            input=_payload("input"),
            schedule_to_close_timeout=Duration(seconds=60),
            start_to_close_timeout=Duration(seconds=20),
            heartbeat_timeout=Duration(seconds=10),
            request_eager_execution=eager,
            priority=common_pb.Priority(priority_key=3),
        ),
    )


def _close() -> cmd_pb.Command:
    return cmd_pb.Command(
        command_type=ct.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        complete_workflow_execution_command_attributes=cmd_pb.CompleteWorkflowExecutionCommandAttributes(
            result=_payload("done")
        ),
    )


def _cancel(scheduled_event_id: int) -> cmd_pb.Command:
    return cmd_pb.Command(
        command_type=ct.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK,
        request_cancel_activity_task_command_attributes=cmd_pb.RequestCancelActivityTaskCommandAttributes(
            scheduled_event_id=scheduled_event_id
        ),
    )


class Run:
    """A run on a queue of its own, its workflow tasks completed by hand."""

    def __init__(self, client: Client, name: str) -> None:
        self.service = client.workflow_service
        self.queue = f"eager-{name}-{uuid.uuid4().hex[:8]}"
        self.workflow_id = self.queue

    async def start(self) -> None:
        await self.service.start_workflow_execution(
            ws.StartWorkflowExecutionRequest(
                namespace=NS,
                workflow_id=self.workflow_id,
                workflow_type=common_pb.WorkflowType(name="EagerDrive"),
                task_queue=tq_pb.TaskQueue(name=self.queue),
                request_id=str(uuid.uuid4()),
            )
        )

    async def complete(self, *commands: cmd_pb.Command) -> ws.RespondWorkflowTaskCompletedResponse:
        task = await self.service.poll_workflow_task_queue(
            ws.PollWorkflowTaskQueueRequest(
                namespace=NS, task_queue=tq_pb.TaskQueue(name=self.queue), identity=IDENTITY
            )
        )
        assert task.task_token, "no workflow task"
        reply: ws.RespondWorkflowTaskCompletedResponse = (
            await self.service.respond_workflow_task_completed(
                ws.RespondWorkflowTaskCompletedRequest(
                    namespace=NS, task_token=task.task_token, commands=commands, identity=IDENTITY
                )
            )
        )
        return reply

    async def describe(self) -> ws.DescribeWorkflowExecutionResponse:
        execution = common_pb.WorkflowExecution(workflow_id=self.workflow_id)
        described: ws.DescribeWorkflowExecutionResponse = (
            await self.service.describe_workflow_execution(
                ws.DescribeWorkflowExecutionRequest(namespace=NS, execution=execution)
            )
        )
        return described

    async def history(self) -> list[dict[str, Any]]:
        execution = common_pb.WorkflowExecution(workflow_id=self.workflow_id)
        answer = await self.service.get_workflow_execution_history(
            ws.GetWorkflowExecutionHistoryRequest(namespace=NS, execution=execution)
        )
        return [self.renamed(json_format.MessageToDict(e)) for e in answer.history.events]

    def renamed(self, value: dict[str, Any]) -> dict[str, Any]:
        """`value` with this run's workflow id and queue, which are random, made fixed."""
        text = json.dumps(value).replace(self.queue, "QUEUE")
        renamed: dict[str, Any] = json.loads(text)
        return renamed


async def _queue_stats(client: Client, queue: str) -> dict[str, Any]:
    """The activity queue's backlog and rates (DescribeTaskQueue, enhanced mode)."""
    answer = await client.workflow_service.describe_task_queue(
        ws.DescribeTaskQueueRequest(
            namespace=NS,
            task_queue=tq_pb.TaskQueue(name=queue),
            api_mode=tq_enums.DESCRIBE_TASK_QUEUE_MODE_ENHANCED,
            report_stats=True,
        )
    )
    stats = answer.versions_info[""].types_info[tq_enums.TASK_QUEUE_TYPE_ACTIVITY].stats
    return {
        "backlog": stats.approximate_backlog_count,
        "added_per_second": stats.tasks_add_rate,
        "dispatched_per_second": stats.tasks_dispatch_rate,
    }


def _task(run: Run, task: ws.PollActivityTaskQueueResponse) -> dict[str, Any]:
    """The eager activity task, less its token (each server's own encoding), its run id
    and its times, with the order of the times."""
    shown = run.renamed(json_format.MessageToDict(task))
    shown.pop("taskToken")
    shown["workflowExecution"].pop("runId")
    times = [shown.pop(name) for name in TIMES]
    shown["times"] = {
        "attempt scheduled when scheduled": times[0] == times[1],
        "started not before scheduled": task.started_time.ToNanoseconds()
        >= task.scheduled_time.ToNanoseconds(),
    }
    return shown


def _pending(run: Run, described: ws.DescribeWorkflowExecutionResponse) -> list[dict[str, Any]]:
    """The pending activities, their times named but not compared."""
    out = []
    for info in described.pending_activities:
        shown = run.renamed(json_format.MessageToDict(info))
        for name in ("scheduledTime", "lastStartedTime", "expirationTime"):
            if name in shown:
                shown[name] = "present"
        out.append(shown)
    return out


async def eager(client: Client) -> dict[str, Any]:
    run = Run(client, "granted")
    await run.start()
    reply = await run.complete(_schedule(run.queue))
    tasks = [_task(run, t) for t in reply.activity_tasks]
    described = await run.describe()
    seen: dict[str, Any] = {
        "activity_tasks": tasks,
        "pending": _pending(run, described),
        "state_transitions": described.workflow_execution_info.state_transition_count,
        "queue": await _queue_stats(client, run.queue),
    }
    if reply.activity_tasks:  # completed with the token the reply carried
        await client.workflow_service.respond_activity_task_completed(
            ws.RespondActivityTaskCompletedRequest(
                namespace=NS,
                task_token=reply.activity_tasks[0].task_token,
                result=_payload("greeted"),
                identity=IDENTITY,
            )
        )
        await run.complete(_close())
    seen["history"] = await run.history()
    return seen


async def declined(client: Client, name: str) -> dict[str, Any]:
    """A completion that gets no eager activity: `name` is not-requested, cancelled or
    closed."""
    run = Run(client, name)
    await run.start()
    if name == "not-requested":
        reply = await run.complete(_schedule(run.queue, eager=False))
    elif name == "cancelled":  # the activity is event 5: after Started 3 and Completed 4
        reply = await run.complete(_schedule(run.queue), _cancel(5))
    else:
        reply = await run.complete(_schedule(run.queue), _close())
    history = await run.history()
    return {
        "activity_tasks": len(reply.activity_tasks),
        "pending": [p["state"] for p in _pending(run, await run.describe())],
        "events": [e["eventType"] for e in history],
    }


@activity.defn(name="Greet")
async def greet(name: str) -> str:
    return f"hello, {name}"


@workflow.defn(name="EagerGreeting", sandboxed=False)
class EagerGreeting:
    @workflow.run
    async def run(self, name: str) -> str:
        result: str = await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=20)
        )
        return result


async def sdk(client: Client) -> dict[str, Any]:
    """A temporalio worker's workflow and activity on one queue: the activity comes back
    in the completion's reply, so the queue never hands out an activity task."""
    queue = f"eager-sdk-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[EagerGreeting], activities=[greet]):
        result = await client.execute_workflow(
            EagerGreeting.run, "eager", id=queue, task_queue=queue
        )
    return {"result": result, "queue": await _queue_stats(client, queue)}


async def observe(client: Client) -> dict[str, Any]:
    return {
        "eager": await eager(client),
        "declined": {
            name: await declined(client, name) for name in ("not-requested", "cancelled", "closed")
        },
        "sdk": await sdk(client),
    }


async def _main(address: str) -> None:
    client = await Client.connect(address)
    print(json.dumps(await observe(client), indent=2, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
