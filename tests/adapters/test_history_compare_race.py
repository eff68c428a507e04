"""`compare(..., ordered=False)`: a race (fan-out's parallel activities) may batch its
completions into another number of workflow tasks on any server, so the comparison
leaves the workflow-task events out; everything else still counts, as a multiset.
(`tmodel serve` once gave fan-out four workflow tasks where the recording has three.)
"""

from __future__ import annotations

import copy
import json
from typing import Any

from adapters.history_compare import compare
from tests.conftest import HISTORIES


def _fan_out() -> list[Any]:
    events: list[Any] = json.loads((HISTORIES / "fan-out.json").read_text("utf-8"))["events"]
    return events


def _with_an_extra_workflow_task(events: list[Any]) -> list[Any]:
    """The history with one more workflow task (a copy of its first) before the close."""
    first = [e for e in events if e["eventType"].startswith("EVENT_TYPE_WORKFLOW_TASK_")][:3]
    assert [e["eventType"][len("EVENT_TYPE_WORKFLOW_TASK_") :] for e in first] == [
        "SCHEDULED",
        "STARTED",
        "COMPLETED",
    ]
    return copy.deepcopy(events[:-1] + first + events[-1:])


def test_another_number_of_workflow_tasks_is_the_race() -> None:
    recorded = _fan_out()
    rebatched = _with_an_extra_workflow_task(recorded)
    assert compare(recorded, rebatched, ordered=False) is None
    assert compare(recorded, rebatched) is not None  # in order, it is a difference


def test_a_changed_result_or_a_lost_completion_is_still_a_difference() -> None:
    recorded = _fan_out()
    wrong = _with_an_extra_workflow_task(recorded)
    completed = next(e for e in wrong if "activityTaskCompletedEventAttributes" in e)
    completed["activityTaskCompletedEventAttributes"]["result"] = {"payloads": []}
    assert compare(recorded, wrong, ordered=False) is not None
    lost = [
        e
        for e in recorded
        if e
        is not next(x for x in recorded if x["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_COMPLETED")
    ]
    found = compare(recorded, lost, ordered=False)
    assert found is not None and "activityTaskCompletedEventAttributes" in found.expected
