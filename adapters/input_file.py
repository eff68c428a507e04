"""Reading the files users name: one safe reader for every command that reads one.

A path on the command line may name anything: a FIFO (opening it waits for a writer,
reading it waits forever), a device such as /dev/zero (bytes without end), a directory,
a file in UTF-16, or a file far bigger than any history. Every command that reads a
file (`validate`, `replay`, `simulate --repro`, `tlc --trace`) reads it through this
module, so all of them refuse the same things with the same one-line reasons
(`BadInput`, exit code 2):

- regular files only: the file is opened without waiting (``O_NONBLOCK``, so a FIFO
  does not block the open) and checked with ``fstat`` before a byte is read;
- a size cap where a command holds a whole file in memory (`read_history`,
  `read_text`); streaming validation needs none, its memory is bounded by the largest
  event (adapters/temporal_json/stream.py);
- UTF-8 text only (a byte-order mark is skipped), as Temporal's JSON is; the streaming
  decoder refuses anything else, and so does `read_text`;
- a history with no events is not a history: `require_events` makes that bad input
  for every command alike.

JSON nested past the parser's recursion limit is refused by the decoders themselves
(the streaming decoder for histories, `sim.repro.loads` for repro files).

A history may also be a binary protobuf `temporal.api.history.v1.History` (sdk-core
keeps its test histories so, `crates/sdk-core/tests/histories/*.bin`): a file whose
first byte is that of `History.events` (field 1, length-delimited: 0x0A) and whose text
does not begin as JSON does. It is read one event at a time (`BinaryHistoryJson`):
each event is parsed with the official protos (the `temporalio` package), written as
canonical protobuf JSON and handed to the same streaming decoder, so memory stays
bounded by one event, as for JSON. Fields newer than those protos are not seen
(protobuf keeps them only as unknown bytes). An event the protos cannot write as JSON
(a Timestamp or Duration out of range) is bad input for that file.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import BinaryIO, NoReturn, cast

from adapters.temporal_json import EventStream, iter_events
from core.errors import BadInput
from core.events import HistoryEvent

MIB = 2**20
# A whole history held in memory (replay, TLC trace validation) is refused above this.
# Temporal itself terminates a run whose history passes 50 MiB serialized
# (`limit.historySize.error`, common/dynamicconfig/constants.go); the JSON form of such a
# history (base64 payloads, field names) is up to about twice that, so a real history
# fits with room to spare, while the decoded events stay near 1.3 GiB at worst (small
# events take about ten times their JSON size: 27 MB of them took 270 MB).
MAX_HISTORY_BYTES = 128 * MIB
# A repro file is a config and a short fault plan (a few KiB); anything near this is not one.
MAX_REPRO_BYTES = 4 * MIB


def open_regular(path: str) -> BinaryIO:
    """Open `path` for binary reading if it is a regular file; otherwise `BadInput` with
    the reason alone (the caller names the file)."""
    if not path:
        raise BadInput("an empty path names no file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise BadInput(exc.strerror or str(exc)) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise BadInput("is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise BadInput("not a regular file (a FIFO, device or socket)")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_bytes(path: str, limit: int, what: str) -> bytes:
    """The whole file, at most `limit` bytes; `what` names the kind of file in errors."""
    try:
        with open_regular(path) as stream:
            too_big = os.fstat(stream.fileno()).st_size > limit
            data = b"" if too_big else stream.read(limit + 1)  # it may grow after fstat
    except BadInput as exc:
        raise BadInput(f"{path}: {exc}") from None
    except OSError as exc:  # a read error after the open
        raise BadInput(f"{path}: {exc.strerror or exc}") from None
    if too_big or len(data) > limit:
        raise BadInput(f"{path}: more than {_size(limit)}, too big for {what}")
    return data


def _size(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit:,} bytes"


def read_text(path: str, limit: int, what: str) -> str:
    """The whole file as UTF-8 text, at most `limit` bytes; `what` names it in errors."""
    data = read_bytes(path, limit, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text near offset {exc.start}") from None


def require_events(events: Iterable[HistoryEvent]) -> Iterator[HistoryEvent]:
    """The events, read from the first; `BadInput` at once if there are none (not a
    history). The rest pass through `itertools.chain`, with no Python call per event."""
    iterator = iter(events)
    first = next(iterator, None)
    if first is None:
        raise BadInput("the history has no events (a history starts with one)")
    return chain((first,), iterator)


_JSON_START = frozenset(b"{[")
_WHITESPACE = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"
_EVENTS_TAG = 0x0A  # History.events: field 1, wire type 2 (length-delimited)


def is_binary_history(head: bytes) -> bool:
    """Whether a file beginning with `head` is a binary protobuf History, not JSON."""
    text = head.removeprefix(_BOM).lstrip(_WHITESPACE)
    return head[:1] == bytes([_EVENTS_TAG]) and not (text and text[0] in _JSON_START)


# One event of a binary history bigger than this is refused (as the JSON decoder's
# limit on one value, adapters/temporal_json/stream.py): Temporal keeps an event to a
# few MB.
MAX_BINARY_EVENT_BYTES = 256 * MIB
_READ_PIECE = MIB  # an event's bytes are read in pieces no bigger than this


class BinaryHistoryJson:
    """A binary protobuf History read as the canonical protobuf JSON of its events, one
    event at a time: a file-like object with `read(size)` for the streaming decoder.

    `History` has one field, `repeated HistoryEvent events = 1`, so the file is a run of
    (tag 0x0A, varint length, that many bytes of one HistoryEvent). Anything else is
    bad input, raised from `read` as `BadInput`."""

    def __init__(self, stream: BinaryIO, event_limit: int = MAX_BINARY_EVENT_BYTES) -> None:
        self.stream = stream
        self.event_limit = event_limit
        self.rest = b'{"events": ['  # text made but not read yet
        self.index = 0  # events converted so far
        self.offset = 0  # bytes of the binary file read so far
        self.done = False

    def read(self, size: int = -1) -> bytes:
        parts, have = [self.rest], len(self.rest)
        while not self.done and (size < 0 or have < size):
            part = self._next_event()
            parts.append(part)
            have += len(part)
        data = b"".join(parts)
        if size < 0 or len(data) <= size:
            self.rest = b""
            return data
        self.rest = data[size:]
        return data[:size]

    def _next_event(self) -> bytes:
        from google.protobuf import json_format
        from google.protobuf.message import DecodeError
        from temporalio.api.history.v1 import HistoryEvent

        tag = self._bytes(1, allow_end=True)
        if not tag:
            self.done = True
            return b"]}"
        if tag[0] != _EVENTS_TAG:
            self._bad(f"byte 0x{tag[0]:02x} where an event's tag 0x0a belongs")
        size = self._varint()
        if size > self.event_limit:
            self._bad(f"an event of {size:,} bytes, more than {_size(self.event_limit)}")
        event = HistoryEvent()
        try:
            event.ParseFromString(self._bytes(size))
        except DecodeError:
            self._bad(f"event {self.index} does not parse")
        try:
            text = json_format.MessageToJson(event, indent=None)
        except (json_format.Error, ValueError) as exc:
            label = f"events[{self.index}] (eventId {event.event_id})"
            raise BadInput(f"{label}: {str(exc).rstrip('.')}") from None
        self.index += 1
        return (", " if self.index > 1 else "").encode() + text.encode()

    def _varint(self) -> int:
        value = 0
        for shift in range(0, 64, 7):
            byte = self._bytes(1)[0]
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
        self._bad("an event's length runs past ten bytes")

    def _bytes(self, size: int, allow_end: bool = False) -> bytes:
        parts, have = [], 0
        while have < size:
            piece = self.stream.read(min(size - have, _READ_PIECE))
            if not piece:
                break
            parts.append(piece)
            have += len(piece)
        self.offset += have
        if have < size and not (allow_end and have == 0):
            self._bad("the file ends inside an event")
        return b"".join(parts)

    def _bad(self, detail: str) -> NoReturn:
        where = f"near byte {self.offset}"
        raise BadInput(f"neither JSON nor a binary protobuf History ({detail}, {where})")


def binary_history_json(data: bytes) -> bytes:
    """A binary protobuf History as canonical protobuf JSON; `BadInput` if it is not one."""
    return BinaryHistoryJson(io.BytesIO(data)).read()


def history_events(stream: BinaryIO, limit: int = MAX_BINARY_EVENT_BYTES) -> EventStream:
    """The events of an open history file, JSON or binary protobuf, both streamed
    (memory bounded by the largest event; a binary event over `limit` bytes is refused)."""
    peek = getattr(stream, "peek", None)
    head = peek(64)[:64] if peek is not None else b""
    if not is_binary_history(head):
        return iter_events(stream)
    return iter_events(cast(BinaryIO, BinaryHistoryJson(stream, limit)))


def _events_of(data: bytes, shorthand: bool = False) -> EventStream:
    """The events of a whole file held in memory, JSON or binary protobuf."""
    source: BinaryIO = io.BytesIO(data)
    if is_binary_history(data[:64]):
        source = cast(BinaryIO, BinaryHistoryJson(source))
    return iter_events(source, shorthand=shorthand)


def read_history(path: str, limit: int = MAX_HISTORY_BYTES) -> tuple[HistoryEvent, ...]:
    """Decode a whole history file, at most `limit` bytes, with the streaming decoder
    `tmodel validate` uses; `BadInput` naming the file if it is not a history."""
    return read_history_noted(path, limit)[0]


def read_history_noted(
    path: str, limit: int = MAX_HISTORY_BYTES
) -> tuple[tuple[HistoryEvent, ...], str | None]:
    """`read_history`, and a note where the file's form lost something the events
    cannot show: payloads the HTTP API wrote as shorthand JSON, which were rebuilt from
    their values (adapters/temporal_json/shorthand.py)."""
    data = read_bytes(path, limit, "a history")
    try:
        stream = _events_of(data)
        events = tuple(require_events(stream))
        if stream.late_shorthand:  # shorthand payloads after the first: all again as such
            stream = _events_of(data, shorthand=True)
            events = tuple(require_events(stream))
    except BadInput as exc:
        raise BadInput(f"{path}: {exc}") from None
    except RecursionError:  # as validate: a value the parser took, re-encoded deeper down
        raise BadInput(f"{path}: JSON nested too deeply") from None
    rebuilt = stream.rebuilt_payloads
    note = None
    if rebuilt:
        note = (
            f"{rebuilt} payload{'s' if rebuilt > 1 else ''} written as shorthand JSON (the "
            "HTTP API's form) rebuilt from their values: the same values, maybe not the "
            "bytes the SDK wrote"
        )
    return events, note
