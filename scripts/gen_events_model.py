"""The model side of scripts/gen_events.py: protobuf descriptors -> field and class rows.

Maps each proto field to its Python annotation, default and codec kind (`Field`), each
message to a `MessageClass`, checks enum prefixes, and finds where enums sit inside the
messages the model keeps opaque (`enum_sites`). The mapping rules are in
scripts/gen_events.py's docstring.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from temporalio.api.common.v1 import message_pb2 as common_pb2
from temporalio.api.taskqueue.v1 import message_pb2 as taskqueue_pb2

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
