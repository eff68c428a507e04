"""The gate: `tmodel serve` binds its port before the model loads (gate.py). Before the
gate opens, GetSystemInfo is answered from system_info.py and every other call waits;
once it opens, the waiting calls run on the real handlers."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from adapters.serve import rpc_system, system_info
from adapters.serve.gate import Listener
from adapters.serve.server import Server

SERVICE = "/temporal.api.workflowservice.v1.WorkflowService/"


def _stub(channel: grpc.aio.Channel, rpc: str, reply: Any) -> Any:
    return channel.unary_unary(
        SERVICE + rpc,
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=reply.FromString,
    )


def test_the_hand_encoded_capabilities_use_the_protos_field_numbers() -> None:
    capabilities = ws.GetSystemInfoResponse.Capabilities.DESCRIPTOR
    numbers = {f.name: f.number for f in capabilities.fields}
    for name, number in system_info.CAPABILITIES.items():
        assert numbers[name] == number, name
    decoded = ws.GetSystemInfoResponse.FromString(system_info.reply())
    assert decoded.server_version == system_info.SERVER_VERSION == rpc_system.SERVER_VERSION
    claimed = {f.name for f, value in decoded.capabilities.ListFields() if value is True}
    assert claimed == set(system_info.CAPABILITIES)


def test_schedules_are_claimed_and_nexus_over_http_is_not() -> None:
    """Schedules are served, and the dev server claims them; its `nexus` flag says its
    HTTP API is on, which this server has none of (adapters/serve/system_info.py)."""
    decoded = ws.GetSystemInfoResponse.FromString(system_info.reply())
    assert decoded.capabilities.supports_schedules is True
    assert decoded.capabilities.nexus is False


def test_a_call_before_the_model_loads_waits_and_system_info_does_not() -> None:
    async def scenario() -> tuple[ws.GetSystemInfoResponse, bool, str, grpc.StatusCode]:
        listener = Listener("127.0.0.1:0")
        port = await listener.start()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            info = await _stub(channel, "GetSystemInfo", ws.GetSystemInfoResponse)(
                ws.GetSystemInfoRequest(), timeout=10
            )
            describe = asyncio.ensure_future(
                _stub(channel, "DescribeNamespace", ws.DescribeNamespaceResponse)(
                    ws.DescribeNamespaceRequest(namespace="default"), timeout=30
                )
            )
            unknown = asyncio.ensure_future(
                _stub(channel, "NoSuchRpc", ws.GetSystemInfoResponse)(
                    ws.GetSystemInfoRequest(), timeout=30
                )
            )
            await asyncio.sleep(0.5)
            held = not describe.done()  # nothing can answer it yet
            server = Server(listener.address, ("default",), listener=listener)
            await server.start()
            namespace = (await describe).namespace_info.name
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await unknown
            await server.stop()
        return info, held, namespace, caught.value.code()

    info, held, namespace, unknown_code = asyncio.run(scenario())
    assert info.server_version == system_info.SERVER_VERSION
    assert held
    assert namespace == "default"
    assert unknown_code == grpc.StatusCode.UNIMPLEMENTED


def test_a_call_fails_by_its_deadline_if_the_gate_never_opens() -> None:
    async def scenario() -> grpc.StatusCode:
        listener = Listener("127.0.0.1:0")
        port = await listener.start()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await _stub(channel, "DescribeNamespace", ws.DescribeNamespaceResponse)(
                    ws.DescribeNamespaceRequest(namespace="default"), timeout=0.5
                )
        await listener.stop(0)
        return caught.value.code()

    assert asyncio.run(scenario()) == grpc.StatusCode.DEADLINE_EXCEEDED


def test_a_non_loopback_address_is_refused() -> None:
    async def scenario() -> None:
        await Listener("0.0.0.0:0").start()

    with pytest.raises(ValueError, match="loopback"):
        asyncio.run(scenario())
