"""The generated packages core/events/ and core/commands/ as one API each.

Until they were split by family of event or command type (house rule: modules under
~600 lines), `core.events` and `core.commands` were one module each. Every name below
was public in those single modules (recorded from them before the split, leaving out
what they imported from the standard library and core.enums, which mypy --strict never
let another module import from them); the packages must export exactly these, so
`from core.events import X` keeps working for each.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

import core.commands
import core.events

ROOT = Path(__file__).resolve().parents[2]

EVENT_NAMES = frozenset(
    {
        "ATTRIBUTES",
        "ATTRIBUTES_CLASS",
        "ATTRIBUTES_JSON_KEY",
        "ActivityPropertiesModifiedExternallyEventAttributes",
        "ActivityTaskCancelRequestedEventAttributes",
        "ActivityTaskCanceledEventAttributes",
        "ActivityTaskCompletedEventAttributes",
        "ActivityTaskFailedEventAttributes",
        "ActivityTaskScheduledEventAttributes",
        "ActivityTaskStartedEventAttributes",
        "ActivityTaskTimedOutEventAttributes",
        "ActivityType",
        "AttributesSpec",
        "ChildWorkflowExecutionCanceledEventAttributes",
        "ChildWorkflowExecutionCompletedEventAttributes",
        "ChildWorkflowExecutionFailedEventAttributes",
        "ChildWorkflowExecutionStartedEventAttributes",
        "ChildWorkflowExecutionTerminatedEventAttributes",
        "ChildWorkflowExecutionTimedOutEventAttributes",
        "EnumSite",
        "EventAttributes",
        "ExternalWorkflowExecutionCancelRequestedEventAttributes",
        "ExternalWorkflowExecutionSignaledEventAttributes",
        "FieldSpec",
        "HistoryEvent",
        "Kind",
        "MarkerRecordedEventAttributes",
        "OPAQUE_ENUM_SITES",
        "OpaqueAttributes",
        "ProtoMessage",
        "RequestCancelExternalWorkflowExecutionFailedEventAttributes",
        "RequestCancelExternalWorkflowExecutionInitiatedEventAttributes",
        "SignalExternalWorkflowExecutionFailedEventAttributes",
        "SignalExternalWorkflowExecutionInitiatedEventAttributes",
        "StartChildWorkflowExecutionFailedEventAttributes",
        "StartChildWorkflowExecutionInitiatedEventAttributes",
        "TaskQueue",
        "TimerCanceledEventAttributes",
        "TimerFiredEventAttributes",
        "TimerStartedEventAttributes",
        "UpsertWorkflowSearchAttributesEventAttributes",
        "WorkflowExecution",
        "WorkflowExecutionCancelRequestedEventAttributes",
        "WorkflowExecutionCanceledEventAttributes",
        "WorkflowExecutionCompletedEventAttributes",
        "WorkflowExecutionContinuedAsNewEventAttributes",
        "WorkflowExecutionFailedEventAttributes",
        "WorkflowExecutionSignaledEventAttributes",
        "WorkflowExecutionStartedEventAttributes",
        "WorkflowExecutionTerminatedEventAttributes",
        "WorkflowExecutionTimedOutEventAttributes",
        "WorkflowExecutionUpdateAcceptedEventAttributes",
        "WorkflowExecutionUpdateAdmittedEventAttributes",
        "WorkflowExecutionUpdateCompletedEventAttributes",
        "WorkflowExecutionUpdateRejectedEventAttributes",
        "WorkflowPropertiesModifiedEventAttributes",
        "WorkflowPropertiesModifiedExternallyEventAttributes",
        "WorkflowTaskCompletedEventAttributes",
        "WorkflowTaskFailedEventAttributes",
        "WorkflowTaskScheduledEventAttributes",
        "WorkflowTaskStartedEventAttributes",
        "WorkflowTaskTimedOutEventAttributes",
        "WorkflowType",
        "check_attributes",
    }
)

COMMAND_NAMES = frozenset(
    {
        "COMMAND_ATTRIBUTES",
        "COMMAND_ATTRIBUTES_CLASS",
        "COMMAND_ATTRIBUTES_JSON_KEY",
        "CancelTimerCommandAttributes",
        "CancelWorkflowExecutionCommandAttributes",
        "Command",
        "CommandAttributes",
        "CommandAttributesSpec",
        "CompleteWorkflowExecutionCommandAttributes",
        "ContinueAsNewWorkflowExecutionCommandAttributes",
        "FailWorkflowExecutionCommandAttributes",
        "ModifyWorkflowPropertiesCommandAttributes",
        "ProtocolMessageCommandAttributes",
        "RecordMarkerCommandAttributes",
        "RequestCancelActivityTaskCommandAttributes",
        "RequestCancelExternalWorkflowExecutionCommandAttributes",
        "ScheduleActivityTaskCommandAttributes",
        "SignalExternalWorkflowExecutionCommandAttributes",
        "StartChildWorkflowExecutionCommandAttributes",
        "StartTimerCommandAttributes",
        "UpsertWorkflowSearchAttributesCommandAttributes",
    }
)


def _public(module: ModuleType) -> set[str]:
    return {
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and not isinstance(v, ModuleType)
    }


@pytest.mark.parametrize(
    ("module", "names"), [(core.events, EVENT_NAMES), (core.commands, COMMAND_NAMES)]
)
def test_packages_export_exactly_the_names_of_the_single_modules(
    module: ModuleType, names: frozenset[str]
) -> None:
    assert _public(module) == names
    assert set(module.__all__) == names
    assert len(module.__all__) == len(names)


def test_every_generated_module_is_under_the_size_limit() -> None:
    for package in ("core/events", "core/commands"):
        for path in (ROOT / package).glob("*.py"):
            lines = path.read_text(encoding="utf-8").count("\n")
            assert lines <= 600, f"{path.relative_to(ROOT)} has {lines} lines"


def test_the_generator_refuses_an_oversized_module(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("temporalio.api.history.v1")
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    monkeypatch.delitem(sys.modules, "gen_events", raising=False)
    generator = importlib.import_module("gen_events")
    texts = {"small.py": "x\n" * 600, "big.py": "x\n" * 601}
    assert generator.too_long(texts) == ["big.py would have 601 lines (limit 600): split it"]
    assert generator.too_long({"a.py": "x\n" * 10}, limit=9) != []
