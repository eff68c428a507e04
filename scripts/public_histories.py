#!/usr/bin/env python3
"""`tmodel validate` and `tmodel conform` over histories the project did not record.

The official SDKs keep event histories in their repositories for their replay tests
(sdk-go `test/replaytests/*.json` and `internal/testdata`, sdk-java
`temporal-sdk/src/test/resources`, sdk-typescript `packages/test/history_files`, sdk-dotnet
`./tests/Temporalio.Tests/Worker/Histories`, sdk-core `crates/sdk-core/tests/histories/*.bin`).
Real servers wrote most of them, from 2020 to 2026; a few the Java SDK's test server
wrote, and a few were edited by hand for the SDKs' own tests. None is copied into this
repository: clone the SDKs and name the folders.

    python scripts/public_histories.py DIR_OR_FILE... [--ignore FIELD ...] [--list]

Each folder is read for its `*.json` and `*.bin` files (not recursively). Prints the
verdicts of validate and conform, then a few signs of who wrote each history, counted:

- `java test server`: a WorkflowTaskCompleted without its started event id, which every
  real server writes (the Java SDK's in-memory test server leaves it out,
  temporal-test-server StateMachines.java);
- `unknown event type`: an event of a type the API does not have (a forward-
  compatibility test, or a server newer than the model's API);
- the era of the server, from the first event's time: before Temporal 1.0.0
  (2020-09-29), before 1.21.0 (2023-06-23, whose servers first wrote several fields a
  1.32 server writes), or later;
- `1.26 server`: a WorkflowTaskCompleted with `deployment`, which only 1.26 servers
  wrote (adapters/conform/older_servers.py WRITTEN_UNTIL dates the history by it);
- the field of conform's first difference, for the histories that differ.

`--ignore FIELD` is passed to conform (leaving the field out on both sides), to see
what lies behind a difference already understood; `--list` prints each file's verdicts.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from adapters.conform.judge import Verdict, judge_paths
from adapters.input_file import read_history
from adapters.validate_cmd import FileReport, check_file
from core.enums import EventType
from core.errors import BadInput
from core.events import HistoryEvent

RELEASES = (("before 1.0.0", "2020-09-29"), ("before 1.21.0", "2023-06-23"))


def files(arguments: Iterable[str]) -> list[str]:
    found: list[str] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found += sorted(str(p) for p in path.iterdir() if p.suffix in (".json", ".bin"))
        else:
            found.append(argument)
    return found


def era(events: Sequence[HistoryEvent]) -> str:
    written = events[0].event_time if events else None
    if written is None:
        return "era unknown (no event time)"
    day = datetime.datetime.fromtimestamp(written / 1e9, tz=datetime.UTC).date().isoformat()
    for name, release in RELEASES:
        if day < release:
            return f"server {name} ({release})"
    return "server 1.21.0 or later"


def signs(path: str, report: FileReport) -> list[str]:
    if report.error is not None:
        if "unknown EventType" in report.error:
            return ["unknown event type"]
        return ["unreadable"]
    try:
        events = read_history(path)
    except BadInput:
        return ["unreadable"]
    found = [era(events)]
    if any(
        e.event_type is EventType.WORKFLOW_TASK_COMPLETED
        and not getattr(e.attributes, "started_event_id", 0)
        for e in events
    ):
        found.append("java test server")
    if any(
        e.event_type is EventType.WORKFLOW_TASK_COMPLETED
        and getattr(e.attributes, "deployment", None) is not None
        for e in events
    ):
        found.append("1.26 server (WorkflowTaskCompleted.deployment)")
    return found


def first_difference(verdict: Verdict) -> str:
    if verdict.error is not None:
        return (
            "unreadable: reset run without its base"
            if "reset run" in verdict.error
            else ("unreadable")
        )
    if verdict.not_modelled is not None:
        return "not modelled"
    d = verdict.difference
    if d is None:
        return "reproduced"
    return f"differs at {d.field}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="folders (their *.json, *.bin) or files")
    parser.add_argument("--ignore", action="append", default=[], metavar="FIELD")
    parser.add_argument("--list", action="store_true", help="one line per file too")
    args = parser.parse_args(argv)
    paths = files(args.paths)
    if not paths:
        print("no *.json or *.bin history in the paths given", file=sys.stderr)
        return 2
    reports = {path: check_file(path) for path in paths}
    verdicts = {v.path: v for v in judge_paths(paths, frozenset(args.ignore))}

    validate = Counter(
        "unreadable" if r.error is not None else ("valid" if r.valid else "invalid")
        for r in reports.values()
    )
    conform = Counter(v.kind for v in verdicts.values())
    kinds = Counter(s for path in paths for s in signs(path, reports[path]))
    differences = Counter(first_difference(verdicts[path]) for path in paths)

    if args.list:
        for path in paths:
            r = reports[path]
            state = "unreadable" if r.error is not None else ("valid" if r.valid else "INVALID")
            rule = f" {r.violations[0].rule}" if r.violations else ""
            shown = ", ".join(signs(path, r))
            print(f"{state:10} {first_difference(verdicts[path])}{rule}  [{shown}]  {path}")
        print()
    print(f"histories: {len(paths)}")
    print(
        "validate: " + ", ".join(f"{k} {validate[k]}" for k in ("valid", "invalid", "unreadable"))
    )
    print(
        "conform:  "
        + ", ".join(
            f"{k.replace('_', ' ')} {conform[k]}"
            for k in ("reproduced", "differing", "not_modelled", "unreadable")
        )
        + (f" (ignoring {', '.join(args.ignore)})" if args.ignore else "")
    )
    print("signs of the writer:")
    for kind, count in sorted(kinds.items()):
        print(f"  {count:4}  {kind}")
    print("conform's verdicts, by first difference:")
    for kind, count in differences.most_common():
        print(f"  {count:4}  {kind}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # the reader stopped early (`| head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
