"""Temporal's JSON history format <-> core.events, exactly.

Theory of operation. `temporal workflow show -o json` (Go protojson) and temporalio's
`WorkflowHistory.to_json()` (Python protojson) write a `History` message as
`{"events": [...]}` (reference/temporal-semantics.md section 8): lowerCamelCase keys,
enum values by full name (`EVENT_TYPE_TIMER_FIRED`), int64 as strings, int32 as
numbers, Timestamps as RFC 3339 UTC text with 0, 3, 6 or 9 fractional digits,
Durations as `"1.500s"`, and default values omitted. Older tctl and Web UI exports
write enums as short PascalCase names (`"WorkflowExecutionStarted"`, `"Normal"`); that
"legacy" style is detected from the first event's `eventType` and kept on re-encoding.

The codec is table-driven: at import it compiles the `FIELDS` metadata generated into
core/events.py into per-class plans (a key -> decoder dict, and encoder rows in both key
orders), so the hot loop does one dict lookup and one call per JSON key. Opaque values
are kept as their JSON text; only in the legacy style are they walked, along
`OPAQUE_ENUM_SITES`, to rewrite enum names. Python protobuf prints fields by field
number, Go by declaration order; the decoder notices which order it read and the
encoder can write either, so decode -> encode gives back the same JSON, key order
included. Keys the schema does not know are kept in `unknown` and written back last.

Every problem with the input raises `BadInput` with one line naming the event (index
and eventId) and the JSON path. Checking event order is the validator's job, not ours.
"""

from __future__ import annotations

import codecs
import contextlib
import gc
import json
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from typing import IO, Literal, TypeAlias

from core.enums import ENUM_PREFIX, EventType
from core.errors import BadInput
from core.events import (
    ATTRIBUTES,
    OPAQUE_ENUM_SITES,
    AttributesSpec,
    FieldSpec,
    HistoryEvent,
    Kind,
    OpaqueAttributes,
    ProtoMessage,
)
from core.opaque import JsonValue, Opaque

Style = Literal["canonical", "legacy"]
FieldOrder = Literal["number", "declaration"]

__all__ = [
    "BadInput",
    "DecodedHistory",
    "FieldOrder",
    "Style",
    "decode_event",
    "decode_history",
    "encode_event",
    "encode_history",
    "iter_events",
    "write_events",
]


@dataclass(frozen=True, slots=True)
class DecodedHistory:
    """A decoded history and how it was written, so it can be written back the same way."""

    events: tuple[HistoryEvent, ...]
    style: Style  # "legacy": enums as short PascalCase names
    field_order: FieldOrder  # "declaration": keys in proto declaration order (Go)


# ---------------------------------------------------------------------------- errors


class _Bad(Exception):
    """A problem below an event, located by the JSON path collected while unwinding."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path: list[str] = []

    def at(self, key: str | int) -> _Bad:
        self.path.append(f"[{key}]" if isinstance(key, int) else key)
        return self

    def text(self) -> str:
        path = ""
        for part in reversed(self.path):
            path += part if part.startswith("[") or not path else "." + part
        return f"{path}: {self.problem}" if path else self.problem


def _show(raw: object) -> str:
    """A short description of a JSON value for an error message."""
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        text = json.dumps(raw, ensure_ascii=True)
        return text if len(text) <= 40 else text[:37] + '..."'
    if isinstance(raw, int | float):
        text = repr(raw)
        return text if len(text) <= 24 else text[:21] + "..."
    if isinstance(raw, dict):
        return "an object"
    if isinstance(raw, list):
        return "an array"
    return type(raw).__name__


def _event_label(index: int, raw: object) -> str:
    label = f"events[{index}]"
    if isinstance(raw, dict) and "eventId" in raw:
        label += f" (eventId {_show(raw['eventId'])})"
    return label


# ------------------------------------------------------------------ scalar decoders


class _Ctx:
    """Per-history decoding state."""

    __slots__ = ("declaration_order", "legacy")

    def __init__(self, legacy: bool) -> None:
        self.legacy = legacy
        self.declaration_order = False  # set on reading keys out of field-number order


Decoder = Callable[[object, _Ctx], object]
Encoder = Callable[[object], JsonValue]

_INT_TEXT = re.compile(r"-?[0-9]{1,20}\Z")
_RANGES = {
    Kind.INT64: (-(1 << 63), (1 << 63) - 1, "int64"),
    Kind.UINT64: (0, (1 << 64) - 1, "uint64"),
    Kind.INT32: (-(1 << 31), (1 << 31) - 1, "int32"),
    Kind.UINT32: (0, (1 << 32) - 1, "uint32"),
}


def _int_decoder(kind: Kind) -> Decoder:
    low, high, what = _RANGES[kind]

    def decode(raw: object, ctx: _Ctx) -> int:
        # protojson readers accept 64- and 32-bit integers as JSON strings or numbers.
        if type(raw) is str:
            # isascii: str.isdigit alone accepts digits of other scripts, which int() takes.
            plain = raw.isascii() and raw.isdigit() and len(raw) <= 20
            if not plain and _INT_TEXT.match(raw) is None:
                raise _Bad(f"expected {what}, got {_show(raw)}")
            value = int(raw)
        elif type(raw) is int:
            value = raw
        elif type(raw) is float and raw.is_integer():
            value = int(raw)
        else:
            raise _Bad(f"expected {what}, got {_show(raw)}")
        if value < low or value > high:
            raise _Bad(f"{value} is out of {what} range")
        return value

    return decode


def _decode_string(raw: object, ctx: _Ctx) -> str:
    if type(raw) is not str:
        raise _Bad(f"expected a string, got {_show(raw)}")
    return raw


def _decode_bool(raw: object, ctx: _Ctx) -> bool:
    if raw is True or raw is False:
        return raw
    raise _Bad(f"expected true or false, got {_show(raw)}")


_FLOAT_WORDS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def _decode_double(raw: object, ctx: _Ctx) -> float:
    if type(raw) is float or type(raw) is int:
        return float(raw)
    if type(raw) is str and raw in _FLOAT_WORDS:
        return _FLOAT_WORDS[raw]
    raise _Bad(f"expected a number, got {_show(raw)}")


# Legacy short names: EVENT_TYPE_WORKFLOW_EXECUTION_STARTED <-> WorkflowExecutionStarted.
def _short_name(member: str) -> str:
    return "".join(part.capitalize() for part in member.split("_"))


_FULL_NAME: dict[type[IntEnum], dict[int, str]] = {}
_SHORT_NAME: dict[type[IntEnum], dict[int, str]] = {}
_BY_NAME: dict[type[IntEnum], dict[str, IntEnum]] = {}
for _cls, _prefix in ENUM_PREFIX.items():
    _FULL_NAME[_cls] = {m.value: _prefix + m.name for m in _cls}
    _SHORT_NAME[_cls] = {m.value: _short_name(m.name) for m in _cls}
    _BY_NAME[_cls] = {
        **{_short_name(m.name): m for m in _cls},
        **{_prefix + m.name: m for m in _cls},
    }
    if len(_BY_NAME[_cls]) != 2 * len(_cls):
        raise AssertionError(f"{_cls.__name__}: legacy short names are ambiguous")


def _enum_decoder(cls: type[IntEnum]) -> Decoder:
    names = _BY_NAME[cls]

    def decode(raw: object, ctx: _Ctx) -> IntEnum:
        if type(raw) is str:
            member = names.get(raw)
            if member is None:
                raise _Bad(f"unknown {cls.__name__} value {_show(raw)}")
            return member
        if type(raw) is int:
            try:
                return cls(raw)
            except ValueError:
                # protojson writes numbers unknown to its schema; an IntEnum cannot hold them.
                raise _Bad(f"{cls.__name__} has no value {_show(raw)}") from None
        raise _Bad(f"expected a {cls.__name__} name, got {_show(raw)}")

    return decode


# ------------------------------------------------------------ timestamps, durations

_EPOCH = date(1970, 1, 1).toordinal()
_NS = 1_000_000_000
# google/protobuf/timestamp.proto: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z
_MIN_SECONDS = (date(1, 1, 1).toordinal() - _EPOCH) * 86400
_MAX_SECONDS = (date(9999, 12, 31).toordinal() - _EPOCH) * 86400 + 86399
# google/protobuf/duration.proto: +-10,000 years.
_MAX_DURATION_SECONDS = 315_576_000_000
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?([Zz]|[+-][0-9]{2}:[0-9]{2})\Z"
)
_DURATION = re.compile(r"(-)?([0-9]{1,12})(?:\.([0-9]{1,9}))?s\Z")
_DAYS: dict[str, int] = {}  # "YYYY-MM-DD" -> days since the epoch


def _decode_timestamp(raw: object, ctx: _Ctx) -> int:
    if type(raw) is not str or (match := _TIMESTAMP.match(raw)) is None:
        raise _Bad(f"expected an RFC 3339 timestamp, got {_show(raw)}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    days = _DAYS.get(raw[:10])
    if days is None:
        try:
            days = date(int(year), int(month), int(day)).toordinal() - _EPOCH
        except ValueError:
            raise _Bad(f"no such date: {_show(raw)}") from None
        if len(_DAYS) < 100_000:  # a memo: histories span few days
            _DAYS[raw[:10]] = days
    if int(hour) > 23 or int(minute) > 59 or int(second) > 59:
        raise _Bad(f"no such time of day: {_show(raw)}")
    seconds = days * 86400 + int(hour) * 3600 + int(minute) * 60 + int(second)
    if zone not in ("Z", "z"):
        if int(zone[1:3]) > 23 or int(zone[4:6]) > 59:
            raise _Bad(f"no such UTC offset: {_show(raw)}")
        offset = int(zone[1:3]) * 3600 + int(zone[4:6]) * 60
        seconds -= offset if zone[0] == "+" else -offset
    if not _MIN_SECONDS <= seconds <= _MAX_SECONDS:
        raise _Bad(f"timestamp out of range: {_show(raw)}")
    nanos = int(fraction.ljust(9, "0")) if fraction else 0
    return seconds * _NS + nanos


def _decode_duration(raw: object, ctx: _Ctx) -> int:
    match = _DURATION.match(raw) if type(raw) is str else None
    if match is None:
        raise _Bad(f'expected a duration like "1.5s", got {_show(raw)}')
    sign, seconds, fraction = match.groups()
    if int(seconds) > _MAX_DURATION_SECONDS:
        raise _Bad(f"duration out of range: {_show(raw)}")
    value = int(seconds) * _NS + (int(fraction.ljust(9, "0")) if fraction else 0)
    return -value if sign else value


def _fraction(nanos: int) -> str:
    # protojson prints 0, 3, 6 or 9 fractional digits, the fewest that are exact.
    if nanos == 0:
        return ""
    if nanos % 1_000_000 == 0:
        return f".{nanos // 1_000_000:03d}"
    if nanos % 1000 == 0:
        return f".{nanos // 1000:06d}"
    return f".{nanos:09d}"


def _format_timestamp(value: int) -> str:
    seconds, nanos = divmod(value, _NS)
    if not _MIN_SECONDS <= seconds <= _MAX_SECONDS:
        raise _Bad(f"timestamp {value} ns is out of range")
    days, rest = divmod(seconds, 86400)
    day = date.fromordinal(days + _EPOCH)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return (
        f"{day.year:04d}-{day.month:02d}-{day.day:02d}"
        f"T{hour:02d}:{minute:02d}:{second:02d}{_fraction(nanos)}Z"
    )


def _format_duration(value: int) -> str:
    seconds, nanos = divmod(abs(value), _NS)
    if seconds > _MAX_DURATION_SECONDS:
        raise _Bad(f"duration {value} ns is out of range")
    return f"{'-' if value < 0 else ''}{seconds}{_fraction(nanos)}s"


# ------------------------------------------------------------------ opaque values


# The encoding `Opaque.of` uses; applied here to values typed `object` (json.loads
# output or a caller's dict), whose JSON-ness the encoder itself checks.
_OPAQUE_TEXT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def _opaque(raw: object) -> Opaque:
    try:
        return Opaque(_OPAQUE_TEXT(raw))
    except (TypeError, ValueError, RecursionError) as exc:
        raise _Bad(f"not a JSON value ({exc})") from None


Convert = Callable[[type[IntEnum], str], str]


def _to_full(cls: type[IntEnum], name: str) -> str:
    member = _BY_NAME[cls].get(name)
    return name if member is None else _FULL_NAME[cls][member.value]


def _to_short(cls: type[IntEnum], name: str) -> str:
    member = _BY_NAME[cls].get(name)
    return name if member is None else _SHORT_NAME[cls][member.value]


def _walk(value: JsonValue, proto: str, convert: Convert) -> None:
    """Rewrite, in place, the enum names inside an opaque value of message `proto`.

    Values of the wrong shape are left alone: opaque values are not validated.
    """
    sites = OPAQUE_ENUM_SITES.get(proto)
    if sites is None or not isinstance(value, dict):
        return
    for site in sites:
        item = value.get(site.json_name)
        if item is None:
            continue
        if site.container == "single":
            value[site.json_name] = _convert_item(item, site.enum, site.message, convert)
        elif site.container == "list" and isinstance(item, list):
            item[:] = [_convert_item(x, site.enum, site.message, convert) for x in item]
        elif site.container == "map" and isinstance(item, dict):
            for key, entry in item.items():
                item[key] = _convert_item(entry, site.enum, site.message, convert)


def _convert_item(
    item: JsonValue, enum: type[IntEnum] | None, message: str, convert: Convert
) -> JsonValue:
    if enum is not None:
        return convert(enum, item) if isinstance(item, str) else item
    _walk(item, message, convert)
    return item


def _legacy_opaque(raw: object, proto: str, container: str) -> Opaque:
    """The canonical form of a legacy-style opaque value (short enum names expanded)."""
    copy = _opaque(raw).value()  # never mutate the caller's objects
    try:
        if container == "single":
            _walk(copy, proto, _to_full)
        elif isinstance(copy, list):
            copy = [_convert_item(x, None, proto, _to_full) for x in copy]
        elif isinstance(copy, dict):
            for key, entry in copy.items():
                copy[key] = _convert_item(entry, None, proto, _to_full)
    except RecursionError:
        raise _Bad("nested too deeply") from None
    return Opaque.of(copy)


def _opaque_decoder(spec: FieldSpec) -> Decoder:
    container = "map" if spec.is_map else "list" if spec.repeated else "single"
    expected: type = list if container == "list" else dict
    walk = spec.proto_type in OPAQUE_ENUM_SITES
    shape = "an array" if expected is list else "an object"

    def decode(raw: object, ctx: _Ctx) -> Opaque:
        if type(raw) is not expected:
            raise _Bad(f"expected {shape}, got {_show(raw)}")
        if walk and ctx.legacy:
            return _legacy_opaque(raw, spec.proto_type, container)
        return _opaque(raw)

    return decode


# ---------------------------------------------------------------- message decoding


# What to do with one JSON key of a message: (attribute name, field number, decoder,
# alias). `alias` marks the proto field name, which protojson readers also accept. A
# plain tuple, because unpacking one is the cheapest access in the hot loop.
_KeyPlan: TypeAlias = tuple[str, int, Decoder, bool]


# How to write one field: (JSON key, default value left out, encoder, field number).
_EncodeRow: TypeAlias = tuple[str, object, Encoder, int]


@dataclass(frozen=True, slots=True)
class _Encoding:
    """The fields of a class in one key order: `getter(message)` reads them all at once
    (one C call), then `unknown` last; `rows` say how to write each."""

    getter: Callable[[object], tuple[object, ...]]
    rows: tuple[_EncodeRow, ...]


@dataclass(frozen=True, slots=True)
class _Plan:
    cls: type[ProtoMessage]
    keys: Mapping[str, _KeyPlan]
    encodings: Mapping[tuple[bool, bool], _Encoding]  # by (legacy, declaration order)


def _repeated_decoder(element: Decoder) -> Decoder:
    def decode(raw: object, ctx: _Ctx) -> tuple[object, ...]:
        if type(raw) is not list:
            raise _Bad(f"expected an array, got {_show(raw)}")
        out = []
        for index, item in enumerate(raw):
            if item is None:
                raise _Bad("null in an array").at(index)
            try:
                out.append(element(item, ctx))
            except _Bad as exc:
                raise exc.at(index) from None
        return tuple(out)

    return decode


def _field_decoder(spec: FieldSpec) -> Decoder:
    kind = spec.kind
    if kind is Kind.OPAQUE:
        return _opaque_decoder(spec)
    if kind is Kind.MESSAGE:
        if spec.message is None:
            raise AssertionError(spec)
        plan = _plan(spec.message)
        element: Decoder = lambda raw, ctx: _decode_message(plan, raw, ctx)  # noqa: E731
    elif kind is Kind.ENUM:
        if spec.enum is None:
            raise AssertionError(spec)
        element = _enum_decoder(spec.enum)
    else:
        element = _SCALAR_DECODERS[kind]
    return _repeated_decoder(element) if spec.repeated else element


def _decode_message(plan: _Plan, raw: object, ctx: _Ctx) -> ProtoMessage:
    if type(raw) is not dict:
        raise _Bad(f"expected an object, got {_show(raw)}")
    values: dict[str, object] = {}
    unknown: dict[str, object] | None = None
    keys = plan.keys
    last = 0
    key = ""
    try:
        for key, item in raw.items():
            field = keys.get(key)
            if field is None:
                if unknown is None:
                    unknown = {}
                unknown[key] = item
                continue
            if item is None:  # protojson: null means the default value
                continue
            name, number, decode, alias = field
            if number < last:
                ctx.declaration_order = True
            last = number
            if alias and name in values:
                raise _Bad("given twice, by JSON name and by proto name")
            values[name] = decode(item, ctx)
    except _Bad as exc:
        raise exc.at(key) from None
    if unknown is not None:
        values["unknown"] = _opaque(unknown)
    return plan.cls(**values)


# ---------------------------------------------------------------- encoding helpers


def _int_encoder(kind: Kind) -> Encoder:
    low, high, what = _RANGES[kind]
    as_text = kind in (Kind.INT64, Kind.UINT64)  # protojson: 64-bit integers are strings

    def encode(value: object) -> JsonValue:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise _Bad(f"{value!r:.40} is not an {what}")
        return str(value) if as_text else int(value)

    return encode


def _encode_double(value: object) -> JsonValue:
    if not isinstance(value, float | int) or isinstance(value, bool):
        raise _Bad(f"{value!r:.40} is not a number")
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _encode_string(value: object) -> JsonValue:
    if not isinstance(value, str):
        raise _Bad(f"{value!r:.40} is not a string")
    return value


def _encode_bool(value: object) -> JsonValue:
    if not isinstance(value, bool):
        raise _Bad(f"{value!r:.40} is not a bool")
    return value


def _encode_timestamp(value: object) -> JsonValue:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Bad(f"{value!r:.40} is not a timestamp in ns")
    return _format_timestamp(value)


def _encode_duration(value: object) -> JsonValue:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Bad(f"{value!r:.40} is not a duration in ns")
    return _format_duration(value)


def _enum_encoder(cls: type[IntEnum], legacy: bool) -> Encoder:
    names = (_SHORT_NAME if legacy else _FULL_NAME)[cls]

    def encode(value: object) -> JsonValue:
        name = names.get(value) if isinstance(value, int) else None
        if name is None:
            raise _Bad(f"{value!r:.40} is not a {cls.__name__}")
        return name

    return encode


def _opaque_encoder(spec: FieldSpec, legacy: bool) -> Encoder:
    container = "map" if spec.is_map else "list" if spec.repeated else "single"
    walk = legacy and spec.proto_type in OPAQUE_ENUM_SITES

    def encode(value: object) -> JsonValue:
        if not isinstance(value, Opaque):
            raise _Bad(f"{value!r:.40} is not an Opaque")
        try:
            decoded = value.value()
            if walk:
                _walk_container(decoded, spec.proto_type, container, _to_short)
        except RecursionError:
            raise _Bad("nested too deeply") from None
        return decoded

    return encode


def _walk_container(value: JsonValue, proto: str, container: str, convert: Convert) -> None:
    if container == "single":
        _walk(value, proto, convert)
    elif isinstance(value, list):
        for item in value:
            _walk(item, proto, convert)
    elif isinstance(value, dict):
        for item in value.values():
            _walk(item, proto, convert)


def _message_encoder(cls: type[ProtoMessage], legacy: bool, declaration: bool) -> Encoder:
    plan = _plan(cls)

    def encode(value: object) -> JsonValue:
        return _encode_message(plan, value, legacy, declaration, True)

    return encode


def _repeated_encoder(element: Encoder) -> Encoder:
    def encode(value: object) -> JsonValue:
        if not isinstance(value, tuple | list):
            raise _Bad(f"{value!r:.40} is not a tuple")
        return [element(item) for item in value]

    return encode


_SCALAR_ENCODERS: dict[Kind, Encoder] = {
    Kind.INT64: _int_encoder(Kind.INT64),
    Kind.UINT64: _int_encoder(Kind.UINT64),
    Kind.INT32: _int_encoder(Kind.INT32),
    Kind.UINT32: _int_encoder(Kind.UINT32),
    Kind.DOUBLE: _encode_double,
    Kind.BOOL: _encode_bool,
    Kind.STRING: _encode_string,
    Kind.BYTES: _encode_string,
    Kind.TIMESTAMP: _encode_timestamp,
    Kind.DURATION: _encode_duration,
}


def _field_encoder(spec: FieldSpec, legacy: bool, declaration: bool) -> Encoder:
    if spec.kind is Kind.OPAQUE:
        return _opaque_encoder(spec, legacy)
    if spec.message is not None:
        element = _message_encoder(spec.message, legacy, declaration)
    elif spec.enum is not None:
        element = _enum_encoder(spec.enum, legacy)
    else:
        element = _SCALAR_ENCODERS[spec.kind]
    return _repeated_encoder(element) if spec.repeated else element


_DEFAULTS = {
    Kind.INT64: 0,
    Kind.UINT64: 0,
    Kind.INT32: 0,
    Kind.UINT32: 0,
    Kind.DOUBLE: 0.0,
    Kind.BOOL: False,
    Kind.STRING: "",
    Kind.BYTES: "",
    Kind.ENUM: 0,
}


def _default(spec: FieldSpec) -> object:
    """The value proto3 omits: zero scalars, empty tuples, None for messages."""
    if spec.kind is Kind.OPAQUE or spec.optional:
        return None
    if spec.repeated:
        return ()
    return _DEFAULTS.get(spec.kind)


def _encode_message(
    plan: _Plan, message: object, legacy: bool, declaration: bool, include_unknown: bool
) -> dict[str, JsonValue]:
    if type(message) is not plan.cls:
        raise _Bad(f"{message!r:.60} is not a {plan.cls.__name__}")
    encoding = plan.encodings[legacy, declaration]
    values = encoding.getter(message)
    out: dict[str, JsonValue] = {}
    for value, (json_name, default, encode, _) in zip(values, encoding.rows, strict=False):
        if value == default:  # proto3 writes no default values
            continue
        try:
            out[json_name] = encode(value)
        except _Bad as exc:
            raise exc.at(json_name) from None
    if include_unknown:
        _add_unknown(out, values[-1])
    return out


def _getter(*names: str) -> Callable[[object], tuple[object, ...]]:
    """Read several attributes in one call, always as a tuple."""
    if len(names) == 1:
        single = operator.attrgetter(names[0])
        return lambda message: (single(message),)
    many: Callable[[object], tuple[object, ...]] = operator.attrgetter(*names)
    return many


def _add_unknown(out: dict[str, JsonValue], unknown: object) -> None:
    if unknown is None:
        return
    extra = unknown.value() if isinstance(unknown, Opaque) else None
    if not isinstance(extra, dict):
        raise _Bad(f"unknown must be an Opaque JSON object, not {unknown!r:.40}")
    out.update(extra)


# ------------------------------------------------------------------------- plans

_SCALAR_DECODERS: dict[Kind, Decoder] = {
    Kind.INT64: _int_decoder(Kind.INT64),
    Kind.UINT64: _int_decoder(Kind.UINT64),
    Kind.INT32: _int_decoder(Kind.INT32),
    Kind.UINT32: _int_decoder(Kind.UINT32),
    Kind.DOUBLE: _decode_double,
    Kind.BOOL: _decode_bool,
    Kind.STRING: _decode_string,
    Kind.BYTES: _decode_string,
    Kind.TIMESTAMP: _decode_timestamp,
    Kind.DURATION: _decode_duration,
}
_PLANS: dict[type[ProtoMessage], _Plan] = {}


def _plan(cls: type[ProtoMessage]) -> _Plan:
    """The compiled plan of a generated class (built once, at import)."""
    plan = _PLANS.get(cls)
    if plan is not None:
        return plan
    keys: dict[str, _KeyPlan] = {}
    for spec in cls.FIELDS:
        decode = _field_decoder(spec)
        keys[spec.json_name] = (spec.name, spec.number, decode, False)
        if spec.name != spec.json_name:
            keys[spec.name] = (spec.name, spec.number, decode, True)
    encodings = {}
    by_number = sorted(cls.FIELDS, key=lambda spec: spec.number)
    for legacy in (False, True):
        for declaration in (False, True):
            specs = cls.FIELDS if declaration else by_number
            rows = tuple(
                (s.json_name, _default(s), _field_encoder(s, legacy, declaration), s.number)
                for s in specs
            )
            encodings[legacy, declaration] = _Encoding(
                _getter(*(s.name for s in specs), "unknown"), rows
            )
    plan = _Plan(cls, keys, encodings)
    _PLANS[cls] = plan
    return plan


def _decode_opaque_attributes(spec: AttributesSpec, raw: object, ctx: _Ctx) -> OpaqueAttributes:
    if type(raw) is not dict:
        raise _Bad(f"expected an object, got {_show(raw)}")
    if ctx.legacy and spec.proto_name in OPAQUE_ENUM_SITES:
        return OpaqueAttributes(spec.json_key, _legacy_opaque(raw, spec.proto_name, "single"))
    return OpaqueAttributes(spec.json_key, _opaque(raw))


_EVENT_PLAN = _plan(HistoryEvent)
_ATTRIBUTE_PLANS = {
    t: _plan(spec.cls) for t, spec in ATTRIBUTES.items() if issubclass(spec.cls, ProtoMessage)
}
# Attributes keys, by JSON name and by proto name (protojson readers accept both).
_ATTRIBUTE_KEYS: dict[str, AttributesSpec] = {}
for _spec in ATTRIBUTES.values():
    _ATTRIBUTE_KEYS[_spec.json_key] = _spec
    _ATTRIBUTE_KEYS[re.sub(r"([A-Z])", r"_\1", _spec.json_key).lower()] = _spec
_LEGACY_EVENT_TYPES = frozenset(_SHORT_NAME[EventType].values()) - {"Unspecified"}


# ------------------------------------------------------------------ event decoding


def _decode_event(raw: object, ctx: _Ctx) -> HistoryEvent:
    if type(raw) is not dict:
        raise _Bad(f"expected an event object, got {_show(raw)}")
    values: dict[str, object] = {}
    unknown: dict[str, object] | None = None
    attributes: AttributesSpec | None = None
    attributes_raw: object = None
    keys = _EVENT_PLAN.keys
    last = 0
    key = ""
    try:
        for key, item in raw.items():
            field = keys.get(key)
            if field is not None:
                if item is None:
                    continue
                name, number, decode, alias = field
                if number < last:
                    ctx.declaration_order = True
                last = number
                if alias and name in values:
                    raise _Bad("given twice, by JSON name and by proto name")
                values[name] = decode(item, ctx)
                continue
            spec = _ATTRIBUTE_KEYS.get(key)
            if spec is None:
                if unknown is None:
                    unknown = {}
                unknown[key] = item
                continue
            if item is None:
                continue
            if attributes is not None:
                raise _Bad(f"a second attributes key (after {attributes.json_key})")
            if spec.number < last:
                ctx.declaration_order = True
            last = spec.number
            attributes, attributes_raw = spec, item
    except _Bad as exc:
        raise exc.at(key) from None
    event_type = values.get("event_type")
    if not isinstance(event_type, EventType) or event_type is EventType.UNSPECIFIED:
        raise _Bad("eventType is missing")
    expected = ATTRIBUTES[event_type]
    if attributes is None:
        raise _Bad(f"{expected.json_key} is missing")
    if attributes is not expected:
        raise _Bad(
            f"{attributes.json_key} does not belong to {_FULL_NAME[EventType][expected.event_type]}"
        )
    try:
        plan = _ATTRIBUTE_PLANS.get(event_type)
        if plan is None:
            values["attributes"] = _decode_opaque_attributes(expected, attributes_raw, ctx)
        else:
            values["attributes"] = _decode_message(plan, attributes_raw, ctx)
    except _Bad as exc:
        raise exc.at(expected.json_key) from None
    if unknown is not None:
        values["unknown"] = _opaque(unknown)
    values.setdefault("event_id", 0)
    event = _EVENT_PLAN.cls(**values)
    if not isinstance(event, HistoryEvent):
        raise AssertionError(event)
    return event


def _is_legacy(first_event: object) -> bool:
    if not isinstance(first_event, dict):
        return False
    event_type = first_event.get("eventType", first_event.get("event_type"))
    return isinstance(event_type, str) and event_type in _LEGACY_EVENT_TYPES


def decode_event(raw: object, *, legacy: bool = False) -> HistoryEvent:
    """Decode one event object (already parsed JSON). `legacy`: short enum names inside
    opaque values are expanded (typed fields accept both forms anyway)."""
    try:
        return _decode_event(raw, _Ctx(legacy))
    except _Bad as exc:
        raise BadInput(f"{_event_label(0, raw)}: {exc.text()}") from None


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _events_of(data: object) -> list[object]:
    if isinstance(data, list):
        return data
    if not isinstance(data, dict):
        raise BadInput(f'expected {{"events": [...]}} or a list of events, got {_show(data)}')
    extra = [k for k in data if k != "events"]
    if extra:
        raise BadInput(f"unexpected top-level key {_show(extra[0])} (a history has only events)")
    events = data.get("events", [])
    if not isinstance(events, list):
        raise BadInput(f"events: expected an array, got {_show(events)}")
    return events


def decode_history(source: str | bytes | bytearray | object) -> DecodedHistory:
    """Decode a whole history: JSON text (str/bytes) or the parsed object.

    Accepts `{"events": [...]}` or a bare list of events, canonical or legacy style.
    Raises BadInput on anything malformed. For big files prefer `iter_events`.
    """
    with _gc_paused():
        return _decode_whole(source)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a large acyclic structure.

    Decoding allocates millions of containers that all stay alive, which makes the
    collector rescan the growing heap again and again (measured: about 40% of the
    decode time). Nothing here creates a reference cycle, so pausing is safe; the
    previous state is restored even on error.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _decode_whole(source: object) -> DecodedHistory:
    if isinstance(source, str | bytes | bytearray):
        try:
            data = json.loads(source, parse_constant=_reject_constant)
        except RecursionError:
            raise BadInput("not valid JSON: nested too deeply") from None
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, huge numbers
            raise BadInput(f"not valid JSON: {exc}") from None
    else:
        data = source
    raws = _events_of(data)
    ctx = _Ctx(legacy=bool(raws) and _is_legacy(raws[0]))
    events = []
    for index, raw in enumerate(raws):
        try:
            events.append(_decode_event(raw, ctx))
        except _Bad as exc:
            raise BadInput(f"{_event_label(index, raw)}: {exc.text()}") from None
    return DecodedHistory(
        tuple(events),
        "legacy" if ctx.legacy else "canonical",
        "declaration" if ctx.declaration_order else "number",
    )


# ------------------------------------------------------------------ event encoding

# HistoryEvent (temporal/api/history/v1/message.proto) declares its `attributes` oneof
# after every other field, but numbers it 6..65, between task_id (5) and
# worker_may_ignore (300).
_ATTRIBUTES_FIRST_NUMBER = min(spec.number for spec in ATTRIBUTES.values())


def _encode_event(
    event: HistoryEvent, legacy: bool, declaration: bool, include_unknown: bool
) -> dict[str, JsonValue]:
    if type(event) is not HistoryEvent:
        raise _Bad(f"{event!r:.60} is not a HistoryEvent")
    spec = ATTRIBUTES.get(event.event_type)
    if spec is None:
        raise _Bad(f"{event.event_type!r} has no attributes")
    attributes = event.attributes
    body: JsonValue
    try:
        if isinstance(attributes, OpaqueAttributes):
            body = attributes.value.value()
            if legacy:
                _walk(body, spec.proto_name, _to_short)
        else:
            plan = _ATTRIBUTE_PLANS[spec.event_type]
            body = _encode_message(plan, attributes, legacy, declaration, include_unknown)
    except RecursionError:
        raise _Bad("nested too deeply").at(spec.json_key) from None
    except _Bad as exc:
        raise exc.at(spec.json_key) from None
    out: dict[str, JsonValue] = {}
    placed = declaration  # in declaration order the oneof comes last
    encoding = _EVENT_PLAN.encodings[legacy, declaration]
    values = encoding.getter(event)
    for value, (json_name, default, encode, number) in zip(values, encoding.rows, strict=False):
        if not placed and number > _ATTRIBUTES_FIRST_NUMBER:
            out[spec.json_key] = body
            placed = True
        if value == default:
            continue
        try:
            out[json_name] = encode(value)
        except _Bad as exc:
            raise exc.at(json_name) from None
    if spec.json_key not in out:
        out[spec.json_key] = body
    if include_unknown:
        _add_unknown(out, values[-1])
    return out


def encode_event(
    event: HistoryEvent,
    style: Style = "canonical",
    field_order: FieldOrder = "number",
    include_unknown: bool = True,
) -> dict[str, JsonValue]:
    """One event as its protojson object (see `encode_history`)."""
    try:
        return _encode_event(
            event, style == "legacy", field_order == "declaration", include_unknown
        )
    except _Bad as exc:
        raise BadInput(f"eventId {getattr(event, 'event_id', '?')}: {exc.text()}") from None


def encode_history(
    events: Iterable[HistoryEvent],
    style: Style = "canonical",
    field_order: FieldOrder = "number",
    include_unknown: bool = True,
) -> dict[str, JsonValue]:
    """The JSON object `{"events": [...]}` of a history.

    `style="legacy"` writes enums as short names; `field_order="declaration"` writes keys
    in proto declaration order as Go does (default: field-number order, as Python's
    protobuf does); `include_unknown=False` drops keys kept from unknown JSON fields.
    Raises BadInput if a value cannot be represented (e.g. an int out of int64 range).
    """
    legacy, declaration = style == "legacy", field_order == "declaration"
    out: list[JsonValue] = []
    with _gc_paused():
        for index, event in enumerate(events):
            try:
                out.append(_encode_event(event, legacy, declaration, include_unknown))
            except _Bad as exc:
                label = f"events[{index}] (eventId {getattr(event, 'event_id', '?')})"
                raise BadInput(f"{label}: {exc.text()}") from None
    return {"events": out}


def write_events(
    events: Iterable[HistoryEvent],
    binary_file: IO[bytes],
    style: Style = "canonical",
    field_order: FieldOrder = "number",
) -> int:
    """Stream `{"events": [...]}` to a binary file, one event per line; returns the count."""
    legacy, declaration = style == "legacy", field_order == "declaration"
    encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
    binary_file.write(b'{"events":[')
    count = 0
    for count, event in enumerate(events, 1):
        try:
            body = _encode_event(event, legacy, declaration, True)
        except _Bad as exc:
            raise BadInput(f"events[{count - 1}]: {exc.text()}") from None
        binary_file.write((",\n" if count > 1 else "\n").encode())
        binary_file.write(encoder.encode(body).encode())
    binary_file.write(b"\n]}\n")
    return count


# ------------------------------------------------------------------ streaming decode

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_JSON = json.JSONDecoder(parse_constant=_reject_constant)
# One event bigger than this is refused rather than buffered (Temporal's own limit on
# an event is a few MB; this guards memory against a file that is not JSON at all).
_MAX_VALUE_CHARS = 256 * 2**20


class _Stream:
    """A character window over a binary file, refilled in chunks."""

    def __init__(self, binary_file: IO[bytes], chunk: int) -> None:
        self.file = binary_file
        self.chunk = chunk
        self.utf8 = codecs.getincrementaldecoder("utf-8-sig")()
        self.buf = ""
        self.pos = 0
        self.base = 0  # characters dropped before buf[0], for error offsets
        self.eof = False

    def fill(self, want: int) -> bool:
        """Append at least `want` characters (fewer at end of file); False at end."""
        if self.eof:
            return False
        parts = [self.buf[self.pos :]]
        self.base += self.pos
        self.pos = 0
        got = 0
        while got < want:
            data = self.file.read(max(self.chunk, want - got))
            try:
                text = data if isinstance(data, str) else self.utf8.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                raise BadInput(f"not UTF-8 text near offset {self.base + got}: {exc}") from None
            parts.append(text)
            got += len(text)
            if not data:
                self.eof = True
                break
        self.buf = "".join(parts)
        return True

    def peek(self) -> str:
        """Skip whitespace; the next character, or "" at end of input."""
        while True:
            match = _WHITESPACE.match(self.buf, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill(self.chunk):
                return ""

    def expect(self, char: str, where: str) -> None:
        found = self.peek()
        if found != char:
            shown = repr(found) if found else "end of input (truncated?)"
            raise BadInput(f"{where}: expected {char!r} at offset {self.offset}, found {shown}")
        self.pos += 1

    @property
    def offset(self) -> int:
        return self.base + self.pos

    def value(self, where: str) -> object:
        """Parse the JSON value at the cursor, reading more input as needed."""
        self.peek()
        while True:
            try:
                value, end = _JSON.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                pending = len(self.buf) - self.pos
                # Input cut by a chunk boundary fails at its very end, or (for a string)
                # where the string starts; any other error is final, more data won't help.
                cut = exc.pos >= len(self.buf) - 16 or exc.msg.startswith("Unterminated")
                if cut and pending < _MAX_VALUE_CHARS and self.fill(max(self.chunk, pending)):
                    continue
                problem = "truncated" if cut and self.eof else "invalid"
                raise BadInput(
                    f"{where}: {problem} JSON at offset {self.base + exc.pos}: {exc.msg}"
                ) from None
            except RecursionError:
                raise BadInput(f"{where}: JSON nested too deeply") from None
            except ValueError as exc:
                raise BadInput(f"{where}: invalid JSON ({exc})") from None
            if end == len(self.buf) and self.fill(self.chunk):
                continue  # a number at the very end may go on in the next chunk
            self.pos = end
            return value


def iter_events(binary_file: IO[bytes], chunk_size: int = 1 << 20) -> Iterator[HistoryEvent]:
    """Decode a history file incrementally, yielding one event at a time.

    Memory stays bounded by the chunk size plus the largest event, whatever the number
    of events. Accepts `{"events": [...]}` or a bare list; raises BadInput at the first
    malformed event (events before it have been yielded).
    """
    stream = _Stream(binary_file, chunk_size)
    first = stream.peek()
    if first == "[":
        stream.pos += 1
        yield from _stream_events(stream)
    elif first == "{":
        stream.pos += 1
        if stream.peek() == "}":
            stream.pos += 1
        else:
            yield from _stream_object(stream)
    else:
        shown = repr(first) if first else "an empty file"
        raise BadInput(f'expected {{"events": [...]}} or a list of events, found {shown}')
    if stream.peek():
        raise BadInput(f"unexpected data after the history at offset {stream.offset}")


def _stream_object(stream: _Stream) -> Iterator[HistoryEvent]:
    seen = False
    while True:
        key = stream.value("top level")
        if key != "events":
            raise BadInput(f"unexpected top-level key {_show(key)} (a history has only events)")
        if seen:
            raise BadInput("the events key appears twice")
        seen = True
        stream.expect(":", "top level")
        stream.expect("[", "events")
        yield from _stream_events(stream)
        found = stream.peek()
        stream.pos += 1
        if found == "}":
            return
        if found != ",":
            raise BadInput(f"top level: expected ',' or '}}' at offset {stream.offset - 1}")


def _stream_events(stream: _Stream) -> Iterator[HistoryEvent]:
    """The elements of the events array; the cursor is just after its '['."""
    if stream.peek() == "]":
        stream.pos += 1
        return
    ctx: _Ctx | None = None
    index = 0
    while True:
        raw = stream.value(f"events[{index}]")
        if ctx is None:
            ctx = _Ctx(_is_legacy(raw))
        try:
            event = _decode_event(raw, ctx)
        except _Bad as exc:
            raise BadInput(f"{_event_label(index, raw)}: {exc.text()}") from None
        yield event
        index += 1
        found = stream.peek()
        stream.pos += 1
        if found == "]":
            return
        if found != ",":
            shown = repr(found) if found else "end of input (truncated?)"
            raise BadInput(f"events[{index}]: expected ',' or ']', found {shown}")
