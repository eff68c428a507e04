"""A workflow retry policy with fields left unset gets their defaults where the server
gives them (retrypolicy.EnsureDefaults): a client's start (the frontend's
ValidateRetryPolicy), a child's StartChildWorkflowExecutionInitiated and its run's
start, and a continued run's start (validateWorkflowRetryPolicy in the history
service's command validator). temporalio leaves the maximum interval unset; the
TypeScript SDK the coefficient too. A start without a policy keeps none. The slow twin
finds the same on the dev server."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from google.protobuf import duration_pb2, json_format
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

from tests.adapters.serve.sdk import bounded, connected, start_request

FILLED = {
    "initialInterval": "0.200s",
    "backoffCoefficient": 2.0,
    "maximumInterval": "20s",
    "maximumAttempts": 3,
}
PARTIAL = RetryPolicy(initial_interval=timedelta(seconds=0.2), maximum_attempts=3)


@workflow.defn(sandboxed=False)
class RetryKid:
    @workflow.run
    async def run(self) -> str:
        return "kid"


@workflow.defn(sandboxed=False)
class RetryParent:
    @workflow.run
    async def run(self, continued: bool) -> str:
        if continued:
            return "continued"
        await workflow.execute_child_workflow(
            RetryKid.run, id=f"{workflow.info().workflow_id}-kid", retry_policy=PARTIAL
        )
        workflow.continue_as_new(True, retry_policy=PARTIAL)


def _policy(event: Any, field: str) -> dict[str, Any] | None:
    attributes = getattr(event, field)
    if not attributes.HasField("retry_policy"):
        return None
    found: dict[str, Any] = json_format.MessageToDict(attributes.retry_policy)
    return found


async def policies(address: str) -> dict[str, Any]:
    """The retry policy each place recorded, by where."""
    client: Client = await connected(address)
    wid = f"retry-{uuid.uuid4().hex[:8]}"
    bare, partial = start_request(f"{wid}-bare"), start_request(f"{wid}-raw")
    partial.retry_policy.initial_interval.CopyFrom(duration_pb2.Duration(nanos=200_000_000))
    partial.retry_policy.maximum_attempts = 3
    out: dict[str, Any] = {}
    for name, request in (("bare", bare), ("raw start", partial)):
        await client.workflow_service.start_workflow_execution(request)
        history = await client.get_workflow_handle(request.workflow_id).fetch_history()
        started = "workflow_execution_started_event_attributes"
        out[name] = _policy(history.events[0], started)
        await client.get_workflow_handle(request.workflow_id).terminate()
    async with Worker(client, task_queue=wid, workflows=[RetryParent, RetryKid]):
        handle = await client.start_workflow(RetryParent.run, False, id=wid, task_queue=wid)
        assert await handle.result() == "continued"
    first = client.get_workflow_handle(wid, run_id=handle.first_execution_run_id)
    for event in (await first.fetch_history()).events:
        if event.HasField("start_child_workflow_execution_initiated_event_attributes"):
            field = "start_child_workflow_execution_initiated_event_attributes"
            out["child initiated"] = _policy(event, field)
    kid = await client.get_workflow_handle(f"{wid}-kid").fetch_history()
    out["child start"] = _policy(kid.events[0], "workflow_execution_started_event_attributes")
    last = await client.get_workflow_handle(wid).fetch_history()
    out["continued start"] = _policy(last.events[0], "workflow_execution_started_event_attributes")
    plain: dict[str, Any] = json.loads(json.dumps(out))  # a 2 and a 2.0 compare alike
    return plain


EXPECTED = {
    "bare": None,
    "raw start": FILLED,
    "child initiated": FILLED,
    "child start": FILLED,
    "continued start": FILLED,
}


@pytest.mark.asyncio
@bounded
async def test_unset_fields_get_their_defaults(address: str) -> None:
    assert await policies(address) == EXPECTED


@pytest.mark.slow
def test_the_dev_server_fills_them_alike(dev_address: str) -> None:
    assert asyncio.run(policies(dev_address)) == EXPECTED
