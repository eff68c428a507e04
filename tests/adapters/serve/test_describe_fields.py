"""DescribeWorkflowExecution's fields as the dev server fills them:

- a start's execution and run timeouts as the start gave them, a zero one present (the
  `temporal` CLI sends "0s"), an unset one absent; the priority only when the start
  had one; the search attributes and the auto-reset points always present, empty when
  there are none (serve left out the zero timeouts and the empty messages, and showed
  an empty priority for a start that gave none);
- a run that closed with a workflow task scheduled and not started (terminated, also
  after a failed task, or timed out) still shows it pending (serve showed none);
- a run a reset started shows its start time as the last reset's, and counts the
  rebuild of its base as a state transition; the base run names it as its reset run
  (serve showed neither and counted one transition fewer);
- a SignalWithStart's request id is recorded with its signal's event id, 2, which
  overwrites the Started event's (serve gave 1).

The slow twin finds the same on the dev server."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import failed_cause_pb2 as cause_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client

from tests.adapters.serve.sdk import (
    bounded,
    connected,
    execution,
    first_workflow_task,
    reset_request,
    start_request,
)

SCHEDULED = wf_enums.PENDING_WORKFLOW_TASK_STATE_SCHEDULED
Describe = ws.DescribeWorkflowExecutionResponse

EXPECTED: dict[str, object] = {
    "zero timeouts present": (True, True),
    "unset timeouts present": (False, False),
    "priority present": False,
    "search attributes present": True,
    "auto-reset points present": True,
    "terminated: pending task": (True, SCHEDULED, 1),
    "terminated after a failed task: pending task": (True, SCHEDULED, 2),
    "timed out: pending task": (True, SCHEDULED, 1),
    "reset run: last reset time is its start": True,
    "reset run: state transitions": 2,
    "base run: names the reset run": True,
    "signal-with-start: the request's event": (1, 2),
}


async def _describe(client: Client, workflow_id: str, run_id: str = "") -> Describe:
    request = ws.DescribeWorkflowExecutionRequest(
        namespace="default", execution=execution(workflow_id, run_id)
    )
    return await client.workflow_service.describe_workflow_execution(request)


def _timeouts(described: Describe) -> tuple[bool, bool]:
    config = described.execution_config
    return config.HasField("workflow_execution_timeout"), config.HasField("workflow_run_timeout")


def _pending(described: Describe) -> tuple[bool, int, int]:
    task = described.pending_workflow_task
    return described.HasField("pending_workflow_task"), task.state, task.attempt


async def _closed(client: Client, workflow_id: str) -> Describe:
    for _ in range(100):  # until the run timeout has closed the run
        described = await _describe(client, workflow_id)
        if described.workflow_execution_info.close_time.seconds:
            return described
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} did not time out")


async def observed(address: str) -> dict[str, object]:
    client = await connected(address)
    service = client.workflow_service
    prefix = f"desc-{uuid.uuid4().hex[:8]}"
    out: dict[str, object] = {}

    zero = start_request(
        f"{prefix}-zero", workflow_execution_timeout=Duration(), workflow_run_timeout=Duration()
    )
    await service.start_workflow_execution(zero)
    out["zero timeouts present"] = _timeouts(await _describe(client, zero.workflow_id))

    plain = start_request(f"{prefix}-plain")
    await service.start_workflow_execution(plain)
    described = await _describe(client, plain.workflow_id)
    out["unset timeouts present"] = _timeouts(described)
    info = described.workflow_execution_info
    out["priority present"] = info.HasField("priority")
    out["search attributes present"] = info.HasField("search_attributes")
    out["auto-reset points present"] = info.HasField("auto_reset_points")
    await client.get_workflow_handle(plain.workflow_id).terminate("done")
    out["terminated: pending task"] = _pending(await _describe(client, plain.workflow_id))

    failing = start_request(f"{prefix}-fail")
    failing.task_queue.name = failing.workflow_id
    await service.start_workflow_execution(failing)
    poll = ws.PollWorkflowTaskQueueRequest(
        namespace="default", task_queue=tq_pb.TaskQueue(name=failing.workflow_id), identity="raw"
    )
    task = await service.poll_workflow_task_queue(poll, timeout=timedelta(seconds=20))
    failed = ws.RespondWorkflowTaskFailedRequest(
        namespace="default",
        task_token=task.task_token,
        cause=cause_enums.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
        identity="raw",
    )
    await service.respond_workflow_task_failed(failed)
    await client.get_workflow_handle(failing.workflow_id).terminate("done")
    key = "terminated after a failed task: pending task"
    out[key] = _pending(await _describe(client, failing.workflow_id))

    timing_out = start_request(f"{prefix}-timeout", workflow_run_timeout=Duration(seconds=1))
    await service.start_workflow_execution(timing_out)
    out["timed out: pending task"] = _pending(await _closed(client, timing_out.workflow_id))

    base_id = f"{prefix}-reset"
    first = await first_workflow_task(client, "default", base_id)
    completed = ws.RespondWorkflowTaskCompletedRequest(
        namespace="default", task_token=first.task_token, identity="raw"
    )
    await service.respond_workflow_task_completed(completed)
    base_run = first.workflow_execution.run_id
    reset = await service.reset_workflow_execution(reset_request(base_id, base_run, 4, "again"))
    new = await _describe(client, base_id, reset.run_id)
    extended = new.workflow_extended_info
    started = new.workflow_execution_info.start_time
    out["reset run: last reset time is its start"] = (
        extended.HasField("last_reset_time") and extended.last_reset_time == started
    )
    out["reset run: state transitions"] = new.workflow_execution_info.state_transition_count
    base = await _describe(client, base_id, base_run)
    out["base run: names the reset run"] = base.workflow_extended_info.reset_run_id == reset.run_id
    await client.get_workflow_handle(base_id).terminate("done")
    await client.get_workflow_handle(zero.workflow_id).terminate("done")

    both = ws.SignalWithStartWorkflowExecutionRequest(
        namespace="default",
        workflow_id=f"{prefix}-sws",
        workflow_type=plain.workflow_type,
        task_queue=plain.task_queue,
        signal_name="poke",
        request_id=str(uuid.uuid4()),
    )
    await service.signal_with_start_workflow_execution(both)
    infos = (await _describe(client, both.workflow_id)).workflow_extended_info.request_id_infos
    out["signal-with-start: the request's event"] = (len(infos), infos[both.request_id].event_id)
    await client.get_workflow_handle(both.workflow_id).terminate("done")
    return out


@pytest.mark.asyncio
@bounded
async def test_describe_shows_the_fields_as_the_server_fills_them(address: str) -> None:
    assert await observed(address) == EXPECTED


@pytest.mark.slow
def test_the_dev_server_fills_them_alike(dev_address: str) -> None:
    assert asyncio.run(observed(dev_address)) == EXPECTED
