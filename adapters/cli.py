"""`tmodel`: the command-line entry point (contract: docs/architecture.md#the-cli-contract;
every option: docs/cli.rst).

Every subcommand follows the same contract: exit 0 when all is well, 1 when the model
found something wrong (an invalid history, a violation), 2 for bad input (a missing or
malformed file, a wrong argument). Bad input is reported on one line naming the file
or argument; no traceback ever reaches the user. `main` is the one error boundary: an
exception no command expected is a bug of tmodel, reported as one line saying where
the full traceback was written, with exit code 3. Text that cannot be encoded for the
terminal (a lone surrogate, which JSON may carry) is printed as an escape. So is a
control character written to stderr (a newline in a path a message names: ``\n``), so
a one-line error stays one line; only the line end of each write is kept, and the
terminal codes of a progress bar.

Start-up is kept short: the table below names each subcommand's module and its
one-line help, and only the module of the subcommand being run is imported (its
machinery, such as z3 for `prove` or networkx for `check`, is loaded when it runs).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import tempfile
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO, cast

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3

# name -> (module defining `add_parser(commands)`, its one-line help for `tmodel --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": (
        "adapters.validate_cmd",
        "check Temporal JSON histories against the well-formedness rules",
    ),
    "conform": (
        "adapters.conform_cmd",
        "reproduce recorded histories with the model and compare them field by field",
    ),
    "lint": ("adapters.lint_cmd", "find the anti-patterns of workflow histories"),
    "replay": ("adapters.replay_cmd", "replay a Temporal JSON history against a workflow class"),
    "simulate": (
        "adapters.simulate_cmd",
        "simulate a cluster under injected faults and check every invariant",
    ),
    "check": ("adapters.check_cmd", "model-check a Python model exhaustively"),
    "tlc": (
        "adapters.tlc_cmd",
        "model-check the TLA+ specs with TLC, or trace-validate histories",
    ),
    "prove": ("adapters.prove_cmd", "prove the theorems over the executed code"),
    "serve": (
        "adapters.serve_cmd",
        "run the model as a Temporal server that SDKs and the temporal CLI talk to",
    ),
    "bench": ("adapters.bench", "run benchmarks and print figures"),
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand `argv` names: its first word that is not an option."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(load: str | None = None) -> argparse.ArgumentParser:
    """The parser; subcommand `load` gets its full parser, the others only their help
    line (enough for `tmodel --help` and for naming the valid choices)."""
    parser = _Parser(
        prog="tmodel",
        description="Executable reference model of Temporal's durable-execution architecture.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for name, (module, help_line) in COMMANDS.items():
        if name == load:
            importlib.import_module(module).add_parser(commands)
        else:
            commands.add_parser(name, help=help_line)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _escape_unencodable_output()
    stderr = sys.stderr
    sys.stderr = cast(TextIO, OneLineStderr(stderr))
    try:
        return _main(argv)
    finally:
        sys.stderr = stderr


def _main(argv: Sequence[str] | None) -> int:
    try:
        words = list(sys.argv[1:] if argv is None else argv)
        args = build_parser(chosen_command(words)).parse_args(words)
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


# Control characters, and the two Unicode line breaks, that a message may carry.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """`text` with each control character written as an escape (a newline as ``\n``)."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(0)) or ascii(m.group(0))[1:-1], text)


class OneLineStderr:
    """stderr while a command runs: each write keeps its own line end (the last
    character, if a newline), and every other control character in it is escaped. A
    write with an escape code on a terminal is a progress bar's (rich draws the bar
    so), and is passed on as it is."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        if "\x1b" in text and self.stream.isatty():
            return self.stream.write(text)
        body, end = (text[:-1], "\n") if text.endswith("\n") else (text, "")
        return self.stream.write(escape_controls(body) + end)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _escape_unencodable_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


if __name__ == "__main__":
    sys.exit(main())
