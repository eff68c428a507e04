"""Listen first, load later: the gRPC listener of `tmodel serve`, bound before the model.

Importing the model (its event and command types, the protobuf modules) takes a second
or more on a busy machine, and SDK test environments that start a test server give it
five seconds to answer GetSystemInfo. So the server binds its port with nothing but
`grpc` loaded, behind a `Gate`: GetSystemInfo is answered at once (system_info.py), any
other call that arrives before the model is loaded waits for it (then runs as usual);
once the gate is open, calls go straight to the handlers.

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

from . import system_info

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")

SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", 128 * 1024 * 1024),
    ("grpc.max_send_message_length", 128 * 1024 * 1024),
    ("grpc.so_reuseport", 0),  # a port in use is an error, not shared
]


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
    """Routes each call to the handlers given to `open`, holding calls until then."""

    def __init__(self) -> None:
        self._handlers: tuple[grpc.GenericRpcHandler, ...] | None = None
        self._ready = asyncio.Event()

    def open(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        self._handlers = tuple(handlers)
        self._ready.set()

    def _lookup(self, details: grpc.HandlerCallDetails) -> Any:
        for handler in self._handlers or ():
            method = handler.service(details)
            if method is not None:
                return method
        return None

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Any:
        if self._handlers is not None:
            return self._lookup(handler_call_details)
        if handler_call_details.method == system_info.METHOD:
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


class Listener:
    """The grpc.aio server of one `tmodel serve`, with its gate."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.gate = Gate()
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
