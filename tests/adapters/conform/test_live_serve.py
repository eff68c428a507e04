"""`tmodel conform --target` against `tmodel serve`: a subset of the library scores 100%;
the server-restart fault does not apply to a target that declares no durability, and
says so; a failing restart command fails its scenario; and a broken target, a proxy
that rewrites one field of the histories it returns, is caught by the checks that exist
to catch it, which the report names."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.history.v1 import HistoryEvent

from adapters.cli import main
from tests.adapters.conform.live_support import assert_scores_100, cells, conform_live
from tests.adapters.conform.mutant_proxy import mutant_proxy
from tests.adapters.serve.serving import serve

DOCS = Path(__file__).resolve().parents[3] / "docs" / "conformance.md"
SUBSET = ["activity-single", "fan-out", "reset", "updates", "worker-restart"]
SUBSET_HISTORIES = ["activity-single", "fan-out", "reset.base", "reset", "updates"]
SUBSET_HISTORIES += ["worker-restart"]


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    # no --search-attribute: the live mode defines the library's own where missing
    with serve() as address:
        yield address


def test_a_subset_scores_100_percent(
    address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code, doc, err = conform_live(capsys, address, "--scenarios", *SUBSET, "--out", str(out))
    assert code == 0, (cells(doc, "FAIL"), err)
    assert_scores_100(doc, SUBSET_HISTORIES)
    assert doc["notes"] == []
    # --out holds every history it fetched, which the offline mode reads back
    written = sorted(p.stem for p in out.glob("*.json") if p.name != "manifest.json")
    assert written == sorted(SUBSET_HISTORIES)
    assert main(["conform", str(out)]) == 0


def test_server_restart_needs_a_target_that_declares_durability(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, _ = conform_live(
        capsys, address, "--scenarios", "server-restart", "--faults", "server-restart"
    )
    assert code == 0
    assert [h["history"] for h in doc["histories"]] == ["server-restart"]
    details = set(cells(doc, "n/a").values())
    assert len(details) == 1 and "declares no durability" in details.pop()
    assert doc["summary"]["pass"] == 0 and doc["summary"]["histories"] == 0


def test_a_failing_restart_command_fails_its_scenario(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    command = f"{sys.executable} -c 'import sys; sys.exit(3)'"
    code, doc, _ = conform_live(
        capsys,
        address,
        *("--scenarios", "server-restart", "--faults", "server-restart"),
        *("--restart-command", command),
    )
    assert code == 1
    failed = cells(doc, "FAIL")
    assert list(failed) == [("server-restart", "run")]
    assert "the restart command exited 3" in failed["server-restart", "run"]


def _longer_task_timeout(event: HistoryEvent) -> None:
    """A server whose rule for a workflow task's start-to-close timeout is off by 1 s."""
    if event.HasField("workflow_task_scheduled_event_attributes"):
        timeout = event.workflow_task_scheduled_event_attributes.start_to_close_timeout
        timeout.seconds += 1


def test_a_broken_target_is_caught_and_the_report_names_the_check(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with mutant_proxy(address, _longer_task_timeout) as broken:
        code, doc, _ = conform_live(capsys, broken, "--scenarios", "activity-single")
        assert code == 1
        failed = cells(doc, "FAIL")
        assert set(failed) == {("activity-single", "reproduce"), ("activity-single", "recorded")}
        field = "workflowTaskScheduledEventAttributes.startToCloseTimeout"
        assert all(f"event 2 WORKFLOW_TASK_SCHEDULED: {field}" in d for d in failed.values())
        assert '"10s"' in failed["activity-single", "reproduce"]
        assert '"11s"' in failed["activity-single", "reproduce"]
        # the same run as a table: the failing checks are named in its row and below it
        assert main(["conform", "--target", broken, "--scenarios", "activity-single"]) == 1
    table = capsys.readouterr().out
    row = next(line for line in table.splitlines() if "activity-single" in line and "│" in line)
    assert [c.strip() for c in row.strip("│ ").split("│")][1:] == [
        "pass", "pass", "FAIL", "FAIL", "pass", "pass",
    ]  # fmt: skip
    assert f"FAIL    activity-single / reproduce: event 2 WORKFLOW_TASK_SCHEDULED: {field}" in table
    assert f"FAIL    activity-single / recorded: event 2 WORKFLOW_TASK_SCHEDULED: {field}" in table
    # docs/conformance.md shows this run: its lines are the ones printed
    lines = DOCS.read_text(encoding="utf-8").splitlines()
    shown = [x for x in lines if x.startswith(("│ activity-single", "FAIL    activity-single"))]
    assert len(shown) == 3 and all(line in table.splitlines() for line in shown), table
