"""`tmodel check` run in-process, with only the check subcommand registered (argparse
errors raise SystemExit as they would on the command line)."""

from __future__ import annotations

import argparse

from adapters import check_cmd


def run_check(*argv: str) -> int:
    """Parse `argv` as ``tmodel ...`` and run it; the exit code."""
    parser = argparse.ArgumentParser(prog="tmodel")
    check_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    code: int = args.run(args)
    return code
