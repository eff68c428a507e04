"""The events emitter of scripts/gen_events.py: the package core/events/.

One module per family of event types (`EVENT_FAMILIES`, first matching rule wins), a
`base` module with the field metadata and nested messages, the tables in `attributes`
and `enum_sites`, `HistoryEvent` in `history_event`, and an `__init__` that re-exports
every public name, so `from core.events import X` works for all of them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from gen_events_emit import (
    FAST_INIT,
    LINE,
    OpaqueRow,
    TypedRow,
    call_lines,
    class_lines,
    class_names,
    docstring,
    enum_imports,
    families,
    import_lines,
    init_text,
    module_text,
    oneof_class_lines,
    spec_rows_lines,
    typed_lines,
    union_lines,
)
from gen_events_model import MessageClass

PACKAGE = "core/events"

# (module, what its event types are about, regex on the EventType member name).
EVENT_FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("update", "workflow updates", "WORKFLOW_EXECUTION_UPDATE_"),
    ("child", "child workflows", ".*CHILD_WORKFLOW"),
    ("external", "cancel and signal requests to another workflow", ".*EXTERNAL_WORKFLOW"),
    ("workflow_task", "workflow tasks", "WORKFLOW_TASK_"),
    ("activity", "activities", "ACTIVITY_"),
    ("timer", "timers", "TIMER_"),
    ("workflow", "the workflow execution itself", "WORKFLOW_EXECUTION_"),
    ("misc", "markers, search attributes and modified properties", ""),
)

PACKAGE_DOC = '''\
"""Temporal history events as typed, immutable values.

Theory of operation. A history (temporal/api/history/v1/message.proto `History`) is a
sequence of `HistoryEvent`s. Each event has an id, a type (core.enums.EventType) and
exactly one attributes message chosen by the `attributes` oneof. This package mirrors
that shape with frozen slots dataclasses generated from the protobuf descriptors:

- `HistoryEvent(event_id, event_type, attributes, event_time=None, ...)`;
- one `...EventAttributes` class per event type 1-47, fields named as in the proto,
  every field defaulted to its proto3 zero value, so a test writes
  `TimerFiredEventAttributes(timer_id="1", started_event_id=5)`;
- event types 48+ (Nexus, options updated, pause, ...) carry `OpaqueAttributes`,
  kept verbatim and never dropped.

Value mapping: int64/int32 -> int, string -> str, bytes -> str (base64 as in JSON),
enums -> IntEnum, google.protobuf.Timestamp -> int nanoseconds since the Unix epoch
(UTC), google.protobuf.Duration -> int nanoseconds, both `None` when unset (proto3
message presence: an explicit zero duration is not the same as no duration).
WorkflowExecution, WorkflowType, ActivityType and TaskQueue are dataclasses too; every
other message (payloads, failures, headers, ...) is an `Opaque` JSON value. JSON keys
the schema does not know are kept in `unknown`.

Each generated class carries `FIELDS`, its codec metadata in proto declaration order
(`FieldSpec.number` gives the field-number order Python's protobuf prints in), and
`PROTO_NAME`. `ATTRIBUTES` maps every event type to its attributes class and JSON key.
`OPAQUE_ENUM_SITES` says where enums sit inside opaque messages, for the legacy JSON
form whose enums are short names (see adapters/temporal_json/).

{modules}
"""'''

BASE_DOC = '''\
"""The base of the generated event model: field metadata (`Kind`, `FieldSpec`,
`EnumSite`), the `ProtoMessage` base class, `OpaqueAttributes`, `check_attributes`, and
the nested messages modelled as dataclasses. Import them from `core.events`.
"""'''

BASE_BODY = '''\
class Kind(Enum):
    """How a field is represented, in Python and in protojson."""

    INT64 = "int64"  # int; JSON string (int64, sint64, sfixed64)
    UINT64 = "uint64"  # int >= 0; JSON string (uint64, fixed64)
    INT32 = "int32"  # int; JSON number (int32, sint32, sfixed32)
    UINT32 = "uint32"  # int >= 0; JSON number (uint32, fixed32)
    DOUBLE = "double"  # float; JSON number (double, float)
    BOOL = "bool"
    STRING = "string"
    BYTES = "bytes"  # str holding the base64 text, exactly as in JSON
    ENUM = "enum"  # IntEnum; JSON enum value name
    TIMESTAMP = "timestamp"  # int ns since the Unix epoch; JSON RFC 3339 text
    DURATION = "duration"  # int ns; JSON "1.500s"
    MESSAGE = "message"  # a generated dataclass; JSON object
    OPAQUE = "opaque"  # Opaque; any other message, repeated message or map


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """Codec metadata of one generated field."""

    name: str  # Python attribute name (the proto field name)
    json_name: str  # protojson lowerCamelCase key
    number: int  # proto field number; protobuf-python prints fields in this order
    kind: Kind
    repeated: bool = False  # tuple of scalars/enums; with Kind.OPAQUE, a JSON array
    enum: type[IntEnum] | None = None  # Kind.ENUM: the enum class
    message: type[ProtoMessage] | None = None  # Kind.MESSAGE: the dataclass
    proto_type: str = ""  # full name of the message (map: of the map value), if any
    is_map: bool = False  # Kind.OPAQUE holding a proto map (a JSON object)
    optional: bool = False  # proto3 `optional` scalar: None when unset


@dataclass(frozen=True, slots=True)
class EnumSite:
    """A field inside an opaque message that holds, or leads to, an enum value."""

    json_name: str
    enum: type[IntEnum] | None  # the field holds values of this enum ...
    message: str  # ... or messages of this full name, which hold enums deeper down
    container: Literal["single", "list", "map"]


class ProtoMessage:
    """Base of the generated message dataclasses: `PROTO_NAME` and `FIELDS` metadata."""

    __slots__ = ()
    PROTO_NAME: ClassVar[str] = ""
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = ()


@dataclass(frozen=True, slots=True)
class OpaqueAttributes:
    """Attributes of an event type this model does not type (48+): kept verbatim.

    `json_key` is the attributes key (`nexusOperationScheduledEventAttributes`, ...) and
    `value` the whole attributes object.
    """

    json_key: str
    value: Opaque


def check_attributes(cls: type[object], json_key: str, attributes: object, kind: IntEnum) -> None:
    """Reject attributes that do not belong to event or command type `kind`.

    Raised as ValueError: a mismatch is a programming error of the caller, not bad input
    (the JSON codec checks its input before it builds an event).
    """
    if type(attributes) is not cls:
        raise ValueError(f"{type(attributes).__name__} are not the attributes of {kind!r}")
    if isinstance(attributes, OpaqueAttributes) and attributes.json_key != json_key:
        raise ValueError(f"{attributes.json_key} is not the attributes key of {kind!r}")'''

# The public names of `base` (the nested message classes come on top).
BASE_NAMES = (
    "EnumSite",
    "FieldSpec",
    "Kind",
    "OpaqueAttributes",
    "ProtoMessage",
    "check_attributes",
)


def emit_events(
    version: str,
    nested: Sequence[MessageClass],
    typed: Sequence[TypedRow],
    opaque: Sequence[OpaqueRow],
    event_class: MessageClass,
    sites: dict[str, list[tuple[str, str, str, str]]],
) -> dict[str, str]:
    """The text of every module of core/events/, keyed by its path."""
    groups = families(typed, EVENT_FAMILIES)
    exports: dict[str, list[str]] = {"base": [*BASE_NAMES, *(c.name for c in nested)]}
    texts = {"base": base_module(version, nested)}
    for module, rows in groups.items():
        title = next(title for name, title, _ in EVENT_FAMILIES if name == module)
        texts[module] = family_module(version, title, rows)
        exports[module] = [c.name for _, _, _, c in rows]
    texts["attributes"] = attributes_module(version, typed, groups, opaque)
    exports["attributes"] = [
        "ATTRIBUTES",
        "ATTRIBUTES_CLASS",
        "ATTRIBUTES_JSON_KEY",
        "AttributesSpec",
        "EventAttributes",
    ]
    texts["history_event"] = history_event_module(version, event_class)
    exports["history_event"] = ["HistoryEvent"]
    texts["enum_sites"] = enum_sites_module(version, sites)
    exports["enum_sites"] = ["OPAQUE_ENUM_SITES"]
    texts["__init__"] = init_module(version, exports, [*groups])
    return {f"{PACKAGE}/{module}.py": text for module, text in texts.items()}


def base_module(version: str, nested: Sequence[MessageClass]) -> str:
    imports = [
        "from dataclasses import dataclass",
        "from enum import Enum, IntEnum",
        "from typing import ClassVar, Literal",
        "",
        *enum_imports(nested),
        "from core.fastinit import fast_init_all",
        "from core.opaque import Opaque",
        "",
        "",
    ]
    body = BASE_BODY.splitlines()
    body += ["", "", "# " + "-" * 30 + " nested messages " + "-" * 30]
    for cls in nested:
        body += class_lines(cls, "ProtoMessage")
    return module_text(version, BASE_DOC.splitlines(), imports, body + FAST_INIT)


def family_module(version: str, title: str, rows: Sequence[TypedRow]) -> str:
    classes = [c for _, _, _, c in rows]
    imports = [
        "from dataclasses import dataclass",
        "from typing import ClassVar",
        "",
        *enum_imports(classes, ["EventType"]),
        *import_lines("core.events.base", class_names(classes)),
        "from core.fastinit import fast_init_all",
        "from core.opaque import Opaque",
    ]
    body: list[str] = []
    for member, _, _, cls in rows:
        extra = [f"    EVENT_TYPE: ClassVar[EventType] = EventType.{member}"]
        body += class_lines(cls, "ProtoMessage", extra)
    doc = docstring(f"Attributes of the event types of {title} (generated; see core.events).")
    return module_text(version, doc, imports, body + FAST_INIT)


def attributes_module(
    version: str,
    typed: Sequence[TypedRow],
    groups: dict[str, list[TypedRow]],
    opaque: Sequence[OpaqueRow],
) -> str:
    imports = [
        "from collections.abc import Mapping",
        "from dataclasses import dataclass",
        "from types import MappingProxyType",
        "from typing import Final, TypeAlias",
        "",
        "from core.enums import EventType",
    ]
    modules = {m: [c.name for _, _, _, c in rows] for m, rows in groups.items()}
    modules["base"] = ["OpaqueAttributes"]
    for module in sorted(modules):
        imports += import_lines(f"core.events.{module}", modules[module])
    imports.append("from core.fastinit import fast_init_all")
    body = ["", "# The `attributes` of a HistoryEvent: one class per event type."]
    body += union_lines("EventAttributes", [c.name for _, _, _, c in typed] + ["OpaqueAttributes"])
    body += ATTRIBUTES_SPEC.splitlines()
    body += spec_rows_lines("AttributesSpec", "EventType", typed, opaque)
    body += ATTRIBUTES_MAPS.splitlines()
    doc = docstring(
        "Every event type's attributes class and JSON key (generated; see core.events)."
    )
    return module_text(version, doc, imports, body + FAST_INIT)


ATTRIBUTES_SPEC = '''

@dataclass(frozen=True, slots=True)
class AttributesSpec:
    """Where the attributes of one event type live in a HistoryEvent."""

    event_type: EventType
    cls: type[EventAttributes]
    json_key: str  # the oneof member's JSON key
    number: int  # the oneof member's field number (protobuf-python key order)
    proto_name: str  # full name of the attributes message


# Event type -> attributes (temporal/api/history/v1/message.proto, oneof `attributes`).
_ATTRIBUTES_ROWS: Final[tuple[AttributesSpec, ...]] = ('''

ATTRIBUTES_MAPS = """\
)
ATTRIBUTES: Final[Mapping[EventType, AttributesSpec]] = MappingProxyType(
    {row.event_type: row for row in _ATTRIBUTES_ROWS}
)
ATTRIBUTES_CLASS: Final[Mapping[EventType, type[EventAttributes]]] = MappingProxyType(
    {row.event_type: row.cls for row in _ATTRIBUTES_ROWS}
)
ATTRIBUTES_JSON_KEY: Final[Mapping[EventType, str]] = MappingProxyType(
    {row.event_type: row.json_key for row in _ATTRIBUTES_ROWS}
)"""


def history_event_module(version: str, event: MessageClass) -> str:
    imports = [
        "from dataclasses import dataclass",
        "from typing import ClassVar, Final",
        "",
        *enum_imports([event], ["EventType"]),
        "from core.events.attributes import ATTRIBUTES, ATTRIBUTES_CLASS, EventAttributes",
        *import_lines(
            "core.events.base",
            {"FieldSpec", "Kind", "OpaqueAttributes", "ProtoMessage", "check_attributes"}
            | {f.message for f in event.fields if f.message},
        ),
        "from core.fastinit import fast_init_all",
        "from core.opaque import Opaque",
    ]
    doc = [
        "`attributes` is the oneof member matching `event_type` (checked on construction);",
        "`FIELDS` lists the other fields, in declaration order.",
    ]
    body = oneof_class_lines(event, ("event_id", "event_type"), doc, "ATTRIBUTES")
    body += typed_lines("EventType", "ATTRIBUTES_CLASS")
    module_doc = docstring("HistoryEvent: one event of a history (generated; see core.events).")
    return module_text(version, module_doc, imports, body + FAST_INIT)


def enum_sites_module(version: str, sites: dict[str, list[tuple[str, str, str, str]]]) -> str:
    used = {enum for rows in sites.values() for _, enum, _, _ in rows if enum}
    imports = [
        "from collections.abc import Mapping",
        "from types import MappingProxyType",
        "from typing import Final",
        "",
        *import_lines("core.enums", used),
        "from core.events.base import EnumSite",
    ]
    doc = docstring(
        "Where enums sit inside the messages the model keeps opaque, for the legacy JSON form"
        " that writes them as short names (generated; see core.events)."
    )
    return module_text(version, doc, imports, sites_lines(sites))


def init_module(version: str, exports: dict[str, list[str]], family_names: Sequence[str]) -> str:
    """The package: the docstring and a re-export of every module's public names."""
    listed = ", ".join(f"`{name}`" for name in family_names)
    modules = (
        "Import every name from `core.events`; its modules only keep the files small: `base`"
        " (`Kind`, `FieldSpec`, `ProtoMessage`, `OpaqueAttributes`, the nested messages), one"
        f" module per family of event types ({listed}), `attributes` (the `EventAttributes`"
        " union and the `ATTRIBUTES` tables), `history_event` (`HistoryEvent`) and"
        " `enum_sites` (`OPAQUE_ENUM_SITES`)."
    )
    doc = PACKAGE_DOC.replace("{modules}", textwrap.fill(modules, 88)).splitlines()
    return init_text(version, doc, "core.events", exports)


def sites_lines(sites: dict[str, list[tuple[str, str, str, str]]]) -> list[str]:
    lines = [
        "",
        "# Opaque message full name -> the fields leading to enum values inside it. Messages",
        "# holding no enum at any depth are absent.",
        "_ENUM_SITE_ROWS: Final[tuple[tuple[str, tuple[EnumSite, ...]], ...]] = (",
    ]
    for name, rows in sites.items():
        calls = [
            [f'"{json_name}"', enum or "None", f'"{message}"', f'"{container}"']
            for json_name, enum, message, container in rows
        ]
        flat = call_lines("", "EnumSite", calls[0], "") if len(calls) == 1 else []
        if len(flat) == 1 and len(f"        ({flat[0]},),") <= LINE:
            lines += ["    (", f'        "{name}",', f"        ({flat[0]},),", "    ),"]
            continue
        lines += ["    (", f'        "{name}",', "        ("]
        for args in calls:
            lines += call_lines("            ", "EnumSite", args)
        lines += ["        ),", "    ),"]
    lines += [
        ")",
        "OPAQUE_ENUM_SITES: Final[Mapping[str, tuple[EnumSite, ...]]] = MappingProxyType(",
        "    dict(_ENUM_SITE_ROWS)",
        ")",
    ]
    return lines
