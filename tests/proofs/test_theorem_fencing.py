"""THM-FENCING over the executed shard code: the symbolic executor, the summaries it
builds from `core.statemachine.shard`, and the theorem failing when that code is
broken (in process here; on a patched copy in tests/mutation)."""

from __future__ import annotations

import pytest
import z3

from core.statemachine import shard
from proofs.theorems import fencing
from proofs.theorems.symbolic import MAX_PATHS, Path, PathExplosion, SymInt, explore, integer


def _clamp(x: int, y: int) -> int:
    if x < y:
        return y - x
    if x > y and x < y:  # infeasible: pruned, never run
        raise AssertionError("unreachable")
    return 0


def test_explore_enumerates_the_feasible_paths() -> None:
    x, y = z3.Ints("x y")
    paths: list[Path[object]] = explore(lambda: _clamp(integer(x), integer(y)))
    # x < y; x > y (where `x < y` is infeasible, so the raise never runs); x == y.
    assert len(paths) == 3
    results: list[object] = [p.result for p in paths]
    (symbolic,) = [r for r in results if isinstance(r, SymInt)]
    solver = z3.Solver()
    solver.add(*[p.condition for p in paths if p.result is symbolic], x == 1, y == 4)
    assert solver.check() == z3.sat
    assert z3.simplify(z3.substitute(symbolic.term, (x, z3.IntVal(1)), (y, z3.IntVal(4)))) == 3
    assert sorted(str(p.result) for p in paths if p.result is not symbolic) == ["0", "0"]
    # The conditions cover every input.
    solver = z3.Solver()
    solver.add(z3.Not(z3.Or([p.condition for p in paths])))
    assert solver.check() == z3.unsat


def test_a_symbolic_value_refuses_what_cannot_be_modelled() -> None:
    with pytest.raises(TypeError, match="index"):
        explore(lambda: [1, 2][integer(z3.Int("i"))])
    with pytest.raises(TypeError, match=r"outside symbolic\.explore"):
        bool(SymInt.named("x") == 1)
    with pytest.raises(TypeError, match="str"):
        explore(lambda: integer(z3.Int("i")) + "a")


def test_too_many_paths_is_an_error() -> None:
    def many() -> int:
        total = 0
        for k in range(10):
            if integer(z3.Int(f"b{k}")) > 0:
                total += 1
        return total

    with pytest.raises(PathExplosion, match=str(MAX_PATHS)):
        explore(many)


def test_the_write_summary_has_one_path_per_outcome_of_conditional_write() -> None:
    # Record present: ownership lost, version mismatch, written; absent: the same three.
    assert fencing.summarize_write(shard.conditional_write).paths == 6
    assert fencing.summarize_acquire().paths == 1


def test_the_theorem_is_proved_over_the_real_functions() -> None:
    result = fencing.prove()
    assert result.proved and result.obligations == 5


def test_removing_the_range_check_from_the_syntax_tree_breaks_the_proof() -> None:
    result = fencing.prove_negative()
    assert not result.proved and result.counterexample is not None
    assert "commits a write with range id 1 (stored: 2)" in result.counterexample
    # The trace replayed on the real (unbroken) shard code: the fence refuses it.
    assert "ShardOwnershipLost, as the fence requires" in result.counterexample


def test_without_range_check_needs_a_range_check() -> None:
    with pytest.raises(ValueError, match="no range-id check"):
        fencing.without_range_check(fencing._run_write)  # type: ignore[arg-type]


def test_the_theorem_reads_conditional_write_at_run_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        shard, "conditional_write", fencing.without_range_check(shard.conditional_write)
    )
    result = fencing.prove()
    assert not result.proved and result.counterexample is not None
    assert "WriteOk, a stale owner's write accepted" in result.counterexample
