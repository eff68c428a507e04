"""Generate core/enums.py, core/events.py and core/commands.py from Temporal's protobufs.

A dev tool, never imported by the packages. It reads the protobuf descriptors that the
official `temporalio` SDK ships (temporal/api/history/v1/message.proto,
temporal/api/command/v1/message.proto, temporal/api/enums/v1/*.proto, ...) and writes
pure-Python, standard-library-only modules, so `core` never imports protobuf.

    python scripts/gen_events.py            # (re)write the three files
    python scripts/gen_events.py --check    # exit 1 if a checked-in file is stale

Generation rules (the brief of the event model, see core/events.py's docstring):

- every attributes message of event types 1-47 and every non-Nexus command becomes a
  frozen slots dataclass named like the message, one field per proto field, all with
  proto3 defaults; the newer event types (48+) keep their attributes opaque;
- scalars map to int / float / bool / str (bytes stay base64 text), enums to IntEnums,
  Timestamp and Duration to nanoseconds (`int | None`), four small messages
  (WorkflowExecution, WorkflowType, ActivityType, TaskQueue) to their own dataclasses,
  every other message, repeated message and map to `Opaque`;
- each class carries its codec metadata (`FIELDS`), in proto declaration order, so the
  JSON codec in adapters/temporal_json/ is table-driven;
- `OPAQUE_ENUM_SITES` records where enums sit inside opaque messages, so the legacy
  short-enum JSON form can be converted without knowing the messages by hand.

The output is already in `ruff format` style; the generator does not call ruff.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import keyword
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from temporalio.api.command.v1 import message_pb2 as command_pb2
from temporalio.api.common.v1 import message_pb2 as common_pb2
from temporalio.api.enums.v1 import command_type_pb2, event_type_pb2
from temporalio.api.history.v1 import message_pb2 as history_pb2
from temporalio.api.taskqueue.v1 import message_pb2 as taskqueue_pb2

ROOT = Path(__file__).resolve().parent.parent
OUTPUTS = ("core/enums.py", "core/events.py", "core/commands.py")
LINE = 100

# Event types whose attributes get typed classes; later ones stay opaque (Nexus,
# options-updated, pause, time skipping: too new and too volatile to model field by field).
LAST_TYPED_EVENT = 47

# Nested messages modelled as dataclasses; every other message is Opaque.
TYPED_MESSAGES: tuple[Descriptor, ...] = (
    common_pb2.WorkflowExecution.DESCRIPTOR,
    common_pb2.WorkflowType.DESCRIPTOR,
    common_pb2.ActivityType.DESCRIPTOR,
    taskqueue_pb2.TaskQueue.DESCRIPTOR,
)

# Well-known types whose JSON form is special: Timestamp/Duration are typed, the rest
# are leaves inside opaque values (no enums to rewrite in them).
TIMESTAMP = "google.protobuf.Timestamp"
DURATION = "google.protobuf.Duration"

F = FieldDescriptor
SCALAR_KIND = {
    F.TYPE_INT64: "INT64",
    F.TYPE_SINT64: "INT64",
    F.TYPE_SFIXED64: "INT64",
    F.TYPE_UINT64: "UINT64",
    F.TYPE_FIXED64: "UINT64",
    F.TYPE_INT32: "INT32",
    F.TYPE_SINT32: "INT32",
    F.TYPE_SFIXED32: "INT32",
    F.TYPE_UINT32: "UINT32",
    F.TYPE_FIXED32: "UINT32",
    F.TYPE_DOUBLE: "DOUBLE",
    F.TYPE_FLOAT: "DOUBLE",
    F.TYPE_BOOL: "BOOL",
    F.TYPE_STRING: "STRING",
    F.TYPE_BYTES: "BYTES",
}
KIND_PYTYPE = {
    "INT64": "int",
    "UINT64": "int",
    "INT32": "int",
    "UINT32": "int",
    "DOUBLE": "float",
    "BOOL": "bool",
    "STRING": "str",
    "BYTES": "str",
}
KIND_DEFAULT = {"int": "0", "float": "0.0", "bool": "False", "str": '""'}


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Field:
    """One generated dataclass field, with everything the emitters need."""

    name: str
    json_name: str
    number: int
    kind: str
    annotation: str
    default: str
    repeated: bool = False
    enum: str = ""
    message: str = ""
    proto_type: str = ""
    is_map: bool = False
    optional: bool = False

    def spec(self) -> list[str]:
        """Arguments of the `FieldSpec(...)` call describing this field."""
        args = [repr(self.name), repr(self.json_name), str(self.number), f"Kind.{self.kind}"]
        args = [a.replace("'", '"') for a in args]
        if self.repeated:
            args.append("repeated=True")
        if self.enum:
            args.append(f"enum={self.enum}")
        if self.message:
            args.append(f"message={self.message}")
        if self.proto_type:
            args.append(f'proto_type="{self.proto_type}"')
        if self.is_map:
            args.append("is_map=True")
        if self.optional:
            args.append("optional=True")
        return args


def is_map(field: FieldDescriptor) -> bool:
    message = field.message_type
    return message is not None and bool(message.GetOptions().map_entry)


def is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def message_of(field: FieldDescriptor) -> Descriptor:
    message = field.message_type
    if message is None:
        raise SystemExit(f"{field.full_name} is not a message field")
    return message


def enum_of(field: FieldDescriptor) -> EnumDescriptor:
    enum = field.enum_type
    if enum is None:
        raise SystemExit(f"{field.full_name} is not an enum field")
    return enum


def value_field(field: FieldDescriptor) -> FieldDescriptor:
    """The field itself, or for a map field the map entry's `value` field."""
    return message_of(field).fields_by_name["value"] if is_map(field) else field


def enum_class_name(enum: EnumDescriptor) -> str:
    return str(enum.name)


def build_field(field: FieldDescriptor) -> Field:
    """Map one proto field to its Python type and codec kind (rules in the docstring)."""
    name, json_name, number = str(field.name), str(field.json_name), int(field.number)
    if keyword.iskeyword(name) or name == "unknown":
        raise SystemExit(f"field name {name!r} would clash in Python")
    repeated = is_repeated(field)
    if is_map(field):
        value = value_field(field)
        proto_type = value.message_type.full_name if value.message_type else ""
        return Field(
            name,
            json_name,
            number,
            "OPAQUE",
            "Opaque | None",
            "None",
            proto_type=proto_type,
            is_map=True,
        )
    if field.type == F.TYPE_MESSAGE:
        full = str(message_of(field).full_name)
        if repeated:
            return Field(
                name,
                json_name,
                number,
                "OPAQUE",
                "Opaque | None",
                "None",
                repeated=True,
                proto_type=full,
            )
        if full == TIMESTAMP:
            return Field(name, json_name, number, "TIMESTAMP", "int | None", "None")
        if full == DURATION:
            return Field(name, json_name, number, "DURATION", "int | None", "None")
        typed = {m.full_name: str(m.name) for m in TYPED_MESSAGES}
        if full in typed:
            cls = typed[full]
            return Field(
                name,
                json_name,
                number,
                "MESSAGE",
                f"{cls} | None",
                "None",
                message=cls,
                proto_type=full,
            )
        return Field(name, json_name, number, "OPAQUE", "Opaque | None", "None", proto_type=full)
    if field.type == F.TYPE_ENUM:
        enum = enum_class_name(enum_of(field))
        if repeated:
            return Field(
                name,
                json_name,
                number,
                "ENUM",
                f"tuple[{enum}, ...]",
                "()",
                repeated=True,
                enum=enum,
            )
        return Field(name, json_name, number, "ENUM", enum, f"{enum}.UNSPECIFIED", enum=enum)
    kind = SCALAR_KIND[field.type]
    pytype = KIND_PYTYPE[kind]
    if repeated:
        return Field(name, json_name, number, kind, f"tuple[{pytype}, ...]", "()", repeated=True)
    if field.has_presence:  # proto3 `optional`: unset is distinct from the zero value
        return Field(name, json_name, number, kind, f"{pytype} | None", "None", optional=True)
    return Field(name, json_name, number, kind, pytype, KIND_DEFAULT[pytype])


@dataclass(frozen=True)
class MessageClass:
    name: str
    proto_name: str
    proto_file: str
    fields: tuple[Field, ...]


def build_class(message: Descriptor) -> MessageClass:
    fields = tuple(build_field(f) for f in message.fields)
    return MessageClass(str(message.name), str(message.full_name), str(message.file.name), fields)


# ------------------------------------------------------------------------- enums


def screaming(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def enum_prefix(enum: EnumDescriptor) -> str:
    """The value prefix protoc-gen-go style enums share (`EVENT_TYPE_` for EventType)."""
    prefix = screaming(str(enum.name)) + "_"
    for value in enum.values:
        member = str(value.name)[len(prefix) :]
        if not str(value.name).startswith(prefix) or not member.isidentifier():
            raise SystemExit(f"{enum.full_name}: value {value.name} lacks prefix {prefix}")
        if keyword.iskeyword(member):
            raise SystemExit(f"{enum.full_name}: member {member} is a Python keyword")
    if enum.values_by_number.get(0) is None or enum.values[0].name != prefix + "UNSPECIFIED":
        raise SystemExit(f"{enum.full_name}: expected {prefix}UNSPECIFIED = 0")
    return prefix


def attributes_field(
    container: Descriptor, prefix: str, suffix: str, value: str
) -> FieldDescriptor:
    """The oneof member carrying the attributes of enum value `value` (by name)."""
    field_name = value[len(prefix) :].lower() + suffix
    field = container.fields_by_name.get(field_name)
    if field is None or field.containing_oneof is None:
        raise SystemExit(f"{container.full_name}: no oneof field {field_name} for {value}")
    return field


# --------------------------------------------------------------- opaque enum sites


def enum_sites(
    roots: Iterable[Descriptor], enums: dict[str, EnumDescriptor]
) -> dict[str, list[tuple[str, str, str, str]]]:
    """For every message reachable from `roots` that (transitively) holds an enum, the
    fields to follow: (json_name, enum class or "", message full name or "", container).

    Fills `enums` with every enum met. google.protobuf.* types are leaves.
    """
    descriptors: dict[str, Descriptor] = {}
    pending = list(roots)
    while pending:
        message = pending.pop()
        if message.full_name in descriptors or message.full_name.startswith("google.protobuf."):
            continue
        descriptors[message.full_name] = message
        for field in message.fields:
            target = value_field(field).message_type
            if target is not None:
                pending.append(target)
    holds: dict[str, bool] = {}

    def has_enum(name: str, seen: frozenset[str]) -> bool:
        if name in holds:
            return holds[name]
        if name not in descriptors or name in seen:
            return False
        result = False
        for field in descriptors[name].fields:
            value = value_field(field)
            if value.enum_type is not None:
                result = True
            elif value.message_type is not None:
                result = has_enum(value.message_type.full_name, seen | {name}) or result
        if not seen:
            holds[name] = result
        return result

    sites: dict[str, list[tuple[str, str, str, str]]] = {}
    for name in sorted(descriptors):
        if not has_enum(name, frozenset()):
            continue
        rows = []
        for field in descriptors[name].fields:
            mapped = is_map(field)
            value = value_field(field)
            container = "map" if mapped else "list" if is_repeated(field) else "single"
            if value.enum_type is not None:
                enums[value.enum_type.full_name] = value.enum_type
                rows.append((str(field.json_name), enum_class_name(value.enum_type), "", container))
            elif value.message_type is not None and has_enum(
                value.message_type.full_name, frozenset()
            ):
                rows.append(
                    (str(field.json_name), "", str(value.message_type.full_name), container)
                )
        sites[name] = rows
    return sites


# ----------------------------------------------------------------------- emitters


def header(version: str) -> list[str]:
    return [f"# generated by scripts/gen_events.py from temporalio {version} — do not edit"]


def call_lines(indent: str, func: str, args: Sequence[str], tail: str = ",") -> list[str]:
    """`func(args)` on one line if it fits, else exploded one argument per line."""
    flat = f"{indent}{func}({', '.join(args)}){tail}"
    if len(flat) <= LINE:
        return [flat]
    return [f"{indent}{func}(", *(f"{indent}    {a}," for a in args), f"{indent}){tail}"]


def assign_lines(indent: str, target: str, value: str) -> list[str]:
    """`target = value`, parenthesising the value onto its own line if too long."""
    flat = f"{indent}{target} = {value}"
    if len(flat) <= LINE:
        return [flat]
    return [f"{indent}{target} = (", f"{indent}    {value}", f"{indent})"]


def class_lines(cls: MessageClass, base: str, extra: Sequence[str] = ()) -> list[str]:
    lines = [
        "",
        "",
        "@dataclass(frozen=True, slots=True)",
        f"class {cls.name}({base}):",
        f'    """From {cls.proto_file}."""',
        "",
    ]
    lines += assign_lines("    ", "PROTO_NAME: ClassVar[str]", f'"{cls.proto_name}"')
    lines += extra
    one = call_lines("", "FieldSpec", cls.fields[0].spec(), "") if len(cls.fields) == 1 else []
    flat = f"    FIELDS: ClassVar[tuple[FieldSpec, ...]] = ({one[0]},)" if len(one) == 1 else ""
    if flat and len(flat) <= LINE:
        lines.append(flat)
    elif cls.fields:
        lines.append("    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (")
        for field in cls.fields:
            lines += call_lines("        ", "FieldSpec", field.spec())
        lines.append("    )")
    else:
        lines.append("    FIELDS: ClassVar[tuple[FieldSpec, ...]] = ()")
    lines.append("")
    for field in cls.fields:
        lines += assign_lines("    ", f"{field.name}: {field.annotation}", field.default)
    lines.append("    unknown: Opaque | None = None")
    return lines


def union_lines(alias: str, names: Sequence[str]) -> list[str]:
    return [f"{alias}: TypeAlias = (", f"    {names[0]}", *(f"    | {n}" for n in names[1:]), ")"]


def emit_enums(version: str, enums: Sequence[EnumDescriptor]) -> str:
    lines = [
        *header(version),
        '"""Temporal\'s protobuf enums, as IntEnums with the proto numbers.',
        "",
        "Member names drop the value prefix protoc uses (`EVENT_TYPE_`, `TASK_QUEUE_KIND_`,",
        "...); `ENUM_PREFIX[cls]` gives it back, so",
        "`ENUM_PREFIX[EventType] + EventType.TIMER_FIRED.name` is the name protojson writes.",
        "Zero is always `UNSPECIFIED`, which proto3 never writes.",
        "Source: temporal/api/enums/v1/*.proto (file named on each class).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import Mapping",
        "from enum import IntEnum",
        "from types import MappingProxyType",
        "from typing import Final",
    ]
    for enum in enums:
        prefix = enum_prefix(enum)
        lines += ["", "", f"class {enum.name}(IntEnum):"]
        lines.append(f'    """From {enum.file.name}."""')
        lines.append("")
        for value in enum.values:
            lines.append(f"    {str(value.name)[len(prefix) :]} = {value.number}")
    lines += ["", ""]
    lines.append("# Each enum's protobuf full name and protojson value prefix.")
    lines.append("_ENUM_ROWS: Final[tuple[tuple[type[IntEnum], str, str], ...]] = (")
    for enum in enums:
        args = [str(enum.name), f'"{enum.full_name}"', f'"{enum_prefix(enum)}"']
        lines += call_lines("    ", "", args)
    lines += [
        ")",
        "ENUM_PREFIX: Final[Mapping[type[IntEnum], str]] = MappingProxyType(",
        "    {cls: prefix for cls, _, prefix in _ENUM_ROWS}",
        ")",
        "ENUM_PROTO_NAME: Final[Mapping[type[IntEnum], str]] = MappingProxyType(",
        "    {cls: name for cls, name, _ in _ENUM_ROWS}",
        ")",
    ]
    return "\n".join(lines) + "\n"


EVENTS_DOC = '''\
"""Temporal history events as typed, immutable values.

Theory of operation. A history (temporal/api/history/v1/message.proto `History`) is a
sequence of `HistoryEvent`s. Each event has an id, a type (core.enums.EventType) and
exactly one attributes message chosen by the `attributes` oneof. This module mirrors
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
"""'''

EVENTS_PREAMBLE = '''\
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, IntEnum
from types import MappingProxyType
from typing import ClassVar, Final, Literal, TypeAlias

from core.enums import (
{enum_imports}
)
from core.fastinit import fast_init_all
from core.opaque import Opaque


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


FAST_INIT = [
    "",
    "",
    "fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)",
]


def emit_events(
    version: str,
    enums: Sequence[EnumDescriptor],
    nested: Sequence[MessageClass],
    typed: Sequence[tuple[str, str, int, MessageClass]],
    opaque: Sequence[tuple[str, str, int, str]],
    event_class: MessageClass,
    sites: dict[str, list[tuple[str, str, str, str]]],
) -> str:
    classes = [*nested, event_class, *(c for _, _, _, c in typed)]
    used = {f.enum for c in classes for f in c.fields if f.enum}
    used |= {enum for rows in sites.values() for _, enum, _, _ in rows if enum}
    enum_names = sorted(used | {"EventType"})
    lines = header(version) + EVENTS_DOC.splitlines() + [""]
    preamble = EVENTS_PREAMBLE.replace("{enum_imports}", "\n".join(f"    {n}," for n in enum_names))
    lines += preamble.splitlines()
    lines += ["", "", "# " + "-" * 30 + " nested messages " + "-" * 30]
    for cls in nested:
        lines += class_lines(cls, "ProtoMessage")
    lines += ["", "", "# " + "-" * 26 + " attributes of event types " + "-" * 24]
    for member, _, _, cls in typed:
        lines += class_lines(
            cls, "ProtoMessage", [f"    EVENT_TYPE: ClassVar[EventType] = EventType.{member}"]
        )
    union = [cls.name for _, _, _, cls in typed] + ["OpaqueAttributes"]
    lines += ["", ""]
    lines.append("# The `attributes` of a HistoryEvent: one class per event type.")
    lines += union_lines("EventAttributes", union)
    lines += event_lines(event_class)
    lines += attributes_table_lines(typed, opaque)
    lines += sites_lines(sites)
    lines += FAST_INIT
    return "\n".join(lines) + "\n"


def event_lines(event: MessageClass) -> list[str]:
    head, tail = event.fields[:3], event.fields[3:]
    assert [f.name for f in head] == ["event_id", "event_time", "event_type"], head
    ordered = [head[0], head[2]]
    lines = [
        "",
        "",
        "@dataclass(frozen=True, slots=True)",
        "class HistoryEvent(ProtoMessage):",
        f'    """{event.proto_name} ({event.proto_file}).',
        "",
        "    `attributes` is the oneof member matching `event_type` (checked on construction);",
        "    `FIELDS` lists the other fields, in declaration order.",
        '    """',
        "",
        f'    PROTO_NAME: ClassVar[str] = "{event.proto_name}"',
        "    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (",
    ]
    for field in event.fields:
        lines += call_lines("        ", "FieldSpec", field.spec())
    lines += ["    )", ""]
    for field in ordered:
        lines.append(f"    {field.name}: {field.annotation}")
    lines.append("    attributes: EventAttributes")
    lines.append(f"    {head[1].name}: {head[1].annotation} = {head[1].default}")
    for field in tail:
        lines += assign_lines("    ", f"{field.name}: {field.annotation}", field.default)
    lines.append("    unknown: Opaque | None = None")
    lines += [
        "",
        "    def __post_init__(self) -> None:",
        "        spec = ATTRIBUTES.get(self.event_type)",
        "        if spec is None:",
        '            raise ValueError(f"{self.event_type!r} has no attributes")',
        "        check_attributes(spec.cls, spec.json_key, self.attributes, self.event_type)",
    ]
    return lines


def attributes_table_lines(
    typed: Sequence[tuple[str, str, int, MessageClass]], opaque: Sequence[tuple[str, str, int, str]]
) -> list[str]:
    lines = [
        "",
        "",
        "@dataclass(frozen=True, slots=True)",
        "class AttributesSpec:",
        '    """Where the attributes of one event type live in a HistoryEvent."""',
        "",
        "    event_type: EventType",
        "    cls: type[EventAttributes]",
        "    json_key: str  # the oneof member's JSON key",
        "    number: int  # the oneof member's field number (protobuf-python key order)",
        "    proto_name: str  # full name of the attributes message",
        "",
        "",
        "# Event type -> attributes (temporal/api/history/v1/message.proto, oneof `attributes`).",
        "_ATTRIBUTES_ROWS: Final[tuple[AttributesSpec, ...]] = (",
    ]
    rows = [(m, k, n, c.name, c.proto_name) for m, k, n, c in typed]
    rows += [(m, k, n, "OpaqueAttributes", p) for m, k, n, p in opaque]
    for member, key, number, cls, proto in rows:
        args = [f"EventType.{member}", cls, f'"{key}"', str(number), f'"{proto}"']
        lines += [
            "    AttributesSpec(",
            *(f"        {a}," for a in args),
            "    ),",
        ]
    lines += [
        ")",
        "ATTRIBUTES: Final[Mapping[EventType, AttributesSpec]] = MappingProxyType(",
        "    {row.event_type: row for row in _ATTRIBUTES_ROWS}",
        ")",
        "ATTRIBUTES_CLASS: Final[Mapping[EventType, type[EventAttributes]]] = MappingProxyType(",
        "    {row.event_type: row.cls for row in _ATTRIBUTES_ROWS}",
        ")",
        "ATTRIBUTES_JSON_KEY: Final[Mapping[EventType, str]] = MappingProxyType(",
        "    {row.event_type: row.json_key for row in _ATTRIBUTES_ROWS}",
        ")",
    ]
    return lines


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


COMMANDS_DOC = '''\
"""Workflow task commands (RespondWorkflowTaskCompleted) as typed, immutable values.

Theory of operation. A worker answers a workflow task with a list of commands
(temporal/api/command/v1/message.proto `Command`): a type (core.enums.CommandType) and
one attributes message chosen by the `attributes` oneof. The history service turns
each command into the events listed in docs/temporal-semantics.md#commands.
Classes follow the rules of core/events.py (same FieldSpec metadata, same value
mapping). The Nexus commands keep their attributes in `OpaqueAttributes`.
"""'''


def emit_commands(
    version: str,
    enums: Sequence[EnumDescriptor],
    typed: Sequence[tuple[str, str, int, MessageClass]],
    opaque: Sequence[tuple[str, str, int, str]],
    command_class: MessageClass,
) -> str:
    used = sorted(
        {f.enum for _, _, _, c in typed for f in c.fields if f.enum}
        | {f.enum for f in command_class.fields if f.enum}
    )
    nested = sorted({f.message for _, _, _, c in typed for f in c.fields if f.message})
    lines = header(version) + COMMANDS_DOC.splitlines() + [""]
    lines += [
        "from __future__ import annotations",
        "",
        "from collections.abc import Mapping",
        "from dataclasses import dataclass",
        "from types import MappingProxyType",
        "from typing import ClassVar, Final, TypeAlias",
        "",
        "from core.enums import (",
        *(f"    {n}," for n in used),
        ")",
        "from core.events import (",
        *(
            f"    {n},"
            for n in sorted(
                [
                    *nested,
                    "FieldSpec",
                    "Kind",
                    "OpaqueAttributes",
                    "ProtoMessage",
                    "check_attributes",
                ]
            )
        ),
        ")",
        "from core.fastinit import fast_init_all",
        "from core.opaque import Opaque",
    ]
    for member, _, _, cls in typed:
        extra = [f"    COMMAND_TYPE: ClassVar[CommandType] = CommandType.{member}"]
        lines += class_lines(cls, "ProtoMessage", extra)
    lines += ["", "", "# The `attributes` of a Command: one class per command type."]
    lines += union_lines(
        "CommandAttributes", [c.name for _, _, _, c in typed] + ["OpaqueAttributes"]
    )
    lines += [
        "",
        "",
        "@dataclass(frozen=True, slots=True)",
        "class Command(ProtoMessage):",
        f'    """{command_class.proto_name} ({command_class.proto_file}).',
        "",
        "    `attributes` is the oneof member matching `command_type` (checked on construction).",
        '    """',
        "",
        f'    PROTO_NAME: ClassVar[str] = "{command_class.proto_name}"',
        "    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (",
    ]
    for field in command_class.fields:
        lines += call_lines("        ", "FieldSpec", field.spec())
    lines += ["    )", ""]
    head, tail = command_class.fields[0], command_class.fields[1:]
    lines.append(f"    {head.name}: {head.annotation}")
    lines.append("    attributes: CommandAttributes")
    for field in tail:
        lines += assign_lines("    ", f"{field.name}: {field.annotation}", field.default)
    lines += [
        "    unknown: Opaque | None = None",
        "",
        "    def __post_init__(self) -> None:",
        "        spec = COMMAND_ATTRIBUTES.get(self.command_type)",
        "        if spec is None:",
        '            raise ValueError(f"{self.command_type!r} has no attributes")',
        "        check_attributes(spec.cls, spec.json_key, self.attributes, self.command_type)",
        "",
        "",
        "@dataclass(frozen=True, slots=True)",
        "class CommandAttributesSpec:",
        '    """Where the attributes of one command type live in a Command."""',
        "",
        "    command_type: CommandType",
        "    cls: type[CommandAttributes]",
        "    json_key: str",
        "    number: int",
        "    proto_name: str",
        "",
        "",
        "# Command type -> attributes (temporal/api/command/v1/message.proto, oneof `attributes`).",
        "_COMMAND_ROWS: Final[tuple[CommandAttributesSpec, ...]] = (",
    ]
    rows = [(m, k, n, c.name, c.proto_name) for m, k, n, c in typed]
    rows += [(m, k, n, "OpaqueAttributes", p) for m, k, n, p in opaque]
    for member, key, number, cls_name, proto in rows:
        args = [f"CommandType.{member}", cls_name, f'"{key}"', str(number), f'"{proto}"']
        lines += ["    CommandAttributesSpec(", *(f"        {a}," for a in args), "    ),"]
    lines += [
        ")",
        "COMMAND_ATTRIBUTES: Final[Mapping[CommandType, CommandAttributesSpec]]"
        " = MappingProxyType(",
        "    {row.command_type: row for row in _COMMAND_ROWS}",
        ")",
        "COMMAND_ATTRIBUTES_CLASS: Final[Mapping[CommandType, type[CommandAttributes]]]"
        " = MappingProxyType(",
        "    {row.command_type: row.cls for row in _COMMAND_ROWS}",
        ")",
        "COMMAND_ATTRIBUTES_JSON_KEY: Final[Mapping[CommandType, str]] = MappingProxyType(",
        "    {row.command_type: row.json_key for row in _COMMAND_ROWS}",
        ")",
    ]
    lines += FAST_INIT
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def generate() -> dict[str, str]:
    """The text of every output file, keyed by its path relative to the repo root."""
    version = importlib.metadata.version("temporalio")
    event_desc: Descriptor = history_pb2.HistoryEvent.DESCRIPTOR
    command_desc: Descriptor = command_pb2.Command.DESCRIPTOR
    event_enum: EnumDescriptor = event_type_pb2.EventType.DESCRIPTOR
    command_enum: EnumDescriptor = command_type_pb2.CommandType.DESCRIPTOR

    typed_events: list[tuple[str, str, int, MessageClass]] = []
    opaque_events: list[tuple[str, str, int, str]] = []
    event_messages: list[Descriptor] = []
    for value in event_enum.values[1:]:
        field = attributes_field(event_desc, "EVENT_TYPE_", "_event_attributes", value.name)
        member, message = value.name[len("EVENT_TYPE_") :], message_of(field)
        if value.number <= LAST_TYPED_EVENT:
            typed_events.append((member, field.json_name, field.number, build_class(message)))
            event_messages.append(message)
        else:
            opaque_events.append((member, field.json_name, field.number, message.full_name))

    typed_commands: list[tuple[str, str, int, MessageClass]] = []
    opaque_commands: list[tuple[str, str, int, str]] = []
    command_messages: list[Descriptor] = []
    for value in command_enum.values[1:]:
        field = attributes_field(command_desc, "COMMAND_TYPE_", "_command_attributes", value.name)
        member, message = value.name[len("COMMAND_TYPE_") :], message_of(field)
        if "NEXUS" in member:
            opaque_commands.append((member, field.json_name, field.number, message.full_name))
        else:
            typed_commands.append((member, field.json_name, field.number, build_class(message)))
            command_messages.append(message)

    nested = [build_class(m) for m in TYPED_MESSAGES]
    event_class = MessageClass(
        "HistoryEvent",
        event_desc.full_name,
        event_desc.file.name,
        tuple(build_field(f) for f in event_desc.fields if f.containing_oneof is None),
    )
    command_class = MessageClass(
        "Command",
        command_desc.full_name,
        command_desc.file.name,
        tuple(build_field(f) for f in command_desc.fields if f.containing_oneof is None),
    )
    classes = [*nested, event_class, command_class]
    classes += [c for _, _, _, c in typed_events] + [c for _, _, _, c in typed_commands]
    class_names = [c.name for c in classes]
    if len(set(class_names)) != len(class_names):
        raise SystemExit("generated class names collide")

    # Enums: those of typed fields, then those met inside opaque values.
    enums: dict[str, EnumDescriptor] = {
        event_enum.full_name: event_enum,
        command_enum.full_name: command_enum,
    }
    opaque_roots: list[Descriptor] = []
    for message in [*TYPED_MESSAGES, event_desc, command_desc, *event_messages, *command_messages]:
        for field in message.fields:
            if field.containing_oneof is not None and message in (event_desc, command_desc):
                continue  # the attributes oneof, handled above
            if field.enum_type is not None:
                enums[field.enum_type.full_name] = field.enum_type
            target = value_field(field).message_type
            if target is not None and target not in TYPED_MESSAGES:
                opaque_roots.append(target)
    for opaque_rows, container in ((opaque_events, event_desc), (opaque_commands, command_desc)):
        names = {full for _, _, _, full in opaque_rows}
        opaque_roots += [
            message_of(f)
            for f in container.fields
            if f.message_type and f.message_type.full_name in names
        ]
    sites = enum_sites(opaque_roots, enums)

    first = [enums.pop(event_enum.full_name), enums.pop(command_enum.full_name)]
    ordered_enums = first + sorted(enums.values(), key=lambda e: str(e.name))
    enum_names = [e.name for e in ordered_enums]
    if len(set(enum_names)) != len(enum_names):
        raise SystemExit("enum class names collide")

    return {
        "core/enums.py": emit_enums(version, ordered_enums),
        "core/events.py": emit_events(
            version, ordered_enums, nested, typed_events, opaque_events, event_class, sites
        ),
        "core/commands.py": emit_commands(
            version, ordered_enums, typed_commands, opaque_commands, command_class
        ),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    args = parser.parse_args(argv)
    root: Path = args.root
    stale = []
    for relative, text in generate().items():
        path = root / relative
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(relative)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    if args.check:
        for relative in stale:
            print(f"{relative} is stale: run python scripts/gen_events.py", file=sys.stderr)
        return 1 if stale else 0
    for relative in stale:
        print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
