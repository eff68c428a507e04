"""THM-FENCING (range-id fencing gives a single shard writer, INV-SINGLE-SHARD-WRITER for
all sizes): with shard ownership taken by `core.statemachine.shard.acquire` and every
execution write applied by `core.statemachine.shard.conditional_write`, after any
acquisition every committed write comes from that acquisition's owner, which no other
host shares: no two owners both commit writes after the later acquisition.

What is proved, and over what. The two functions are not re-typed here: they are *run*
symbolically (`proofs.theorems.symbolic`), with z3 integers for the stored range id,
the writer's range id, the stored record version and the expected version. Every path
through the real code becomes a z3 condition and its outputs (did the write commit;
the store's range id and record version afterwards; the new owner's range id), and the
actions of the transition system below are those paths. So the proof reads whatever
`shard.py` does when it runs: disable its range-id check and the theorem fails, with a
counterexample that `replay` feeds back to the real functions.
(Temporal: `service/history/shard/context_impl.go` ``renewRangeLocked``; the
persistence layer's shard-range condition in `common/persistence/cassandra/
mutable_state_store.go`.)

One stand-in: `acquire` also computes the first task id of the new range with
`task_id_range`, which builds a Python `range` and so cannot take a symbolic integer;
it is replaced by a stand-in returning the same start as a term. Task ids are not part
of this theorem.

Model. Hosts are an uninterpreted z3 sort (unboundedly many), range ids and versions
unbounded integers. State: the stored range id ``R`` and record version ``V`` (0: no
record yet); ``held[h]``, the range id of host ``h``'s Acquired context (0: none); and,
as a history variable, ``since[r]``: whether a write carrying range id ``r`` committed
since the latest acquisition (reset by every acquisition). Actions: a host acquires
(its context is Acquiring, a fresh one); a host with an Acquired context writes with any
expected version; a host stops (its context is gone).

Proof (induction, `base.prove_inductive`): ``0 <= held[h] <= R`` for every host, plus
the safety property itself (every write committed since the latest acquisition carries
range ``R``, and at most one host holds ``R``) holds initially and after every path of
acquire, write and stop.

Negative variant: the same proof over `conditional_write` with its range-id check
removed from the function's syntax tree (`without_range_check`); z3 finds host A
acquiring, host B acquiring, and A's stale write committing.
"""

from __future__ import annotations
import __future__

import ast
import functools
import inspect
import textwrap
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import z3

from core.statemachine import shard
from proofs.theorems.base import (
    Action,
    Evaluate,
    Result,
    Step,
    System,
    Vars,
    prove_inductive,
    timed,
)
from proofs.theorems.symbolic import SymInt, explore, integer

ID = "THM-FENCING"
STATEMENT = (
    "With shard ownership taken by core.statemachine.shard.acquire and every write applied "
    "by core.statemachine.shard.conditional_write (both executed symbolically), all writes "
    "committed after an acquisition come from its owner alone, for any number of hosts "
    "and acquisitions."
)
DROPPED = "conditional_write with its range-id check removed"
PROPERTY = "single writer since the latest acquisition"

WriteFunction = Callable[[shard.StoreState, shard.Write], tuple[shard.StoreState, Any]]
NS, WF, RUN = "ns", "wf", "run"  # one execution on the one shard (shard_for(...) == 1)

_R, _W, _E, _V, _N = (z3.Int(f"{n}_in") for n in ("stored_range", "write_range", "exp", "v", "n"))


def _term(value: Any) -> Any:
    return value.term if isinstance(value, SymInt) else z3.IntVal(value)


def _store(range_id: Any, version: Any | None) -> shard.StoreState:
    records: tuple[shard.ExecutionRecord, ...] = ()
    if version is not None:
        records = (shard.ExecutionRecord(NS, WF, RUN, version, integer(_N)),)
    return shard.StoreState((shard.ShardRecord(1, range_id, "owner"),), records)


@dataclass(frozen=True, slots=True)
class Summary:
    """A function's paths as one z3 relation over named input and output terms."""

    paths: int
    relation: Callable[[dict[Any, Any], dict[str, Any]], Any]


def summarize_write(write_fn: WriteFunction) -> Summary:
    """Every path of `write_fn` on one shard row and one (possibly absent) record, as a
    relation between (R, W, E, V) and (committed, R', V')."""
    cases: list[tuple[Any, Any, Any, Any, Any]] = []
    for exists in (True, False):
        shape = _V >= 1 if exists else _V == 0
        write = shard.Write(1, integer(_W), NS, WF, RUN, integer(_E), integer(_N))
        version = SymInt(_V) if exists else None
        for path in explore(functools.partial(_run_write, write_fn, version, write), shape):
            store, result = path.result
            after = store.executions[0].db_version if store.executions else 0
            ok = isinstance(result, shard.WriteOk)
            cases.append((shape, path.condition, ok, _term(store.shards[0].range_id), after))

    def relation(inputs: dict[Any, Any], out: dict[str, Any]) -> Any:
        pairs = list(inputs.items())
        options = []
        for shape, condition, ok, range_after, version_after in cases:
            options.append(
                z3.And(
                    z3.substitute(z3.And(shape, condition), *pairs),
                    out["committed"] == z3.BoolVal(ok),
                    out["range"] == z3.substitute(range_after, *pairs),
                    out["version"] == z3.substitute(_term(version_after), *pairs),
                )
            )
        return z3.Or(options)

    return Summary(len(cases), relation)


def _run_write(
    write_fn: WriteFunction, version: SymInt | None, write: shard.Write
) -> tuple[shard.StoreState, Any]:
    return write_fn(_store(SymInt(_R), version), write)


class _Start:
    """Stand-in for `shard.task_id_range(r)`: only its ``start`` is read by `acquire`."""

    def __init__(self, range_id: Any) -> None:
        self.start = SymInt(_term(range_id) * (1 << shard.RANGE_SIZE_BITS))


def summarize_acquire() -> Summary:
    """Every path of `shard.acquire` from an Acquiring context, as a relation between R
    and (R', the new owner's range id)."""
    env = dict(shard.acquire.__globals__, task_id_range=_Start)
    acquire = types.FunctionType(shard.acquire.__code__, env, "acquire")
    ctx = shard.start(1, "acquirer")
    cases = []
    for path in explore(lambda: acquire(_store(SymInt(_R), None), ctx)):
        store, new_ctx = path.result
        cases.append((path.condition, _term(store.shards[0].range_id), _term(new_ctx.range_id)))

    def relation(inputs: dict[Any, Any], out: dict[str, Any]) -> Any:
        pairs = list(inputs.items())
        return z3.Or(
            [
                z3.And(
                    z3.substitute(c, *pairs),
                    out["range"] == z3.substitute(r, *pairs),
                    out["held"] == z3.substitute(h, *pairs),
                )
                for c, r, h in cases
            ]
        )

    return Summary(len(cases), relation)


def without_range_check(write_fn: WriteFunction) -> WriteFunction:
    """`write_fn` recompiled from its source with every ``if`` whose test reads a
    ``range_id`` removed (its ``else`` kept); raises if there is no such ``if``."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(write_fn)))
    removed = 0

    class Strip(ast.NodeTransformer):
        def visit_If(self, node: ast.If) -> Any:
            nonlocal removed
            reads = any(
                isinstance(n, ast.Attribute) and n.attr == "range_id" for n in ast.walk(node.test)
            )
            if not reads:
                return self.generic_visit(node)
            removed += 1
            return node.orelse or None

    tree = ast.fix_missing_locations(Strip().visit(tree))
    if not removed:
        raise ValueError(f"{write_fn.__name__} has no range-id check to remove")
    namespace = dict(write_fn.__globals__)
    flags = __future__.annotations.compiler_flag
    exec(
        compile(tree, inspect.getfile(write_fn), "exec", flags=flags, dont_inherit=True), namespace
    )
    fn: WriteFunction = namespace[write_fn.__name__]
    return fn


def system(write_fn: WriteFunction | None = None) -> System:
    host = z3.DeclareSort("Host")
    writes = summarize_write(write_fn or shard.conditional_write)
    acquires = summarize_acquire()

    def variables(tag: str) -> Vars:
        return {
            "range": z3.Int(f"range_{tag}"),
            "version": z3.Int(f"version_{tag}"),
            "held": z3.Array(f"held_{tag}", host, z3.IntSort()),
            "since": z3.Array(f"since_{tag}", z3.IntSort(), z3.BoolSort()),
        }

    def one_host(tag: str) -> Vars:
        return {"host": z3.Const(f"host_{tag}", host)}

    def host_and_version(tag: str) -> Vars:
        return {**one_host(tag), "expected": z3.Int(f"expected_{tag}"), "ok": z3.Bool(f"ok_{tag}")}

    def host_and_range(tag: str) -> Vars:
        return {**one_host(tag), "new_held": z3.Int(f"new_held_{tag}")}

    def acquire(s: Vars, p: Vars, t: Vars) -> Any:
        new_held = p["new_held"]
        return z3.And(
            acquires.relation({_R: s["range"]}, {"range": t["range"], "held": new_held}),
            t["held"] == z3.Store(s["held"], p["host"], new_held),
            t["version"] == s["version"],
            t["since"] == z3.K(z3.IntSort(), z3.BoolVal(False)),
        )

    def write(s: Vars, p: Vars, t: Vars) -> Any:
        mine = s["held"][p["host"]]
        inputs = {_R: s["range"], _W: mine, _E: p["expected"], _V: s["version"]}
        out = {"committed": p["ok"], "range": t["range"], "version": t["version"]}
        return z3.And(
            mine >= 1,  # the writer's context is Acquired (shard.allocate_task_id requires it)
            writes.relation(inputs, out),
            t["held"] == s["held"],
            t["since"] == z3.If(p["ok"], z3.Store(s["since"], mine, True), s["since"]),
        )

    def stop(s: Vars, p: Vars, t: Vars) -> Any:
        return z3.And(
            t["range"] == s["range"],
            t["version"] == s["version"],
            t["held"] == z3.Store(s["held"], p["host"], 0),
            t["since"] == s["since"],
        )

    def safety(s: Vars) -> Any:
        r = z3.Int("r")
        a, b = z3.Consts("a b", host)
        current = s["range"]
        return z3.And(
            z3.ForAll(r, z3.Implies(s["since"][r], r == current)),
            z3.ForAll(
                [a, b],
                z3.Implies(
                    z3.And(current >= 1, s["held"][a] == current, s["held"][b] == current),
                    a == b,
                ),
            ),
        )

    def invariant(s: Vars) -> Any:
        h = z3.Const("h", host)
        bounded = z3.ForAll(h, z3.And(s["held"][h] >= 0, s["held"][h] <= s["range"]))
        return z3.And(s["range"] >= 0, s["version"] >= 0, bounded, safety(s))

    def describe_acquire(ev: Evaluate, s: Vars, p: Vars, t: Vars) -> str:
        return f"{host_name(ev(p['host']))} acquires the shard: range id {ev(t['range'])}"

    def describe_write(ev: Evaluate, s: Vars, p: Vars, t: Vars) -> str:
        who, mine, stored = host_name(ev(p["host"])), ev(s["held"][p["host"]]), ev(s["range"])
        if z3.is_true(ev(p["ok"])):
            return f"{who} commits a write with range id {mine} (stored: {stored})"
        return f"{who}'s write with range id {mine} is refused (stored: {stored})"

    def describe_stop(ev: Evaluate, s: Vars, p: Vars, t: Vars) -> str:
        return f"{host_name(ev(p['host']))} stops its shard context"

    def describe_state(ev: Evaluate, s: Vars) -> str:
        return f"stored range id {ev(s['range'])}"

    return System(
        name="shard ownership",
        variables=variables,
        init=lambda s: z3.And(
            s["range"] == 0,
            s["version"] == 0,
            s["held"] == z3.K(host, z3.IntVal(0)),
            s["since"] == z3.K(z3.IntSort(), z3.BoolVal(False)),
        ),
        actions=(
            Action("acquire", host_and_range, acquire, describe_acquire),
            Action("write", host_and_version, write, describe_write),
            Action("stop", one_host, stop, describe_stop),
        ),
        invariant=invariant,
        safety=safety,
        safety_name=PROPERTY,
        describe_state=describe_state,
        replay=replay,
    )


def host_name(value: Any) -> str:
    return str(value).replace("Host!val!", "host ")


def replay(steps: Sequence[Step]) -> str:
    """Run a counterexample's steps on `core.statemachine.shard` as it is now; say what
    each write returned, and whether a stale owner's write was accepted."""
    store = shard.initial_store(1)
    contexts: dict[str, shard.ShardContext] = {}
    lines = ["replayed on core.statemachine.shard:"]
    for n, (action, values) in enumerate(steps, 1):
        who = host_name(values["host"])
        if action == "acquire":
            store, contexts[who] = shard.acquire(store, shard.start(1, who))
        elif action == "stop":
            contexts.pop(who, None)
        elif who in contexts:
            ctx = contexts[who]
            stored = shard.shard_record(store, 1).range_id
            write = shard.Write(1, ctx.range_id, NS, WF, RUN, values["expected"], n)
            store, result = shard.conditional_write(store, write)
            stale = ctx.range_id != stored
            verdict = (
                "a stale owner's write accepted"
                if stale and isinstance(result, shard.WriteOk)
                else "as the fence requires"
            )
            lines.append(
                f"  step {n}: {who} writes with range id {ctx.range_id} (stored: {stored}): "
                f"{type(result).__name__}, {verdict}"
            )
    return "\n".join(lines)


def prove() -> Result:
    """Prove single-writer fencing over the real `acquire` and `conditional_write`."""
    return timed(ID, STATEMENT, "theorem", lambda: prove_inductive(system()))


def prove_negative() -> Result:
    """`conditional_write` without its range-id check: z3 must find a stale owner's write."""
    return timed(
        ID,
        STATEMENT,
        f"negative: {DROPPED}",
        lambda: prove_inductive(system(without_range_check(shard.conditional_write))),
    )
