"""`tmodel lint HISTORY... [--json] [--workflow MODULE:NAME] [--limit KEY=VALUE ...]`:
the anti-patterns of workflow histories.

For each history (files, or directories walked for ``*.json`` as `tmodel validate` walks
them): the findings of core/statemachine/history/lint.py (near the server's limits,
large payloads, continue-as-new churn, long activities without heartbeats, a
long-running run that never continues as new), each naming its rule, its events and
what to do instead; across the histories given, churn along a continue-as-new chain;
and, with ``--workflow``, a replay of each history of that workflow's type, where a
nondeterminism at an event that is no patch marker suggests a change made without a
patch (LINT-UNPATCHED-CHANGE), and one at a patch marker a patch removed or renamed
while histories still need it (LINT-PATCH-DIVERGENCE). The limits are the server's
defaults unless ``--limit`` names others.

Exit codes: 0 no findings, 1 findings, 2 bad input (a history unreadable, a bad
argument, a workflow that cannot be loaded), reported on one line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.argtypes import nonempty_path, positive
from adapters.console import progress, summary_table
from adapters.input_file import read_history
from adapters.limit_args import add_limit_options, limits_of
from adapters.replay_cmd import load_workflow
from adapters.validate_cmd import collect
from core.errors import BadInput, ModelError, Nondeterminism, PotentialDeadlock
from core.events import HistoryEvent, MarkerRecordedEventAttributes
from core.statemachine.history import lint as rules
from core.statemachine.history.limits import Limits
from core.statemachine.history.lint import Finding, RunSummary, Thresholds
from core.statemachine.replay.definition import Definition
from core.statemachine.replay.driver import replay
from core.statemachine.replay.marker import PATCH_MARKER
from sim.deadlock import DeadlockGuard

DEFAULTS = Thresholds()


@dataclass(slots=True)
class Report:
    """The findings on one history, or why it could not be read."""

    path: str
    events: int = 0
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"path": self.path, "events": self.events}
        if self.error is not None:
            doc["error"] = self.error
        else:
            doc["findings"] = [_finding_json(f) for f in self.findings]
        return doc


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "events": list(finding.events),
        "message": finding.message,
        "instead": finding.instead,
    }


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "lint",
        help="find the anti-patterns of workflow histories",
        description="Find the anti-patterns of Temporal JSON histories: near the server's "
        "limits, large payloads, continue-as-new churn, long activities without "
        "heartbeats, long-running runs that never continue as new, and (with --workflow) "
        "changes made without a patch. Exit 0 no findings, 1 findings, 2 bad input.",
    )
    parser.add_argument(
        "paths", nargs="+", type=nonempty_path, metavar="HISTORY", help="history file or directory"
    )
    parser.add_argument(
        "--workflow",
        metavar="MODULE:NAME",
        help="replay the histories of this workflow's type against it (as tmodel replay)",
    )
    add_limit_options(parser, always=True)
    parser.add_argument(
        "--long-activity",
        type=positive,
        default=DEFAULTS.long_activity // rules.SECOND,
        metavar="SECONDS",
        help="an activity timeout above this, without a heartbeat timeout, is a finding",
    )
    parser.add_argument(
        "--churn-events",
        type=positive,
        default=DEFAULTS.churn_events,
        metavar="N",
        help="a run that continues as new after at most N events counts toward churn",
    )
    parser.add_argument(
        "--long-events",
        type=positive,
        metavar="N",
        help="a run of N events that never continues as new is a finding (default: the "
        "server's limit.historyCount.suggestContinueAsNew)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    limits = limits_of(args)
    assert limits is not None  # lint always has limits: the server's, or those given
    thresholds = Thresholds(
        long_activity=args.long_activity * rules.SECOND,
        churn_events=args.churn_events,
        long_events=args.long_events or 0,
    )
    try:
        workflow = load_workflow(args.workflow) if args.workflow else None
    except BadInput as exc:
        print(f"tmodel lint: {exc}", file=sys.stderr)
        return 2
    targets = list(collect(args.paths))
    reports: list[Report] = []
    runs: list[tuple[str, RunSummary]] = []
    with progress("linting", total=len(targets), enabled=not args.json) as advance:
        for path, error in targets:
            report = (
                Report(path, error=error)
                if error
                else _lint_file(path, limits, thresholds, workflow, runs)
            )
            reports.append(report)
            advance(1)
    chains = rules.chain_findings(runs, thresholds)
    if args.json:
        print(json.dumps(document(reports, chains), indent=2))
    else:
        _print_report(reports, chains)
    if any(r.error is not None for r in reports):
        return 2
    return 1 if chains or any(r.findings for r in reports) else 0


def _lint_file(
    path: str,
    limits: Limits,
    thresholds: Thresholds,
    workflow: Definition | None,
    runs: list[tuple[str, RunSummary]],
) -> Report:
    try:
        events = read_history(path)
    except BadInput as exc:
        return Report(path, error=str(exc).removeprefix(f"{path}: "))
    runs.append((path, rules.summary(events)))
    findings = list(rules.lint(events, limits, thresholds))
    if workflow is not None:
        findings.extend(replay_findings(workflow, events))
    return Report(path, len(events), findings)


def replay_findings(workflow: Definition, events: Sequence[HistoryEvent]) -> list[Finding]:
    """A change the code made without a patch, seen by replaying a history of its type
    (other types, and code that does not yield, are `tmodel replay`'s to report)."""
    started = events[0].attributes
    kind = getattr(getattr(started, "workflow_type", None), "name", "")
    if kind != workflow.name:
        return []
    try:
        replay(workflow, events, guard=DeadlockGuard())
    except Nondeterminism as nd:
        return [_divergence(events, nd)]
    except (PotentialDeadlock, ModelError):
        return []
    return []


def _divergence(events: Sequence[HistoryEvent], nd: Nondeterminism) -> Finding:
    at = next((e.attributes for e in events if e.event_id == nd.event_id), None)
    marker = isinstance(at, MarkerRecordedEventAttributes) and at.marker_name == PATCH_MARKER
    patched = marker or PATCH_MARKER in nd.produced
    said = f"at event {nd.event_id} the history has {nd.expected}, the code {nd.produced}"
    if patched:
        return Finding(
            rules.PATCH_DIVERGENCE,
            (nd.event_id,),
            f"replay diverges at a patch marker: {said}",
            "keep a patch (workflow.patched, then deprecate_patch) until no open run, "
            "and no history you replay, took the old path; never rename its id",
        )
    return Finding(
        rules.UNPATCHED_CHANGE,
        (nd.event_id,),
        f"replay diverges: {said}; the workflow's code changed without a patch",
        "wrap the change in workflow.patched(ID) so runs that took the old path keep it, "
        "or deploy the change as a new workflow type",
    )


def document(
    reports: list[Report], chains: Sequence[tuple[tuple[str, ...], Finding]]
) -> dict[str, Any]:
    findings = sum(len(r.findings) for r in reports) + len(chains)
    readable = [r for r in reports if r.error is None]
    return {
        "histories": [r.to_json() for r in reports],
        "chains": [{"paths": list(paths), **_finding_json(f)} for paths, f in chains],
        "summary": {
            "histories": len(reports),
            "clean": sum(not r.findings for r in readable),
            "with_findings": sum(bool(r.findings) for r in readable),
            "findings": findings,
            "unreadable": len(reports) - len(readable),
        },
    }


def _print_report(reports: list[Report], chains: Sequence[tuple[tuple[str, ...], Finding]]) -> None:
    for report in reports:
        if report.error is not None:
            print(f"ERROR     {report.path}: {report.error}")
        elif report.findings:
            print(f"FINDINGS  {report.path} ({report.events} events)")
            for f in report.findings:
                _print_finding(f)
        else:
            print(f"clean     {report.path} ({report.events} events)")
    for paths, f in chains:
        print(f"CHAIN     {', '.join(paths)}")
        _print_finding(f)
    summary = document(reports, chains)["summary"]
    summary_table(
        "lint",
        [
            ("histories", str(summary["histories"])),
            ("clean", str(summary["clean"])),
            ("with findings", str(summary["with_findings"])),
            ("findings", str(summary["findings"])),
            ("unreadable", str(summary["unreadable"])),
        ],
    )


def _print_finding(finding: Finding) -> None:
    where = f" event {', '.join(map(str, finding.events))}" if finding.events else ""
    print(f"  {finding.rule}{where}: {finding.message}")
    print(f"    instead: {finding.instead}")
