"""`tmodel replay` and `tmodel bench replay`: real histories against the twins, changed
twins that must fail at the right event, and bad input that must never give a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters import bench_replay, replay_cmd
from adapters.cli import main
from sim.deadlock import DeadlockGuard
from tests.adapters.test_cli import BAD_INPUTS, _run_cli
from tests.conftest import HISTORIES, corpus_events
from tests.core.statemachine.replay.test_twins import CHANGED, TWINNED, TWINS, twin_of

TWINS_MODULE = "adapters.conform.twins"
CHANGED_MODULE = "tests.core.statemachine.replay.test_twins"
TIMERS = str(HISTORIES / "timers.json")


def _twin_of(name: str) -> str:
    return f"{TWINS_MODULE}:{TWINS[twin_of(name)].cls.__name__}"


def _json_run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["replay", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", TWINNED)
def test_every_twinned_history_replays_with_exit_0(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = _json_run(capsys, str(HISTORIES / name), "--workflow", _twin_of(name))
    assert code == 0, doc
    # every completed workflow task replayed (none for a run ended before its first one,
    # like cron.run3.json, terminated during its first-task backoff)
    completed = sum(e.event_type.name == "WORKFLOW_TASK_COMPLETED" for e in corpus_events(name))
    assert doc["ok"] is True and doc["workflow_type"] == twin_of(name)
    assert doc["tasks"] == completed


def test_success_summary_names_type_tasks_and_close(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", TIMERS, "--workflow", f"{TWINS_MODULE}:Timers"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"ok  {TIMERS} replays against {TWINS_MODULE}:Timers")
    assert "TimersWorkflow" in out and "WORKFLOW_EXECUTION_COMPLETED (event 25)" in out
    tasks = next(line for line in out.splitlines() if "workflow tasks replayed" in line)
    assert tasks.replace("│", " ").split()[-1] == "5"


def test_success_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _json_run(capsys, TIMERS, "--workflow", f"{TWINS_MODULE}:Timers")
    assert code == 0
    assert doc == {
        "ok": True,
        "history": TIMERS,
        "workflow": f"{TWINS_MODULE}:Timers",
        "workflow_type": "TimersWorkflow",
        "events": 25,
        "tasks": 5,
        "ended": "WORKFLOW_EXECUTION_COMPLETED (event 25)",
    }


@pytest.mark.parametrize(("twin", "name", "event_id", "expected"), CHANGED)
def test_a_changed_twin_exits_1_naming_the_event(
    twin: type, name: str, event_id: int, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    history = str(HISTORIES / name)
    assert main(["replay", history, "--workflow", f"{CHANGED_MODULE}:{twin.__name__}"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"NONDETERMINISM  {history}")
    assert f"at event {event_id}\n" in out
    assert f"the history has:       {expected}" in out
    assert "the workflow produced: " in out
    marked = [line for line in out.splitlines() if line.lstrip().startswith(">")]
    assert len(marked) == 1 and marked[0].split()[1:3] == [str(event_id), expected]


def test_nondeterminism_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    history = str(HISTORIES / "activity-single.json")
    code, doc = _json_run(capsys, history, "--workflow", f"{CHANGED_MODULE}:SingleActivityRenamed")
    assert code == 1
    assert doc["ok"] is False and doc["workflow_type"] == "SingleActivityWorkflow"
    assert doc["tasks"] == 0  # the first task's own command is the one that differs
    assert doc["nondeterminism"] == {
        "event_id": 5,
        "expected": "ACTIVITY_TASK_SCHEDULED(1, greet) (event 5)",
        "produced": "SCHEDULE_ACTIVITY_TASK(1, greet_v2)",
    }
    context = {e["event_id"]: e for e in doc["context"]}
    assert sorted(context) == [1, 2, 3, 4, 5, 6, 7]
    assert context[5] == {
        "event_id": 5,
        "event_type": "ACTIVITY_TASK_SCHEDULED",
        "detail": "activity_id=1 activity_type=greet",
    }


def test_tasks_matched_before_a_later_divergence(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _json_run(capsys, TIMERS, "--workflow", f"{CHANGED_MODULE}:TimersMissingASleep")
    assert code == 1 and doc["nondeterminism"]["event_id"] == 11 and doc["tasks"] == 2


CHANGED_FILE = """
from core import workflow
from core.workflow import Context


@workflow.defn(name="TimersWorkflow")
class TimersInOtherOrder:
    @workflow.run
    async def run(self, wf: Context, seconds: float) -> str:
        await wf.gather(wf.sleep(seconds), wf.sleep(2 * seconds))
        await wf.sleep(seconds)
        return "timers done"


NOT_A_CLASS = 3


class Plain:
    pass
"""


@pytest.fixture
def module_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_workflows.py"
    path.write_text(CHANGED_FILE, encoding="utf-8")
    return path


def test_a_workflow_from_a_py_file(module_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _json_run(capsys, TIMERS, "--workflow", f"{module_file}:TimersInOtherOrder")
    assert code == 1 and doc["nondeterminism"]["event_id"] > 0


def test_a_history_ending_in_a_started_task_is_still_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(Path(TIMERS).read_text(encoding="utf-8"))
    path = tmp_path / "running.json"
    path.write_text(json.dumps({"events": doc["events"][:3]}), encoding="utf-8")
    code, out = _json_run(capsys, str(path), "--workflow", f"{TWINS_MODULE}:Timers")
    assert code == 0 and out["tasks"] == 1
    assert out["ended"].startswith("still running (the last event is WORKFLOW_TASK_STARTED")


def _bad_history(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.json"
    if kind in BAD_INPUTS:
        path.write_text(BAD_INPUTS[kind], encoding="utf-8", errors="surrogateescape")
    elif kind == "no-events":
        path.write_text('{"events": []}', encoding="utf-8")
    elif kind == "no-start":
        doc = json.loads(Path(TIMERS).read_text(encoding="utf-8"))
        path.write_text(json.dumps({"events": doc["events"][1:]}), encoding="utf-8")
    elif kind == "directory":
        path.mkdir()
    # "missing": not created
    return path


BAD_HISTORIES = sorted([*BAD_INPUTS, "no-events", "no-start", "directory", "missing"])


@pytest.mark.parametrize("kind", BAD_HISTORIES)
def test_a_bad_history_is_one_line_naming_the_file_and_exit_2(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _bad_history(tmp_path, kind)
    assert main(["replay", str(path), "--workflow", f"{TWINS_MODULE}:Timers"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tmodel replay: {path}: ")


BAD_WORKFLOWS = {
    "no colon": ("Timers", "expected MODULE:NAME"),
    "no module": ("no_such_module_xyz:Timers", "cannot import no_such_module_xyz: ModuleNotFound"),
    "no attribute": (f"{TWINS_MODULE}:Nope", "has no attribute 'Nope'"),
    "not a class": (f"{TWINS_MODULE}.tasks:SHORT", "SHORT is not a class"),
    "not a workflow": (f"{TWINS_MODULE}.tasks:Context", "is not a @workflow.defn class"),
    "other type": (f"{TWINS_MODULE}:Sleep", "is of workflow type 'TimersWorkflow'"),
    "missing file": ("/no/such/dir/flows.py:X", "no such file"),
}


@pytest.mark.parametrize("case", sorted(BAD_WORKFLOWS))
def test_a_bad_workflow_argument_is_one_line_and_exit_2(
    case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, reason = BAD_WORKFLOWS[case]
    assert main(["replay", TIMERS, "--workflow", spec]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and reason in err


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("raise RuntimeError('boom at import')\n", "RuntimeError: boom at import"),
        ("def broken(:\n", "SyntaxError"),
        ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
        ("import no_such_dependency_xyz\n", "No module named 'no_such_dependency_xyz'"),
    ],
)
def test_a_module_that_fails_to_import_gives_its_reason(
    tmp_path: Path, source: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flows.py"
    path.write_text(source, encoding="utf-8")
    assert main(["replay", TIMERS, "--workflow", f"{path}:Anything"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and f"cannot import {path}" in err and reason in err


def test_bad_input_with_json_is_a_document_too(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _json_run(capsys, "/no/such/history.json", "--workflow", f"{TWINS_MODULE}:Timers")
    assert code == 2 and doc["ok"] is False and "/no/such/history.json" in doc["error"]


@pytest.mark.parametrize(
    "args",
    [
        ["replay"],
        ["replay", TIMERS],
        ["replay", "/no/such.json", "--workflow", "x:Y"],
        ["replay", TIMERS, "--workflow", "tests/adapters/test_replay_cmd.py:Missing"],
    ],
)
def test_through_the_entry_point_no_traceback(args: list[str]) -> None:
    result = _run_cli(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bench_replay_reports_ours_and_the_sdk(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["bench", "replay", "--replay-events", "700", "--sdk-events", "10", "--repeat", "1"]
    assert main([*args, "--json"]) == 0
    figures = {f["metric"]: f for f in json.loads(capsys.readouterr().out)}
    assert figures["histories"]["value"] == len(TWINNED)
    assert figures["events_replayed"]["value"] >= 700
    assert figures["ours"]["unit"] == "events/s" and figures["ours"]["value"] > 0
    ours = figures["ours_same_histories"]["value"]
    for runner in ("unsandboxed", "sandboxed"):
        sdk = figures[f"sdk_replayer_{runner}"]["value"]
        assert sdk > 0
        # ours over the SDK's, on the same histories in the same run
        assert figures[f"replay_vs_sdk_{runner}"]["value"] == pytest.approx(ours / sdk)


def test_bench_replay_says_why_the_sdk_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench_replay, "RECORDER", Path("/no/such/recorder_workflows.py"))
    args = ["bench", "replay", "--replay-events", "10", "--repeat", "1", "--json"]
    assert main(args) == 0
    captured = capsys.readouterr()
    metrics = {f["metric"] for f in json.loads(captured.out)}
    assert "ours" in metrics
    assert not {m for m in metrics if m.startswith(("sdk_replayer", "replay_vs_sdk"))}
    assert "the SDK replayer could not run" in captured.err and "recorder_workflows" in captured.err


ROOT = Path(__file__).resolve().parents[2]


def _console_blocks(page: Path) -> list[tuple[list[str], str]]:
    """(argv, expected output) of each ```console block of a docs page."""
    blocks = []
    text = page.read_text(encoding="utf-8")
    for block in text.split("```console\n")[1:]:
        body = block.split("```", 1)[0]
        command, _, output = body.partition("\n")
        assert command.startswith("$ tmodel "), command
        blocks.append((command.removeprefix("$ tmodel ").split(), output))
    return blocks


def test_the_replay_page_shows_what_the_command_prints(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    blocks = _console_blocks(ROOT / "docs" / "replay.md")
    assert len(blocks) >= 3
    for argv, expected in blocks:
        main(argv)
        assert capsys.readouterr().out == expected, " ".join(argv)


SPINNING_FILE = """
import time

from core import workflow
from core.workflow import Context


@workflow.defn(name="TimersWorkflow")
class SpinsAfterOneTimer:
    @workflow.run
    async def run(self, wf: Context, seconds: float) -> str:
        await wf.sleep(seconds)
        end = time.monotonic() + 30  # gives up by itself if nothing stops it
        while time.monotonic() < end:
            pass
        return "never stopped"
"""


@pytest.fixture
def spinning(tmp_path: Path) -> str:
    path = tmp_path / "spinning.py"
    path.write_text(SPINNING_FILE, encoding="utf-8")
    return f"{path}:SpinsAfterOneTimer"


def test_code_that_does_not_yield_is_a_deadlock_on_one_line(
    spinning: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(replay_cmd, "DeadlockGuard", lambda: DeadlockGuard(0.05))
    assert main(["replay", TIMERS, "--workflow", spinning]) == 1
    out = capsys.readouterr().out
    assert out == (
        f"DEADLOCK  {TIMERS} against {spinning}: potential deadlock (TMPRL1101): workflow "
        "code ran 0.05 s without yielding in the workflow task started at event 8\n"
    )
    code, doc = _json_run(capsys, TIMERS, "--workflow", spinning)
    assert code == 1 and doc["ok"] is False and "event 8" in doc["deadlock"]


def test_the_deadlock_bound_is_the_sdks_two_seconds(spinning: str) -> None:
    result = _run_cli("replay", TIMERS, "--workflow", spinning)
    assert result.returncode == 1, result.stderr
    assert result.stdout.endswith(
        "workflow code ran 2 s without yielding in the workflow task started at event 8\n"
    )
