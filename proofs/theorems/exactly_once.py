"""THM-EXACTLY-ONCE (docs/theorems.md: event sourcing + deterministic replay = exactly-once;
activities must be idempotent for business-level exactly-once): under the assumptions
below, however many times workflow tasks are re-executed and activities redelivered,
the side effect of each business operation the workflow performs is applied at most
once, and exactly once when the operation has completed. On the way (as part of the
inductive invariant) the operation is scheduled in the history at most once: the
workflow-level exactly-once.

Assumptions (each can be dropped, see `ASSUMPTIONS`):

- ``atomic-conditional-history``: a workflow task's commands are appended atomically
  and only if the history has not changed since the worker read it (the execution
  record's version condition, `core/statemachine/shard.py` ``conditional_write``;
  with THM-FENCING for the shard);
- ``deterministic-replay``: a re-executed workflow task replays the history and so
  finds the operation already scheduled (THM-3.1);
- ``idempotent-activity``: the activity applies its effect through an idempotency
  token (the scheduled event's identity), so a redelivered attempt changes nothing.

Completion is recorded at most once (THM-RESULT-AT-MOST-ONCE) and only after an
attempt ran. Delivery is at-least-once: any attempt may run any number of times.

Model, for one business operation (operations are independent: each has its own
schedule event and token). State: the history version; the number of
ActivityTaskScheduled events for the operation and that number at every version (an
array, for stale readers); the tokens whose effect was applied; the number of effects
applied; whether a completion was recorded. Actions: a workflow task (read some
version, decide, commit); run an attempt of the k-th schedule; record completion.
Versions, counts and tokens are unbounded integers: the proof covers every number of
workflow tasks, attempts and retries.

Negative variants: dropping any one assumption lets z3 find a duplicated side effect
(without atomic conditional writes or deterministic replay the operation is scheduled
twice, under two tokens, and both attempts apply it; `prove_negative` drops idempotency:
an attempt redelivered after a lost reply applies the effect twice).
"""

from __future__ import annotations

from typing import Any

import z3

from proofs.theorems.base import Action, Evaluate, Result, System, Vars, prove_inductive, timed

ID = "THM-EXACTLY-ONCE"
STATEMENT = (
    "With atomic conditional history writes, deterministic replay and idempotent "
    "activities, the side effect of every business operation a workflow performs is "
    "applied at most once, and exactly once when the operation has completed, for any "
    "number of workflow-task re-executions and activity redeliveries."
)
PROPERTY = "exactly-once effect"
ASSUMPTIONS = ("atomic-conditional-history", "deterministic-replay", "idempotent-activity")
NEGATIVE_DROPS = "idempotent-activity"


def system(dropped: str | None = None) -> System:
    if dropped is not None and dropped not in ASSUMPTIONS:
        raise ValueError(f"unknown assumption {dropped!r} (known: {', '.join(ASSUMPTIONS)})")
    conditional = dropped != "atomic-conditional-history"
    deterministic = dropped != "deterministic-replay"
    idempotent = dropped != "idempotent-activity"

    def variables(tag: str) -> Vars:
        return {
            "version": z3.Int(f"version_{tag}"),
            "scheduled": z3.Int(f"scheduled_{tag}"),
            "scheduled_at": z3.Array(f"scheduled_at_{tag}", z3.IntSort(), z3.IntSort()),
            "applied": z3.Array(f"applied_{tag}", z3.IntSort(), z3.BoolSort()),
            "effects": z3.Int(f"effects_{tag}"),
            "completed": z3.Bool(f"completed_{tag}"),
        }

    def unchanged(s: Vars, t: Vars, *names: str) -> Any:
        return z3.And([t[n] == s[n] for n in names])

    def task_params(tag: str) -> Vars:
        return {"read": z3.Int(f"read_{tag}"), "diverges": z3.Bool(f"diverges_{tag}")}

    def workflow_task(s: Vars, p: Vars, t: Vars) -> Any:
        read = p["read"]
        seen = s["scheduled_at"][read]
        # Replaying the history read finds the operation scheduled iff it is there; a
        # nondeterministic step may take another branch and schedule it anew.
        issues = seen == 0 if deterministic else z3.Or(seen == 0, p["diverges"])
        fresh = read == s["version"] if conditional else z3.And(read >= 0, read <= s["version"])
        after = s["scheduled"] + z3.If(issues, 1, 0)
        return z3.And(
            fresh,
            t["version"] == s["version"] + 1,
            t["scheduled"] == after,
            t["scheduled_at"] == z3.Store(s["scheduled_at"], s["version"] + 1, after),
            unchanged(s, t, "applied", "effects", "completed"),
        )

    def token(tag: str) -> Vars:
        return {"k": z3.Int(f"k_{tag}")}

    def run_attempt(s: Vars, p: Vars, t: Vars) -> Any:
        k = p["k"]
        applies = z3.Not(s["applied"][k]) if idempotent else z3.BoolVal(True)
        return z3.And(
            k >= 1,
            k <= s["scheduled"],
            t["applied"] == z3.Store(s["applied"], k, True),
            t["effects"] == s["effects"] + z3.If(applies, 1, 0),
            unchanged(s, t, "version", "scheduled", "scheduled_at", "completed"),
        )

    def complete(s: Vars, p: Vars, t: Vars) -> Any:
        return z3.And(
            z3.Not(s["completed"]),
            s["applied"][p["k"]],
            t["completed"],
            unchanged(s, t, "version", "scheduled", "scheduled_at", "applied", "effects"),
        )

    def safety(s: Vars) -> Any:
        return z3.And(s["effects"] <= 1, z3.Implies(s["completed"], s["effects"] == 1))

    def invariant(s: Vars) -> Any:
        k = z3.Int("k")
        return z3.And(
            safety(s),
            s["scheduled"] >= 0,
            s["scheduled"] <= 1,  # workflow-level exactly-once: one schedule event
            s["scheduled_at"][s["version"]] == s["scheduled"],
            s["effects"] == z3.If(s["applied"][1], 1, 0),
            z3.ForAll(k, z3.Implies(k != 1, z3.Not(s["applied"][k]))),
            z3.Implies(s["completed"], s["applied"][1]),
        )

    def describe_task(ev: Evaluate, s: Vars, p: Vars, t: Vars) -> str:
        read, seen = ev(p["read"]), ev(s["scheduled_at"][p["read"]])
        issued = ev(t["scheduled"]).as_long() > ev(s["scheduled"]).as_long()
        what = f"commits ScheduleActivityTask #{ev(t['scheduled'])}" if issued else "commits"
        diverged = " (its replay diverges)" if not deterministic and ev(p["diverges"]) else ""
        return (
            f"workflow task on history version {read} (operation scheduled {seen}x)"
            f"{diverged} {what}; version now {ev(t['version'])}"
        )

    def describe_attempt(ev: Evaluate, s: Vars, p: Vars, t: Vars) -> str:
        return (
            f"an attempt of schedule #{ev(p['k'])} runs (at-least-once delivery): "
            f"side effects applied {ev(t['effects'])}"
        )

    def describe_complete(ev: Evaluate, s: Vars, p: Vars, t: Vars) -> str:
        return f"ActivityTaskCompleted recorded for schedule #{ev(p['k'])}"

    def describe_state(ev: Evaluate, s: Vars) -> str:
        return (
            f"scheduled {ev(s['scheduled'])}x, side effects applied {ev(s['effects'])}, "
            f"completed {ev(s['completed'])}"
        )

    return System(
        name="exactly-once",
        variables=variables,
        init=lambda s: z3.And(
            s["version"] == 0,
            s["scheduled"] == 0,
            s["scheduled_at"] == z3.K(z3.IntSort(), z3.IntVal(0)),
            s["applied"] == z3.K(z3.IntSort(), z3.BoolVal(False)),
            s["effects"] == 0,
            z3.Not(s["completed"]),
        ),
        actions=(
            Action("workflow task", task_params, workflow_task, describe_task),
            Action("activity attempt", token, run_attempt, describe_attempt),
            Action("complete", token, complete, describe_complete),
        ),
        invariant=invariant,
        safety=safety,
        safety_name=PROPERTY,
        describe_state=describe_state,
    )


def prove(dropped: str | None = None) -> Result:
    """Prove the theorem; with `dropped`, without that assumption (then it must fail)."""
    variant = "theorem" if dropped is None else f"negative: drop {dropped}"
    return timed(ID, STATEMENT, variant, lambda: prove_inductive(system(dropped)))


def prove_negative() -> Result:
    """Without idempotent activities: z3 must find a side effect applied twice."""
    return prove(NEGATIVE_DROPS)
