"""Record the two activity-cancel races of tests/fixtures/found-histories.

A raw worker (plain gRPC calls, no SDK) drives a workflow so that its workflow task asks
to cancel an activity that is already closed:

- `cancel-twice`: one completion carries two RequestCancelActivityTask commands for an
  activity no worker has started: the first closes it at once (its ActivityTaskCanceled
  is buffered), the second finds its close in the buffer and is written too;
- `cancel-after-timeout`: the activity (one attempt, 2 s start-to-close) times out while
  the workflow task that cancels it is with the worker; its close is buffered, and the
  cancel request is written before it.

Start a dev server, then

    python scripts/record_cancel_races.py --address 127.0.0.1:7233 --out DIR

writes DIR/cancel-twice.json and DIR/cancel-after-timeout.json as `temporal workflow
show --output json` prints them.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import uuid
from pathlib import Path

from google.protobuf import duration_pb2
from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_types
from temporalio.api.taskqueue.v1 import message_pb2 as queue_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client

from adapters.dev_server import temporal_binary

NS = "default"


async def _poll(client: Client, queue: str) -> ws.PollWorkflowTaskQueueResponse:
    request = ws.PollWorkflowTaskQueueRequest(
        namespace=NS, task_queue=queue_pb.TaskQueue(name=queue), identity="raw"
    )
    return await client.workflow_service.poll_workflow_task_queue(request)


async def _complete(client: Client, token: bytes, *commands: command_pb.Command) -> None:
    request = ws.RespondWorkflowTaskCompletedRequest(
        namespace=NS, task_token=token, commands=commands, identity="raw"
    )
    await client.workflow_service.respond_workflow_task_completed(request)


async def record(client: Client, times_out: bool) -> str:
    """Run one race; return its workflow id."""
    service = client.workflow_service
    workflow_id = f"race-{uuid.uuid4().hex[:8]}"
    queue = workflow_id + "-q"
    await service.start_workflow_execution(
        ws.StartWorkflowExecutionRequest(
            namespace=NS,
            workflow_id=workflow_id,
            workflow_type=common_pb.WorkflowType(name="CancelRace"),
            task_queue=queue_pb.TaskQueue(name=queue),
            identity="raw",
            request_id=str(uuid.uuid4()),
        )
    )
    schedule = command_pb.Command(
        command_type=command_types.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
        schedule_activity_task_command_attributes=command_pb.ScheduleActivityTaskCommandAttributes(
            activity_id="a0",
            activity_type=common_pb.ActivityType(name="act"),
            task_queue=queue_pb.TaskQueue(name=queue + "-act"),
            start_to_close_timeout=duration_pb2.Duration(seconds=2 if times_out else 60),
            retry_policy=common_pb.RetryPolicy(maximum_attempts=1),
        ),
    )
    await _complete(client, (await _poll(client, queue)).task_token, schedule)
    if times_out:  # the activity's one attempt starts, and no one will complete it
        poll = ws.PollActivityTaskQueueRequest(
            namespace=NS, task_queue=queue_pb.TaskQueue(name=queue + "-act"), identity="raw"
        )
        while not (await service.poll_activity_task_queue(poll)).task_token:
            pass
    await service.signal_workflow_execution(
        ws.SignalWorkflowExecutionRequest(
            namespace=NS,
            workflow_execution=common_pb.WorkflowExecution(workflow_id=workflow_id),
            signal_name="go",
            identity="raw",
            request_id=str(uuid.uuid4()),
        )
    )
    task = await _poll(client, queue)
    if times_out:
        await asyncio.sleep(4)  # the start-to-close timeout fires while the task runs
    cancel = command_pb.Command(
        command_type=command_types.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK,
        request_cancel_activity_task_command_attributes=(
            command_pb.RequestCancelActivityTaskCommandAttributes(scheduled_event_id=5)
        ),
    )
    await _complete(client, task.task_token, *([cancel] if times_out else [cancel, cancel]))
    await asyncio.sleep(1)
    return workflow_id


async def main(address: str, out: Path) -> None:
    client = await Client.connect(address)
    out.mkdir(parents=True, exist_ok=True)
    binary = temporal_binary() or "temporal"
    for name, times_out in (("cancel-twice", False), ("cancel-after-timeout", True)):
        workflow_id = await record(client, times_out)
        shown = subprocess.run(
            [binary, "workflow", "show", "-w", workflow_id, "-o", "json", "--address", address],
            capture_output=True,
            text=True,
            check=True,
        )
        (out / f"{name}.json").write_text(shown.stdout)
        print(f"{name}: {workflow_id}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", default="127.0.0.1:7233")
    parser.add_argument("--out", type=Path, default=Path("cancel-races"))
    args = parser.parse_args()
    asyncio.run(main(args.address, args.out))
