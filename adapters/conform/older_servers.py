"""Histories older Temporal servers wrote, compared with what a 1.32 server writes.

A field or value that a 1.32 server writes otherwise than an older one is not a
difference where the history is older than the first server release writing it the 1.32
way: the history's date is its first event's time, and a release's date that of its
tag. A history recorded after that release by an older server is not excused: it
differs there, as any other implementation would; except where the history holds a
field only older servers wrote (WRITTEN_UNTIL), which dates it by itself. Each rule
names the server's commit. `older_server(model, recorded, first_event_time)` applies
them to the JSON of both histories before the comparison (judge.py).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any


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
    # ... and in the same commit, the token in the failure the server wraps around a
    # failed, canceled or timed-out operation's cause (nexusOperationFailure in
    # components/nexusoperations/executors.go), beside the operationId it kept
    *(
        NewerField(
            f"nexusOperation{kind}EventAttributes",
            "failure.nexusOperationExecutionFailureInfo.operationToken",
            "2025-02-21",
            "e806987fd6",
        )
        for kind in ("Failed", "Canceled", "TimedOut")
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
# attributes from history events", payload.FilterNilMemo and FilterNilSearchAttributes in
# event_factory.go, released in 1.31.0) drops an empty memo and empty search attributes
# from a start (measured on the 1.32 dev server: a StartWorkflowExecution with an empty
# memo gets none), a continue-as-new and a child's start, as the model does
# (limits.without_nil).
DROPPED_EMPTY = tuple(
    DroppedEmpty(attributes, path, "2026-04-29", "6d1c05c8bd")
    for attributes in (
        "startChildWorkflowExecutionInitiatedEventAttributes",
        "workflowExecutionStartedEventAttributes",
        "workflowExecutionContinuedAsNewEventAttributes",
    )
    for path in ("memo", "searchAttributes")
)
_EMPTY_VALUES: tuple[Any, ...] = ({}, {"fields": {}}, {"indexedFields": {}})


@dataclass(frozen=True, slots=True)
class WrittenUntil:
    """A field only the servers of one range wrote, and a 1.32 server does not: it marks
    a history as written by such a server, whatever its date (one recorded by an older
    dev server after newer ones came out). Such a history is dated just before `until`
    (the first release that stopped writing it), for the other rules too; the
    field, which the model does not write, is left out of its events. `since` is the
    first release that wrote it, `commits` the server's commits."""

    attributes: str
    path: str
    since: str
    until: str
    commits: str


# 943d3944cf ("Use latest api-go/versioning-3 with Deployment package", released in
# 1.26.2, 2024-12-23) copied the worker's RespondWorkflowTaskCompleted.deployment onto
# WorkflowTaskCompleted (CreateWorkflowTaskCompletedEvent in historybuilder/
# event_factory.go); 9be0363456 ("Use new versioning fields", released in 1.27.0) writes
# workerDeploymentName and deploymentVersion there instead, from the task's own
# deployment, and never the field.
WRITTEN_UNTIL = (
    WrittenUntil(
        "workflowTaskCompletedEventAttributes",
        "deployment",
        "2024-12-23",
        "2025-02-21",
        "943d3944cf..9be0363456",
    ),
)


@dataclass(frozen=True, slots=True)
class DrawnBefore:
    """A value older servers drew at random and a 1.32 server derives: before `until`
    (the day of the first release deriving it), it legitimately differs, as a request id
    does; its presence is still compared."""

    attributes: str
    path: str
    until: str
    commit: str


# The id of the message an update was sent to the worker in, which the worker's
# acceptance echoes: a random uuid until "Refactor the Update type to a state machine"
# made it the update id + "/request" (outgoingMessageID, workflow/update/update.go);
# released in 1.21.0.
DRAWN_BEFORE = (
    DrawnBefore(
        "workflowExecutionUpdateAcceptedEventAttributes",
        "acceptedRequestMessageId",
        "2023-06-23",
        "1c7e8955ff",
    ),
)
_DRAWN = "(an id the server drew)"


@dataclass(frozen=True, slots=True)
class WroteOtherwise:
    """A value older servers wrote in a case where a 1.32 server writes another: before
    `until` (the day of the first release writing `value`), the model's `value` at `path`
    stands for the recorded `old`, where the recorded event's `case_path` holds one of
    `cases`. `commit` is the server's commit."""

    attributes: str
    path: str
    value: Any
    old: Any
    case_path: str
    cases: tuple[Any, ...]
    until: str
    commit: str


# An activity's timeout that leaves no time for another attempt. Before 1.31.0 a
# schedule-to-start or schedule-to-close timeout closed it as a non-retryable failure;
# 0ded458f73 ("Fix activity timeout RetryState to return TIMEOUT for schedule timeouts")
# made it RETRY_STATE_TIMEOUT, and a5ea2aae30 gave the schedule-to-close one its longer
# message (timer_queue_active_task_executor.go). Measured: the 1.29.1 and 1.30.2 dev
# servers write the older values, 1.31.2 the newer.
_ACTIVITY_TIMEOUT = "activityTaskTimedOutEventAttributes"
_TIMEOUT_TYPE = "failure.timeoutFailureInfo.timeoutType"
_GIVE_UP = (
    "Not enough time to schedule next retry before activity ScheduleToClose timeout, "
    "giving up retrying"
)
_SNAKE = {
    "ScheduleToStart": "SCHEDULE_TO_START",
    "StartToClose": "START_TO_CLOSE",
    "ScheduleToClose": "SCHEDULE_TO_CLOSE",
    "Heartbeat": "HEARTBEAT",
}
# What a 1.32 server writes for each timeout type (two for a schedule-to-close timeout:
# the longer one where no retry fits, a5ea2aae30 below).
_TIMEOUT_MESSAGES = {kind: (f"activity {kind} timeout",) for kind in _SNAKE} | {
    "ScheduleToClose": ("activity ScheduleToClose timeout", _GIVE_UP)
}
WROTE_OTHERWISE = (
    WroteOtherwise(
        _ACTIVITY_TIMEOUT,
        "retryState",
        "RETRY_STATE_TIMEOUT",
        "RETRY_STATE_NON_RETRYABLE_FAILURE",
        _TIMEOUT_TYPE,
        ("TIMEOUT_TYPE_SCHEDULE_TO_START", "TIMEOUT_TYPE_SCHEDULE_TO_CLOSE"),
        "2026-04-29",
        "0ded458f73",
    ),
    WroteOtherwise(
        _ACTIVITY_TIMEOUT,
        "failure.message",
        _GIVE_UP,
        "activity ScheduleToClose timeout",
        _TIMEOUT_TYPE,
        ("TIMEOUT_TYPE_SCHEDULE_TO_CLOSE",),
        "2026-04-29",
        "a5ea2aae30",
    ),
    # Before 1.16.0 every activity timeout's failure said "activity timeout", whatever its
    # type; f6acc48e8c ("Allow customizing retry behavior for timeout failure") named the
    # type ("activity StartToClose timeout": timerQueueActiveTaskExecutor.go). The same
    # failure is the next attempt's last failure on its ActivityTaskStarted.
    *(
        WroteOtherwise(
            attributes,
            f"{failure}.message",
            message,
            "activity timeout",
            f"{failure}.timeoutFailureInfo.timeoutType",
            (f"TIMEOUT_TYPE_{_SNAKE[kind]}",),
            "2022-04-11",
            "f6acc48e8c",
        )
        for attributes, failure in (
            (_ACTIVITY_TIMEOUT, "failure"),
            ("activityTaskStartedEventAttributes", "lastFailure"),
        )
        for kind in ("ScheduleToStart", "StartToClose", "ScheduleToClose", "Heartbeat")
        for message in _TIMEOUT_MESSAGES[kind]
    ),
)


# The day each minor release of the server came out: its x.y.0 tag in
# temporalio/temporal (1.2.0 has none; 1.32.0, the model's, is the newest). The rules above
# are keyed to these days, so a history whose server version is known is judged as one
# written on its minor release's day (`released`), whatever its events' times say.
MINOR_RELEASES: dict[tuple[int, int], str] = {
    (1, 0): "2020-09-29", (1, 1): "2020-10-13", (1, 3): "2020-11-11", (1, 4): "2020-12-08",
    (1, 5): "2020-12-22", (1, 6): "2021-01-21", (1, 7): "2021-02-16", (1, 8): "2021-03-23",
    (1, 9): "2021-04-26", (1, 10): "2021-06-02", (1, 11): "2021-07-17", (1, 12): "2021-08-31",
    (1, 13): "2021-10-29", (1, 14): "2021-12-13", (1, 15): "2022-02-08", (1, 16): "2022-04-11",
    (1, 17): "2022-06-17", (1, 18): "2022-09-16", (1, 19): "2022-12-01", (1, 20): "2023-02-16",
    (1, 21): "2023-06-23", (1, 22): "2023-09-05", (1, 23): "2024-03-22", (1, 24): "2024-05-31",
    (1, 25): "2024-09-06", (1, 26): "2024-09-25", (1, 27): "2025-02-21", (1, 28): "2025-06-26",
    (1, 29): "2025-10-03", (1, 30): "2026-02-04", (1, 31): "2026-04-29",
}  # fmt: skip
MODEL_RELEASE = (1, 32)
_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?([-+].*)?")


def is_version(text: str) -> bool:
    """Whether `text` names a server version `released` knows how to read."""
    return _VERSION.fullmatch(text.strip()) is not None


def released(version: str) -> int | None:
    """When the server `version` ("1.29.1", "v1.29", "1.31.0-151.0") first came out, in ns
    since the epoch, for the rules to judge its histories by; None for the model's own
    release and later ones (no rule applies). A pre-release of a minor's first release
    (x.y.0-N, as the dev servers of some CLI releases report) came before it: it is
    judged as written just before that release, since it may lack what the release
    changed (1.31.0-151.0, which temporal CLI 1.6.1 ships, still wrote an empty memo:
    6d1c05c8bd came in 1.31.0-154.0). ValueError for what is not a version."""
    match = _VERSION.fullmatch(version.strip())
    if match is None:
        raise ValueError(f"not a server version: {version!r} (expected like 1.29.1)")
    minor = (int(match.group(1)), int(match.group(2)))
    if minor >= MODEL_RELEASE:
        return None
    known = [day for release, day in MINOR_RELEASES.items() if release <= minor]
    # (before 1.0: the day before 1.0.0; a minor without a tag: the one before it)
    if not known:
        return _epoch_ns(MINOR_RELEASES[(1, 0)]) - 1
    pre_release = int(match.group(3) or 0) == 0 and (match.group(4) or "").startswith("-")
    if pre_release and minor in MINOR_RELEASES:
        return _epoch_ns(MINOR_RELEASES[minor]) - 1
    return _epoch_ns(known[-1])


def _epoch_ns(day: str) -> int:
    moment = datetime.datetime.fromisoformat(day).replace(tzinfo=datetime.UTC)
    return int(moment.timestamp()) * 1_000_000_000


def older_server(
    model: list[Any], recorded: list[Any], written: int | None
) -> tuple[list[Any], list[Any]]:
    """The model's events and the recorded ones (JSON), with the rules applied that a
    history first written at `written` (ns since the epoch) predates: without the
    NEWER_FIELDS the history lacks, without the DROPPED_EMPTY fields it has empty where
    the model's event lacks them, and with the DRAWN_BEFORE values made one. A history
    holding a WRITTEN_UNTIL field is dated before that rule's `until` at the latest,
    and the field is left out of its events where the model's lack it."""
    recorded = list(recorded)
    marks = [w for w in WRITTEN_UNTIL if any(_has(e, w) for e in recorded)]
    for mark in marks:
        before = _epoch_ns(mark.until) - 1
        written = before if written is None else min(written, before)
    if written is None:
        return model, recorded
    newer = [f for f in NEWER_FIELDS if written < _epoch_ns(f.since)]
    dropped = [f for f in DROPPED_EMPTY if written < _epoch_ns(f.until)]
    drawn = [f for f in DRAWN_BEFORE if written < _epoch_ns(f.until)]
    otherwise = [f for f in WROTE_OTHERWISE if written < _epoch_ns(f.until)]
    if not newer and not dropped and not drawn and not marks and not otherwise:
        return model, recorded
    out = list(model)
    for i, event in enumerate(out[: len(recorded)]):
        for mark in marks:
            if _has(recorded[i], mark) and not _has(event, mark):
                recorded[i] = _without(recorded[i], mark)
        for rule in newer:
            if _has(event, rule) and not _has(recorded[i], rule):
                out[i] = event = _without(event, rule)
        for empty in dropped:
            if _value(recorded[i], empty) in _EMPTY_VALUES and not _has(event, empty):
                recorded[i] = _without(recorded[i], empty)
        for value in drawn:
            if _has(event, value) and _has(recorded[i], value):
                out[i] = event = _with(event, value, _DRAWN)
                recorded[i] = _with(recorded[i], value, _DRAWN)
        for other in otherwise:
            case = _at(recorded[i], other.attributes, other.case_path)
            if (
                case in other.cases
                and _value(event, other) == other.value
                and _value(recorded[i], other) == other.old
            ):
                out[i] = event = _with(event, other, other.old)
    return out, recorded


def hint(field: str, recorded: Any) -> str | None:
    """A hint for a first difference at `field` (the comparison's dotted path) where the
    recorded event (JSON) holds what servers before some release wrote there: the field
    absent (NEWER_FIELDS), the older value (WROTE_OTHERWISE) or the field empty
    (DROPPED_EMPTY). Such a history was
    judged as a newer server's by its date; if an older server wrote it, saying which
    one (`--server-version`) applies the rule. None where no rule explains it."""
    for newer in NEWER_FIELDS:
        if field == f"{newer.attributes}.{newer.path}" and not _has(recorded, newer):
            return _older_release_hint("do not write this field", newer.since)
    for other in WROTE_OTHERWISE:
        if field == f"{other.attributes}.{other.path}" and _value(recorded, other) == other.old:
            return _older_release_hint("wrote this value", other.until)
    for empty in DROPPED_EMPTY:
        if field == f"{empty.attributes}.{empty.path}" and _value(recorded, empty) in _EMPTY_VALUES:
            return _older_release_hint("wrote this field empty", empty.until)
    return None


def _older_release_hint(what: str, day: str) -> str:
    first = min(release for release, since in MINOR_RELEASES.items() if since >= day)
    last = max(release for release, since in MINOR_RELEASES.items() if since < day)
    return (
        f"servers before {first[0]}.{first[1]}.0 {what}: if an older server wrote this "
        f"history, give its version, as in --server-version {last[0]}.{last[1]}.0"
    )


_ABSENT = object()
_Rule = NewerField | DroppedEmpty | DrawnBefore | WrittenUntil | WroteOtherwise


def _value(event: Any, rule: _Rule) -> Any:
    return _at(event, rule.attributes, rule.path)


def _at(event: Any, attributes: str, path: str) -> Any:
    """The value at `path` (dotted) of the event's `attributes`, or _ABSENT."""
    value = event.get(attributes) if isinstance(event, dict) else None
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _ABSENT
        value = value[part]
    return value


def _has(event: Any, rule: _Rule) -> bool:
    return _value(event, rule) is not _ABSENT


def _with(event: dict[str, Any], rule: _Rule, value: Any) -> dict[str, Any]:
    def put(inner: Any, parts: list[str]) -> Any:
        if len(parts) == 1:
            return {**inner, parts[0]: value}
        return {**inner, parts[0]: put(inner[parts[0]], parts[1:])}

    return {**event, rule.attributes: put(event[rule.attributes], rule.path.split("."))}


def _without(event: dict[str, Any], rule: _Rule) -> dict[str, Any]:
    def drop(value: Any, parts: list[str]) -> Any:
        if len(parts) == 1:
            return {k: v for k, v in value.items() if k != parts[0]}
        return {**value, parts[0]: drop(value[parts[0]], parts[1:])}

    return {**event, rule.attributes: drop(event[rule.attributes], rule.path.split("."))}
