"""Decoders and encoders of the leaf values: integers, strings, bools, doubles, enums,
Timestamps and Durations, as protojson writes them.

protojson (docs/temporal-semantics.md#canonical-protojson): int64 as strings, int32 as
numbers, enum values by full name (`EVENT_TYPE_TIMER_FIRED`), Timestamps as RFC 3339 UTC
text with 0, 3, 6 or 9 fractional digits, Durations as `"1.500s"`. Readers accept a
little more (integers as numbers or strings, enums by number or, for the legacy style,
by short PascalCase name), and so do these decoders. Timestamps and Durations are
integers of nanoseconds in core.events.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import date
from enum import IntEnum
from itertools import compress, repeat
from typing import Any

from core.enums import (
    ENUM_PREFIX,
    EventType,
    UpdateAdmittedEventOrigin,
    WorkflowTaskFailedCause,
)
from core.events import Kind
from core.opaque import JsonValue

from .errors import _Bad, _show

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


# A JSON number with a fraction or an exponent, which Go's protojson also reads as an
# integer when its value is one ("1e3", "10.0"): encoding/protojson/decode.go
# (unmarshalInt decodes a number from the string) and internal/encoding/json/
# decode_number.go (normalizeToIntString) in google.golang.org/protobuf.
_NUMBER_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z")


def _integral(raw: str) -> int | None:
    """The integer a JSON number text with a fraction or exponent stands for, if it is
    one of at most 20 digits; None if not."""
    if _NUMBER_TEXT.match(raw) is None:
        return None
    mantissa, _, exponent = raw.lower().partition("e")
    whole, _, fraction = mantissa.partition(".")
    shift = int(exponent or "0") - len(fraction)
    digits = (whole + fraction).lstrip("-").lstrip("0")
    if not digits:
        return 0
    if shift < 0:
        digits, dropped = digits[:shift] or "0", digits[shift:]
        if dropped.strip("0") or len(digits) > 20:
            return None  # not an integer, or too long
    elif len(digits) + shift > 20:
        return None
    else:
        digits += "0" * shift
    return -int(digits) if whole.startswith("-") else int(digits)


def _int_decoder(kind: Kind) -> Decoder:
    low, high, what = _RANGES[kind]

    def decode(raw: object, ctx: _Ctx) -> int:
        # protojson readers accept 64- and 32-bit integers as JSON strings or numbers.
        if type(raw) is str:
            # isascii: str.isdigit alone accepts digits of other scripts, which int() takes.
            plain = raw.isascii() and raw.isdigit() and len(raw) <= 20
            if plain or _INT_TEXT.match(raw) is not None:
                value = int(raw)
            elif (number := _integral(raw)) is not None:
                value = number
            else:
                raise _Bad(f"expected {what}, got {_show(raw)}")
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

# Value names the API gave a number before renaming it (temporalio/api has no
# `allow_alias` on these enums: the old name simply went away), which servers built
# before the rename wrote into histories. Read as the value of the same number; written
# back under the current name.
# - temporalio/api 1d4c8980 (April 2024, "Rename Update Requested to Update Admitted"):
#   event type 47 and UpdateRequestedEventOrigin (now UpdateAdmittedEventOrigin).
# - temporalio/api b65d9340 (August 2022): WorkflowTaskFailedCause 25 was BAD_MEMO.
OLD_NAMES: dict[type[IntEnum], dict[str, int]] = {
    EventType: {"EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REQUESTED": 47},
    UpdateAdmittedEventOrigin: {
        "UPDATE_REQUESTED_EVENT_ORIGIN_UNSPECIFIED": 0,
        "UPDATE_REQUESTED_EVENT_ORIGIN_REAPPLY": 1,
    },
    WorkflowTaskFailedCause: {"WORKFLOW_TASK_FAILED_CAUSE_BAD_MEMO": 25},
}
for _cls, _old in OLD_NAMES.items():
    _prefix = ENUM_PREFIX[_cls]
    for _name, _number in _old.items():
        _BY_NAME[_cls][_name] = _cls(_number)
        if _name.startswith(_prefix):  # and the legacy style's short name of it
            _BY_NAME[_cls].setdefault(_short_name(_name.removeprefix(_prefix)), _cls(_number))


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
# "YYYY-MM-DDTHH:MM:SS" -> nanoseconds since the epoch, for prefixes already read in
# full by the regex below: the histories of a file span few seconds of distinct text.
_PREFIX_NS: dict[str, int] = {}
# Duration text -> ns: a history repeats a few timeouts and backoffs.
_DURATIONS: dict[str, int] = {}
_MAX_MEMO = 10_000  # entries of each memo, which is emptied when full


def _decode_timestamp(raw: object, ctx: _Ctx) -> int:
    if type(raw) is str:  # the fast path: a known prefix, "Z" or "." 1-9 digits "Z"
        nanos = _PREFIX_NS.get(raw[:19])
        if nanos is not None:
            tail = raw[19:]
            if tail == "Z":
                return nanos
            digits = tail[1:-1]
            if (
                tail[:1] == "."
                and tail[-1:] == "Z"
                and 0 < len(digits) <= 9
                and digits.isdigit()
                and digits.isascii()
            ):
                return nanos + int(digits.ljust(9, "0"))
    return _parse_timestamp(raw)


# The length of "YYYY-MM-DDTHH:MM:SS" + "Z" or "." 1-9 digits "Z" -> its 20th character.
_SEPARATOR = {20: "Z", **{21 + k: "." for k in range(1, 10)}}
_PREFIX = operator.itemgetter(slice(0, 19))
_FRACTION = operator.itemgetter(slice(20, -1))


def _timestamps(texts: list[Any]) -> list[int] | None:
    """Decode many timestamps at once, as `_decode_timestamp`'s fast path does each
    one, by C loops (map, join) rather than Python code per value; None if any text
    needs more (an unknown prefix, another shape, not a string)."""
    try:
        separators = "".join(map(_SEPARATOR.__getitem__, map(len, texts)))
    except (KeyError, TypeError):
        return None
    count = len(texts)
    if (
        "".join(map(operator.itemgetter(19), texts)) != separators
        or "".join(map(operator.itemgetter(-1), texts)) != "Z" * count
    ):
        return None
    nanos = list(map(_PREFIX_NS.get, map(_PREFIX, texts)))
    if None in nanos:  # read the new prefixes in full, once each (the memo keeps them)
        missing = compress(texts, map(operator.is_, nanos, repeat(None)))
        try:
            for text in {_PREFIX(text): text for text in missing}.values():
                _parse_timestamp(text)
        except _Bad:  # a text the one-by-one reader must judge (and word the error for)
            return None
        nanos = list(map(_PREFIX_NS.get, map(_PREFIX, texts)))
        if None in nanos:
            return None
    fractions = list(map(str.ljust, map(_FRACTION, texts), repeat(9, count), repeat("0", count)))
    digits = "".join(fractions)
    if not (digits.isdigit() and digits.isascii()):
        return None
    return list(map(operator.add, nanos, map(int, fractions)))


def _parse_timestamp(raw: object) -> int:
    if type(raw) is not str or (match := _TIMESTAMP.match(raw)) is None:
        raise _Bad(f"expected an RFC 3339 timestamp, got {_show(raw)}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        days = date(int(year), int(month), int(day)).toordinal() - _EPOCH
    except ValueError:
        raise _Bad(f"no such date: {_show(raw)}") from None
    if int(hour) > 23 or int(minute) > 59 or int(second) > 59:
        raise _Bad(f"no such time of day: {_show(raw)}")
    local = days * 86400 + int(hour) * 3600 + int(minute) * 60 + int(second)
    if _MIN_SECONDS <= local <= _MAX_SECONDS:
        if len(_PREFIX_NS) >= _MAX_MEMO:
            _PREFIX_NS.clear()
        _PREFIX_NS[raw[:19]] = local * _NS  # the prefix read as UTC, for the fast path
    seconds = local
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
    if type(raw) is str and (known := _DURATIONS.get(raw)) is not None:
        return known
    match = _DURATION.match(raw) if type(raw) is str else None
    if match is None:
        raise _Bad(f'expected a duration like "1.5s", got {_show(raw)}')
    sign, seconds, fraction = match.groups()
    if int(seconds) > _MAX_DURATION_SECONDS:
        raise _Bad(f"duration out of range: {_show(raw)}")
    value = int(seconds) * _NS + (int(fraction.ljust(9, "0")) if fraction else 0)
    value = -value if sign else value
    if len(_DURATIONS) >= _MAX_MEMO:
        _DURATIONS.clear()
    _DURATIONS[raw] = value  # type: ignore[index]  # raw is a str: it matched
    return value


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


# ------------------------------------------------------------------ scalar encoders


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


# ------------------------------------------------------------------------- tables

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
