"""THM-FENCING (range-id fencing gives a single shard writer, INV-SINGLE-SHARD-WRITER for
all sizes): if a host acquires a shard by atomically incrementing its range id, and
every write is conditional on the writer's range id equalling the stored one, then after
any acquisition every committed write comes from that acquisition's owner, which no
other host shares: no two owners both commit writes after the later acquisition.

The rules, from `core/statemachine/shard.py` (Temporal: `service/history/shard/
context_impl.go` ``renewRangeLocked``, the persistence layer's shard-range condition):

- ``acquire``: a read-increment-write of the shard row, atomic, so acquisitions are
  totally ordered and the later one gets the larger range id;
- ``conditional_write``: applied only if ``write.range_id == row.range_id``, otherwise
  ShardOwnershipLost (and the store is unchanged);
- a host may stop (its context forgets the range) and acquire again later.

Model. Hosts are an uninterpreted z3 sort (unboundedly many), range ids unbounded
integers. State: the stored range id ``R``; ``held[h]``, the range id host ``h``
acquired (0: none); and, as a history variable, ``since[r]``: whether a write carrying
range id ``r`` committed since the latest acquisition (reset by every acquisition).

Proof (induction, `base.prove_inductive`): the invariant ``0 <= held[h] <= R`` for
every host, plus the safety property itself — every write committed since the latest
acquisition carries range ``R``, and at most one host holds ``R`` — holds initially and
after acquire, write and stop.

Negative variant: writes are not checked against the stored range id. z3 finds host A
acquiring, host B acquiring, and A's stale write committing after B's acquisition.
"""

from __future__ import annotations

from typing import Any

import z3

from proofs.theorems.base import Action, Evaluate, Result, System, Vars, prove_inductive, timed

ID = "THM-FENCING"
STATEMENT = (
    "With shard ownership acquired by atomically incrementing the range id and every "
    "write conditional on the stored range id, all writes committed after an acquisition "
    "come from its owner alone, for any number of hosts and acquisitions."
)
DROPPED = "drop the range-id check on writes"
PROPERTY = "single writer since the latest acquisition"


def system(fenced: bool = True) -> System:
    host = z3.DeclareSort("Host")

    def variables(tag: str) -> Vars:
        return {
            "range": z3.Int(f"range_{tag}"),
            "held": z3.Array(f"held_{tag}", host, z3.IntSort()),
            "since": z3.Array(f"since_{tag}", z3.IntSort(), z3.BoolSort()),
        }

    def one_host(tag: str) -> Vars:
        return {"host": z3.Const(f"host_{tag}", host)}

    def acquire(s: Vars, p: Vars, t: Vars) -> Any:
        # shard.acquire: new_range = row.range_id + 1, in one atomic update.
        new = s["range"] + 1
        return z3.And(
            t["range"] == new,
            t["held"] == z3.Store(s["held"], p["host"], new),
            t["since"] == z3.K(z3.IntSort(), z3.BoolVal(False)),
        )

    def write(s: Vars, p: Vars, t: Vars) -> Any:
        mine = s["held"][p["host"]]
        # shard.conditional_write: ShardOwnershipLost unless write.range_id == row.range_id.
        guard = z3.And(mine >= 1, mine == s["range"]) if fenced else mine >= 1
        return z3.And(
            guard,
            t["range"] == s["range"],
            t["held"] == s["held"],
            t["since"] == z3.Store(s["since"], mine, True),
        )

    def stop(s: Vars, p: Vars, t: Vars) -> Any:
        return z3.And(
            t["range"] == s["range"],
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
        return z3.And(s["range"] >= 0, bounded, safety(s))

    def name(ev: Evaluate, h: Any) -> str:
        return str(ev(h)).replace("Host!val!", "host ")

    def describe_acquire(ev: Evaluate, s: Vars, p: Vars, t: Vars) -> str:
        return f"{name(ev, p['host'])} acquires the shard: range id {ev(t['range'])}"

    def describe_write(ev: Evaluate, s: Vars, p: Vars, t: Vars) -> str:
        mine, stored = ev(s["held"][p["host"]]), ev(s["range"])
        return f"{name(ev, p['host'])} commits a write with range id {mine} (stored: {stored})"

    def describe_stop(ev: Evaluate, s: Vars, p: Vars, t: Vars) -> str:
        return f"{name(ev, p['host'])} stops its shard context"

    def describe_state(ev: Evaluate, s: Vars) -> str:
        return f"stored range id {ev(s['range'])}"

    return System(
        name="shard ownership",
        variables=variables,
        init=lambda s: z3.And(
            s["range"] == 0,
            s["held"] == z3.K(host, z3.IntVal(0)),
            s["since"] == z3.K(z3.IntSort(), z3.BoolVal(False)),
        ),
        actions=(
            Action("acquire", one_host, acquire, describe_acquire),
            Action("write", one_host, write, describe_write),
            Action("stop", one_host, stop, describe_stop),
        ),
        invariant=invariant,
        safety=safety,
        safety_name=PROPERTY,
        describe_state=describe_state,
    )


def prove() -> Result:
    """Prove single-writer fencing for every number of hosts and acquisitions."""
    return timed(ID, STATEMENT, "theorem", lambda: prove_inductive(system()))


def prove_negative() -> Result:
    """Writes not fenced by range id: z3 must find a stale owner's write."""
    return timed(
        ID, STATEMENT, f"negative: {DROPPED}", lambda: prove_inductive(system(fenced=False))
    )
