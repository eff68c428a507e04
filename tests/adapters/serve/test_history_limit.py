"""A history over the count limit, through `tmodel serve` (slow: some 51,200 signals,
so `pytest -m slow`): the request that would take a run past limit.historyCount.error
is refused with INVALID_ARGUMENT "Workflow history count exceeds limit." and the run is
terminated with that reason instead (the history service's rule LIMIT-HISTORY-COUNT,
core/statemachine/history/service/enforce.py); the server goes on serving."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.api.enums.v1 import event_type_pb2 as event_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from core.statemachine.history.limits import DEFAULT_LIMITS, HISTORY_COUNT_REASON
from tests.adapters.serve.sdk import execution, start_request
from tests.adapters.serve.serving import serve

BATCH = 200


@pytest.mark.slow
@pytest.mark.asyncio
async def test_the_signal_past_the_count_limit_terminates_the_run() -> None:
    with serve() as address:
        client = await Client.connect(address)
        service = client.workflow_service
        await service.start_workflow_execution(start_request("long"))  # no worker: only signals

        async def signal() -> RPCError | None:
            request = ws.SignalWorkflowExecutionRequest(
                namespace="default",
                workflow_execution=execution("long"),
                signal_name="s",
                request_id=str(uuid.uuid4()),
            )
            try:
                await service.signal_workflow_execution(request)
            except RPCError as error:
                return error
            return None

        refused: list[RPCError] = []
        for _ in range(DEFAULT_LIMITS.history_count_error // BATCH + 2):
            answers = await asyncio.gather(*(signal() for _ in range(BATCH)))
            refused = [a for a in answers if a is not None]
            if refused:
                break
        assert refused, "no signal was refused"
        assert (refused[0].status, refused[0].message) == (
            RPCStatusCode.INVALID_ARGUMENT,
            HISTORY_COUNT_REASON,
        )
        described = await service.describe_workflow_execution(
            ws.DescribeWorkflowExecutionRequest(namespace="default", execution=execution("long"))
        )
        info = described.workflow_execution_info
        assert info.status == wf_enums.WORKFLOW_EXECUTION_STATUS_TERMINATED
        assert info.history_length <= DEFAULT_LIMITS.history_count_error + 1
        handle = client.get_workflow_handle("long")
        last = [e async for e in handle.fetch_history_events()][-1]
        assert last.event_type == event_enums.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
        assert last.workflow_execution_terminated_event_attributes.reason == HISTORY_COUNT_REASON
        # the server still serves
        await service.start_workflow_execution(start_request("after-the-limit"))
