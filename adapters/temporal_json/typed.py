"""The typed decoder: msgspec structs generated from the `FIELDS` metadata.

Theory of operation. Parsing a history into plain dicts and lists costs more than the
validator's whole check, so events are parsed by msgspec (C code) straight into structs
generated at import from the same `FIELDS` metadata as the plans, one tagged struct per
event type (tag: `eventType`, by full or short name). Integers, strings and nested
messages are read by msgspec itself, 64-bit integers from their JSON strings too (its
non-strict mode, which reads a number from a string as Go's protojson does, see
`scalars._int_decoder`). Generated converters then build the core's values from the
structs, calling the plans' own field decoders (plans.py) for what msgspec cannot read
as protojson means it: enums by name, Timestamps, Durations, bools, doubles and opaque
values (which both decoders read as plain JSON).

The structs accept a subset of what the generic decoder (codec.py) accepts. An event
outside it - a key the schema does not know (kept in `unknown`), a key by its proto
name, a null, an integer written otherwise than msgspec reads it, an enum by number, a
value a field decoder refuses, a field numbered after the attributes (see
`_event_struct`), or both keys of a pair whose field-number and declaration orders
differ (the key order is what tells Python's protobuf from Go's, and a struct does not
keep it) - is `Refused`, and the generic decoder decodes that event from plain JSON
values, raising the error a bad event deserves. So every event decodes the same either
way; tests/adapters/test_temporal_json_typed.py compares the two on every recorded
history and on generated input.

The converters build each value in a twin of its class (builders.py), which takes the
fields as plain attribute stores: the frozen dataclass's `__init__` costs more than
parsing. An event's converter writes those stores out itself, for the event and its
attributes (`_Source.build`), rather than calling the twins. The twins skip
`HistoryEvent.__post_init__`, whose check (the attributes belong to the event type)
holds by construction here: each event type's struct carries its own attributes struct.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, TypeAlias, Union

import msgspec

from core.enums import EventType
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
from core.opaque import Opaque

from .builders import builder
from .plans import _field_decoder, _plan
from .scalars import (
    _BY_NAME,
    _FULL_NAME,
    _RANGES,
    _SHORT_NAME,
    _Ctx,
    _decode_timestamp,
    _timestamps,
)

Converter: TypeAlias = Callable[[Any, _Ctx], Any]
# An event's converter: (struct, ctx, the event time in ns or None) -> HistoryEvent.
EventConverter: TypeAlias = Callable[[Any, _Ctx, "int | None"], HistoryEvent]


class Refused(Exception):
    """The typed decoder leaves this event to the generic one."""


UNSET = msgspec.UNSET


def _integer(kind: Kind) -> Any:
    low, high, _ = _RANGES[kind]
    return Annotated[int, msgspec.Meta(ge=low, le=high)]


# Kinds msgspec reads into the core's values itself: their values pass through.
_PLAIN: dict[Kind, Any] = {
    **{kind: _integer(kind) for kind in (Kind.INT64, Kind.UINT64, Kind.INT32, Kind.UINT32)},
    Kind.STRING: str,
    Kind.BYTES: str,  # the base64 text, kept as it is
}
# Kinds read as plain JSON values and converted by the plans' field decoders: bools and
# doubles because msgspec's non-strict mode would also read them from strings, which
# protojson does not. (Opaque values have their own, `_opaque_decoder`.)
_BY_PLAN = (Kind.TIMESTAMP, Kind.DURATION, Kind.BOOL, Kind.DOUBLE)


class _Float:
    """A JSON number with a fraction or exponent inside a value msgspec reads as plain
    JSON, kept as its text: so an opaque value without one can be written by msgspec,
    whose text is then the standard library's (see `_opaque_text`)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _float_text(value: object) -> msgspec.Raw:
    """msgspec's `enc_hook`: a `_Float` as the standard library writes the float."""
    if type(value) is not _Float:
        raise TypeError(f"not JSON: {type(value).__name__}")
    number = float(value.text)
    if number - number != 0:  # inf or NaN, which JSON cannot hold
        raise ValueError(f"{value.text} is out of range")
    return msgspec.Raw(repr(number).encode())


_OPAQUE_TEXT = msgspec.json.Encoder(enc_hook=_float_text).encode
_BUILD_OPAQUE = builder(Opaque)


def _opaque_text(raw: Any) -> Opaque:
    """`Opaque.of(value)` for a value msgspec read: the same compact text (key order
    kept, non-ASCII as is); `Refused` where the generic decoder must say what is wrong."""
    try:
        return _BUILD_OPAQUE(_OPAQUE_TEXT(raw).decode())  # type: ignore[no-any-return]
    except (TypeError, ValueError):
        raise Refused from None


def _opaque_decoder(spec: FieldSpec) -> Converter:
    expected: type = list if spec.repeated and not spec.is_map else dict
    walk = spec.proto_type in OPAQUE_ENUM_SITES

    def decode(raw: Any, ctx: _Ctx) -> Opaque:
        if type(raw) is not expected or (walk and ctx.legacy):
            raise Refused  # a bad value, or enum names to rewrite: the generic decoder's
        return _opaque_text(raw)

    return decode


def _annotation(spec: FieldSpec) -> Any:
    """The struct type of a field's JSON value (before conversion)."""
    kind = spec.kind
    if kind is Kind.OPAQUE or kind is Kind.BOOL or kind is Kind.DOUBLE:
        return Any  # the field decoder checks the value's shape
    if kind is Kind.MESSAGE and spec.message is not None:
        element: Any = _structs(spec.message)[0]
    elif kind is Kind.ENUM and spec.enum is not None:
        element = Literal[tuple(_BY_NAME[spec.enum])]  # full and short names alike
    else:  # Timestamps and Durations are strings for the converter to read
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
        self.names: dict[str, object] = {"UNSET": UNSET, "Refused": Refused, "_new": object.__new__}

    def ref(self, value: object, hint: str) -> str:
        key = f"_{hint}_{len(self.names)}"
        self.names[key] = value
        return key

    def compile(
        self,
        setup: list[str],
        checks: list[str],
        body: list[str],
        result: str,
        parameters: str = "s, ctx",
    ) -> Any:
        """`def name(parameters)`: the `setup` lines, a `Refused` if any of the
        `checks` holds, the `body` lines, `return result`."""
        lines = [f"def {self.name}({parameters}):", *(f"    {line}" for line in setup)]
        if checks:
            lines.append(f"    if {' or '.join(checks)}:")
            # A new instance each time: raising one instance again would chain every
            # traceback, and the frames holding the structs, onto it.
            lines.append("        raise Refused")
        lines.extend(f"    {line}" for line in body)
        lines.append(f"    return {result}")
        exec("\n".join(lines), self.names)
        return self.names[self.name]

    def build(self, cls: type, values: dict[str, str], target: str) -> list[str]:
        """Lines leaving in local `target` a `cls` whose fields are `values` (source
        expressions by field name; defaults for the rest): stored into a bare twin
        (builders.py) and made a `cls`, which spares the two calls (class, `__init__`)
        and the argument passing of a constructor; a class without a twin is called."""
        fields = _fields(cls)
        twin = builder(cls)
        if twin is cls:
            args = ", ".join(values[f.name] for f in fields if f.name in values)
            return [f"{target} = {self.ref(cls, 'cls')}({args})"]
        lines = [f"{target} = _new({self.ref(twin, 'twin')})"]
        for f in fields:
            value = values.get(f.name)
            if value is None:
                if f.default is dataclasses.MISSING:  # a twin has no default factories
                    raise TypeError(f"{cls.__name__}.{f.name} has no value and no default")
                value = self.ref(f.default, "default")
            lines.append(f"{target}.{f.name} = {value}")
        lines.append(f"{target}.__class__ = {self.ref(cls, 'cls')}")
        return lines


def _element(spec: FieldSpec, source: _Source, x: str) -> str:
    """The expression converting `x`, one JSON value of field `spec` (a plain name)."""
    if spec.kind is Kind.MESSAGE and spec.message is not None:
        return f"{source.ref(_structs(spec.message)[1], 'convert')}({x}, ctx)"
    if spec.kind is Kind.ENUM and spec.enum is not None:
        return f"{source.ref(_BY_NAME[spec.enum], 'names')}[{x}]"
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
    elif spec.kind is Kind.OPAQUE:
        converted = f"{source.ref(_opaque_decoder(spec), 'decode')}({v}, ctx)"
    elif spec.kind in _BY_PLAN:
        converted = f"{source.ref(_field_decoder(spec), 'decode')}({v}, ctx)"
    elif spec.repeated:
        converted = f"tuple([{_element(spec, source, 'x')} for x in {v}])"
    else:
        converted = _element(spec, source, v)
    absent = "UNSET" if sensitive else "None"
    return f"({source.ref(default, 'default')} if ({v} := {read}) is {absent} else {converted})"


def _defaults(cls: type) -> dict[str, object]:
    return {f.name: f.default for f in _fields(cls)}


def _fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    """The dataclass fields of a generated class, in `__init__` order."""
    return dataclasses.fields(cls)


def _struct_default(spec: FieldSpec, defaults: dict[str, object]) -> object:
    """What the struct holds for an absent key: the core's default where the value
    passes through unconverted, else None (read by the converter as "absent")."""
    return defaults[spec.name] if _passes_through(spec) else None


def _message(
    cls: type[ProtoMessage], source: _Source, var: str, target: str
) -> tuple[list[str], list[str]]:
    """(refusal checks, lines leaving in local `target` a `cls`) for the struct in
    `var`."""
    pairs = _inverted_pairs(cls.FIELDS)
    sensitive = {name for pair in pairs for name in pair}
    defaults = _defaults(cls)
    values = {
        s.name: _value(s, source, var, defaults[s.name], s.name in sensitive) for s in cls.FIELDS
    }
    # Once a history is known to be in declaration order, key order decides nothing.
    checks = [
        f"(not ctx.declaration_order and {var}.{a} is not UNSET and {var}.{b} is not UNSET)"
        for a, b in pairs
    ]
    return checks, source.build(cls, values, target)


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
    checks, build = _message(cls, source, "s", "v")
    convert: Converter = source.compile([], checks, build, "v")
    _STRUCTS[cls] = (struct, convert)
    return struct, convert


# ------------------------------------------------------------------------- events

_EVENT_FIELDS = [spec for spec in HistoryEvent.FIELDS if spec.name != "event_type"]


def _event_struct(event_type: EventType, tag: str) -> tuple[type[msgspec.Struct], EventConverter]:
    """The struct of one event type's events with eventType `tag`, and its converter,
    which builds the attributes too (one call per event); the converter is given the
    event's time, already read (see `event_times`)."""
    spec = ATTRIBUTES[event_type]
    defaults = _defaults(HistoryEvent)
    defaults["event_id"] = 0  # the dataclass requires it; the generic decoder's default
    # HistoryEvent declares its `attributes` oneof after every field but numbers it
    # below the fields numbered 300 and up: with any of those present, key order
    # matters, so such an event is left to the generic decoder.
    late = [s.name for s in _EVENT_FIELDS if s.number > spec.number]
    source = _Source(f"convert_{event_type.name}")
    checks = ["a is None", *(f"s.{name} is not UNSET" for name in late)]
    if issubclass(spec.cls, ProtoMessage):
        attributes: Any = _structs(spec.cls)[0]
        more, build_attributes = _message(spec.cls, source, "a", "x")
        checks += more
    else:  # event types the model keeps opaque
        attributes = Any
        decode = source.ref(_opaque_attributes(spec), "decode")
        build_attributes = [f"x = {decode}(a, ctx)"]
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
    values["event_time"] = "t"
    values.update({name: source.ref(defaults[name], "default") for name in late})
    values["event_type"] = source.ref(event_type, "type")
    values["attributes"] = "x"
    body = [*build_attributes, *source.build(HistoryEvent, values, "e")]
    return struct, source.compile(["a = s.attributes"], checks, body, "e", "s, ctx, t")


def _opaque_attributes(spec: AttributesSpec) -> Converter:
    walk = spec.proto_name in OPAQUE_ENUM_SITES

    def decode(raw: Any, ctx: _Ctx) -> Any:
        if type(raw) is not dict or (walk and ctx.legacy):
            raise Refused
        return OpaqueAttributes(spec.json_key, _opaque_text(raw))

    return decode


def _build() -> tuple[dict[type, EventConverter], frozenset[type]]:
    converters: dict[type, EventConverter] = {}
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
_EVENT = Union[tuple(CONVERTERS)]  # type: ignore[valid-type]  # noqa: UP007
# Non-strict: 64-bit integers are JSON strings (see the module's docstring).
BATCH = msgspec.json.Decoder(list[_EVENT], strict=False, float_hook=_Float)  # type: ignore[valid-type]
ONE = msgspec.json.Decoder(_EVENT, strict=False, float_hook=_Float)


def event_times(structs: list[Any], ctx: _Ctx) -> Sequence[int | None]:
    """The event times of a run of event structs, all at once where their texts have
    one shape (see `scalars._timestamps`), else one by one. Raises `_Bad` for a bad one."""
    texts = list(map(_EVENT_TIME, structs))
    times = _timestamps(texts)
    if times is not None:
        return times
    return [None if text is None else _decode_timestamp(text, ctx) for text in texts]


def event_time(struct: Any, ctx: _Ctx) -> int | None:
    """The event time of one event struct."""
    text = struct.event_time
    return None if text is None else _decode_timestamp(text, ctx)


_EVENT_TIME = operator.attrgetter("event_time")
