"""Shared by the live-mode tests: running `tmodel conform --target` and reading its
JSON report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from adapters.cli import main

Doc = dict[str, Any]

# The cells of a real server's histories that do not apply, and why: the only ones.
NOT_APPLICABLE = {
    ("updates", "tla"): "WORKFLOW_EXECUTION_UPDATE_ACCEPTED is not modelled",
    ("update-with-start", "tla"): "WORKFLOW_EXECUTION_UPDATE_ACCEPTED is not modelled",
    ("local-activity-long", "tla"): "not modelled by WorkflowExecution.tla",
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
    (each with its reason); nothing failed or was skipped."""
    assert cells(doc, "FAIL") == {}
    assert cells(doc, "skipped") == {}
    assert sorted(h["history"] for h in doc["histories"]) == sorted(histories)
    expected = {k: v for k, v in NOT_APPLICABLE.items() if k[0] in histories}
    found = cells(doc, "n/a")
    assert set(found) == set(expected), found
    for key, reason in expected.items():
        assert reason in found[key], (key, found[key])
    summary = doc["summary"]
    assert summary["fail"] == 0 and summary["not_applicable"] == len(expected)
    assert summary["pass"] == 6 * len(histories) - len(expected)
