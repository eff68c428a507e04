"""The live mode of `tmodel conform`: its arguments and its run.

    tmodel conform --target HOST:PORT [--scenarios NAME ...] [--faults LIST]
                   [--restart-command CMD] [--recorded DIR] [--tlc-budget SECONDS]
                   [--json] [--out DIR]

Runs the scenario library against the Temporal endpoint at HOST:PORT and judges every
history it wrote (adapters/conform/live.py). Exit 0 no check failed, 1 a check failed,
2 bad input or a target that does not answer (one line). This module imports the SDK
only when it runs, so `tmodel conform --help` stays light.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from adapters.argtypes import nonempty_path

FAULTS = ("worker-restart", "worker-kill-during-activity", "server-restart")
DEFAULT_FAULTS = "worker-restart,worker-kill-during-activity"
DEFAULT_TLC_BUDGET = 120.0  # checks.DEFAULT_TLC_BUDGET (not imported: it loads the SDK)


def target_address(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, e.g. 127.0.0.1:7233: {text!r}")
    return text


def fault_list(text: str) -> frozenset[str]:
    if text == "none":
        return frozenset()
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FAULTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown fault {unknown[0] if unknown else text!r} (the faults: "
            f"{', '.join(FAULTS)}; or none)"
        )
    return frozenset(names)


def budget(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"must be between 0 and 86400 seconds: {text!r}")
    return value


def command(text: str) -> list[str]:
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"cannot split the command: {exc}") from None
    if not words:
        raise argparse.ArgumentTypeError("an empty command")
    return words


def add_arguments(parser: argparse.ArgumentParser) -> None:
    live = parser.add_argument_group(
        "live mode", "run the scenario library against a Temporal endpoint and judge it"
    )
    live.add_argument(
        "--target", type=target_address, metavar="HOST:PORT", help="the endpoint to judge"
    )
    live.add_argument(
        "--scenarios", nargs="+", default=[], metavar="NAME", help="run only these scenarios"
    )
    live.add_argument(
        "--faults",
        type=fault_list,
        default=fault_list(DEFAULT_FAULTS),
        metavar="LIST",
        help=f"live faults to inject, comma-separated: {', '.join(FAULTS)}, or none "
        f"(default {DEFAULT_FAULTS})",
    )
    live.add_argument(
        "--restart-command",
        type=command,
        metavar="CMD",
        help="a command that restarts the target with its state kept: the target's "
        "declaration of durability, needed by the server-restart fault",
    )
    live.add_argument(
        "--recorded",
        type=nonempty_path,
        metavar="DIR",
        help="the real server's histories of the same scenarios (default: the project's "
        "recorded corpus, tests/fixtures/histories)",
    )
    live.add_argument(
        "--tlc-budget",
        type=budget,
        default=DEFAULT_TLC_BUDGET,
        metavar="SECONDS",
        help="time TLC may spend on one history; beyond it the check is reported "
        f"'skipped: too large' (default {DEFAULT_TLC_BUDGET:.0f})",
    )
    live.add_argument(
        "--out", type=nonempty_path, metavar="DIR", help="write every history it fetched here"
    )


_LIVE_ONLY = ("scenarios", "restart_command", "recorded", "out")


def offline_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with arguments meant for the offline mode (no --target), if any."""
    if not args.paths:
        return "give HISTORY files or directories, or --target HOST:PORT"
    stray = [n for n in _LIVE_ONLY if getattr(args, n)]
    stray += ["faults"] if args.faults != fault_list(DEFAULT_FAULTS) else []
    stray += ["tlc_budget"] if args.tlc_budget != DEFAULT_TLC_BUDGET else []
    if stray:
        return f"--{stray[0].replace('_', '-')} belongs to the live mode: give --target too"
    return None


def run(args: argparse.Namespace) -> int:
    from adapters.conform import live
    from adapters.conform.live_report import document, print_report
    from adapters.conform.scenarios.runner import Unreachable
    from adapters.console import progress
    from core.errors import BadInput

    try:
        if args.paths:
            raise BadInput("give HISTORY files or --target, not both")
        if getattr(args, "server_version", None):
            raise BadInput("--server-version is for HISTORY files: the live mode asks the target")
        if args.recorded is not None and not Path(args.recorded).is_dir():
            raise BadInput(f"--recorded {args.recorded}: not a directory")
        if args.out is not None:
            try:
                Path(args.out).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise BadInput(f"--out {args.out}: {exc.strerror or exc}") from None
        options = live.Options(
            target=args.target,
            scenarios=live.select(args.scenarios, args.faults),
            restart_command=args.restart_command,
            recorded=Path(args.recorded) if args.recorded else live.DEFAULT_RECORDED,
            tlc_budget=args.tlc_budget,
            ignore=frozenset(args.ignore),
            out=Path(args.out) if args.out else None,
        )
        if not options.scenarios:
            raise BadInput("no scenario to run (every one chosen injects a fault not enabled)")
        quiet = args.json
        with progress("scenarios", total=len(options.scenarios), enabled=not quiet) as advance:
            report, runs = live.collect(options, advance)
        with progress("checks", total=live.histories(runs), enabled=not quiet) as advance:
            live.judge(report, runs, options, advance)
    except (BadInput, Unreachable) as exc:
        print(f"tmodel conform: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(document(report), indent=2))
    else:
        print_report(report)
    return 1 if report.failed else 0
