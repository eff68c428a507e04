"""Fields and attributes the model keeps opaque: their JSON is kept as `Opaque` text.

Only in the legacy style are they looked inside (legacy.py), to rewrite enum names.
"""

from __future__ import annotations

import json

from core.events import OPAQUE_ENUM_SITES, AttributesSpec, FieldSpec, OpaqueAttributes
from core.opaque import JsonValue, Opaque

from .errors import _Bad, _show
from .legacy import _convert_item, _to_full, _to_short, _walk, _walk_container
from .scalars import Decoder, Encoder, _Ctx

# The encoding `Opaque.of` uses; applied here to values typed `object` (json.loads
# output or a caller's dict), whose JSON-ness the encoder itself checks.
_OPAQUE_TEXT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def _opaque(raw: object) -> Opaque:
    try:
        return Opaque(_OPAQUE_TEXT(raw))
    except (TypeError, ValueError, RecursionError) as exc:
        raise _Bad(f"not a JSON value ({exc})") from None


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


def _decode_opaque_attributes(spec: AttributesSpec, raw: object, ctx: _Ctx) -> OpaqueAttributes:
    if type(raw) is not dict:
        raise _Bad(f"expected an object, got {_show(raw)}")
    if ctx.legacy and spec.proto_name in OPAQUE_ENUM_SITES:
        return OpaqueAttributes(spec.json_key, _legacy_opaque(raw, spec.proto_name, "single"))
    return OpaqueAttributes(spec.json_key, _opaque(raw))
