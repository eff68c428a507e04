"""The SVG timeline: lanes, selection by workflow, faults, violations, determinism."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sim.config import FaultItem, SimConfig
from sim.kernel import SECOND
from sim.run import simulate
from sim.timeline import Workflow, lane_of, parse, timeline_svg, workflows_of

TRACE = (
    "t=0 run seed=1 workflows=2",
    "t=0 controller shard-1 None -> history-0",
    "t=50000000 client start wf-0",
    "t=60000000 client start wf-1",
    "t=300000000 aworker-1 ran run-0/a0 complete",
    "t=900000000 history-0 crash",
    "t=950000000 monitor VIOLATION INV-SINGLE-SHARD-WRITER - shard-1 written with range id 1",
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
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "cluster" in texts and "wf-0 (runs: run-0)" in texts
    titles = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert any("ran run-0/a0" in t for t in titles)  # run-0/a0 belongs to run-0
    assert not any("start wf-1" in t for t in titles)  # wf-1 was not selected
    assert any(t.startswith("history-crash history-0") for t in titles)
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
