"""`tmodel check MODEL [--param K=V ...] [--symmetry] [--dot FILE] [--graphml FILE] [--json]`.

Runs the explicit-state checker (`proofs.checker`) on a registered model
(`proofs.models.MODELS`). Exit codes: 0 no violation, 1 a violation (its counterexample
printed as a numbered action list from the initial state), 2 bad input (unknown model,
malformed or unknown ``--param``, an export file that cannot be written) on one line.
Output files are probed before the search so a long run never fails at the very end.
A size parameter above its default first gets an estimate of the state space
(`adapters.check_estimate`): a warning on stderr when the search looks infeasible.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from adapters.argtypes import HelpFormatter, nonempty_path
from adapters.check_estimate import estimate, warning
from adapters.console import progress, running_total, summary_table
from core.errors import BadInput
from proofs.checker import CheckError, Result, Violation, check
from proofs.graph import labelled, write_dot, write_graphml, write_json
from proofs.models import MODELS, SIZES
from proofs.models.matching_dedup import VARIANTS as DEDUP_VARIANTS
from proofs.models.shard_failover import VARIANTS as FAILOVER_VARIANTS
from proofs.models.workflow_run import VARIANTS as RUN_VARIANTS

EXPORTS: dict[str, Callable[[Any, str], None]] = {
    "dot": write_dot,
    "graphml": write_graphml,
    "graph_json": write_json,
}


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "check",
        formatter_class=HelpFormatter,
        help="model-check a Python model exhaustively",
        description="Explore every reachable state of a model, checking its invariants "
        "and (without --symmetry) its liveness properties under weak fairness. "
        f"Models: {', '.join(MODELS)}. Exit 0 no violation, 1 violation, 2 bad input.",
    )
    parser.add_argument("model", metavar="MODEL", help=f"one of: {', '.join(MODELS)}")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="model parameter, repeatable (two-phase-commit: "
        f"{_sizes('two-phase-commit')}, broken=true, liveness=true; "
        f"workflow-run: broken=true|{'|'.join(RUN_VARIANTS)}; matching-dedup: "
        f"{_sizes('matching-dedup')}, broken={'|'.join(DEDUP_VARIANTS)}; shard-failover: "
        f"{_sizes('shard-failover')}, broken={'|'.join(FAILOVER_VARIANTS)}). A size "
        "raised above its default first gets an estimate of the state space, and a "
        "warning if the search looks infeasible",
    )
    parser.add_argument("--symmetry", action="store_true", help="use symmetry reduction")
    parser.add_argument(
        "--unfair", action="store_true", help="check liveness without weak fairness"
    )
    parser.add_argument(
        "--dot", type=nonempty_path, metavar="FILE", help="write the state graph as Graphviz DOT"
    )
    parser.add_argument(
        "--graphml", type=nonempty_path, metavar="FILE", help="write the state graph as GraphML"
    )
    parser.add_argument(
        "--graph-json",
        type=nonempty_path,
        metavar="FILE",
        help="write the state graph as node-link JSON",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(run=run)


def _sizes(model: str) -> str:
    return ", ".join(f"{s.key}={s.low}..{s.high} (default {s.default})" for s in SIZES[model])


def parse_params(items: Sequence[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"--param {item!r}: expected K=V")
        params[key.strip()] = value.strip()
    return params


def _probe_writable(path: str) -> None:
    try:  # looking at the path may fail (a parent the user cannot search)
        _probe(path)
    except OSError as exc:
        raise BadInput(f"{path}: {exc.strerror or exc}") from None


def _probe(path: str) -> None:
    target = Path(path)
    if target.is_dir():
        raise BadInput(f"{path}: is a directory")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise BadInput(f"{path}: no such directory {str(parent)!r}")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise BadInput(f"{path}: not writable")


def run(args: argparse.Namespace) -> int:
    try:
        factory = MODELS.get(args.model)
        if factory is None:
            raise BadInput(f"unknown model {args.model!r} (known: {', '.join(MODELS)})")
        params = parse_params(args.param)
        model = factory(params)
        exports = {kind: getattr(args, kind) for kind in EXPORTS if getattr(args, kind)}
        for path in exports.values():
            _probe_writable(path)
    except BadInput as exc:
        print(f"tmodel check: {exc}", file=sys.stderr)
        return 2
    found = estimate(args.model, params, symmetry=args.symmetry)
    if found is not None and found.too_big():
        for i, line in enumerate(warning(found)):  # one write per line (cli.py)
            print(("tmodel check: " if i == 0 else "") + line, file=sys.stderr)
    try:
        result = _search(model, args, want_graph=bool(exports))
    except CheckError as exc:  # the model itself is broken: say so, no traceback
        print(f"tmodel check: model {args.model!r} is inconsistent: {exc}", file=sys.stderr)
        return 2
    try:
        _export(model, result, exports)
    except OSError as exc:
        print(f"tmodel check: cannot write graph: {exc}", file=sys.stderr)
        return 2
    describe: Callable[[Any], str] = getattr(model, "describe", str)
    if args.json:
        print(json.dumps(document(result, describe), indent=2))
    else:
        _print_report(result, describe)
    return 1 if result.violations else 0


def _search(model: Any, args: argparse.Namespace, want_graph: bool) -> Result:
    # Progress goes to stderr, with --json too: stdout stays one document.
    with progress(f"check {args.model}", total=None, unit="states") as advance:
        report = running_total(advance)
        return check(
            model,
            symmetry=args.symmetry,
            fair=not args.unfair,
            graph=want_graph,
            progress=report,
            progress_every=2_000,  # often enough for a line every few seconds
        )


def _export(model: Any, result: Result, exports: dict[str, str]) -> None:
    if not exports or result.graph is None:
        return
    describe = getattr(model, "describe", str)
    graph = labelled(result.graph, result.coverage.states_per_depth, describe)
    for kind, path in exports.items():
        EXPORTS[kind](graph, path)


def document(result: Result, describe: Callable[[Any], str] = str) -> dict[str, Any]:
    """The ``--json`` document."""
    return {
        "model": result.model,
        "distinct_states": result.distinct_states,
        "transitions": result.transitions,
        "depth": result.depth,
        "seconds": round(result.seconds, 6),
        "symmetry": result.symmetry,
        "complete": result.complete,
        "notes": list(result.notes),
        "violations": [_violation_json(v, describe) for v in result.violations],
        "coverage": {
            "taken": result.coverage.taken,
            "discovered": result.coverage.discovered,
            "states_per_depth": list(result.coverage.states_per_depth),
        },
    }


def _violation_json(v: Violation, describe: Callable[[Any], str]) -> dict[str, Any]:
    return {
        "property": v.property,
        "kind": v.kind,
        "init": describe(v.init),
        "actions": [str(a) for a in v.actions],
        "cycle_start": v.cycle_start,
    }


def format_violation(v: Violation, describe: Callable[[Any], str] = str) -> list[str]:
    """The counterexample as numbered lines (a liveness lasso marks where its cycle starts)."""
    steps = len(v.actions)
    lines = [f"{v.property} violated ({v.kind}), {steps} step{'s' * (steps != 1)} from:"]
    lines.append(f"   0. init  {describe(v.init)}")
    for k, action in enumerate(v.actions, 1):
        if v.cycle_start is not None and k - 1 == v.cycle_start:
            lines.append("      -- cycle: the steps below repeat forever --")
        lines.append(f"  {k:>2}. {action}")
    if v.cycle_start is not None and v.cycle_start == steps:
        lines.append("      -- then nothing is enabled: the behaviour stops here forever --")
    return lines


def _print_report(result: Result, describe: Callable[[Any], str]) -> None:
    for v in result.violations:
        print("\n".join(format_violation(v, describe)))
    for note in result.notes:
        print(f"note: {note}")
    rate = result.distinct_states / result.seconds if result.seconds > 0 else 0.0
    summary_table(
        f"check {result.model}",
        [
            ("verdict", "violation" if result.violations else "no violation"),
            ("distinct states", f"{result.distinct_states:,}"),
            ("transitions", f"{result.transitions:,}"),
            ("depth", str(result.depth)),
            ("seconds", f"{result.seconds:.3f}"),
            ("states/s", f"{rate:,.0f}"),
            ("symmetry", "on" if result.symmetry else "off"),
            ("search", "complete" if result.complete else "stopped at first violation"),
        ],
    )
