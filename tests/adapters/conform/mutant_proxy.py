"""A broken Temporal endpoint for the live-mode tests: a gRPC proxy on 127.0.0.1 that
forwards every call to a real endpoint unchanged, except that it rewrites one field of
the histories GetWorkflowExecutionHistory returns (as an implementation with a bug in
one rule would write them). Workers are not affected: they receive their histories with
the tasks they poll."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryResponse

HISTORY = "/temporal.api.workflowservice.v1.WorkflowService/GetWorkflowExecutionHistory"
Mutation = Callable[[HistoryEvent], None]


def rewrite(reply: bytes, mutate: Mutation) -> bytes:
    message = GetWorkflowExecutionHistoryResponse.FromString(reply)
    for event in message.history.events:
        mutate(event)
    return message.SerializeToString()


class _Forward(grpc.GenericRpcHandler):
    def __init__(self, channel: grpc.aio.Channel, mutate: Mutation) -> None:
        self.channel = channel
        self.mutate = mutate

    def service(self, details: Any) -> Any:
        method: str = details.method
        call: Any = self.channel.unary_unary(method)

        async def forward(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
            metadata = [
                (key, value)
                for key, value in context.invocation_metadata() or ()
                if not key.startswith((":", "grpc-")) and key != "user-agent"
            ]
            try:
                reply: bytes = await call(
                    request, metadata=metadata, timeout=context.time_remaining()
                )
            except grpc.aio.AioRpcError as err:
                await context.abort(err.code(), err.details() or "")
            return rewrite(reply, self.mutate) if method == HISTORY else reply

        return grpc.unary_unary_rpc_method_handler(forward)


@contextlib.contextmanager
def mutant_proxy(upstream: str, mutate: Mutation) -> Iterator[str]:
    """Run the proxy in a thread of its own; yield its address."""
    loop = asyncio.new_event_loop()
    ready: list[str] = []
    started = threading.Event()
    stop = asyncio.Event()

    async def main() -> None:
        channel = grpc.aio.insecure_channel(upstream)
        server = grpc.aio.server()
        server.add_generic_rpc_handlers((_Forward(channel, mutate),))
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        ready.append(f"127.0.0.1:{port}")
        started.set()
        await stop.wait()
        await server.stop(grace=None)
        await channel.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait(timeout=30)
    try:
        yield ready[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        loop.close()
