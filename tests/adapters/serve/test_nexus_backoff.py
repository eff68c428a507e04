"""A Nexus start whose attempt fails retryably, or times out, backs off before it is
tried again, and DescribeWorkflowExecution lists the operation as the dev server does
(adapters/serve/nexus_attempts.py; components/nexusoperations/statemachine.go
TransitionAttemptFailed, config.go's retry policy; describeworkflow/api.go
buildPendingNexusOperationInfo).

Measured on the dev server (CLI 1.9.1, server 1.32.0) with a raw handler poller: an
attempt failed by an INTERNAL handler error left the operation BACKING_OFF, attempt 1,
the failure as given, the next attempt 0.87 s after the failure, and the next task
reached the poller 0.7 s after the answer; then 1.70 s and 3.97 s. An attempt that
timed out ("upstream timeout", UPSTREAM_TIMEOUT) was BACKING_OFF too, its next attempt
0.81 s after it. Before, `tmodel serve` queued a timed-out start again at once, waited a
fixed second after a failed one, and listed no pending Nexus operation.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, cast

import nexusrpc
import pytest
from temporalio import workflow
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import common_pb2 as common_enums
from temporalio.api.failure.v1 import message_pb2 as failure_pb
from temporalio.api.nexus.v1 import message_pb2 as nexus_pb
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflow.v1 import message_pb2 as workflow_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.worker import Worker

from adapters.serve.nexus_attempts import SECOND, next_delay
from adapters.serve.nexus_tasks import NexusTask, NexusTasks
from tests.adapters.serve.sdk import bounded

STATE = common_enums.PendingNexusOperationState


def test_the_delay_doubles_from_a_second_with_the_jitter_and_the_cap() -> None:
    rng = random.Random(7)
    for attempts in range(1, 6):
        interval = SECOND * 2 ** (attempts - 1)
        for _ in range(50):
            assert 0.8 * interval <= next_delay(attempts, rng) < interval
    assert 2880 * SECOND <= next_delay(30, rng) < 3600 * SECOND  # maxInterval: 1 h


@pytest.mark.asyncio
async def test_a_timed_out_start_backs_off_before_it_is_tried_again() -> None:
    clock = [5 * SECOND]
    runtime = SimpleNamespace(
        commit_listeners=[],
        holds=[],
        kernel=SimpleNamespace(poke=lambda: None),
        persistence=SimpleNamespace(runs={}),
    )
    fe = SimpleNamespace(runtime=runtime, now=lambda: clock[0])
    tasks = NexusTasks(cast(Any, fe))
    task = NexusTask(1, "default", "q", "default", "wf", "run", 5, "request")
    tasks.outstanding[1] = task
    tasks._expire(1)  # its request timed out
    assert not tasks.queues.get(("default", "q")), "queued again at once"
    record = tasks.attempts.get(("run", 5, False))
    assert record is not None and record.count == 1 and record.last_complete == clock[0]
    assert record.last_failure is not None
    assert record.last_failure.message == "upstream timeout"
    assert record.last_failure.nexus_handler_failure_info.type == "UPSTREAM_TIMEOUT"
    delay = record.next_attempt - record.last_complete
    assert 0.8 * SECOND <= delay < SECOND
    await asyncio.sleep(delay / SECOND + 0.1)
    queued = tasks.queues[("default", "q")]
    assert [t.scheduled_event_id for t in queued] == [5] and queued[0] is not task
    assert record.next_attempt == 0  # scheduled again: no longer backing off
    closed = SimpleNamespace(run_id="run", running=False, nexus_operations=())
    tasks._on_commit((cast(Any, SimpleNamespace(run_id="run", state=closed, events=())),))
    assert tasks.attempts.get(("run", 5, False)) is None  # the run closed: forgotten


@nexusrpc.service
class Backoff:
    op: nexusrpc.Operation[str, str]


@workflow.defn(name="NexusBackoffCaller", sandboxed=False)
class Caller:
    @workflow.run
    async def run(self, endpoint: str) -> str:
        client = workflow.create_nexus_client(endpoint=endpoint, service=Backoff)
        return await client.execute_operation(
            Backoff.op, "x", schedule_to_close_timeout=timedelta(seconds=60)
        )


async def _pending(client: Client, workflow_id: str) -> workflow_pb.PendingNexusOperationInfo:
    request = ws.DescribeWorkflowExecutionRequest(
        namespace="default", execution=common_pb.WorkflowExecution(workflow_id=workflow_id)
    )
    for _ in range(100):  # until the caller's first workflow task has scheduled it
        described = await client.workflow_service.describe_workflow_execution(request)
        if described.pending_nexus_operations:
            (only,) = described.pending_nexus_operations
            return only
        await asyncio.sleep(0.05)
    raise AssertionError("no pending Nexus operation")


@pytest.mark.asyncio
@bounded
async def test_a_failed_attempt_is_described_backing_off(address: str) -> None:
    client = await Client.connect(address)
    tag = str(uuid.uuid4())[:8]
    endpoint, handler_queue, queue = f"backoff-{tag}", f"backoff-h-{tag}", f"backoff-c-{tag}"
    target = nexus_pb.EndpointTarget.Worker(namespace="default", task_queue=handler_queue)
    spec = nexus_pb.EndpointSpec(name=endpoint, target=nexus_pb.EndpointTarget(worker=target))
    await client.operator_service.create_nexus_endpoint(ops.CreateNexusEndpointRequest(spec=spec))
    service = client.workflow_service
    poll = ws.PollNexusTaskQueueRequest(
        namespace="default", task_queue=tq_pb.TaskQueue(name=handler_queue), identity="raw"
    )
    failure = failure_pb.Failure(message="boom")
    failure.nexus_handler_failure_info.type = "INTERNAL"  # retryable
    loop = asyncio.get_running_loop()
    async with Worker(client, task_queue=queue, workflows=[Caller]):
        workflow_id = f"backoff-caller-{tag}"
        handle = await client.start_workflow(Caller.run, endpoint, id=workflow_id, task_queue=queue)
        first = await _pending(client, workflow_id)
        assert first.state == STATE.PENDING_NEXUS_OPERATION_STATE_SCHEDULED
        assert (first.endpoint, first.service, first.operation) == (endpoint, "Backoff", "op")
        assert first.attempt == 0 and first.schedule_to_close_timeout.seconds == 60
        answered = loop.time()
        for attempt in (1, 2):
            task = await service.poll_nexus_task_queue(poll)
            if attempt > 1:  # the next task waited out the backoff
                assert loop.time() - answered >= 0.7
            failed = ws.RespondNexusTaskFailedRequest(
                namespace="default", identity="raw", task_token=task.task_token, failure=failure
            )
            await service.respond_nexus_task_failed(failed)
            answered = loop.time()
            info = await _pending(client, workflow_id)
            assert info.state == STATE.PENDING_NEXUS_OPERATION_STATE_BACKING_OFF
            assert info.attempt == attempt
            assert info.last_attempt_failure == failure
            wait = (
                info.next_attempt_schedule_time.ToNanoseconds()
                - info.last_attempt_complete_time.ToNanoseconds()
            )
            interval = SECOND * 2 ** (attempt - 1)
            assert 0.8 * interval <= wait < interval
        await handle.terminate("done")
