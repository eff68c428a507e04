"""What every z3 theorem shares: its `Result`, and proof by induction with a bounded
search for a concrete counterexample when the induction fails.

Theory of operation. A safety theorem about every behaviour of a transition system is
proved the classic way: find an invariant that (1) holds in every initial state, (2) is
preserved by every action, and (3) implies the safety property. Each obligation is one
z3 validity query (its negation is unsatisfiable). The variables are unbounded integers,
arrays and uninterpreted sorts, so one proof covers every number of entities, hosts,
events and steps: nothing is enumerated.

When an obligation fails, z3's model is a counterexample to induction: a state that
satisfies the invariant and a step that breaks it. Such a state may be unreachable, so
the prover then unrolls the system from its initial states (bounded model checking, up
to `depth` steps) and reports the shortest reachable violation it finds, as numbered
steps from the initial state, like ``tmodel check`` does. If none is found within the
bound, the failed obligation itself is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import z3

Vars = dict[str, Any]
"""z3 expressions by name: the state variables of one step, or an action's parameters."""

Evaluate = Callable[[Any], Any]
"""A model's evaluation function (complete: every expression gets a value)."""

Step = tuple[str, dict[str, Any]]
"""One step of a counterexample as data: the action's name and its parameters' values
(Python ints and bools; an uninterpreted constant as its z3 name, e.g. ``Host!val!0``)."""

TIMEOUT_MS = 300_000
# z3's deterministic work budget per solver (its "rlimit count"). The wall-clock timeout
# above is only a backstop: on a loaded machine a check that needs 6 M units (the most
# any theorem here needs today) can take longer than a quiet machine's 20 s, and a
# proof must not turn into "could not decide" because the machine is busy.
RLIMIT = 200_000_000


@dataclass(frozen=True, slots=True)
class Result:
    """The verdict on one theorem (or on one of its negative variants)."""

    id: str
    statement: str
    proved: bool
    counterexample: str | None
    seconds: float
    variant: str = "theorem"
    obligations: int = 0


@dataclass(frozen=True, slots=True)
class Action:
    """One kind of step: fresh `params`, and `relation(pre, params, post)`."""

    name: str
    params: Callable[[str], Vars]
    relation: Callable[[Vars, Vars, Vars], Any]
    describe: Callable[[Evaluate, Vars, Vars, Vars], str]


@dataclass(frozen=True, slots=True)
class System:
    """A transition system with its safety property and an inductive strengthening."""

    name: str
    variables: Callable[[str], Vars]
    init: Callable[[Vars], Any]
    actions: tuple[Action, ...]
    invariant: Callable[[Vars], Any]
    safety: Callable[[Vars], Any]
    safety_name: str
    describe_state: Callable[[Evaluate, Vars], str]
    replay: Callable[[Sequence[Step]], str] | None = None
    """Re-executes a counterexample's steps on the code the system was read from and
    says what that code did; its text is appended to the counterexample."""


@dataclass(frozen=True, slots=True)
class Verdict:
    proved: bool
    counterexample: str | None
    obligations: int
    steps: tuple[Step, ...] | None = None


def _solver(timeout_ms: int) -> Any:
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.set("rlimit", RLIMIT)
    return solver


def check_valid(claim: Any, timeout_ms: int = TIMEOUT_MS) -> tuple[bool, Any]:
    """``(True, None)`` if `claim` is valid, else ``(False, model-or-reason)``."""
    solver = _solver(timeout_ms)
    solver.add(z3.Not(claim))
    answer = solver.check()
    if answer == z3.unsat:
        return True, None
    if answer == z3.sat:
        return False, solver.model()
    return False, f"z3 could not decide ({solver.reason_unknown()})"


def _evaluator(model: Any) -> Evaluate:
    return lambda expr: model.eval(expr, model_completion=True)


def prove_inductive(system: System, depth: int = 6, timeout_ms: int = TIMEOUT_MS) -> Verdict:
    """Discharge initiation, safety and consecution (one query per action); on failure,
    search for a reachable violation."""
    pre, post = system.variables("s"), system.variables("t")

    def state_only(model: Any) -> str:
        return "state " + system.describe_state(_evaluator(model), pre)

    obligations: list[tuple[str, Any, Callable[[Any], str]]] = [
        (
            "the invariant holds initially",
            z3.Implies(system.init(pre), system.invariant(pre)),
            state_only,
        ),
        (
            f"the invariant implies {system.safety_name}",
            z3.Implies(system.invariant(pre), system.safety(pre)),
            state_only,
        ),
    ]
    for action in system.actions:
        params = action.params("p")
        claim = z3.Implies(
            z3.And(system.invariant(pre), action.relation(pre, params, post)),
            system.invariant(post),
        )
        obligations.append(
            (
                f"{action.name} preserves the invariant",
                claim,
                _cti(system, action, pre, params, post),
            )
        )
    for n, (what, claim, explain) in enumerate(obligations, 1):
        valid, model = check_valid(claim, timeout_ms)
        if valid:
            continue
        if isinstance(model, str):
            return Verdict(False, f"{what}: {model}", n)
        found = search(system, depth, timeout_ms)
        if found is not None:
            trace, steps = found
            if system.replay is not None:
                trace += "\n" + system.replay(steps)
            return Verdict(False, trace, n, steps)
        return Verdict(
            False,
            f"not proved: {what} fails from {explain(model)} "
            f"(no reachable violation within {depth} steps)",
            n,
        )
    return Verdict(True, None, len(obligations))


def _cti(
    system: System, action: Action, pre: Vars, params: Vars, post: Vars
) -> Callable[[Any], str]:
    """Describes a counterexample to induction: the state and the step out of it."""

    def explain(model: Any) -> str:
        evaluate = _evaluator(model)
        return (
            f"state {system.describe_state(evaluate, pre)} by "
            f"{action.describe(evaluate, pre, params, post)}"
        )

    return explain


def bounded_search(system: System, depth: int, timeout_ms: int = TIMEOUT_MS) -> str | None:
    """The shortest behaviour (at most `depth` steps) that violates the safety property,
    as numbered lines, or None if there is none within the bound."""
    found = search(system, depth, timeout_ms)
    return None if found is None else found[0]


def search(
    system: System, depth: int, timeout_ms: int = TIMEOUT_MS
) -> tuple[str, tuple[Step, ...]] | None:
    """`bounded_search`, with the behaviour also as data (`Step` per action)."""
    states = [system.variables("s0")]
    choices: list[Any] = []
    step_params: list[list[Vars]] = []
    solver = _solver(timeout_ms)
    solver.add(system.init(states[0]))
    for k in range(depth + 1):
        with _scope(solver):
            solver.add(z3.Not(system.safety(states[k])))
            if solver.check() == z3.sat:
                evaluate = _evaluator(solver.model())
                text = _trace(system, evaluate, states, choices, step_params)
                return text, _steps(system, evaluate, choices, step_params)
        if k == depth:
            break
        nxt = system.variables(f"s{k + 1}")
        choice = z3.Int(f"action{k}")
        params = [a.params(f"p{k}_{i}") for i, a in enumerate(system.actions)]
        solver.add(
            z3.Or(
                [
                    z3.And(choice == i, a.relation(states[k], params[i], nxt))
                    for i, a in enumerate(system.actions)
                ]
            )
        )
        states.append(nxt)
        choices.append(choice)
        step_params.append(params)
    return None


@contextmanager
def _scope(solver: Any) -> Iterator[None]:
    solver.push()
    try:
        yield
    finally:
        solver.pop()


def _trace(
    system: System,
    evaluate: Evaluate,
    states: list[Vars],
    choices: list[Any],
    step_params: list[list[Vars]],
) -> str:
    steps = len(choices)
    lines = [f"{system.safety_name} violated, {steps} step{'s' * (steps != 1)} from:"]
    lines.append(f"   0. init  {system.describe_state(evaluate, states[0])}")
    for k, choice in enumerate(choices):
        index = evaluate(choice).as_long()
        action = system.actions[index]
        text = action.describe(evaluate, states[k], step_params[k][index], states[k + 1])
        lines.append(f"  {k + 1:>2}. {text}")
    lines.append(f"      now: {system.describe_state(evaluate, states[-1])}")
    return "\n".join(lines)


def _steps(
    system: System, evaluate: Evaluate, choices: list[Any], step_params: list[list[Vars]]
) -> tuple[Step, ...]:
    out = []
    for k, choice in enumerate(choices):
        index = evaluate(choice).as_long()
        values = {name: _python(evaluate(v)) for name, v in step_params[k][index].items()}
        out.append((system.actions[index].name, values))
    return tuple(out)


def _python(value: Any) -> Any:
    if z3.is_int_value(value):
        return value.as_long()
    if z3.is_true(value) or z3.is_false(value):
        return z3.is_true(value)
    return str(value)


def timed(theorem_id: str, statement: str, variant: str, run: Callable[[], Verdict]) -> Result:
    """Run a proof and wrap its verdict in a `Result` with the wall time it took."""
    start = time.perf_counter()
    verdict = run()
    seconds = time.perf_counter() - start
    return Result(
        theorem_id,
        statement,
        verdict.proved,
        verdict.counterexample,
        seconds,
        variant,
        verdict.obligations,
    )
