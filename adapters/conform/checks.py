"""The checks `tmodel conform --target` makes of every history a target wrote.

- validate: the history keeps every well-formedness rule (spec/history.md).
- reproduce: the model, given the requests behind the history, writes it field for
  field (adapters/conform/judge.py).
- recorded: it equals, field for field, the history the real Temporal server wrote for
  the same scenario (adapters/history_compare.py; a scenario whose event order is a
  race compares as a multiset of events).
- tla: TLC finds a behaviour of WorkflowExecution.tla that writes it (trace
  validation, adapters/tlc_trace.py), within a time budget.
- replay: the twin of the workflow that wrote it (adapters/conform/twins) replays it:
  one answer per completed workflow task and the run's close matched.

Each gives a `Cell`: pass, FAIL, n/a or skipped, with the detail that says why. n/a
means the check does not apply and says why (a feature the spec declares not modelled,
a workflow with no twin); skipped means the check was cut short by its budget.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.conform.judge import judge_events
from adapters.conform.twins import NO_TWIN, TWINS
from adapters.history_compare import compare
from adapters.input_file import MAX_HISTORY_BYTES, read_text
from adapters.tlc import TlcUnavailable, Toolchain, find_toolchain
from adapters.tlc_trace import TraceTooLarge, validate_events
from core.enums import EventType
from core.errors import BadInput, ModelError, PotentialDeadlock
from core.events import HistoryEvent, WorkflowExecutionStartedEventAttributes
from core.statemachine.history.validator import validate
from core.statemachine.replay.driver import replay
from sim.deadlock import DeadlockGuard

PASS, FAIL, NOT_APPLICABLE, SKIPPED = "pass", "FAIL", "n/a", "skipped"
CHECKS = ("run", "validate", "reproduce", "recorded", "tla", "replay")
DEFAULT_TLC_BUDGET = 120.0


@dataclass(frozen=True, slots=True)
class Cell:
    status: str  # PASS, FAIL, NOT_APPLICABLE or SKIPPED
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"status": self.status, "detail": self.detail}


def check_validate(events: Sequence[HistoryEvent]) -> Cell:
    violations = validate(events).violations
    if not violations:
        return Cell(PASS)
    v = violations[0]
    return Cell(FAIL, f"event {v.event_id}: rule {v.rule}: {v.message}")


def check_reproduce(
    name: str,
    events: Sequence[HistoryEvent],
    base: Sequence[HistoryEvent] | None,
    ignore: frozenset[str] = frozenset(),
    server: str = "",
    earlier: Mapping[str, Sequence[HistoryEvent]] | None = None,
) -> Cell:
    verdict = judge_events(name, events, base, ignore, server, earlier)
    if verdict.not_modelled is not None:
        return Cell(NOT_APPLICABLE, f"not modelled: {verdict.not_modelled}")
    d = verdict.difference
    if d is None:
        return Cell(PASS)
    return Cell(
        FAIL,
        f"event {d.event_id} {d.event_type}: {d.field}: the model writes {d.expected}, "
        f"the target wrote {d.produced}",
    )


def recorded_index(directory: Path | None) -> dict[str, Path]:
    """Recorded histories under `directory`, by file name."""
    if directory is None or not directory.is_dir():
        return {}
    return {p.name: p for p in sorted(directory.rglob("*.json")) if p.name != "manifest.json"}


class BadRecorded(BadInput):
    """A file of --recorded is not a Temporal JSON history: bad input (exit 2), not a
    failed check."""


def read_recorded(path: Path) -> list[dict[str, Any]]:
    """The events of a recorded history, read with the commands' safe reader (regular
    files only, at most `MAX_HISTORY_BYTES`, UTF-8); `BadRecorded` naming the file."""
    try:
        text = read_text(str(path), MAX_HISTORY_BYTES, "a recorded history")
    except BadInput as exc:  # the message names the file
        raise BadRecorded(f"--recorded {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRecorded(
            f"--recorded {path}: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except (RecursionError, ValueError):  # nested too deeply, an integer too long
        raise BadRecorded(f"--recorded {path}: not JSON this reader takes") from None
    events = doc.get("events") if isinstance(doc, dict) else None
    if not isinstance(events, list) or not events:
        raise BadRecorded(f'--recorded {path}: not a Temporal JSON history (no "events" list)')
    if not all(isinstance(e, dict) for e in events):
        raise BadRecorded(f"--recorded {path}: an event that is not a JSON object")
    return events


def check_recorded_files(recorded: dict[str, Path], scenarios: Sequence[str]) -> None:
    """Read every recorded history the scenarios named would be compared with
    (``<scenario>.json``, ``<scenario>.<suffix>.json``): a bad one is refused before
    the scenarios run (`BadRecorded`)."""
    for name, path in recorded.items():
        stem = name.removesuffix(".json")
        if any(stem == s or stem.startswith(f"{s}.") for s in scenarios):
            read_recorded(path)


def check_recorded(
    name: str,
    produced: Sequence[Any],
    recorded: dict[str, Path],
    ordered: bool,
    ignore: frozenset[str] = frozenset(),
) -> Cell:
    path = recorded.get(name)
    if path is None:
        return Cell(NOT_APPLICABLE, f"no recorded history named {name} to compare with")
    expected = read_recorded(path)
    d = compare(expected, produced, ordered=ordered, ignore=ignore)
    if d is None:
        return Cell(PASS, "" if ordered else RACE)
    return Cell(
        FAIL,
        f"event {d.event_id} {d.event_type}: {d.field}: the real server wrote {d.expected}, "
        f"the target wrote {d.produced}",
    )


# How a scenario whose event order is a race is compared with the recorded history.
RACE = (
    "a race: compared as a multiset of events, without the workflow tasks (their number "
    "depends on how the completions were batched)"
)


class Tla:
    """Trace validation with one toolchain for every history, each within `budget`
    seconds (then skipped: too large)."""

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.toolchain: Toolchain | None = None
        self.missing = ""
        try:
            self.toolchain = find_toolchain()
        except TlcUnavailable as exc:
            self.missing = str(exc)

    def check(self, name: str, events: Sequence[HistoryEvent]) -> Cell:
        if self.toolchain is None:
            return Cell(NOT_APPLICABLE, f"TLC cannot run here: {self.missing}")
        began = time.monotonic()
        try:
            report = validate_events(self.toolchain, events, name, timeout=self.budget)
        except TraceTooLarge as exc:
            return Cell(SKIPPED, f"too large: {exc}")
        took = time.monotonic() - began
        if report.accepted:
            return Cell(PASS, f"{report.matched} events matched in {took:.1f}s")
        if report.not_modelled:
            return Cell(NOT_APPLICABLE, f"not modelled by WorkflowExecution.tla: {report.reason}")
        if took >= self.budget:
            return Cell(
                SKIPPED,
                f"too large: TLC did not finish within the budget of {self.budget:.0f}s "
                "(--tlc-budget)",
            )
        return Cell(FAIL, report.reason)


def workflow_type(events: Sequence[HistoryEvent]) -> str:
    a = events[0].attributes if events else None
    if isinstance(a, WorkflowExecutionStartedEventAttributes) and a.workflow_type is not None:
        return a.workflow_type.name
    return ""


def check_replay(events: Sequence[HistoryEvent]) -> Cell:
    kind = workflow_type(events)
    twin = TWINS.get(kind)
    if twin is None:
        why = NO_TWIN.get(kind, "the scenario library has no such workflow")
        return Cell(NOT_APPLICABLE, f"no twin of {kind or 'this workflow'}: {why}")
    try:
        result = replay(twin, events, guard=DeadlockGuard())
    except PotentialDeadlock as exc:
        return Cell(FAIL, f"the twin did not yield: {exc}")
    except ModelError as exc:  # nondeterminism, or a history the machines refuse
        return Cell(FAIL, f"{type(exc).__name__}: {exc}")
    completed = sum(1 for e in events if e.event_type is EventType.WORKFLOW_TASK_COMPLETED)
    if len(result.tasks) != completed:
        return Cell(FAIL, f"{len(result.tasks)} tasks answered, {completed} completed")
    if result.state[0] != "CLOSED":
        return Cell(FAIL, f"the twin's run did not close (state {result.state[0]})")
    return Cell(PASS, f"{completed} workflow tasks replayed")
