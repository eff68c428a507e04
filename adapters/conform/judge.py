"""The verdict of `tmodel conform` on recorded histories.

Each history is read, checked against the well-formedness rules, and reproduced by the
pure history service from the requests behind it (adapters/conform/derive.py); the
model's events are then compared with the recorded ones field by field
(adapters/history_compare.py: only the documented legitimately differing values, and
the fields the user names with `--ignore`, are not compared). A run made by a reset is
reproduced from its base run, which must be among the histories given (it is found by
its run id).

A verdict is one of: reproduced; a first difference (an event, a field, the value the
model writes there, "expected", and the value the history has, "produced"; or the
request behind an event that the model refused); not modelled (a feature declared out
of scope, adapters/conform/scope.py); or unreadable (bad input: the reason, as
`tmodel validate` gives it).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.conform.derive import Driver
from adapters.conform.requests import CannotReproduce, NotModelled
from adapters.history_compare import Difference, compare
from adapters.input_file import read_history, read_history_noted
from adapters.temporal_json import encode_history
from core.enums import EventType, WorkflowTaskFailedCause
from core.errors import BadInput
from core.events import HistoryEvent
from core.statemachine.history.validator import validate

E = EventType


@dataclass(frozen=True, slots=True)
class Verdict:
    """What `tmodel conform` found for one history."""

    path: str
    events: int = 0
    difference: Difference | None = None
    not_modelled: str | None = None
    error: str | None = None  # unreadable: bad input
    # What the file's form lost (payloads rebuilt from the HTTP API's shorthand JSON).
    note: str | None = None

    @property
    def reproduced(self) -> bool:
        return self.difference is None and self.not_modelled is None and self.error is None

    @property
    def kind(self) -> str:
        if self.error is not None:
            return "unreadable"
        if self.not_modelled is not None:
            return "not_modelled"
        return "differing" if self.difference is not None else "reproduced"

    def to_json(self) -> dict[str, Any]:
        d = self.difference
        doc: dict[str, Any] = {
            "path": self.path,
            "reproduced": self.reproduced,
            "events": self.events,
            "first_difference": None
            if d is None
            else {
                "event_id": d.event_id,
                "event_type": d.event_type,
                "field": d.field,
                "expected": d.expected,
                "produced": d.produced,
            },
            "not_modelled": self.not_modelled,
        }
        if self.error is not None:
            doc["error"] = self.error
        if self.note is not None:
            doc["note"] = self.note
        return doc


def reset_of(events: Sequence[HistoryEvent]) -> tuple[str, str] | None:
    """(base run id, new run id) of the reset that made this history's run, if one did
    (its WorkflowTaskFailed with cause RESET_WORKFLOW)."""
    for event in events:
        a = event.attributes
        if (
            event.event_type is E.WORKFLOW_TASK_FAILED
            and getattr(a, "cause", None) is WorkflowTaskFailedCause.RESET_WORKFLOW
        ):
            return str(getattr(a, "base_run_id", "")), str(getattr(a, "new_run_id", ""))
    return None


def run_id(events: Sequence[HistoryEvent]) -> str:
    """The id of the run a history belongs to: a reset run keeps its base run's
    WorkflowExecutionStarted, so its own id is the one its reset names."""
    reset = reset_of(events)
    if reset is not None:
        return reset[1]
    return str(getattr(events[0].attributes, "original_execution_run_id", ""))


def judge_events(
    path: str,
    real: Sequence[HistoryEvent],
    base: Sequence[HistoryEvent] | None = None,
    ignore: frozenset[str] = frozenset(),
) -> Verdict:
    """Reproduce `real` (from `base`, for a reset run) and compare it field by field."""
    n = len(real)
    violations = validate(real).violations
    if violations:
        v = violations[0]
        at = _event(real, v.event_id)
        diff = Difference(v.event_id, at, f"rule {v.rule}", "a valid history", v.message)
        return Verdict(path, n, difference=diff)
    driver = Driver(real, base)
    try:
        produced = driver.run()
    except NotModelled as exc:
        return Verdict(path, n, not_modelled=str(exc))
    except CannotReproduce as exc:
        event = real[min(driver.at, n - 1)]
        diff = Difference(
            event.event_id,
            event.event_type.name,
            "(the request behind this event)",
            f"refused: {exc}",
            "accepted (the history goes on)",
        )
        return Verdict(path, n, difference=diff)
    # (the read's suffix is not stored: it has no task ids)
    produced = [*_stamped(produced, _namespace_version(real)), *driver.read_suffix()]
    # the model is the reference: "expected" is what it writes, "produced" the history's
    found = compare(*_older_server(_json(produced), real), ignore=ignore)
    return Verdict(path, n, difference=found)


@dataclass(frozen=True, slots=True)
class NewerField:
    """A field a 1.32 server writes that older servers did not: `attributes` names the
    event's attributes key, `path` the field within them (dotted), `since` the day of
    the first server release that wrote it (UTC, ISO 8601), `commit` the server's
    commit that started writing it."""

    attributes: str
    path: str
    since: str
    commit: str


# A history written before the first release that writes one of these fields cannot
# have it: where it lacks the field, the model's value is left out. The date of a
# history is its first event's time; one recorded later by an older server is not
# excused (the field is then a difference, as for any other implementation).
NEWER_FIELDS = (
    # api a6923718 turned current_execution into workflow_id, which the server wrote
    # from then on (service/history/workflow/history_builder.go); released in 1.21.0
    NewerField("workflowExecutionStartedEventAttributes", "workflowId", "2023-06-23", "f07921b38d"),
    # a sticky queue's normal queue ("Handle worker versioning for sticky queues"),
    # released in 1.21.0
    NewerField(
        "workflowTaskScheduledEventAttributes", "taskQueue.normalName", "2023-06-23", "2de41e5872"
    ),
    # "Write accepted event ID in update completion event", released in 1.21.0 (the
    # history rules match such an UpdateCompleted by its update id: update.py)
    NewerField(
        "workflowExecutionUpdateCompletedEventAttributes",
        "acceptedEventId",
        "2023-06-23",
        "6691620a20",
    ),
    # a Nexus operation's token, which older servers wrote as operationId alone (still
    # written beside it): "Upgrade to Nexus SDK 0.2.0", released in 1.27.0
    NewerField(
        "nexusOperationStartedEventAttributes", "operationToken", "2025-02-21", "e806987fd6"
    ),
)


@dataclass(frozen=True, slots=True)
class DroppedEmpty:
    """A message field older servers copied from the command even when it was empty,
    and a 1.32 server leaves out then: `until` is the day of the first release that
    leaves it out, `commit` the server's commit."""

    attributes: str
    path: str
    until: str
    commit: str


# Where a history older than that release has such a field empty and the model's event
# lacks it, the recorded empty value is left out. 6d1c05c8bd ("Remove nil search
# attributes from history events", payload.FilterNilMemo in event_factory.go) drops an
# empty memo; released in 1.31.0. (The model copies a start's or a continue-as-new's memo
# as the request gives it, so only the child's shows the difference.)
DROPPED_EMPTY = (
    DroppedEmpty(
        "startChildWorkflowExecutionInitiatedEventAttributes", "memo", "2026-04-29", "6d1c05c8bd"
    ),
)
_EMPTY_VALUES: tuple[Any, ...] = ({}, {"fields": {}})


def _epoch_ns(day: str) -> int:
    moment = datetime.datetime.fromisoformat(day).replace(tzinfo=datetime.UTC)
    return int(moment.timestamp()) * 1_000_000_000


def _older_server(model: list[Any], real: Sequence[HistoryEvent]) -> tuple[list[Any], list[Any]]:
    """The model's events and the recorded ones (as JSON), without the NEWER_FIELDS the
    history predates and lacks, and without the DROPPED_EMPTY fields the history
    predates and has empty where the model's event lacks them."""
    recorded = _json(real)
    written = real[0].event_time if real else None
    if written is None:
        return model, recorded
    newer = [f for f in NEWER_FIELDS if written < _epoch_ns(f.since)]
    dropped = [f for f in DROPPED_EMPTY if written < _epoch_ns(f.until)]
    if not newer and not dropped:
        return model, recorded
    out = list(model)
    for i, event in enumerate(out[: len(recorded)]):
        for rule in newer:
            if _has(event, rule) and not _has(recorded[i], rule):
                out[i] = event = _without(event, rule)
        for empty in dropped:
            if _value(recorded[i], empty) in _EMPTY_VALUES and not _has(event, empty):
                recorded[i] = _without(recorded[i], empty)
    return out, recorded


_ABSENT = object()


def _value(event: Any, rule: NewerField | DroppedEmpty) -> Any:
    value = event.get(rule.attributes) if isinstance(event, dict) else None
    for part in rule.path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _ABSENT
        value = value[part]
    return value


def _has(event: Any, rule: NewerField | DroppedEmpty) -> bool:
    return _value(event, rule) is not _ABSENT


def _without(event: dict[str, Any], rule: NewerField | DroppedEmpty) -> dict[str, Any]:
    def drop(value: Any, parts: list[str]) -> Any:
        if len(parts) == 1:
            return {k: v for k, v in value.items() if k != parts[0]}
        return {**value, parts[0]: drop(value[parts[0]], parts[1:])}

    return {**event, rule.attributes: drop(event[rule.attributes], rule.path.split("."))}


def _event(events: Sequence[HistoryEvent], event_id: int) -> str:
    for event in events:
        if event.event_id == event_id:
            return event.event_type.name
    return "(none)"


def _stamped(events: Sequence[HistoryEvent], version: int = 0) -> list[HistoryEvent]:
    """The model's events with task ids, which the shard's store allocates as it
    writes them (the pure service leaves them 0), and the namespace's failover
    `version`."""
    return [
        dataclasses.replace(e, task_id=i, version=version) for i, e in enumerate(events, start=1)
    ]


def _namespace_version(real: Sequence[HistoryEvent]) -> int:
    """The failover version of the history's namespace, taken as recorded when every
    event carries the same one: a global namespace's, which its clusters' settings and
    failovers decide (core/statemachine/replication/versions.py), not any request; the
    pure history service writes every event with the empty version (0) of a local
    namespace. Versions that change within the history (a failover during the run) are
    left for the comparison to show."""
    versions = {e.version for e in real}
    return versions.pop() if len(versions) == 1 else 0


def _json(events: Sequence[HistoryEvent]) -> list[Any]:
    encoded: list[Any] = encode_history(events)["events"]  # type: ignore[assignment]
    return encoded


def judge_paths(paths: Sequence[str], ignore: frozenset[str] = frozenset()) -> Iterator[Verdict]:
    """A verdict per path, in order, except that a reset run is judged after the
    others, once its base run may have been seen."""
    runs: dict[str, str] = {}  # run id -> the path holding that run's history
    resets: list[tuple[str, str, str | None]] = []  # (path, base run id, note)
    for path in paths:
        try:
            real, note = read_history_noted(path)
        except BadInput as exc:
            yield Verdict(path, error=_without_path(str(exc), path))
            continue
        runs.setdefault(run_id(real), path)
        reset = reset_of(real)
        if reset is not None:
            resets.append((path, reset[0], note))
            continue
        yield dataclasses.replace(judge_events(path, real, ignore=ignore), note=note)
    for path, base_id, note in resets:
        if base_id not in runs:
            yield Verdict(
                path,
                error=f"a reset run: give the history of its base run (run id {base_id}) too",
            )
            continue
        verdict = judge_events(path, read_history(path), read_history(runs[base_id]), ignore=ignore)
        yield dataclasses.replace(verdict, note=note)


def _without_path(message: str, path: str) -> str:
    return message.removeprefix(f"{path}: ")
