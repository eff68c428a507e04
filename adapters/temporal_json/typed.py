"""The typed decoder: msgspec structs generated from the `FIELDS` metadata.

Theory of operation. Parsing a history into plain dicts and lists costs more than the
validator's whole check, so events are parsed by msgspec (C code) straight into structs
generated at import from the same `FIELDS` metadata as the plans, one tagged struct per
event type (tag: `eventType`, by full or short name). Generated converters then build
the core's values from them, calling the very field decoders the plans use (plans.py)
for everything but plain strings, bools, numbers and int64 text of up to 18 digits:
enums, Timestamps, Durations, opaque values.

The structs accept a subset of what the codec accepts: protojson as SDKs and servers
write it. An event outside it - a key the schema does not know (kept in `unknown`), a
key by its proto name, a null, an int64 written as a JSON number, an enum by number, a
value a field decoder refuses, or both keys of a pair whose field-number and
declaration orders differ (the key order is what tells Python's protobuf from Go's, and
a struct does not keep it) - is `Refused`, and the generic decoder (codec.py) decodes
that event from plain JSON values, raising the error a bad event deserves. So every
event decodes the same either way; tests compare the two on every recorded history and
on fuzzed input.

The converters build each value through a twin of its class (builders.py), which stores
the fields as plain attributes: the frozen dataclass's `__init__` costs more than
parsing. The twins skip `HistoryEvent.__post_init__`, whose check (the attributes belong
to the event type) holds by construction here: each event type's struct carries its own
attributes struct.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, Union

import msgspec

from core.enums import EventType
from core.events import ATTRIBUTES, AttributesSpec, FieldSpec, HistoryEvent, Kind, ProtoMessage

from .builders import builder
from .opaque import _decode_opaque_attributes
from .plans import _field_decoder, _plan
from .scalars import _BY_NAME, _FULL_NAME, _SCALAR_DECODERS, _SHORT_NAME, _Ctx

Converter = Callable[[Any, _Ctx], Any]


class Refused(Exception):
    """The typed decoder leaves this event to the generic one."""


UNSET = msgspec.UNSET

# JSON values that pass through unconverted, with msgspec checking their type and range.
_PLAIN: dict[Kind, Any] = {
    Kind.INT32: Annotated[int, msgspec.Meta(ge=-(1 << 31), le=(1 << 31) - 1)],
    Kind.UINT32: Annotated[int, msgspec.Meta(ge=0, le=(1 << 32) - 1)],
    Kind.DOUBLE: float,
    Kind.BOOL: bool,
    Kind.STRING: str,
    Kind.BYTES: str,
}
_INT_TEXT = (Kind.INT64, Kind.UINT64)
# Kinds decoded by the plans' own field decoders (repeated or not).
_BY_PLAN = (Kind.TIMESTAMP, Kind.DURATION, Kind.OPAQUE)


def _annotation(spec: FieldSpec) -> Any:
    """The struct type of a field's JSON value (before conversion)."""
    kind = spec.kind
    if kind is Kind.OPAQUE:
        return list[Any] if spec.repeated and not spec.is_map else dict[str, Any]
    if kind is Kind.MESSAGE and spec.message is not None:
        element: Any = _structs(spec.message)[0]
    elif kind is Kind.ENUM and spec.enum is not None:
        element = Literal[tuple(_BY_NAME[spec.enum])]  # full and short names alike
    else:  # int64 text, Timestamps, Durations are strings for the converter to read
        element = _PLAIN.get(kind, str)
    return list[element] if spec.repeated else element


def _passes_through(spec: FieldSpec) -> bool:
    return spec.kind in _PLAIN and not spec.repeated


def _inverted_pairs(specs: Sequence[FieldSpec]) -> list[tuple[str, str]]:
    """Field pairs whose declaration order differs from their field-number order."""
    return [
        (a.name, b.name) for i, a in enumerate(specs) for b in specs[i + 1 :] if a.number > b.number
    ]


class _Source:
    """The source text of one generated converter and the names it refers to."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.names: dict[str, object] = {"UNSET": UNSET, "Refused": Refused}

    def ref(self, value: object, hint: str) -> str:
        key = f"_{hint}_{len(self.names)}"
        self.names[key] = value
        return key

    def compile(self, setup: list[str], checks: list[str], result: str) -> Converter:
        lines = [f"def {self.name}(s, ctx):", *(f"    {line}" for line in setup)]
        if checks:
            lines.append(f"    if {' or '.join(checks)}:")
            # A new instance each time: raising one instance again would chain every
            # traceback, and the frames holding the structs, onto it.
            lines.append("        raise Refused")
        lines.append(f"    return {result}")
        exec("\n".join(lines), self.names)
        function: Converter = self.names[self.name]  # type: ignore[assignment]
        return function


def _element(spec: FieldSpec, source: _Source, x: str) -> str:
    """The expression converting `x`, one JSON value of field `spec` (a plain name)."""
    kind = spec.kind
    if kind is Kind.MESSAGE and spec.message is not None:
        return f"{source.ref(_structs(spec.message)[1], 'convert')}({x}, ctx)"
    if kind is Kind.ENUM and spec.enum is not None:
        return f"{source.ref(_BY_NAME[spec.enum], 'names')}[{x}]"
    if kind in _INT_TEXT:
        # Up to 18 ASCII digits: `int` reads them as the plans' decoder does, and they
        # fit; the decoder reads (or refuses) anything else.
        decode = source.ref(_SCALAR_DECODERS[kind], "decode")
        fits = f"{x}.isdigit() and {x}.isascii() and len({x}) < 19"
        return f"(int({x}) if {fits} else {decode}({x}, ctx))"
    return x


def _value(spec: FieldSpec, source: _Source, var: str, default: object, sensitive: bool) -> str:
    """The expression converting field `spec` of the struct in `var` into the core's
    value; a sensitive field (one of an inverted pair) tells an absent key by UNSET,
    others by None."""
    read = f"{var}.{spec.name}"
    if _passes_through(spec) and not sensitive:
        return read
    v = f"_{var}_{spec.name}"
    if _passes_through(spec):
        converted = v
    elif spec.kind in _BY_PLAN:
        converted = f"{source.ref(_field_decoder(spec), 'decode')}({v}, ctx)"
    elif spec.repeated:
        converted = f"tuple([{_element(spec, source, 'x')} for x in {v}])"
    else:
        converted = _element(spec, source, v)
    absent = "UNSET" if sensitive else "None"
    return f"({source.ref(default, 'default')} if ({v} := {read}) is {absent} else {converted})"


def _defaults(cls: type) -> dict[str, object]:
    return {f.name: f.default for f in dataclasses.fields(cls)}


def _struct_default(spec: FieldSpec, defaults: dict[str, object]) -> object:
    """What the struct holds for an absent key: the core's default where the value
    passes through unconverted, else None (read by the converter as "absent")."""
    return defaults[spec.name] if _passes_through(spec) else None


def _message(cls: type[ProtoMessage], source: _Source, var: str) -> tuple[list[str], str]:
    """(refusal checks, expression building a `cls`) for the struct in `var`."""
    pairs = _inverted_pairs(cls.FIELDS)
    sensitive = {name for pair in pairs for name in pair}
    defaults = _defaults(cls)
    values = {
        s.name: _value(s, source, var, defaults[s.name], s.name in sensitive) for s in cls.FIELDS
    }
    args = [values[f.name] for f in dataclasses.fields(cls) if f.name in values]
    checks = [f"({var}.{a} is not UNSET and {var}.{b} is not UNSET)" for a, b in pairs]
    return checks, f"{source.ref(builder(cls), 'build')}({', '.join(args)})"


_STRUCTS: dict[type[ProtoMessage], tuple[type[msgspec.Struct], Converter]] = {}


def _structs(cls: type[ProtoMessage]) -> tuple[type[msgspec.Struct], Converter]:
    """The struct of message class `cls` and its converter (built once, at import)."""
    done = _STRUCTS.get(cls)
    if done is not None:
        return done
    _plan(cls)  # the field decoders of nested messages are the plans'
    sensitive = {name for pair in _inverted_pairs(cls.FIELDS) for name in pair}
    defaults = _defaults(cls)
    struct = msgspec.defstruct(
        f"_{cls.__name__}Json",
        [
            (s.name, _annotation(s), UNSET if s.name in sensitive else _struct_default(s, defaults))
            for s in cls.FIELDS
        ],
        rename={spec.name: spec.json_name for spec in cls.FIELDS},
        forbid_unknown_fields=True,
        gc=False,
    )
    source = _Source(f"convert_{cls.__name__}")
    checks, build = _message(cls, source, "s")
    convert = source.compile([], checks, build)
    _STRUCTS[cls] = (struct, convert)
    return struct, convert


# ------------------------------------------------------------------------- events

_EVENT_FIELDS = [spec for spec in HistoryEvent.FIELDS if spec.name != "event_type"]


def _event_struct(event_type: EventType, tag: str) -> tuple[type[msgspec.Struct], Converter]:
    """The struct of one event type's events with eventType `tag`, and its converter,
    which builds the attributes too (one call per event)."""
    spec = ATTRIBUTES[event_type]
    defaults = _defaults(HistoryEvent)
    defaults["event_id"] = 0  # required by the dataclass; absent from JSON means 0
    # HistoryEvent declares its `attributes` oneof after every field but numbers it
    # below the fields numbered 300 and up: with any of those present, key order
    # matters, so such an event is left to the generic decoder.
    late = [s.name for s in _EVENT_FIELDS if s.number > spec.number]
    source = _Source(f"convert_{event_type.name}")
    checks = ["a is None", *(f"s.{name} is not UNSET" for name in late)]
    if issubclass(spec.cls, ProtoMessage):
        attributes: Any = _structs(spec.cls)[0]
        more, build_attributes = _message(spec.cls, source, "a")
        checks += more
    else:  # event types the model keeps opaque
        attributes = dict[str, Any]
        decode = source.ref(_opaque_attributes(spec), "decode")
        build_attributes = f"{decode}(a, ctx)"
    struct = msgspec.defstruct(
        f"_{event_type.name}Event_{tag}",
        [
            *(
                (s.name, _annotation(s), UNSET if s.name in late else _struct_default(s, defaults))
                for s in _EVENT_FIELDS
            ),
            ("attributes", attributes, None),
        ],
        rename={**{s.name: s.json_name for s in _EVENT_FIELDS}, "attributes": spec.json_key},
        tag_field="eventType",
        tag=tag,
        forbid_unknown_fields=True,
        gc=False,
    )
    values = {
        s.name: _value(s, source, "s", defaults[s.name], False)
        for s in _EVENT_FIELDS
        if s.name not in late
    }
    values["event_type"] = source.ref(event_type, "type")
    values["attributes"] = build_attributes
    args = [values[f.name] for f in dataclasses.fields(HistoryEvent) if f.name in values]
    build = f"{source.ref(builder(HistoryEvent), 'build')}({', '.join(args)})"
    return struct, source.compile(["a = s.attributes"], checks, build)


def _opaque_attributes(spec: AttributesSpec) -> Converter:
    def decode(raw: Any, ctx: _Ctx) -> Any:
        return _decode_opaque_attributes(spec, raw, ctx)

    return decode


def _build() -> tuple[dict[type, Converter], frozenset[type]]:
    converters: dict[type, Converter] = {}
    legacy: set[type] = set()
    for event_type in ATTRIBUTES:
        full = _FULL_NAME[EventType][event_type]
        short = _SHORT_NAME[EventType][event_type]
        for tag in (full, short):
            struct, convert = _event_struct(event_type, tag)
            converters[struct] = convert
            if tag == short:
                legacy.add(struct)
    return converters, frozenset(legacy)


CONVERTERS, LEGACY_STRUCTS = _build()  # event struct -> its converter; the short-tag ones
EventStruct = Union[tuple(CONVERTERS)]  # type: ignore[valid-type]  # noqa: UP007
