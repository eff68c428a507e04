"""Streaming: `write_events` writes one event per line; `iter_events` decodes a history
file incrementally, in memory bounded by the chunk size plus the largest event.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from typing import IO

from core.errors import BadInput
from core.events import HistoryEvent

from .codec import FieldOrder, Style, _decode_event, _encode_event, _reject_constant
from .errors import _Bad, _event_label, _show
from .legacy import _is_legacy
from .scalars import _Ctx


def write_events(
    events: Iterable[HistoryEvent],
    binary_file: IO[bytes],
    style: Style = "canonical",
    field_order: FieldOrder = "number",
) -> int:
    """Stream `{"events": [...]}` to a binary file, one event per line; returns the count."""
    legacy, declaration = style == "legacy", field_order == "declaration"
    encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
    binary_file.write(b'{"events":[')
    count = 0
    for count, event in enumerate(events, 1):
        try:
            body = _encode_event(event, legacy, declaration, True)
        except _Bad as exc:
            raise BadInput(f"events[{count - 1}]: {exc.text()}") from None
        binary_file.write((",\n" if count > 1 else "\n").encode())
        binary_file.write(encoder.encode(body).encode())
    binary_file.write(b"\n]}\n")
    return count


# ------------------------------------------------------------------ streaming decode

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_JSON = json.JSONDecoder(parse_constant=_reject_constant)
# One event bigger than this is refused rather than buffered (Temporal's own limit on
# an event is a few MB; this guards memory against a file that is not JSON at all).
_MAX_VALUE_CHARS = 256 * 2**20


class _Stream:
    """A character window over a binary file, refilled in chunks."""

    def __init__(self, binary_file: IO[bytes], chunk: int) -> None:
        self.file = binary_file
        self.chunk = chunk
        self.utf8 = codecs.getincrementaldecoder("utf-8-sig")()
        self.buf = ""
        self.pos = 0
        self.base = 0  # characters dropped before buf[0], for error offsets
        self.eof = False

    def fill(self, want: int) -> bool:
        """Append at least `want` characters (fewer at end of file); False at end."""
        if self.eof:
            return False
        parts = [self.buf[self.pos :]]
        self.base += self.pos
        self.pos = 0
        got = 0
        while got < want:
            data = self.file.read(max(self.chunk, want - got))
            try:
                text = data if isinstance(data, str) else self.utf8.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                raise BadInput(f"not UTF-8 text near offset {self.base + got}: {exc}") from None
            parts.append(text)
            got += len(text)
            if not data:
                self.eof = True
                break
        self.buf = "".join(parts)
        return True

    def peek(self) -> str:
        """Skip whitespace; the next character, or "" at end of input."""
        while True:
            match = _WHITESPACE.match(self.buf, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill(self.chunk):
                return ""

    def expect(self, char: str, where: str) -> None:
        found = self.peek()
        if found != char:
            shown = repr(found) if found else "end of input (truncated?)"
            raise BadInput(f"{where}: expected {char!r} at offset {self.offset}, found {shown}")
        self.pos += 1

    @property
    def offset(self) -> int:
        return self.base + self.pos

    def value(self, where: str) -> object:
        """Parse the JSON value at the cursor, reading more input as needed."""
        self.peek()
        while True:
            try:
                value, end = _JSON.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                pending = len(self.buf) - self.pos
                # Input cut by a chunk boundary fails at its very end, or (for a string)
                # where the string starts; any other error is final, more data won't help.
                cut = exc.pos >= len(self.buf) - 16 or exc.msg.startswith("Unterminated")
                if cut and pending < _MAX_VALUE_CHARS and self.fill(max(self.chunk, pending)):
                    continue
                problem = "truncated" if cut and self.eof else "invalid"
                raise BadInput(
                    f"{where}: {problem} JSON at offset {self.base + exc.pos}: {exc.msg}"
                ) from None
            except RecursionError:
                raise BadInput(f"{where}: JSON nested too deeply") from None
            except ValueError as exc:
                raise BadInput(f"{where}: invalid JSON ({exc})") from None
            if end == len(self.buf) and self.fill(self.chunk):
                continue  # a number at the very end may go on in the next chunk
            self.pos = end
            return value


def iter_events(binary_file: IO[bytes], chunk_size: int = 1 << 20) -> Iterator[HistoryEvent]:
    """Decode a history file incrementally, yielding one event at a time.

    Memory stays bounded by the chunk size plus the largest event, whatever the number
    of events. Accepts `{"events": [...]}` or a bare list; raises BadInput at the first
    malformed event (events before it have been yielded).
    """
    stream = _Stream(binary_file, chunk_size)
    first = stream.peek()
    if first == "[":
        stream.pos += 1
        yield from _stream_events(stream)
    elif first == "{":
        stream.pos += 1
        if stream.peek() == "}":
            stream.pos += 1
        else:
            yield from _stream_object(stream)
    else:
        shown = repr(first) if first else "an empty file"
        raise BadInput(f'expected {{"events": [...]}} or a list of events, found {shown}')
    if stream.peek():
        raise BadInput(f"unexpected data after the history at offset {stream.offset}")


def _stream_object(stream: _Stream) -> Iterator[HistoryEvent]:
    seen = False
    while True:
        key = stream.value("top level")
        if key != "events":
            raise BadInput(f"unexpected top-level key {_show(key)} (a history has only events)")
        if seen:
            raise BadInput("the events key appears twice")
        seen = True
        stream.expect(":", "top level")
        stream.expect("[", "events")
        yield from _stream_events(stream)
        found = stream.peek()
        stream.pos += 1
        if found == "}":
            return
        if found != ",":
            raise BadInput(f"top level: expected ',' or '}}' at offset {stream.offset - 1}")


def _stream_events(stream: _Stream) -> Iterator[HistoryEvent]:
    """The elements of the events array; the cursor is just after its '['."""
    if stream.peek() == "]":
        stream.pos += 1
        return
    ctx: _Ctx | None = None
    index = 0
    while True:
        raw = stream.value(f"events[{index}]")
        if ctx is None:
            ctx = _Ctx(_is_legacy(raw))
        try:
            event = _decode_event(raw, ctx)
        except _Bad as exc:
            raise BadInput(f"{_event_label(index, raw)}: {exc.text()}") from None
        yield event
        index += 1
        found = stream.peek()
        stream.pos += 1
        if found == "]":
            return
        if found != ",":
            shown = repr(found) if found else "end of input (truncated?)"
            raise BadInput(f"events[{index}]: expected ',' or ']', found {shown}")
