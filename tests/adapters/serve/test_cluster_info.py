"""GetClusterInfo (`temporal operator cluster describe`) reports what the dev server
does of itself: the client versions it supports, its version, its cluster's name and
its failover versions (initial 1, increment 10). Serve reported neither the clients nor
the failover versions. The id, the shard count and the stores are each server's own
and are not compared. The slow twin asks the dev server the same."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from tests.adapters.serve.sdk import bounded, connected

EXPECTED: dict[str, object] = {
    "supported clients": {
        "temporal-go": "<2.0.0",
        "temporal-java": "<2.0.0",
        "temporal-php": "<2.0.0",
        "temporal-typescript": "<2.0.0",
        "temporal-cli": "<2.0.0",
        "temporal-server": "<2.0.0",
        "temporal-ui": "<3.0.0",
        "Nexus-go-sdk": "<2.0.0",
    },
    "server version": "1.32.0",
    "cluster name": "active",
    "failover versions": (1, 10),
}


async def observed(address: str) -> dict[str, object]:
    client = await connected(address)
    info = await client.workflow_service.get_cluster_info(ws.GetClusterInfoRequest())
    return {
        "supported clients": dict(info.supported_clients),
        "server version": info.server_version,
        "cluster name": info.cluster_name,
        "failover versions": (info.initial_failover_version, info.failover_version_increment),
    }


@pytest.mark.asyncio
@bounded
async def test_the_cluster_reports_its_clients_and_failover_versions(address: str) -> None:
    assert await observed(address) == EXPECTED


@pytest.mark.slow
def test_the_dev_server_reports_the_same(dev_address: str) -> None:
    assert asyncio.run(observed(dev_address)) == EXPECTED
