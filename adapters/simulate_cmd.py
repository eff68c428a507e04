"""`tmodel simulate [--seed N | --seeds A..B] [--workflows N] [--workload NAME]
[--faults LIST|swarm] [--jobs N|auto] [--scheduler ADDRESS] [--clusters N]
[--retention DURATION [--archival]] [--repro FILE] [--json] [--out DIR]`.

Runs the deterministic cluster simulator (`sim.run.simulate`) once per seed, with every
invariant checked, and reports what happened: workflows, history events, the faults
injected by kind, the invariants checked and violated, virtual against wall time, and
the trace hash that pins the run. Exit codes: 0 no violation; 1 a violation - the
first failing seed is shrunk (`sim.shrink`) and written as a repro file, whose path and
replay command are printed; 2 bad input (an unknown workload or fault kind, a bad seed
range, an unreadable or malformed repro file, an ``--out`` that is not a directory), on
one line.

``--retention DURATION`` deletes closed runs that long after they close (`sim.retention`),
``--archival`` archives them first; both go into the config, so into repro files.
``--repro FILE`` replays a repro file instead: the same config, so the same trace hash
(the report says whether it matched), and exit 1 while the violation is still there.
``--out DIR`` writes, per seed, every history in Temporal's JSON format (which
``tmodel validate`` reads), the trace as text and an SVG timeline (`sim.timeline`).
``--jobs N`` runs up to N seeds at once in worker processes (`auto`: one per core); each
seed's run, and so its trace hash, is the same whichever process ran it.
``--scheduler tcp://HOST:PORT`` runs the seeds on a Dask cluster instead
(`adapters.simulate_dask`), with the same hashes; a failing seed is shrunk here.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from adapters.argtypes import HelpFormatter, jobs, nonempty_path, positive, whole_number
from adapters.console import progress, running_total
from adapters.input_file import MAX_REPRO_BYTES, read_text
from adapters.simulate_out import Written, describe, write_outputs
from adapters.simulate_out import document as written_document
from adapters.simulate_pool import run_many, run_one
from adapters.simulate_report import Outcome, document, print_report, repro_command
from core.errors import BadInput
from core.schedule.go_duration import parse_go_duration
from sim.cluster import check_config
from sim.config import (
    FAULT_KINDS,
    MAX_CLUSTERS,
    MAX_RETENTION,
    MAX_WORKFLOWS,
    REPLICATION_FAULT_KINDS,
    SimConfig,
)
from sim.kernel import SECOND
from sim.repro import Repro, ReproError, dumps, from_shrunk, loads
from sim.run import RunResult, simulate
from sim.shrink import Shrunk, shrink

DEFAULT = SimConfig()
MAX_SEEDS = 100_000


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "simulate",
        formatter_class=HelpFormatter,
        help="simulate a cluster under injected faults and check every invariant",
        description="Run the deterministic cluster simulator: a whole Temporal cluster in "
        "one process, from a seed, under injected faults, checking every invariant. "
        f"Default: seed 0, {DEFAULT.workflows} workflows of the {DEFAULT.workload!r} "
        "workload under swarm faults. Exit 0 no violation, 1 violation (shrunk, with a "
        "repro file), 2 bad input.",
    )
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=_seed, metavar="N", help="the seed (default 0)")
    seeds.add_argument(
        "--seeds", type=_seed_range, metavar="A..B", help="every seed from A to B inclusive"
    )
    parser.add_argument(
        "--workflows",
        type=_workflows,
        metavar="N",
        help=f"workflows to start (default {DEFAULT.workflows})",
    )
    parser.add_argument(
        "--workload",
        metavar="NAME",
        help=f"workload (default {DEFAULT.workload}), one of: {', '.join(known_workloads())}",
    )
    parser.add_argument(
        "--faults",
        type=_faults,
        metavar="LIST|swarm",
        help="comma-separated fault kinds, 'none', or 'swarm': the seed picks kinds and "
        f"intensities (default). Kinds: {', '.join(FAULT_KINDS)}",
    )
    parser.add_argument(
        "--jobs",
        type=jobs,
        default=1,
        metavar="N|auto",
        help="seeds run at once, one process each (default 1; auto: one per core)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run the seeds on a Dask cluster: the address of its scheduler (`dask "
        "scheduler`; workers: `dask worker tcp://HOST:PORT`, with this package installed)",
    )
    parser.add_argument(
        "--clusters",
        type=_clusters,
        metavar="N",
        help="clusters sharing a global namespace (default 1). N > 1 simulates replication "
        "between them under the replication faults: "
        f"{', '.join(REPLICATION_FAULT_KINDS)} (docs/replication.md)",
    )
    parser.add_argument(
        "--retention",
        type=_retention,
        metavar="DURATION",
        help="delete each closed run this long (virtual time) after it closed, as a "
        "namespace's retention does: a Go duration like 90s, 72h, or days like 3d "
        "(default: closed runs are kept; docs/simulation.md#retention-and-archival)",
    )
    parser.add_argument(
        "--archival",
        action="store_true",
        default=None,
        help="with --retention: archive each closed history to a simulated archive store "
        "before it is deleted",
    )
    parser.add_argument("--repro", type=nonempty_path, metavar="FILE", help="replay a repro file")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--out",
        type=nonempty_path,
        metavar="DIR",
        help="write histories (Temporal JSON), traces and timelines",
    )
    parser.set_defaults(run=run)


# --------------------------------------------------------------------------- arguments


def _retention(text: str) -> int:
    """A retention: a Go duration (`72h`) or whole days (`3d`), positive, at most 30 days."""
    try:
        ns = int(text[:-1]) * 86_400 * SECOND if text.endswith("d") else parse_go_duration(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (like 90s, 72h, 3d)") from None
    if not 0 < ns <= MAX_RETENTION:
        raise argparse.ArgumentTypeError(f"a retention is more than 0 and at most 30d: {text!r}")
    return ns


def _seed(text: str) -> int:
    value = whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed is not negative: {text!r}")
    return value


def _workflows(text: str) -> int:
    value = positive(text)
    if value > MAX_WORKFLOWS:
        raise argparse.ArgumentTypeError(f"more than {MAX_WORKFLOWS:,} workflows: {text!r}")
    return value


def _clusters(text: str) -> int:
    value = positive(text)
    if value > MAX_CLUSTERS:
        raise argparse.ArgumentTypeError(f"more than {MAX_CLUSTERS} clusters: {text!r}")
    return value


def _seed_range(text: str) -> range:
    first, sep, last = text.partition("..")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected A..B, e.g. 0..9: {text!r}")
    a, b = _seed(first), _seed(last)
    if b < a:
        raise argparse.ArgumentTypeError(f"empty range {text!r}: {b} is before {a}")
    if b - a + 1 > MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"more than {MAX_SEEDS:,} seeds: {text!r}")
    return range(a, b + 1)


def _faults(text: str) -> tuple[str, ...] | str:
    if text == "swarm":
        return "swarm"
    if text == "none":
        return ()
    kinds = tuple(kind.strip() for kind in text.split(","))
    for kind in kinds:
        if kind not in FAULT_KINDS and kind not in REPLICATION_FAULT_KINDS:
            known = ", ".join((*FAULT_KINDS, *REPLICATION_FAULT_KINDS))
            raise argparse.ArgumentTypeError(
                f"unknown fault kind {kind!r} (known: {known}, or swarm, none)"
            )
    return tuple(dict.fromkeys(kinds))  # each kind once, in the order given


def known_workloads() -> tuple[str, ...]:
    from sim.workloads import WORKLOADS

    return tuple(WORKLOADS)


@dataclass(frozen=True, slots=True)
class Request:
    """What to run: configs (one per seed), or a repro file to replay; where (`scheduler`:
    a Dask cluster's address, None: here)."""

    configs: tuple[SimConfig, ...]
    repro: Repro | None = None
    repro_path: str | None = None
    scheduler: str | None = None


def parse_request(args: argparse.Namespace) -> Request:
    """The runs the arguments ask for; raises `BadInput` with a one-line reason."""
    scheduler = getattr(args, "scheduler", None)
    if scheduler is not None and (args.repro is not None or args.jobs != 1):
        raise BadInput("--scheduler runs a sweep on a cluster; it takes no --repro or --jobs")
    if scheduler is not None and not scheduler.strip():
        raise BadInput("--scheduler: expected an address like tcp://127.0.0.1:8786")
    if args.repro is not None:
        given = [
            f"--{name}"
            for name in (
                "seed",
                "seeds",
                "workflows",
                "workload",
                "faults",
                "clusters",
                "retention",
                "archival",
            )
            if getattr(args, name, None) is not None
        ]
        if given:
            raise BadInput(f"--repro replays a file's config; it takes no {given[0]}")
        repro = read_repro(args.repro)
        return Request((repro.config,), repro, args.repro)
    workload = args.workload if args.workload is not None else DEFAULT.workload
    known = known_workloads()
    if workload not in known:
        raise BadInput(f"--workload: unknown workload {workload!r} (known: {', '.join(known)})")
    seeds = args.seeds if args.seeds is not None else [args.seed or 0]
    base = SimConfig(
        workflows=args.workflows or DEFAULT.workflows,
        workload=workload,
        faults=args.faults if args.faults is not None else DEFAULT.faults,
        clusters=getattr(args, "clusters", None) or 1,
    )
    try:
        base = replace(
            base,
            retention=getattr(args, "retention", None) or 0,
            archival=bool(getattr(args, "archival", None)),
        )
        check_config(base)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    return Request(tuple(replace(base, seed=seed) for seed in seeds), scheduler=scheduler)


def read_repro(path: str) -> Repro:
    text = read_text(path, MAX_REPRO_BYTES, "a repro file")
    try:
        return loads(text)
    except ReproError as exc:
        raise BadInput(f"{path}: {exc}") from None


def _prepare_out(out: str | None) -> Path | None:
    if out is None:
        return None
    path = Path(out)
    try:  # looking at the path may fail too (a parent the user cannot search)
        if path.exists() and not path.is_dir():
            raise BadInput(f"--out {out}: not a directory")
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"--out {out}: {exc.strerror or exc}") from None
    return path


# --------------------------------------------------------------------------- running


def run(args: argparse.Namespace) -> int:
    try:
        request = parse_request(args)
        out = _prepare_out(args.out)
    except BadInput as exc:
        print(f"tmodel simulate: {exc}", file=sys.stderr)
        return 2
    try:
        outcomes = _run_all(request.configs, args.jobs, out is not None, request.scheduler)
    except BadInput as exc:  # the cluster could not be reached or used
        print(f"tmodel simulate: {exc}", file=sys.stderr)
        return 2
    shrunk: Shrunk | None = None
    repro_path: str | None = request.repro_path
    failing = next((o for o in outcomes if o.result.violations), None)
    written: list[Written] = []
    try:
        if failing is not None and request.repro is None:
            shrunk = _shrink(failing)
            repro_path = str(_repro_path(out, failing.config.seed))
            Path(repro_path).write_text(dumps(from_shrunk(shrunk)), encoding="utf-8")
        if out is not None:
            written = write_outputs(out, outcomes, shrunk)
    except OSError as exc:
        print(f"tmodel simulate: cannot write: {exc}", file=sys.stderr)
        return 2
    if args.json:
        doc = document(outcomes, shrunk, repro_path, request.repro, out)
        doc["written"] = written_document(written)
        print(json.dumps(doc, indent=2))
    else:
        print_report(outcomes, shrunk, repro_path, request.repro)
        if out is not None:
            print("\n".join(describe(out, written)))
    return 1 if failing is not None else 0


def _run_all(
    configs: tuple[SimConfig, ...], jobs: int = 1, full: bool = True, scheduler: str | None = None
) -> list[Outcome]:
    """Every config's run, here or (`scheduler`) on a Dask cluster. Progress goes to
    stderr, with ``--json`` too (stdout stays one document): over the workflows closed in
    a single local run, over the seeds in a sweep."""
    if scheduler is not None:
        from adapters.simulate_dask import run_on_cluster  # Dask is imported only here

        with progress("simulate", total=len(configs), unit="seeds") as advance:
            done = run_on_cluster(configs, scheduler, full, lambda _: advance(1))
        return [
            Outcome(config, result, seconds)
            for config, (result, seconds) in zip(configs, done, strict=True)
        ]
    if len(configs) == 1:
        config = configs[0]
        label, workflows = f"simulate seed {config.seed}", len(config.started())
        with progress(label, total=workflows, unit="workflows closed") as advance:
            closed = running_total(advance)
            result, seconds = run_one(config, True, lambda done, _total: closed(done))
            return [Outcome(config, result, seconds)]
    with progress("simulate", total=len(configs), unit="seeds") as advance:
        done = run_many(configs, jobs, full, lambda _: advance(1))
    return [
        Outcome(config, result, seconds)
        for config, (result, seconds) in zip(configs, done, strict=True)
    ]


def _shrink(failing: Outcome) -> Shrunk:
    with progress("shrinking", total=None, unit="simulations") as advance:

        def counted(config: SimConfig) -> RunResult:
            advance(1)
            return simulate(config)

        return shrink(failing.config, failing.result, run=counted)


def _repro_path(out: Path | None, seed: int) -> Path:
    name = f"tmodel-repro-seed-{seed}.json"
    return out / name if out is not None else Path(name)


__all__ = ["add_parser", "parse_request", "read_repro", "repro_command", "run"]
