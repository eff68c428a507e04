"""The state graph: liveness under weak fairness, and export as GraphML, DOT and JSON.

Graph. A networkx ``MultiDiGraph`` whose nodes are state indices in BFS discovery order
and whose edges are keyed by action, so two actions between the same pair of states (two
RMs each receiving a message again) stay two edges: fairness needs every one of them.

Liveness. ``eventually P`` fails iff some fair behaviour never reaches a P-state. Such a
behaviour starts in a ¬P initial state, stays among ¬P states, and ends either in a
state where no action is enabled (it stutters there forever, which every fairness
condition allows) or by cycling forever inside one strongly connected component C of the
¬P subgraph. Under weak fairness of each action, a run that cycles through *all* states
and edges of C is the fairest possible one: an action is treated unfairly only if it is
enabled in every state of C and no edge of C takes it, and then every cycle in C treats
it unfairly too. So a component is a counterexample iff every action enabled throughout
C labels some edge inside C, and one SCC pass decides it (no nested decomposition, which
only strong fairness needs). With ``fair=False`` any cycle will do.

The counterexample is a lasso: the shortest ¬P prefix from an initial state to C, then a
cycle from that entry state through every state of C and one edge of each action that
fairness demands, back to the entry. Ties are broken by discovery index, so the output
is deterministic.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import deque
from collections.abc import Callable, Iterable, Sequence, Set
from pathlib import Path
from typing import Any

import networkx as nx

Lasso = tuple[int, tuple[Any, ...], int]  # (initial state index, actions, cycle start)


def fingerprint(state: object) -> str:
    """A pinned 64-bit fingerprint for output (never ``hash()``, which PYTHONHASHSEED
    salts). Valid while the model's repr is canonical: tuples, ints, enums, and sets only
    of values that hash from ints (their iteration order is then fixed)."""
    return hashlib.blake2b(repr(state).encode(), digest_size=8).hexdigest()


def action_name(action: object) -> str:
    """The action's name for coverage: ``action.name``, else ``action[0]``, else str."""
    name = getattr(action, "name", None)
    if isinstance(name, str):
        return name
    if isinstance(action, tuple) and action and isinstance(action[0], str):
        return action[0]
    return str(action)


def build_graph(
    states: Sequence[Any], edges: Iterable[tuple[int, int, Any]]
) -> nx.MultiDiGraph[int]:
    """The state graph over ``range(len(states))``: each node carries its ``state``, each
    edge (keyed by action) its ``action``."""
    graph: nx.MultiDiGraph[int] = nx.MultiDiGraph()
    graph.add_nodes_from((i, {"state": state}) for i, state in enumerate(states))
    add_edge = graph.add_edge
    for i, j, action in edges:
        add_edge(i, j, key=action, action=action)
    return graph


def graph_states(graph: nx.MultiDiGraph[int]) -> list[Any]:
    """The states of a graph from `build_graph`, by node index."""
    return [graph.nodes[node]["state"] for node in graph]


def find_fair_lasso(
    graph: nx.MultiDiGraph[int],
    states: Sequence[Any],
    inits: Sequence[int],
    prop: Callable[[Any], bool],
    fair: bool = True,
) -> Lasso | None:
    """A behaviour that never satisfies ``prop`` (see the module docstring), or None."""
    bad = {node for node in graph if not prop(states[node])}
    starts = sorted(i for i in inits if i in bad)
    dist, came_from = _bfs(graph, bad, starts)
    if not dist:
        return None
    reach = graph.subgraph(dist)
    candidates: list[tuple[int, int, frozenset[int]]] = []
    for node in dist:
        if graph.out_degree(node) == 0:
            candidates.append((dist[node], node, frozenset()))
    for comp in nx.strongly_connected_components(reach):
        if len(comp) == 1 and not reach.has_edge(min(comp), min(comp)):
            continue  # a single state without a self-loop is no cycle
        if fair and _demanded(graph, reach, comp) is None:
            continue
        entry = min(comp, key=lambda n: (dist[n], n))
        candidates.append((dist[entry], entry, frozenset(comp)))
    if not candidates:
        return None
    _, entry, chosen = min(candidates, key=lambda c: (c[0], c[1]))
    prefix, init = _path_back(came_from, entry)
    cycle = _cycle(graph, reach.subgraph(chosen), entry, fair) if chosen else []
    return init, tuple(prefix + cycle), len(prefix)


def _bfs(
    graph: nx.MultiDiGraph[int], allowed: set[int], starts: list[int]
) -> tuple[dict[int, int], dict[int, tuple[int, Any]]]:
    """Distances and parent edges from ``starts``, moving only through ``allowed``."""
    dist = dict.fromkeys(starts, 0)
    came_from: dict[int, tuple[int, Any]] = {}
    queue = deque(starts)
    while queue:
        node = queue.popleft()
        for _, succ, action in graph.out_edges(node, keys=True):
            if succ in allowed and succ not in dist:
                dist[succ] = dist[node] + 1
                came_from[succ] = (node, action)
                queue.append(succ)
    return dist, came_from


def _path_back(came_from: dict[int, tuple[int, Any]], node: int) -> tuple[list[Any], int]:
    actions = []
    while node in came_from:
        node, action = came_from[node]
        actions.append(action)
    actions.reverse()
    return actions, node


def _demanded(graph: nx.MultiDiGraph[int], reach: Any, comp: Set[int]) -> list[Any] | None:
    """The actions weak fairness demands in ``comp`` (enabled in every state of it), or
    None when one of them has no edge inside ``comp`` (no fair run stays there)."""
    always: set[Any] | None = None
    for node in comp:
        enabled = {key for _, _, key in graph.out_edges(node, keys=True)}
        always = enabled if always is None else always & enabled
    inside = {key for u, v, key in reach.subgraph(comp).edges(keys=True)}
    demanded = always or set()
    if not demanded <= inside:
        return None
    return sorted(demanded, key=str)


def _cycle(graph: nx.MultiDiGraph[int], comp: Any, entry: int, fair: bool) -> list[Any]:
    """A closed walk from ``entry`` in ``comp``: one edge per demanded action, every state
    not yet passed, then home. Walks follow shortest paths, edges in insertion order."""
    walk: list[Any] = []
    visited = {entry}
    here = entry
    for action in (_demanded(graph, comp, set(comp)) or []) if fair else []:
        if action in walk:
            continue
        u, v = next((u, v) for u, v, k in comp.edges(keys=True) if k == action)
        here = _walk(comp, here, u, walk, visited)
        walk.append(action)
        here = v
        visited.add(v)
    for node in sorted(comp):
        if node not in visited:
            here = _walk(comp, here, node, walk, visited)
    _walk(comp, here, entry, walk, visited)
    if not walk:  # a single state with a self-loop
        walk.append(next(k for _, v, k in comp.out_edges(entry, keys=True) if v == entry))
    return walk


def _walk(comp: Any, source: int, target: int, walk: list[Any], visited: set[int]) -> int:
    """Extend ``walk`` along a shortest path from ``source`` to ``target``."""
    nodes = nx.shortest_path(comp, source, target)
    for u, v in itertools.pairwise(nodes):
        walk.append(next(iter(comp[u][v])))
        visited.add(v)
    return target


# --- export -----------------------------------------------------------------------------


def labelled(
    graph: nx.MultiDiGraph[int],
    states_per_depth: Sequence[int],
    render: Callable[[Any], str] = str,
) -> nx.MultiDiGraph[int]:
    """A copy with only string/int attributes, as GraphML and DOT need: each node gets
    ``label`` (the rendered state), ``fingerprint`` and ``depth``; each edge ``action``
    and ``name`` (the action's name, for colouring or filtering)."""
    # Nodes are numbered in BFS order, so depth d holds the next states_per_depth[d] ids.
    depth = [d for d, count in enumerate(states_per_depth) for _ in range(count)]
    out: nx.MultiDiGraph[int] = nx.MultiDiGraph()
    for node, state in enumerate(graph_states(graph)):
        out.add_node(node, label=render(state), fingerprint=fingerprint(state), depth=depth[node])
    for u, v, action in graph.edges(keys=True):
        text = str(action)
        out.add_edge(u, v, key=text, label=text, action=text, name=action_name(action))
    return out


def write_graphml(graph: nx.MultiDiGraph[int], path: str | Path) -> None:
    nx.write_graphml(graph, str(path))


def write_dot(graph: nx.MultiDiGraph[int], path: str | Path) -> None:
    # pydot chokes on unquoted labels holding ':' or '(' so every string is quoted.
    quoted: nx.MultiDiGraph[int] = nx.MultiDiGraph()
    for node, data in graph.nodes(data=True):
        quoted.add_node(node, **{k: _quote(v) for k, v in data.items()})
    for u, v, key, data in graph.edges(keys=True, data=True):
        quoted.add_edge(u, v, key=key, **{k: _quote(v) for k, v in data.items()})
    nx.nx_pydot.write_dot(quoted, str(path))


def _quote(value: object) -> object:
    return json.dumps(value) if isinstance(value, str) else value


def graph_json(graph: nx.MultiDiGraph[int]) -> dict[str, Any]:
    """networkx node-link form: ``{"nodes": [...], "edges": [...], ...}``."""
    doc: dict[str, Any] = nx.node_link_data(graph, edges="edges")
    return doc


def write_json(graph: nx.MultiDiGraph[int], path: str | Path) -> None:
    Path(path).write_text(json.dumps(graph_json(graph), indent=1) + "\n", encoding="utf-8")
