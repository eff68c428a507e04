"""Symbolic execution of plain Python functions over integers, with z3.

Theory of operation. A theorem about a core function should read that function, not a
hand-typed copy of it. `explore` runs the real function with `SymInt` arguments where
it would get integers: arithmetic on a `SymInt` builds a z3 term, and a comparison
builds a `SymBool`. When the function branches on a `SymBool` (``if``, ``and``,
``not``, a conditional expression), Python calls its ``__bool__``, which asks the
current `_Path` which way to go: the first run takes True at every new branch, and
`explore` re-runs the function once per untried branch (depth-first over the decision
prefixes). A branch z3 shows infeasible under the path's conditions so far is never
taken, so code behind an impossible condition never runs.
Each complete run yields a `Path`: the conjunction of the conditions taken and the
function's return value, whose `SymInt` parts are z3 terms over the inputs. The paths
partition the input space, so ``Or(p.condition for p in paths)`` is true and the
function's effect on any input is the result of the one path whose condition holds.

Limits (each fails loudly rather than silently): a `SymInt` cannot be used as an index,
a hash key or a range bound (`__index__`/`__hash__` raise), so a function that would
need that is not explorable; a function with more than `MAX_PATHS` paths raises
`PathExplosion`. Everything not symbolic (strings, tuples, enum members) runs as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import z3

T = TypeVar("T")
MAX_PATHS = 256


class PathExplosion(RuntimeError):
    """The function has more paths than `explore` is willing to enumerate."""


class _Path:
    """The decisions of one run: a forced prefix, then True at every new branch where
    True is feasible (False where it is not: a branch z3 rules out is never run)."""

    def __init__(self, forced: tuple[bool, ...], solver: Any) -> None:
        self.forced = forced
        self.solver = solver
        self.taken: list[bool] = []
        self.conditions: list[Any] = []
        self.branches: list[Any] = []  # the z3 condition of each decision, as asked

    def decide(self, condition: Any) -> bool:
        k = len(self.taken)
        choice = (
            self.forced[k]
            if k < len(self.forced)
            else _feasible(self.solver, [*self.conditions, condition])
        )
        self.taken.append(choice)
        self.branches.append(condition)
        self.conditions.append(condition if choice else z3.Not(condition))
        return choice


def _feasible(solver: Any, conditions: list[Any]) -> bool:
    solver.push()
    solver.add(*conditions)
    answer: bool = solver.check() != z3.unsat
    solver.pop()
    return answer


_current: list[_Path] = []


def _decide(condition: Any) -> bool:
    if not _current:
        raise TypeError("a symbolic value was branched on outside symbolic.explore")
    return _current[-1].decide(condition)


def _term(value: Any) -> Any:
    if isinstance(value, SymInt):
        return value.term
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"symbolic arithmetic with {type(value).__name__} is not modelled")
    return z3.IntVal(value)


class SymBool:
    """A z3 condition that decides a branch when Python asks for its truth value."""

    __slots__ = ("term",)

    def __init__(self, term: Any) -> None:
        self.term = term

    def __bool__(self) -> bool:
        return _decide(self.term)

    def __invert__(self) -> SymBool:
        return SymBool(z3.Not(self.term))


class SymInt:
    """An integer-valued z3 term that behaves like an int under + - and comparisons."""

    __slots__ = ("term",)
    __hash__ = None  # type: ignore[assignment]  # a symbolic value cannot be a key

    def __init__(self, term: Any) -> None:
        self.term = term

    @staticmethod
    def named(name: str) -> SymInt:
        return SymInt(z3.Int(name))

    def __add__(self, other: Any) -> SymInt:
        return SymInt(self.term + _term(other))

    __radd__ = __add__

    def __sub__(self, other: Any) -> SymInt:
        return SymInt(self.term - _term(other))

    def __rsub__(self, other: Any) -> SymInt:
        return SymInt(_term(other) - self.term)

    def __neg__(self) -> SymInt:
        return SymInt(-self.term)

    def __eq__(self, other: object) -> SymBool:  # type: ignore[override]
        return SymBool(self.term == _term(other))

    def __ne__(self, other: object) -> SymBool:  # type: ignore[override]
        return SymBool(self.term != _term(other))

    def __lt__(self, other: Any) -> SymBool:
        return SymBool(self.term < _term(other))

    def __le__(self, other: Any) -> SymBool:
        return SymBool(self.term <= _term(other))

    def __gt__(self, other: Any) -> SymBool:
        return SymBool(self.term > _term(other))

    def __ge__(self, other: Any) -> SymBool:
        return SymBool(self.term >= _term(other))

    def __bool__(self) -> bool:
        return _decide(self.term != 0)

    def __index__(self) -> int:
        raise TypeError("a symbolic integer cannot be used as an index or a range bound")

    def __repr__(self) -> str:
        return f"SymInt({self.term})"


def integer(term: Any) -> Any:
    """A `SymInt` for `term`, typed `Any`: it stands where the code under proof takes an
    ``int`` (mypy would otherwise refuse it there)."""
    return SymInt(term)


@dataclass(frozen=True, slots=True)
class Path(Generic[T]):
    """One path through the function: when `condition` holds, it returns `result`."""

    condition: Any
    result: T


def explore(run: Callable[[], T], assumptions: Any = True) -> list[Path[T]]:
    """Every feasible path of `run()` under `assumptions` (a z3 condition on the inputs)."""
    paths: list[Path[T]] = []
    pending: list[tuple[bool, ...]] = [()]
    solver = z3.Solver()
    solver.add(assumptions)
    while pending:
        forced = pending.pop()
        path = _Path(forced, solver)
        _current.append(path)
        try:
            result = run()
        finally:
            _current.pop()
        paths.append(Path(z3.And(path.conditions) if path.conditions else z3.BoolVal(True), result))
        if len(paths) > MAX_PATHS:
            raise PathExplosion(f"more than {MAX_PATHS} paths")
        # Branches this run took True beyond the forced prefix: try False where feasible.
        for k in range(len(path.taken) - 1, len(forced) - 1, -1):
            if not path.taken[k]:
                continue  # True was infeasible there: False is the only way
            if _feasible(solver, [*path.conditions[:k], z3.Not(path.branches[k])]):
                pending.append((*path.taken[:k], False))
    return paths
