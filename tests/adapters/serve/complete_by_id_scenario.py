"""`temporal activity complete` (RespondActivityTaskCompletedById) of an activity no
worker has started: the server starts its attempt for the completer and completes it
(service/history/api/respondactivitytaskcompleted/api.go, fabricateStartedEvent), while
a failure or a heartbeat by id of it is NotFound (IsActivityTaskNotFoundForToken,
service/history/api/activity_util.go). Run against `tmodel serve` and the dev server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from datetime import timedelta

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from tests.adapters.serve.sdk import connected


@workflow.defn(name="AwaitsUnpolled", sandboxed=False)
class AwaitsUnpolled:
    """Runs activity "elsewhere" on a queue no worker polls and returns its result."""

    @workflow.run
    async def run(self, queue: str) -> str:
        result: str = await workflow.execute_activity(
            "Elsewhere", activity_id="elsewhere", task_queue=queue,
            start_to_close_timeout=timedelta(seconds=60),
        )  # fmt: skip
        return result


async def _refusal(call: Awaitable[None]) -> str:
    try:
        await call
    except RPCError as exc:
        return f"{exc.status.name}: {exc.message}"
    return "accepted"


async def drive(address: str) -> tuple[str, str, str, tuple[str, ...], tuple[object, ...]]:
    """The heartbeat's and the failure's refusals, the workflow's result, its history's
    event types from the activity's schedule on, and the Started event's identity (is it
    the completer's?), request id and attempt."""
    client: Client = await connected(address)
    queue = f"cbi-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[AwaitsUnpolled]):
        handle = await client.start_workflow(
            AwaitsUnpolled.run, f"{queue}-nobody", id=queue, task_queue=queue
        )
        for _ in range(100):  # until the activity is scheduled
            if (await handle.describe()).raw_description.pending_activities:
                break
            await asyncio.sleep(0.1)
        by_id = client.get_async_activity_handle(
            workflow_id=handle.id, run_id=handle.result_run_id, activity_id="elsewhere"
        )
        beat = await _refusal(by_id.heartbeat("tick"))
        failed = await _refusal(by_id.fail(RuntimeError("no")))
        await by_id.complete("by id")
        result = await handle.result()
    events = [e async for e in handle.fetch_history_events()]
    first = next(
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )
    started = next(e for e in events if e.HasField("activity_task_started_event_attributes"))
    attrs = started.activity_task_started_event_attributes
    types = tuple(EventType.Name(e.event_type) for e in events[first:])
    return (
        beat,
        failed,
        result,
        types,
        (attrs.identity == client.identity, attrs.request_id, attrs.attempt),
    )
