"""Build ids in the history comparison: now that `tmodel serve` declares
build-id-based versioning, the stamps must be there on both sides, and the same build
must be named in the same places (build ids are renamed consistently, since an SDK's
default build id is a checksum of the worker's installation)."""

from __future__ import annotations

import copy
import json
from typing import Any

from adapters.history_compare import compare
from tests.conftest import HISTORIES

RECORDED: list[dict[str, Any]] = json.loads(
    (HISTORIES / "build-ids.json").read_text(encoding="utf-8")
)["events"]


def _attrs(event: dict[str, Any]) -> dict[str, Any]:
    return next(v for k, v in event.items() if k.endswith("EventAttributes"))


def test_the_recorded_history_equals_itself() -> None:
    assert compare(RECORDED, copy.deepcopy(RECORDED)) is None


def test_a_missing_worker_version_is_a_difference() -> None:
    produced = copy.deepcopy(RECORDED)
    del _attrs(produced[2])["workerVersion"]  # WorkflowTaskStarted by build 1.0
    difference = compare(RECORDED, produced)
    assert difference is not None and difference.event_id == 3
    assert "workerVersion" in difference.field


def test_a_task_credited_to_the_wrong_build_is_a_difference() -> None:
    produced = copy.deepcopy(RECORDED)
    second = _attrs(produced[12])["workerVersion"]  # WorkflowTaskStarted by build 2.0
    assert second == {"buildId": "2.0"}
    _attrs(produced[12])["workerVersion"] = {"buildId": "1.0"}
    difference = compare(RECORDED, produced)
    assert difference is not None and difference.event_id == 13


def test_another_name_for_every_build_is_no_difference() -> None:
    produced = json.loads(json.dumps(RECORDED).replace('"1.0"', '"checksum-a"'))
    assert compare(RECORDED, produced) is None
