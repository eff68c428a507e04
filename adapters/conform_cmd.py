"""`tmodel conform HISTORY... [--json] [--ignore FIELD ...]`: does the model write, field
for field, the histories another implementation wrote?

For each history (files, or directories walked for ``*.json`` and ``*.bin`` as `tmodel validate`
walks them), the requests behind it are derived and run through the pure history
service, and the model's history is compared with the recorded one field by field
(adapters/conform/judge.py). Reported per history: reproduced; the first differing
event with the field, the recorded and the produced value; "not modelled: REASON" for a
feature declared out of scope (spec/README.md, "Not modelled"); or why it could not be
read.

Exit codes: 0 every history reproduced (or declared not modelled), 1 a difference,
2 bad input (a history unreadable, a bad argument).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from adapters.argtypes import HelpFormatter, nonempty_path
from adapters.conform import live_cmd
from adapters.conform.judge import Verdict, judge_paths
from adapters.conform.older_servers import is_version
from adapters.console import progress, summary_table
from adapters.validate_cmd import collect

_FIELD = re.compile(r"[a-z][A-Za-z0-9]*")


def field_name(text: str) -> str:
    """A protojson field name for --ignore (lowerCamelCase, as histories spell them)."""
    if not _FIELD.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"not a JSON field name: {text!r} (give it as histories spell it, e.g. "
            "'identity' or 'workerVersion')"
        )
    return text


def server_version(text: str) -> str:
    """A server version for --server-version (older_servers.released reads it)."""
    if not is_version(text):
        raise argparse.ArgumentTypeError(f"not a server version: {text!r} (expected like 1.29.1)")
    return text


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "conform",
        help="reproduce recorded histories with the model and compare them field by field",
        description="Derive the requests behind each recorded Temporal JSON history, run "
        "them through the model's history service, and compare the model's history with "
        "the recorded one field by field. Exit 0 all reproduced (or declared not "
        "modelled), 1 a difference, 2 bad input. With --target, run the scenario library "
        "against a Temporal endpoint instead and judge every history it writes (live mode, "
        "below).",
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "paths", nargs="*", type=nonempty_path, metavar="HISTORY", help="history file or directory"
    )
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        type=field_name,
        metavar="FIELD",
        help="also leave this field's values uncompared (repeatable; a JSON field name)",
    )
    parser.add_argument(
        "--server-version",
        type=server_version,
        default=None,
        metavar="VERSION",
        help="the version of the server that wrote the histories (like 1.29.1), when their "
        "times do not tell: an older server run recently. The rules for older servers "
        "(fields they did not write, or wrote otherwise) then apply by that version's "
        "release, not by the first event's time",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    live_cmd.add_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.target is not None:
        return live_cmd.run(args)
    problem = live_cmd.offline_problem(args)
    if problem is not None:
        print(f"tmodel conform: {problem}", file=sys.stderr)
        return 2
    targets = list(collect(args.paths))
    ignore = frozenset(args.ignore)
    verdicts: list[Verdict] = [Verdict(path, error=error) for path, error in targets if error]
    readable = [path for path, error in targets if not error]
    with progress("conforming", total=len(readable), enabled=not args.json) as advance:
        for verdict in judge_paths(readable, ignore, args.server_version or ""):
            verdicts.append(verdict)
            advance(1)
    order = {path: i for i, (path, _) in enumerate(targets)}
    verdicts.sort(key=lambda v: order.get(v.path, len(order)))
    if args.json:
        print(json.dumps(document(verdicts), indent=2))
    else:
        _print_report(verdicts)
    kinds = {v.kind for v in verdicts}
    if "unreadable" in kinds:
        return 2
    return 1 if "differing" in kinds else 0


def document(verdicts: list[Verdict]) -> dict[str, Any]:
    return {
        "histories": [v.to_json() for v in verdicts],
        "summary": {
            "histories": len(verdicts),
            **{k: sum(v.kind == k for v in verdicts) for k in _KINDS},
        },
    }


_KINDS = ("reproduced", "differing", "not_modelled", "unreadable")


def _print_report(verdicts: list[Verdict]) -> None:
    out = sys.stdout
    for v in verdicts:
        if v.error is not None:
            print(f"ERROR         {v.path}: {v.error}", file=out)
        elif v.not_modelled is not None:
            print(f"not modelled  {v.path}: {v.not_modelled}", file=out)
        elif v.difference is not None:
            print(f"DIFFERS       {v.path} ({v.events} events)", file=out)
            d = v.difference
            print(f"  event {d.event_id} {d.event_type}: {d.field}", file=out)
            print(f"    the model writes  {d.expected}", file=out)
            print(f"    the history has   {d.produced}", file=out)
            if v.hint is not None:
                print(f"  hint: {v.hint}", file=out)
        else:
            print(f"reproduced    {v.path} ({v.events} events)", file=out)
        if v.note is not None and v.error is None:
            print(f"  note: {v.note}", file=out)
    summary_table(
        "conform",
        [("histories", str(len(verdicts)))]
        + [(k.replace("_", " "), str(sum(v.kind == k for v in verdicts))) for k in _KINDS],
    )
