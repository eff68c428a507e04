"""`tmodel`: the command-line entry point (the contract is docs/cli.rst).

Every subcommand follows the same contract: exit 0 when all is well, 1 when the model
found something wrong (an invalid history, a violation), 2 for bad input (a missing or
malformed file, a wrong argument). Bad input is reported on one line naming the file
or argument; no traceback ever reaches the user. `main` is the one error boundary: an
exception no command expected is a bug of tmodel, reported as one line saying where
the full traceback was written, with exit code 3. Text that cannot be encoded for the
terminal (a lone surrogate, which JSON may carry) is printed as an escape.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import traceback
from collections.abc import Sequence
from typing import NoReturn

from adapters import bench as bench_cmd
from adapters import check_cmd, prove_cmd, replay_cmd, simulate_cmd, tlc_cmd, validate_cmd

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


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
    _escape_unencodable_output()
    try:
        args = build_parser().parse_args(argv)
        code: int = args.run(args)
    except KeyboardInterrupt:
        print("tmodel: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except SystemExit:
        raise
    except BaseException as error:
        print(internal_error(error), file=sys.stderr)
        return EXIT_INTERNAL
    return code


def internal_error(error: BaseException) -> str:
    """Write the traceback of an unexpected error to a file; one line saying so."""
    first = str(error).splitlines()[0][:200] if str(error) else ""
    what = type(error).__name__ + (f": {first}" if first else "")
    try:
        with tempfile.NamedTemporaryFile(
            "w",
            prefix="tmodel-traceback-",
            suffix=".txt",
            delete=False,
            encoding="utf-8",
            errors="backslashreplace",
        ) as out:
            traceback.print_exception(error, file=out)
        where = f"traceback written to {out.name}"
    except OSError as exc:
        where = f"the traceback could not be written: {exc.strerror or exc}"
    return f"tmodel: internal error: {what} ({where}); please report it"


def _escape_unencodable_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


if __name__ == "__main__":
    sys.exit(main())
