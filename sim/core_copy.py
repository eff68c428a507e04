"""Copies of core functions with one piece of their source changed, for mutants.

A mutant must break the code the simulator runs, not a restatement of it: `mutated`
reads a core function's source, replaces one exact fragment (which must occur exactly
once, so a change to the core that moves the fragment fails loudly instead of testing
nothing), and compiles the result in a copy of the function's module globals. The core
module itself is never changed; the copy is handed to whoever is to run it (a
persistence built for a mutant, or a test's monkeypatch). `with_row` does the same for
a transition table: a copy with one row replaced.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from types import MappingProxyType, ModuleType
from typing import TypeVar

from core.statemachine import shard as shardlib
from core.statemachine.fsm import Row, Table
from core.statemachine.history.service import activity

F = TypeVar("F", bound=Callable[..., object])
S = TypeVar("S", bound=Enum)
I = TypeVar("I", bound=Enum)  # noqa: E741 - the input alphabet, as in fsm.py

RANGE_CHECK = "if write.range_id != row.range_id:"
"""The range-id fence of `shard.conditional_write` (INV-SINGLE-SHARD-WRITER)."""


def mutated(fn: F, old: str, new: str) -> F:
    """`fn` compiled again with the one occurrence of `old` in its source replaced by `new`."""
    source = textwrap.dedent(inspect.getsource(fn))
    found = source.count(old)
    if found != 1:
        raise ValueError(f"{fn.__module__}.{fn.__qualname__}: {old!r} occurs {found} times")
    namespace = dict(fn.__globals__)
    name = f"<{fn.__module__}.{fn.__qualname__} with {old!r} -> {new!r}>"
    exec(compile(source.replace(old, new), name, "exec"), namespace)
    copy: F = namespace[fn.__name__]
    return copy


@functools.cache
def conditional_write_without_fence() -> Callable[
    [shardlib.StoreState, shardlib.Write],
    tuple[shardlib.StoreState, shardlib.WriteResult],
]:
    """The core's `conditional_write` with its range-id check never taken."""
    return mutated(shardlib.conditional_write, RANGE_CHECK, "if False:")


@functools.cache
def completion_keeps_activity_open() -> Table[Enum, Enum]:
    """The service's activity table with the duplicate-completion guard gone: the rows
    on which RespondActivityTaskCompleted closes a started activity (`complete`, target
    Closed) keep it in their source state instead, so the record is not deleted and a
    second answer finds it and records a second result (INV-RESULT-AT-MOST-ONCE;
    Temporal deletes the activity info in `AddActivityTaskCompletedEvent`,
    service/history/workflow/mutable_state_impl.go)."""
    table: Table[Enum, Enum] = activity.TABLE  # type: ignore[assignment]
    closed = activity.PendingActivityState.CLOSED
    completes = [
        r
        for r in table.rows
        if r.input is activity.ActivityInput.RESPOND_COMPLETED
        and r.target is closed
        and r.source is not closed
    ]
    if not completes:
        raise ValueError(f"{table.name}: no row closes an activity on RespondActivityTaskCompleted")
    for r in completes:
        table = with_row(table, r.source, r.input, dataclasses.replace(r, target=r.source))
    return table


@contextmanager
def swapped(module: ModuleType, name: str, value: object) -> Iterator[None]:
    """`module.name` is `value` inside the block, its own value again after it."""
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


def with_row(table: Table[S, I], source: S, input_: I, row: Row[S, I]) -> Table[S, I]:
    """A copy of `table` whose row for (`source`, `input_`) with `row`'s guard is
    replaced by `row`.

    Built without `make_table`'s checks on purpose: a changed row may leave a state
    unreachable, and the copy must still run so that the change can be caught."""
    key = (source, input_, row.guard)
    rows = tuple(row if (r.source, r.input, r.guard) == key else r for r in table.rows)
    if rows == table.rows:
        raise ValueError(f"{table.name}: no row for {source.name} on {input_.name}")
    index = {(r.source, r.input): r for r in rows if not r.guard}
    choices: dict[tuple[S, I], tuple[Row[S, I], ...]] = {}
    for r in sorted(rows, key=lambda r: not r.guard):  # guarded rows first, as make_table
        choices[(r.source, r.input)] = (*choices.get((r.source, r.input), ()), r)
    return dataclasses.replace(
        table, rows=rows, next=MappingProxyType(index), choices=MappingProxyType(choices)
    )
