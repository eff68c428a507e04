"""Trace validation: check a recorded Temporal history against WorkflowExecution with TLC.

Trace validation (Cirstea, Kuppe, Loillier, Merz 2024) turns a recorded Temporal JSON
history into a TLA+ module ``TraceLog`` holding the events as a tuple of records in the
format of WorkflowExecution's ``history`` variable, and asks TLC whether
``TraceWorkflowExecution`` (the specification constrained by the log) can write it.
Events the specification does not model are abstracted (``OTHER_COMMAND_EVENTS``,
``OTHER_INPUT_EVENTS``); a history holding an event with no abstraction is reported as
not modelled rather than as rejected.

Activity and timer ids reach the log as generated names (``id1``, ``id2``, ...): TLC
reads plain ASCII strings only, and an id may hold any character. The spec only tells
ids apart, so the verdict does not depend on their text.

TLC explores every hidden step a log implies, so some histories are refused before TLC
runs (`TraceTooLarge`, bad input): more than `MAX_TRACE_EVENTS` events (TLC's time
grows with the square of the length: 1,000 events took 30 s, 2,000 took 130 s), or an
attempt above `MAX_TRACE_ATTEMPT` (the spec walks each retry before it: attempt 1,000
took 12 s for one activity, and concurrent activities multiply that).

Running TLC, parsing its output and the model-checking manifest live in ``adapters.tlc``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from adapters.conform.scope import SCOPE, SCOPE_OF_EVENT
from adapters.input_file import history_events, open_regular, require_events
from adapters.tlc import SPEC_DIR, TlcError, Toolchain, run_tlc
from core.enums import EventType, WorkflowTaskFailedCause
from core.errors import BadInput
from core.event_sets import CLOSE_EVENT_TYPES
from core.events import HistoryEvent

# Command events the specification abstracts as one "OtherCommandEvent" (a command
# with no lifecycle the model follows); their WTC is kept.
OTHER_COMMAND_EVENTS = frozenset(
    {
        EventType.MARKER_RECORDED,
        EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        EventType.WORKFLOW_PROPERTIES_MODIFIED,
        EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    }
)
# Results from other workflows, abstracted as "OtherInput": like a signal they are
# buffered while a workflow task is in flight and schedule a workflow task otherwise.
OTHER_INPUT_EVENTS = frozenset(
    {
        EventType.START_CHILD_WORKFLOW_EXECUTION_FAILED,
        EventType.CHILD_WORKFLOW_EXECUTION_STARTED,
        EventType.CHILD_WORKFLOW_EXECUTION_COMPLETED,
        EventType.CHILD_WORKFLOW_EXECUTION_FAILED,
        EventType.CHILD_WORKFLOW_EXECUTION_CANCELED,
        EventType.CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
        EventType.CHILD_WORKFLOW_EXECUTION_TERMINATED,
        EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
        EventType.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
        EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
        EventType.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
    }
)
MODELLED = {
    EventType.WORKFLOW_EXECUTION_STARTED: "WorkflowExecutionStarted",
    EventType.WORKFLOW_EXECUTION_COMPLETED: "WorkflowExecutionCompleted",
    EventType.WORKFLOW_EXECUTION_FAILED: "WorkflowExecutionFailed",
    EventType.WORKFLOW_EXECUTION_TIMED_OUT: "WorkflowExecutionTimedOut",
    EventType.WORKFLOW_EXECUTION_CANCELED: "WorkflowExecutionCanceled",
    EventType.WORKFLOW_EXECUTION_TERMINATED: "WorkflowExecutionTerminated",
    EventType.WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "WorkflowExecutionContinuedAsNew",
    EventType.WORKFLOW_EXECUTION_SIGNALED: "WorkflowExecutionSignaled",
    EventType.WORKFLOW_EXECUTION_CANCEL_REQUESTED: "WorkflowExecutionCancelRequested",
    EventType.WORKFLOW_TASK_SCHEDULED: "WorkflowTaskScheduled",
    EventType.WORKFLOW_TASK_STARTED: "WorkflowTaskStarted",
    EventType.WORKFLOW_TASK_COMPLETED: "WorkflowTaskCompleted",
    EventType.WORKFLOW_TASK_FAILED: "WorkflowTaskFailed",
    EventType.WORKFLOW_TASK_TIMED_OUT: "WorkflowTaskTimedOut",
    EventType.ACTIVITY_TASK_SCHEDULED: "ActivityTaskScheduled",
    EventType.ACTIVITY_TASK_STARTED: "ActivityTaskStarted",
    EventType.ACTIVITY_TASK_COMPLETED: "ActivityTaskCompleted",
    EventType.ACTIVITY_TASK_FAILED: "ActivityTaskFailed",
    EventType.ACTIVITY_TASK_TIMED_OUT: "ActivityTaskTimedOut",
    EventType.ACTIVITY_TASK_CANCEL_REQUESTED: "ActivityTaskCancelRequested",
    EventType.ACTIVITY_TASK_CANCELED: "ActivityTaskCanceled",
    EventType.TIMER_STARTED: "TimerStarted",
    EventType.TIMER_FIRED: "TimerFired",
    EventType.TIMER_CANCELED: "TimerCanceled",
}
# What a history may hold that the specification leaves out, by event type: the model's
# own scope declarations (adapters/conform/scope.py, the table "Not modelled" of
# spec/README.md) and, for WorkflowExecution.tla alone, the update protocol, Nexus
# operations and options updates (declared in spec/tla/README.md). Such a history is
# reported as not modelled, with the declaration.
TLA_UPDATES = "TLA-UPDATES"
TLA_NEXUS = "TLA-NEXUS"
TLA_OPTIONS_UPDATED = "TLA-OPTIONS-UPDATED"
TLA_BACKOFF_CLOSE = "TLA-BACKOFF-CLOSE"
TLA_SCOPE = {
    TLA_UPDATES: "workflow updates are not in WorkflowExecution.tla",
    TLA_NEXUS: "Nexus operations are not in WorkflowExecution.tla",
    TLA_OPTIONS_UPDATED: "UpdateWorkflowExecutionOptions and a start attached to a running "
    "run are not in WorkflowExecution.tla",
    TLA_BACKOFF_CLOSE: "a run closed during its first-task backoff (before its first "
    "workflow task was scheduled) is not in WorkflowExecution.tla, whose start schedules "
    "that task with it",
}
NOT_MODELLED: dict[EventType, str] = {
    **SCOPE_OF_EVENT,
    **dict.fromkeys(
        (
            EventType.WORKFLOW_EXECUTION_UPDATE_ADMITTED,
            EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            EventType.WORKFLOW_EXECUTION_UPDATE_REJECTED,
            EventType.WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        ),
        TLA_UPDATES,
    ),
    **dict.fromkeys(
        (
            EventType.NEXUS_OPERATION_SCHEDULED,
            EventType.NEXUS_OPERATION_STARTED,
            EventType.NEXUS_OPERATION_COMPLETED,
            EventType.NEXUS_OPERATION_FAILED,
            EventType.NEXUS_OPERATION_CANCELED,
            EventType.NEXUS_OPERATION_TIMED_OUT,
            EventType.NEXUS_OPERATION_CANCEL_REQUESTED,
            EventType.NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED,
            EventType.NEXUS_OPERATION_CANCEL_REQUEST_FAILED,
        ),
        TLA_NEXUS,
    ),
    EventType.WORKFLOW_EXECUTION_OPTIONS_UPDATED: TLA_OPTIONS_UPDATED,
}
_TIMER_REFERENCE = {EventType.TIMER_FIRED, EventType.TIMER_CANCELED}
_TIMEOUT_NAMES = {1: "StartToClose", 2: "ScheduleToStart", 3: "ScheduleToClose", 4: "Heartbeat"}
_STICKY_KIND = 2  # TaskQueueKind.STICKY

Record = dict[str, int | str]


class NotModelled(BadInput):
    """The history holds an event the specification neither models nor abstracts."""


# What trace validation takes (see the module's docstring and docs/cli.rst).
MAX_TRACE_EVENTS = 2000
MAX_TRACE_ATTEMPT = 100
_SQUARE = "TLC's time grows with the square of a history's length"
_ATTEMPT_EVENTS = (EventType.WORKFLOW_TASK_SCHEDULED, EventType.ACTIVITY_TASK_STARTED)


class TraceTooLarge(BadInput):
    """The history needs more than trace validation explores in reasonable time."""


def check_traceable(events: Sequence[HistoryEvent], label: str) -> None:
    """`TraceTooLarge` (one line) if `events` is beyond what TLC can check here."""
    if len(events) > MAX_TRACE_EVENTS:
        raise TraceTooLarge(
            f"{label}: {len(events):,} events; trace validation takes at most "
            f"{MAX_TRACE_EVENTS:,} ({_SQUARE})"
        )
    for event in events:
        attempt = _int(event.attributes, "attempt") if event.event_type in _ATTEMPT_EVENTS else 0
        if attempt > MAX_TRACE_ATTEMPT:
            raise TraceTooLarge(
                f"{label}: event {event.event_id}: attempt {attempt}; trace validation "
                f"takes attempts up to {MAX_TRACE_ATTEMPT} (TLC explores every retry before it)"
            )


def read_trace_history(path: str) -> tuple[HistoryEvent, ...]:
    """The events of a history file for trace validation. The file is read as a stream
    and the reading stops past `MAX_TRACE_EVENTS` events, so a huge file costs no more
    than that; `BadInput` naming the file if it is not a history or too long."""
    try:
        with open_regular(path) as stream:
            events = require_events(history_events(stream))
            head = tuple(islice(events, MAX_TRACE_EVENTS + 1))
    except BadInput as exc:
        raise BadInput(f"{path}: {exc}") from None
    except RecursionError:
        raise BadInput(f"{path}: JSON nested too deeply") from None
    except OSError as exc:  # a read error after the open
        raise BadInput(f"{path}: {exc.strerror or exc}") from None
    if len(head) > MAX_TRACE_EVENTS:
        raise TraceTooLarge(
            f"{path}: more than {MAX_TRACE_EVENTS:,} events; trace validation takes at most "
            f"{MAX_TRACE_EVENTS:,} ({_SQUARE})"
        )
    return head


def _int(attributes: object, name: str) -> int:
    value = getattr(attributes, name, 0)
    return value if isinstance(value, int) else 0


def _str(attributes: object, name: str) -> str:
    value = getattr(attributes, name, "")
    return value if isinstance(value, str) else ""


def trace_record(event: HistoryEvent) -> Record:
    """The event as a record of WorkflowExecution's ``history`` (see its header)."""
    kind = event.event_type
    a = event.attributes
    if kind in OTHER_COMMAND_EVENTS:
        name = "OtherCommandEvent"
    elif kind in OTHER_INPUT_EVENTS:
        name = "OtherInput"
    elif kind in MODELLED:
        name = MODELLED[kind]
    else:
        raise NotModelled(f"event {event.event_id}: {kind.name} is not modelled ({_why(kind)})")
    info = ""
    if kind == EventType.WORKFLOW_TASK_SCHEDULED:
        queue = getattr(a, "task_queue", None)
        info = "Sticky" if getattr(queue, "kind", 0) == _STICKY_KIND else "Normal"
    elif kind == EventType.WORKFLOW_TASK_TIMED_OUT:
        info = _TIMEOUT_NAMES.get(int(getattr(a, "timeout_type", 0)), "")
    elif kind == EventType.WORKFLOW_TASK_FAILED:
        # only a reset's failure is told apart: the spec writes it in ResetWorkflowExecution
        reset = getattr(a, "cause", None) == WorkflowTaskFailedCause.RESET_WORKFLOW
        info = "ResetWorkflow" if reset else ""
    attempt = 0
    if kind in (EventType.WORKFLOW_TASK_SCHEDULED, EventType.ACTIVITY_TASK_STARTED):
        attempt = _int(a, "attempt")
    if name == "OtherInput":  # abstract: no references, no ids
        return _record(event.event_id, name)
    return {
        "id": event.event_id,
        "type": name,
        # a timer's follow-ups name it by started_event_id, the others by scheduled_event_id
        "sched": _int(a, "started_event_id" if kind in _TIMER_REFERENCE else "scheduled_event_id"),
        "started": 0 if kind in _TIMER_REFERENCE else _int(a, "started_event_id"),
        "wtc": _int(a, "workflow_task_completed_event_id"),
        "latest": _int(a, "latest_cancel_requested_event_id"),
        "eid": _str(a, "activity_id") or _str(a, "timer_id"),
        "attempt": attempt,
        "info": info,
    }


def _why(kind: EventType) -> str:
    """The declaration that leaves event type `kind` out: its ID and reason."""
    scope = NOT_MODELLED.get(kind)
    if scope is None:
        return "no declaration: the specification has no record for it"
    return f"{scope}: {TLA_SCOPE.get(scope) or SCOPE[scope]}"


def _record(event_id: int, name: str) -> Record:
    return {
        "id": event_id, "type": name, "sched": 0, "started": 0, "wtc": 0, "latest": 0,
        "eid": "", "attempt": 0, "info": "",
    }  # fmt: skip


def trace_records(events: Iterable[HistoryEvent]) -> list[Record]:
    records = [trace_record(e) for e in events]
    if len(records) > 1 and records[0]["type"] == "WorkflowExecutionStarted":
        second = records[1]["type"]
        if second in _CLOSE_NAMES:  # closed before its first task (cron.run3.json)
            scope = TLA_BACKOFF_CLOSE
            why = f"{scope}: {TLA_SCOPE[scope]}"
            raise NotModelled(f"event 2: {second} before any workflow task ({why})")
    return records


_CLOSE_NAMES = frozenset(MODELLED[kind] for kind in CLOSE_EVENT_TYPES if kind in MODELLED)


def _tla(value: int | str) -> str:
    if isinstance(value, int):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def id_names(logs: Iterable[Sequence[Record]]) -> dict[str, str]:
    """Each activity or timer id of the logs, by the ASCII name the TLA+ log gives it, in
    order of first use ("" stays ""). Equal ids get equal names, as the spec needs."""
    names = {"": ""}
    for log in logs:
        for record in log:
            names.setdefault(str(record["eid"]), f"id{len(names)}")
    return names


_FIELDS = ("id", "type", "sched", "started", "wtc", "latest", "eid", "attempt", "info")


def log_module(records: Sequence[Record], *more: Sequence[Record]) -> str:
    """The generated TraceLog module: ``Log`` as a tuple of records, and ``Logs`` the
    tuple of every log to validate (``records`` first, then `more`)."""

    names = id_names((records, *more))

    def field(record: Record, key: str) -> str:
        return _tla(names[str(record[key])] if key == "eid" else record[key])

    def tla_log(log: Sequence[Record]) -> str:
        rows = ["[" + ", ".join(f"{k} |-> {field(r, k)}" for k in _FIELDS) + "]" for r in log]
        return "<<\n    " + ",\n    ".join(rows) + "\n>>"

    others = "".join(f", {tla_log(log)}" for log in more)
    return (
        "---- MODULE TraceLog ----\n"
        "\\* Generated by adapters/tlc_trace.py from recorded histories; not edited by hand.\n"
        f"Log == {tla_log(records)}\n"
        f"Logs == <<Log{others}>>\n====\n"
    )


def trace_config(
    records: Sequence[Record], bugs: Iterable[str] = (), *more: Sequence[Record]
) -> str:
    """Constants sized to the logs: as many slots, signals and attempts as any uses.

    `bugs` names BUG_* constants to set: a test shows that a broken spec rejects a log.
    """
    logs = (records, *more)
    names = id_names(logs)

    def count(name: str) -> int:
        return max(sum(1 for r in log if r["type"] == name) for log in logs)

    def ids(name: str) -> str:
        found = sorted({names[str(r["eid"])] for log in logs for r in log if r["type"] == name})
        return "{" + ", ".join(_tla(x) for x in found) + "}"

    def max_attempt(name: str, floor: int) -> int:
        found = [int(r["attempt"]) for log in logs for r in log if r["type"] == name]
        return max([floor, *found])

    everything = {
        "EnvActions": "{"
        + ", ".join(
            _tla(x)
            for x in (
                "SignalWithStartWorkflowExecution", "RequestCancelWorkflowExecution",
                "TerminateWorkflowExecution", "WorkflowRunTimeout", "RespondWorkflowTaskFailed",
                "WorkflowTaskHeartbeat", "NonStickyCompletion",
            )
        )
        + "}",
        "ActivityTimeouts": '{"StartToClose", "ScheduleToStart", "ScheduleToClose"}',
        "WftTimeouts": '{"StartToClose", "ScheduleToStart"}',
        "CloseCommands": '{"CompleteWorkflowExecution", "FailWorkflowExecution", '
        '"CancelWorkflowExecution", "ContinueAsNewWorkflowExecution"}',
    }  # fmt: skip
    constants = {
        "MaxActivities": str(count("ActivityTaskScheduled")),
        "MaxTimers": str(count("TimerStarted")),
        "ActivityIds": ids("ActivityTaskScheduled"),
        "TimerIds": ids("TimerStarted"),
        "MaxSignals": str(count("WorkflowExecutionSignaled")),
        "MaxOtherInputs": str(count("OtherInput")),
        "MaxAttempts": str(max_attempt("ActivityTaskStarted", 1)),
        "MaxWftAttempts": str(max_attempt("WorkflowTaskScheduled", 2)),
        "MaxCrashes": "0",  # a crash only removes behaviours: timeouts stay possible
        "MaxResets": str(max(sum(1 for r in log if r["info"] == "ResetWorkflow") for log in logs)),
        "MaxCommands": "1",  # unused: the commands come from the log
        "OtherCommands": "TRUE",
        **everything,
    }
    lines = ["CONSTANTS"]
    lines += [f"    {k} = {v}" for k, v in constants.items()]
    known, put_back = _bug_constants(), set(bugs)
    if put_back - set(known):
        raise ValueError(f"not a BUG_* constant of the spec: {sorted(put_back - set(known))}")
    lines += [f"    {b} = {'TRUE' if b in put_back else 'FALSE'}" for b in known]
    lines += [
        "SPECIFICATION TraceSpec",
        "INVARIANT TraceNotMatched",
        "CONSTRAINT TraceProgress",
    ]
    return "\n".join(lines) + "\n"


def _bug_constants() -> list[str]:
    text = (SPEC_DIR / "WorkflowExecution.tla").read_text(encoding="utf-8")
    return re.findall(r"^\s+(BUG_\w+),?", text, re.M)


@dataclass(frozen=True, slots=True)
class TraceReport:
    """The verdict of trace validation on one history."""

    path: str
    events: int
    accepted: bool
    matched: int  # length of the longest prefix some behaviour of the spec writes
    reason: str
    seconds: float
    not_modelled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "history": self.path,
            "events": self.events,
            "accepted": self.accepted,
            "matched_events": self.matched,
            "not_modelled": self.not_modelled,
            "reason": self.reason,
            "seconds": round(self.seconds, 2),
        }


def validate_events(
    toolchain: Toolchain,
    events: Sequence[HistoryEvent],
    label: str,
    timeout: float = 300,
    bugs: Iterable[str] = (),
) -> TraceReport:
    """Is this history a behaviour of WorkflowExecution? (trace validation; `bugs` as in
    `trace_config`)"""
    try:
        records = trace_records(events)
    except NotModelled as exc:
        return TraceReport(label, len(events), False, 0, str(exc), 0.0, not_modelled=True)
    if not records:
        raise BadInput(f"{label}: the history has no events (a history starts with one)")
    check_traceable(events, label)
    try:
        result = run_tlc(
            toolchain,
            "TraceWorkflowExecution",
            trace_config(records, bugs),
            check_deadlock=False,
            extra_modules={"TraceLog": log_module(records)},
            timeout=timeout,
        )
    except TlcError as exc:
        return TraceReport(label, len(records), False, 0, str(exc), timeout)
    if result.errors:
        return TraceReport(
            label, len(records), False, 0, f"TLC error: {result.errors[0]}", result.seconds
        )
    matched = matched_prefixes(result.printed).get(1, 0)
    if result.violated == "TraceNotMatched":
        return TraceReport(
            label, len(records), True, len(records), "every event matched", result.seconds
        )
    nxt = records[matched] if matched < len(records) else None
    where = f"event {nxt['id']} ({nxt['type']})" if nxt else "the end"
    reason = f"no behaviour of WorkflowExecution writes {where}; matched {matched} events"
    return TraceReport(label, len(records), False, matched, reason, result.seconds)


def matched_prefixes(printed: Iterable[str]) -> dict[int, int]:
    """Log number (1-based) -> the longest prefix TLC matched, from TraceProgress."""
    out: dict[int, int] = {}
    for n, k in re.findall(r'<<"matched", (\d+), (\d+)>>', "\n".join(printed)):
        out[int(n)] = max(out.get(int(n), 0), int(k))
    return out


def validate_trace(toolchain: Toolchain, path: str, timeout: float = 300) -> TraceReport:
    return validate_events(toolchain, read_trace_history(path), path, timeout)
