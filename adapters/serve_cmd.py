"""`tmodel serve`: run the model as a Temporal gRPC server on 127.0.0.1.

`tmodel serve [--address 127.0.0.1:7233] [--namespace NAME ...] [--time-skipping]
[--seed N]` serves until interrupted (SIGINT or SIGTERM end it cleanly, exit 0). A bad
address, a port in use or a non-loopback host is bad input: one line, exit 2.

`tmodel-test-server PORT [ARGS...]` is the same server in the shape of the Java SDK's
test server, for SDK test environments that start one themselves (temporalio's
`WorkflowEnvironment.start_time_skipping(test_server_existing_path=...)` runs
`<path> <port>`): time skipping on and locked until the client unlocks it, as that
server starts.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from adapters.argtypes import whole_number

EXIT_BAD_INPUT = 2


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="run the model as a Temporal server that SDKs and the temporal CLI talk to",
        description="Serve Temporal's WorkflowService (and the search-attribute RPCs of "
        "OperatorService and the TestService clock) over the model's own history, "
        "matching and shard machines, on 127.0.0.1. RPCs not implemented answer "
        "UNIMPLEMENTED naming the RPC. Runs until interrupted.",
    )
    parser.add_argument(
        "--address",
        default="127.0.0.1:7233",
        metavar="HOST:PORT",
        help="where to listen (loopback only; port 0 picks a free one; default %(default)s)",
    )
    parser.add_argument(
        "--namespace",
        action="append",
        metavar="NAME",
        help="a namespace to create at start (repeatable; default: default)",
    )
    parser.add_argument(
        "--time-skipping",
        action="store_true",
        help="jump the clock to the next timer whenever no task is in flight",
    )
    parser.add_argument(
        "--search-attribute",
        action="append",
        type=_search_attribute,
        metavar="NAME=TYPE",
        help="a custom search attribute to define in every namespace, as "
        "`temporal server start-dev` takes it (TYPE: Keyword, Text, Int, Double, Bool, "
        "Datetime, KeywordList; repeatable)",
    )
    parser.add_argument(
        "--seed", type=whole_number, default=0, metavar="N", help="seed of ids (default 0)"
    )
    parser.set_defaults(run=run)


SEARCH_ATTRIBUTE_TYPES = {
    "keyword": "KEYWORD",
    "text": "TEXT",
    "int": "INT",
    "double": "DOUBLE",
    "bool": "BOOL",
    "datetime": "DATETIME",
    "keywordlist": "KEYWORD_LIST",
}


def _search_attribute(text: str) -> tuple[str, str]:
    name, sep, kind = text.partition("=")
    value_type = SEARCH_ATTRIBUTE_TYPES.get(kind.strip().lower().replace("_", ""))
    if not sep or not name.strip() or value_type is None:
        choices = ", ".join(k.capitalize() for k in SEARCH_ATTRIBUTE_TYPES)
        raise argparse.ArgumentTypeError(f"expected NAME=TYPE with TYPE one of {choices}")
    return name.strip(), value_type


def _check_address(address: str) -> str | None:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        return f"--address {address!r}: expected HOST:PORT"
    if host not in ("127.0.0.1", "localhost", "[::1]"):
        return f"--address {address!r}: tmodel serve listens on loopback (127.0.0.1) only"
    return None


async def serve(
    address: str,
    namespaces: tuple[str, ...],
    time_skipping: bool,
    locked: bool,
    seed: int,
    announce: bool = True,
    search_attributes: Sequence[tuple[str, str]] = (),
) -> int:
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")  # gRPC's C core logs to stderr
    from adapters.serve.gate import Listener

    # bind first, with only grpc loaded; calls wait at the gate while the model loads
    listener = Listener(address)
    try:
        port = await listener.start()
    except (OSError, RuntimeError, ValueError):
        print(
            f"tmodel serve: cannot listen on {address}: the port is in use or not available",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    loaded = await asyncio.to_thread(importlib.import_module, "adapters.serve.server")
    server = loaded.Server(address, namespaces, time_skipping, locked, seed, listener)
    for record in server.frontend.namespaces.values():
        record.search_attributes.update(search_attributes)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if announce:
        host = address.rpartition(":")[0]
        skipping = "on" if time_skipping else "off"
        print(
            f"tmodel serve: listening on {host}:{port} "
            f"(namespaces: {', '.join(namespaces)}; time skipping {skipping})",
            flush=True,
        )
    await stop.wait()
    await server.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    problem = _check_address(args.address)
    if problem is not None:
        print(f"tmodel serve: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    namespaces = tuple(dict.fromkeys(args.namespace or ["default"]))
    if any(not name.strip() for name in namespaces):
        print("tmodel serve: --namespace: a namespace needs a name", file=sys.stderr)
        return EXIT_BAD_INPUT
    attributes = tuple(args.search_attribute or ())
    return asyncio.run(
        serve(args.address, namespaces, args.time_skipping, False, args.seed, True, attributes)
    )


def test_server_main(argv: Sequence[str] | None = None) -> int:
    """`tmodel-test-server PORT [ARGS...]`: the time-skipping drop-in (extra args, which
    the Java test server would read, are ignored)."""
    words = list(sys.argv[1:] if argv is None else argv)
    if not words or not words[0].isdigit():
        print("usage: tmodel-test-server PORT", file=sys.stderr)
        return EXIT_BAD_INPUT
    address = f"127.0.0.1:{int(words[0])}"
    return asyncio.run(serve(address, ("default",), True, True, 0, announce=False))
