"""Evaluating a parsed visibility query (query.py) over a run's search attributes, with
SQL's three-valued logic: a comparison with an unset attribute (NULL) is unknown, NOT of
unknown is unknown, and a run is selected only when its condition is true. A KeywordList
compares by membership, an unset list being empty."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Protocol

Value = str | int | float | bool | None | list[str]
Truth = bool | None  # None: unknown (a comparison with NULL)

OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<>": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class Row(Protocol):
    """What a query reads of a run: its search attributes' values (None when unset)."""

    def attribute(self, name: str) -> Value: ...


Predicate = Callable[[Row], Truth]


def any_of(parts: list[Predicate]) -> Predicate:
    def either(row: Row) -> Truth:
        seen = [p(row) for p in parts]
        return True if True in seen else None if None in seen else False

    return either


def all_of(parts: list[Predicate]) -> Predicate:
    def both(row: Row) -> Truth:
        seen = [p(row) for p in parts]
        return False if False in seen else None if None in seen else True

    return both


def negation(inner: Predicate) -> Predicate:
    def negated(row: Row) -> Truth:
        truth = inner(row)
        return None if truth is None else not truth

    return negated


def maybe_not(inner: Predicate, negate: bool) -> Predicate:
    return negation(inner) if negate else inner


def is_null(left: Value, kind: str) -> bool:
    return left is None or (kind == "KEYWORD_LIST" and left == [])


def members(left: Value) -> list[str]:
    if isinstance(left, list):
        return left
    return [] if left is None else [str(left)]


def compare(left: Value, kind: str, op: str, right: Value) -> Truth:
    if kind == "KEYWORD_LIST":  # membership; an unset list is empty
        found = right in members(left)
        return found if op == "=" else not found
    if left is None or right is None or isinstance(left, list):
        return None
    try:
        return bool(OPERATORS[op](left, right))
    except TypeError:  # values of unlike types: no comparison
        return None


def within(left: Value, kind: str, options: list[Value]) -> Truth:
    if kind == "KEYWORD_LIST":
        return any(o in members(left) for o in options)
    if left is None:
        return None
    return left in options


def between(left: Value, low: Value, high: Value) -> Truth:
    above, below = compare(left, "", ">=", low), compare(left, "", "<=", high)
    if above is None or below is None:
        return None
    return above and below


def starts_with(left: Value, prefix: Value) -> Truth:
    if left is None:
        return None
    return isinstance(left, str) and isinstance(prefix, str) and left.startswith(prefix)
