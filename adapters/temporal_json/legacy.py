"""The legacy style: enums as short PascalCase names (`"WorkflowExecutionStarted"`).

Older tctl and Web UI exports write it. The style is detected from the first event's
`eventType` and kept on re-encoding. Typed enum fields accept both forms anyway (see
scalars.py); what needs this module is opaque values, whose JSON is kept as text: in the
legacy style they are walked along `OPAQUE_ENUM_SITES` to rewrite enum names, short to
full on decoding and full to short on encoding.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

from core.enums import EventType
from core.events import OPAQUE_ENUM_SITES
from core.opaque import JsonValue

from .scalars import _BY_NAME, _FULL_NAME, _SHORT_NAME

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


def _walk_container(value: JsonValue, proto: str, container: str, convert: Convert) -> None:
    if container == "single":
        _walk(value, proto, convert)
    elif isinstance(value, list):
        for item in value:
            _walk(item, proto, convert)
    elif isinstance(value, dict):
        for item in value.values():
            _walk(item, proto, convert)


_LEGACY_EVENT_TYPES = frozenset(_SHORT_NAME[EventType].values()) - {"Unspecified"}


def _is_legacy(first_event: object) -> bool:
    if not isinstance(first_event, dict):
        return False
    event_type = first_event.get("eventType", first_event.get("event_type"))
    return isinstance(event_type, str) and event_type in _LEGACY_EVENT_TYPES
