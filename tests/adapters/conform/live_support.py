"""Shared by the live-mode tests: running `tmodel conform --target` and reading its
JSON report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from adapters.cli import main

Doc = dict[str, Any]

# Cells of a real server's histories that fail because the TLA+ specification has a
# defect, with how each fails: `assert_scores_100` requires them to fail so, and fails
# once one passes (then the entry goes). They are model defects to fix, not exemptions.
KNOWN_SPEC_DEFECTS = {
    # WorkflowExecution.tla has no workflow-task heartbeat (a completion with
    # force_create_new_workflow_task), which a long local activity makes the SDK send.
    ("local-activity-long", "tla"): "no behaviour of WorkflowExecution writes event 5 ",
    # In WorkflowExecution.tla every completion asks for a sticky queue; a worker without
    # a workflow cache (max_cached_workflows=0, as in server-restart) does not, so the
    # real server schedules its next task on the normal queue.
    ("server-restart", "tla"): "no behaviour of WorkflowExecution writes event 6 ",
}
# The cells of a real server's histories that do not apply, and why: the only ones.
NOT_APPLICABLE = {
    ("updates", "tla"): "WORKFLOW_EXECUTION_UPDATE_ACCEPTED is not modelled",
    ("update-with-start", "tla"): "WORKFLOW_EXECUTION_UPDATE_ACCEPTED is not modelled",
    ("search-attributes-memo", "replay"): "upserts memo",
}


def conform_live(
    capsys: pytest.CaptureFixture[str], address: str, *args: str
) -> tuple[int, Doc, str]:
    code = main(["conform", "--json", "--target", address, *args])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def cells(doc: Doc, status: str) -> dict[tuple[str, str], str]:
    """(history, check) -> detail of every cell with this status."""
    return {
        (h["history"], check): cell["detail"]
        for h in doc["histories"]
        for check, cell in h["checks"].items()
        if cell["status"] == status
    }


def assert_scores_100(doc: Doc, histories: Sequence[str]) -> None:
    """Every check of every history passed, but for the cells `NOT_APPLICABLE` names
    (each with its reason) and the known defects of the spec (`KNOWN_SPEC_DEFECTS`,
    each failing as stated); nothing else failed, nothing was skipped."""
    failed = cells(doc, "FAIL")
    defects = {k: v for k, v in KNOWN_SPEC_DEFECTS.items() if k[0] in histories}
    assert set(failed) == set(defects), failed
    for key, how in defects.items():
        assert how in failed[key], (key, failed[key])
    assert cells(doc, "skipped") == {}
    assert sorted(h["history"] for h in doc["histories"]) == sorted(histories)
    expected = {k: v for k, v in NOT_APPLICABLE.items() if k[0] in histories}
    found = cells(doc, "n/a")
    assert set(found) == set(expected), found
    for key, reason in expected.items():
        assert reason in found[key], (key, found[key])
    summary = doc["summary"]
    assert summary["fail"] == len(defects) and summary["not_applicable"] == len(expected)
    assert summary["pass"] == 6 * len(histories) - len(expected) - len(defects)
