"""Tests of the generated event model (core/enums.py, core/events/, core/commands/),
core/opaque.py and core/event_sets.py.

The generated tables are checked against the protobuf descriptors temporalio ships,
so a drift between the model and Temporal's API fails here even if nobody reran the
generator; `scripts/gen_events.py --check` is run too.
"""

from __future__ import annotations

import ast
import dataclasses
import shutil
import subprocess
import sys
from enum import IntEnum
from pathlib import Path
from typing import Any

import pytest

from core.commands import (
    COMMAND_ATTRIBUTES,
    Command,
    CommandAttributes,
    StartTimerCommandAttributes,
)
from core.enums import ENUM_PREFIX, ENUM_PROTO_NAME, CommandType, EventType, TaskQueueKind
from core.event_sets import (
    BUFFERABLE_EVENT_TYPES,
    CLOSE_COMMAND_EVENT_TYPES,
    CLOSE_EVENT_TYPES,
    COMMAND_EVENT_TYPES,
    FLUSH_REORDERED_EVENT_TYPES,
)
from core.events import (
    ATTRIBUTES,
    ATTRIBUTES_CLASS,
    ATTRIBUTES_JSON_KEY,
    OPAQUE_ENUM_SITES,
    HistoryEvent,
    Kind,
    OpaqueAttributes,
    ProtoMessage,
    TaskQueue,
    TimerFiredEventAttributes,
    TimerStartedEventAttributes,
    WorkflowExecution,
    WorkflowExecutionStartedEventAttributes,
)
from core.opaque import JsonValue, Opaque

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core/events", "core/commands")  # generated whole, one module per file
GENERATED = (
    "core/enums.py",
    *sorted(p.relative_to(ROOT).as_posix() for d in PACKAGES for p in (ROOT / d).glob("*.py")),
)
OWN_CORE = (*GENERATED, "core/opaque.py", "core/event_sets.py")

pb_history = pytest.importorskip("temporalio.api.history.v1")
pb_command = pytest.importorskip("temporalio.api.command.v1")
pb_enums = pytest.importorskip("temporalio.api.enums.v1")


# ------------------------------------------------------------------ construction


def test_events_are_built_positionally_with_proto3_defaults() -> None:
    event = HistoryEvent(1, EventType.TIMER_FIRED, TimerFiredEventAttributes("1", 5))
    assert event.attributes == TimerFiredEventAttributes(timer_id="1", started_event_id=5)
    assert (event.event_time, event.version, event.task_id) == (None, 0, 0)
    assert event.worker_may_ignore is False and event.links is None and event.unknown is None
    started = WorkflowExecutionStartedEventAttributes()
    assert started.task_queue is None and started.attempt == 0 and started.workflow_id == ""
    assert started.initiator == 0 and started.completion_callbacks is None


def test_events_are_frozen_slotted_and_hashable() -> None:
    a = HistoryEvent(2, EventType.TIMER_FIRED, TimerFiredEventAttributes("1", 5), event_time=9)
    b = HistoryEvent(2, EventType.TIMER_FIRED, TimerFiredEventAttributes("1", 5), event_time=9)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert not hasattr(a, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.event_id = 3  # type: ignore[misc]
    tq = TaskQueue("q", TaskQueueKind.STICKY, "q-normal")
    assert hash(tq) == hash(TaskQueue(name="q", kind=TaskQueueKind.STICKY, normal_name="q-normal"))


def test_attributes_must_match_the_event_type() -> None:
    with pytest.raises(ValueError, match="TimerStartedEventAttributes are not the attributes"):
        HistoryEvent(1, EventType.TIMER_FIRED, TimerStartedEventAttributes())
    opaque = OpaqueAttributes("nexusOperationStartedEventAttributes", Opaque.of({}))
    with pytest.raises(ValueError, match="not the attributes key"):
        HistoryEvent(1, EventType.NEXUS_OPERATION_SCHEDULED, opaque)
    with pytest.raises(ValueError, match="OpaqueAttributes are not"):
        HistoryEvent(1, EventType.TIMER_FIRED, opaque)
    with pytest.raises(ValueError, match="has no attributes"):
        HistoryEvent(1, EventType.UNSPECIFIED, TimerFiredEventAttributes())
    ok = OpaqueAttributes("nexusOperationScheduledEventAttributes", Opaque.of({"a": 1}))
    assert HistoryEvent(1, EventType.NEXUS_OPERATION_SCHEDULED, ok).attributes is ok


def test_commands_are_built_and_checked_like_events() -> None:
    command = Command(CommandType.START_TIMER, StartTimerCommandAttributes("t", 10**9))
    assert command.attributes.start_to_fire_timeout == 10**9  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        Command(CommandType.CANCEL_TIMER, StartTimerCommandAttributes("t"))
    nexus: CommandAttributes = OpaqueAttributes(
        "scheduleNexusOperationCommandAttributes", Opaque.of({"endpoint": "e"})
    )
    assert Command(CommandType.SCHEDULE_NEXUS_OPERATION, nexus).attributes is nexus


# ------------------------------------------------------- tables vs the protobufs


def _oneof_fields(descriptor: object) -> list[object]:
    return [f for f in descriptor.fields if f.containing_oneof is not None]  # type: ignore[attr-defined]


def test_attributes_table_matches_the_history_event_oneof() -> None:
    descriptor = pb_history.HistoryEvent.DESCRIPTOR
    assert set(ATTRIBUTES) == set(EventType) - {EventType.UNSPECIFIED}
    assert len(ATTRIBUTES) == len(_oneof_fields(descriptor)) == 60
    for event_type, spec in ATTRIBUTES.items():
        field = descriptor.fields_by_name[event_type.name.lower() + "_event_attributes"]
        assert (spec.json_key, spec.number) == (field.json_name, field.number)
        assert spec.proto_name == field.message_type.full_name
        assert ATTRIBUTES_CLASS[event_type] is spec.cls
        assert ATTRIBUTES_JSON_KEY[event_type] == spec.json_key
        if event_type <= 47:
            assert issubclass(spec.cls, ProtoMessage)
            assert spec.proto_name == spec.cls.PROTO_NAME
            assert spec.cls.__name__ == field.message_type.name
        else:
            assert spec.cls is OpaqueAttributes


def test_command_table_matches_the_command_oneof() -> None:
    descriptor = pb_command.Command.DESCRIPTOR
    assert set(COMMAND_ATTRIBUTES) == set(CommandType) - {CommandType.UNSPECIFIED}
    for command_type, spec in COMMAND_ATTRIBUTES.items():
        field = descriptor.fields_by_name[command_type.name.lower() + "_command_attributes"]
        assert (spec.json_key, spec.number) == (field.json_name, field.number)
        nexus = "NEXUS" in command_type.name
        assert (spec.cls is OpaqueAttributes) == nexus


def _generated_classes() -> list[type[ProtoMessage]]:
    classes: list[type[ProtoMessage]] = [HistoryEvent, Command, WorkflowExecution, TaskQueue]
    for table in (ATTRIBUTES, COMMAND_ATTRIBUTES):
        for spec in table.values():
            if issubclass(spec.cls, ProtoMessage):
                classes.append(spec.cls)
    return classes


def _descriptor(cls: type[ProtoMessage]) -> object:
    from google.protobuf import descriptor_pool

    return descriptor_pool.Default().FindMessageTypeByName(cls.PROTO_NAME)


@pytest.mark.parametrize("cls", _generated_classes(), ids=lambda c: c.__name__)
def test_field_metadata_matches_the_descriptor(cls: type[ProtoMessage]) -> None:
    descriptor: Any = _descriptor(cls)
    envelope = cls in (HistoryEvent, Command)  # their `attributes` oneof is not in FIELDS
    fields = [f for f in descriptor.fields if not (envelope and f.containing_oneof)]
    assert [(s.name, s.json_name, s.number) for s in cls.FIELDS] == [
        (f.name, f.json_name, f.number) for f in fields
    ]
    dataclass_fields = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    for spec, field in zip(cls.FIELDS, fields, strict=True):
        assert spec.name in dataclass_fields
        assert spec.is_map == bool(field.message_type and field.message_type.GetOptions().map_entry)
        assert spec.repeated == (field.is_repeated and not spec.is_map)
        if field.enum_type is not None:
            assert spec.kind is Kind.ENUM and spec.enum is not None
            assert ENUM_PROTO_NAME[spec.enum] == field.enum_type.full_name
        elif field.message_type is not None and spec.kind is Kind.MESSAGE:
            assert spec.message is not None
            assert field.message_type.full_name == spec.message.PROTO_NAME
        elif field.message_type is not None:
            special = {"google.protobuf.Timestamp": Kind.TIMESTAMP}
            special["google.protobuf.Duration"] = Kind.DURATION
            kind = special.get(field.message_type.full_name, Kind.OPAQUE)
            assert spec.kind is (Kind.OPAQUE if field.is_repeated else kind)
    assert dataclass_fields[-1] == "unknown"


@pytest.mark.parametrize("cls", list(ENUM_PREFIX), ids=lambda c: c.__name__)
def test_enums_match_the_protobuf_enums(cls: type[IntEnum]) -> None:
    from google.protobuf import descriptor_pool

    descriptor = descriptor_pool.Default().FindEnumTypeByName(ENUM_PROTO_NAME[cls])
    prefix = ENUM_PREFIX[cls]
    assert [(prefix + m.name, m.value) for m in cls] == [
        (v.name, v.number) for v in descriptor.values
    ]
    assert cls(0).name == "UNSPECIFIED"


def test_event_type_members_have_no_prefix() -> None:
    assert EventType.WORKFLOW_EXECUTION_STARTED.value == 1
    assert EventType.WORKFLOW_EXECUTION_TIME_SKIPPING_TRANSITIONED.value == 60
    assert ENUM_PREFIX[EventType] == "EVENT_TYPE_"
    assert ENUM_PREFIX[TaskQueueKind] == "TASK_QUEUE_KIND_"
    assert len(EventType) == 61


def test_opaque_enum_sites_reach_failure_enums() -> None:
    failure = {s.json_name: s for s in OPAQUE_ENUM_SITES["temporal.api.failure.v1.Failure"]}
    assert failure["cause"].message == "temporal.api.failure.v1.Failure"
    timeout = OPAQUE_ENUM_SITES["temporal.api.failure.v1.TimeoutFailureInfo"]
    assert [(s.json_name, s.enum) for s in timeout] == [
        ("timeoutType", ENUM_BY_NAME["TimeoutType"])
    ]
    assert "temporal.api.common.v1.Payloads" not in OPAQUE_ENUM_SITES  # holds no enum


ENUM_BY_NAME = {cls.__name__: cls for cls in ENUM_PREFIX}


# --------------------------------------------------------------------- event sets


def test_event_sets_follow_the_server_rules() -> None:
    assert {int(e) for e in CLOSE_EVENT_TYPES} == {2, 3, 4, 21, 27, 28}
    assert {int(e) for e in CLOSE_COMMAND_EVENT_TYPES} == {2, 3, 21, 28}
    from_commands = {10, 15, 17, 19, 22, 25, 29, 37, 40, 46, 48, 54}
    assert {int(e) for e in COMMAND_EVENT_TYPES} == from_commands | {2, 3, 21, 28}
    never = {1, 2, 3, 4, 21, 27, 28, 5, 6, 7, 8, 9, 41, 43} | from_commands
    assert {int(e) for e in BUFFERABLE_EVENT_TYPES} == set(range(1, 61)) - never
    assert {11, 12, 18, 26, 31, 47, 58, 59} <= {int(e) for e in BUFFERABLE_EVENT_TYPES}
    assert FLUSH_REORDERED_EVENT_TYPES <= BUFFERABLE_EVENT_TYPES


# ------------------------------------------------------------------------- opaque


def test_opaque_is_exact_hashable_and_hands_out_copies() -> None:
    value: JsonValue = {"b": [1, 2.5, "é", None, True], "a": {}}
    opaque = Opaque.of(value)
    assert opaque.text == '{"b":[1,2.5,"é",null,true],"a":{}}'
    assert opaque == Opaque.of({"b": [1, 2.5, "é", None, True], "a": {}})
    assert opaque != Opaque.of({"a": {}, "b": [1, 2.5, "é", None, True]})  # order is kept
    assert hash(opaque) == hash(Opaque(opaque.text))
    copy = opaque.value()
    assert copy == value
    assert isinstance(copy, dict) and isinstance(copy["b"], list)
    copy["b"].append(3)
    assert opaque.value() == value
    with pytest.raises(ValueError):
        Opaque.of(float("nan"))
    with pytest.raises(TypeError):
        Opaque.of({1, 2})  # type: ignore[arg-type]


# ------------------------------------------------------------------ core purity


@pytest.mark.parametrize("relative", OWN_CORE)
def test_core_modules_import_only_the_standard_library(relative: str) -> None:
    source = (ROOT / relative).read_text(encoding="utf-8")
    allowed = {"__future__", "collections", "dataclasses", "enum", "json", "types", "typing"}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in allowed or top == "core", f"{relative} imports {name}"
    assert "type: ignore" not in source and "cast(" not in source
    assert not any(line.split("#")[0].count("Any") for line in source.splitlines())


# --------------------------------------------------------------------- generator


def _run_generator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_events.py"), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def test_generated_files_are_up_to_date() -> None:
    result = _run_generator("--check")
    assert result.returncode == 0, result.stderr


def test_check_detects_a_stale_file(tmp_path: Path) -> None:
    for relative in GENERATED:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, tmp_path / relative)
    assert _run_generator("--check", "--root", str(tmp_path)).returncode == 0
    timer = tmp_path / "core/events/timer.py"
    timer.write_text(timer.read_text(encoding="utf-8") + "# hand edit\n", encoding="utf-8")
    result = _run_generator("--check", "--root", str(tmp_path))
    assert result.returncode == 1
    assert "core/events/timer.py is stale" in result.stderr
    assert _run_generator("--root", str(tmp_path)).returncode == 0  # regenerates it
    assert timer.read_text(encoding="utf-8") == (ROOT / "core/events/timer.py").read_text("utf-8")


def test_check_reports_and_removes_a_module_it_did_not_write(tmp_path: Path) -> None:
    """A hand-written module inside a generated package, or the single-file module
    `core.events` an older generator wrote (which the package would silently shadow), is
    reported by --check and removed by a run."""
    for relative in GENERATED:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, tmp_path / relative)
    strays = [tmp_path / "core" / "events.py", tmp_path / "core" / "commands" / "extra.py"]
    for stray in strays:
        stray.write_text("X = 1\n", encoding="utf-8")
    result = _run_generator("--check", "--root", str(tmp_path))
    assert result.returncode == 1
    for stray in strays:
        assert f"{stray.relative_to(tmp_path).as_posix()} is not generated" in result.stderr
    assert _run_generator("--root", str(tmp_path)).returncode == 0
    assert not any(stray.exists() for stray in strays)
    assert _run_generator("--check", "--root", str(tmp_path)).returncode == 0


def test_generated_files_carry_the_header() -> None:
    import importlib.metadata

    version = importlib.metadata.version("temporalio")
    for relative in GENERATED:
        first = (ROOT / relative).read_text(encoding="utf-8").splitlines()[0]
        assert first == (
            f"# generated by scripts/gen_events.py from temporalio {version} — do not edit"
        )
