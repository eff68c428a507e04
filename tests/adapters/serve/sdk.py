"""Workflows, activities and helpers for driving `tmodel serve` with temporalio.

The workflows are unsandboxed (`sandboxed=False`): they import nothing
nondeterministic, and the sandbox would re-import this test package per run.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

import pytest
from temporalio import activity, workflow
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError

P = ParamSpec("P")
R = TypeVar("R")
TEST_TIMEOUT = 90.0  # seconds: no test of these modules may hang longer
QUEUE = "served"  # the task queue the module's worker polls
IDLE = "idle"  # a task queue no worker polls: its runs wait for their first task
# Task tokens of activities that complete asynchronously, by workflow id.
TOKENS: dict[str, bytes] = {}


def bounded(
    test: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """Fail an async test that runs longer than TEST_TIMEOUT instead of hanging."""

    @functools.wraps(test)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        async with asyncio.timeout(TEST_TIMEOUT):
            return await test(*args, **kwargs)

    return run


async def rpc_error(call: Awaitable[object]) -> RPCError:
    """The RPCError `call` raises (the test fails if it raises none)."""
    with pytest.raises(RPCError) as info:
        await call
    return info.value


def details(error: RPCError) -> list[str]:
    """The full names of the error's details messages (google.rpc.Status details)."""
    return [d.type_url.rsplit("/", 1)[-1] for d in error.grpc_status.details]


def start_request(
    workflow_id: str, request_id: str = "", **fields: object
) -> ws.StartWorkflowExecutionRequest:
    """A raw start of a Waiter on the IDLE queue (a fresh request id unless given)."""
    return ws.StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id=workflow_id,
        workflow_type=common_pb.WorkflowType(name="Waiter"),
        task_queue=tq_pb.TaskQueue(name=IDLE),
        request_id=request_id or str(uuid.uuid4()),
        **fields,  # type: ignore[arg-type]
    )


def execution(workflow_id: str, run_id: str = "") -> common_pb.WorkflowExecution:
    return common_pb.WorkflowExecution(workflow_id=workflow_id, run_id=run_id)


def reset_request(
    workflow_id: str, run_id: str, point: int, reason: str
) -> ws.ResetWorkflowExecutionRequest:
    """A raw ResetWorkflowExecution of a run to the workflow task that ends at `point`."""
    return ws.ResetWorkflowExecutionRequest(
        namespace="default",
        workflow_execution=execution(workflow_id, run_id),
        reason=reason,
        workflow_task_finish_event_id=point,
        request_id=str(uuid.uuid4()),
    )


async def first_workflow_task(
    client: Client, namespace: str, workflow_id: str
) -> ws.PollWorkflowTaskQueueResponse:
    """Start a run of type Raw on a task queue of its own (named as the workflow) and
    take its first workflow task with a raw poll, the test acting as the worker."""
    queue = tq_pb.TaskQueue(name=workflow_id)
    service = client.workflow_service
    await service.start_workflow_execution(
        ws.StartWorkflowExecutionRequest(
            namespace=namespace,
            workflow_id=workflow_id,
            request_id=workflow_id,
            workflow_type=common_pb.WorkflowType(name="Raw"),
            task_queue=queue,
        )
    )
    poll = ws.PollWorkflowTaskQueueRequest(namespace=namespace, task_queue=queue, identity="raw")
    return await service.poll_workflow_task_queue(poll, timeout=timedelta(seconds=20))


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait until `check()` is true (bounded by the test's own timeout)."""
    while not await check():
        await asyncio.sleep(0.05)


async def connected(address: str) -> Client:
    """A client of the server at `address`, which may take a few seconds to listen."""
    for _ in range(120):
        try:
            return await Client.connect(address)
        except RuntimeError:
            await asyncio.sleep(0.5)
    return await Client.connect(address)


@workflow.defn(sandboxed=False)
class Waiter:
    """Waits for `finish` (a signal) and returns its value; `poke` signals count."""

    def __init__(self) -> None:
        self.value = ""
        self.done = False
        self.pokes = 0

    @workflow.run
    async def run(self, start: str) -> str:
        self.value = start
        await workflow.wait_condition(lambda: self.done)
        return f"{self.value} after {self.pokes} pokes"

    @workflow.signal
    def finish(self, value: str) -> None:
        self.value = value
        self.done = True

    @workflow.signal
    def poke(self) -> None:
        self.pokes += 1

    @workflow.query
    def state(self) -> str:
        return self.value

    @workflow.query
    def failing(self) -> str:
        raise RuntimeError("query handler failed on purpose")

    @workflow.update
    def set_value(self, value: str) -> str:
        old, self.value = self.value, value
        return old

    @set_value.validator
    def check_value(self, value: str) -> None:
        if not value:
            raise ValueError("an empty value is refused")


@activity.defn
async def complete_outside() -> str:
    """Hands its task token to the test and completes asynchronously."""
    info = activity.info()
    TOKENS[info.workflow_id or ""] = info.task_token
    activity.raise_complete_async()


@workflow.defn(sandboxed=False)
class CallsOutside:
    """Runs `complete_outside` (activity id "outside") and returns its result."""

    @workflow.run
    async def run(self) -> str:
        result: str = await workflow.execute_activity(
            complete_outside, activity_id="outside", start_to_close_timeout=timedelta(minutes=5)
        )
        return result


@workflow.defn(sandboxed=False)
class Parent:
    """Starts a Waiter child on `queue` and returns its result."""

    @workflow.run
    async def run(self, child_id: str, queue: str) -> str:
        result: str = await workflow.execute_child_workflow(
            Waiter.run, "child", id=child_id, task_queue=queue
        )
        return result


@workflow.defn(sandboxed=False)
class Sleeper:
    """Sleeps for `seconds` of workflow time and returns how long it slept."""

    @workflow.run
    async def run(self, seconds: float) -> float:
        before = workflow.now()
        await workflow.sleep(seconds)
        return (workflow.now() - before).total_seconds()


WORKFLOWS = [Waiter, CallsOutside, Parent, Sleeper]
ACTIVITIES = [complete_outside]
