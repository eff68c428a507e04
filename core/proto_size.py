"""Protobuf-encoded sizes of the Temporal messages whose size the server limits.

Theory of operation. The server measures a payload, a memo, a search-attribute map or
a failure by its protobuf encoding (`proto.Size()`), and compares that with its limits
(`common.CheckEventBlobSizeLimit` in common/util.go, the size checker of
service/history/api/respondworkflowtaskcompleted/workflow_size_checker.go). The model
holds those messages as their protojson text (core/opaque.py), so this module computes
the encoded size from the JSON form, field by field, from a small table of the messages
involved (field numbers and wire types from temporal/api/common/v1/message.proto and
temporal/api/failure/v1/message.proto). `tests/core/test_proto_size.py` checks every
size against the protobuf runtime's own `ByteSize()`.

A key the table does not know (a field newer than the model) is counted as the length
of its JSON text: an estimate, never an error, so a new SDK's fields cannot make the
model refuse a request. Enum values are counted as one-byte varints (every enum these
messages hold has fewer than 128 values) and a name ending in ``UNSPECIFIED`` as the
default, which protobuf does not encode.

Sizing parses the JSON text, so callers first compare `upper_bound(text)` with the
limit: the encoding is never larger than four bytes per character of the JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from core.opaque import JsonValue, Opaque

# message name -> {json key: (field number, kind, message type of the field or value)}
_Field = tuple[int, str, str]
_SCHEMA: dict[str, dict[str, _Field]] = {
    "Payload": {
        "metadata": (1, "map_bytes", ""),
        "data": (2, "bytes", ""),
        "externalPayloads": (3, "repeated", "ExternalPayloadDetails"),
    },
    "ExternalPayloadDetails": {"sizeBytes": (1, "varint", "")},
    "Payloads": {"payloads": (1, "repeated", "Payload")},
    "Memo": {"fields": (1, "map_message", "Payload")},
    "SearchAttributes": {"indexedFields": (1, "map_message", "Payload")},
    "Failure": {
        "message": (1, "string", ""),
        "source": (2, "string", ""),
        "stackTrace": (3, "string", ""),
        "encodedAttributes": (20, "message", "Payload"),
        "cause": (4, "message", "Failure"),
        "applicationFailureInfo": (5, "message", "ApplicationFailureInfo"),
        "timeoutFailureInfo": (6, "message", "TimeoutFailureInfo"),
        "canceledFailureInfo": (7, "message", "CanceledFailureInfo"),
        "terminatedFailureInfo": (8, "message", "TerminatedFailureInfo"),
        "serverFailureInfo": (9, "message", "ServerFailureInfo"),
        "resetWorkflowFailureInfo": (10, "message", "ResetWorkflowFailureInfo"),
        "activityFailureInfo": (11, "message", "ActivityFailureInfo"),
        "childWorkflowExecutionFailureInfo": (12, "message", "ChildWorkflowFailureInfo"),
        "nexusOperationExecutionFailureInfo": (13, "message", "NexusOperationFailureInfo"),
        "nexusHandlerFailureInfo": (14, "message", "NexusHandlerFailureInfo"),
    },
    "ApplicationFailureInfo": {
        "type": (1, "string", ""),
        "nonRetryable": (2, "bool", ""),
        "details": (3, "message", "Payloads"),
        "nextRetryDelay": (4, "duration", ""),
        "category": (5, "enum", ""),
    },
    "TimeoutFailureInfo": {
        "timeoutType": (1, "enum", ""),
        "lastHeartbeatDetails": (2, "message", "Payloads"),
    },
    "CanceledFailureInfo": {"details": (1, "message", "Payloads"), "identity": (2, "string", "")},
    "TerminatedFailureInfo": {"identity": (1, "string", "")},
    "ServerFailureInfo": {"nonRetryable": (1, "bool", "")},
    "ResetWorkflowFailureInfo": {"lastHeartbeatDetails": (1, "message", "Payloads")},
    "ActivityFailureInfo": {
        "scheduledEventId": (1, "varint", ""),
        "startedEventId": (2, "varint", ""),
        "identity": (3, "string", ""),
        "activityType": (4, "message", "Named"),
        "activityId": (5, "string", ""),
        "retryState": (6, "enum", ""),
    },
    "ChildWorkflowFailureInfo": {
        "namespace": (1, "string", ""),
        "workflowExecution": (2, "message", "WorkflowExecution"),
        "workflowType": (3, "message", "Named"),
        "initiatedEventId": (4, "varint", ""),
        "startedEventId": (5, "varint", ""),
        "retryState": (6, "enum", ""),
    },
    "NexusOperationFailureInfo": {
        "scheduledEventId": (1, "varint", ""),
        "endpoint": (2, "string", ""),
        "service": (3, "string", ""),
        "operation": (4, "string", ""),
        "operationId": (5, "string", ""),
        "operationToken": (6, "string", ""),
    },
    "NexusHandlerFailureInfo": {"type": (1, "string", ""), "retryBehavior": (2, "enum", "")},
    "Named": {"name": (1, "string", "")},  # ActivityType, WorkflowType
    "WorkflowExecution": {"workflowId": (1, "string", ""), "runId": (2, "string", "")},
}
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def upper_bound(text: str) -> int:
    """A size the encoding of the message whose JSON text is `text` never exceeds.

    Every encoded byte comes from the JSON text: a character of a string is at most
    four UTF-8 bytes, a base64 character stands for less than one byte, and the tag
    and length of a field (at most seven bytes here) are paid for by the key, quotes,
    colon and brackets the field needs in JSON.
    """
    return 4 * len(text)


def size_of(message: str, value: Opaque | None) -> int:
    """The encoded size of `value`, a protojson `message` (a name of the table above)."""
    if value is None:
        return 0
    return _message(message, value.value())


def payloads_size(value: Opaque | None) -> int:
    """`Payloads.Size()`."""
    return size_of("Payloads", value)


def memo_size(value: Opaque | None) -> int:
    """`Memo.Size()`."""
    return size_of("Memo", value)


def search_attributes_size(value: Opaque | None) -> int:
    """`SearchAttributes.Size()`."""
    return size_of("SearchAttributes", value)


def failure_size(value: Opaque | None) -> int:
    """`Failure.Size()`."""
    return size_of("Failure", value)


def payload_map_data_size(fields: JsonValue) -> int:
    """Sum of each key's length and its payload's data length: what the server measures
    of an upserted memo or search-attribute map (`payloadsMapSize`,
    workflow_task_completed_handler.go)."""
    if not isinstance(fields, dict):
        return 0
    return sum(len(k.encode()) + _bytes_length(_get(v, "data")) for k, v in fields.items())


def payloads_map_size(fields: JsonValue) -> int:
    """Sum of each key's length and its Payloads' size (`common.GetPayloadsMapSize`,
    a marker's details)."""
    if not isinstance(fields, dict):
        return 0
    return sum(len(k.encode()) + _message("Payloads", v) for k, v in fields.items())


def payload_data_length(payload: JsonValue) -> int:
    """The length of one payload's data (a search attribute value's size)."""
    return _bytes_length(_get(payload, "data"))


def _get(value: JsonValue, key: str) -> JsonValue:
    return value.get(key) if isinstance(value, dict) else None


def _message(name: str, value: JsonValue) -> int:
    if not isinstance(value, dict):
        return 0
    fields = _SCHEMA[name]
    total = 0
    for key, item in value.items():
        spec = fields.get(key)
        if spec is None:
            total += len(key) + len(_ENCODER.encode(item).encode())
        else:
            total += _field(spec, item)
    return total


def _field(spec: _Field, item: JsonValue) -> int:
    number, kind, sub = spec
    tag = _varint_size(number << 3)
    if kind == "message":
        return _delimited(tag, _message(sub, item))
    if kind == "repeated":
        items = item if isinstance(item, list) else []
        return sum(_delimited(tag, _message(sub, x)) for x in items)
    if kind in ("map_bytes", "map_message"):
        entries = item if isinstance(item, Mapping) else {}
        return sum(_delimited(tag, _map_entry(kind, sub, k, v)) for k, v in entries.items())
    if kind == "duration":
        return _duration(tag, item)
    size = _scalar(kind, item)
    return 0 if size < 0 else tag + size


def _scalar(kind: str, item: JsonValue) -> int:
    """The encoded size of a scalar after its tag, or -1 for the default (not encoded)."""
    if kind in ("string", "bytes"):
        if kind == "bytes":
            length = _bytes_length(item)
        else:
            length = len(item.encode()) if isinstance(item, str) else 0
        return _varint_size(length) + length if length else -1
    if kind == "bool":
        return 1 if item is True else -1
    if kind == "enum":
        if isinstance(item, str):
            return 1 if not item.endswith("UNSPECIFIED") else -1
        number = _integer(item)
        return _varint_size(number) if number else -1
    number = _integer(item)  # varint
    return _varint_size(number) if number else -1


def _map_entry(kind: str, sub: str, key: str, value: JsonValue) -> int:
    key_size = len(key.encode())
    value_size = _bytes_length(value) if kind == "map_bytes" else _message(sub, value)
    return 1 + _varint_size(key_size) + key_size + 1 + _varint_size(value_size) + value_size


def _duration(tag: int, item: JsonValue) -> int:
    """A google.protobuf.Duration written as "1.5s"."""
    if not isinstance(item, str) or not item.endswith("s"):
        return 0
    whole, _, fraction = item[:-1].partition(".")
    seconds = _integer(whole)
    nanos = _integer((fraction + "000000000")[:9]) if fraction else 0
    body = (1 + _varint_size(seconds) if seconds else 0) + (1 + _varint_size(nanos) if nanos else 0)
    return _delimited(tag, body)


def _delimited(tag: int, body: int) -> int:
    return tag + _varint_size(body) + body


def _bytes_length(item: JsonValue) -> int:
    """The length of the bytes a base64 JSON string holds."""
    if not isinstance(item, str):
        return 0
    digits = len(item.rstrip("="))
    return digits * 3 // 4


def _integer(item: JsonValue) -> int:
    if isinstance(item, bool):
        return int(item)
    if isinstance(item, int):
        return item
    if isinstance(item, str):
        try:
            return int(item)
        except ValueError:
            return 0
    return 0


def _varint_size(value: int) -> int:
    if value < 0:
        return 10  # a negative int64 takes all ten bytes
    size = 1
    while value >= 0x80:
        value >>= 7
        size += 1
    return size
