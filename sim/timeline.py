"""A timeline of a run and some of its workflows, drawn as SVG.

Theory of operation. Two records of a run are drawn on one time axis, virtual seconds
from the start of the run to its end (the trace's last line):

- the trace - one line per step, ``t=<ns> <node> <what>``. A line belongs to a workflow
  when one of its tokens is the workflow's id or one of its run ids (``run-3/a0`` counts
  for ``run-3``); the other lines are the cluster's own story (shards moving, hosts
  crashing) and go to a band, "cluster";
- the histories - each committed event at its event time. Most events land on the
  history lane (history hosts write them); the ``*_TASK_STARTED`` events land on the
  matching lane, since a task is recorded started when matching hands it to a worker.

From the top: the axis; the violations, each a red dashed line down the whole figure
with its invariant ids; the fault plan, one bar per fault, packed into rows so that no
two labels overlap (a label that does not fit is cut short with an ellipsis; every bar
has its full description as a tooltip); the cluster band; one band per workflow drawn,
titled with why it was chosen (`sim.timeline_pick`), the faults that touched it shaded.
A band has a lane per kind of node a request crosses: client (and frontend), history
(shards, their owner changes, persistence), matching, worker, and "other" when some
line fits none. A dot is one step (hover for the trace line or the event), and a
workflow's dots are joined in time order so a request can be followed from lane to lane.

Pure string building, like `adapters/diagrams.py`: no Graphviz, no plotting library;
the same inputs give the same bytes. Text widths are estimated (`_text_px`), generously,
since an SVG has no layout engine to ask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from core.events import HistoryEvent
from sim.config import FaultItem
from sim.kernel import SECOND, T0
from sim.timeline_marks import (
    LEFT,
    ROW_H,
    WIDTH,
    Scale,
    fault_rows,
    faults_band,
    fit,
    secs,
    shading,
    tick_step,
    violation_lines,
    violation_rows,
)

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
_LINE = re.compile(r"t=(-?\d+) (\S+) ?(.*)")
_TOKEN = re.compile(r"[^\s=,;:/()\[\]{}<>'\"]+")
_SKIPPED_NODES = frozenset({"run"})  # the run's header and footer lines
_FAULT_NODE = "faults"  # its on/off lines are drawn as the fault plan's bars instead
_CLUSTER_PREFIX = "cluster-"  # the sites of a multi-cluster run (sim/multicluster.py)

_LANE_H = 22
_BAND_GAP = 30
_AXIS_Y = 62
_CLUSTER_COLOUR = "#17becf"
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
    """A workflow to draw: its id, the run ids it had, why it is drawn, and the faults
    that touched it (shaded in its band)."""

    workflow_id: str
    run_ids: tuple[str, ...]
    why: str = ""
    faults: tuple[FaultItem, ...] = ()


def parse(lines: Iterable[str]) -> list[Step]:
    """The trace lines that have the canonical shape, parsed."""
    steps = []
    for line in lines:
        match = _LINE.match(line)
        if match and match[2] not in _SKIPPED_NODES:
            steps.append(Step(int(match[1]), match[2], match[3], line))
    return steps


def run_end(lines: Iterable[str]) -> int:
    """When the run ended: the time of its last canonical line (its footer)."""
    times = [int(m[1]) for m in map(_LINE.match, lines) if m]
    return max(times, default=0)


def lane_of(node: str) -> str:
    if node.startswith(_CLUSTER_PREFIX):  # a multi-cluster run: one lane per cluster
        return node
    for prefix, lane in _LANE_OF_PREFIX:
        if node.startswith(prefix):
            return lane
    return "worker" if "worker" in node else "other"


def tokens(step: Step) -> list[str]:
    """The words of a step that may name a workflow or a run."""
    return _TOKEN.findall(step.what)


def mentions(step: Step, names: frozenset[str]) -> bool:
    return not names.isdisjoint(tokens(step))


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
    bands = _bands(steps, workflows, histories or {}, run_to_workflow or {})
    end = max([run_end(trace), *(s.time for _, _, chosen in bands for s in chosen)])
    span = max(end, 1)

    def x(t: int) -> float:
        return LEFT + WIDTH * min(max(t, 0), end) / span

    found = [(s.time, s.line) for s in steps if s.what.startswith("VIOLATION")]
    violations = violation_rows(found, x)
    bars = fault_rows(faults, end, x)
    rows_v = 1 + max((row for row, *_ in violations), default=-1)
    rows_f = 1 + max((row for row, *_ in bars), default=-1)
    faults_top = _AXIS_Y + 10 + rows_v * ROW_H
    top = faults_top + max(rows_f, 2) * ROW_H + _BAND_GAP
    lanes_per_band = [_lanes(chosen) for _, _, chosen in bands]
    height = top + sum(len(ls) * _LANE_H + _BAND_GAP for ls in lanes_per_band)
    width = LEFT + WIDTH + 30
    out = _head(title, width, height, end)
    out += _axis(end, x, height)
    out += faults_band(bars, len(faults), faults_top)
    y = top
    for (label, tooltip, chosen), lanes, wf in zip(
        bands, lanes_per_band, (None, *workflows), strict=True
    ):
        band_h = len(lanes) * _LANE_H
        if wf is not None:
            out += shading(wf.faults, x, y, band_h)
        out += _band(label, tooltip, chosen, lanes, y, x, joined=wf is not None)
        y += band_h + _BAND_GAP
    out += violation_lines(violations, _AXIS_Y + 6, height - 10)
    out.append("</svg>")
    return "\n".join(out) + "\n"


Band = tuple[str, str, list[Step]]  # label, tooltip, steps


def _bands(
    steps: Sequence[Step],
    workflows: Sequence[Workflow],
    histories: Mapping[str, Sequence[HistoryEvent]],
    run_to_workflow: Mapping[str, str],
) -> list[Band]:
    everyone = frozenset(n for wf in workflows for n in (wf.workflow_id, *wf.run_ids))
    everyone |= frozenset(n for pair in run_to_workflow.items() for n in pair)
    cluster = [s for s in steps if s.node != _FAULT_NODE and not mentions(s, everyone)]
    bands: list[Band] = [("cluster", "shard ownership, crashes and restarts", cluster)]
    for wf in workflows:
        names = frozenset((wf.workflow_id, *wf.run_ids))
        chosen = [s for s in steps if mentions(s, names)]
        for run_id in wf.run_ids:
            chosen += event_steps(run_id, histories.get(run_id, ()))
        chosen.sort(key=lambda s: s.time)
        runs = len(wf.run_ids)
        label = f"{wf.workflow_id} ({runs} run{'s' * (runs != 1)})"
        label += f": {wf.why}" if wf.why else ""
        bands.append((label, f"runs: {', '.join(wf.run_ids) or 'none'}", chosen))
    return bands


def _head(title: str, width: int, height: int, end: int) -> list[str]:
    note = (
        f"virtual time since the run started (it ended at {end / SECOND:.3f} s); "
        "hover over a dot, bar or label for its details"
    )
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" '
        'font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="6" y="18" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<text x="6" y="34" fill="#555">{note}</text>',
    ]


def _lanes(steps: Sequence[Step]) -> tuple[str, ...]:
    clusters = sorted({s.node for s in steps if s.node.startswith(_CLUSTER_PREFIX)})
    if clusters:
        others = any(lane_of(s.node) == "other" for s in steps)
        return (*clusters, *(("other",) if others else ()))
    if any(lane_of(s.node) == "other" for s in steps):
        return (*LANES, "other")
    return LANES


def _axis(end: int, x: Scale, height: int) -> list[str]:
    y = _AXIS_Y
    out = [f'<line x1="{LEFT}" y1="{y}" x2="{LEFT + WIDTH}" y2="{y}" stroke="#444"/>']
    step = tick_step(max(end, 1))
    for t in range(0, end + 1, step):
        px = x(t)
        out.append(f'<line x1="{px:.1f}" y1="{y}" x2="{px:.1f}" y2="{height - 10}" stroke="#eee"/>')
        out.append(f'<line x1="{px:.1f}" y1="{y - 4}" x2="{px:.1f}" y2="{y + 4}" stroke="#444"/>')
        out.append(f'<text x="{px:.1f}" y="{y - 8}" text-anchor="middle">{secs(t)}</text>')
    last = x(end)  # the run's end, whether or not a tick falls there
    out.append(f'<line x1="{last:.1f}" y1="{y - 6}" x2="{last:.1f}" y2="{y + 6}" stroke="#444"/>')
    return out


# --------------------------------------------------------------------------- bands


def _band(
    label: str,
    tooltip: str,
    steps: Sequence[Step],
    lanes: Sequence[str],
    top: int,
    x: Scale,
    joined: bool,
) -> list[str]:
    row = {lane: top + k * _LANE_H + _LANE_H // 2 for k, lane in enumerate(lanes)}
    shown = fit(label, LEFT + WIDTH - 6)
    out = [
        f'<text x="6" y="{top - 8}" font-weight="bold">{escape(shown)}'
        f"<title>{escape(label)}; {escape(tooltip)}</title></text>"
    ]
    for lane in lanes:
        y = row[lane]
        out.append(f'<text x="{LEFT - 10}" y="{y + 4}" text-anchor="end">{lane}</text>')
        out.append(f'<line x1="{LEFT}" y1="{y}" x2="{LEFT + WIDTH}" y2="{y}" stroke="#ddd"/>')
    if not steps:
        out.append(f'<text x="{LEFT + 4}" y="{top + 14}" fill="#999">(nothing recorded)</text>')
        return out
    points = [(x(s.time), row[lane_of(s.node)]) for s in steps]
    if joined:
        path = " ".join(f"{px:.1f},{py}" for px, py in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="#bbb" stroke-width="0.8"/>')
    for step, (px, py) in zip(steps, points, strict=True):
        lane = lane_of(step.node)
        colour = "red" if step.what.startswith("VIOLATION") else _COLOURS.get(lane, _CLUSTER_COLOUR)
        out.append(
            f'<circle cx="{px:.1f}" cy="{py}" r="3" fill="{colour}">'
            f"<title>{escape(step.line)}</title></circle>"
        )
    return out
