"""What a timeline draws above its bands, and how it keeps text readable.

`sim.timeline` draws the run; this module holds its geometry and the marks that are not
a workflow's steps: the time axis's tick spacing, the fault plan as rows of bars, the
shading of the faults that touched a workflow, and the violations as red lines. Labels
are placed by `pack` so that no two overlap: a label runs right from where its bar
starts, and the next thing in its row starts only after it ends; with too many at once
a label is cut short with an ellipsis, and every bar, line and label keeps its full
text as an SVG tooltip (``<title>``). Text widths are estimated (`text_px`), generously,
since an SVG has no layout engine to ask.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from html import escape

from sim.config import FaultItem
from sim.kernel import SECOND

Scale = Callable[[int], float]  # virtual time -> horizontal position
WIDTH = 1100  # plot area, px
LEFT = 90  # room for lane names
ROW_H = 15  # a row of fault bars or violation labels
_FAULT_ROWS = 8  # more rows than this and labels are cut short instead
_VIOLATION_ROWS = 3
_CHAR_PX = 6.6  # a generous average glyph width at 11 px
_GAP = 6
_FAULT_FILL = "#ff7f0e"
_FAULT_TEXT = "#8a4500"
_VIOLATION_ID = re.compile(r"VIOLATION (\S+)")


def tick_step(span: int) -> int:
    """A round tick spacing (1, 2, 2.5 or 5 times a power of ten, in ns), the smallest
    that gives at most ten intervals over `span` ns."""
    scale = 1
    while True:
        for tenths in (10, 20, 25, 50):
            step = max(tenths * scale // 10, 1)
            if span <= 10 * step:
                return step
        scale *= 10


def secs(ns: int) -> str:
    return f"{ns / SECOND:g} s"


# --------------------------------------------------------------------------- labels


def text_px(text: str) -> float:
    return _CHAR_PX * len(text)


def fit(text: str, room: float) -> str:
    """`text`, cut short with an ellipsis when it is wider than `room` px."""
    if text_px(text) <= room:
        return text
    keep = int(room / _CHAR_PX) - 1
    return text[:keep] + "\u2026" if keep > 0 else ""


def pack(spans: Sequence[tuple[float, float, str]], max_rows: int) -> list[tuple[int, str]]:
    """A row and the label shown, for each (left, right, label) sorted by left.

    A label starts at its bar and nothing else may start before it ends, so no two
    labels (or a label and a bar) overlap in a row. When every row is taken and
    `max_rows` are open, the row whose last bar ended earliest (before this one starts)
    is reused and its last label cut short to make room; only bars overlapping in time
    more than `max_rows` deep open further rows."""
    ends: list[float] = []  # per row: where its last bar or label ends
    bar_ends: list[float] = []  # per row: where its last bar ends
    last: list[int] = []  # per row: its last span
    shown: list[tuple[int, str]] = []
    for k, (left, right, label) in enumerate(spans):
        free = [r for r, end in enumerate(ends) if end + _GAP <= left]
        cuttable = [r for r, end in enumerate(bar_ends) if end + _GAP <= left]
        if free:
            row = free[0]
        elif len(ends) >= max_rows and cuttable:
            row = min(cuttable, key=lambda r: spans[last[r]][0])
            prev = last[row]
            room = left - _GAP - spans[prev][0] - 3
            shown[prev] = (row, fit(spans[prev][2], room))
        else:
            row = len(ends)
            ends.append(0.0)
            bar_ends.append(0.0)
            last.append(-1)
        shown.append((row, label))
        ends[row] = max(right, left + 3 + text_px(label))
        bar_ends[row] = right
        last[row] = k
    return shown


# --------------------------------------------------------------------------- faults


def describe(item: FaultItem) -> str:
    where = "all nodes" if item.target == "*" else item.target
    params = ", ".join(f"{key} {value}" for key, value in item.params)
    text = f"{item.kind} on {where} from {secs(item.at)} for {secs(item.duration)}"
    return f"{text} ({params})" if params else text


FaultRow = tuple[int, FaultItem, str, float, float]  # row, fault, label, left, right


def fault_rows(faults: Sequence[FaultItem], end: int, x: Scale) -> list[FaultRow]:
    items = sorted((f for f in faults if f.at <= end), key=lambda f: (f.at, f.kind, f.target))
    spans = []
    for item in items:
        label = item.kind if item.target == "*" else f"{item.kind} {item.target}"
        left = x(item.at)
        spans.append((left, max(x(item.at + item.duration), left + 2), label))
    placed = pack(spans, _FAULT_ROWS)
    return [
        (row, item, shown, left, right)
        for item, (row, shown), (left, right, _) in zip(items, placed, spans, strict=True)
    ]


def faults_band(rows: Sequence[FaultRow], planned: int, top: int) -> list[str]:
    out = [
        f'<text x="6" y="{top + 10}" font-weight="bold">faults</text>',
        f'<text x="6" y="{top + 24}" fill="#555">{planned} planned</text>',
    ]
    for row, item, label, left, right in rows:
        y = top + row * ROW_H
        tooltip = f"<title>{escape(describe(item))}</title>"
        out.append(
            f'<rect x="{left:.1f}" y="{y + 1}" width="{right - left:.1f}" height="{ROW_H - 3}" '
            f'fill="{_FAULT_FILL}" fill-opacity="0.35">{tooltip}</rect>'
        )
        if label:
            out.append(
                f'<text x="{left + 3:.1f}" y="{y + ROW_H - 4}" fill="{_FAULT_TEXT}">'
                f"{escape(label)}{tooltip}</text>"
            )
    if not rows:
        out.append(f'<text x="{LEFT + 4}" y="{top + 11}" fill="#999">(none)</text>')
    return out


def shading(faults: Sequence[FaultItem], x: Scale, top: int, height: int) -> list[str]:
    out = []
    for item in faults:
        left, right = x(item.at), x(item.at + item.duration)
        out.append(
            f'<rect x="{left:.1f}" y="{top}" width="{max(right - left, 1.5):.1f}" '
            f'height="{height}" fill="{_FAULT_FILL}" fill-opacity="0.13">'
            f"<title>{escape(describe(item))}</title></rect>"
        )
    return out


# --------------------------------------------------------------------------- violations


Violations = tuple[int, float, float, list[tuple[int, str]]]
"""A group of violations at one time: row, line x, label x, their (time, trace line)s."""


def violation_rows(found: Sequence[tuple[int, str]], x: Scale) -> list[Violations]:
    """The violations (time, trace line) grouped by when they happened, each group given
    a label row; a label that would run off the plot's right edge is drawn left of its
    line."""
    groups: dict[int, list[tuple[int, str]]] = {}
    for time, line in found:
        groups.setdefault(time, []).append((time, line))
    times = sorted(groups)
    spans = []
    for t in times:
        label = _violation_label(groups[t])
        wide = text_px(label) + 6
        spans.append((x(t) if x(t) + wide <= LEFT + WIDTH else x(t) - wide, x(t), label))
    placed = pack(spans, _VIOLATION_ROWS)
    return [
        (row, x(t), left, groups[t])
        for t, (row, _), (left, _, _) in zip(times, placed, spans, strict=True)
    ]


def _violation_label(group: Sequence[tuple[int, str]]) -> str:
    ids = (m[1] if (m := _VIOLATION_ID.search(line)) else "?" for _, line in group)
    return ", ".join(dict.fromkeys(ids))


def violation_lines(rows: Sequence[Violations], top: int, bottom: int) -> list[str]:
    out = []
    for row, px, left, group in rows:
        tooltip = escape("\n".join(line for _, line in group))
        out.append(
            f'<line x1="{px:.1f}" y1="{top}" x2="{px:.1f}" y2="{bottom}" stroke="red" '
            f'stroke-width="1.5" stroke-dasharray="4 3"><title>{tooltip}</title></line>'
        )
        y = top + 14 + row * ROW_H
        out.append(
            f'<text x="{left + 3:.1f}" y="{y}" fill="red">{escape(_violation_label(group))}'
            f"<title>{tooltip}</title></text>"
        )
    return out
