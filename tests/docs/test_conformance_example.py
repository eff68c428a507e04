"""The worked example of docs/conformance.md runs as shown: each console block's command
prints the lines the page shows, and the seeded file differs from the recorded history
in the one value the page names."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "conformance.md"
SEEDED = ROOT / "docs" / "examples" / "conformance" / "non-retryable-as-exhausted.json"
RECORDED = ROOT / "tests" / "fixtures" / "histories" / "activity-non-retryable.json"


def _console_blocks() -> list[tuple[str, list[str]]]:
    text = PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"```console\n(.*?)```", text, flags=re.DOTALL)
    out = []
    for block in blocks:
        lines = block.rstrip("\n").splitlines()
        assert lines[0].startswith("$ tmodel "), lines[0]
        out.append((lines[0].removeprefix("$ "), lines[1:]))
    return out


def test_the_page_has_the_two_commands() -> None:
    assert [command for command, _ in _console_blocks()] == [
        f"tmodel conform {RECORDED.relative_to(ROOT)}",
        f"tmodel conform {SEEDED.relative_to(ROOT)}",
    ]


@pytest.mark.parametrize(("command", "shown"), _console_blocks())
def test_each_command_prints_what_the_page_shows(command: str, shown: list[str]) -> None:
    args = command.split()[1:]
    done = subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    printed = done.stdout.splitlines()
    assert printed[: len(shown)] == shown, done.stdout + done.stderr
    assert done.returncode == (1 if "DIFFERS" in "\n".join(shown) else 0)


def _without_retry_state(doc: Any) -> Any:
    for event in doc["events"]:
        event.get("activityTaskFailedEventAttributes", {}).pop("retryState", None)
    return doc


def test_the_seeded_file_differs_in_one_value_only() -> None:
    seeded = json.loads(SEEDED.read_text(encoding="utf-8"))
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    assert seeded != recorded
    failed = [e for e in seeded["events"] if "activityTaskFailedEventAttributes" in e]
    assert failed[0]["activityTaskFailedEventAttributes"]["retryState"] == (
        "RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED"
    )
    assert _without_retry_state(seeded) == _without_retry_state(recorded)
