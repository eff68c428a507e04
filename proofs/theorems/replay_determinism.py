"""THM-3.1 (workflow determinism, docs/theorems.md): for every history H, Replay(H) = S implies
Exec(H) = S. Replaying H with a deterministic workflow step function reaches the state S
the live execution reached on H, and emits the same commands at every event.

Model. A workflow is a step function ``(state, event) -> (state, commands)``; both are
*uninterpreted* z3 functions over unbounded integers, so the proof holds for every
workflow program, every state and every event encoding. The live execution (Exec) and
the replay (Replay) start from the same initial state (both are built from the input
recorded in WorkflowExecutionStarted) and consume the same history, event by event.
Their product is a transition system whose one action is "the next event of H".

Proof: by induction over the length of H (`base.prove_inductive`): Exec and Replay agree
initially, and if they agree before an event they agree after it (congruence: equal
arguments, equal results). By induction they agree after every prefix of every H, of
any length. This is the "证明思路" of the seed: the history determines the state,
deterministic code makes the replay agree.

Negative variant (assumption dropped): the step also reads a value that is not in the
history (the clock, a random number, a mutable global: what the SDK forbids, and what
``workflow.now()``/``side_effect`` record into the history to make it deterministic).
z3 then finds one history on which the two executions, reading different values, end
in different states: the nondeterminism the SDK reports as NondeterminismError
(`core/statemachine/replay/`; Temporal's sdk-core ``workflow_machines.rs``).
"""

from __future__ import annotations

from typing import Any

import z3

from proofs.theorems.base import Action, Evaluate, Result, System, Vars, prove_inductive, timed

ID = "THM-3.1"
STATEMENT = (
    "For every history H, Replay(H) = S implies Exec(H) = S: replaying H with a "
    "deterministic workflow step function reaches the state the live execution reached, "
    "emitting the same commands at every event."
)
DROPPED = "drop determinism: the step reads a value not recorded in the history"
PROPERTY = "Replay(H) = Exec(H)"


def system(reads_unrecorded: bool = False) -> System:
    """Exec and Replay in lockstep over one history; optionally with a free input."""
    arity: tuple[Any, ...] = (z3.IntSort(), z3.IntSort())
    if reads_unrecorded:
        arity = (*arity, z3.IntSort())
    next_state = z3.Function("step_state", *arity, z3.IntSort())
    commands = z3.Function("step_commands", *arity, z3.IntSort())
    initial = z3.Int("initial_state")

    def variables(tag: str) -> Vars:
        return {
            name: z3.Int(f"{name}_{tag}")
            for name in ("exec", "replay", "exec_commands", "replay_commands")
        }

    def params(tag: str) -> Vars:
        return {
            "event": z3.Int(f"event_{tag}"),
            "exec_reads": z3.Int(f"exec_reads_{tag}"),
            "replay_reads": z3.Int(f"replay_reads_{tag}"),
        }

    def apply(state: Any, p: Vars, who: str) -> tuple[Any, Any]:
        args = (state, p["event"], p[f"{who}_reads"]) if reads_unrecorded else (state, p["event"])
        return next_state(*args), commands(*args)

    def relation(s: Vars, p: Vars, t: Vars) -> Any:
        exec_state, exec_commands = apply(s["exec"], p, "exec")
        replay_state, replay_commands = apply(s["replay"], p, "replay")
        return z3.And(
            t["exec"] == exec_state,
            t["exec_commands"] == exec_commands,
            t["replay"] == replay_state,
            t["replay_commands"] == replay_commands,
        )

    def agree(s: Vars) -> Any:
        return z3.And(s["exec"] == s["replay"], s["exec_commands"] == s["replay_commands"])

    def describe_step(ev: Evaluate, s: Vars, p: Vars, t: Vars) -> str:
        reads = (
            f" (Exec reads {ev(p['exec_reads'])}, Replay reads {ev(p['replay_reads'])})"
            if reads_unrecorded
            else ""
        )
        return (
            f"event {ev(p['event'])}{reads}: Exec -> state {ev(t['exec'])}, commands "
            f"{ev(t['exec_commands'])}; Replay -> state {ev(t['replay'])}, commands "
            f"{ev(t['replay_commands'])}"
        )

    def describe_state(ev: Evaluate, s: Vars) -> str:
        return (
            f"Exec state {ev(s['exec'])} commands {ev(s['exec_commands'])}, "
            f"Replay state {ev(s['replay'])} commands {ev(s['replay_commands'])}"
        )

    return System(
        name="replay",
        variables=variables,
        init=lambda s: z3.And(
            s["exec"] == initial,
            s["replay"] == initial,
            s["exec_commands"] == 0,
            s["replay_commands"] == 0,
        ),
        actions=(Action("next event of H", params, relation, describe_step),),
        invariant=agree,
        safety=agree,
        safety_name=PROPERTY,
        describe_state=describe_state,
    )


def prove() -> Result:
    """Prove THM-3.1 for every history length by induction."""
    return timed(ID, STATEMENT, "theorem", lambda: prove_inductive(system()))


def prove_negative() -> Result:
    """The step reads an unrecorded value: z3 must find two diverging executions."""
    return timed(
        ID,
        STATEMENT,
        f"negative: {DROPPED}",
        lambda: prove_inductive(system(reads_unrecorded=True)),
    )
