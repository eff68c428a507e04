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
KNOWN_SPEC_DEFECTS: dict[tuple[str, str], str] = {
    # None at present. (WorkflowExecution.tla now has the workflow-task heartbeat of
    # local-activity-long and the completion without a sticky queue of server-restart.)
}
# The cells of a real server's histories that do not apply, and why: the only ones
# (the spec's scope is tlc_trace's TLA-* declarations; a replay needs a twin,
# adapters/conform/twins).
NOT_APPLICABLE = {
    ("updates", "tla"): "WORKFLOW_EXECUTION_UPDATE_ACCEPTED is not modelled",
    ("update-with-start", "tla"): "WORKFLOW_EXECUTION_UPDATE_ACCEPTED is not modelled",
    ("update-async", "tla"): "WORKFLOW_EXECUTION_UPDATE_ACCEPTED is not modelled",
    ("update-failed", "tla"): "WORKFLOW_EXECUTION_UPDATE_ACCEPTED is not modelled",
    ("options-updated", "tla"): "(TLA-OPTIONS-UPDATED: ",
    ("nexus", "tla"): "(TLA-NEXUS: ",
    ("cron.run3", "tla"): "(TLA-BACKOFF-CLOSE: ",
    ("search-attributes-memo", "replay"): "upserts memo",
    ("local-activity-backoff", "replay"): "no twin of LocalBackoffWorkflow",
    ("nexus", "replay"): "no twin of NexusCallerWorkflow",
}


# TLC's time per history in these tests: generous, since the test machine is shared and
# TLC's speed is not what they test (what a budget does has its own test, in
# test_live_checks.py).
TLC_BUDGET = "900"


def conform_live(
    capsys: pytest.CaptureFixture[str], address: str, *args: str
) -> tuple[int, Doc, str]:
    code = main(["conform", "--json", "--target", address, "--tlc-budget", TLC_BUDGET, *args])
    out, err = capsys.readouterr()
    assert out.startswith("{"), (code, err)  # no report: bad input, or a bug (exit 3)
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
    assert cells(doc, "skipped") == {}, cells(doc, "skipped")
    assert sorted(h["history"] for h in doc["histories"]) == sorted(histories)
    expected = {k: v for k, v in NOT_APPLICABLE.items() if k[0] in histories}
    found = cells(doc, "n/a")
    assert set(found) == set(expected), found
    for key, reason in expected.items():
        assert reason in found[key], (key, found[key])
    summary = doc["summary"]
    assert summary["fail"] == len(defects) and summary["not_applicable"] == len(expected)
    assert summary["pass"] == 6 * len(histories) - len(expected) - len(defects)
