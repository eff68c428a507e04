"""Per-class plans, compiled at import from the `FIELDS` metadata in core/events/,
and the generic message decoder and encoder that run them.

A plan maps each JSON key (by JSON name and by proto name, which protojson readers also
accept) to a decoder, so the hot loop does one dict lookup and one call per key. For
encoding it holds rows in both key orders, because Python protobuf prints fields by
field number and Go by declaration order; the decoder notes which order it read, so
decode -> encode gives back the same JSON, key order included. Keys the schema does not
know are kept in `unknown` and written back last.

Which order was read shows only where the two differ: two keys read one after the other
whose field numbers descend while their declaration places ascend mark the history as
written in declaration order. Keys read in any other disorder say nothing; so the
typed decoder (typed.py), which does not see key order, needs it only for messages
holding both fields of such a pair.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

from core.events import FieldSpec, Kind, ProtoMessage
from core.opaque import JsonValue, Opaque

from .errors import _Bad, _show
from .opaque import _opaque, _opaque_decoder, _opaque_encoder
from .scalars import (
    _SCALAR_DECODERS,
    _SCALAR_ENCODERS,
    Decoder,
    Encoder,
    _Ctx,
    _enum_decoder,
    _enum_encoder,
)

# What to do with one JSON key of a message: (attribute name, field number, place in
# declaration order, decoder, alias). `alias` marks the proto field name, which protojson
# readers also accept. A plain tuple, because unpacking one is the cheapest access in the
# hot loop.
_KeyPlan: TypeAlias = tuple[str, int, int, Decoder, bool]


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
    last = (0, -1)
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
            name, number, place, decode, alias = field
            if number < last[0] and place > last[1]:
                ctx.declaration_order = True
            last = (number, place)
            if alias and name in values:
                raise _Bad("given twice, by JSON name and by proto name")
            values[name] = decode(item, ctx)
    except _Bad as exc:
        raise exc.at(key) from None
    if unknown is not None:
        values["unknown"] = _opaque(unknown)
    return plan.cls(**values)


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


_PLANS: dict[type[ProtoMessage], _Plan] = {}


# Fields the API renamed without changing their number, by their former JSON name (and
# the former names of keys inside their value, where the message type was renamed with
# the same field numbers): servers built before the rename wrote those names.
# - temporalio/api 2227a14f (April 2024, "Versioning 2 API") renamed
#   `use_compatible_version` in these three messages;
# - temporalio/api 9206f155 (March 2023, "Refactor versioning API") turned
#   WorkflowTaskCompleted's `worker_versioning_id` (a VersionId: worker_build_id = 1) into
#   `worker_version` (a WorkerVersionStamp: build_id = 1).
OLD_FIELD_NAMES: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    (
        "temporal.api.history.v1.ActivityTaskScheduledEventAttributes",
        "use_workflow_build_id",
    ): ("useCompatibleVersion", {}),
    (
        "temporal.api.history.v1.StartChildWorkflowExecutionInitiatedEventAttributes",
        "inherit_build_id",
    ): ("useCompatibleVersion", {}),
    (
        "temporal.api.history.v1.WorkflowExecutionContinuedAsNewEventAttributes",
        "inherit_build_id",
    ): ("useCompatibleVersion", {}),
    (
        "temporal.api.history.v1.WorkflowTaskCompletedEventAttributes",
        "worker_version",
    ): ("workerVersioningId", {"workerBuildId": "buildId", "worker_build_id": "buildId"}),
}


def _renamed_inside(decode: Decoder, inner: dict[str, str]) -> Decoder:
    """`decode` of a value whose keys may carry the names `inner` maps to current ones."""
    if not inner:
        return decode

    def renamed(raw: object, ctx: _Ctx) -> object:
        if type(raw) is dict:
            raw = {inner.get(k, k): v for k, v in raw.items()}
        return decode(raw, ctx)

    return renamed


def _snake(json_name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in json_name)


def _plan(cls: type[ProtoMessage]) -> _Plan:
    """The compiled plan of a generated class (built once, at import)."""
    plan = _PLANS.get(cls)
    if plan is not None:
        return plan
    keys: dict[str, _KeyPlan] = {}
    for place, spec in enumerate(cls.FIELDS):
        decode = _field_decoder(spec)
        keys[spec.json_name] = (spec.name, spec.number, place, decode, False)
        if spec.name != spec.json_name:
            keys[spec.name] = (spec.name, spec.number, place, decode, True)
        renamed = OLD_FIELD_NAMES.get((cls.PROTO_NAME, spec.name))
        if renamed is not None:  # read as the same field; written under its current name
            old, inner = renamed
            old_decode = _renamed_inside(decode, inner)
            keys[old] = (spec.name, spec.number, place, old_decode, True)
            keys[_snake(old)] = (spec.name, spec.number, place, old_decode, True)
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
