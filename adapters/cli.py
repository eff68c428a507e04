"""`tmodel`: the command-line entry point (see docs/architecture.md#the-cli-contract).

Every subcommand follows the same contract: exit 0 when all is well, 1 when the model
found something wrong (an invalid history, a violation), 2 for bad input (a missing or
malformed file, a wrong argument). Bad input is reported on one line naming the file
or argument; no traceback ever reaches the user.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from adapters import bench as bench_cmd
from adapters import check_cmd, prove_cmd, replay_cmd, simulate_cmd, tlc_cmd, validate_cmd

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tmodel",
        description="Executable reference model of Temporal's durable-execution architecture.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    validate_cmd.add_parser(commands)
    replay_cmd.add_parser(commands)
    simulate_cmd.add_parser(commands)
    check_cmd.add_parser(commands)
    tlc_cmd.add_parser(commands)
    prove_cmd.add_parser(commands)
    bench_cmd.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        print("tmodel: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())
