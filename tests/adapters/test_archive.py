"""The file-system archiver's layout: FarmHash Fingerprint64 against go-farm's own test
vectors (farmhash_test.go testData, the `oh64na` column, covering every length path),
the history file name of `common/archiver/filestore/util.go`, and a history written and
read back; a file that is not an archived history is refused with one message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.archive.farm64 import fingerprint64
from adapters.archive.filestore import FileArchive, history_filename
from adapters.temporal_json import decode_history
from core.errors import BadInput

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "histories"
VECTORS = [  # (go-farm Fingerprint64, input): lengths 0, 1, 4, 9, 17, 24, 33, 57, >64
    (0x9AE16A3B2F90404F, ""),
    (0xB3454265B6DF75E3, "a"),
    (0x1A5502DE4A1F8101, "abcd"),
    (0x332C8ED4DAE5BA42, "abcdefghi"),
    (0x46A7416ED4861E3B, "0123456789=012345"),
    (0x80D73B843BA57DB8, "size:  a.out:  bad magic"),
    (0xB944F8A16261E414, "C is as portable as Stonehedge!!"),
    (0xE8F89AB6DF9BDD25, "Discard medicine more than two years old."),
    (0x5D14F96C18FE3D5E, "Free! Free!/A trip/to Mars/for 900/empty jars/Burma Shave"),
    (0x55182F8859ECA4CE, "For every action there is an equal and opposite government program."),
    (
        0xA2B8BF3032021993,
        "Give me a rock, paper and scissors and I will move the world.  CCFestoon",
    ),
]


@pytest.mark.parametrize(("expected", "text"), VECTORS)
def test_fingerprint64_matches_go_farm(expected: int, text: str) -> None:
    assert fingerprint64(text.encode()) == expected


def test_history_filename_is_three_fingerprints_and_the_version() -> None:
    name = history_filename("ns", "wf", "run")
    parts = [str(fingerprint64(s.encode())) for s in ("ns", "wf", "run")]
    assert name == "".join(parts) + "_0.history"


def test_a_history_reads_back_as_written(tmp_path: Path) -> None:
    source = next(iter(sorted(FIXTURES.glob("*.json"))))
    events = json.loads(source.read_text())["events"]
    archive = FileArchive(str(tmp_path / "archive"))
    archive.put("ns-id", "wf", "run", events)
    stored = json.loads(archive.path("ns-id", "wf", "run").read_text())
    assert stored == [{"events": events}]  # a JSON array of History batches
    assert archive.get("ns-id", "wf", "run") == list(decode_history({"events": events}).events)
    assert archive.get("ns-id", "wf", "other-run") is None


def test_a_file_that_is_not_a_history_is_refused(tmp_path: Path) -> None:
    archive = FileArchive(str(tmp_path))
    archive.path("n", "w", "r").write_text('{"events": []}')
    with pytest.raises(BadInput, match="expected a list of batches"):
        archive.get("n", "w", "r")
    archive.path("n", "w", "r").write_text("[{")
    with pytest.raises(BadInput, match="not an archived history"):
        archive.get("n", "w", "r")
