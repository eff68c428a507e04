"""`tmodel tlc [SPEC ...] [--trace HISTORY] [--json]`: run TLC and check its verdicts.

Without ``--trace``, every configuration of spec/tla/manifest.json (or those of the named
specs or configs) is model-checked and compared with the manifest: normal
configurations must give their exact distinct-state count without a violation, revert
and probe configurations must violate the invariant or property they name. With
``--trace``, each history is checked by trace validation against WorkflowExecution.tla.

Exit codes: 0 every expectation met (every history accepted), 1 otherwise, 2 Java or
the TLC jar missing, a bad argument, an unreadable history or one beyond what trace
validation takes (`tlc_trace.MAX_TRACE_EVENTS` events, an attempt above
`tlc_trace.MAX_TRACE_ATTEMPT`), one line, no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from adapters import tlc, tlc_trace
from adapters.argtypes import jobs, nonempty_path
from adapters.console import progress, summary_table
from core.errors import BadInput
from core.events import HistoryEvent

EXIT_OK, EXIT_FOUND, EXIT_BAD_INPUT = 0, 1, 2


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "tlc",
        help="model-check the TLA+ specs with TLC, or trace-validate histories",
        description="Run TLC on spec/tla configurations and check each verdict against "
        "spec/tla/manifest.json, or (--trace) check that recorded histories are "
        "behaviours of WorkflowExecution.tla. Exit 0 all expectations met, 1 otherwise, "
        "2 Java/TLC missing or bad input.",
    )
    parser.add_argument(
        "specs",
        nargs="*",
        metavar="SPEC",
        help="spec or config to check (e.g. Matching, MCReplay_nondet.cfg); default all",
    )
    parser.add_argument(
        "--trace",
        action="append",
        default=[],
        type=nonempty_path,
        metavar="HISTORY",
        help="trace-validate a Temporal JSON history (repeatable)",
    )
    parser.add_argument(
        "--jobs",
        type=jobs,
        default=2,
        metavar="N|auto",
        help="TLC processes run at once (default 2; auto: one per core)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        toolchain = tlc.find_toolchain()
        if args.trace:
            if args.specs:
                raise BadInput("--trace checks WorkflowExecution; name no SPEC with it")
            return _run_traces(toolchain, args)
        entries = tlc.select(tlc.load_manifest(), args.specs)
    except (tlc.TlcUnavailable, BadInput) as exc:
        print(f"tmodel tlc: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    with progress("TLC", total=len(entries), enabled=not args.json) as advance:
        reports = tlc.check_all(toolchain, entries, args.jobs, on_done=lambda _r: advance(1))
    ok = all(r.ok for r in reports)
    if args.json:
        print(json.dumps({"configs": [r.to_json() for r in reports], "ok": ok}, indent=2))
    else:
        _print_configs(reports)
    return EXIT_OK if ok else EXIT_FOUND


def _print_configs(reports: list[tlc.ConfigReport]) -> None:
    for r in reports:
        res = r.result
        states = "-" if res is None or res.distinct_states is None else f"{res.distinct_states:,}"
        seconds = "-" if res is None else f"{res.seconds:.1f}s"
        mark = "ok  " if r.ok else "FAIL"
        print(f"{mark} {r.entry.config:<58} {states:>9} {seconds:>7}  {r.reason}")
    summary_table(
        "tlc",
        [
            ("configs", str(len(reports))),
            ("as expected", str(sum(r.ok for r in reports))),
            ("failed", str(sum(not r.ok for r in reports))),
            ("seconds (TLC, summed)", f"{sum(r.result.seconds for r in reports if r.result):.1f}"),
        ],
    )


def _run_traces(toolchain: tlc.Toolchain, args: argparse.Namespace) -> int:
    # Read and size every history first, so bad files are reported (each on its own
    # line) before any TLC runs.
    histories: list[tuple[str, tuple[HistoryEvent, ...]]] = []
    bad: list[str] = []
    for path in args.trace:
        try:
            events = tlc_trace.read_trace_history(path)
            tlc_trace.check_traceable(events, path)
        except BadInput as exc:
            bad.append(str(exc))
            continue
        histories.append((path, events))
    if bad:
        for message in bad:
            print(f"tmodel tlc: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    reports: list[tlc_trace.TraceReport] = []
    with progress("trace validation", total=len(histories), enabled=not args.json) as advance:
        for path, events in histories:
            reports.append(tlc_trace.validate_events(toolchain, events, path))
            advance(1)
    ok = all(r.accepted for r in reports)
    if args.json:
        print(json.dumps({"traces": [r.to_json() for r in reports], "ok": ok}, indent=2))
    else:
        for r in reports:
            mark = "accepted" if r.accepted else "REJECTED"
            print(f"{mark} {r.path} ({r.events} events, {r.seconds:.1f}s): {r.reason}")
        summary_table(
            "tlc --trace",
            [
                ("histories", str(len(reports))),
                ("accepted", str(sum(r.accepted for r in reports))),
                ("rejected", str(sum(not r.accepted for r in reports))),
            ],
        )
    return EXIT_OK if ok else EXIT_FOUND
