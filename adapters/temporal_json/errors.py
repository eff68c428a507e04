"""Locating a problem in the input: the JSON path below an event, and short value texts.

Decoders raise `_Bad` with the problem alone; each enclosing message, array or event
adds its key while the exception unwinds, so the hot path builds no paths on success.
The public functions turn `_Bad` into `BadInput` with one line naming event and path.
"""

from __future__ import annotations

import json


class _Bad(Exception):
    """A problem below an event, located by the JSON path collected while unwinding."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path: list[str] = []

    def at(self, key: str | int) -> _Bad:
        self.path.append(f"[{key}]" if isinstance(key, int) else key)
        return self

    def text(self) -> str:
        path = ""
        for part in reversed(self.path):
            path += part if part.startswith("[") or not path else "." + part
        return f"{path}: {self.problem}" if path else self.problem


def _show(raw: object) -> str:
    """A short description of a JSON value for an error message."""
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        text = json.dumps(raw, ensure_ascii=True)
        return text if len(text) <= 40 else text[:37] + '..."'
    if isinstance(raw, int | float):
        text = repr(raw)
        return text if len(text) <= 24 else text[:21] + "..."
    if isinstance(raw, dict):
        return "an object"
    if isinstance(raw, list):
        return "an array"
    return type(raw).__name__


def _event_label(index: int, raw: object) -> str:
    label = f"events[{index}]"
    if isinstance(raw, dict) and "eventId" in raw:
        label += f" (eventId {_show(raw['eventId'])})"
    return label
