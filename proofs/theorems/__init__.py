"""The z3 theorems, by ID (spec/README.md). One module per theorem, its statement in the
module docstring; each exposes ``prove() -> Result`` and ``prove_negative() -> Result``,
the same proof over code with one guard removed, which must yield a counterexample.

- ``THM-3.1``, `replay_determinism`: removes a row of the replay activity table;
- ``THM-RESULT-AT-MOST-ONCE``, `result_at_most_once`: adds a late-completion row;
- ``THM-FENCING``, `fencing`: removes the range-id check from conditional_write;
- ``THM-EXACTLY-ONCE``, `exactly_once`: drops activity idempotency.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from proofs.theorems import exactly_once, fencing, replay_determinism, result_at_most_once
from proofs.theorems.base import Result

__all__ = ["THEOREMS", "Result", "Theorem"]


@dataclass(frozen=True, slots=True)
class Theorem:
    id: str
    statement: str
    prove: Callable[[], Result]
    prove_negative: Callable[[], Result]


THEOREMS: dict[str, Theorem] = {
    m.ID: Theorem(m.ID, m.STATEMENT, m.prove, m.prove_negative)
    for m in (replay_determinism, result_at_most_once, fencing, exactly_once)
}
