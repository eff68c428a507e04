"""Argument types shared by the `tmodel` subcommands: each turns bad text into an
`argparse.ArgumentTypeError`, which argparse reports on one line with exit code 2. And
the help formatter they share."""

from __future__ import annotations

import argparse
import os
import textwrap
from collections.abc import Callable


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def positive(text: str) -> int:
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def positive_up_to(limit: int) -> Callable[[str], int]:
    """A positive whole number of at most `limit`: a count that bounds time and memory."""

    def parse(text: str) -> int:
        value = positive(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"must be at most {limit:,}: {text!r}")
        return value

    return parse


def cpu_count() -> int:
    """Cores this process may use (the scheduler's affinity where the OS has one)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return max(1, len(affinity(0)))
    return max(1, os.cpu_count() or 1)


def jobs(text: str) -> int:
    """Processes run at once: a positive number, or ``auto`` (one per core)."""
    if text == "auto":
        return cpu_count()
    return positive(text)


def nonempty_path(text: str) -> str:
    """A path to read or write: an empty one is refused, not taken as the current
    directory (which is what the file system calls make of it)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path names no file or directory")
    return text


class HelpFormatter(argparse.HelpFormatter):
    """argparse's, but a line never breaks inside a hyphenated name (``state-machine``,
    ``ack-before-started``), so the names a help text lists can be read and copied."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(
            textwrap.wrap(
                " ".join(text.split()),
                width,
                initial_indent=indent,
                subsequent_indent=indent,
                break_on_hyphens=False,
            )
        )
