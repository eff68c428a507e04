"""Streaming: `write_events` writes one event per line; `iter_events` decodes a history
file incrementally, in memory bounded by the chunk size plus the largest event.

Decoding reads the file into a byte window and hands the typed decoder (typed.py) the
longest run of whole events it can cut off the window's front: a cut just after a `}`
that a `,` or `]` follows is right exactly when msgspec parses everything before it as a
list, since a JSON object cut short never parses. The window grows when no cut works;
where none ever does (bad JSON, or elements that are not objects), one value at a time
is parsed by the standard library's `json` (`_Window.value`), whose errors name an
offset. Events the typed decoder refuses are decoded by the generic one (codec.py).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

import msgspec

from core.errors import BadInput
from core.events import HistoryEvent

from .codec import FieldOrder, Style, _decode_event, _encode_event, _reject_constant
from .errors import _Bad, _event_label, _show
from .legacy import _is_legacy
from .scalars import _Ctx
from .typed import CONVERTERS, LEGACY_STRUCTS, EventStruct, Refused


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

_JSON = json.JSONDecoder(parse_constant=_reject_constant)
_TYPED = msgspec.json.Decoder(list[EventStruct])
_RAW = msgspec.json.Decoder(list[msgspec.Raw])
_WHITESPACE = b" \t\n\r"
_BOM = codecs.BOM_UTF8
# One event bigger than this is refused rather than buffered (Temporal's own limit on
# an event is a few MB; this guards memory against a file that is not JSON at all).
_MAX_VALUE_BYTES = 256 * 2**20
_CUTS_TRIED = 4  # cuts tried, besides the learned separator, before the window grows
_FIRST_TEXT = 1 << 16  # bytes of text `value` parses first


class _Window:
    """A byte window over a binary file, refilled in chunks."""

    def __init__(self, binary_file: IO[bytes], chunk: int) -> None:
        self.file = binary_file
        self.chunk = chunk
        self.buf = b""
        self.pos = 0
        self.base = 0  # bytes dropped before buf[0], for error offsets
        self.eof = False
        self.separator = b""  # see `learn`
        if self.fill(len(_BOM)) and self.buf.startswith(_BOM):
            self.pos = len(_BOM)

    def fill(self, want: int) -> bool:
        """Keep buf[pos:] and append at least `want` bytes (fewer at end of file);
        False at end of file."""
        if self.eof:
            return False
        parts = [self.buf[self.pos :]]
        self.base += self.pos
        self.pos = 0
        got = 0
        while got < want:
            data: Any = self.file.read(max(self.chunk, want - got))
            if isinstance(data, str):
                data = data.encode("utf-8", "surrogatepass")
            if not data:
                self.eof = True
                break
            parts.append(data)
            got += len(data)
        self.buf = b"".join(parts)
        return True

    def grow(self) -> bool:
        """Double what the window holds past the cursor; False at end of file."""
        return self.fill(max(self.chunk, len(self.buf) - self.pos))

    def peek(self) -> str:
        """Skip whitespace; the next character, or "" at end of input."""
        while True:
            buf, pos = self.buf, self.pos
            while pos < len(buf) and buf[pos] in _WHITESPACE:
                pos += 1
            self.pos = pos
            if pos < len(buf):
                return chr(buf[pos]) if buf[pos] < 0x80 else self._character()
            if not self.fill(self.chunk):
                return ""

    def _character(self) -> str:
        """The non-ASCII character at the cursor (for error messages)."""
        if len(self.buf) - self.pos < 4:
            self.fill(4)
        try:
            text, _ = codecs.utf_8_decode(self.buf[self.pos : self.pos + 4], "strict", False)
        except UnicodeDecodeError as exc:
            raise BadInput(f"not UTF-8 text near offset {self.offset}: {exc}") from None
        return text[:1]

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
        """Parse the JSON value at the cursor with `json`, reading more input as needed."""
        self.peek()
        size = _FIRST_TEXT
        while True:
            text, final = self._text(size, where)
            try:
                value, used = _JSON.raw_decode(text)
            except json.JSONDecodeError as exc:
                # Input cut short fails at its very end, or (for a string) where the
                # string starts; any other error is final, more input won't help.
                cut = exc.pos >= len(text) - 16 or exc.msg.startswith("Unterminated")
                if cut and not final and self._more(size):
                    size *= 2
                    continue
                offset = self.offset + len(text[: exc.pos].encode())
                problem = "truncated" if cut else "invalid"
                raise BadInput(f"{where}: {problem} JSON at offset {offset}: {exc.msg}") from None
            except RecursionError:
                raise BadInput(f"{where}: JSON nested too deeply") from None
            except ValueError as exc:
                raise BadInput(f"{where}: invalid JSON ({exc})") from None
            if used == len(text) and not final and self._more(size):
                size *= 2  # a number at the very end may go on
                continue
            self.pos += len(text[:used].encode())
            return value

    def _text(self, size: int, where: str) -> tuple[str, bool]:
        """Up to `size` bytes from the cursor as text (a character cut short left out),
        and whether that is all the input left."""
        final = self.eof and self.pos + size >= len(self.buf)
        try:
            text, _ = codecs.utf_8_decode(self.buf[self.pos : self.pos + size], "strict", final)
        except UnicodeDecodeError as exc:
            offset = self.offset + exc.start
            raise BadInput(f"{where}: not UTF-8 text near offset {offset}: {exc}") from None
        return text, final

    def _more(self, size: int) -> bool:
        """Make the window hold twice `size` bytes past the cursor, or all the input
        left if that is less; False if a value may not be that long."""
        if 2 * size > _MAX_VALUE_BYTES:
            return False
        while len(self.buf) - self.pos < 2 * size and self.grow():
            pass
        return True

    def learn(self) -> None:
        """Note the bytes between the element just read and the next (`}`, whitespace,
        `,`, whitespace, `{`), which formatted files repeat between every two events:
        finding them is how `batch` cuts the window."""
        buf, pos = self.buf, self.pos
        if pos == 0 or buf[pos - 1] != ord("}"):
            return
        after = pos
        while after < len(buf) and buf[after] in _WHITESPACE:
            after += 1
        if buf[after : after + 1] != b",":
            return
        after += 1
        while after < len(buf) and buf[after] in _WHITESPACE:
            after += 1
        if buf[after : after + 1] == b"{":
            self.separator = buf[pos - 1 : after + 1]

    def batch(self) -> tuple[list[Any], bytes] | None:
        """The longest run of whole elements at the cursor that a cut can take, as
        typed structs or, if one of them is refused, as `msgspec.Raw` texts, and the
        JSON list they were parsed from; the cursor moves past them. None when no cut
        works within a few chunks."""
        self.peek()
        limit = max(4 * self.chunk, _FIRST_TEXT)
        while True:
            for cut in self._cuts():
                data = b"[" + self.buf[self.pos : cut] + b"]"
                try:
                    items: list[Any] = _TYPED.decode(data)
                except msgspec.ValidationError:
                    try:
                        items = _RAW.decode(data)
                    except (msgspec.DecodeError, RecursionError):
                        continue
                except (msgspec.DecodeError, RecursionError):
                    continue
                self.pos = cut
                return items, data
            if len(self.buf) - self.pos >= limit or not self.grow():
                return None

    def _cuts(self) -> Iterator[int]:
        """Places just after a `}` that ends an element, likeliest first: after the
        learned separator, from the window's end; then after any `}` followed by a `,`
        or `]`, from the window's end."""
        buf, start = self.buf, self.pos
        separator = self.separator
        if separator:
            found = buf.rfind(separator, start)
            if found >= 0:
                yield found + 1
        end, tried = len(buf), 0
        while tried < _CUTS_TRIED:
            brace = buf.rfind(b"}", start, end)
            if brace < 0:
                return
            after = brace + 1
            while after < len(buf) and buf[after] in _WHITESPACE:
                after += 1
            if after < len(buf) and buf[after] in b",]":
                tried += 1
                yield brace + 1
            end = brace


class _Reader:
    """Decodes the events of a history from a `_Window`; `ctx` holds what it saw."""

    def __init__(self, window: _Window) -> None:
        self.window = window
        self.ctx: _Ctx | None = None
        self.index = 0

    def history(self) -> Iterator[HistoryEvent]:
        """`{"events": [...]}` or a bare list of events, and nothing after it."""
        window = self.window
        first = window.peek()
        if first == "[":
            window.pos += 1
            yield from self._events()
        elif first == "{":
            window.pos += 1
            if window.peek() == "}":
                window.pos += 1
            else:
                yield from self._object()
        else:
            shown = repr(first) if first else "an empty file"
            raise BadInput(f'expected {{"events": [...]}} or a list of events, found {shown}')
        if window.peek():
            raise BadInput(f"unexpected data after the history at offset {window.offset}")

    def _object(self) -> Iterator[HistoryEvent]:
        window = self.window
        seen = False
        while True:
            key = window.value("top level")
            if key != "events":
                raise BadInput(f"unexpected top-level key {_show(key)} (a history has only events)")
            if seen:
                raise BadInput("the events key appears twice")
            seen = True
            window.expect(":", "top level")
            window.expect("[", "events")
            yield from self._events()
            found = window.peek()
            window.pos += 1
            if found == "}":
                return
            if found != ",":
                raise BadInput(f"top level: expected ',' or '}}' at offset {window.offset - 1}")

    def _events(self) -> Iterator[HistoryEvent]:
        """The elements of the events array; the cursor is just after its '['."""
        window = self.window
        if window.peek() == "]":
            window.pos += 1
            return
        while True:
            batch = window.batch() if window.separator else None
            if batch is None:  # one value, by the standard library's parser
                yield self._generic(window.value(f"events[{self.index}]"))
                window.learn()
            elif batch[0] and isinstance(batch[0][0], msgspec.Raw):
                for raw in batch[0]:
                    yield self._one(raw)
            else:
                yield from self._typed(*batch)
            found = window.peek()
            window.pos += 1
            if found == "]":
                return
            if found != ",":
                shown = repr(found) if found else "end of input (truncated?)"
                raise BadInput(f"events[{self.index}]: expected ',' or ']', found {shown}")

    def _typed(self, structs: list[Any], data: bytes) -> Iterator[HistoryEvent]:
        """Events from typed structs; one the converters refuse is decoded again from
        its text by the generic decoder."""
        ctx = self.ctx
        if ctx is None:
            ctx = self.ctx = _Ctx(type(structs[0]) in LEGACY_STRUCTS)
        converters = CONVERTERS
        raws: list[msgspec.Raw] | None = None
        for k, struct in enumerate(structs):
            try:
                event: HistoryEvent = converters[type(struct)](struct, ctx)
            except (Refused, _Bad):
                raws = raws or _RAW.decode(data)
                yield self._generic(_parse(raws[k]))
                continue
            self.index += 1
            yield event

    def _one(self, raw: msgspec.Raw) -> HistoryEvent:
        """One element the typed decoder may refuse: typed if it can, generic if not."""
        try:
            struct = _ONE.decode(raw)
        except (msgspec.ValidationError, RecursionError):
            return self._generic(_parse(raw))
        if self.ctx is None:
            self.ctx = _Ctx(type(struct) in LEGACY_STRUCTS)
        try:
            event: HistoryEvent = CONVERTERS[type(struct)](struct, self.ctx)
        except (Refused, _Bad):
            return self._generic(_parse(raw))
        self.index += 1
        return event

    def _generic(self, raw: object) -> HistoryEvent:
        if self.ctx is None:
            self.ctx = _Ctx(_is_legacy(raw))
        try:
            event = _decode_event(raw, self.ctx)
        except _Bad as exc:
            raise BadInput(f"{_event_label(self.index, raw)}: {exc.text()}") from None
        self.index += 1
        return event


_ONE = msgspec.json.Decoder(EventStruct)


def _parse(raw: msgspec.Raw) -> object:
    """An element as plain JSON values, as the standard library parses it."""
    return _JSON.decode(bytes(raw).decode("utf-8"))


def iter_events(binary_file: IO[bytes], chunk_size: int = 1 << 20) -> Iterator[HistoryEvent]:
    """Decode a history file incrementally, yielding one event at a time.

    Memory stays bounded by the chunk size plus the largest event, whatever the number
    of events. Accepts `{"events": [...]}` or a bare list; raises BadInput at the first
    malformed event (events before it have been yielded).
    """
    return _Reader(_Window(binary_file, chunk_size)).history()
