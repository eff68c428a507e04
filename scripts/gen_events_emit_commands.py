"""The commands emitter of scripts/gen_events.py: the package core/commands/.

The typed command attributes go to one module per family (`COMMAND_FAMILIES`, first
matching rule wins), `Command` and its tables to `command`, and `__init__` re-exports
every public name, so `from core.commands import X` works for all of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from gen_events_emit import (
    FAST_INIT,
    OpaqueRow,
    TypedRow,
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

PACKAGE = "core/commands"

# (module, what its command types do, regex on the CommandType member name).
COMMAND_FAMILIES: tuple[tuple[str, str, str], ...] = (
    (
        "schedule",
        "start or cancel activities, timers, child workflows and calls to other workflows",
        ".*(ACTIVITY|TIMER|CHILD_WORKFLOW|EXTERNAL_WORKFLOW)",
    ),
    (
        "workflow",
        "act on the workflow itself: close it, continue it as new, record a marker,"
        " upsert search attributes, modify its properties, carry a protocol message",
        "",
    ),
)

PACKAGE_DOC = '''\
"""Workflow task commands (RespondWorkflowTaskCompleted) as typed, immutable values.

Theory of operation. A worker answers a workflow task with a list of commands
(temporal/api/command/v1/message.proto `Command`): a type (core.enums.CommandType) and
one attributes message chosen by the `attributes` oneof. The history service turns
each command into the events listed in docs/temporal-semantics.md#commands.
Classes follow the rules of core.events (same FieldSpec metadata, same value
mapping). The Nexus commands keep their attributes in `OpaqueAttributes`.

Import every name from `core.commands`; its modules only keep the files small:
{families} hold the attributes classes, `command` holds `Command` and the
`COMMAND_ATTRIBUTES` tables.
"""'''

COMMAND_SPEC = '''

@dataclass(frozen=True, slots=True)
class CommandAttributesSpec:
    """Where the attributes of one command type live in a Command."""

    command_type: CommandType
    cls: type[CommandAttributes]
    json_key: str
    number: int
    proto_name: str


# Command type -> attributes (temporal/api/command/v1/message.proto, oneof `attributes`).
_COMMAND_ROWS: Final[tuple[CommandAttributesSpec, ...]] = ('''

COMMAND_MAPS = """\
)
COMMAND_ATTRIBUTES: Final[Mapping[CommandType, CommandAttributesSpec]] = MappingProxyType(
    {row.command_type: row for row in _COMMAND_ROWS}
)
COMMAND_ATTRIBUTES_CLASS: Final[Mapping[CommandType, type[CommandAttributes]]] = MappingProxyType(
    {row.command_type: row.cls for row in _COMMAND_ROWS}
)
COMMAND_ATTRIBUTES_JSON_KEY: Final[Mapping[CommandType, str]] = MappingProxyType(
    {row.command_type: row.json_key for row in _COMMAND_ROWS}
)"""

COMMAND_NAMES = (
    "COMMAND_ATTRIBUTES",
    "COMMAND_ATTRIBUTES_CLASS",
    "COMMAND_ATTRIBUTES_JSON_KEY",
    "Command",
    "CommandAttributes",
    "CommandAttributesSpec",
)


def emit_commands(
    version: str,
    typed: Sequence[TypedRow],
    opaque: Sequence[OpaqueRow],
    command_class: MessageClass,
) -> dict[str, str]:
    """The text of every module of core/commands/, keyed by its path."""
    groups = families(typed, COMMAND_FAMILIES)
    texts: dict[str, str] = {}
    exports: dict[str, list[str]] = {}
    for module, rows in groups.items():
        title = next(title for name, title, _ in COMMAND_FAMILIES if name == module)
        texts[module] = family_module(version, title, rows)
        exports[module] = [c.name for _, _, _, c in rows]
    texts["command"] = command_module(version, typed, groups, opaque, command_class)
    exports["command"] = list(COMMAND_NAMES)
    families_doc = " and ".join(f"`{module}`" for module in groups)
    doc = PACKAGE_DOC.replace("{families}", families_doc).splitlines()
    texts["__init__"] = init_text(version, doc, "core.commands", exports)
    return {f"{PACKAGE}/{module}.py": text for module, text in texts.items()}


def family_module(version: str, title: str, rows: Sequence[TypedRow]) -> str:
    classes = [c for _, _, _, c in rows]
    imports = [
        "from dataclasses import dataclass",
        "from typing import ClassVar",
        "",
        *enum_imports(classes, ["CommandType"]),
        *import_lines("core.events", class_names(classes)),
        "from core.fastinit import fast_init_all",
        "from core.opaque import Opaque",
    ]
    body: list[str] = []
    for member, _, _, cls in rows:
        extra = [f"    COMMAND_TYPE: ClassVar[CommandType] = CommandType.{member}"]
        body += class_lines(cls, "ProtoMessage", extra)
    doc = docstring(f"Attributes of the commands that {title} (generated; see core.commands).")
    return module_text(version, doc, imports, body + FAST_INIT)


def command_module(
    version: str,
    typed: Sequence[TypedRow],
    groups: dict[str, list[TypedRow]],
    opaque: Sequence[OpaqueRow],
    command_class: MessageClass,
) -> str:
    imports = [
        "from collections.abc import Mapping",
        "from dataclasses import dataclass",
        "from types import MappingProxyType",
        "from typing import ClassVar, Final, TypeAlias",
        "",
    ]
    for module in sorted(groups):
        imports += import_lines(
            f"core.commands.{module}", [c.name for _, _, _, c in groups[module]]
        )
    imports += enum_imports([command_class], ["CommandType"])
    imports += import_lines(
        "core.events",
        {"FieldSpec", "Kind", "OpaqueAttributes", "ProtoMessage", "check_attributes"}
        | {f.message for f in command_class.fields if f.message},
    )
    imports += ["from core.fastinit import fast_init_all", "from core.opaque import Opaque"]
    body = ["", "# The `attributes` of a Command: one class per command type."]
    body += union_lines(
        "CommandAttributes", [c.name for _, _, _, c in typed] + ["OpaqueAttributes"]
    )
    doc = ["`attributes` is the oneof member matching `command_type` (checked on construction)."]
    body += oneof_class_lines(command_class, ("command_type",), doc, "COMMAND_ATTRIBUTES")
    body += COMMAND_SPEC.splitlines()
    body += spec_rows_lines("CommandAttributesSpec", "CommandType", typed, opaque)
    body += COMMAND_MAPS.splitlines()
    body += typed_lines("CommandType", "COMMAND_ATTRIBUTES_CLASS")
    module_doc = docstring(
        "Command: one command of a workflow task (generated; see core.commands)."
    )
    return module_text(version, module_doc, imports, body + FAST_INIT)
