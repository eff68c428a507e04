"""Live conformance: run the scenario library against a Temporal endpoint, fetch every
history it wrote, and judge each with the checks of adapters/conform/checks.py.

`run_live(options)` runs the chosen scenarios one after the other through the official
SDK (adapters/conform/scenarios/), then judges the histories (after the scenarios, so
that TLC does not compete with their timing), and returns one row per history: the
scenario, the history's name (`<scenario><suffix>`, as in the recorded corpus) and a
cell per check. A scenario that did not run to the outcome it had on the real server
gives one row whose "run" cell fails and says why.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.conform.checks import (
    CHECKS,
    DEFAULT_TLC_BUDGET,
    FAIL,
    NOT_APPLICABLE,
    PASS,
    BadRecorded,
    Cell,
    Tla,
    check_recorded,
    check_recorded_files,
    check_replay,
    check_reproduce,
    check_validate,
    recorded_index,
)
from adapters.conform.judge import reset_of, run_id
from adapters.conform.older_servers import is_version
from adapters.conform.scenarios.context import Capture, Restart
from adapters.conform.scenarios.corpus import write_history, write_manifest
from adapters.conform.scenarios.registry import EVERY_SCENARIO, Scenario
from adapters.conform.scenarios.runner import (
    ScenarioRun,
    command_restart,
    connect,
    prepare,
    run_scenarios,
    server_version,
)
from adapters.conform.scenarios.worker_process import quiet_runtime
from adapters.temporal_json import decode_history
from core.errors import BadInput
from core.events import HistoryEvent

ROOT = Path(__file__).resolve().parents[2]
# The recorded real histories (a source checkout has them; an installed package not).
DEFAULT_RECORDED = ROOT / "tests" / "fixtures" / "histories"


@dataclass
class Options:
    target: str
    scenarios: Sequence[Scenario]
    restart: Restart | None = None
    restart_command: Sequence[str] | None = None
    recorded: Path | None = DEFAULT_RECORDED
    tlc_budget: float = DEFAULT_TLC_BUDGET
    ignore: frozenset[str] = frozenset()  # fields left out of reproduce and recorded
    out: Path | None = None
    verbose: bool = False
    connect_timeout: float = 10.0


@dataclass
class Row:
    scenario: str
    history: str  # the history's name, or the scenario's when it produced none
    events: int
    cells: dict[str, Cell]

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "history": self.history,
            "events": self.events,
            "checks": {name: cell.to_json() for name, cell in self.cells.items()},
        }


@dataclass
class LiveReport:
    target: str
    server_version: str = ""
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scenario_seconds: float = 0.0
    check_seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(cell.status == status for row in self.rows for cell in row.cells.values())

    @property
    def failed(self) -> bool:
        return self.count(FAIL) > 0


def select(names: Sequence[str], faults: frozenset[str]) -> list[Scenario]:
    """The scenarios to run: those named (all, if none is), less those that inject a
    fault not among `faults`; naming one of those is bad input."""
    for name in names:
        if name not in EVERY_SCENARIO:
            known = ", ".join(EVERY_SCENARIO)
            raise BadInput(f"--scenarios: no scenario {name!r} (the library has: {known})")
        fault = EVERY_SCENARIO[name].fault
        if fault is not None and fault not in faults:
            raise BadInput(f"--scenarios: {name} injects the fault {fault}: add it to --faults")
    chosen = [EVERY_SCENARIO[n] for n in names] if names else list(EVERY_SCENARIO.values())
    return [s for s in chosen if s.fault is None or s.fault in faults]


def _nothing(n: int) -> None:
    pass


def run_live(options: Options) -> LiveReport:
    """Run and judge; raises `runner.Unreachable` if the target does not answer."""
    report, runs = collect(options)
    return judge(report, runs, options)


def collect(
    options: Options, advance: Callable[[int], None] = _nothing
) -> tuple[LiveReport, list[ScenarioRun]]:
    """Run the scenarios (`advance(1)` after each); write what they captured to
    `options.out`, if given. A bad recorded history is refused first (`BadRecorded`)."""
    names = [s.name for s in options.scenarios]
    check_recorded_files(recorded_index(options.recorded), names)
    report = LiveReport(options.target)
    began = time.monotonic()
    runs = asyncio.run(_collect(options, report, advance))
    report.scenario_seconds = time.monotonic() - began
    if options.out is not None:
        _write(options.out, runs, report.server_version)
    return report, runs


def judge(
    report: LiveReport,
    runs: Sequence[ScenarioRun],
    options: Options,
    advance: Callable[[int], None] = _nothing,
) -> LiveReport:
    """Check every history captured (`advance(1)` after each)."""
    began = time.monotonic()
    # the target's version, when GetSystemInfo gave one (else the events' times decide)
    server = report.server_version if is_version(report.server_version) else ""
    report.rows = judge_runs(runs, options, advance, server)
    report.check_seconds = time.monotonic() - began
    return report


def histories(runs: Sequence[ScenarioRun]) -> int:
    return sum(len(run.captures) for run in runs if run.error is None)


async def _collect(
    options: Options, report: LiveReport, advance: Callable[[int], None]
) -> list[ScenarioRun]:
    logging.getLogger("temporalio").setLevel(logging.INFO if options.verbose else logging.CRITICAL)
    runtime = quiet_runtime(options.verbose)
    client = await connect(options.target, runtime, options.connect_timeout)
    report.server_version = await server_version(client)
    note = await prepare(client)
    if note is not None:
        report.notes.append(note)
    restart = options.restart
    if restart is None and options.restart_command:
        restart = command_restart(options.restart_command, options.target, runtime)
    return await run_scenarios(
        client,
        options.target,
        options.scenarios,
        restart=restart,
        verbose=options.verbose,
        done=lambda run: advance(1),
    )


def _write(out: Path, runs: Sequence[ScenarioRun], version: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    captures = [c for run in runs for c in run.captures]
    for capture in captures:
        write_history(out, capture)
    names = [run.scenario.name for run in runs]
    write_manifest(out, captures, names, names, {"server_version": version})


@dataclass(frozen=True, slots=True)
class _Decoded:
    capture: Capture
    events: tuple[HistoryEvent, ...] = ()
    json_events: tuple[Any, ...] = ()
    error: str = ""


def _decode(capture: Capture) -> _Decoded:
    text = capture.history.to_json()
    try:
        events = tuple(decode_history(text).events)
    except BadInput as exc:
        return _Decoded(capture, error=str(exc))
    if not events:
        return _Decoded(capture, error="the history has no events")
    return _Decoded(capture, events, tuple(json.loads(text)["events"]))


def judge_runs(
    runs: Sequence[ScenarioRun],
    options: Options,
    advance: Callable[[int], None],
    server: str = "",
) -> list[Row]:
    """The checks' cells for every history captured; `server`, the target's version,
    says which older-server rules `reproduce` applies (older_servers.py)."""
    recorded = recorded_index(options.recorded)
    tla = Tla(options.tlc_budget)
    decoded = [_decode(c) for run in runs for c in run.captures]
    by_run = {run_id(d.events): d.events for d in decoded if d.events}
    rows: list[Row] = []
    for run in runs:
        if run.error is not None or run.not_applicable is not None:
            rows.append(_unrun(run))
            continue
        for d in (d for d in decoded if d.capture.scenario == run.scenario.name):
            rows.append(_judge(d, run.scenario, by_run, recorded, tla, options.ignore, server))
            advance(1)
    return rows


def _unrun(run: ScenarioRun) -> Row:
    if run.not_applicable is not None:
        cell = Cell(NOT_APPLICABLE, run.not_applicable)
        return Row(run.scenario.name, run.scenario.name, 0, dict.fromkeys(CHECKS, cell))
    rest = Cell(NOT_APPLICABLE, "the scenario did not run to its end")
    cells = {name: rest for name in CHECKS}
    cells["run"] = Cell(FAIL, run.error or "")
    return Row(run.scenario.name, run.scenario.name, 0, cells)


def _judge(
    d: _Decoded,
    scenario: Scenario,
    by_run: dict[str, tuple[HistoryEvent, ...]],
    recorded: dict[str, Path],
    tla: Tla,
    ignore: frozenset[str],
    server: str = "",
) -> Row:
    name = d.capture.file_name
    label = name.removesuffix(".json")
    if d.error:
        cells = dict.fromkeys(CHECKS, Cell(NOT_APPLICABLE, "the history cannot be read"))
        cells["run"] = Cell(PASS)
        cells["validate"] = Cell(FAIL, f"the history cannot be read: {d.error}")
        return Row(scenario.name, label, 0, cells)
    reset = reset_of(d.events)
    base = by_run.get(reset[0]) if reset is not None else None
    checks: dict[str, Callable[[], Cell]] = {
        "run": lambda: Cell(PASS),
        "validate": lambda: check_validate(d.events),
        "reproduce": lambda: _reproduce(name, d.events, reset, base, by_run, ignore, server),
        "recorded": lambda: check_recorded(
            name, d.json_events, recorded, scenario.ordered, ignore | scenario.clock_fields
        ),
        "tla": lambda: tla.check(name, d.events),
        "replay": lambda: check_replay(d.events),
    }
    return Row(scenario.name, label, len(d.events), {k: _guarded(f) for k, f in checks.items()})


def _reproduce(
    name: str,
    events: Sequence[HistoryEvent],
    reset: tuple[str, str] | None,
    base: Sequence[HistoryEvent] | None,
    by_run: Mapping[str, Sequence[HistoryEvent]],
    ignore: frozenset[str],
    server: str = "",
) -> Cell:
    if reset is not None and base is None:
        return Cell(FAIL, f"a reset run whose base run ({reset[0]}) the scenario did not capture")
    return check_reproduce(name, events, base, ignore, server, earlier=by_run)


def _guarded(check: Callable[[], Cell]) -> Cell:
    """A check that raises is a failed check (its error said), never a lost row; a bad
    recorded history is bad input and goes up (exit 2)."""
    try:
        return check()
    except BadRecorded:
        raise
    except Exception as exc:
        return Cell(FAIL, f"the check itself failed: {type(exc).__name__}: {exc}")
