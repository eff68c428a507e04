"""The model's own starts of the runs that follow a recorded one, against the recorded
successors' WorkflowExecutionStarted events.

`tmodel conform` reads each run's start from its own Started event, so the starts the
model itself makes (the run continuing a chain after a continue-as-new, a retry or a cron
run; a child, from its parent's transfer task) are checked here instead: for every
recorded history whose predecessor (or parent) is recorded in the same folder, the
start the model made while reproducing the predecessor must write the same Started
event, up to what the predecessor's history cannot determine (run ids, times, the
identity, the backoff the recorder's timing gave, the parent's and root's run).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters.conform.derive import Driver
from adapters.temporal_json import decode_history, encode_history
from core.events import HistoryEvent
from core.statemachine.history.service import handle as service
from tests.conftest import FIXTURES

# Fields of WorkflowExecutionStarted (and of its HistoryEvent) the predecessor's history
# does not determine: ids and times the server made, the successor's own identity, the
# first task's backoff (a continue-as-new's depends on how long the run lasted, which the
# recorder's timing decides), and the run ids (the parent's and the root's included).
UNDETERMINED = frozenset(
    {
        "eventId", "eventTime", "taskId", "version", "identity", "firstWorkflowTaskBackoff",
        "originalExecutionRunId", "continuedExecutionRunId", "firstExecutionRunId",
        "workflowExecutionExpirationTime", "prevAutoResetPoints", "runId",
    }
)  # fmt: skip
# Fields of some successors' Started events that depend on what no event of the
# predecessor says: a continue-as-new's initial versioning behavior and retry policy
# (WorkflowExecutionContinuedAsNew records neither), and what matching decided: the
# target version a pinned run was told of (the deriver names a placeholder, conform's
# `announced_target`) and the revision of an auto-upgrade run's move.
_INHERITED = ("inheritedPinnedVersion", "inheritedAutoUpgradeInfo", "declinedTargetVersionUpgrade")
UNKNOWABLE = {
    "v6-hop.run2.json": _INHERITED,  # continued with initial behavior AUTO_UPGRADE
    "v6-ramp.run2.json": _INHERITED,  # continued with initial behavior USE_RAMPING_VERSION
    "v7-stay.run2.json": ("declinedTargetVersionUpgrade",),  # b2, at revision 2
    # the retry policy the Python SDK sends with a continue-as-new (the event has none)
    "prio-can.run2.json": ("retryPolicy",),
    # the revision of the run's move to b2 (matching's, in no event)
    "v10-up.run2.json": ("inheritedAutoUpgradeInfo",),
}


def _events(path: Path) -> list[HistoryEvent]:
    return list(decode_history(path.read_text(encoding="utf-8")).events)


def _started(events: list[HistoryEvent]) -> dict[str, Any]:
    encoded: Any = encode_history(events[:1])
    event: dict[str, Any] = encoded["events"][0]
    return event


def _kept(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _kept(v) for k, v in value.items() if k not in UNDETERMINED}
    return value


def _pairs() -> list[tuple[Path, Path]]:
    """(successor, predecessor or parent) pairs recorded in the same folder."""
    pairs: list[tuple[Path, Path]] = []
    for folder in ("histories", "found-histories", "unseen-histories"):
        runs: dict[str, Path] = {}
        starts: dict[Path, dict[str, Any]] = {}
        for path in sorted((FIXTURES / folder).glob("*.json")):
            if path.name == "manifest.json":
                continue
            text = json.loads(path.read_text(encoding="utf-8"))
            events = text.get("events") if isinstance(text, dict) else None
            if not events or "workflowExecutionStartedEventAttributes" not in events[0]:
                continue
            started = events[0]["workflowExecutionStartedEventAttributes"]
            runs.setdefault(started.get("originalExecutionRunId", ""), path)
            starts[path] = started
        for path, started in starts.items():
            before = started.get("continuedExecutionRunId") or started.get(
                "parentWorkflowExecution", {}
            ).get("runId")
            if before in runs and runs[before] != path:
                pairs.append((path, runs[before]))
    return pairs


PAIRS = _pairs()


def test_there_are_successors_to_check() -> None:
    kinds = {"continued" if "continuedExecutionRunId" in str(_started(_events(p))) else "child"
             for p, _ in PAIRS}  # fmt: skip
    assert len(PAIRS) >= 40 and kinds == {"continued", "child"}


@pytest.mark.parametrize(("successor", "before"), PAIRS, ids=[p.name for p, _ in PAIRS])
def test_the_model_starts_a_recorded_successor_as_the_server_did(
    successor: Path, before: Path
) -> None:
    real = _events(successor)
    started = real[0].attributes
    driver = Driver(_events(before), None)
    driver.run()
    initiated = getattr(started, "parent_initiated_event_id", 0) or 0
    if getattr(started, "continued_execution_run_id", ""):
        initiated = 0
    made = [request for at, request in driver.successors if at == initiated]
    assert made, f"the model made no start of {successor.name} from {before.name}"
    mine, theirs = service.start(made[-1], real[0].event_time or 0).events, real
    expected, recorded = _kept(_started(list(mine))), _kept(_started(theirs))
    for key in UNKNOWABLE.get(successor.name, ()):
        for event in (expected, recorded):
            event["workflowExecutionStartedEventAttributes"].pop(key, None)
    assert expected == recorded
