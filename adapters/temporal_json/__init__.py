"""Temporal's JSON history format <-> core.events, exactly.

Theory of operation. `temporal workflow show -o json` (Go protojson) and temporalio's
`WorkflowHistory.to_json()` (Python protojson) write a `History` message as
`{"events": [...]}` (docs/temporal-semantics.md#json-histories): lowerCamelCase keys,
enum values by full name (`EVENT_TYPE_TIMER_FIRED`), int64 as strings, int32 as
numbers, Timestamps as RFC 3339 UTC text with 0, 3, 6 or 9 fractional digits,
Durations as `"1.500s"`, and default values omitted. Older tctl and Web UI exports
write enums as short PascalCase names (`"WorkflowExecutionStarted"`, `"Normal"`); that
"legacy" style is detected from the first event's `eventType` and kept on re-encoding.

The codec is table-driven: at import it compiles the `FIELDS` metadata generated into
core/events/ into per-class plans (a key -> decoder dict, and encoder rows in both key
orders), so the hot loop does one dict lookup and one call per JSON key. Opaque values
are kept as their JSON text; only in the legacy style are they walked, along
`OPAQUE_ENUM_SITES`, to rewrite enum names. Python protobuf prints fields by field
number, Go by declaration order; the decoder notices which order it read and the
encoder can write either, so decode -> encode gives back the same JSON, key order
included. Keys the schema does not know are kept in `unknown` and written back last.

Other export forms are read into the same events (forms.py tells them apart): the
server HTTP API's answer, `{"history": {"events": [...]}, ...}`, whose payloads are
"shorthand" JSON values by default and are rebuilt as the server's own reader rebuilds
them (shorthand.py: the same values, not always the same bytes); and the Web UI's raw
history, Go's struct JSON, rewritten into protobuf JSON by the schema (gostruct.py).
docs/conformance.md ("History files: the forms read") lists them all.

Every problem with the input raises `BadInput` with one line naming the event (index
and eventId) and the JSON path. Checking event order is the validator's job, not ours.

Modules, in dependency order: errors (locating a problem), scalars (leaf values),
legacy (the short-enum style), opaque (values kept as JSON text), plans (compiled
per-class plans and the message codec), payload_sites and shorthand (the HTTP API's
payloads), gostruct (the UI's raw history), forms (telling the forms apart), codec
(events and histories), stream (`iter_events`, `write_events`).
"""

from core.errors import BadInput

from .codec import (
    DecodedHistory,
    FieldOrder,
    Style,
    decode_event,
    decode_history_generic,
    encode_event,
    encode_history,
)
from .stream import EventStream, decode_history, iter_events, write_events

__all__ = [
    "BadInput",
    "DecodedHistory",
    "EventStream",
    "FieldOrder",
    "Style",
    "decode_event",
    "decode_history",
    "decode_history_generic",
    "encode_event",
    "encode_history",
    "iter_events",
    "write_events",
]
