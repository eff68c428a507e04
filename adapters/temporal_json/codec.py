"""Whole events and histories: `decode_event`, `decode_history`, `encode_event`,
`encode_history`.

An event is a `HistoryEvent` plan plus one attributes key (a oneof), which selects the
attributes plan, or an opaque value for the attributes the model does not type. Every
problem with the input raises `BadInput` with one line naming the event (index and
eventId) and the JSON path. Checking event order is the validator's job, not ours.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from core.enums import EventType
from core.errors import BadInput
from core.events import ATTRIBUTES, AttributesSpec, HistoryEvent, OpaqueAttributes, ProtoMessage
from core.opaque import JsonValue

from .errors import _Bad, _event_label, _show
from .forms import (
    ENCODED_TWICE,
    TOP_KEYS_EXPECTED,
    check_response_field,
    first_event_form,
    in_order,
    top_key,
)
from .gostruct import to_protojson
from .legacy import _is_legacy, _to_short, _walk
from .opaque import _decode_opaque_attributes, _opaque
from .plans import _add_unknown, _decode_message, _encode_message, _plan
from .scalars import _FULL_NAME, _Ctx
from .shorthand import expand_event, has_shorthand

Style = Literal["canonical", "legacy"]
FieldOrder = Literal["number", "declaration"]


@dataclass(frozen=True, slots=True)
class DecodedHistory:
    """A decoded history and how it was written, so it can be written back the same way."""

    events: tuple[HistoryEvent, ...]
    style: Style  # "legacy": enums as short PascalCase names
    field_order: FieldOrder  # "declaration": keys in proto declaration order (Go)
    # Payloads written as shorthand JSON (the HTTP API's form), rebuilt here: the same
    # values, but maybe not the bytes the SDK wrote (shorthand.py).
    rebuilt_payloads: int = 0


_EVENT_PLAN = _plan(HistoryEvent)
# HistoryEvent (temporal/api/history/v1/message.proto) declares its `attributes` oneof
# after every other field, but numbers it 6..65, between task_id (5) and
# worker_may_ignore (300).
_ATTRIBUTES_PLACE = len(HistoryEvent.FIELDS)
_ATTRIBUTE_PLANS = {
    t: _plan(spec.cls) for t, spec in ATTRIBUTES.items() if issubclass(spec.cls, ProtoMessage)
}
# Attributes keys, by JSON name and by proto name (protojson readers accept both).
_ATTRIBUTE_KEYS: dict[str, AttributesSpec] = {}
for _spec in ATTRIBUTES.values():
    _ATTRIBUTE_KEYS[_spec.json_key] = _spec
    _ATTRIBUTE_KEYS[re.sub(r"([A-Z])", r"_\1", _spec.json_key).lower()] = _spec
# The key of field 52 before temporalio/api 1d4c8980 renamed Update Requested to Update
# Admitted (April 2024; see OLD_NAMES in scalars.py): the same attributes.
_ATTRIBUTE_KEYS["workflowExecutionUpdateRequestedEventAttributes"] = _ATTRIBUTE_KEYS[
    "workflowExecutionUpdateAdmittedEventAttributes"
]
_ATTRIBUTE_KEYS["workflow_execution_update_requested_event_attributes"] = _ATTRIBUTE_KEYS[
    "workflowExecutionUpdateAdmittedEventAttributes"
]


# ------------------------------------------------------------------ event decoding


def _decode_event(raw: object, ctx: _Ctx) -> HistoryEvent:
    if type(raw) is not dict:
        raise _Bad(f"expected an event object, got {_show(raw)}")
    values: dict[str, object] = {}
    unknown: dict[str, object] | None = None
    attributes: AttributesSpec | None = None
    attributes_raw: object = None
    keys = _EVENT_PLAN.keys
    last = (0, -1)
    key = ""
    try:
        for key, item in raw.items():
            field = keys.get(key)
            if field is not None:
                if item is None:
                    continue
                name, number, place, decode, alias = field
                if number < last[0] and place > last[1]:
                    ctx.declaration_order = True
                last = (number, place)
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
            if spec.number < last[0] and last[1] < _ATTRIBUTES_PLACE:
                ctx.declaration_order = True
            last = (spec.number, _ATTRIBUTES_PLACE)
            attributes, attributes_raw = spec, item
    except _Bad as exc:
        if key in ("eventType", "event_type") and raw.get("workerMayIgnore") is True:
            raise _ignorable(exc) from None
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


def _ignorable(exc: _Bad) -> _Bad:
    """An event of a type this model does not know, marked `workerMayIgnore`.

    The API (temporal/api/history/v1/message.proto, HistoryEvent.worker_may_ignore) lets
    an SDK skip such an event: it does not affect the workflow's code, and sdk-go
    (internal_event_handlers.go) and sdk-java replay past it. The history rules and the
    model judge the server, not the workflow code: every event holds an id in the
    sequence and a place among the workflow task's events, and the model cannot say what
    an event it does not know did to the run, nor write it. So the history is not
    judged: still bad input, with the reason."""
    return _Bad(
        f"{exc.problem} (marked workerMayIgnore: an SDK would skip it, but the history "
        "rules cannot place an event of a type they do not know; not judged)"
    ).at("eventType")


def decode_event(raw: object, *, legacy: bool = False) -> HistoryEvent:
    """Decode one event object (already parsed JSON). `legacy`: short enum names inside
    opaque values are expanded (typed fields accept both forms anyway)."""
    try:
        return _decode_event(raw, _Ctx(legacy))
    except _Bad as exc:
        raise BadInput(f"{_event_label(0, raw)}: {exc.text()}") from None


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _events_of(data: object) -> tuple[list[object], bool]:
    """The events of a parsed history, and whether it is the HTTP API's answer (whose
    payloads may be shorthand)."""
    if isinstance(data, list):
        return data, False
    if isinstance(data, str):
        raise BadInput(ENCODED_TWICE)
    if not isinstance(data, dict):
        raise BadInput(f'expected {{"events": [...]}} or a list of events, got {_show(data)}')
    keys = [top_key(k) for k in data]
    if keys and "history" not in keys and "events" not in keys:
        raise BadInput(f"unexpected top-level key {_show(keys[0])} ({TOP_KEYS_EXPECTED})")
    if "history" in keys:
        history = None
        for key, item in data.items():
            if top_key(key) == "history":
                history = item
            else:
                check_response_field(top_key(key), item)
        if history is None:
            return [], True
        if not isinstance(history, dict):
            raise BadInput(f"history: expected an object, got {_show(history)}")
        extra = [k for k in history if k != "events"]
        if extra:
            raise BadInput(f"history: unexpected key {_show(extra[0])} (a history has only events)")
        events = history.get("events") or []
        if not isinstance(events, list):
            raise BadInput(f"history.events: expected an array, got {_show(events)}")
        return events, True
    extra = [k for k in data if k != "events"]
    if extra:
        raise BadInput(f"unexpected top-level key {_show(extra[0])} ({TOP_KEYS_EXPECTED})")
    events = data.get("events", [])
    if not isinstance(events, list):
        raise BadInput(f"events: expected an array, got {_show(events)}")
    return events, False


def decode_history_generic(source: str | bytes | bytearray | object) -> DecodedHistory:
    """`decode_history` by the generic decoder alone: JSON text is parsed into plain
    values first (the standard library's parser), then each event is decoded from them.
    Its errors name what is wrong in the whole text."""
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
    raws, http = _events_of(data)
    return _decode_raws(raws, http)


def _decode_raws(raws: list[object], shorthand: bool) -> DecodedHistory:
    """The events of parsed elements, oldest first (forms.in_order); `shorthand`:
    payloads read as shorthand from the first event (the HTTP API's answer)."""
    ctx = _Ctx(legacy=bool(raws) and _is_legacy(raws[0]))
    events = []
    rebuilt = 0
    go_struct = False
    if raws:
        go_struct, shorthand = first_event_form(raws[0], shorthand)
    for index, raw in enumerate(raws):
        try:
            if go_struct:
                raw = to_protojson(raw)  # a new object
            if shorthand:
                raw = copy.deepcopy(raw)  # never mutate the caller's objects
                rebuilt += expand_event(raw)
            events.append(_decode_event(raw, ctx))
        except _Bad as exc:
            if not (shorthand or go_struct) and has_shorthand(raw):  # again, as shorthand
                return _decode_raws(raws, True)
            raise BadInput(f"{_event_label(index, raw)}: {exc.text()}") from None
    return DecodedHistory(
        tuple(in_order(events)),
        "legacy" if ctx.legacy else "canonical",
        "declaration" if ctx.declaration_order else "number",
        rebuilt,
    )


# ------------------------------------------------------------------ event encoding

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
