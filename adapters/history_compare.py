"""Two histories of the same scenario, compared field by field.

Two correct Temporal servers running the same scenario write the same events with the
same attributes, except for a short list of values that depend on who ran it and when.
`compare(expected, produced)` normalises exactly those, and nothing else, then reports
the first difference: an event of another type, a field present on one side only, or a
value that differs. The list (`LEGITIMATE`) is the documented contract; each entry says
why the value legitimately differs.

- Values are blanked but the field must still be present on both sides (`VALUE_ONLY`).
- Identifiers (run ids, namespace ids, update ids, request ids, sticky queue names,
  worker build ids) are renamed consistently: the n-th new id met in one history must
  meet the n-th new id in the other, everywhere it reappears, so an id written in the
  wrong place is caught.
- SDK flag lists compare as sets, and the timestamps a local activity's marker carries
  inside its payload are blanked.
- `ordered=False` (for scenarios whose event order is decided by a race between workers,
  such as parallel activities finishing) compares the histories as multisets of
  normalised events, with event ids and references to them left out, and without the
  workflow-task events: how many workflow tasks there are depends on how the same race
  batched the completions (those that arrive while a task runs go to the next one).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from temporalio.api.history.v1 import HistoryEvent

# field (JSON name) -> why two correct servers may write different values there
LEGITIMATE: dict[str, str] = {
    "eventTime": "the wall-clock time of the write",
    "taskId": "the shard's task id sequence, which counts every write of every run",
    "identity": "the name of the worker or client process (pid@host)",
    "historySizeBytes": "the encoded size of the history so far, which depends on the "
    "lengths of ids and timestamps",
    "stackTrace": "file paths and line numbers of the worker's installation",
    "firstWorkflowTaskBackoff": "for a continued or retried run, the time left of the "
    "1 s minimum between a chain's runs, which depends on how long the last run took",
    "createTime": "a timestamp",
    "expireTime": "a timestamp",
    "requestId": "a random id each poller or caller draws",
    # (a start's request id a running workflow attached under USE_EXISTING: a Nexus
    # operation's, which the caller's server drew)
    "attachedRequestId": "a random id the caller drew, as requestId",
    # (a header key of a Nexus completion callback, service/history/callbacks: the server
    # encodes the caller's namespace id, run id and request id into it)
    "temporal-callback-token": "the token of a Nexus operation's completion callback, "
    "which encodes ids the caller's server drew",
}
# A failover version that says "none": a local (never replicated) namespace's events.
# Servers before 0.28 (July 2020, temporal 59629e2f5d "Make 0 as invalid value for
# failover Version") wrote common.EmptyVersion = -24 for it; since then it is 0, which
# protojson leaves out. So an event's `version` of -24 is the same as none.
OLD_EMPTY_VERSIONS = frozenset({"-24", -24})
# The timeout of a workflow task's fourth and later attempts: the server adds a backoff
# scaled by a random jitter in [0.8, 1) (getStartToCloseTimeout).
JITTERED_ATTEMPT = 4
VALUE_ONLY = frozenset(LEGITIMATE)
# Fields whose values are identifiers drawn by each server or client: renamed
# consistently rather than ignored.
ID_FIELDS = frozenset(
    {
        "runId",
        "originalExecutionRunId",
        "firstExecutionRunId",
        "continuedExecutionRunId",
        "newExecutionRunId",
        "baseRunId",
        "newRunId",
        "namespaceId",
        "parentWorkflowNamespaceId",
        "protocolInstanceId",
        "updateId",
        "acceptedRequestMessageId",
        "inboundUpdateId",
        "endpointId",  # a Nexus endpoint's id, drawn when the endpoint is created
        # a worker's build id (workerVersion, reset points): unless the worker names one,
        # the SDK's checksum of the worker's code and environment
        "buildId",
    }
)
FLAG_LISTS = frozenset({"coreUsedFlags", "langUsedFlags"})
LOCAL_ACTIVITY_TIMES = ("complete_time", "original_schedule_time")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_REFERENCE = re.compile(r".*EventId$|^eventId$")
ANY = "<any>"


@dataclass(frozen=True, slots=True)
class Difference:
    event_id: int
    event_type: str
    field: str
    expected: str
    produced: str

    def __str__(self) -> str:
        return (
            f"event {self.event_id} {self.event_type}: {self.field}: "
            f"expected {self.expected}, produced {self.produced}"
        )


class _Ids:
    """A consistent renaming of identifiers, one namespace of names per side."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def name(self, value: str) -> str:
        # ids embedded in text (a reason naming a run id) are renamed in place
        def one(match: re.Match[str]) -> str:
            return self.names.setdefault(match.group(0), f"<id{len(self.names) + 1}>")

        if _UUID.search(value):
            return _UUID.sub(one, value)
        return self.names.setdefault(value, f"<id{len(self.names) + 1}>")


def _local_activity_data(data: str) -> str:
    """A local activity marker's payload with the SDK's own timestamps blanked."""
    try:
        value = json.loads(base64.b64decode(data))
    except (binascii.Error, ValueError):
        return data
    if isinstance(value, dict):
        for key in LOCAL_ACTIVITY_TIMES:
            if key in value:
                value[key] = ANY
    return json.dumps(value, sort_keys=True)


def _scalar_default(field: FieldDescriptor, value: Any) -> bool:
    """Whether `value` is the proto3 default of a field without presence: such a field
    holding its default is not written by protojson and reads back as unset, so it is
    the same as the field absent. Not so for a message field (a Duration "0s", an empty
    Memo): it has presence, and readers tell the two apart (sdk-python's
    `workflow.info().execution_timeout` is None for an absent timeout, 0 for "0s")."""
    if field.has_presence or field.is_repeated:
        return False
    if field.type == FieldDescriptor.TYPE_ENUM:
        enum = field.enum_type
        unspecified = enum.values_by_number.get(0) if enum is not None else None
        return value == 0 or (unspecified is not None and value == unspecified.name)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return value is False
    if field.type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES):
        return bool(value == "")
    # numbers: protojson writes 64-bit integers as strings
    return value in (0, "0") and not isinstance(value, bool)


def _proto3_defaults_dropped(value: Any, message: Descriptor) -> Any:
    """`value` (the protojson of a `message`) without the fields that hold their proto3
    default (see `_scalar_default`), nor repeated and map fields left empty (proto3
    repeated fields have no presence either). Keys the schema does not know are kept."""
    if not isinstance(value, dict):
        return value
    fields = message.fields_by_camelcase_name
    out = {}
    for key, item in value.items():
        field = fields.get(key) or message.fields_by_name.get(key)
        if field is None and _oneof_marker(message, value, key, item):
            continue
        if item is None:
            # protojson: null is the field unset, as writers that emit every field
            # (grpc-gateway's, the Web UI's) write it. (Only a google.protobuf.Value
            # holds null as a value: no event field is one, and the leaves below are
            # not entered.)
            continue
        if field is None:
            if _REMOVED_SCALARS.get((message.full_name, key), _NO_DEFAULT) != item:
                out[key] = item
            continue
        if field.is_repeated and item in ([], {}):
            continue
        if _scalar_default(field, item):
            continue
        sub = field.message_type
        if sub is not None and sub.full_name not in _LEAF_MESSAGES:
            if field.is_repeated and isinstance(item, list):
                item = [_proto3_defaults_dropped(x, sub) for x in item]
            elif sub.GetOptions().map_entry and isinstance(item, dict):
                entry = sub.fields_by_name["value"].message_type
                if entry is not None and entry.full_name not in _LEAF_MESSAGES:
                    item = {k: _proto3_defaults_dropped(v, entry) for k, v in item.items()}
            else:
                item = _proto3_defaults_dropped(item, sub)
        out[key] = item
    return out


def _oneof_marker(message: Descriptor, value: dict[str, Any], key: str, item: Any) -> bool:
    """Whether `key` of `value` is the name of one of `message`'s oneofs holding the name
    of its member that `value` sets, as protobufjs adds with `oneofs: true`: the old Web UI
    (temporalio/web) loads the protos so, and its export removes the key from the event
    and from `failure` and `cause` but leaves it elsewhere (a `lastFailure`'s
    `"failureInfo": "timeoutFailureInfo"`). It is no field, and no server writes it."""
    if not isinstance(item, str):
        return False
    for oneof in message.oneofs:
        head, *rest = oneof.name.split("_")
        if key in (oneof.name, head + "".join(part.title() for part in rest)):
            return any(item in (f.name, f.camelcase_name) and item in value for f in oneof.fields)
    return False


# Scalar fields the API has since removed (their numbers reserved), with the proto3
# default of the type they had: a history written with the defaults emitted (as
# sdk-typescript's JSON of 2022 is) holds them so, which is the field unset.
# ActivityTaskScheduledEventAttributes.namespace (string, field 3): temporalio/api
# 507f88f2, "Remove namespace field from ScheduleActivityTaskCommandAttributes message".
_REMOVED_SCALARS: dict[tuple[str, str], Any] = {
    ("temporal.api.history.v1.ActivityTaskScheduledEventAttributes", "namespace"): "",
}
_NO_DEFAULT = object()

# Messages protojson writes as one JSON value (a string, or any JSON): their insides are
# not fields.
_LEAF_MESSAGES = frozenset(
    {
        "google.protobuf.Duration",
        "google.protobuf.Timestamp",
        "google.protobuf.Struct",
        "google.protobuf.Value",
        "google.protobuf.ListValue",
        "google.protobuf.Any",
        "google.protobuf.FieldMask",
        *(f"google.protobuf.{w}Value" for w in ("Bool", "Int32", "Int64", "UInt32", "UInt64")),
        *(f"google.protobuf.{w}Value" for w in ("Float", "Double", "String", "Bytes")),
    }
)


def normalise(event: Any, ids: _Ids, ignore: frozenset[str] = frozenset()) -> Any:
    """One event with the legitimately differing values replaced (see the module doc);
    fields named in `ignore` are left out altogether (value and presence)."""
    marker = event.get("markerRecordedEventAttributes", {}).get("markerName", "")
    scheduled = event.get("workflowTaskScheduledEventAttributes", {})
    jittered = int(scheduled.get("attempt", 1)) >= JITTERED_ATTEMPT

    def walk(value: Any, key: str) -> Any:
        if isinstance(value, dict):
            if value.get("kind") == "TASK_QUEUE_KIND_STICKY" and isinstance(value.get("name"), str):
                value = dict(value, name=ids.name(value["name"]))
            out = {}
            for k, v in value.items():
                if k in ignore:
                    continue
                out[k] = ANY if (jittered and k == "startToCloseTimeout") else walk(v, k)
            return out
        if isinstance(value, list):
            items = [walk(v, key) for v in value]
            return sorted(items, key=_sort_key) if key in FLAG_LISTS else items
        if key in VALUE_ONLY:
            return ANY
        if key in ID_FIELDS and isinstance(value, str):
            return ids.name(value)
        if key in ("reason", "cause") and isinstance(value, str):
            return _UUID.sub(lambda m: ids.name(m.group(0)), value)
        if key == "data" and marker == "core_local_activity" and isinstance(value, str):
            return _local_activity_data(value)
        return value

    if isinstance(event, dict) and event.get("version") in OLD_EMPTY_VERSIONS:
        event = {k: v for k, v in event.items() if k != "version"}
    result: Any = walk(_proto3_defaults_dropped(event, HistoryEvent.DESCRIPTOR), "")
    return result


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _diff(a: Any, b: Any, path: str) -> tuple[str, str, str] | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            where = f"{path}.{key}" if path else key
            if key not in a:
                return where, "(absent)", _show(b[key])
            if key not in b:
                return where, _show(a[key]), "(absent)"
            found = _diff(a[key], b[key], where)
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path} (length)", str(len(a)), str(len(b))
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _diff(x, y, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    if a != b:
        return path, _show(a), _show(b)
    return None


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def _event_type(event: Any) -> str:
    return str(event.get("eventType", "?")).removeprefix("EVENT_TYPE_")


def compare(
    expected: Sequence[Any],
    produced: Sequence[Any],
    ordered: bool = True,
    ignore: frozenset[str] = frozenset(),
) -> Difference | None:
    """The first difference between two histories (protojson event objects), or None;
    `ignore` names further fields (JSON names) left out of the comparison."""
    if not ordered:
        return _compare_unordered(expected, produced, ignore)
    left, right = _Ids(), _Ids()
    for a, b in zip(expected, produced, strict=False):
        event_id = int(a.get("eventId", 0))
        if _event_type(a) != _event_type(b):
            return Difference(event_id, _event_type(a), "eventType", _event_type(a), _event_type(b))
        found = _diff(normalise(a, left, ignore), normalise(b, right, ignore), "")
        if found is not None:
            return Difference(event_id, _event_type(a), *found)
    if len(expected) != len(produced):
        n = min(len(expected), len(produced))
        longer = expected if len(expected) > len(produced) else produced
        return Difference(
            n + 1,
            _event_type(longer[n]),
            "events",
            f"{len(expected)} events",
            f"{len(produced)} events",
        )
    return None


def _strip_references(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_references(v) for k, v in value.items() if not _REFERENCE.match(k)}
    if isinstance(value, list):
        return [_strip_references(v) for v in value]
    return value


def _compare_unordered(
    expected: Sequence[Any], produced: Sequence[Any], ignore: frozenset[str]
) -> Difference | None:
    def bag(events: Sequence[Any]) -> Counter[str]:
        ids = _Ids()
        return Counter(
            json.dumps(_strip_references(normalise(e, ids, ignore)), sort_keys=True)
            for e in events
            if e.get("eventType") not in _WORKFLOW_TASK_EVENTS
        )

    a, b = bag(expected), bag(produced)
    if a == b:
        return None
    missing = sorted((a - b).elements())
    extra = sorted((b - a).elements())
    shown = missing[0] if missing else "(none)"
    return Difference(
        0, "(any)", "events (ignoring order)", _cut(shown), _cut(extra[0] if extra else "(none)")
    )


_WORKFLOW_TASK_EVENTS = frozenset(
    f"EVENT_TYPE_WORKFLOW_TASK_{kind}"
    for kind in ("SCHEDULED", "STARTED", "COMPLETED", "FAILED", "TIMED_OUT")
)


def _cut(text: str) -> str:
    return text if len(text) <= 160 else text[:157] + "..."
