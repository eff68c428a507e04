"""Listen first, load later: the gRPC listener of `tmodel serve`, bound before the model.

Importing the model (its event and command types, the protobuf modules) takes a second
or more on a busy machine, and SDK test environments that start a test server give up
if its port refuses connections for five seconds (sdk-core's `ephemeral_server/mod.rs`
tries to connect every 100 ms, 50 times). So the server binds its port with nothing but
`grpc` loaded, behind a `Gate`: GetSystemInfo is answered at once (system_info.py), any
other call that arrives before the model is loaded waits for it (then runs as usual);
once the gate is open, calls go straight to the handlers.

`tmodel-test-server` holds GetSystemInfo at the gate too, so it is answered only once
the model can answer everything: the connection the SDK's environment makes calls
GetSystemInfo with no deadline (sdk-core's client `lib.rs`) and simply waits for the
answer, as its limit counts failed attempts, not a call in progress. The environment
then starts only once the model is loaded, so the load does not land in the SDK's
first calls, which its tests time.

Every Temporal RPC served here is unary-unary, which is what lets a waiting call be
handled without knowing its message types: it is read as bytes and decoded by the real
handler's own deserializer once that handler exists.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from . import system_info

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")

# A request larger than 4 MiB is refused by gRPC itself (RESOURCE_EXHAUSTED), as the
# Temporal frontend refuses it: it sets no receive limit, so grpc-go's default of 4 MiB
# holds (`defaultServerMaxReceiveMessageSize`); its replies are not limited.
MAX_REQUEST_BYTES = 4 * 1024 * 1024
SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_REQUEST_BYTES),
    ("grpc.max_send_message_length", 128 * 1024 * 1024),
    ("grpc.so_reuseport", 0),  # a port in use is an error, not shared
    # Calls that arrive faster than the event loop takes them wait in gRPC's queue;
    # past its default of 1,000 (gRPC core's server.cc) it cancels a growing share of
    # new ones (random early detection, all past 3,000). Thousands of long polls may
    # arrive at once and are answered by the concurrency limit (limits.py), as grpc-go
    # in the Temporal frontend would take them; so the queue is made deep enough.
    ("grpc.server.max_pending_requests", 20_000),
    ("grpc.server.max_pending_requests_hard_limit", 40_000),
]
UNMARSHAL = "grpc: error unmarshalling request: "  # grpc-go's INTERNAL for bad bytes


def _system_info(request: bytes, context: object) -> bytes:
    return system_info.reply()


SYSTEM_INFO: Any = grpc.unary_unary_rpc_method_handler(_system_info)


class Collector:
    """Stands in for a grpc server when the generated `add_*_to_server` functions
    register a servicer: keeps the generic handlers they add."""

    def __init__(self) -> None:
        self.handlers: list[grpc.GenericRpcHandler] = []

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        self.handlers.extend(handlers)

    def add_registered_method_handlers(self, service: str, methods: dict[str, Any]) -> None:
        self.handlers.append(grpc.method_handlers_generic_handler(service, methods))


class Gate(grpc.GenericRpcHandler):
    """Routes each call to the handlers given to `open`, holding calls until then
    (GetSystemInfo too if `hold_system_info`)."""

    def __init__(self, hold_system_info: bool = False) -> None:
        self._hold_system_info = hold_system_info
        self._handlers: tuple[grpc.GenericRpcHandler, ...] | None = None
        self._ready = asyncio.Event()
        self._decoding: dict[str, Any] = {}  # method name -> its handler, decoding itself

    def open(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        self._handlers = tuple(handlers)
        self._ready.set()

    def _lookup(self, details: grpc.HandlerCallDetails) -> Any:
        known = self._decoding.get(details.method)
        if known is not None:
            return known
        for handler in self._handlers or ():
            method = handler.service(details)
            if method is not None:
                self._decoding[details.method] = decoding(method)
                return self._decoding[details.method]
        return None

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Any:
        if self._handlers is not None:
            return self._lookup(handler_call_details)
        if handler_call_details.method == system_info.METHOD and not self._hold_system_info:
            return SYSTEM_INFO
        return grpc.unary_unary_rpc_method_handler(self._held(handler_call_details))

    def _held(self, details: grpc.HandlerCallDetails) -> Any:
        async def call(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
            await self._ready.wait()
            method: Any = self._lookup(details)
            if method is None or method.unary_unary is None:
                unknown = f"unknown method {details.method}"
                await context.abort(grpc.StatusCode.UNIMPLEMENTED, unknown)
                raise AssertionError("unreachable")
            decode = method.request_deserializer
            reply = method.unary_unary(decode(request) if decode else request, context)
            if inspect.isawaitable(reply):
                reply = await reply
            serialize = method.response_serializer
            encoded: bytes = serialize(reply) if serialize is not None else reply
            return encoded

        return call


def decoding(method: Any) -> Any:
    """`method` with its request decoded by the handler itself, so bytes that are not
    the request message are answered INTERNAL "grpc: error unmarshalling request: ..."
    as grpc-go answers them (grpc's Python server would answer UNKNOWN)."""
    decode = method.request_deserializer
    if decode is None or method.unary_unary is None:
        return method

    async def call(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            decoded = decode(request)
        except DecodeError as exc:
            await context.abort(grpc.StatusCode.INTERNAL, f"{UNMARSHAL}{exc}")
            raise AssertionError("unreachable") from None
        reply = method.unary_unary(decoded, context)
        return await reply if inspect.isawaitable(reply) else reply

    return grpc.unary_unary_rpc_method_handler(
        call, request_deserializer=None, response_serializer=method.response_serializer
    )


class Listener:
    """The grpc.aio server of one `tmodel serve`, with its gate."""

    def __init__(self, address: str, hold_system_info: bool = False) -> None:
        self.address = address
        self.gate = Gate(hold_system_info)
        self.grpc = grpc.aio.server(options=SERVER_OPTIONS)
        self.grpc.add_generic_rpc_handlers((self.gate,))
        self.port = 0

    async def start(self) -> int:
        """Bind and serve (calls wait at the gate); the port actually bound (the address
        may ask for port 0). A port in use raises OSError, a non-loopback host ValueError."""
        host, _, port = self.address.rpartition(":")
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"tmodel serve listens on loopback only, not {host!r}")
        self.port = self.grpc.add_insecure_port(f"{host}:{port}")
        if self.port == 0:
            raise OSError(f"cannot listen on {self.address}")
        await self.grpc.start()
        return self.port

    async def stop(self, grace: float = 0.5) -> None:
        await self.grpc.stop(grace)
