"""`tmodel replay HISTORY --workflow MODULE:NAME [--json]`: replay a real history.

The command is the model's counterpart of the SDKs' offline replayer: it reads one
history in Temporal's JSON format, imports a `@workflow.defn` class written with
`core.workflow`, and re-runs the class against the history, task by task
(core/statemachine/replay/driver.py). If code and history part, the user sees where:
the event id, what the history holds there, what the code produced instead, and the
history around that event. Code that does not yield within 2 seconds is stopped and
reported as a potential deadlock, naming the workflow task (sim/deadlock.py).

MODULE is a dotted module path (imported with the current directory on the path, as
``python -m`` would) or the path of a ``.py`` file; NAME is an attribute of it. Exit
codes: 0 the history replays, 1 nondeterminism or a potential deadlock, 2 bad input (an
unreadable or malformed history, a payload the model cannot decode, a module that
cannot be imported, a NAME that is not a workflow, a history of another workflow type).
Bad input is one line on stderr naming the file or argument; with ``--json`` the same
reason is also the ``error`` of the JSON document.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from adapters.argtypes import nonempty_path
from adapters.console import summary_table
from adapters.input_file import read_history
from core.errors import BadInput, InvalidDefinition, ModelError, Nondeterminism, PotentialDeadlock
from core.event_sets import CLOSE_EVENT_TYPES
from core.events import (
    HistoryEvent,
    MarkerRecordedEventAttributes,
    WorkflowExecutionStartedEventAttributes,
)
from core.statemachine.replay.definition import Definition, definition
from core.statemachine.replay.driver import replay, slices
from core.statemachine.replay.matching import marker_key
from sim.deadlock import DeadlockGuard

CONTEXT_BEFORE = 4  # history events shown before the one where replay stopped
CONTEXT_AFTER = 2  # and after it
# Attributes that say which entity an event is about, shown in the context lines.
_POINTERS = (
    "timer_id",
    "activity_id",
    "activity_type",
    "workflow_type",
    "marker_name",
    "signal_name",
    "protocol_instance_id",
    "scheduled_event_id",
    "initiated_event_id",
)


@dataclass(frozen=True, slots=True)
class Report:
    """What one replay gave: success, nondeterminism, or the reason it could not run."""

    history: str
    workflow: str
    workflow_type: str = ""
    events: int = 0
    tasks: int = 0
    ended: str = ""
    nondeterminism: Nondeterminism | None = None
    context: tuple[HistoryEvent, ...] = field(default=())
    error: str | None = None
    deadlock: str | None = None  # the code did not yield: which task, how long

    @property
    def ok(self) -> bool:
        return self.error is None and self.nondeterminism is None and self.deadlock is None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "ok": self.ok,
            "history": self.history,
            "workflow": self.workflow,
            "workflow_type": self.workflow_type,
            "events": self.events,
            "tasks": self.tasks,
        }
        if self.error is not None:
            doc["error"] = self.error
            return doc
        if self.deadlock is not None:
            doc["deadlock"] = self.deadlock
            return doc
        nd = self.nondeterminism
        if nd is None:
            doc["ended"] = self.ended
        else:
            doc["nondeterminism"] = {
                "event_id": nd.event_id,
                "expected": nd.expected,
                "produced": nd.produced,
            }
            doc["context"] = [
                {"event_id": e.event_id, "event_type": e.event_type.name, "detail": _detail(e)}
                for e in self.context
            ]
        return doc


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "replay",
        help="replay a Temporal JSON history against a workflow class",
        description="Replay a Temporal JSON history against a @workflow.defn class written "
        "with core.workflow. Exit 0 the history replays, 1 nondeterminism, 2 bad input.",
    )
    parser.add_argument(
        "history", type=nonempty_path, metavar="HISTORY", help="history file (Temporal JSON)"
    )
    parser.add_argument(
        "--workflow",
        required=True,
        metavar="MODULE:NAME",
        help="the workflow class: a dotted module or a .py file, a colon, the class name",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    report = replay_file(args.history, args.workflow)
    if report.error is not None:
        print(f"tmodel replay: {report.error}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    elif report.error is None:
        _print_report(report)
    if report.error is not None:
        return 2
    return 0 if report.ok else 1


def replay_file(history: str, spec: str) -> Report:
    """Load both inputs and replay; every problem becomes part of the Report."""
    try:
        events = read_history(history)
        workflow = load_workflow(spec)
        recorded = _workflow_type(history, events)
    except BadInput as exc:
        return Report(history, spec, error=str(exc))
    base = Report(history, spec, recorded, len(events))
    if recorded != workflow.name:
        return replace(
            base,
            error=f"{history}: the history is of workflow type {recorded!r}, "
            f"but {spec} is {workflow.name!r}",
        )
    try:
        result = replay(workflow, events, guard=DeadlockGuard())
    except PotentialDeadlock as error:
        return replace(base, deadlock=str(error))
    except Nondeterminism as nd:
        return replace(
            base,
            tasks=_matched_before(events, nd.event_id),
            nondeterminism=nd,
            context=_around(events, nd.event_id),
        )
    except ModelError as exc:  # the history does not fit the model's machines
        return replace(base, error=f"{history}: cannot be replayed: {exc}")
    last = events[-1]
    ended = (
        f"{last.event_type.name} (event {last.event_id})"
        if last.event_type in CLOSE_EVENT_TYPES
        else f"still running (the last event is {last.event_type.name}, event {last.event_id})"
    )
    return replace(base, tasks=len(result.tasks), ended=ended)


def _workflow_type(path: str, events: Sequence[HistoryEvent]) -> str:
    first = events[0]
    a = first.attributes
    if not isinstance(a, WorkflowExecutionStartedEventAttributes):
        raise BadInput(
            f"{path}: the first event is {first.event_type.name}, not WORKFLOW_EXECUTION_STARTED"
        )
    return a.workflow_type.name if a.workflow_type is not None else ""


def load_workflow(spec: str) -> Definition:
    """Import MODULE and return the definition of its `@workflow.defn` class NAME."""
    module_name, colon, name = spec.rpartition(":")
    if not colon or not module_name or not name:
        raise BadInput(f"--workflow {spec}: expected MODULE:NAME (e.g. my.module:MyWorkflow)")
    module = _import(module_name)
    target: object = module
    for part in name.split("."):
        if not hasattr(target, part):
            raise BadInput(f"--workflow {spec}: {module_name} has no attribute {name!r}")
        target = getattr(target, part)
    if not inspect.isclass(target):
        raise BadInput(f"--workflow {spec}: {name} is not a class")
    try:
        return definition(target)
    except InvalidDefinition:
        raise BadInput(f"--workflow {spec}: {name} is not a @workflow.defn class") from None


def _import(module_name: str) -> ModuleType:
    if os.getcwd() not in sys.path:  # as `python -m` does, so local modules are found
        sys.path.insert(0, os.getcwd())
    try:
        if module_name.endswith(".py") or os.sep in module_name or "/" in module_name:
            return _import_file(Path(module_name))
        return importlib.import_module(module_name)
    except BadInput:
        raise
    except (Exception, SystemExit) as exc:  # whatever the module's own code raises
        reason = str(exc).splitlines()[0] if str(exc) else ""
        raise BadInput(
            f"--workflow: cannot import {module_name}: {type(exc).__name__}"
            + (f": {reason}" if reason else "")
        ) from None


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise BadInput(f"--workflow: {path}: no such file")
    name = f"_tmodel_replay_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BadInput(f"--workflow: {path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing look the module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _matched_before(events: Sequence[HistoryEvent], event_id: int) -> int:
    """How many workflow tasks, commands included, lie wholly before `event_id`."""
    count = 0
    for piece in slices(events):
        last = piece.lookahead[-1] if piece.lookahead else events[piece.end]
        count += last.event_id < event_id and not piece.live
    return count


def _around(events: Sequence[HistoryEvent], event_id: int) -> tuple[HistoryEvent, ...]:
    return tuple(
        e for e in events if event_id - CONTEXT_BEFORE <= e.event_id <= event_id + CONTEXT_AFTER
    )


def _detail(event: HistoryEvent) -> str:
    """A few words on which entity an event is about (ids and names, no payloads)."""
    a = event.attributes
    parts: list[str] = []
    for name in _POINTERS:
        value = getattr(a, name, None)
        value = getattr(value, "name", value)  # ActivityType, WorkflowType
        if value:
            parts.append(f"{name}={value}")
    if isinstance(a, MarkerRecordedEventAttributes):
        key = marker_key(a.details)
        parts.extend([key] if key else [])
    return " ".join(parts)


def _print_report(report: Report) -> None:
    if report.deadlock is not None:
        print(f"DEADLOCK  {report.history} against {report.workflow}: {report.deadlock}")
        return
    nd = report.nondeterminism
    if nd is None:
        print(f"ok  {report.history} replays against {report.workflow}")
        summary_table(
            "replay",
            [
                ("workflow type", report.workflow_type),
                ("history events", str(report.events)),
                ("workflow tasks replayed", str(report.tasks)),
                ("run ended", report.ended),
            ],
        )
        return
    print(f"NONDETERMINISM  {report.history} against {report.workflow} ({report.workflow_type})")
    print(f"  at event {nd.event_id}")
    print(f"  the history has:       {nd.expected}")
    print(f"  the workflow produced: {nd.produced}")
    print("  history around it:")
    for e in report.context:
        mark = ">" if e.event_id == nd.event_id else " "
        detail = _detail(e)
        print(f"  {mark} {e.event_id:>5}  {e.event_type.name}" + (f"  {detail}" if detail else ""))
    print(
        "  If the change is intended, keep the old path for runs that took it "
        "(wf.patched, see docs/replay.md)."
    )
