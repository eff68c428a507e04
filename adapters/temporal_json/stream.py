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
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, repeat
from typing import IO, Any, TypeVar

import msgspec

from core.errors import BadInput
from core.events import HistoryEvent

from .codec import (
    DecodedHistory,
    FieldOrder,
    Style,
    _decode_event,
    _encode_event,
    _gc_paused,
    _reject_constant,
    decode_history_generic,
)
from .errors import _Bad, _event_label, _show
from .forms import (
    ENCODED_TWICE,
    TOP_KEYS_EXPECTED,
    check_response_field,
    first_event_form,
    in_order,
    top_key,
)
from .gostruct import to_protojson
from .legacy import _is_legacy
from .scalars import _Ctx
from .shorthand import expand_event, has_shorthand
from .typed import BATCH, CONVERTERS, LEGACY_STRUCTS, ONE, Refused, event_time, event_times


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

T = TypeVar("T")
_UNREAD = object()  # an event time not read yet
_JSON = json.JSONDecoder(parse_constant=_reject_constant)
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
        `,`, whitespace, `{`, and the next event's first key), which files repeat
        between every two events: finding them is how `batch` cuts the window."""
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
        if buf[after : after + 1] != b"{":
            return
        after += 1
        while after < len(buf) and buf[after] in _WHITESPACE:
            after += 1
        # The next event's first key too, if it is plain: events start with the same
        # key (eventId), nested objects seldom do, so cuts rarely land inside an event.
        end = buf.find(b'"', after + 1) if buf[after : after + 1] == b'"' else -1
        if end > 0 and b"\\" not in buf[after:end]:
            after = end
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
                    items: list[Any] = BATCH.decode(data)
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
    """Decodes the events of a history from a `_Window`, in lists (one per run of
    events decoded together); `ctx` holds what it saw, `count` how many it decoded."""

    def __init__(self, window: _Window, typed: bool = True, shorthand: bool = False) -> None:
        self.window = window
        self.typed = typed  # False: every event by the generic decoder, as before typed.py
        self.ctx: _Ctx | None = None
        self.count = 0
        # Payloads in shorthand (the HTTP API's answer, or a first event holding one:
        # forms.first_event_form): every event is read generically, its payloads
        # expanded (shorthand.py) before decoding; `rebuilt` counts those.
        self.shorthand = shorthand
        self.late_shorthand = False  # shorthand found after events read without
        self.rebuilt = 0
        # The Web UI's raw history (Go struct JSON, gostruct.py), told by the first
        # event: every event is read generically and rewritten into protobuf JSON.
        self.go_struct = False

    def history(self) -> Iterator[list[HistoryEvent]]:
        """The events of the file, oldest first: a file written newest first (every id
        below the one before: `temporal workflow show --reverse`, the HTTP API's
        `history-reverse`) is held whole and put in order (forms.in_order)."""
        batches = self._file()
        head: list[HistoryEvent] = []
        for batch in batches:
            head.extend(batch)
            if len(head) > 1:
                break
        if len(head) > 1 and head[0].event_id > head[1].event_id:
            yield in_order(head + list(chain.from_iterable(batches)))
            return
        yield head
        yield from batches

    def _file(self) -> Iterator[list[HistoryEvent]]:
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
        elif first == '"':
            raise BadInput(ENCODED_TWICE)
        else:
            shown = repr(first) if first else "an empty file"
            raise BadInput(f'expected {{"events": [...]}} or a list of events, found {shown}')
        if window.peek():
            raise BadInput(f"unexpected data after the history at offset {window.offset}")

    def _object(self) -> Iterator[list[HistoryEvent]]:
        """`{"events": [...]}`, or the HTTP API's `{"history": {"events": [...]}, ...}`
        (forms.py); the cursor is just after the '{'."""
        window = self.window
        seen: dict[object, None] = {}  # the keys read, in order
        while True:
            key = top_key(window.value("top level"))
            if key in seen:
                raise BadInput(f"the {key} key appears twice")
            if (key == "events" and seen) or (key != "events" and "events" in seen):
                raise BadInput(f"unexpected top-level key {_show(key)} ({TOP_KEYS_EXPECTED})")
            seen[key] = None
            window.expect(":", "top level")
            if key == "events":
                window.expect("[", "events")
                yield from self._events()
            elif key == "history":
                self.shorthand = True
                yield from self._history()
            else:
                check_response_field(key, window.value(str(key)))
            found = window.peek()
            window.pos += 1
            if found == "}":
                break
            if found != ",":
                raise BadInput(f"top level: expected ',' or '}}' at offset {window.offset - 1}")
        if "events" not in seen and "history" not in seen:
            first = next(iter(seen))
            raise BadInput(f"unexpected top-level key {_show(first)} ({TOP_KEYS_EXPECTED})")

    def _history(self) -> Iterator[list[HistoryEvent]]:
        """The HTTP API's `history` object: `{"events": [...]}`, `{}` or `null`."""
        window = self.window
        if window.peek() != "{":
            value = window.value("history")
            if value is not None:
                raise BadInput(f"history: expected an object, got {_show(value)}")
            return
        window.pos += 1
        if window.peek() == "}":
            window.pos += 1
            return
        key = window.value("history")
        if key != "events":
            raise BadInput(f"history: unexpected key {_show(key)} (a history has only events)")
        window.expect(":", "history")
        if window.peek() == "n":
            window.value("history.events")  # null: no events
        else:
            window.expect("[", "history.events")
            yield from self._events()
        window.expect("}", "history")

    def _events(self) -> Iterator[list[HistoryEvent]]:
        """The elements of the events array; the cursor is just after its '['."""
        window = self.window
        if window.peek() == "]":
            window.pos += 1
            return
        while True:
            fast = window.separator and self.typed and not (self.shorthand or self.go_struct)
            batch = window.batch() if fast else None
            if batch is None:  # one value, by the standard library's parser
                yield [self._generic(window.value(f"events[{self.count}]"))]
                window.learn()
            elif batch[0] and isinstance(batch[0][0], msgspec.Raw):
                yield from self._each(batch[0], self._one)
            else:
                yield from self._typed(*batch)
            found = window.peek()
            window.pos += 1
            if found == "]":
                return
            if found != ",":
                shown = repr(found) if found else "end of input (truncated?)"
                raise BadInput(f"events[{self.count}]: expected ',' or ']', found {shown}")

    def _typed(self, structs: list[Any], data: bytes) -> Iterator[list[HistoryEvent]]:
        """Events from typed structs, all at once; if the converters refuse one, one by
        one, each refused event decoded again from its text by the generic decoder."""
        ctx = self.ctx
        if ctx is None:
            ctx = self.ctx = _Ctx(type(structs[0]) in LEGACY_STRUCTS)
        converters = CONVERTERS
        try:
            times: Sequence[int | None] | None = event_times(structs, ctx)
        except _Bad:
            times = None  # each event's time is read with the event
        try:
            if times is None:
                raise Refused
            events = [converters[type(s)](s, ctx, t) for s, t in zip(structs, times, strict=True)]
        except (Refused, _Bad):
            items = list(zip(structs, _RAW.decode(data), times or repeat(_UNREAD), strict=False))
            yield from self._each(items, lambda item: self._convert(*item))
        else:
            self.count += len(events)
            yield events

    def _each(
        self, items: list[T], decode: Callable[[T], HistoryEvent]
    ) -> Iterator[list[HistoryEvent]]:
        """`decode` each item; the events before a bad one are handed out before its
        error is raised."""
        events: list[HistoryEvent] = []
        try:
            for item in items:
                events.append(decode(item))
        except BadInput:
            yield events
            raise
        yield events

    def _one(self, raw: msgspec.Raw) -> HistoryEvent:
        """One element the typed decoder may refuse: typed if it can, generic if not."""
        try:
            struct = ONE.decode(raw)
        except (msgspec.ValidationError, RecursionError):
            return self._generic(_parse(raw))
        return self._convert(struct, raw, _UNREAD)

    def _convert(self, struct: Any, raw: msgspec.Raw, time: object = None) -> HistoryEvent:
        """The event of a typed struct (whose time may have been read: see `_typed`),
        or of its text if the converter refuses it."""
        if self.ctx is None:
            self.ctx = _Ctx(type(struct) in LEGACY_STRUCTS)
        try:
            read = event_time(struct, self.ctx) if time is _UNREAD else time
            event = CONVERTERS[type(struct)](struct, self.ctx, read)  # type: ignore[arg-type]
        except (Refused, _Bad):
            return self._generic(_parse(raw))
        self.count += 1
        return event

    def _generic(self, raw: object) -> HistoryEvent:
        if self.ctx is None:
            self.go_struct, self.shorthand = first_event_form(raw, self.shorthand)
            self.ctx = _Ctx(_is_legacy(raw))
        try:
            if self.go_struct:
                raw = to_protojson(raw)
            if self.shorthand:
                self.rebuilt += expand_event(raw)
            event = _decode_event(raw, self.ctx)
        except _Bad as exc:
            if self.shorthand or self.go_struct or not has_shorthand(raw):
                raise BadInput(f"{_event_label(self.count, raw)}: {exc.text()}") from None
            # Shorthand after events without any: read as shorthand from here on (the
            # events before may hold shorthand values kept unexpanded, which no rule of
            # the validator reads; whole-file readers start again: `late_shorthand`).
            self.shorthand = self.late_shorthand = True
            return self._generic(raw)
        self.count += 1
        return event


def _parse(raw: msgspec.Raw) -> object:
    """An element as plain JSON values, as the standard library parses it."""
    return _JSON.decode(bytes(raw).decode("utf-8"))


class EventStream(Iterator[HistoryEvent]):
    """The events of a history file, decoded as they are read; `count` says how many
    have been decoded so far (after an error: how many were good).

    Iterating it hands out the decoder's lists through `itertools.chain`, so a consumer
    pays no Python call per event."""

    def __init__(self, reader: _Reader) -> None:
        self._reader = reader
        self._events = chain.from_iterable(reader.history())

    def __iter__(self) -> Iterator[HistoryEvent]:
        return self._events

    def __next__(self) -> HistoryEvent:
        return next(self._events)

    @property
    def count(self) -> int:
        return self._reader.count

    @property
    def late_shorthand(self) -> bool:
        """Whether shorthand payloads turned up after events read as protobuf JSON: a
        reader holding the whole file reads it again with `shorthand=True`."""
        return self._reader.late_shorthand

    @property
    def rebuilt_payloads(self) -> int:
        """How many payloads so far were shorthand (the HTTP API's form), rebuilt: the
        same values, maybe not the same bytes (shorthand.py)."""
        return self._reader.rebuilt


def iter_events(
    binary_file: IO[bytes],
    chunk_size: int = 1 << 20,
    *,
    typed: bool = True,
    shorthand: bool = False,
) -> EventStream:
    """Decode a history file incrementally, yielding one event at a time.

    Memory stays bounded by the chunk size plus the largest event, whatever the number
    of events, except for a file written newest first, which is held whole to be put
    in order (`_Reader.history`). Accepts every form forms.py lists: `{"events": [...]}`,
    a bare list, the HTTP API's `{"history": {"events": [...]}, ...}`, Go's struct
    JSON; raises BadInput at the first malformed event (events before it have been
    yielded). `typed=False` decodes every
    event with the generic decoder alone (for comparisons: `tmodel bench validate`);
    `shorthand=True` reads payloads as shorthand from the first event (forms.py).
    """
    return EventStream(_Reader(_Window(binary_file, chunk_size), typed, shorthand))


def decode_history(source: str | bytes | bytearray | object) -> DecodedHistory:
    """Decode a whole history: JSON text (str/bytes) or the parsed object.

    Accepts `{"events": [...]}`, a bare list of events or the HTTP API's
    `{"history": ...}` (forms.py), canonical or legacy style.
    Raises BadInput on anything malformed. Text is read by the typed decoder, as
    `iter_events` reads a file; where that finds a fault, the generic decoder reads the
    text again, so the error (or, for a duplicated key the typed reader refuses, the
    history) is the generic decoder's. For big files prefer `iter_events`.
    """
    if isinstance(source, str | bytes | bytearray):
        data = source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source
        with _gc_paused():
            try:
                return read_history(data)
            except (BadInput, RecursionError):
                pass
    return decode_history_generic(source)


def read_history(data: bytes | bytearray, chunk_size: int = 1 << 20) -> DecodedHistory:
    """Decode history text as `iter_events` does, keeping how it was written; BadInput
    (with the streaming reader's message) if it is not a history."""
    reader = _Reader(_Window(io.BytesIO(data), chunk_size))
    events = tuple(chain.from_iterable(reader.history()))
    if reader.late_shorthand:
        reader = _Reader(_Window(io.BytesIO(data), chunk_size), shorthand=True)
        events = tuple(chain.from_iterable(reader.history()))
    ctx = reader.ctx
    return DecodedHistory(
        events,
        "legacy" if ctx and ctx.legacy else "canonical",
        "declaration" if ctx and ctx.declaration_order else "number",
        reader.rebuilt,
    )
