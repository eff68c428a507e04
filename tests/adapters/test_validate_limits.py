"""`tmodel validate --limits / --limit KEY=VALUE`: the LIMIT-* rules from the command line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.cli import main
from tests.conftest import HISTORIES, corpus_files


def _validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(["validate", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_the_corpus_is_valid_at_the_servers_default_limits(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, doc = _validate(capsys, "--limits", str(HISTORIES))
    summary = doc["summary"]
    assert code == 0 and summary["valid"] == summary["files"] >= len(corpus_files())


def test_a_history_past_a_limit_named_on_the_command_line_is_invalid(
    capsys: pytest.CaptureFixture[str],
) -> None:
    timers = str(HISTORIES / "timers.json")
    assert _validate(capsys, timers)[0] == 0  # no limits given: not checked
    code, doc = _validate(capsys, "--limit", "limit.historyCount.error=5", timers)
    (report,) = doc["files"]
    assert code == 1 and {v["rule"] for v in report["violations"]} == {"LIMIT-HISTORY-COUNT"}


@pytest.mark.parametrize(
    "setting",
    ["nope=1", "limit.historyCount.error", "limit.historyCount.error=x", "limit.blobSize.error=-1"],
)
def test_a_bad_limit_is_bad_input_on_one_line(
    setting: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--limit", setting, str(HISTORIES / "timers.json")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err and "--limit" in err
