"""The Web UI's raw history: Go's `encoding/json` of the generated structs.

The Web UI's "View raw history" link (the Download dialog's, ui:
src/lib/components/workflow-raw-history-link.svelte) serves
`/namespaces/NS/workflows/ID/run/RUN/history.json` from the UI server
(ui: server/server/api/rawhistory.go), which walks every page of the history and writes
each `HistoryEvent` with Go's `json.NewEncoder(...).Encode(event)` into one array. That
is not protobuf JSON but Go's JSON of api-go's structs (api-go:
history/v1/message.pb.go), which is

- keys: the struct tags, that is the proto field names (`event_id`);
- a oneof: the Go field of the oneof (`"Attributes"`) holding an object keyed by the Go
  name of the member set (`{"WorkflowExecutionStartedEventAttributes": {...}}`);
- int64 and enums as JSON numbers;
- Timestamp and Duration as their struct, `{"seconds": S, "nanos": N}`, zeros left out;
- bytes in base64, default values left out (`omitempty`), as protobuf JSON does.

`to_protojson` rewrites an event into protobuf JSON by the official schema (temporalio's
descriptors, read on first use): every value survives, so the events decode exactly as
the protobuf-JSON export of the same run does. Key order is kept: Go writes struct
fields in declaration order, as Go's protojson does. The form is recognised by its first
event (`is_go_struct`): a oneof key such as `"Attributes"`, or an `event_time` object,
appears in no protobuf JSON.
"""

from __future__ import annotations

import functools
from typing import Any

from .errors import _Bad, _show
from .scalars import _NS, _format_duration, _format_timestamp

_EVENT = "temporal.api.history.v1.HistoryEvent"
_TIMESTAMP = "google.protobuf.Timestamp"
_DURATION = "google.protobuf.Duration"


def is_go_struct(first_event: object) -> bool:
    """Whether a history's first element is in Go's struct JSON."""
    if type(first_event) is not dict:
        return False
    return "Attributes" in first_event or type(first_event.get("event_time")) is dict


def _go_name(name: str) -> str:
    """protoc-gen-go's Go name of a field or oneof (`event_id` -> `EventId`); the
    schema's names are lower snake case without digits after an underscore."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


@functools.cache
def _schema() -> dict[str, Any]:
    """Message full name -> its descriptor, for every message under HistoryEvent."""
    from google.protobuf.descriptor import Descriptor
    from temporalio.api.history.v1 import message_pb2

    messages: dict[str, Descriptor] = {}

    def collect(desc: Descriptor) -> None:
        if desc.full_name not in messages:
            messages[desc.full_name] = desc
            for field in desc.fields:
                if field.message_type is not None:
                    collect(field.message_type)

    collect(message_pb2.HistoryEvent.DESCRIPTOR)
    return messages


@functools.cache
def _plan(full_name: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A message's fields by proto name, and its oneofs by Go name (each: its members
    by Go name)."""
    desc = _schema()[full_name]
    fields = {field.name: field for field in desc.fields}
    oneofs = {
        _go_name(oneof.name): {_go_name(f.name): f for f in oneof.fields}
        for oneof in desc.oneofs
        if not oneof.name.startswith("_")  # proto3 `optional` fields: plain pointers
    }
    return fields, oneofs


def to_protojson(raw: object) -> object:
    """One event of Go's struct JSON as protobuf JSON (a new object); `_Bad` where it
    does not fit the schema."""
    if type(raw) is dict and set(raw) == {"error"}:
        # rawhistory.go ends the array so when fetching a page fails
        raise _Bad(f"the UI server could not fetch the whole history: {_show(raw['error'])}")
    try:
        return _message(raw, _EVENT)
    except RecursionError:
        raise _Bad("nested too deeply") from None


def _message(raw: object, full_name: str) -> object:
    if type(raw) is not dict:
        raise _Bad(f"expected an object, got {_show(raw)}")
    if full_name == _TIMESTAMP:
        return _format_timestamp(_nanos(raw))
    if full_name == _DURATION:
        return _format_duration(_nanos(raw))
    fields, oneofs = _plan(full_name)
    out: dict[str, object] = {}
    for key, value in raw.items():
        try:
            field = fields.get(key)
            if field is not None:
                if value is not None:
                    out[field.json_name] = _field(value, field)
                continue
            members = oneofs.get(key)
            if members is None:
                raise _Bad("not a field of the schema")
            if value is None:
                continue
            if type(value) is not dict or len(value) != 1:
                raise _Bad(f"expected an object with one member, got {_show(value)}")
            ((name, inner),) = value.items()
            member = members.get(name)
            if member is None:
                raise _Bad(f"{_show(name)} is not a member of this oneof").at(name)
            if inner is not None:
                out[member.json_name] = _field(inner, member)
        except _Bad as exc:
            raise exc.at(key) from None
    return out


def _nanos(raw: dict[str, object]) -> int:
    seconds, nanos = raw.get("seconds", 0), raw.get("nanos", 0)
    if type(seconds) is not int or type(nanos) is not int or not set(raw) <= {"seconds", "nanos"}:
        raise _Bad(f"expected {{seconds, nanos}} integers, got {_show(raw)}")
    return seconds * _NS + nanos


def _field(value: object, field: Any) -> object:
    desc = field.message_type
    if desc is not None and desc.GetOptions().map_entry:
        if type(value) is not dict:
            raise _Bad(f"expected an object, got {_show(value)}")
        entry = desc.fields_by_name["value"]
        out = {}
        for key, item in value.items():
            try:
                out[key] = _single(item, entry)
            except _Bad as exc:
                raise exc.at(key) from None
        return out
    if field.is_repeated:
        if type(value) is not list:
            raise _Bad(f"expected an array, got {_show(value)}")
        items = []
        for index, item in enumerate(value):
            try:
                items.append(_single(item, field))
            except _Bad as exc:
                raise exc.at(index) from None
        return items
    return _single(value, field)


_INT64_TYPES = frozenset({3, 4, 6, 16, 18})  # TYPE_INT64, UINT64, FIXED64, SFIXED64, SINT64
_ENUM_TYPE = 14


def _single(value: object, field: Any) -> object:
    if field.message_type is not None:
        return _message(value, field.message_type.full_name)
    if field.type == _ENUM_TYPE:
        if type(value) is not int:
            raise _Bad(f"expected an enum number, got {_show(value)}")
        member = field.enum_type.values_by_number.get(value)
        return value if member is None else member.name
    if field.type in _INT64_TYPES and type(value) is int:
        return str(value)
    return value
