"""`tmodel validate PATH... [--json] [--limits] [--limit KEY=VALUE ...]`: check histories
against spec/history.md (the LIMIT-* rules too, given the server's limits).

Files and directories (walked recursively for ``*.json`` and binary ``*.bin`` histories,
skipping ``manifest.json``)
are streamed through the JSON decoder into the pure validator, one file at a time, so a
huge history costs memory in proportion to its open entities only. Exit codes: 0 all
valid, 1 some history invalid, 2 some input unreadable or malformed (reported per file;
the other files are still checked).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import json
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from adapters.argtypes import nonempty_path
from adapters.console import progress, summary_table
from adapters.history_writers import JAVA_TEST_SERVER, java_test_server
from adapters.input_file import history_events, open_regular, require_events
from adapters.limit_args import add_limit_options, limits_of
from adapters.temporal_json import EventStream
from core.errors import BadInput
from core.statemachine.history.fold import Violation
from core.statemachine.history.limits import Limits
from core.statemachine.history.validator import validate

SKIPPED_NAMES = frozenset({"manifest.json"})


@dataclass(frozen=True, slots=True)
class FileReport:
    """The verdict on one file: violations, or the reason it could not be read."""

    path: str
    events: int
    violations: tuple[Violation, ...] = ()
    error: str | None = None
    note: str | None = None  # who may have written an invalid history (history_writers.py)

    @property
    def valid(self) -> bool:
        return self.error is None and not self.violations

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"path": self.path, "valid": self.valid, "events": self.events}
        if self.error is not None:
            doc["error"] = self.error
        else:
            doc["violations"] = [
                {"rule": v.rule, "event_id": v.event_id, "message": v.message}
                for v in self.violations
            ]
        if self.note is not None:
            doc["note"] = self.note
        return doc


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "validate",
        help="check Temporal JSON histories against the well-formedness rules",
        description="Check Temporal JSON histories (files or directories) against "
        "spec/history.md. Exit 0 all valid, 1 a history is invalid, 2 bad input.",
    )
    parser.add_argument(
        "paths", nargs="+", type=nonempty_path, metavar="PATH", help="history file or directory"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    add_limit_options(parser)
    parser.set_defaults(run=run)


HISTORY_FILES = ("*.json", "*.bin")  # JSON, and binary protobuf (adapters/input_file.py)


def collect(paths: Sequence[str]) -> Iterator[tuple[str, str | None]]:
    """Yield ``(path, error)`` for every history named or found under a directory. A
    path that cannot be looked at, or a directory below that cannot be read, comes
    with its error: it is reported, never skipped."""
    for raw in paths:
        kind, error = _kind(raw)
        if kind == "dir":
            found = sorted(_walk(Path(raw)), key=lambda item: item[0])
            if not found:
                yield raw, "directory holds no *.json or *.bin history"
            for item, problem in found:
                yield str(item), problem
        else:
            yield raw, error


# Errors that mean "nothing there", as `Path.exists` reads them.
_MISSING = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EBADF})


def _kind(path: str) -> tuple[str, str | None]:
    """``("dir" | "file", None)``, or the kind and why it is not a history to read."""
    try:
        mode = os.stat(path).st_mode
    except ValueError:  # a NUL byte in the path
        return "missing", "no such file or directory"
    except OSError as exc:
        if exc.errno in _MISSING:
            return "missing", "no such file or directory"
        return "error", exc.strerror or str(exc)
    if stat.S_ISDIR(mode):
        return "dir", None
    if stat.S_ISREG(mode):
        return "file", None
    return "other", "not a regular file or directory"


def _walk(top: Path) -> Iterator[tuple[Path, str | None]]:
    """The histories under `top` (symbolic links to directories are not followed), and
    each directory or file that could not be read, with its error."""
    problems: list[tuple[Path, str | None]] = []

    def failed(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else top
        problems.append((where, f"cannot read directory: {exc.strerror or exc}"))

    for folder, _, names in os.walk(top, onerror=failed):
        for name in names:
            if name in SKIPPED_NAMES or not any(fnmatchcase(name, p) for p in HISTORY_FILES):
                continue
            path = Path(folder) / name
            kind, error = _kind(str(path))
            if kind == "file":
                yield path, None
            elif kind == "error":
                yield path, error
    yield from problems


def check_file(path: str, limits: Limits | None = None) -> FileReport:
    """Decode and validate one file (with the LIMIT-* rules too, given `limits`); never
    raises for bad content."""
    events: EventStream | None = None
    try:
        with _fewer_collections(), open_regular(path) as stream:
            events = history_events(stream)
            result = validate(require_events(events), limits)
        note = None
        if result.violations and _written_by_java_test_server(path):
            note = JAVA_TEST_SERVER
    except BadInput as exc:
        return FileReport(path, _decoded(events), error=str(exc))
    except OSError as exc:  # a read error after the open
        return FileReport(path, _decoded(events), error=exc.strerror or str(exc))
    except RecursionError:
        return FileReport(path, _decoded(events), error="JSON nested too deeply")
    return FileReport(path, result.events, result.violations, note=note)


def _written_by_java_test_server(path: str) -> bool:
    """Read an invalid history again (streamed, as the check read it) for the signs of
    the Java SDK's test server; only invalid files pay for the second read."""
    with open_regular(path) as stream:
        return java_test_server(history_events(stream))


# Allocations between two runs of the cyclic collector's youngest generation while a
# file is checked (Python's default is 700).
_GC_THRESHOLD = 100_000


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic collector less often while a file is checked: every event makes a
    few objects that live until the validator is done with them, and collecting every
    700 allocations rescans them again and again (measured: about 8% of the time on a
    220,000-event history). The collector stays on, so memory stays bounded; the old
    thresholds come back afterwards."""
    old = gc.get_threshold()
    gc.set_threshold(_GC_THRESHOLD, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _decoded(events: EventStream | None) -> int:
    """How far the decoder got, for a report on a file it could not read to the end."""
    return 0 if events is None else events.count


def run(args: argparse.Namespace) -> int:
    targets = list(collect(args.paths))
    limits = limits_of(args)
    reports: list[FileReport] = []
    with progress("validating", total=len(targets), enabled=not args.json) as advance:
        for path, error in targets:
            report = FileReport(path, 0, error=error) if error else check_file(path, limits)
            reports.append(report)
            advance(1)
    if args.json:
        print(json.dumps(_document(reports), indent=2))
    else:
        _print_report(reports)
    if any(r.error is not None for r in reports):
        return 2
    return 1 if any(not r.valid for r in reports) else 0


def _document(reports: list[FileReport]) -> dict[str, Any]:
    return {
        "files": [r.to_json() for r in reports],
        "summary": {
            "files": len(reports),
            "valid": sum(r.valid for r in reports),
            "invalid": sum(not r.valid for r in reports),
            "events": sum(r.events for r in reports),
        },
    }


def _print_report(reports: list[FileReport]) -> None:
    out = sys.stdout
    for report in reports:
        if report.error is not None:
            print(f"ERROR    {report.path}: {report.error}", file=out)
        elif report.violations:
            print(f"INVALID  {report.path} ({report.events} events)", file=out)
            for v in report.violations:
                print(f"  {v.rule:<4} event {v.event_id}: {v.message}", file=out)
            if report.note is not None:
                print(f"  note: {report.note}", file=out)
        else:
            print(f"valid    {report.path} ({report.events} events)", file=out)
    errors = sum(r.error is not None for r in reports)
    summary_table(
        "validate",
        [
            ("files", str(len(reports))),
            ("valid", str(sum(r.valid for r in reports))),
            ("invalid", str(sum(r.error is None and not r.valid for r in reports))),
            ("unreadable", str(errors)),
            ("events", str(sum(r.events for r in reports))),
            ("violations", str(sum(len(r.violations) for r in reports))),
        ],
    )
