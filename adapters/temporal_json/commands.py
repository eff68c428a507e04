"""Workflow task commands <-> their protojson objects, as `core.commands.Command`.

A command is a `Command` message whose `attributes` oneof holds one attributes message
chosen by `commandType` (temporal/api/command/v1/message.proto). The attributes are
decoded by the same compiled plans as event attributes; the Nexus commands, which the
model keeps opaque, are kept as their JSON. Problems raise `BadInput` naming the path.
"""

from __future__ import annotations

import re

from core.commands import COMMAND_ATTRIBUTES, Command, CommandAttributes, CommandAttributesSpec
from core.enums import CommandType
from core.errors import BadInput
from core.events import OpaqueAttributes, ProtoMessage
from core.opaque import JsonValue, Opaque

from .errors import _Bad, _show
from .opaque import _opaque
from .plans import _decode_message, _encode_message, _plan
from .scalars import _Ctx, _enum_decoder

_ATTRIBUTE_KEYS: dict[str, CommandAttributesSpec] = {}
for _spec in COMMAND_ATTRIBUTES.values():
    _ATTRIBUTE_KEYS[_spec.json_key] = _spec
    _ATTRIBUTE_KEYS[re.sub(r"([A-Z])", r"_\1", _spec.json_key).lower()] = _spec
_PLANS = {
    t: _plan(spec.cls)
    for t, spec in COMMAND_ATTRIBUTES.items()
    if issubclass(spec.cls, ProtoMessage)
}
_COMMAND_TYPE = _enum_decoder(CommandType)
_OPAQUE_KEYS = {
    "userMetadata": "user_metadata",
    "user_metadata": "user_metadata",
    "eventGroupMarkers": "event_group_markers",
    "event_group_markers": "event_group_markers",
}


def _decode(raw: object, ctx: _Ctx) -> Command:
    if type(raw) is not dict:
        raise _Bad(f"expected a command object, got {_show(raw)}")
    command_type = _COMMAND_TYPE(raw.get("commandType", raw.get("command_type")), ctx)
    spec = COMMAND_ATTRIBUTES.get(command_type) if isinstance(command_type, CommandType) else None
    if spec is None:
        raise _Bad(f"command type {raw.get('commandType')!r} has no attributes")
    values: dict[str, Opaque] = {}
    body: object = {}
    for key, item in raw.items():
        if key in ("commandType", "command_type") or item is None:
            continue
        if key in _OPAQUE_KEYS:
            values[_OPAQUE_KEYS[key]] = _opaque(item)
        elif _ATTRIBUTE_KEYS.get(key) is spec:
            body = item
        else:
            raise _Bad(f"unexpected key {key!r} in a {spec.json_key[:-17]} command")
    plan = _PLANS.get(spec.command_type)
    attributes: CommandAttributes
    try:
        if plan is None:
            attributes = OpaqueAttributes(spec.json_key, _opaque(body))
        else:
            decoded = _decode_message(plan, body, ctx)
            if not isinstance(decoded, spec.cls):
                raise _Bad(f"{spec.json_key} did not decode")
            attributes = decoded
    except _Bad as exc:
        raise exc.at(spec.json_key) from None
    return Command(
        spec.command_type,
        attributes,
        user_metadata=values.get("user_metadata"),
        event_group_markers=values.get("event_group_markers"),
    )


def decode_command(raw: object) -> Command:
    """One command from its protojson object (already parsed JSON)."""
    try:
        return _decode(raw, _Ctx(False))
    except _Bad as exc:
        raise BadInput(f"command: {exc.text()}") from None
    except (ValueError, TypeError) as exc:
        raise BadInput(f"command: {exc}") from None


def encode_command(command: Command) -> dict[str, JsonValue]:
    """One command as its protojson object (field-number order, canonical enums)."""
    spec = COMMAND_ATTRIBUTES[command.command_type]
    attributes = command.attributes
    body: JsonValue
    if isinstance(attributes, OpaqueAttributes):
        body = attributes.value.value()
    else:
        body = _encode_message(_PLANS[spec.command_type], attributes, False, False, True)
    out: dict[str, JsonValue] = {"commandType": f"COMMAND_TYPE_{command.command_type.name}"}
    out[spec.json_key] = body
    if command.user_metadata is not None:
        out["userMetadata"] = command.user_metadata.value()
    if command.event_group_markers is not None:
        out["eventGroupMarkers"] = command.event_group_markers.value()
    return out
