"""DescribeNamespace declares what `tmodel serve` serves, and nothing the dev server does
not declare: the update calls, eager start, worker heartbeats (test_worker_heartbeats.py),
and standalone activities with their start delay and operator commands
(test_standalone_activities.py and test_activity_exec.py exercise them)."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from tests.adapters.serve.sdk import bounded, connected

SERVED = {
    "eager_workflow_start",
    "sync_update",
    "async_update",
    "worker_heartbeats",
    "standalone_activities",
    "standalone_activity_start_delay",
    "standalone_activity_operator_commands",
}


async def declared(address: str) -> set[str]:
    client = await connected(address)
    described = await client.workflow_service.describe_namespace(
        ws.DescribeNamespaceRequest(namespace="default")
    )
    capabilities = described.namespace_info.capabilities
    return {field.name for field, value in capabilities.ListFields() if value}


@pytest.mark.asyncio
@bounded
async def test_the_namespace_declares_what_is_served(address: str) -> None:
    assert await declared(address) == SERVED


@pytest.mark.slow
def test_the_dev_server_declares_all_of_it_too(dev_address: str) -> None:
    assert asyncio.run(declared(dev_address)) >= SERVED
