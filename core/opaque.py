"""Opaque: an exact, immutable holder of a JSON value the model does not interpret.

Theory of operation. Most of a Temporal event is data the model never looks inside:
payloads, failures, headers, memos, search attributes, user metadata, links, and the
attributes of event types newer than the model. They must still survive a decode ->
encode round trip byte for byte, and events holding them must stay frozen and hashable.
So such a value is stored as its compact JSON text (key order kept, no whitespace,
non-ASCII kept as is): equal texts mean equal values, the text is the hash key, and
`value()` hands out a fresh decoded copy that the caller may mutate freely.

Core code compares and hashes Opaque values but never parses them in hot paths; only
the JSON adapter (adapters/temporal_json/) looks inside.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TypeAlias

from core.fastinit import fast_init_all

# A decoded JSON value, as `json.loads` returns it.
JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"


@dataclass(frozen=True, slots=True)
class Opaque:
    """A JSON value kept verbatim: `text` is its compact JSON encoding.

    Build one with `Opaque.of(value)`; two Opaques are equal when their texts are, so
    objects whose keys come in a different order are different values (the model keeps
    exactly what it was given).
    """

    text: str

    @staticmethod
    def of(value: JsonValue) -> Opaque:
        """Wrap a JSON value. Raises TypeError or ValueError if it is not JSON (NaN too)."""
        return Opaque(_ENCODER.encode(value))

    def value(self) -> JsonValue:
        """A freshly decoded copy of the value."""
        decoded: JsonValue = json.loads(self.text)
        return decoded

    def __repr__(self) -> str:
        text = self.text if len(self.text) <= 80 else self.text[:77] + "..."
        return f"Opaque({text})"


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)

# An empty message that is set (protojson `{}`), as the server writes `priority` and
# `header` when the request had them unset.
EMPTY_MESSAGE = Opaque("{}")


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
