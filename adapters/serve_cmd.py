"""`tmodel serve`: run the model as a Temporal gRPC server on 127.0.0.1.

`tmodel serve [--address 127.0.0.1:7233] [--namespace NAME ...] [--time-skipping]
[--timer-shift SECONDS] [--limit KEY=VALUE ...] [--dynamic-config-value KEY=VALUE ...]
[--seed N] [--faults LIST|swarm]
[--json-report FILE] [--store PATH] [--auth FILE] [--archive DIR]`
serves until interrupted (SIGINT or SIGTERM end it cleanly: exit 0, or 1 if the
invariant report found a violation). A bad address, a port in use, a non-loopback host, a bad auth
file, a store that cannot be used (another program's database, a damaged store), a
--json-report path that cannot be written, a negative seed, a limit past the server's
int64, a --dynamic-config-value that is not KEY=JSON or that serve cannot take, a
system or twice-typed search attribute or a namespace longer than the
frontend's limit.maxIDLength is bad input: one line, exit 2, checked before serving.

`tmodel-test-server PORT [ARGS...]` is the same server in the shape of the Java SDK's
test server, for SDK test environments that start one themselves (temporalio's
`WorkflowEnvironment.start_time_skipping(test_server_existing_path=...)` runs
`<path> <port>`): time skipping on and locked until the client unlocks it, as that
server starts, and GetSystemInfo answered only once the model is loaded (gate.py), so
the environment is ready when the SDK says it started.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.argtypes import nonempty_path, whole_number
from adapters.limit_args import limit_setting
from adapters.serve_dynamic_config import APPLIED_LIMITS, notes, parse_pair, settle
from core.errors import BadInput
from sim.config import FAULT_KINDS

EXIT_FOUND = 1
DAY_SECONDS = 86_400
DEV_SERVER_SHIFT = 1_000_000_000  # ns: history.timerProcessorMaxTimeShift (timer_shift.py)
EXIT_BAD_INPUT = 2
MAX_PORT = 65_535
MAX_INT64 = 2**63 - 1  # dynamic config values are Go ints
MAX_NAMESPACE_LENGTH = 1000  # limit.maxIDLength: RegisterNamespace refuses longer names
LIVE_KINDS = tuple(kind for kind in FAULT_KINDS if kind != "worker-crash")  # chaos.py's
# The mutants that break the server itself (skip-replay breaks a simulated worker).
SERVER_MUTANTS = ("ack-before-started", "no-range-check", "double-completion", "no-buffering")


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
        "--timer-shift",
        type=_seconds,
        default=DEV_SERVER_SHIFT,
        metavar="SECONDS",
        help="fire a timer (a user timer, a timeout, a retry or start backoff) no sooner "
        "than SECONDS after its shard's queues last read, as the dev server does with "
        "its history.timerProcessorMaxTimeShift: a 0.1 s timer started by a workflow "
        "task fires about 1 s after that task was scheduled (default 1; 0: every timer "
        "fires at its own time; time skipping always fires them at their time)",
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
        "--limit",
        action="append",
        type=_limit,
        default=[],
        metavar="KEY=VALUE",
        help="a history limit other than its default, by the dynamic-config key "
        "`temporal server start-dev --dynamic-config-value` takes; the keys served: "
        + ", ".join(SERVED_LIMITS)
        + " (repeatable)",
    )
    parser.add_argument(
        "--dynamic-config-value",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a dynamic-config setting as `temporal server start-dev` takes it (VALUE is "
        "JSON): the limits above and system.enableActivityEagerExecution are applied, "
        "settings serve always behaves as are accepted, others are noted on stderr and "
        "ignored (see docs/serve.md; repeatable)",
    )
    parser.add_argument(
        "--seed", type=_seed, default=0, metavar="N", help="seed of ids (default 0)"
    )
    parser.add_argument(
        "--store",
        type=nonempty_path,
        metavar="PATH",
        help="keep executions, history, tasks and shard rows in this SQLite file (created "
        "if missing; default: memory only), so a server killed and started again on it "
        "loses nothing it acknowledged",
    )
    parser.add_argument(
        "--archive",
        type=nonempty_path,
        metavar="DIR",
        help="archive each closed run's history into DIR (created if missing) in the "
        "layout of Temporal's file-system archiver, before retention deletes it; "
        "GetWorkflowExecutionHistory reads a deleted run from there",
    )
    parser.add_argument(
        "--faults",
        type=_faults,
        metavar="LIST|swarm",
        help="inject the simulator's faults live, drawn from --seed: a comma-separated "
        f"list of kinds ({', '.join(LIVE_KINDS)}), or swarm (each 20 s window picks its "
        "own mix); the invariant report is printed when the server stops",
    )
    parser.add_argument(
        "--json-report",
        type=nonempty_path,
        metavar="FILE",
        help="when the server stops (SIGINT, SIGTERM), write the invariant report here as "
        "JSON (it is printed too); exit 1 if an invariant was violated",
    )
    parser.add_argument("--mutant", choices=SERVER_MUTANTS, help=argparse.SUPPRESS)
    parser.add_argument(
        "--auth",
        type=nonempty_path,
        metavar="FILE",
        help="authorize every call: FILE maps bearer tokens (an SDK's api_key) to roles, "
        '{"tokens": {TOKEN: {"namespaces": {NAME: ROLES}, "system": ROLES}}} with ROLES '
        "among reader, writer, worker, admin (see docs/serve.md)",
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


SERVED_LIMITS = APPLIED_LIMITS  # the limits serve takes (adapters/serve_dynamic_config.py)


def _limit(text: str) -> tuple[str, int]:
    key, number = limit_setting(text)
    if key not in SERVED_LIMITS:
        raise argparse.ArgumentTypeError(
            f"{key} is not one serve takes (it takes: {', '.join(SERVED_LIMITS)})"
        )
    if number > MAX_INT64:
        raise argparse.ArgumentTypeError(f"{key} must be at most {MAX_INT64}")
    return key, number


def _seed(text: str) -> int:
    """As `tmodel simulate` takes a seed: a whole number, not negative."""
    value = whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed is not negative: {text!r}")
    return value


def _faults(text: str) -> tuple[str, ...] | str:
    if text == "swarm":
        return "swarm"
    kinds = tuple(dict.fromkeys(kind.strip() for kind in text.split(",")))
    for kind in kinds:
        if kind == "worker-crash":
            raise argparse.ArgumentTypeError(
                "worker-crash: the workers are the callers' processes, not the server's"
            )
        if kind not in LIVE_KINDS:
            raise argparse.ArgumentTypeError(
                f"unknown fault kind {kind!r} (known: {', '.join(LIVE_KINDS)}, or swarm)"
            )
    return kinds


def _seconds(text: str) -> int:
    """A duration in seconds (at least 0, at most a day) as nanoseconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value <= DAY_SECONDS:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be from 0 to {DAY_SECONDS} seconds: {text!r}")
    return round(value * 1e9)


def _port(text: str, least: int) -> int | None:
    """A port number in ASCII digits from `least` to 65535, or None."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_PORT)):
        return None
    port = int(text)
    return port if least <= port <= MAX_PORT else None


def _check_address(address: str) -> str | None:
    host, sep, port = address.rpartition(":")
    if not sep or _port(port, 0) is None:
        return f"--address {address!r}: expected HOST:PORT, PORT from 0 to {MAX_PORT}"
    if host not in ("127.0.0.1", "localhost", "[::1]"):
        return f"--address {address!r}: tmodel serve listens on loopback (127.0.0.1) only"
    return None


@dataclass(frozen=True)
class Options:
    """What one `tmodel serve` runs with (the flags, checked)."""

    address: str = "127.0.0.1:7233"
    namespaces: tuple[str, ...] = ("default",)
    time_skipping: bool = False
    timer_shift: int = DEV_SERVER_SHIFT  # ns; unused with time skipping
    locked: bool = False  # time skipping starts locked (tmodel-test-server)
    hold_system_info: bool = False  # GetSystemInfo waits for the model (tmodel-test-server)
    seed: int = 0
    announce: bool = True
    search_attributes: tuple[tuple[str, str], ...] = ()
    limits: tuple[tuple[str, int | bool], ...] = ()  # dynamic-config settings (APPLIED)
    auth: Any = None  # an auth.Authorizer, or None: every caller may call anything
    store: str | None = None  # the SQLite file that keeps everything (None: memory)
    faults: tuple[str, ...] | str | None = None  # kinds to inject, "swarm", or None
    report: str | None = None  # where the JSON invariant report goes at the end
    mutant: str | None = None  # tests only: a broken server (sim/mutants.py)
    archive: str | None = None  # the directory closed histories are archived into


async def serve(options: Options) -> int:
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")  # gRPC's C core logs to stderr
    from adapters.serve.gate import Listener

    # bind first, with only grpc loaded; calls wait at the gate while the model loads
    address = options.address
    listener = Listener(address, options.hold_system_info)
    try:
        port = await listener.start()
    except (OSError, RuntimeError, ValueError):
        print(
            f"tmodel serve: cannot listen on {address}: the port is in use or not available",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    loaded = await asyncio.to_thread(importlib.import_module, "adapters.serve.server")
    try:
        server = loaded.Server(
            address,
            options.namespaces,
            options.time_skipping,
            options.locked,
            options.seed,
            listener,
            options.auth,
            options.store,
            options.mutant,
            options.faults,
            options.archive,
            0 if options.time_skipping else options.timer_shift,
            dict(options.limits),
        )
    except loaded.StoreError as exc:
        print(f"tmodel serve: {exc}", file=sys.stderr)
        await listener.stop(0)
        return EXIT_BAD_INPUT
    except BaseException:
        await listener.stop(0)  # no grpc server is left to complain when it is collected
        raise
    for record in server.frontend.namespaces.values():
        record.search_attributes.update(options.search_attributes)
    server.frontend.save_namespaces()
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if options.announce:
        host = address.rpartition(":")[0]
        skipping = "on" if options.time_skipping else "off"
        print(
            f"tmodel serve: listening on {host}:{port} "
            f"(namespaces: {', '.join(options.namespaces)}; time skipping {skipping})",
            flush=True,
        )
    await stop.wait()
    code = 0
    if options.faults is not None or options.report is not None:
        code = _report(server, loaded.report, options.report)
    await server.stop()
    return code


def _report(server: Any, report: Any, path: str | None) -> int:
    """Print the invariant report, write it as JSON to `path`; the exit code (1: a
    violation, 2: the file cannot be written)."""
    doc = server.report()
    for line in report.lines(doc):
        print(line, flush=True)
    if path is not None:
        try:
            Path(path).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"tmodel serve: cannot write --json-report {path}: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    return 0 if doc["ok"] else EXIT_FOUND


def _options(args: argparse.Namespace) -> Options:
    """The checked options of a command line; `BadInput` (one line) if they are not."""
    problem = _check_address(args.address)
    if problem is not None:
        raise BadInput(problem)
    namespaces = tuple(dict.fromkeys(args.namespace or ["default"]))
    if any(not name.strip() for name in namespaces):
        raise BadInput("--namespace: a namespace needs a name")
    for name in namespaces:
        if len(name) > MAX_NAMESPACE_LENGTH:
            raise BadInput(
                f"--namespace {name[:20]!r}...: longer than {MAX_NAMESPACE_LENGTH} characters"
            )
    search_attributes = _search_attributes(args.search_attribute or ())
    dynamic = settle([parse_pair(text) for text in args.dynamic_config_value])
    for line in notes(dynamic):
        print(line, file=sys.stderr)
    if args.json_report is not None:
        _check_writable(args.json_report)
    auth = None
    if args.auth is not None:
        from adapters.input_file import read_text
        from adapters.serve.auth import MAX_AUTH_FILE, AuthFileError, parse

        text = read_text(args.auth, MAX_AUTH_FILE, "an --auth file")
        try:
            auth = parse(text, f"--auth {args.auth}")
        except AuthFileError as exc:
            raise BadInput(str(exc)) from None
    return Options(
        address=args.address,
        namespaces=namespaces,
        time_skipping=args.time_skipping,
        timer_shift=args.timer_shift,
        seed=args.seed,
        search_attributes=search_attributes,
        limits=(*args.limit, *dynamic.applied),
        auth=auth,
        store=args.store,
        archive=args.archive,
        faults=args.faults,
        report=args.json_report,
        mutant=args.mutant,
    )


def _search_attributes(given: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The custom search attributes: not a system one (as AddSearchAttributes refuses
    it), each name with one type."""
    if not given:
        return ()  # the model is not loaded before the port is bound (gate.py)
    from adapters.serve.frontend import SYSTEM_SEARCH_ATTRIBUTES

    kinds: dict[str, str] = {}
    for name, kind in given:
        if name in SYSTEM_SEARCH_ATTRIBUTES:
            raise BadInput(f"--search-attribute {name}: reserved by the system")
        if kinds.setdefault(name, kind) != kind:
            raise BadInput(f"--search-attribute {name}: given two types")
    return tuple(kinds.items())


def _check_writable(path: str) -> None:
    """`BadInput` unless the report can be written at `path`. A file made to find out
    is removed at once, so nothing is left if the server does not start."""
    where = Path(path)
    try:
        if where.is_dir():
            raise IsADirectoryError(21, "Is a directory")
        if where.exists():
            os.close(os.open(where, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK))
        else:
            os.close(os.open(where, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            where.unlink()
    except OSError as exc:
        raise BadInput(f"--json-report {path!r}: cannot be written ({exc.strerror})") from None


def run(args: argparse.Namespace) -> int:
    try:
        options = _options(args)
    except BadInput as exc:
        print(f"tmodel serve: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return asyncio.run(serve(options))


def test_server_main(argv: Sequence[str] | None = None) -> int:
    """`tmodel-test-server PORT [ARGS...]`: the time-skipping drop-in (extra args, which
    the Java test server would read, are ignored)."""
    words = list(sys.argv[1:] if argv is None else argv)
    if not words:
        print("usage: tmodel-test-server PORT", file=sys.stderr)
        return EXIT_BAD_INPUT
    port = _port(words[0], 1)  # the SDK passes the free port it found; 0 is not one
    if port is None:
        print(
            f"tmodel-test-server: PORT must be a number from 1 to {MAX_PORT}, not {words[0]!r}",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    address = f"127.0.0.1:{port}"
    options = Options(
        address, time_skipping=True, locked=True, announce=False, hold_system_info=True
    )
    return asyncio.run(serve(options))
