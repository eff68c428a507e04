"""Protobuf messages <-> the core's values, through Temporal's JSON form.

The core keeps events and commands as typed values whose opaque parts (payloads,
failures, headers, memos...) are their protojson text (`core.opaque.Opaque`), exactly as
recorded histories hold them. So the bridge is protojson both ways: a protobuf message
is turned into its canonical JSON object (`json_format.MessageToDict`, the same form
temporalio's `to_json` writes) and decoded by the project's codec, and a core value is
encoded by the codec and parsed into the protobuf class. One format, one codec: a
history the server hands out is the history `tmodel validate` reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.history.v1 import message_pb2 as history_pb

from adapters.temporal_json import encode_event
from adapters.temporal_json.commands import decode_command
from core import payloads
from core.commands import Command
from core.events import HistoryEvent
from core.opaque import JsonValue, Opaque

M = TypeVar("M", bound=Message)


def to_json(message: Message) -> dict[str, Any]:
    """A message as its protojson object (camelCase keys, defaults left out)."""
    return json_format.MessageToDict(message)


def opaque(message: Message, field: str) -> Opaque | None:
    """The submessage `field` of `message` as an Opaque, or None when it is unset."""
    if not message.HasField(field):
        return None
    return Opaque.of(to_json(getattr(message, field)))


def opaque_of(message: Message) -> Opaque:
    return Opaque.of(to_json(message))


def fill(target: M, value: Opaque | JsonValue | None) -> M:
    """Parse `value` (an Opaque or a JSON value) into the message `target` in place."""
    if value is None:
        return target
    data = value.value() if isinstance(value, Opaque) else value
    if not isinstance(data, dict):
        raise TypeError(f"{type(target).__name__} expects a JSON object, got {data!r:.60}")
    json_format.ParseDict(data, target, ignore_unknown_fields=True)
    return target


def payload_of(value: JsonValue) -> common_pb.Payload:
    """A json/plain payload of a JSON value, as the SDKs' default converter (and the Go
    server's payload.EncodeString) write one."""
    return fill(common_pb.Payload(), payloads.payload(value))


def nanos(duration: Duration) -> int:
    return duration.seconds * 1_000_000_000 + duration.nanos


def duration(ns: int) -> Duration:
    d = Duration()
    d.seconds, d.nanos = divmod(ns, 1_000_000_000)
    return d


def timestamp(ns: int) -> Timestamp:
    t = Timestamp()
    t.seconds, t.nanos = divmod(ns, 1_000_000_000)
    return t


def timestamp_ns(t: Timestamp) -> int:
    return t.seconds * 1_000_000_000 + t.nanos


def framed_size(event: history_pb.HistoryEvent) -> int:
    """The bytes `event` adds to an encoded temporal.api.history.v1.History: its own
    encoding, its field tag and its length prefix. The store writes each batch of events
    as such a blob and adds the blob's size to ExecutionStats.HistorySize (the size
    Describe, the close visibility record and WorkflowTaskStarted report; the
    sizeDiff execution_manager.go adds per appended batch, common/persistence)."""
    size = event.ByteSize()
    prefix = 1  # the varint length prefix takes 1 byte per 7 bits of the size
    while size >= 1 << (7 * prefix):
        prefix += 1
    return 1 + prefix + size  # field 1, length-delimited: a one-byte tag


def event_proto(event: HistoryEvent) -> history_pb.HistoryEvent:
    return fill(history_pb.HistoryEvent(), encode_event(event, include_unknown=False))


def commands_of(messages: Sequence[Message]) -> tuple[Command, ...]:
    """RespondWorkflowTaskCompleted's commands as core commands (BadInput if malformed)."""
    return tuple(decode_command(to_json(message)) for message in messages)
