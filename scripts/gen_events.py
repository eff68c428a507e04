"""Generate core/enums.py and the packages core/events/, core/commands/ from protobufs.

A dev tool, never imported by the packages. It reads the protobuf descriptors that the
official `temporalio` SDK ships (temporal/api/history/v1/message.proto,
temporal/api/command/v1/message.proto, temporal/api/enums/v1/*.proto, ...) and writes
pure-Python, standard-library-only modules, so `core` never imports protobuf.

    python scripts/gen_events.py            # (re)write the generated files
    python scripts/gen_events.py --check    # exit 1 if a checked-in file is stale

The generator is split by job: gen_events_model.py maps descriptors to fields and
classes, gen_events_emit.py holds the shared line layout and emits core/enums.py,
gen_events_emit_events.py and gen_events_emit_commands.py emit the two packages, one
module per family of event or command types; this file walks the descriptors and
writes or checks the files. It owns the two packages whole: a module in them that it
did not write, or a single-file module `core.events` or `core.commands` they replaced, is
reported by --check and removed by a run; a module longer than MAX_LINES is refused.

Generation rules (the brief of the event model, see the docstring of core/events/):

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

The output is already in `ruff format` style (and ruff's import order); the generator
does not call ruff.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from gen_events_emit import OpaqueRow, TypedRow, emit_enums
from gen_events_emit_commands import emit_commands
from gen_events_emit_events import emit_events
from gen_events_model import (
    LAST_TYPED_EVENT,
    TYPED_MESSAGES,
    MessageClass,
    attributes_field,
    build_class,
    build_field,
    enum_sites,
    message_of,
    value_field,
)
from google.protobuf.descriptor import Descriptor, EnumDescriptor
from temporalio.api.command.v1 import message_pb2 as command_pb2
from temporalio.api.enums.v1 import command_type_pb2, event_type_pb2
from temporalio.api.history.v1 import message_pb2 as history_pb2

ROOT = Path(__file__).resolve().parent.parent

# The packages the generator writes whole: a module in them it did not write is stale.
PACKAGES = ("core/events", "core/commands")
# Files an older generator wrote; the packages replace them (a module beside a package of
# the same name is silently shadowed, so one left behind is reported).
RETIRED = tuple(f"{package}.py" for package in PACKAGES)
# The house rule for module size: no generated module may grow past it.
MAX_LINES = 600


def generate() -> dict[str, str]:
    """The text of every output file, keyed by its path relative to the repo root."""
    version = importlib.metadata.version("temporalio")
    event_desc: Descriptor = history_pb2.HistoryEvent.DESCRIPTOR
    command_desc: Descriptor = command_pb2.Command.DESCRIPTOR
    event_enum: EnumDescriptor = event_type_pb2.EventType.DESCRIPTOR
    command_enum: EnumDescriptor = command_type_pb2.CommandType.DESCRIPTOR

    typed_events: list[TypedRow] = []
    opaque_events: list[OpaqueRow] = []
    event_messages: list[Descriptor] = []
    for value in event_enum.values[1:]:
        field = attributes_field(event_desc, "EVENT_TYPE_", "_event_attributes", value.name)
        member, message = value.name[len("EVENT_TYPE_") :], message_of(field)
        if value.number <= LAST_TYPED_EVENT:
            typed_events.append((member, field.json_name, field.number, build_class(message)))
            event_messages.append(message)
        else:
            opaque_events.append((member, field.json_name, field.number, message.full_name))

    typed_commands: list[TypedRow] = []
    opaque_commands: list[OpaqueRow] = []
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
        **emit_events(version, nested, typed_events, opaque_events, event_class, sites),
        **emit_commands(version, typed_commands, opaque_commands, command_class),
    }


def too_long(texts: Mapping[str, str], limit: int = MAX_LINES) -> list[str]:
    """The outputs longer than `limit` lines, as messages."""
    return [
        f"{path} would have {text.count(chr(10))} lines (limit {limit}): split it"
        for path, text in texts.items()
        if text.count("\n") > limit
    ]


def stray_files(root: Path, texts: Mapping[str, str]) -> list[str]:
    """Python files in the generated packages that the generator did not write, and
    retired single-file modules still present, relative to `root`."""
    found = [r for r in RETIRED if (root / r).exists()]
    for package in PACKAGES:
        for path in sorted((root / package).glob("*.py")):
            relative = path.relative_to(root).as_posix()
            if relative not in texts:
                found.append(relative)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    args = parser.parse_args(argv)
    root: Path = args.root
    texts = generate()
    oversized = too_long(texts)
    for message in oversized:
        print(message, file=sys.stderr)
    if oversized:
        return 1
    stale = [r for r, text in texts.items() if _read(root / r) != text]
    strays = stray_files(root, texts)
    if args.check:
        for relative in stale:
            print(f"{relative} is stale: run python scripts/gen_events.py", file=sys.stderr)
        for relative in strays:
            print(f"{relative} is not generated: run python scripts/gen_events.py", file=sys.stderr)
        return 1 if stale or strays else 0
    for relative in stale:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(texts[relative], encoding="utf-8")
        print(f"wrote {relative}")
    for relative in strays:
        (root / relative).unlink()
        print(f"removed {relative}")
    return 0


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


if __name__ == "__main__":
    sys.exit(main())
