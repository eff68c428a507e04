"""A timeline of a run and some of its workflows, drawn as SVG.

Theory of operation. Two records of a run are drawn on one time axis (virtual seconds
from the start of the run):

- the trace - one line per step, ``t=<ns> <node> <what>``. A line belongs to a workflow
  when one of its tokens is the workflow's id or one of its run ids (``run-3/a0`` counts
  for ``run-3``); the other lines are the cluster's own story (shards moving, hosts
  crashing, faults switching on) and go to a first band, "cluster";
- the histories - each committed event at its event time. Most events land on the
  history lane (history hosts write them); the ``*_TASK_STARTED`` events land on the
  matching lane, since a task is recorded started when matching hands it to a worker.

Each band has four lanes, one per kind of node a request crosses: client (and
frontend), history (shards, their owner changes, persistence), matching, worker; plus
"other" when some line fits none. A dot is one step (hover for the trace line or the
event), a workflow's dots are joined in time order so a request can be followed from
lane to lane, a fault of the plan is a shaded interval, and a violation is a red line
across the figure.

Pure string building, like `adapters/diagrams.py`: no Graphviz, no plotting library;
the same inputs give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from core.events import HistoryEvent
from sim.config import FaultItem
from sim.kernel import SECOND, T0

LANES = ("client", "history", "matching", "worker")
# A node's lane, by the start of its name; the first match wins.
_LANE_OF_PREFIX = (
    ("client", "client"),
    ("frontend", "client"),
    ("history", "history"),
    ("shard", "history"),
    ("controller", "history"),
    ("persistence", "history"),
    ("matching", "matching"),
)
_Scale = Callable[[int], float]  # virtual time -> horizontal position
_LINE = re.compile(r"t=(-?\d+) (\S+) ?(.*)")
_TOKEN = re.compile(r"[^\s=,;:/()\[\]{}<>'\"]+")
_SKIPPED_NODES = frozenset({"run"})  # the run's header and footer lines

_WIDTH = 1100  # plot area, px
_LEFT = 150  # room for lane names
_LANE_H = 22
_BAND_GAP = 28
_TOP = 60
_COLOURS = {
    "client": "#1f77b4",
    "history": "#d62728",
    "matching": "#2ca02c",
    "worker": "#9467bd",
    "other": "#7f7f7f",
}


@dataclass(frozen=True, slots=True)
class Step:
    """One thing drawn: when (virtual ns from the start), on which node, and its text."""

    time: int
    node: str
    what: str
    line: str


@dataclass(frozen=True, slots=True)
class Workflow:
    """A workflow to draw: its id and the run ids it had."""

    workflow_id: str
    run_ids: tuple[str, ...]


def parse(lines: Iterable[str]) -> list[Step]:
    """The trace lines that have the canonical shape, parsed."""
    steps = []
    for line in lines:
        match = _LINE.match(line)
        if match and match[2] not in _SKIPPED_NODES:
            steps.append(Step(int(match[1]), match[2], match[3], line))
    return steps


def lane_of(node: str) -> str:
    for prefix, lane in _LANE_OF_PREFIX:
        if node.startswith(prefix):
            return lane
    return "worker" if "worker" in node else "other"


def mentions(step: Step, names: frozenset[str]) -> bool:
    return not names.isdisjoint(_TOKEN.findall(step.what))


def event_steps(run_id: str, events: Sequence[HistoryEvent]) -> list[Step]:
    """A run's committed events as steps (events without a time are left out)."""
    steps = []
    for event in events:
        if event.event_time is None:
            continue
        name = event.event_type.name.removeprefix("EVENT_TYPE_")
        node = "matching" if name.endswith("_TASK_STARTED") else "history"
        time = event.event_time - T0 if event.event_time >= T0 else event.event_time
        text = f"{run_id} event {event.event_id} {name}"
        steps.append(Step(time, node, text, f"t={time} {node} {text}"))
    return steps


def workflows_of(run_to_workflow: Mapping[str, str], run_ids: Iterable[str]) -> list[Workflow]:
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
    histories: Mapping[str, Sequence[HistoryEvent]] | None = None,
    run_to_workflow: Mapping[str, str] | None = None,
) -> str:
    """Render the run (see the module docstring) as an SVG document.

    `run_to_workflow` names every run of the simulation, so that the lines of workflows
    not drawn stay out of the cluster band."""
    steps = parse(trace)
    everyone = frozenset(n for wf in workflows for n in (wf.workflow_id, *wf.run_ids))
    everyone |= frozenset(n for pair in (run_to_workflow or {}).items() for n in pair)
    bands: list[tuple[str, list[Step]]] = [
        ("cluster", [s for s in steps if not mentions(s, everyone)])
    ]
    for wf in workflows:
        names = frozenset((wf.workflow_id, *wf.run_ids))
        chosen = [s for s in steps if mentions(s, names)]
        for run_id in wf.run_ids:
            chosen += event_steps(run_id, (histories or {}).get(run_id, ()))
        chosen.sort(key=lambda s: s.time)
        runs = ", ".join(wf.run_ids) or "no run"
        bands.append((f"{wf.workflow_id} (runs: {runs})", chosen))
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
    for (label, chosen), lanes in zip(bands, lanes_per_band, strict=True):
        out += _band(label, chosen, lanes, y, x, joined=label != "cluster")
        y += len(lanes) * _LANE_H + _BAND_GAP
    out += _violations(steps, x, height)
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


def _violations(steps: Sequence[Step], x: _Scale, height: int) -> list[str]:
    out = []
    for step in steps:
        if step.what.startswith("VIOLATION"):
            px = x(step.time)
            out.append(
                f'<line x1="{px:.1f}" y1="46" x2="{px:.1f}" y2="{height - 14}" stroke="red" '
                f'stroke-width="1.5" stroke-dasharray="4 3"><title>{escape(step.line)}</title>'
                "</line>"
            )
            invariant = step.what.split()[1] if len(step.what.split()) > 1 else "VIOLATION"
            out.append(f'<text x="{px + 3:.1f}" y="54" fill="red">{escape(invariant)}</text>')
    return out


def _band(
    label: str, steps: Sequence[Step], lanes: Sequence[str], top: int, x: _Scale, joined: bool
) -> list[str]:
    row = {lane: top + k * _LANE_H + _LANE_H // 2 for k, lane in enumerate(lanes)}
    out = [f'<text x="6" y="{top - 6}" font-weight="bold">{escape(label)}</text>']
    for lane in lanes:
        y = row[lane]
        out.append(f'<text x="{_LEFT - 10}" y="{y + 4}" text-anchor="end">{lane}</text>')
        out.append(f'<line x1="{_LEFT}" y1="{y}" x2="{_LEFT + _WIDTH}" y2="{y}" stroke="#ddd"/>')
    if not steps:
        out.append(f'<text x="{_LEFT + 4}" y="{top + 14}" fill="#999">(nothing recorded)</text>')
        return out
    points = [(x(s.time), row[lane_of(s.node)]) for s in steps]
    if joined:
        path = " ".join(f"{px:.1f},{py}" for px, py in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="#bbb" stroke-width="0.8"/>')
    for step, (px, py) in zip(steps, points, strict=True):
        colour = "red" if step.what.startswith("VIOLATION") else _COLOURS[lane_of(step.node)]
        out.append(
            f'<circle cx="{px:.1f}" cy="{py}" r="3" fill="{colour}">'
            f"<title>{escape(step.line)}</title></circle>"
        )
    return out
