"""State diagrams drawn from transition tables, as standalone SVG (no Graphviz needed).

The docs must show each machine as its table defines it, and build on a machine with
nothing but Python, so this module lays the diagram out itself: states go in columns by
their distance from the initial state, transitions are arrows labelled with the inputs
(and, for rows that decide, their guard and handler: ``input [guard] / handler``;
parallel transitions between the same two states share one arrow), self-loops are
drawn above their state, and backward edges curve below the row.
"""

from __future__ import annotations

from collections import defaultdict
from enum import Enum
from html import escape
from typing import TypeVar

from core.statemachine.fsm import Row, Table

S = TypeVar("S", bound=Enum)
I = TypeVar("I", bound=Enum)  # noqa: E741

_CHAR_W = 7.2
_BOX_H = 34
_PAD_X = 14
_COL_GAP = 150
_ROW_GAP = 40
_MARGIN = 40


def _layers(table: Table[S, I]) -> dict[S, int]:
    depth = {table.initial: 0}
    frontier = [table.initial]
    while frontier:
        nxt: list[S] = []
        for state in frontier:
            for row in table.rows:
                if row.source is state and row.target not in depth:
                    depth[row.target] = depth[state] + 1
                    nxt.append(row.target)
        frontier = nxt
    return depth


def to_svg(table: Table[S, I]) -> str:
    """Render `table` as an SVG document (text)."""
    depth = _layers(table)
    columns: dict[int, list[S]] = defaultdict(list)
    for state in table.states:
        columns[depth[state]].append(state)
    width = {
        s: len(s.value if isinstance(s.value, str) else s.name) * _CHAR_W + 2 * _PAD_X
        for s in table.states
    }
    x_of_col: dict[int, float] = {}
    x = float(_MARGIN + 20)
    for col in sorted(columns):
        x_of_col[col] = x
        x += max(width[s] for s in columns[col]) + _COL_GAP
    pos: dict[S, tuple[float, float]] = {}
    for col, states in columns.items():
        for i, state in enumerate(states):
            pos[state] = (x_of_col[col], _MARGIN + 30 + i * (_BOX_H + _ROW_GAP))
    total_w = x - _COL_GAP + _MARGIN + 20
    rows_max = max(len(v) for v in columns.values())
    total_h = _MARGIN * 2 + 60 + rows_max * (_BOX_H + _ROW_GAP)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{total_h:.0f}" '
        f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" font-family="Helvetica, Arial, sans-serif" '
        'font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/>'
        "</marker></defs>",
        f"<title>{escape(table.name)} ({escape(table.rule)})</title>",
    ]
    ix, iy = pos[table.initial]
    parts.append(f'<circle cx="{ix - 24:.1f}" cy="{iy + _BOX_H / 2:.1f}" r="5"/>')
    parts.append(_line(ix - 19, iy + _BOX_H / 2, ix, iy + _BOX_H / 2))
    labels: dict[tuple[S, S], list[str]] = defaultdict(list)
    for row in table.rows:
        labels[(row.source, row.target)].append(_row_text(row))
    for (src, dst), names in labels.items():
        parts.append(_edge(pos, width, src, dst, " | ".join(names)))
    for state in table.states:
        parts.append(_box(pos[state], width[state], state, state in table.terminal))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _row_text(row: Row[S, I]) -> str:
    """The row's input, with its guard and handler when it names them."""
    text = row.input.value if isinstance(row.input.value, str) else row.input.name
    if row.guard:
        text += f" [{row.guard}]"
    if row.handler:
        text += f" / {row.handler}"
    return text


def _line(x1: float, y1: float, x2: float, y2: float) -> str:
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="black" '
        'marker-end="url(#arrow)"/>'
    )


def _box(at: tuple[float, float], w: float, state: Enum, terminal: bool) -> str:
    x, y = at
    name = state.value if isinstance(state.value, str) else state.name
    stroke = ' stroke-width="2.5"' if terminal else ""
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{_BOX_H}" rx="8" '
        f'fill="#eef3fb" stroke="#2b4a7a"{stroke}/>'
        f'<text x="{x + w / 2:.1f}" y="{y + _BOX_H / 2 + 4:.1f}" text-anchor="middle">'
        f"{escape(name)}</text>"
    )


def _label(x: float, y: float, text: str) -> str:
    w = len(text) * 6.0 + 6
    return (
        f'<rect x="{x - w / 2:.1f}" y="{y - 10:.1f}" width="{w:.1f}" height="14" fill="white" '
        'opacity="0.85"/>'
        f'<text x="{x:.1f}" y="{y + 1:.1f}" text-anchor="middle" font-size="10" '
        f'fill="#333">{escape(text)}</text>'
    )


def _edge(
    pos: dict[S, tuple[float, float]], width: dict[S, float], src: S, dst: S, text: str
) -> str:
    sx, sy = pos[src]
    dx, dy = pos[dst]
    if src is dst:
        cx = sx + width[src] / 2
        path = (
            f'<path d="M {cx - 12:.1f} {sy:.1f} C {cx - 30:.1f} {sy - 40:.1f}, '
            f'{cx + 30:.1f} {sy - 40:.1f}, {cx + 12:.1f} {sy:.1f}" fill="none" stroke="black" '
            'marker-end="url(#arrow)"/>'
        )
        return path + _label(cx, sy - 34, text)
    x1, y1 = sx + width[src], sy + _BOX_H / 2
    x2, y2 = dx, dy + _BOX_H / 2
    if x2 <= x1:  # a backward edge: curve below both boxes
        low = max(sy, dy) + _BOX_H + 30
        x1, y1 = sx + width[src] / 2, sy + _BOX_H
        x2, y2 = dx + width[dst] / 2, dy + _BOX_H
        path = (
            f'<path d="M {x1:.1f} {y1:.1f} C {x1:.1f} {low:.1f}, {x2:.1f} {low:.1f}, '
            f'{x2:.1f} {y2:.1f}" fill="none" stroke="black" marker-end="url(#arrow)"/>'
        )
        return path + _label((x1 + x2) / 2, low - 6, text)
    return _line(x1, y1, x2, y2) + _label((x1 + x2) / 2, (y1 + y2) / 2 - 4, text)
