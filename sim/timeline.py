"""A timeline of selected workflows, drawn as SVG from a run's trace lines.

Theory of operation. The trace is the simulator's canonical record: one line per step,
``t=<ns> <node> <what>``. A line belongs to a workflow when one of its tokens is the
workflow's id or one of its run ids. Each selected workflow gets a band of four lanes,
one per kind of node a request crosses - client (and frontend), history (shards and
their persistence), matching, worker - plus an "other" lane only when some line fits
none of them. Every line is a dot on its node's lane at its virtual time (hover for the
line itself), consecutive dots of a workflow are joined, so a request can be followed
from lane to lane, and each fault of the plan is a shaded interval across the figure.

Pure string building, like `adapters/diagrams.py`: no Graphviz, no plotting library,
and the same inputs give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape

from sim.config import SECOND, FaultItem

LANES = ("client", "history", "matching", "worker")
# A node's lane, by the start of its name; the first match wins.
_LANE_OF_PREFIX = (
    ("client", "client"),
    ("frontend", "client"),
    ("history", "history"),
    ("shard", "history"),
    ("persistence", "history"),
    ("db", "history"),
    ("matching", "matching"),
    ("worker", "worker"),
)
_Scale = Callable[[int], float]  # virtual time -> horizontal position
_LINE = re.compile(r"t=(-?\d+) (\S+) ?(.*)")
_TOKEN = re.compile(r"[^\s=,;:()\[\]{}<>'\"]+")

_WIDTH = 1100  # plot area, px
_LEFT = 150  # room for lane names
_LANE_H = 22
_BAND_GAP = 26
_TOP = 56
_COLOURS = {
    "client": "#1f77b4",
    "history": "#d62728",
    "matching": "#2ca02c",
    "worker": "#9467bd",
    "other": "#7f7f7f",
}


@dataclass(frozen=True, slots=True)
class Step:
    """One parsed trace line."""

    time: int
    node: str
    what: str
    line: str


def parse(lines: Iterable[str]) -> list[Step]:
    """The trace lines that have the canonical shape, parsed."""
    steps = []
    for line in lines:
        match = _LINE.match(line)
        if match:
            steps.append(Step(int(match[1]), match[2], match[3], line))
    return steps


def lane_of(node: str) -> str:
    for prefix, lane in _LANE_OF_PREFIX:
        if node.startswith(prefix):
            return lane
    return "other"


def select(steps: Sequence[Step], names: Iterable[str]) -> list[Step]:
    """The steps that mention any of `names` (workflow or run ids) as a whole token."""
    wanted = frozenset(names)
    return [s for s in steps if not wanted.isdisjoint(_TOKEN.findall(s.what))]


@dataclass(frozen=True, slots=True)
class Workflow:
    """A workflow to draw: its id and the run ids it had."""

    workflow_id: str
    run_ids: tuple[str, ...]


def workflows_of(run_to_workflow: dict[str, str], run_ids: Iterable[str]) -> list[Workflow]:
    """Group `run_ids` by workflow (continue-as-new gives a workflow several runs), in order."""
    grouped: dict[str, list[str]] = {}
    for run_id in run_ids:
        grouped.setdefault(run_to_workflow.get(run_id, run_id), [])
    for run_id, workflow_id in run_to_workflow.items():
        if workflow_id in grouped:
            grouped[workflow_id].append(run_id)
    return [Workflow(w, tuple(runs)) for w, runs in grouped.items()]


def timeline_svg(
    trace: Sequence[str],
    workflows: Sequence[Workflow],
    faults: Sequence[FaultItem] = (),
    title: str = "simulation timeline",
) -> str:
    """Render the timeline of `workflows` (see the module docstring) as an SVG document."""
    steps = parse(trace)
    bands = [(wf, select(steps, (wf.workflow_id, *wf.run_ids))) for wf in workflows]
    times = [s.time for _, chosen in bands for s in chosen]
    t0, t1 = (min(times), max(times)) if times else (0, SECOND)
    span = max(t1 - t0, 1)

    def x(t: int) -> float:
        return _LEFT + _WIDTH * (min(max(t, t0), t1) - t0) / span

    lanes_per_band = [_lanes(chosen) for _, chosen in bands]
    height = _TOP + sum(len(ls) * _LANE_H + _BAND_GAP for ls in lanes_per_band) + 20
    width = _LEFT + _WIDTH + 40
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" '
        'font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{_LEFT}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    out += _faults(faults, t0, t1, x, height)
    out += _axis(t0, span, x)
    y = _TOP
    for (wf, chosen), lanes in zip(bands, lanes_per_band, strict=True):
        out += _band(wf, chosen, lanes, y, x)
        y += len(lanes) * _LANE_H + _BAND_GAP
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _lanes(steps: Sequence[Step]) -> tuple[str, ...]:
    if any(lane_of(s.node) == "other" for s in steps):
        return (*LANES, "other")
    return LANES


def _axis(t0: int, span: int, x: _Scale) -> list[str]:
    out = [f'<line x1="{_LEFT}" y1="40" x2="{_LEFT + _WIDTH}" y2="40" stroke="#444"/>']
    for k in range(11):
        t = t0 + span * k // 10
        out.append(f'<line x1="{x(t):.1f}" y1="36" x2="{x(t):.1f}" y2="44" stroke="#444"/>')
        out.append(f'<text x="{x(t):.1f}" y="32" text-anchor="middle">{t / SECOND:.3f} s</text>')
    return out


def _faults(faults: Sequence[FaultItem], t0: int, t1: int, x: _Scale, height: int) -> list[str]:
    out = []
    for item in faults:
        start, end = item.at, item.at + item.duration
        if end < t0 or start > t1:
            continue
        left, right = x(start), x(end)
        label = f"{item.kind} {item.target}"
        out.append(
            f'<rect x="{left:.1f}" y="46" width="{max(right - left, 1.5):.1f}" '
            f'height="{height - 56}" fill="#ff7f0e" fill-opacity="0.12">'
            f"<title>{escape(label)} from {start / SECOND:.3f} s for "
            f"{item.duration / SECOND:.3f} s</title></rect>"
        )
        out.append(
            f'<text x="{left + 2:.1f}" y="{height - 6}" fill="#b35806">{escape(label)}</text>'
        )
    return out


def _band(
    wf: Workflow, steps: Sequence[Step], lanes: Sequence[str], top: int, x: _Scale
) -> list[str]:
    row = {lane: top + k * _LANE_H + _LANE_H // 2 for k, lane in enumerate(lanes)}
    runs = ", ".join(wf.run_ids) if wf.run_ids else "no run"
    out = [
        f'<text x="6" y="{top - 6}" font-weight="bold">{escape(wf.workflow_id)}'
        f'<tspan font-weight="normal" fill="#666"> runs: {escape(runs)}</tspan></text>'
    ]
    for lane in lanes:
        y = row[lane]
        out.append(f'<text x="{_LEFT - 10}" y="{y + 4}" text-anchor="end">{lane}</text>')
        out.append(f'<line x1="{_LEFT}" y1="{y}" x2="{_LEFT + _WIDTH}" y2="{y}" stroke="#ddd"/>')
    if not steps:
        out.append(f'<text x="{_LEFT + 4}" y="{top + 14}" fill="#999">(not in the trace)</text>')
        return out
    points = [(x(s.time), row[lane_of(s.node)]) for s in steps]
    path = " ".join(f"{px:.1f},{py}" for px, py in points)
    out.append(f'<polyline points="{path}" fill="none" stroke="#bbb" stroke-width="0.8"/>')
    for step, (px, py) in zip(steps, points, strict=True):
        colour = _COLOURS[lane_of(step.node)]
        out.append(
            f'<circle cx="{px:.1f}" cy="{py}" r="3" fill="{colour}">'
            f"<title>{escape(step.line)}</title></circle>"
        )
    return out
