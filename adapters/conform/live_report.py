"""The report of `tmodel conform --target`: one table, history x check, the reason for
every cell that is not a plain pass, and a summary; or one JSON document."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from adapters.conform.checks import CHECKS, FAIL, NOT_APPLICABLE, PASS, SKIPPED
from adapters.conform.live import LiveReport
from adapters.console import duration, summary_table

_STYLE = {PASS: "green", FAIL: "bold red", NOT_APPLICABLE: "dim", SKIPPED: "yellow"}


def document(report: LiveReport) -> dict[str, Any]:
    return {
        "target": report.target,
        "server_version": report.server_version,
        "checks": list(CHECKS),
        "histories": [row.to_json() for row in report.rows],
        "notes": report.notes,
        "summary": {
            "scenarios": len({row.scenario for row in report.rows}),
            "histories": sum(row.events > 0 for row in report.rows),
            "pass": report.count(PASS),
            "fail": report.count(FAIL),
            "not_applicable": report.count(NOT_APPLICABLE),
            "skipped": report.count(SKIPPED),
            "seconds": {
                "scenarios": round(report.scenario_seconds, 1),
                "checks": round(report.check_seconds, 1),
            },
        },
    }


def print_report(report: LiveReport) -> None:
    widest = max([len(row.history) for row in report.rows] + [7])
    console = Console(file=sys.stdout, width=max(Console().width, widest + 11 * len(CHECKS) + 8))
    version = f" (server {report.server_version})" if report.server_version else ""
    table = Table(title=f"tmodel conform --target {report.target}{version}")
    table.add_column("history")
    for check in CHECKS:
        table.add_column(check, justify="center")
    for row in report.rows:
        cells = [row.cells[c].status for c in CHECKS]
        table.add_row(row.history, *(f"[{_STYLE[s]}]{s}[/]" for s in cells))
    console.print(table)
    for row in report.rows:
        for check in CHECKS:
            cell = row.cells[check]
            if cell.status != PASS:
                print(f"{cell.status:7} {row.history} / {check}: {cell.detail}")
    for note in report.notes:
        print(f"note    {note}")
    doc = document(report)["summary"]
    summary_table(
        "conform --target",
        [
            ("scenarios", str(doc["scenarios"])),
            ("histories", str(doc["histories"])),
            ("checks passed", str(doc["pass"])),
            ("checks FAILED", str(doc["fail"])),
            ("not applicable", str(doc["not_applicable"])),
            ("skipped (budget)", str(doc["skipped"])),
            ("running the scenarios", duration(report.scenario_seconds)),
            ("checking the histories", duration(report.check_seconds)),
        ],
    )
