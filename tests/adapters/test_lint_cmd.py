"""`tmodel lint`: each anti-pattern found where it is (naming its events and what to do
instead), and not where it is not; exit 0 clean, 1 findings, 2 bad input on one line.

The recorded corpus is small and well-behaved, so most findings are provoked by lowering
the threshold they depend on (`--limit`, `--long-activity`, `--long-events`) or by
editing one field of a recorded history; each negative case is the same history under
the defaults.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import main
from core.statemachine.history import lint as rules
from tests.conftest import HISTORIES

TWINS = "tests.core.statemachine.replay.test_twins"
ROOT = Path(__file__).resolve().parents[2]


def _lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(["lint", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def _rules(doc: Any) -> list[tuple[str, list[int]]]:
    return [(f["rule"], f["events"]) for h in doc["histories"] for f in h.get("findings", [])]


def _h(name: str) -> str:
    return str(HISTORIES / name)


CASES: list[tuple[str, list[str], str, list[int]]] = [
    # (what, arguments, the rule found, its events)
    ("near the count limit", ["--limit", "limit.historyCount.warn=20", _h("timers.json")],
     rules.NEAR_HISTORY_COUNT, [25]),
    ("near the size limit", ["--limit", "limit.historySize.warn=500", _h("timers.json")],
     rules.NEAR_HISTORY_SIZE, [23]),
    ("a large payload", ["--limit", "limit.blobSize.warn=40", _h("activity-single.json")],
     rules.LARGE_PAYLOAD, [7]),
    ("a large memo", ["--limit", "limit.memoSize.warn=20", _h("search-attributes-memo.json")],
     rules.LARGE_PAYLOAD, [1]),
    ("a long activity without heartbeats", ["--long-activity", "5", _h("activity-single.json")],
     rules.ACTIVITY_WITHOUT_HEARTBEAT, [5]),
    ("churn", [_h("continue-as-new.run2.json")], rules.CONTINUE_AS_NEW_CHURN, [1, 11]),
    ("no continue-as-new", ["--long-events", "20", _h("timers.json")],
     rules.NO_CONTINUE_AS_NEW, [25]),
    ("an unpatched change",
     ["--workflow", f"{TWINS}:TimersMissingASleep", _h("timers.json")],
     rules.UNPATCHED_CHANGE, [11]),
    ("a patch removed",
     ["--workflow", f"{TWINS}:PatchedWithoutPatch", _h("patched.json")],
     rules.PATCH_DIVERGENCE, [7]),
]  # fmt: skip


@pytest.mark.parametrize(("what", "args", "rule", "events"), CASES, ids=[c[0] for c in CASES])
def test_the_finding_is_reported_with_its_events_and_advice(
    what: str, args: list[str], rule: str, events: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = _lint(capsys, *args)
    assert code == 1 and (rule, events) in _rules(doc), (what, doc)
    finding = next(f for h in doc["histories"] for f in h["findings"] if f["rule"] == rule)
    assert finding["message"] and finding["instead"]


# The same histories where the finding does not apply (the defaults, or a fitting history).
CLEAN: list[tuple[str, list[str]]] = [
    ("defaults", [_h("timers.json"), _h("activity-single.json"), _h("patched.json")]),
    ("a first run continued as new", [_h("continue-as-new.run1.json")]),
    ("a heartbeating activity", ["--long-activity", "1", _h("activity-heartbeat-timeout.json")]),
    ("a run that continued as new", ["--long-events", "5", _h("continue-as-new.run1.json")]),
    ("the unchanged twin", ["--workflow", "adapters.conform.twins:Timers",
                            _h("timers.json")]),
    ("a history of another type", ["--workflow", f"{TWINS}:TimersMissingASleep",
                                   _h("activity-single.json")]),
]  # fmt: skip


@pytest.mark.parametrize(("what", "args"), CLEAN, ids=[c[0] for c in CLEAN])
def test_no_finding_where_none_applies(
    what: str, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = _lint(capsys, *args)
    assert (code, _rules(doc), doc["chains"]) == (0, [], []), what


def test_churn_along_a_chain_names_its_runs(capsys: pytest.CaptureFixture[str]) -> None:
    runs = [_h(f"continue-as-new.run{i}.json") for i in (1, 2, 3)]
    code, doc = _lint(capsys, *runs)
    assert code == 1
    (chain,) = doc["chains"]
    assert chain["rule"] == rules.CONTINUE_AS_NEW_CHURN and chain["paths"] == runs[:2]
    _, alone = _lint(capsys, runs[0], runs[2])  # not consecutive: no chain
    assert alone["chains"] == []


def test_a_suggestion_the_run_ignored_is_a_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads((HISTORIES / "timers.json").read_text(encoding="utf-8"))
    started = next(e for e in doc["events"] if e["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_STARTED")
    started["workflowTaskStartedEventAttributes"]["suggestContinueAsNew"] = True
    path = tmp_path / "suggested.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    code, found = _lint(capsys, str(path))
    assert code == 1 and (rules.NO_CONTINUE_AS_NEW, [int(started["eventId"])]) in _rules(found)


def test_the_json_document_has_the_documented_shape(capsys: pytest.CaptureFixture[str]) -> None:
    _, doc = _lint(capsys, _h("continue-as-new.run1.json"), _h("continue-as-new.run2.json"))
    assert set(doc) == {"histories", "chains", "summary"}
    assert doc["summary"] == {
        "histories": 2,
        "clean": 1,
        "with_findings": 1,
        "findings": 2,
        "unreadable": 0,
    }
    assert set(doc["histories"][1]["findings"][0]) == {"rule", "events", "message", "instead"}
    assert set(doc["chains"][0]) == {"paths", "rule", "events", "message", "instead"}


def test_the_text_report_names_rule_events_and_advice(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--long-activity", "5", _h("activity-single.json")]) == 1
    out = capsys.readouterr().out
    assert f"{rules.ACTIVITY_WITHOUT_HEARTBEAT} event 5:" in out and "instead:" in out


@pytest.mark.parametrize(
    "args",
    [
        ["/no/such/history.json"],
        ["--workflow", "no.such.module:Flow", _h("timers.json")],
        ["--workflow", "nocolon", _h("timers.json")],
        ["--limit", "limit.nope=1", _h("timers.json")],
        ["--long-activity", "0", _h("timers.json")],
    ],
)
def test_bad_input_exits_2_on_one_line(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(["lint", *args])
    except SystemExit as exit_info:  # argparse's own refusals
        code = int(exit_info.code or 0)
    captured = capsys.readouterr()
    assert code == 2 and "Traceback" not in captured.out + captured.err


def test_a_bad_file_does_not_stop_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.json").write_text("{", encoding="utf-8")
    code, doc = _lint(capsys, str(tmp_path / "a.json"), _h("timers.json"))
    assert code == 2 and "error" in doc["histories"][0] and doc["histories"][1]["findings"] == []


def test_the_example_of_the_docs_prints_what_the_page_shows() -> None:
    """docs/conformance.md, "Linting histories": the command's output, line for line (a
    line the page shortens with "..." matches up to there)."""
    page = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    section = page[page.index("## Linting histories") :]
    block = section[section.index("```text\n") + len("```text\n") :]
    command, *shown = block[: block.index("```")].rstrip("\n").splitlines()
    args = command.removeprefix("$ tmodel ").split()
    done = subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    printed = done.stdout.splitlines()
    assert done.returncode == 1 and len(printed) > len(shown)
    for line, expected in zip(printed, shown, strict=False):
        if expected.endswith("..."):
            assert line.startswith(expected.removesuffix("...")), (line, expected)
        else:
            assert line == expected
