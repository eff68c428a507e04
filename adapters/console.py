"""Terminal output shared by the subcommands: progress bars and summary tables.

Progress goes to stderr and only when stderr is a terminal, so piped and ``--json``
output stays clean; summaries go to stdout.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


@contextmanager
def progress(
    label: str, total: int | None, enabled: bool = True
) -> Iterator[Callable[[int], None]]:
    """Yield an ``advance(n)`` callback that drives a progress bar on a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield lambda n: None
        return
    bar = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


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
