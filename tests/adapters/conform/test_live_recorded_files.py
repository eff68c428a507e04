"""`tmodel conform --target ... --recorded DIR` with a bad file where a recorded history
should be: refused before any scenario runs, in one line, exit 2 - never a hang (a
FIFO), never unbounded memory (/dev/zero), never a FAIL cell (a failed check means a
difference, not a bad file)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from adapters.cli import main
from adapters.conform import checks, live
from tests.conftest import HISTORIES

NAME = "activity-single.json"


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _truncated(path: Path) -> None:
    path.write_bytes((HISTORIES / NAME).read_bytes()[:3000])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _binary(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 4)


def _no_events(path: Path) -> None:
    path.write_text('{"events": 5}')


def _not_objects(path: Path) -> None:
    path.write_text('{"events": [1, 2]}')


def _directory(path: Path) -> None:
    path.mkdir()


BAD = {
    "fifo": (_fifo, "not a regular file"),
    "dev-zero": (_zero, "not a regular file"),
    "truncated": (_truncated, "not JSON"),
    "empty": (_empty, "not JSON"),
    "binary": (_binary, "not UTF-8"),
    "no-events": (_no_events, 'no "events" list'),
    "not-objects": (_not_objects, "not a JSON object"),
    "directory": (_directory, "is a directory"),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_a_bad_recorded_file_is_one_line_and_exit_2(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, says = BAD[kind]
    folder = tmp_path / "recorded"
    folder.mkdir()
    make(folder / NAME)
    began = time.monotonic()
    # port 1: nothing listens; the file is refused before the target is asked anything
    argv = ["conform", "--target", "127.0.0.1:1", "--scenarios", "activity-single"]
    code = main([*argv, "--faults", "none", "--recorded", str(folder)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert f"--recorded {folder / NAME}: " in err[0] and says in err[0], err
    assert time.monotonic() - began < 10


def test_files_of_other_scenarios_are_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "recorded"
    folder.mkdir()
    _fifo(folder / "activity-single-other.json")
    shutil.copy(HISTORIES / NAME, folder / NAME)
    shutil.copy(HISTORIES / NAME, folder / "activity-single.child.json")
    checks.check_recorded_files(checks.recorded_index(folder), ["activity-single"])
    _empty(folder / "activity-single.child.json")
    with pytest.raises(checks.BadRecorded, match=r"activity-single\.child\.json: not JSON"):
        checks.check_recorded_files(checks.recorded_index(folder), ["activity-single"])


def test_a_file_gone_bad_while_the_scenarios_ran_is_bad_input_too(tmp_path: Path) -> None:
    folder = tmp_path / "recorded"
    folder.mkdir()
    _truncated(folder / NAME)
    index = checks.recorded_index(folder)

    def compare() -> checks.Cell:
        return checks.check_recorded(NAME, [], index, True)

    with pytest.raises(checks.BadRecorded, match="not JSON"):
        live._guarded(compare)

    # any other error of a check is still a failed cell
    def broken() -> checks.Cell:
        raise ZeroDivisionError("a bug")

    assert live._guarded(broken).status == checks.FAIL
