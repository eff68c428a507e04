"""Which answer a client sees first when a workflow task completes its run: the worker's
RespondWorkflowTaskCompleted reply, or the reply to a history long poll
(GetWorkflowExecutionHistory with `wait_new_event`, the close-event filter, as the SDK's
`result()` asks) that the completion ends.

Both calls go over ONE client connection, as the SDK's worker and client share one. On
the real server the completing call's reply needs nothing after its commit, while the
long poll is woken through the history service's events notifier (a queue drained by a
goroutine of its own, service/history/events/notifier.go) and then reads the close event
from persistence (service/history/api/getworkflowexecutionhistory/api.go), so the
worker's reply comes first. The SDK counts `workflow_completed` only once that reply is
in (sdk-core, crates/sdk-core/src/worker/workflow/mod.rs), so a test that reads the
metric as soon as it has the result depends on this order.

`python -m tests.adapters.serve.notify_order_probe HOST:PORT [N]` runs N rounds and
prints how many times each answer came first.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid

from temporalio.api.command.v1 import Command, CompleteWorkflowExecutionCommandAttributes
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import CommandType, HistoryEventFilterType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    PollWorkflowTaskQueueRequest,
    RespondWorkflowTaskCompletedRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.client import Client

PARKED = 0.2  # s: long enough for the long poll to be waiting before the completion


async def one_round(client: Client, namespace: str = "default") -> str:
    """Start a run, park a history long poll on it, complete its first workflow task:
    "reply" if the completion's reply came first, "history" if the long poll's did."""
    service = client.workflow_service
    queue = f"order-{uuid.uuid4()}"
    workflow_id = f"order-{uuid.uuid4()}"
    started = await service.start_workflow_execution(
        StartWorkflowExecutionRequest(
            namespace=namespace,
            workflow_id=workflow_id,
            workflow_type=WorkflowType(name="Order"),
            task_queue=TaskQueue(name=queue),
            request_id=str(uuid.uuid4()),
        )
    )
    task = await service.poll_workflow_task_queue(
        PollWorkflowTaskQueueRequest(
            namespace=namespace, task_queue=TaskQueue(name=queue), identity="probe"
        )
    )
    arrived: dict[str, float] = {}
    history = asyncio.ensure_future(
        service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=namespace,
                execution=WorkflowExecution(workflow_id=workflow_id, run_id=started.run_id),
                wait_new_event=True,
                history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
            )
        )
    )
    history.add_done_callback(lambda _: arrived.setdefault("history", time.perf_counter()))
    await asyncio.sleep(PARKED)
    assert not history.done(), "the long poll answered before the run closed"
    complete = Command(
        command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        complete_workflow_execution_command_attributes=CompleteWorkflowExecutionCommandAttributes(),
    )
    reply = asyncio.ensure_future(
        service.respond_workflow_task_completed(
            RespondWorkflowTaskCompletedRequest(
                namespace=namespace,
                task_token=task.task_token,
                commands=[complete],
                identity="probe",
            )
        )
    )
    reply.add_done_callback(lambda _: arrived.setdefault("reply", time.perf_counter()))
    await asyncio.gather(history, reply)
    closed = history.result().history.events
    assert len(closed) == 1 and closed[0].event_id > 0, closed
    return min(arrived, key=lambda name: arrived[name])


async def rounds(client: Client, n: int) -> dict[str, int]:
    """How many of `n` rounds each answer came first in."""
    firsts = {"reply": 0, "history": 0}
    for _ in range(n):
        firsts[await one_round(client)] += 1
    return firsts


async def _main(address: str, n: int) -> None:
    print(await rounds(await Client.connect(address), n))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20))
