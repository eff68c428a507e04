"""Payload shorthand: the server's HTTP API writes payloads as their JSON values.

`GET /api/v1/namespaces/NS/workflows/ID/history` answers with the
`GetWorkflowExecutionHistoryResponse` in protobuf JSON, with one change unless the
request says `?noPayloadShorthand` (temporal: service/frontend/http_api_server.go,
protojson_marshaler.go): api-go's marshaler, with payload shorthand on
(api-go: common/v1/payload_json.go), writes

- a `Payload` whose only metadata is `encoding: json/plain` as the JSON value its data
  holds (parsed and written again: keys sorted, no spaces);
- a `json/protobuf` payload with a `messageType` as that JSON object plus a key
  `_protoMessageType`;
- a `Payloads` whose every payload is written so as a bare array of those values;
- every other payload (binary/null, binary/protobuf, a codec's encoding, extra metadata
  such as a search attribute's `type`) as protobuf JSON, unchanged.

`expand_event` undoes that, as api-go's own reader does (`fromJSONMaybeShorthand`): an
object that is a well-formed payload stays one; `null` is a binary/null payload; a
value with `_protoMessageType` becomes a json/protobuf payload; any other value a
json/plain payload whose data is the value written by Go's `encoding/json` (`_go_json`).

That is lossy, and no reader can do better: the server parsed the data and wrote it
again, so the spacing, key order, number spelling and escapes of the bytes the SDK
wrote are gone. The events decoded from this form equal the protobuf-JSON export's
exactly where the SDK wrote its JSON as Go does (the Python SDK writes compact JSON
with sorted keys, so ASCII data without `<`, `>`, `&` or non-integral numbers comes
back byte for byte); elsewhere only the payload data differs, as the same value
spelled differently.

Where payloads sit is read from the official protobuf schema (temporalio's
descriptors of `HistoryEvent`), on first use only.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from .errors import _Bad
from .payload_sites import PAYLOAD_SITES, Container

_PAYLOAD = "temporal.api.common.v1.Payload"
_PAYLOADS = "temporal.api.common.v1.Payloads"
_MESSAGE_TYPE_KEY = "_protoMessageType"  # api-go: shorthandMessageTypeKey
_BINARY_NULL = base64.b64encode(b"binary/null").decode()
_JSON_PLAIN = base64.b64encode(b"json/plain").decode()
_JSON_PROTOBUF = base64.b64encode(b"json/protobuf").decode()
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True, slots=True)
class _Site:
    """A field holding payloads at some depth: its JSON names, what it holds (a Payload,
    a Payloads or a message with payloads further down) and how (one, a list, a map)."""

    names: tuple[str, ...]
    holds: str  # _PAYLOAD, _PAYLOADS or a message's full name
    container: Container


@functools.cache
def _sites() -> dict[str, tuple[_Site, ...]]:
    """`PAYLOAD_SITES` as `_Site`s (a test checks the table against `schema_sites`)."""
    return {
        message: tuple(_Site(names, holds, container) for names, holds, container in rows)
        for message, rows in PAYLOAD_SITES.items()
    }


def schema_sites() -> dict[str, tuple[_Site, ...]]:
    """Message full name -> the fields leading to payloads in it, for every message
    reachable from `HistoryEvent` that holds payloads at some depth, read from
    temporalio's descriptors (an import of 0.3 s, which is why the readers use the
    table in payload_sites.py; `print_table` prints it)."""
    from google.protobuf.descriptor import Descriptor, FieldDescriptor
    from temporalio.api.history.v1 import message_pb2

    messages: dict[str, Descriptor] = {}

    def collect(desc: Descriptor) -> None:
        if desc.full_name in messages:
            return
        messages[desc.full_name] = desc
        for field in desc.fields:
            if field.message_type is not None:
                collect(field.message_type)

    collect(message_pb2.HistoryEvent.DESCRIPTOR)

    def target(field: FieldDescriptor) -> tuple[Descriptor | None, Container]:
        desc = field.message_type
        if desc is None:
            return None, "single"
        if desc.GetOptions().map_entry:
            return desc.fields_by_name["value"].message_type, "map"
        repeated = bool(field.is_repeated)
        return desc, "list" if repeated else "single"

    # Which messages hold payloads at some depth: a fixed point (Failure holds Failure).
    holding = {_PAYLOAD, _PAYLOADS}
    changed = True
    while changed:
        changed = False
        for name, desc in messages.items():
            if name in holding:
                continue
            for field in desc.fields:
                inner, _ = target(field)
                if inner is not None and inner.full_name in holding:
                    holding.add(name)
                    changed = True
                    break
    sites: dict[str, tuple[_Site, ...]] = {}
    for name, desc in messages.items():
        if name not in holding or name in (_PAYLOAD, _PAYLOADS):
            continue
        rows = []
        for field in desc.fields:
            inner, container = target(field)
            if inner is not None and inner.full_name in holding:
                names = tuple(dict.fromkeys((field.json_name, field.name)))
                rows.append(_Site(names, inner.full_name, container))
        sites[name] = tuple(rows)
    return sites


_EVENT = "temporal.api.history.v1.HistoryEvent"


def expand_event(raw: object) -> int:
    """Turn the shorthand payloads of one parsed event back into protobuf JSON, in
    place; how many payloads were shorthand. A value of the wrong shape is left for the
    decoder to refuse."""
    rebuilt = [0]
    try:
        _expand(raw, _EVENT, _sites(), rebuilt)
    except RecursionError:
        raise _Bad("nested too deeply") from None
    return rebuilt[0]


Sites = dict[str, tuple[_Site, ...]]


def _expand(value: object, message: str, sites: Sites, rebuilt: list[int]) -> None:
    if type(value) is not dict:
        return
    for site in sites.get(message, ()):
        for name in site.names:
            item = value.get(name)
            if item is None:
                continue
            try:
                if site.container == "single":
                    value[name] = _one(item, site.holds, sites, rebuilt)
                elif site.container == "list" and type(item) is list:
                    item[:] = [_one(x, site.holds, sites, rebuilt) for x in item]
                elif site.container == "map" and type(item) is dict:
                    for key, entry in item.items():
                        item[key] = _one(entry, site.holds, sites, rebuilt)
            except _Bad as exc:
                raise exc.at(name) from None


def _one(item: object, holds: str, sites: Sites, rebuilt: list[int]) -> object:
    if holds == _PAYLOAD:
        return _payload(item, rebuilt)
    if holds == _PAYLOADS:
        if type(item) is list:  # the shorthand array
            payloads: list[object] = []
            for index, entry in enumerate(item):
                try:
                    payloads.append(_payload(entry, rebuilt))
                except _Bad as exc:
                    raise exc.at(index) from None
            return {"payloads": payloads} if payloads else {}
        if type(item) is dict:  # protobuf JSON, whose payloads may each be shorthand
            inner = item.get("payloads")
            if type(inner) is list:
                try:
                    item["payloads"] = [_payload(entry, rebuilt) for entry in inner]
                except _Bad as exc:
                    raise exc.at("payloads") from None
        return item
    _expand(item, holds, sites, rebuilt)
    return item


def _payload(item: object, rebuilt: list[int]) -> object:
    payload = payload_of(item)
    if payload is not item:
        rebuilt[0] += 1
    return payload


def _base64(text: object) -> bool:
    """Whether `text` is base64 as protobuf JSON readers take it (standard or URL-safe
    alphabet, padded or not)."""
    if type(text) is not str:
        return False
    altchars = b"-_" if "-" in text or "_" in text else None
    padded = text + "=" * (-len(text) % 4)
    try:
        base64.b64decode(padded, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


_PAYLOAD_KEYS = frozenset({"metadata", "data", "externalPayloads", "external_payloads"})


def _is_payload(item: dict[str, object]) -> bool:
    """Whether an object is a payload in protobuf JSON (api-go: unmarshalPayload).

    Unlike api-go, which then wants exactly `metadata` and `data`, a payload with no
    data (protobuf JSON leaves empty bytes out) or with `externalPayloads` is taken as a
    payload too: the `?noPayloadShorthand` form writes such payloads, and no shorthand
    value of the server's can look like one (it writes those payloads unshortened)."""
    metadata = item.get("metadata")
    if type(metadata) is not dict or "encoding" not in metadata:
        return False
    if not item.keys() <= _PAYLOAD_KEYS:
        return False
    if "data" in item and not _base64(item["data"]):
        return False
    return all(_base64(v) for v in metadata.values())


def payload_of(item: object) -> object:
    """One payload in protobuf JSON from its shorthand (or protobuf JSON) form."""
    if item is None:
        return {"metadata": {"encoding": _BINARY_NULL}}
    if type(item) is dict:
        if _is_payload(item):
            return item
        if _MESSAGE_TYPE_KEY in item:
            message_type = item[_MESSAGE_TYPE_KEY]
            if type(message_type) is not str:
                raise _Bad(f"{_MESSAGE_TYPE_KEY} is not a string")
            body = {k: v for k, v in item.items() if k != _MESSAGE_TYPE_KEY}
            return {
                "metadata": {
                    "encoding": _JSON_PROTOBUF,
                    "messageType": base64.b64encode(message_type.encode()).decode(),
                },
                "data": _bytes64(_go_json(body)),
            }
    return {"metadata": {"encoding": _JSON_PLAIN}, "data": _bytes64(_go_json(item))}


def _bytes64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "replace")).decode()


# ------------------------------------------------------------------ Go's encoding/json


def _go_json(value: object) -> str:
    """`value` as Go's `json.Marshal` writes the `interface{}` api-go's reader built
    from it: objects with keys sorted, no spaces, HTML-safe escapes, integral numbers
    within int64 as integers (api-go reads a number as int64 when it can), every other
    number as Go writes a float64."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: object, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif type(value) is str:
        out.append(_go_string(value))
    elif type(value) is int or type(value) is float:
        out.append(_go_number(value))
    elif type(value) is list:
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif type(value) is dict:
        out.append("{")
        keys = sorted(value, key=lambda k: k.encode("utf-8", "surrogatepass"))
        for index, key in enumerate(keys):
            if index:
                out.append(",")
            out.append(_go_string(key))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    else:
        raise _Bad(f"not a JSON value: {type(value).__name__}")


_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r"}
_SHORT_ESCAPES["\t"] = "\\t"


def _go_string(text: str) -> str:
    """A string as Go's encoder writes it (escapeHTML on, as `json.Marshal` has it):
    control characters, `<`, `>`, `&`, U+2028 and U+2029 escaped, a lone surrogate
    (invalid UTF-8 to Go) as U+FFFD, everything else as it is."""
    out = ['"']
    for char in text:
        escape = _SHORT_ESCAPES.get(char)
        if escape is not None:
            out.append(escape)
        elif char < " " or char in "<>&\u2028\u2029":
            out.append(f"\\u{ord(char):04x}")
        elif "\ud800" <= char <= "\udfff":
            out.append("\ufffd")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _go_number(number: int | float) -> str:
    if type(number) is float:
        if not math.isfinite(number):
            raise _Bad(f"not a JSON number: {number!r}")
        if number.is_integer() and _INT64[0] <= number <= _INT64[1]:
            return str(int(number))
    elif _INT64[0] <= number <= _INT64[1]:
        return str(number)
    else:
        try:
            number = float(number)  # api-go reads it as a float64
        except OverflowError:
            raise _Bad(f"number out of range: {str(number)[:24]}...") from None
        if not math.isfinite(number):
            raise _Bad("number out of range")
    return _go_float(number)


def _go_float(number: float) -> str:
    """A float64 as Go's encoding/json writes it: the shortest digits that read back
    the same, positional unless the magnitude is below 1e-6 or at least 1e21, then
    `1.5e-7` / `1e+21` (Go's `strconv` 'e' format with `e-0N` shortened)."""
    if number == 0:
        return "0"
    exact = Decimal(repr(number))
    magnitude = abs(number)
    if 1e-6 <= magnitude < 1e21:
        return format(exact, "f")
    sign, digits, exponent = exact.as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    power = int(exponent) + len(digits) - 1
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    written = f"{'-' if sign else ''}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"
    if -10 < power < 0:  # Go shortens e-07 to e-7
        written = written[:-2] + written[-1]
    return written


# ------------------------------------------------------------------ the Web UI's decoded payloads

_ENCODING_NAME = re.compile(r"[a-z0-9]+/[A-Za-z0-9.+_-]+\Z")


def _plain_encoding(value: object) -> bool:
    """Whether a payload's `encoding` metadata is written as plain text ("json/plain")
    rather than in base64 ("anNvbi9wbGFpbg==")."""
    if type(value) is not str or not _ENCODING_NAME.match(value):
        return False
    if not _base64(value):
        return True
    decoded = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_")
    return not _ENCODING_NAME.match(decoded.decode("latin-1"))


def ui_decoded_payloads(raw: object) -> bool:
    """Whether an event holds payloads as the Web UI's "Decoded" or "Human Readable"
    downloads write them (ui: src/lib/utilities/decode-payload.ts): metadata in plain
    text, data decoded by a codec server and parsed. That form cannot be read back into
    the payloads the history holds."""

    def plain(item: object, shorthand_array: bool) -> bool:
        metadata = item.get("metadata") if type(item) is dict else None
        return type(metadata) is dict and _plain_encoding(metadata.get("encoding"))

    return _any(raw, plain)


def has_shorthand(raw: object) -> bool:
    """Whether an event surely holds shorthand payloads, in a file without the HTTP
    API's wrapper: a Payloads written as an array, which protobuf JSON never writes
    (it is an object with a `payloads` member). A single Payload that is not a payload
    object is not taken as evidence: in protobuf JSON that is a damaged file (data
    that is not base64, a payload that is not an object), which must stay bad input
    rather than be read as shorthand values."""

    def shorthand(item: object, shorthand_array: bool) -> bool:
        return shorthand_array

    return _any(raw, shorthand)


def _any(raw: object, test: Callable[[object, bool], bool]) -> bool:
    """Whether `test` holds for a payload of the event (read only); `test` is told
    whether the payload came from a Payloads written as an array."""
    try:
        return any(test(item, array) for item, array in _payloads_in(raw, _EVENT, _sites()))
    except RecursionError:
        return False


def _payloads_in(value: object, message: str, sites: Sites) -> Iterator[tuple[object, bool]]:
    """Every payload value inside `value`, and whether it came from a Payloads written
    as an array."""
    if type(value) is not dict:
        return
    for site in sites.get(message, ()):
        for name in site.names:
            item = value.get(name)
            if site.container == "single":
                items = [item]
            elif type(item) is list:
                items = item
            else:
                items = list(item.values()) if type(item) is dict else []
            for entry in items:
                if site.holds == _PAYLOAD:
                    yield entry, False
                elif site.holds == _PAYLOADS:
                    array = type(entry) is list
                    inner = (
                        entry if array else entry.get("payloads") if type(entry) is dict else None
                    )
                    for payload in inner if type(inner) is list else []:
                        yield payload, array
                else:
                    yield from _payloads_in(entry, site.holds, sites)


def print_table() -> None:
    """Print payload_sites.py's table from the schema (then format it with ruff)."""
    for message, rows in sorted(schema_sites().items()):
        print(f"    {message!r}: (")
        for site in rows:
            print(f"        ({site.names!r}, {site.holds!r}, {site.container!r}),")
        print("    ),")
