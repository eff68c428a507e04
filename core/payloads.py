"""Payloads and failures: how workflow values travel inside events and commands.

Temporal carries every user value as a `Payloads` message, each payload a metadata
map plus bytes. The SDKs' default converter writes JSON values with metadata
``encoding: json/plain`` and ``None`` as ``binary/null`` with no data (temporalio
`converter.py`, `JSONPlainPayloadConverter` and `BinaryNullPayloadConverter`); in
Temporal's JSON format the bytes are base64. This module converts between plain JSON
values and that form, and builds and reads `Failure` messages (`temporal/api/failure/
v1/message.proto`) for application errors, timeouts and cancellations.

`base64` and `json` are pure: no I/O and no ambient state.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Sequence

from core.errors import BadPayload
from core.opaque import JsonValue, Opaque

_JSON = base64.b64encode(b"json/plain").decode("ascii")
_NULL = base64.b64encode(b"binary/null").decode("ascii")
_DUMP = json.JSONEncoder(separators=(",", ":"), sort_keys=True, allow_nan=False)


def payload(value: object) -> dict[str, JsonValue]:
    """One payload in Temporal's JSON form (TypeError if `value` is not JSON)."""
    if value is None:
        return {"metadata": {"encoding": _NULL}}
    data = base64.b64encode(_DUMP.encode(value).encode("utf-8")).decode("ascii")
    return {"metadata": {"encoding": _JSON}, "data": data}


def to_payloads(values: Sequence[object]) -> Opaque | None:
    """A `Payloads` message holding `values` (None when there are none, as SDKs send)."""
    if not values:
        return None
    if all(type(v) in _SCALARS for v in values):
        # Workflow code re-sends the same few arguments on every replay; scalars are
        # immutable, so their encoding can be remembered. The key carries each value's
        # type: 1, 1.0 and True are equal in Python but encode differently.
        return _scalar_payloads(tuple((type(v), v) for v in values))
    return _encode(values)


def _encode(values: Sequence[object]) -> Opaque:
    return Opaque.of({"payloads": [payload(v) for v in values]})


def one_value(value: object) -> JsonValue:
    """A one-value `Payloads` message as a JSON value (what `to_payloads([value])` holds)."""
    return {"payloads": [payload(value)]}


_SCALARS = frozenset({str, int, float, bool, type(None)})


@functools.lru_cache(maxsize=4096)
def _scalar_payloads(typed: tuple[tuple[type, object], ...]) -> Opaque:
    return _encode([v for _, v in typed])


def from_payload(item: JsonValue) -> JsonValue:
    """The value of one payload; `BadPayload` if the default converter cannot read it."""
    if not isinstance(item, dict):
        raise BadPayload("a payload must be an object")
    metadata = item.get("metadata")
    encoding = metadata.get("encoding") if isinstance(metadata, dict) else None
    if encoding == _NULL:
        return None
    if encoding != _JSON:
        raise BadPayload(f"payload encoding {_named(encoding)} (known: json/plain, binary/null)")
    data = item.get("data", "")
    if not isinstance(data, str):
        raise BadPayload("payload data must be base64 text")
    try:
        text = base64.b64decode(data).decode("utf-8")
    except ValueError:  # binascii.Error, non-ASCII text, UnicodeDecodeError
        raise BadPayload("payload data is not base64 of UTF-8 text") from None
    try:
        decoded: JsonValue = json.loads(text)
    except ValueError as error:
        raise BadPayload(f"json/plain payload data is not JSON ({error})") from None
    except RecursionError:
        raise BadPayload("json/plain payload data is nested too deeply") from None
    return decoded


def _named(encoding: JsonValue) -> str:
    """An encoding for a message: its base64 decoded when that is short ASCII text."""
    if not isinstance(encoding, str):
        return "missing" if encoding is None else "not base64 text"
    try:
        name = base64.b64decode(encoding, validate=True).decode("ascii")
    except ValueError:
        return repr(encoding[:40])
    return repr(name[:40]) if name.isprintable() else repr(encoding[:40])


def from_payloads(payloads: Opaque | None) -> list[JsonValue]:
    """The values of a `Payloads` message (empty for None)."""
    if payloads is None:
        return []
    scalars = _SCALAR_VALUES.get(payloads.text)
    if scalars is not None:  # remembered: a fresh list of immutable values
        return list(scalars)
    values = _decode(payloads)
    if all(type(v) in _SCALARS for v in values) and len(_SCALAR_VALUES) < _REMEMBERED:
        _SCALAR_VALUES[payloads.text] = tuple(values)
    return values


# Decoded Payloads texts whose values are all scalars, so safe to hand out again; filled
# up to a bound. A hit or a miss gives the same values, so nothing depends on its content.
_SCALAR_VALUES: dict[str, tuple[JsonValue, ...]] = {}
_REMEMBERED = 4096


def _decode(payloads: Opaque) -> list[JsonValue]:
    body = payloads.value()
    # Anything but an object holds no payloads: the simulator's activity workers answer
    # with a bare value, which the code reads as None.
    items = body.get("payloads", []) if isinstance(body, dict) else []
    if not isinstance(items, list):
        raise BadPayload("payloads must be a list")
    return [from_payload(item) for item in items]


def first(payloads: Opaque | None) -> JsonValue:
    """The first value of a `Payloads` message, or None (a single result or argument)."""
    values = from_payloads(payloads)
    return values[0] if values else None


# --- failures --------------------------------------------------------------------------


def application_failure(
    message: str, error_type: str = "", non_retryable: bool = False, details: JsonValue = None
) -> Opaque:
    info: dict[str, JsonValue] = {"type": error_type} if error_type else {}
    if non_retryable:
        info["nonRetryable"] = True
    if details is not None:
        info["details"] = {"payloads": [payload(details)]}
    return Opaque.of({"message": message, "source": "tmodel", "applicationFailureInfo": info})


def failure_message(failure: Opaque | None) -> str:
    """The message of a Failure, or its cause's when it has none."""
    if failure is None:
        return ""
    body = failure.value()
    if not isinstance(body, dict):
        return ""
    message = body.get("message")
    if isinstance(message, str) and message:
        return message
    cause = body.get("cause")
    return failure_message(Opaque.of(cause)) if isinstance(cause, dict) else ""


def failure_type(failure: Opaque | None) -> str:
    """`applicationFailureInfo.type` of a Failure (or of its first cause that has one)."""
    if failure is None:
        return ""
    body = failure.value()
    while isinstance(body, dict):
        info = body.get("applicationFailureInfo")
        if isinstance(info, dict) and isinstance(info.get("type"), str):
            return str(info["type"])
        body = body.get("cause")
    return ""
