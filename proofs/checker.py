"""An explicit-state model checker for models written in Python.

Theory of operation. Breadth-first search from the initial states; every state is
checked against the model's invariants when it is first discovered, so the first
violation found lies at the least depth and its parent chain is a shortest
counterexample. The chain is turned into a list of actions from an initial state that
`replay` re-executes on the model, re-checking every invariant on the way.

Visited set. States are kept as dict keys (``seen[state] -> index``), not as 64-bit
fingerprints: membership is decided by equality, so there are no fingerprint collisions
(TLC's one source of unsoundness), and since dicts keep insertion order, what is
explored and in which order does not depend on hash values at all — a ``PYTHONHASHSEED``
changes speed, never results. Python's tuple/int hashing is also the cheapest
fingerprint available. Anything that reaches output (exports) uses `fingerprint`, a
pinned blake2b of the state's repr.

Symmetry. A model may declare ``canonicalize(state) -> (canonical, permutation)`` and
``apply_permutation(action, permutation)``, permutations being tuples with ``p[i]`` the
new id of id ``i``. Only canonical states are stored; each parent link keeps the
permutation that took the real successor to its canonical form, and `_trace` composes
those to map every action back, so a counterexample found in the quotient replays on the
unreduced model. Liveness is not checked under symmetry: with per-action fairness the
quotient is unsound (TLC has the same hole, tlaplus #59/#644), so it is skipped with a
note.

Liveness. ``eventually`` properties are checked on the state graph under weak fairness
(`proofs.graph.find_fair_lasso`).

Speed. A model may also offer ``successors(state) -> list[(action, next_state)]``, one
call per state instead of ``actions`` plus one ``next_state`` per action; the checker
prefers it. The inner loop binds everything to locals and does one dict operation per
transition.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

import networkx as nx

from core.errors import ModelError
from proofs.graph import action_name, build_graph, find_fair_lasso, fingerprint

__all__ = [
    "CheckError",
    "Coverage",
    "Model",
    "Result",
    "Violation",
    "check",
    "fingerprint",
    "replay",
    "violated",
]

S = TypeVar("S", bound=Hashable)
A = TypeVar("A", bound=Hashable)
Permutation = tuple[int, ...]
Kind = Literal["safety", "liveness"]


class Model(Protocol[S, A]):
    """What the checker needs from a model. Optional extras, looked up with getattr:
    ``eventually`` (a mapping like ``invariants``), ``successors``, and the symmetry pair
    ``canonicalize`` / ``apply_permutation``."""

    name: str
    invariants: Mapping[str, Callable[[S], bool]]

    def init_states(self) -> Iterable[S]: ...
    def actions(self, state: S) -> Iterable[A]: ...
    def next_state(self, state: S, action: A) -> S | None: ...


class CheckError(ModelError):
    """The model misbehaved (e.g. its symmetry is not a symmetry) or a path is invalid."""


@dataclass(frozen=True, slots=True)
class Violation:
    """A counterexample: from ``init``, take ``actions``. For liveness it is a lasso: the
    behaviour repeats ``actions[cycle_start:]`` forever (an empty cycle means it stops, in
    a state where nothing is enabled, and stutters there forever)."""

    property: str
    kind: Kind
    init: Any
    actions: tuple[Any, ...]
    cycle_start: int | None = None

    @builtins.property
    def prefix(self) -> tuple[Any, ...]:
        return self.actions if self.cycle_start is None else self.actions[: self.cycle_start]

    @builtins.property
    def cycle(self) -> tuple[Any, ...]:
        return () if self.cycle_start is None else self.actions[self.cycle_start :]


@dataclass(frozen=True, slots=True)
class Coverage:
    """How often each action name was taken (every transition, like TLC's "generated"),
    how many distinct states each name discovered, and distinct states per BFS depth."""

    taken: dict[str, int]
    discovered: dict[str, int]
    states_per_depth: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Result:
    model: str
    distinct_states: int
    transitions: int
    depth: int  # BFS levels, TLC's "depth of the complete state graph search"
    seconds: float
    violations: tuple[Violation, ...]
    coverage: Coverage
    symmetry: bool
    complete: bool  # False when the search stopped at a violation
    notes: tuple[str, ...] = ()
    graph: nx.MultiDiGraph[int] | None = field(default=None, repr=False, compare=False)

    @builtins.property
    def ok(self) -> bool:
        return not self.violations


class _Search:
    """The explored space: states in discovery (BFS) order and their parent links."""

    def __init__(self) -> None:
        self.states: list[Any] = []
        self.seen: dict[Any, int] = {}
        self.parent: list[int] = []
        self.via: list[Any] = []
        self.perm: list[Permutation | None] = []  # symmetry only
        self.origin: dict[int, Any] = {}  # index of a canonical init -> the real init
        self.edges: list[tuple[int, int, Any]] | None = None
        self.taken: dict[Any, int] = {}
        self.discovered: dict[Any, int] = {}
        self.levels: list[int] = []
        self.transitions = 0
        self.bad: list[tuple[str, int]] = []  # (invariant, state index)


def check(
    model: Model[Any, Any],
    *,
    symmetry: bool = False,
    fair: bool = True,
    graph: bool = False,
    keep_going: bool = False,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 50_000,
) -> Result:
    """Explore ``model`` exhaustively and check its invariants and, without symmetry, its
    ``eventually`` properties: under weak fairness of every action when ``fair``, else
    under no fairness beyond "a step is taken while any is enabled".

    ``graph`` keeps the state graph in ``Result.graph`` (built anyway for liveness).
    ``keep_going`` explores on after a safety violation, keeping the first (shortest)
    counterexample of each invariant. ``progress(n)`` is called with the number of
    distinct states every ``progress_every`` states explored."""
    start = time.perf_counter()
    eventually: Mapping[str, Callable[[Any], bool]] = getattr(model, "eventually", {}) or {}
    canonicalize = getattr(model, "canonicalize", None) if symmetry else None
    if symmetry and canonicalize is None:
        raise CheckError(f"{model.name} declares no symmetry (canonicalize)")
    notes: list[str] = []
    live = bool(eventually) and not symmetry
    if eventually and symmetry:
        notes.append(
            "liveness not checked: symmetry reduction is unsound for fairness "
            f"({', '.join(eventually)} skipped; run without --symmetry)"
        )
    search = _Search()
    if graph or live:
        search.edges = []
    _seed(model, search, canonicalize)
    _explore(model, search, canonicalize, keep_going, progress, progress_every)
    violations = [
        Violation(name, "safety", *_trace(model, search, index)) for name, index in search.bad
    ]
    state_graph = build_graph(search.states, search.edges) if search.edges is not None else None
    complete = keep_going or not search.bad
    if live and complete and state_graph is not None:
        violations += _liveness(state_graph, search, eventually, fair)
    return Result(
        model=model.name,
        distinct_states=len(search.states),
        transitions=search.transitions,
        depth=len(search.levels),
        seconds=time.perf_counter() - start,
        violations=tuple(violations),
        coverage=_coverage(search),
        symmetry=symmetry,
        complete=complete,
        notes=tuple(notes),
        graph=state_graph,
    )


def _liveness(
    graph: nx.MultiDiGraph[int],
    search: _Search,
    eventually: Mapping[str, Callable[[Any], bool]],
    fair: bool,
) -> list[Violation]:
    found = []
    for name, prop in eventually.items():
        lasso = find_fair_lasso(graph, search.states, list(search.origin), prop, fair)
        if lasso is not None:
            init, path, cycle_start = lasso
            found.append(Violation(name, "liveness", search.states[init], path, cycle_start))
    return found


def _seed(model: Model[Any, Any], search: _Search, canonicalize: Any) -> None:
    invariants = list(model.invariants.items())
    for init in model.init_states():
        key, perm = canonicalize(init) if canonicalize else (init, None)
        if key in search.seen:
            continue
        index = len(search.states)
        search.seen[key] = index
        search.states.append(key)
        search.parent.append(-1)
        search.via.append(None)
        search.perm.append(perm)
        search.origin[index] = init
        known = {name for name, _ in search.bad}
        search.bad.extend(
            (name, index) for name, inv in invariants if name not in known and not inv(key)
        )


def _explore(
    model: Model[Any, Any],
    search: _Search,
    canonicalize: Any,
    keep_going: bool,
    progress: Callable[[int], None] | None,
    progress_every: int,
) -> None:
    """The BFS proper. Deliberately one long loop over locals: it runs per transition."""
    succ = getattr(model, "successors", None) or _successors_of(model)
    invariants = list(model.invariants.items())
    states, perms, edges, bad = search.states, search.perm, search.edges, search.bad
    taken, discovered = search.taken, search.discovered
    setdefault, add_state = search.seen.setdefault, states.append
    add_parent, add_via = search.parent.append, search.via.append
    violated = {name for name, _ in bad}
    stop = bool(bad) and not keep_going
    count, get_count, symmetric = taken.get, discovered.get, canonicalize is not None
    transitions = 0
    n = level_end = len(states)
    search.levels.append(level_end)
    next_report = progress_every
    i = 0
    while i < n and not stop:
        if i == level_end:
            search.levels.append(n - level_end)
            level_end = n
        if progress is not None and i >= next_report:
            progress(n)
            next_report += progress_every
        out = succ(states[i])
        transitions += len(out)
        for action, target in out:
            taken[action] = count(action, 0) + 1
            if symmetric:
                target, perm = canonicalize(target)
            j = setdefault(target, n)
            if edges is not None:
                edges.append((i, j, action))
            if j != n:
                continue
            n += 1
            add_state(target)
            add_parent(i)
            add_via(action)
            if symmetric:
                perms.append(perm)
            discovered[action] = get_count(action, 0) + 1
            for name, inv in invariants:
                if not inv(target) and name not in violated:
                    violated.add(name)
                    bad.append((name, j))
                    stop = not keep_going
        i += 1
    if len(states) > level_end:  # the level being discovered when a violation stopped us
        search.levels.append(len(states) - level_end)
    search.transitions = transitions


def _successors_of(model: Model[Any, Any]) -> Callable[[Any], list[tuple[Any, Any]]]:
    def successors(state: Any) -> list[tuple[Any, Any]]:
        out = []
        for action in model.actions(state):
            target = model.next_state(state, action)
            if target is not None:
                out.append((action, target))
        return out

    return successors


def _coverage(search: _Search) -> Coverage:
    taken: dict[str, int] = {}
    for action, count in search.taken.items():
        name = action_name(action)
        taken[name] = taken.get(name, 0) + count
    discovered: dict[str, int] = {}
    for action, count in search.discovered.items():
        name = action_name(action)
        discovered[name] = discovered.get(name, 0) + count
    return Coverage(
        dict(sorted(taken.items())), dict(sorted(discovered.items())), tuple(search.levels)
    )


def _trace(model: Model[Any, Any], search: _Search, index: int) -> tuple[Any, tuple[Any, ...]]:
    """The real initial state and actions leading to stored state ``index``.

    Without symmetry this is the parent chain. With it, stored state c_k is P_k(r_k) for
    the real state r_k, where P_0 is the init's permutation and P_k = p_k . P_(k-1) (p_k is
    kept on the link). The stored action a_k was taken in c_(k-1), so the real one is
    P_(k-1)^-1 (a_k)."""
    chain = []
    while index >= 0:
        chain.append(index)
        index = search.parent[index]
    chain.reverse()
    init = search.origin[chain[0]]
    actions = [search.via[k] for k in chain[1:]]
    if not search.perm or search.perm[chain[0]] is None:
        return init, tuple(actions)
    apply = model.apply_permutation  # type: ignore[attr-defined]
    total = search.perm[chain[0]]
    real = []
    for k, action in zip(chain[1:], actions, strict=True):
        assert total is not None
        real.append(apply(action, _inverse(total)))
        step = search.perm[k]
        assert step is not None
        total = _compose(step, total)
    return init, tuple(real)


def _compose(outer: Permutation, inner: Permutation) -> Permutation:
    return tuple(outer[i] for i in inner)


def _inverse(perm: Permutation) -> Permutation:
    inverse = [0] * len(perm)
    for i, image in enumerate(perm):
        inverse[image] = i
    return tuple(inverse)


def replay(model: Model[Any, Any], init: Any, actions: Sequence[Any]) -> list[Any]:
    """Re-execute ``actions`` from ``init`` on the (unreduced) model and return the states
    visited, ``init`` first. Raises `CheckError` when an action is not enabled. Checking
    the invariants on the result is the caller's business; `violated` does it."""
    states = [init]
    state = init
    for step, action in enumerate(actions, 1):
        enabled = list(model.actions(state))
        nxt = model.next_state(state, action) if action in enabled else None
        if nxt is None:
            raise CheckError(f"step {step}: action {action} is not enabled in {state}")
        state = nxt
        states.append(state)
    return states


def violated(model: Model[Any, Any], states: Sequence[Any]) -> list[tuple[int, str]]:
    """``(position, invariant)`` for every invariant that fails on a replayed path."""
    return [
        (k, name)
        for k, state in enumerate(states)
        for name, inv in model.invariants.items()
        if not inv(state)
    ]
