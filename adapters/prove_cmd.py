"""`tmodel prove [THEOREM ...] [--negative] [--json]`: run the theorems.

Proves the named theorems (default: all of `proofs.theorems.THEOREMS`), each over the
code the model runs (docs/theorems.md). With ``--negative``, runs each theorem's
negative variant instead (the same proof over that code with one guard removed), whose
counterexamples show that the proofs depend on the guard; those are expected to fail.
Exit codes: 0 every theorem proved, 1 one was not (its counterexample
is printed), 2 an unknown theorem name (one line, no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from adapters.console import progress, summary_table
from core.errors import BadInput
from proofs.theorems import THEOREMS, Result, Theorem

EXIT_OK, EXIT_FOUND, EXIT_BAD_INPUT = 0, 1, 2


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "prove",
        help="prove the theorems over the executed code",
        description="Prove the theorems of proofs/theorems (default: all). "
        f"Theorems: {', '.join(THEOREMS)}. Exit 0 all proved, 1 one not proved, "
        "2 bad input.",
    )
    parser.add_argument("theorems", nargs="*", metavar="THEOREM", help="theorem id")
    parser.add_argument(
        "--negative",
        action="store_true",
        help="run the negative variants (a guard removed): each must fail",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(run=run)


def select(names: Sequence[str]) -> list[Theorem]:
    """The theorems named (case-insensitive), in the order given; all when none."""
    if not names:
        return list(THEOREMS.values())
    by_upper = {key.upper(): theorem for key, theorem in THEOREMS.items()}
    chosen = []
    for name in names:
        theorem = by_upper.get(name.upper())
        if theorem is None:
            raise BadInput(f"unknown theorem {name!r} (known: {', '.join(THEOREMS)})")
        chosen.append(theorem)
    return chosen


def run(args: argparse.Namespace) -> int:
    try:
        theorems = select(args.theorems)
    except BadInput as exc:
        print(f"tmodel prove: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    results: list[Result] = []
    with progress("theorems", total=len(theorems), enabled=not args.json) as advance:
        for theorem in theorems:
            results.append(theorem.prove_negative() if args.negative else theorem.prove())
            advance(1)
    if args.json:
        print(json.dumps(document(results), indent=2))
    else:
        _print_report(results)
    return EXIT_OK if all(r.proved for r in results) else EXIT_FOUND


def document(results: Sequence[Result]) -> dict[str, Any]:
    """The ``--json`` document."""
    return {
        "theorems": [
            {
                "id": r.id,
                "statement": r.statement,
                "variant": r.variant,
                "proved": r.proved,
                "seconds": round(r.seconds, 6),
                "obligations": r.obligations,
                "counterexample": r.counterexample,
            }
            for r in results
        ],
        "ok": all(r.proved for r in results),
    }


def _print_report(results: Sequence[Result]) -> None:
    for r in results:
        mark = "proved    " if r.proved else "NOT PROVED"
        print(f"{mark} {r.id:<24} {r.seconds:>7.3f}s  {r.statement}")
        if r.variant != "theorem":
            print(f"           ({r.variant})")
        if r.counterexample:
            print("\n".join("           " + line for line in r.counterexample.splitlines()))
    summary_table(
        "prove",
        [
            ("theorems", str(len(results))),
            ("proved", str(sum(r.proved for r in results))),
            ("not proved", str(sum(not r.proved for r in results))),
            ("seconds", f"{sum(r.seconds for r in results):.3f}"),
        ],
    )
