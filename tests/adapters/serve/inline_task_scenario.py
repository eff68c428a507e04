"""The next workflow task handed back in RespondWorkflowTaskCompletedResponse, with raw
gRPC calls (the test is the worker): a signal arrives while the first task runs, and
the worker completes that task asking for the next one (`return_new_workflow_task`, as
every SDK does). The server starts it in the completion's transaction, with the request
id "request-from-RespondWorkflowTaskCompleted" and the completer's identity, and returns
it as a sticky poll's task: the events since the worker's last completed task, the
token, the run's queue. Asked again in the next completion, which makes no task, the
response carries none. An update admitted while a task runs is carried by a
speculative task returned the same way, and a worker that does not ask polls its sticky
queue for the next task, which a poll starts (the poll's request id). Through the
SDK (temporalio, which always asks): a signal sent while a local activity keeps the
workflow task open."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_enums
from temporalio.api.enums.v1 import event_type_pb2 as event_enums
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.enums.v1 import update_pb2 as update_enums
from temporalio.api.history.v1 import message_pb2 as history_pb
from temporalio.api.protocol.v1 import message_pb2 as protocol_pb
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.update.v1 import message_pb2 as update_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker as SdkWorker

from tests.adapters.serve.sdk import connected, execution

NS = "default"
INLINE = "request-from-RespondWorkflowTaskCompleted"
IDENTITY = "the-worker"
# An event: its type's short name, and for a WorkflowTaskStarted its request id (a
# poll's random id shows as "poll") and identity, for a Scheduled its queue's kind.
Event = tuple[str, ...]
# A task handed back: previous started event id, started event id, attempt, its
# history's events, the update ids its messages carry, the run's queue named.
Handed = tuple[int, int, int, tuple[Event, ...], tuple[str, ...], bool]


def _event(event: history_pb.HistoryEvent) -> Event:
    text = event_enums.EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    if event.HasField("workflow_task_started_event_attributes"):
        a = event.workflow_task_started_event_attributes
        request_id = a.request_id if a.request_id == INLINE else "poll"
        return (text, request_id, a.identity)
    if event.HasField("workflow_task_scheduled_event_attributes"):
        queue = event.workflow_task_scheduled_event_attributes.task_queue
        return (text, tq_enums.TaskQueueKind.Name(queue.kind))
    return (text,)


def _handed(task: ws.PollWorkflowTaskQueueResponse, queue: str) -> Handed:
    return (
        task.previous_started_event_id,
        task.started_event_id,
        task.attempt,
        tuple(_event(e) for e in task.history.events),
        tuple(m.protocol_instance_id for m in task.messages),
        task.workflow_execution_task_queue.name == queue,
    )


class Worker:
    """A raw worker of one run on its own task queue, sticky on a queue of its own."""

    def __init__(self, client: Client, label: str) -> None:
        self.client = client
        self.workflow_id = f"inline-{label}-{uuid.uuid4()}"
        self.queue = self.workflow_id
        self.sticky = f"{self.workflow_id}-sticky"

    async def start(self) -> ws.PollWorkflowTaskQueueResponse:
        service = self.client.workflow_service
        await service.start_workflow_execution(
            ws.StartWorkflowExecutionRequest(
                namespace=NS,
                workflow_id=self.workflow_id,
                request_id=str(uuid.uuid4()),
                workflow_type=common_pb.WorkflowType(name="Raw"),
                task_queue=tq_pb.TaskQueue(name=self.queue),
            )
        )
        return await self.poll(self.queue)

    async def poll(self, queue: str) -> ws.PollWorkflowTaskQueueResponse:
        polled = tq_pb.TaskQueue(name=queue)
        if queue == self.sticky:
            polled.kind, polled.normal_name = tq_enums.TASK_QUEUE_KIND_STICKY, self.queue
        request = ws.PollWorkflowTaskQueueRequest(
            namespace=NS, task_queue=polled, identity=IDENTITY
        )
        return await self.client.workflow_service.poll_workflow_task_queue(
            request, timeout=timedelta(seconds=20)
        )

    async def complete(
        self,
        token: bytes,
        ask: bool,
        commands: tuple[command_pb.Command, ...] = (),
        messages: tuple[protocol_pb.Message, ...] = (),
    ) -> ws.RespondWorkflowTaskCompletedResponse:
        request = ws.RespondWorkflowTaskCompletedRequest(
            namespace=NS,
            task_token=token,
            commands=commands,
            messages=messages,
            identity=IDENTITY,
            return_new_workflow_task=ask,
        )
        request.sticky_attributes.worker_task_queue.name = self.sticky
        request.sticky_attributes.worker_task_queue.kind = tq_enums.TASK_QUEUE_KIND_STICKY
        request.sticky_attributes.worker_task_queue.normal_name = self.queue
        request.sticky_attributes.schedule_to_start_timeout.FromSeconds(5)
        return await self.client.workflow_service.respond_workflow_task_completed(request)

    async def signal(self) -> None:
        await self.client.workflow_service.signal_workflow_execution(
            ws.SignalWorkflowExecutionRequest(
                namespace=NS,
                workflow_execution=execution(self.workflow_id),
                signal_name="meanwhile",
                request_id=str(uuid.uuid4()),
                identity="signaller",
            )
        )

    async def history(self) -> tuple[Event, ...]:
        history = await self.client.get_workflow_handle(self.workflow_id).fetch_history()
        return tuple(_event(e) for e in history.events)


def _close() -> command_pb.Command:
    command = command_pb.Command(
        command_type=command_enums.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION
    )
    command.complete_workflow_execution_command_attributes.SetInParent()
    return command


async def signalled(client: Client) -> tuple[Handed, bool, tuple[Event, ...]]:
    """A signal while the first task runs: the task handed back, whether the last
    completion's response carried a task, the run's history."""
    worker = Worker(client, "signal")
    first = await worker.start()
    await worker.signal()
    answer = await worker.complete(first.task_token, ask=True)
    handed = _handed(answer.workflow_task, worker.queue)
    last = await worker.complete(answer.workflow_task.task_token, ask=True, commands=(_close(),))
    return handed, last.HasField("workflow_task"), await worker.history()


async def not_asked(client: Client) -> tuple[bool, Handed, tuple[Event, ...]]:
    """The same without asking: whether the response carried a task, the task the
    sticky poll got, the run's history."""
    worker = Worker(client, "polled")
    first = await worker.start()
    await worker.signal()
    # polling the sticky queue already, as a worker does (matching sends a task for a
    # sticky queue nobody polls to the normal queue)
    polling = asyncio.create_task(worker.poll(worker.sticky))
    await asyncio.sleep(0.5)
    answer = await worker.complete(first.task_token, ask=False)
    polled = await polling
    await worker.complete(polled.task_token, ask=False, commands=(_close(),))
    return answer.HasField("workflow_task"), _handed(polled, worker.queue), await worker.history()


async def updated(client: Client) -> tuple[Handed, str, tuple[Event, ...]]:
    """An update admitted while the first task runs: the speculative task handed back
    with it, the update's outcome (the worker accepts and completes it there), the
    run's history."""
    worker = Worker(client, "update")
    first = await worker.start()
    call = asyncio.create_task(
        client.workflow_service.update_workflow_execution(
            ws.UpdateWorkflowExecutionRequest(
                namespace=NS,
                workflow_execution=execution(worker.workflow_id),
                request=update_pb.Request(
                    meta=update_pb.Meta(update_id="u1", identity="caller"),
                    input=update_pb.Input(name="change"),
                ),
                wait_policy=update_pb.WaitPolicy(
                    lifecycle_stage=update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
                ),
            ),
            timeout=timedelta(seconds=30),
        )
    )
    await _admitted(client, worker.workflow_id)
    answer = await worker.complete(first.task_token, ask=True)
    task = answer.workflow_task
    handed = _handed(task, worker.queue)
    (request,) = task.messages
    accept, respond = protocol_pb.Message(), protocol_pb.Message()
    accept.id, accept.protocol_instance_id = "u1/accept", "u1"
    accept.body.Pack(
        update_pb.Acceptance(
            accepted_request_message_id=request.id,
            accepted_request_sequencing_event_id=request.event_id,
        )
    )
    respond.id, respond.protocol_instance_id = "u1/complete", "u1"
    respond.body.Pack(
        update_pb.Response(
            meta=update_pb.Meta(update_id="u1"),
            outcome=update_pb.Outcome(success=common_pb.Payloads()),
        )
    )
    await worker.complete(task.task_token, ask=True, messages=(accept, respond))
    outcome = (await call).outcome
    await client.get_workflow_handle(worker.workflow_id).terminate(reason="done")
    return handed, outcome.WhichOneof("value") or "", await worker.history()


async def _admitted(client: Client, workflow_id: str) -> None:
    """Wait until the update is admitted: polling for that stage answers NotFound until
    the server knows the update."""
    request = ws.PollWorkflowExecutionUpdateRequest(
        namespace=NS,
        update_ref=update_pb.UpdateRef(workflow_execution=execution(workflow_id), update_id="u1"),
        wait_policy=update_pb.WaitPolicy(
            lifecycle_stage=update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
        ),
    )
    for _ in range(200):
        try:
            await client.workflow_service.poll_workflow_execution_update(
                request, retry=False, timeout=timedelta(seconds=5)
            )
            return
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise
        await asyncio.sleep(0.05)
    raise AssertionError("the update was never admitted")


NAPPING: dict[str, asyncio.Event] = {}  # by workflow id: its local activity runs


@activity.defn
async def nap() -> None:
    NAPPING[activity.info().workflow_id or ""].set()
    await asyncio.sleep(1.0)


@workflow.defn(sandboxed=False)
class BusyTask:
    """Runs a local activity (its workflow task stays open meanwhile), then returns the
    signals it got."""

    def __init__(self) -> None:
        self.got: list[str] = []

    @workflow.signal
    def add(self, value: str) -> None:
        self.got.append(value)

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.execute_local_activity(nap, start_to_close_timeout=timedelta(seconds=10))
        await workflow.wait_condition(lambda: bool(self.got))
        return self.got


async def through_the_sdk(client: Client) -> tuple[list[str], tuple[Event, ...]]:
    """The workflow's result and its history."""
    workflow_id = f"inline-sdk-{uuid.uuid4()}"
    NAPPING[workflow_id] = asyncio.Event()
    async with SdkWorker(
        client,
        task_queue=workflow_id,
        workflows=[BusyTask],
        activities=[nap],
        identity=IDENTITY,
    ):
        handle = await client.start_workflow(BusyTask.run, id=workflow_id, task_queue=workflow_id)
        await NAPPING[workflow_id].wait()
        await handle.signal(BusyTask.add, "meanwhile")
        result = await handle.result()
    del NAPPING[workflow_id]
    history = await handle.fetch_history()
    return result, tuple(_event(e) for e in history.events)


async def drive(address: str) -> tuple[object, ...]:
    client = await connected(address)
    return (
        await signalled(client),
        await not_asked(client),
        await updated(client),
        await through_the_sdk(client),
    )
