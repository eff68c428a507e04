"""State-graph exports parse back, and output does not depend on PYTHONHASHSEED."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pydot
import pytest

from proofs.checker import check
from proofs.graph import graph_json, labelled, write_dot, write_graphml, write_json
from proofs.models.two_phase_commit import TwoPhaseCommit

ROOT = Path(__file__).resolve().parents[2]


def _labelled(rms: int = 3) -> nx.MultiDiGraph[int]:
    model = TwoPhaseCommit(rms)
    result = check(model, graph=True)
    assert result.graph is not None
    return labelled(result.graph, result.coverage.states_per_depth, model.describe)


def test_graphml_reads_back_with_every_state_and_edge(tmp_path: Path) -> None:
    write_graphml(_labelled(), tmp_path / "g.graphml")
    graph = nx.read_graphml(tmp_path / "g.graphml")
    assert graph.number_of_nodes() == 288 and graph.number_of_edges() == 1145
    init = graph.nodes["0"]
    assert init["depth"] == 0 and "tmState=init" in init["label"]
    assert len({d["fingerprint"] for _, d in graph.nodes(data=True)}) == 288


def test_json_is_node_link_and_rebuilds(tmp_path: Path) -> None:
    write_json(_labelled(), tmp_path / "g.json")
    doc = json.loads((tmp_path / "g.json").read_text(encoding="utf-8"))
    assert len(doc["nodes"]) == 288 and len(doc["edges"]) == 1145
    rebuilt = nx.node_link_graph(doc, edges="edges")
    names = {d["name"] for _, _, d in rebuilt.edges(data=True)}
    assert names == {
        "TMRcvPrepared",
        "TMCommit",
        "TMAbort",
        "RMPrepare",
        "RMChooseToAbort",
        "RMRcvCommitMsg",
        "RMRcvAbortMsg",
    }


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pydot's own parser
def test_dot_parses(tmp_path: Path) -> None:
    write_dot(_labelled(2), tmp_path / "g.dot")  # pydot's parser is slow: keep it small
    parsed_all = pydot.graph_from_dot_file(str(tmp_path / "g.dot"))
    assert parsed_all is not None and len(parsed_all) == 1
    parsed = parsed_all[0]
    expected = check(TwoPhaseCommit(2))
    assert len(parsed.get_edges()) == expected.transitions
    labels = {n.get("label") for n in parsed.get_nodes() if n.get("label")}
    assert len(labels) == expected.distinct_states


def test_depth_attribute_matches_states_per_depth() -> None:
    graph = _labelled()
    depths: list[int] = [graph.nodes[n]["depth"] for n in graph]
    assert depths == sorted(depths) and depths.count(1) == 7 and max(depths) == 10


_SCRIPT = """
import json
from adapters.check_cmd import document
from proofs.checker import check
from proofs.graph import graph_json, labelled
from proofs.models.two_phase_commit import TwoPhaseCommit
model = TwoPhaseCommit(4, broken=True)
result = check(model, symmetry=True, graph=True, keep_going=True)
doc = document(result, model.describe)
doc.pop("seconds")
assert result.graph is not None
graph = graph_json(labelled(result.graph, result.coverage.states_per_depth, model.describe))
print(json.dumps([doc, graph], sort_keys=False))
"""


def test_output_is_identical_across_hash_seeds() -> None:
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run(
            [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, cwd=ROOT
        )
        assert proc.returncode == 0, proc.stderr
        outputs.add(proc.stdout)
    assert len(outputs) == 1
    doc, graph = json.loads(outputs.pop())
    assert doc["violations"][0]["property"] == "TCConsistent" and graph["nodes"]


def test_graph_json_of_one_run_equals_the_next() -> None:
    assert graph_json(_labelled()) == graph_json(_labelled())
