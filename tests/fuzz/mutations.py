"""Hypothesis strategies that mutate a real JSON document into hostile input.

A mutant starts from a real recorded history or repro file and applies up to three
structural mutations - replace any value (with an "interesting" value, a value found
elsewhere in the document, or a neighbour of a number such as an event id), delete a
key or element, duplicate or swap list elements (events), wrap a value - then maybe a
byte-level one on the text: truncation, overwritten or inserted bytes, UTF-16, a
byte-order mark, deep nesting. Lone surrogates are written both escaped (legal JSON)
and raw (not UTF-8). Hypothesis shrinks a failing mutant towards the original.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

from core.enums import EventType

Path = tuple[str | int, ...]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")


INTERESTING: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2**31,
    2**63,
    -(2**63),
    10**30,
    0.5,
    1e308,
    float("nan"),
    "",
    "0",
    "-1",
    "18446744073709551616",
    "x",
    "\ud800",
    "\U0001f600",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999Z",
    "-5s",
    "!!not base64",
    _b64("json/plain"),
    _b64("binary/null"),
    _b64("binary/protobuf"),
    _b64("{nope"),
    _b64("[" * 5000),
    _b64('"\ud800"'),
    [],
    {},
    [[[]]],
    {"payloads": {}},
    {"payloads": [1]},
    {"payloads": [{"metadata": {}, "data": "e30="}]},
    *sorted(f"EVENT_TYPE_{e.name}" for e in EventType)[::6],
]


def _paths(doc: Any, prefix: Path = ()) -> Iterator[Path]:
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from _paths(value, (*prefix, index))


def _get(doc: Any, path: Path) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _neighbours(value: Any) -> list[Any]:
    """Values of the same type near `value`: numbers near a number, also inside a string
    (int64 fields are strings in JSON); a string with a lone surrogate (legal JSON) or
    emptied."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value - 1, value + 1, value * 2, -value]
    if isinstance(value, str) and value.isdigit():
        n = int(value)
        return [str(n - 1), str(n + 1), str(n * 2), str(n + 100)]
    if isinstance(value, str):
        return [value + "\ud800", ""]
    return []


@st.composite
def _replacement(draw: st.DrawFn, doc: Any, old: Any, alike_only: bool) -> Any:
    pools: list[st.SearchStrategy[Any]] = [] if alike_only else [st.sampled_from(INTERESTING)]
    nearby = _neighbours(old)
    if nearby:  # twice as likely: a changed event id or reference gets past the decoder
        pools += [st.sampled_from(nearby)] * 2
    found = [_get(doc, p) for p in _paths(doc) if not isinstance(_get(doc, p), dict | list)]
    alike = [value for value in found if type(value) is type(old)]
    for pool in [alike] if alike_only else [found, alike]:  # a value from elsewhere
        if pool:
            pools.append(st.sampled_from(pool))
    # A copy: a later mutation of this example must not change the pool's value.
    return copy.deepcopy(draw(st.one_of(*pools))) if pools else old


@st.composite
def _structural(draw: st.DrawFn, doc: Any, alike_only: bool) -> Any:
    """One structural mutation of `doc` (changed in place and returned); `alike_only`:
    values are replaced only by values of their own type, and nothing is wrapped."""
    # Deepest first: Hypothesis favours (and shrinks towards) the first elements, and a
    # mutation deep inside an event gets further than one that replaces the whole file.
    path = draw(st.sampled_from(sorted(_paths(doc), key=len, reverse=True)))
    operations = ["replace", "replace", "delete", "duplicate"] + ([] if alike_only else ["wrap"])
    operation = draw(st.sampled_from(operations))
    if not path:
        return draw(_replacement(doc, doc, alike_only)) if operation == "replace" else [doc]
    parent, key = _get(doc, path[:-1]), path[-1]
    if operation == "replace":
        parent[key] = draw(_replacement(doc, parent[key], alike_only))
    elif operation == "delete":
        del parent[key]
    elif operation == "wrap":
        parent[key] = [parent[key]] if draw(st.booleans()) else {"x": parent[key]}
    elif isinstance(parent, list) and isinstance(key, int):
        other = draw(st.integers(0, len(parent) - 1))
        if draw(st.booleans()):
            parent.insert(other, copy.deepcopy(parent[key]))
        else:
            parent[key], parent[other] = parent[other], parent[key]
    return doc


@st.composite
def _bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """Maybe one byte-level mutation of the text."""
    kind = draw(st.sampled_from(["none"] * 10 + ["cut", "overwrite", "insert", "encode", "nest"]))
    if kind == "cut":
        return data[: draw(st.integers(0, len(data)))]
    if kind in ("overwrite", "insert"):
        at = draw(st.integers(0, len(data)))
        junk = draw(st.binary(min_size=1, max_size=8))
        return data[:at] + junk + data[at + (len(junk) if kind == "overwrite" else 0) :]
    if kind == "encode":
        text = data.decode("utf-8", "surrogatepass")
        codec = draw(st.sampled_from(["utf-16", "utf-16-be", "utf-32", "utf-8-sig", "latin-1"]))
        return text.encode(codec, "surrogatepass" if codec.startswith("utf") else "replace")
    if kind == "nest":
        depth = draw(st.sampled_from([2, 1_000, 100_000]))
        return b"[" * depth + data + b"]" * depth
    return data


@st.composite
def mutants(draw: st.DrawFn, doc: Any) -> bytes:
    """A hostile variant of the JSON document `doc`, as the bytes of a file. Half are
    "plausible": values swapped only for values of their type, no byte-level damage,
    so most get past the decoder into the command's own logic."""
    plausible = draw(st.booleans())
    mutated = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        mutated = draw(_structural(mutated, plausible))
    if plausible:
        return json.dumps(mutated).encode("utf-8")
    escaped = draw(st.booleans())
    text = json.dumps(mutated, ensure_ascii=escaped)
    return draw(_bytes(text.encode("utf-8", "surrogatepass")))
