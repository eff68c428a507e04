"""Terminal output shared by the subcommands: progress and summary tables.

Progress goes to stderr, so piped and ``--json`` output on stdout stays clean. On a
terminal it is a live bar; otherwise (a pipe, a file, CI) it is a line at most every
five seconds, printed when the work next reports - what is done, how long it has taken,
and the time left or the rate - so a long run that is piped somewhere still says it is
alive. A run shorter than the first period prints nothing. Summaries go to stdout.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

EVERY_SECONDS = 5.0  # between two progress lines when stderr is not a terminal


@contextmanager
def progress(
    label: str,
    total: int | None,
    enabled: bool = True,
    *,
    unit: str = "",
    stream: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    every: float = EVERY_SECONDS,
) -> Iterator[Callable[[int], None]]:
    """Yield an ``advance(n)`` callback that drives a bar on a terminal, or prints a line
    to `stream` (default stderr) at most every `every` seconds of `clock` otherwise.
    `unit` names what is counted (``states``, ``seeds``)."""
    out = stream if stream is not None else sys.stderr
    if not enabled:
        yield lambda n: None
        return
    if not out.isatty():
        lines = _Lines(label, total, unit, out, clock, every)
        yield lines.advance
        lines.finish()
        return
    bar = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        console=Console(file=out),
        transient=True,
    )
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


class _Lines:
    """Progress as a line every `every` seconds, for a stream that is not a terminal."""

    def __init__(
        self,
        label: str,
        total: int | None,
        unit: str,
        out: TextIO,
        clock: Callable[[], float],
        every: float,
    ) -> None:
        self.label, self.total, self.unit, self.out = label, total, unit, out
        self.clock, self.every = clock, every
        self.start = clock()
        self.due = self.start + every
        self.done = 0
        self.printed = False

    def advance(self, n: int) -> None:
        self.done += n
        now = self.clock()
        if now >= self.due:
            self._print(now, self._rest(now))
            self.due = now + self.every

    def finish(self) -> None:
        if self.printed:  # a run that said it was going also says it is done
            now = self.clock()
            self._print(now, "done")

    def _rest(self, now: float) -> str:
        elapsed = now - self.start
        if self.total and self.done and elapsed > 0:
            left = elapsed * (self.total - self.done) / self.done
            return f"about {duration(left)} to go"
        rate = self.done / elapsed if elapsed > 0 else 0.0
        unit = self.unit or "steps"
        if 0 < rate < 1:  # slow work (shrinking): a rate that rounds to 0 says nothing
            return f"{duration(1 / rate)} per {unit.removesuffix('s')}"
        return f"{rate:,.0f} {unit}/s"

    def _print(self, now: float, rest: str) -> None:
        count = f"{self.done:,}" if self.total is None else f"{self.done:,}/{self.total:,}"
        what = f" {self.unit}" if self.unit else ""
        elapsed = duration(now - self.start)
        self.out.write(f"{self.label}: {count}{what} after {elapsed}, {rest}\n")
        self.out.flush()
        self.printed = True


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``2 h 10 min``, ``12 days``."""
    whole = round(min(seconds, 1e15))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    if whole < 2 * 86400:
        return f"{whole // 3600} h {whole % 3600 // 60} min"
    return f"{whole // 86400:,} days"


def running_total(advance: Callable[[int], None]) -> Callable[[int], None]:
    """An ``update(total)`` callback for work that reports a running total: it moves a
    `progress` bar by the difference since the last report."""
    done = [0]

    def update(total: int) -> None:
        advance(total - done[0])
        done[0] = total

    return update


def summary_table(title: str, rows: Sequence[tuple[str, str]]) -> None:
    """Print a two-column summary table to stdout."""
    table = Table(title=title, show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    Console(file=sys.stdout, soft_wrap=True).print(table)
