"""The one reader of user-named files (adapters/input_file.py): regular files only,
read at once without waiting on a FIFO, a size cap, UTF-8 only, and a history with no
events is not a history."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest

from adapters.input_file import (
    MIB,
    open_regular,
    read_bytes,
    read_history,
    read_text,
    require_events,
)
from core.errors import BadInput
from tests.conftest import HISTORIES, corpus_events

TIMERS = HISTORIES / "timers.json"


def test_a_regular_file_opens_and_reads() -> None:
    with open_regular(str(TIMERS)) as stream:
        assert stream.read() == TIMERS.read_bytes()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        ("directory", "is a directory, not a file"),
        ("fifo", "not a regular file (a FIFO, device or socket)"),
        ("missing", "No such file or directory"),
        ("empty path", "an empty path names no file"),
    ],
)
def test_anything_but_a_regular_file_is_refused(tmp_path: Path, make: str, reason: str) -> None:
    path = tmp_path / "thing"
    if make == "directory":
        path.mkdir()
    elif make == "fifo":
        os.mkfifo(path)
    name = "" if make == "empty path" else str(path)
    with pytest.raises(BadInput) as caught:
        open_regular(name)
    assert str(caught.value) == reason


def test_a_device_is_refused_before_a_byte_is_read() -> None:
    with pytest.raises(BadInput, match="not a regular file"):
        read_bytes("/dev/zero", MIB, "a history")


def test_a_fifo_with_a_writer_waiting_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "fifo"
    os.mkfifo(path)

    def write() -> None:
        with contextlib.suppress(BrokenPipeError):  # the refusing reader may be gone
            path.write_bytes(b"[]")

    writer = threading.Thread(target=write, daemon=True)
    writer.start()  # blocks until a reader opens: refusing must not hang either side
    with pytest.raises(BadInput, match="not a regular file"):
        read_history(str(path))
    # Let the writer finish: hold a read end (opened without blocking, since the writer
    # may already have written into the refused reader and left) until it has.
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    writer.join(timeout=5)
    os.close(reader)
    assert not writer.is_alive()


def test_the_size_cap_counts_bytes(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b" " * (MIB + 1))
    with pytest.raises(BadInput, match=r"big\.json: more than 1 MiB, too big for a repro file"):
        read_text(str(path), MIB, "a repro file")
    path.write_bytes(b" " * MIB)
    assert len(read_text(str(path), MIB, "a repro file")) == MIB


def test_text_is_utf8_only(tmp_path: Path) -> None:
    path = tmp_path / "text.json"
    path.write_bytes("\ufeff{}".encode())
    assert read_text(str(path), MIB, "a repro file") == "{}"  # a byte-order mark is skipped
    path.write_bytes("{}".encode("utf-16"))
    with pytest.raises(BadInput, match="not UTF-8 text near offset 0"):
        read_text(str(path), MIB, "a repro file")


def test_a_history_is_read_whole_and_named_in_errors(tmp_path: Path) -> None:
    assert read_history(str(TIMERS)) == corpus_events("timers.json")
    path = tmp_path / "h.json"
    path.write_bytes(TIMERS.read_bytes())
    with pytest.raises(BadInput, match=r"h\.json: more than 100 bytes, too big for a history"):
        read_history(str(path), limit=100)


@pytest.mark.parametrize("text", ['{"events": []}', "[]", "{}"])
def test_a_history_with_no_events_is_bad_input(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput, match=r"empty\.json: the history has no events"):
        read_history(str(path))


def test_require_events_passes_events_through() -> None:
    events = corpus_events("timers.json")
    assert tuple(require_events(iter(events))) == events
    with pytest.raises(BadInput, match="no events"):
        list(require_events(iter(())))
