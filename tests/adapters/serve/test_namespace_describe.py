"""DescribeNamespace and ListNamespaces as the dev server answers them: each namespace
reports its limits (the blob and memo size limits, the paginated completion buffer)
and that it supports schedules; one RegisterNamespace made has the NORMAL replication
state, one the server made itself none; and the server's own `temporal-system`
namespace is there, with its fixed id, description, owner and seven days' retention.
Serve reported no limits, no schedule support and no replication state, and had no
`temporal-system`. The slow twin asks the dev server the same."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.service import RPCError, WorkflowService

from tests.adapters.serve.sdk import bounded, connected

SYSTEM_ID = "32049b68-7872-4094-8e63-d0dd59896a83"
MIB = 1024 * 1024

EXPECTED: dict[str, object] = {
    "default: limits": (2 * MIB, 2 * MIB, 40 * MIB),
    "default: supports schedules": True,
    "default: replication state": 0,  # UNSPECIFIED
    "registered: replication state": 1,  # NORMAL
    "listed": True,
    "temporal-system": (
        "temporal-system",
        SYSTEM_ID,
        "Temporal internal system namespace",
        "temporal-core@temporal.io",
        7 * 24 * 3600,
        0,
    ),
    "temporal-system by id": "temporal-system",
}


async def _system(service: WorkflowService) -> tuple[object, ...]:
    system = await service.describe_namespace(
        ws.DescribeNamespaceRequest(namespace="temporal-system")
    )
    info = system.namespace_info
    return (
        info.name,
        info.id,
        info.description,
        info.owner_email,
        system.config.workflow_execution_retention_ttl.seconds,
        system.replication_config.state,
    )


async def observed(address: str) -> dict[str, object]:
    client = await connected(address)
    service = client.workflow_service
    out: dict[str, object] = {}
    default = await service.describe_namespace(ws.DescribeNamespaceRequest(namespace="default"))
    limits = default.namespace_info.limits
    out["default: limits"] = (
        limits.blob_size_limit_error,
        limits.memo_size_limit_error,
        limits.workflow_task_completion_size_limit_error,
    )
    out["default: supports schedules"] = default.namespace_info.supports_schedules
    out["default: replication state"] = default.replication_config.state

    name = f"nsdesc-{uuid.uuid4().hex[:8]}"
    register = ws.RegisterNamespaceRequest(namespace=name)
    register.workflow_execution_retention_period.FromSeconds(86400)
    await service.register_namespace(register)
    request = ws.DescribeNamespaceRequest(namespace=name)
    for _ in range(100):  # the dev server's namespace cache catches up
        try:
            registered = await service.describe_namespace(request)
            break
        except RPCError:
            await asyncio.sleep(0.1)
    out["registered: replication state"] = registered.replication_config.state

    listed = await service.list_namespaces(ws.ListNamespacesRequest(page_size=1000))
    out["listed"] = "temporal-system" in {n.namespace_info.name for n in listed.namespaces}
    try:
        out["temporal-system"] = await _system(service)
        by_id = await service.describe_namespace(ws.DescribeNamespaceRequest(id=SYSTEM_ID))
        out["temporal-system by id"] = by_id.namespace_info.name
    except RPCError as error:
        out["temporal-system"] = error.message
    return out


@pytest.mark.asyncio
@bounded
async def test_namespaces_are_described_as_the_server_describes_them(address: str) -> None:
    assert await observed(address) == EXPECTED


@pytest.mark.slow
def test_the_dev_server_describes_them_alike(dev_address: str) -> None:
    assert asyncio.run(observed(dev_address)) == EXPECTED
