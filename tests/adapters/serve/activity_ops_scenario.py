"""One scenario of PauseActivity, UnpauseActivity and ResetActivity, driven with raw
calls (the test is the workflow worker and the activity worker), and what a server
answers to it, normalised so that it can be compared across servers: the replies and
error messages, the heartbeat replies' flags, the pending activities as
DescribeWorkflowExecution shows them, and the history's event types.

`python -m tests.adapters.serve.activity_ops_scenario HOST:PORT` prints the transcript
as JSON; tests/fixtures/serve/activity_ops_dev.json is its output against the real dev
server (`temporal server start-dev`, CLI 1.9.1 / server 1.32.0).
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import timedelta
from typing import Any

from google.protobuf import duration_pb2
from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_enums
from temporalio.api.enums.v1 import event_type_pb2 as event_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.failure.v1 import message_pb2 as failure_pb
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError

NS = "default"
POLL = timedelta(seconds=6)


def _seconds(n: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=n)


def _schedule(activity_id: str, activity_type: str, queue: str) -> command_pb.Command:
    attributes = command_pb.ScheduleActivityTaskCommandAttributes(
        activity_id=activity_id,
        activity_type=common_pb.ActivityType(name=activity_type),
        task_queue=tq_pb.TaskQueue(name=queue),
        start_to_close_timeout=_seconds(60),
        retry_policy=common_pb.RetryPolicy(initial_interval=_seconds(1), maximum_attempts=3),
    )
    return command_pb.Command(
        command_type=command_enums.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
        schedule_activity_task_command_attributes=attributes,
    )


class Scenario:
    def __init__(self, client: Client) -> None:
        self.service = client.workflow_service
        self.workflow_id = f"activity-ops-{uuid.uuid4()}"
        self.queue = f"{self.workflow_id}-activities"
        self.log: list[Any] = []
        self.tokens: dict[str, bytes] = {}

    def execution(self) -> common_pb.WorkflowExecution:
        return common_pb.WorkflowExecution(workflow_id=self.workflow_id)

    async def call(self, step: str, rpc: Any, request: Any) -> None:
        """Record `step`: "ok", or the error's status name and message."""
        try:
            await rpc(request)
            self.log.append([step, "ok"])
        except RPCError as error:
            self.log.append([step, error.status.name, error.message])

    async def start(self) -> None:
        queue = tq_pb.TaskQueue(name=self.workflow_id)
        await self.service.start_workflow_execution(
            ws.StartWorkflowExecutionRequest(
                namespace=NS,
                workflow_id=self.workflow_id,
                request_id=str(uuid.uuid4()),
                workflow_type=common_pb.WorkflowType(name="Raw"),
                task_queue=queue,
            )
        )
        poll = ws.PollWorkflowTaskQueueRequest(namespace=NS, task_queue=queue, identity="wf")
        task = await self.service.poll_workflow_task_queue(poll, timeout=POLL)
        commands = [
            _schedule("a1", "Act", self.queue),
            _schedule("a2", "Act", self.queue),
            _schedule("b1", "Other", f"{self.queue}-b"),
        ]
        await self.service.respond_workflow_task_completed(
            ws.RespondWorkflowTaskCompletedRequest(
                namespace=NS, task_token=task.task_token, commands=commands, identity="wf"
            )
        )

    def pause(self, **fields: Any) -> Any:
        return ws.PauseActivityRequest(namespace=NS, execution=self.execution(), **fields)

    def unpause(self, **fields: Any) -> Any:
        return ws.UnpauseActivityRequest(namespace=NS, execution=self.execution(), **fields)

    def reset(self, **fields: Any) -> Any:
        return ws.ResetActivityRequest(namespace=NS, execution=self.execution(), **fields)

    async def describe(self, step: str) -> None:
        reply = await self.service.describe_workflow_execution(
            ws.DescribeWorkflowExecutionRequest(namespace=NS, execution=self.execution())
        )
        seen = []
        for a in sorted(reply.pending_activities, key=lambda a: a.activity_id):
            seen.append(
                {
                    "id": a.activity_id,
                    "state": wf_enums.PendingActivityState.Name(a.state),
                    "attempt": a.attempt,
                    "paused": a.paused,
                    "pause_time": a.pause_info.HasField("pause_time"),
                    "pause_identity": a.pause_info.manual.identity,
                    "pause_reason": a.pause_info.manual.reason,
                    "last_failure": a.last_failure.message,
                    "heartbeat_details": len(a.heartbeat_details.payloads),
                }
            )
        # TemporalPauseInfo's entries, sorted: the server lists them in a Go map's
        # (random) order
        fields = reply.workflow_execution_info.search_attributes.indexed_fields
        pause_info = None
        if "TemporalPauseInfo" in fields:
            pause_info = sorted(json.loads(fields["TemporalPauseInfo"].data))
        self.log.append([step, seen, pause_info])

    async def poll(self, step: str) -> None:
        """Take an activity task (or none within POLL) and keep its token."""
        request = ws.PollActivityTaskQueueRequest(
            namespace=NS, task_queue=tq_pb.TaskQueue(name=self.queue), identity="act"
        )
        try:
            task = await self.service.poll_activity_task_queue(request, timeout=POLL)
        except RPCError as error:  # a deadline with no task
            self.log.append([step, "no task", error.status.name])
            return
        if not task.task_token:
            self.log.append([step, "no task"])
            return
        self.tokens[task.activity_id] = task.task_token
        self.log.append(
            [step, task.activity_id, task.attempt, len(task.heartbeat_details.payloads)]
        )

    async def heartbeat(self, step: str, activity_id: str) -> None:
        details = common_pb.Payloads(
            payloads=[common_pb.Payload(metadata={"encoding": b"json/plain"}, data=b'"beat"')]
        )
        request = ws.RecordActivityTaskHeartbeatRequest(
            namespace=NS, task_token=self.tokens[activity_id], details=details
        )
        try:
            reply = await self.service.record_activity_task_heartbeat(request)
        except RPCError as error:
            self.log.append([step, error.status.name, error.message])
            return
        flags = [reply.cancel_requested, reply.activity_paused, reply.activity_reset]
        self.log.append([step, flags])

    async def fail(self, step: str, activity_id: str) -> None:
        failure = failure_pb.Failure(
            message="boom", application_failure_info=failure_pb.ApplicationFailureInfo(type="E")
        )
        request = ws.RespondActivityTaskFailedRequest(
            namespace=NS, task_token=self.tokens[activity_id], failure=failure
        )
        await self.call(step, self.service.respond_activity_task_failed, request)

    async def complete(self, step: str, activity_id: str) -> None:
        request = ws.RespondActivityTaskCompletedRequest(
            namespace=NS, task_token=self.tokens[activity_id]
        )
        await self.call(step, self.service.respond_activity_task_completed, request)

    async def history(self, step: str) -> None:
        reply = await self.service.get_workflow_execution_history(
            ws.GetWorkflowExecutionHistoryRequest(namespace=NS, execution=self.execution())
        )
        seen = []
        for event in reply.history.events:
            name = event_enums.EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
            if event.HasField("activity_task_started_event_attributes"):
                started = event.activity_task_started_event_attributes
                name += f" attempt={started.attempt} last_failure={started.last_failure.message}"
            seen.append(name)
        self.log.append([step, seen])


async def transcript(client: Client) -> list[Any]:
    s = Scenario(client)
    svc = s.service
    await s.start()
    await s.call("pause without a selector", svc.pause_activity, s.pause())
    nobody = common_pb.WorkflowExecution(workflow_id="nope")
    unknown = ws.PauseActivityRequest(namespace=NS, execution=nobody, id="a1")
    await s.call("pause in an unknown workflow", svc.pause_activity, unknown)
    elsewhere = ws.PauseActivityRequest(namespace="nope", execution=s.execution(), id="a1")
    await s.call("pause in an unknown namespace", svc.pause_activity, elsewhere)
    no_id = ws.UnpauseActivityRequest(namespace=NS, id="a1")
    await s.call("unpause without a workflow id", svc.unpause_activity, no_id)
    await s.call("pause an unknown id", svc.pause_activity, s.pause(id="nope"))
    await s.call("pause an unknown type", svc.pause_activity, s.pause(type="Nope"))
    await s.call("unpause an unknown id", svc.unpause_activity, s.unpause(id="nope"))
    await s.call("reset an unknown id", svc.reset_activity, s.reset(id="nope"))
    await s.call("reset an unknown type", svc.reset_activity, s.reset(type="Nope"))
    await s.describe("before any pause")
    await s.call("pause a1", svc.pause_activity, s.pause(id="a1", identity="op", reason="why"))
    await s.describe("a1 paused")
    await s.call("pause a1 again", svc.pause_activity, s.pause(id="a1"))
    await s.call(
        "pause a1 again, another request", svc.pause_activity, s.pause(id="a1", request_id="r2")
    )
    await s.call("pause type Act", svc.pause_activity, s.pause(type="Act"))
    await s.describe("both Act paused")
    await s.poll("poll while both are paused")
    await s.call("unpause a2", svc.unpause_activity, s.unpause(id="a2"))
    await s.call("unpause b1, not paused", svc.unpause_activity, s.unpause(id="b1"))
    await s.describe("a2 unpaused")
    await s.poll("poll after a2 unpaused")
    await s.heartbeat("heartbeat a2", "a2")
    await s.call("pause a2 running", svc.pause_activity, s.pause(id="a2"))
    await s.describe("a2 paused while running")
    await s.heartbeat("heartbeat a2 paused", "a2")
    await s.fail("fail a2 paused", "a2")
    await s.describe("a2 failed while paused")
    await s.poll("poll after the paused failure")
    await s.call(
        "unpause a2 resetting attempts",
        svc.unpause_activity,
        s.unpause(id="a2", reset_attempts=True),
    )
    await s.describe("a2 unpaused with attempts reset")
    await s.poll("poll after the second unpause")
    await s.call("reset a2 running", svc.reset_activity, s.reset(id="a2"))
    await s.heartbeat("heartbeat a2 reset", "a2")
    await s.describe("a2 reset while running")
    await s.fail("fail a2 after the reset", "a2")
    await s.describe("a2 backing off")
    await s.call("reset a2 backing off", svc.reset_activity, s.reset(id="a2"))
    await s.describe("a2 reset while backing off")
    await s.poll("poll after the reset")
    await s.call("pause a2 again", svc.pause_activity, s.pause(id="a2", reason="again"))
    await s.call(
        "reset a2 keeping it paused", svc.reset_activity, s.reset(id="a2", keep_paused=True)
    )
    await s.describe("a2 reset and kept paused")
    await s.heartbeat("heartbeat a2 paused and reset", "a2")
    await s.complete("complete a2 paused", "a2")
    await s.describe("a2 completed")
    await s.call("pause b1", svc.pause_activity, s.pause(id="b1"))
    await s.describe("a1 and b1 paused")
    visible = (
        f"WorkflowId = '{s.workflow_id}' AND TemporalPauseInfo = 'property:activityType=Other'"
    )
    s.log.append(["listed as paused", (await client.count_workflows(visible)).count])
    await s.call("unpause every activity", svc.unpause_activity, s.unpause(unpause_all=True))
    await s.describe("all unpaused")
    await s.history("history")
    await svc.terminate_workflow_execution(
        ws.TerminateWorkflowExecutionRequest(namespace=NS, workflow_execution=s.execution())
    )
    await s.call("pause after the run closed", svc.pause_activity, s.pause(id="a1"))
    await s.call("unpause after the run closed", svc.unpause_activity, s.unpause(type="Nope"))
    await s.call("reset after the run closed", svc.reset_activity, s.reset(id="a1"))
    return s.log


async def _main(address: str) -> None:
    client = await Client.connect(address)
    print(json.dumps(await transcript(client), indent=1))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
