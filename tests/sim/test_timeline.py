"""The SVG timeline: lanes, selection by workflow, faults, violations, determinism, the
axis reaching the run's end, labels that do not overlap."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from sim.config import FaultItem, SimConfig
from sim.kernel import SECOND
from sim.run import simulate
from sim.timeline import Workflow, lane_of, parse, timeline_svg, workflows_of
from sim.timeline_marks import LEFT, WIDTH, pack, text_px, tick_step

SVG = "{http://www.w3.org/2000/svg}"

TRACE = (
    "t=0 run seed=1 workflows=2",
    "t=0 controller shard-1 None -> history-0",
    "t=50000000 client start wf-0",
    "t=60000000 client start wf-1",
    "t=300000000 aworker-1 ran run-0/a0 complete",
    "t=900000000 history-0 crash",
    "t=950000000 monitor VIOLATION INV-SINGLE-SHARD-WRITER - shard-1 written with range id 1",
    "t=2000000000 run end events=0 violations=1",
)


def test_lanes_follow_the_node_kind() -> None:
    assert [lane_of(n) for n in ("client", "frontend-0", "history-2", "controller")] == [
        "client",
        "client",
        "history",
        "history",
    ]
    assert lane_of("matching-1") == "matching" and lane_of("aworker-0") == "worker"
    assert lane_of("monitor") == "other"
    assert parse(TRACE)[0].node == "controller"  # the run header is skipped


def test_svg_has_bands_faults_and_the_violation() -> None:
    wfs = workflows_of({"run-0": "wf-0", "run-1": "wf-1"}, ["run-0"])
    assert wfs == [Workflow("wf-0", ("run-0",))]
    fault = FaultItem("history-crash", 800_000_000, SECOND, "history-0")
    svg = timeline_svg(TRACE, wfs, (fault,), "t", None, {"run-0": "wf-0", "run-1": "wf-1"})
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "cluster" in texts and "wf-0 (1 run)" in texts
    titles = [t.text or "" for t in root.iter(f"{SVG}title")]
    assert any("ran run-0/a0" in t for t in titles)  # run-0/a0 belongs to run-0
    assert not any("start wf-1" in t for t in titles)  # wf-1 was not selected
    assert "history-crash on history-0 from 0.8 s for 1 s" in titles
    assert 'stroke="red"' in svg and svg == timeline_svg(
        TRACE, wfs, (fault,), "t", None, {"run-1": "wf-1"}
    )


def test_a_real_run_draws_its_history_events() -> None:
    result = simulate(SimConfig(seed=1, workflows=3))
    runs = list(result.workflow_ids)[:1]
    svg = timeline_svg(
        result.trace,
        workflows_of(result.workflow_ids, runs),
        result.plan.items,
        "r",
        result.histories,
    )
    assert "WORKFLOW_EXECUTION_STARTED" in svg and "TASK_STARTED" in svg
    ET.fromstring(svg)


def _circles(svg: str) -> dict[str, float]:
    """Each dot's x, by the trace line it stands for."""
    out = {}
    for circle in ET.fromstring(svg).iter(f"{SVG}circle"):
        title = circle.find(f"{SVG}title")
        assert title is not None
        out[title.text or ""] = float(circle.attrib["cx"])
    return out


def test_the_axis_runs_to_the_end_of_the_run() -> None:
    wfs = workflows_of({"run-0": "wf-0"}, ["run-0"])
    dots = _circles(timeline_svg(TRACE, wfs))
    # The last step is at 0.95 s, but the run ends at 2 s: the axis goes there.
    crash = dots["t=900000000 history-0 crash"]
    assert crash == LEFT + WIDTH * 0.9 / 2.0
    without_footer = _circles(timeline_svg(TRACE[:-1], wfs))
    assert without_footer["t=900000000 history-0 crash"] > crash  # the scale did change
    assert "ended at 2.000 s" in timeline_svg(TRACE, wfs)


def test_ticks_are_round_and_few() -> None:
    assert tick_step(2 * SECOND) == SECOND // 5
    assert tick_step(25 * SECOND) == int(2.5 * SECOND)
    assert tick_step(143 * SECOND) == 20 * SECOND
    for span in (1, 7, 999, 3 * SECOND + 1, 10**15):
        step = tick_step(span)
        assert span / step <= 10 and (step == 1 or span / step > 4)


spans = st.lists(
    st.tuples(
        st.floats(0, 1000, allow_nan=False),
        st.floats(0, 200, allow_nan=False),
        st.text("abcdefgh -", min_size=1, max_size=40),
    ),
    max_size=40,
)


@given(spans, st.integers(1, 8))
def test_packed_labels_never_overlap(raw: list[tuple[float, float, str]], rows: int) -> None:
    """In every row each bar or label ends before the next one starts; a label is only
    ever cut short (ending in an ellipsis), never changed."""
    items = sorted((left, left + length, label) for left, length, label in raw)
    placed = pack(items, rows)
    assert len(placed) == len(items)
    by_row: dict[int, list[tuple[float, float]]] = {}
    for (left, right, label), (row, shown) in zip(items, placed, strict=True):
        assert shown in (label, "") or (shown.endswith("\u2026") and label.startswith(shown[:-1]))
        end = max(right, left + 3 + text_px(shown)) if shown else right
        by_row.setdefault(row, []).append((left, end))
    for extents in by_row.values():
        for (_, end), (start, _) in itertools.pairwise(extents):
            assert start >= end, extents


def test_many_simultaneous_faults_are_cut_short_not_stacked_without_end() -> None:
    items = [(float(10 * k), float(10 * k + 5), "persistence-timeout") for k in range(30)]
    placed = pack(items, 4)
    assert max(row for row, _ in placed) == 3  # the bars never overlap: four rows do
    assert any(shown.endswith("\u2026") for _, shown in placed)
