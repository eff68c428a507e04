"""protojson helpers for the schedule messages: readers that name the bad field.

protojson leaves out fields at their default (0, "", false, empty lists, unset
messages), writes durations as seconds with 0, 3, 6 or 9 fraction digits ("1.500s")
and timestamps as RFC 3339; 64-bit integers may arrive as strings. A reader raises
`BadSchedule` (a `BadInput`) naming the field, never a bare KeyError or TypeError.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TypeVar

from core.errors import BadInput
from core.opaque import JsonValue
from core.timefmt import parse_rfc3339, rfc3339

Obj = dict[str, JsonValue]
E = TypeVar("E", bound=IntEnum)
_NS = 1_000_000_000


class BadSchedule(BadInput):
    """A schedule message that is not well formed (wrong type, bad time, bad enum)."""


def prune(o: dict[str, JsonValue]) -> Obj:
    """`o` without its default-valued fields, as protojson writes it."""
    return {k: v for k, v in o.items() if v not in (None, "", 0, False, [], {})}


def dur(ns: int) -> str:
    """A duration as protojson writes it ("0s", "3600s", "1.500s")."""
    sign = "-" if ns < 0 else ""
    whole, nanos = divmod(abs(ns), _NS)
    if nanos == 0:
        return f"{sign}{whole}s"
    digits = f"{nanos:09d}"
    for width in (3, 6, 9):
        if digits[width:] == "0" * (9 - width):
            return f"{sign}{whole}.{digits[:width]}s"
    return f"{sign}{whole}.{digits}s"  # not reached: width 9 always matches


def parse_dur(text: str) -> int:
    if not text.endswith("s"):
        raise ValueError(f"not a duration: {text!r}")
    body = text[:-1]
    negative = body.startswith("-")
    whole, _, fraction = body.lstrip("-").partition(".")
    if not whole.isdigit() or (fraction and not fraction.isdigit()) or len(fraction) > 9:
        raise ValueError(f"not a duration: {text!r}")
    ns = int(whole) * _NS + int(fraction.ljust(9, "0") or 0)
    return -ns if negative else ns


def ts(ns: int | None) -> str | None:
    return None if ns is None else rfc3339(ns)


def enum_name(prefix: str, value: IntEnum) -> str | None:
    return None if value == 0 else prefix + value.name


def _bad(key: str, value: object, what: str) -> BadSchedule:
    return BadSchedule(f"schedule field {key!r}: {what}, got {value!r}"[:300])


def get_obj(value: JsonValue, key: str) -> Obj:
    if not isinstance(value, dict):
        raise _bad(key, value, "expected an object")
    return value


def get_list(o: Obj, key: str) -> list[JsonValue]:
    value = o.get(key, [])
    if not isinstance(value, list):
        raise _bad(key, value, "expected a list")
    return value


def get_str(o: Obj, key: str) -> str:
    value = o.get(key, "")
    if not isinstance(value, str):
        raise _bad(key, value, "expected a string")
    return value


def get_bool(o: Obj, key: str) -> bool:
    value = o.get(key, False)
    if not isinstance(value, bool):
        raise _bad(key, value, "expected true or false")
    return value


def get_int(o: Obj, key: str) -> int:
    value = o.get(key, 0)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(key, value, "expected an integer")
    return value


def get_dur(o: Obj, key: str) -> int | None:
    value = o.get(key)
    if value is None:
        return None
    try:
        return parse_dur(value) if isinstance(value, str) else _fail()
    except ValueError:
        raise _bad(key, value, "expected a duration like '3600s'") from None


def get_ts(o: Obj, key: str) -> int | None:
    value = o.get(key)
    if value is None:
        return None
    try:
        return parse_rfc3339(value) if isinstance(value, str) else _fail()
    except ValueError:
        raise _bad(key, value, "expected an RFC 3339 UTC timestamp") from None


def get_enum(o: Obj, key: str, enum: type[E], prefix: str) -> E:
    value = o.get(key)
    if value is None:
        return enum(0)
    if (
        isinstance(value, str)
        and value.startswith(prefix)
        and value[len(prefix) :] in enum.__members__
    ):
        return enum.__members__[value[len(prefix) :]]
    if isinstance(value, int) and not isinstance(value, bool) and value in enum._value2member_map_:
        return enum(value)
    raise _bad(key, value, f"expected a {prefix}* name")


def _fail() -> int:
    raise ValueError("wrong type")
