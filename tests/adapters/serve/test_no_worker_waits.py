"""What a caller waiting on a run no worker serves gets, as the dev server gives it:

- a long poll for the close event that ends before the run closes answers an empty
  History with a token to poll again, not a reply without a History (the `temporal`
  CLI's `workflow result` read its events without checking and crashed after 20 s);
- a query no worker takes ends when the frontend's call to history times out (30 s,
  client/history/client.go DefaultTimeout), DEADLINE_EXCEEDED "query timed out before a
  worker could process it", when the caller's deadline is later or not set (serve
  waited for the caller's deadline, for ever without one, so `temporal workflow query`
  and `stack` hung).

The slow twins ask the dev server the same."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.service import RPCError

from tests.adapters.serve.sdk import bounded, connected, execution, start_request


async def close_poll(address: str) -> tuple[bool, int, bool]:
    """A 4 s long poll for the close event of a run no worker serves: whether the reply
    has a History, its events, and whether it gives a token."""
    client = await connected(address)
    wid = f"close-poll-{uuid.uuid4().hex[:8]}"
    await client.workflow_service.start_workflow_execution(start_request(wid))
    request = ws.GetWorkflowExecutionHistoryRequest(
        namespace="default",
        execution=execution(wid),
        wait_new_event=True,
        history_event_filter_type=wf_enums.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
    )
    reply = await client.workflow_service.get_workflow_execution_history(
        request, timeout=timedelta(seconds=4)
    )
    await client.get_workflow_handle(wid).terminate()
    return reply.HasField("history"), len(reply.history.events), bool(reply.next_page_token)


async def unanswered_query(address: str) -> tuple[str, str, float]:
    """A query with a 60 s deadline to a run whose queue no worker polls (the SDK's
    client gives a call without one its own 30 s)."""
    client = await connected(address)
    wid = f"no-worker-query-{uuid.uuid4().hex[:8]}"
    request = start_request(wid)
    request.task_queue.name = wid  # a queue of its own: nobody ever polls it
    await client.workflow_service.start_workflow_execution(request)
    query = ws.QueryWorkflowRequest(namespace="default", execution=execution(wid))
    query.query.query_type = "state"
    began = time.monotonic()
    try:
        await client.workflow_service.query_workflow(query, timeout=timedelta(seconds=60))
        outcome = ("answered", "")
    except RPCError as error:
        outcome = (error.status.name, error.message)
    waited = time.monotonic() - began
    await client.get_workflow_handle(wid).terminate()
    return outcome[0], outcome[1], waited


QUERY_TIMED_OUT = ("DEADLINE_EXCEEDED", "query timed out before a worker could process it")


@pytest.mark.asyncio
@bounded
async def test_an_empty_close_poll_has_a_history(address: str) -> None:
    assert await close_poll(address) == (True, 0, True)


@pytest.mark.slow
@pytest.mark.asyncio
@bounded
async def test_an_unanswered_query_ends_after_30_s(address: str) -> None:
    status, message, waited = await unanswered_query(address)
    assert (status, message) == QUERY_TIMED_OUT
    assert 29 < waited < 45


@pytest.mark.slow
def test_the_dev_server_answers_both_alike(dev_address: str) -> None:
    assert asyncio.run(close_poll(dev_address)) == (True, 0, True)
    status, message, waited = asyncio.run(unanswered_query(dev_address))
    assert (status, message) == QUERY_TIMED_OUT
    assert 29 < waited < 45
