"""The z3 theorems: each proves, each negative variant yields a counterexample that is a
real behaviour (replayed on core where core has the machine), and the table-reading
theorem fails when a bad row is added to a table."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from types import ModuleType

import pytest

from core.errors import InvalidTransition
from core.statemachine import fsm, shard
from core.statemachine.history import activity as history_activity
from core.statemachine.history.service import activity as service_activity
from core.statemachine.history.service import timer as service_timer
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


def _replay_rows(table: fsm.Table[fsm.S, fsm.I], steps: list[str]) -> int:
    """Step `table` along the trace's row lines; return the results the trace claims."""
    by_value = {s.value: s for s in table.states}
    inputs = {i.value: i for i in table.inputs}
    state = table.initial
    claimed = 0
    for line in steps[1:]:  # the first step schedules the entity
        m = re.fullmatch(r"entity -?\d+: (\w+) --(.+)--> (\w+) \(results written: (\d+)\)", line)
        assert m is not None, line
        assert by_value[m.group(1)] is state
        state, _ = fsm.step(table, state, inputs[m.group(2)])
        assert state is by_value[m.group(3)]
        claimed = int(m.group(4))
    return claimed


def test_result_negative_is_a_behaviour_of_the_modified_table() -> None:
    result = ramo.prove_negative()
    assert not result.proved and result.counterexample is not None
    assert result.counterexample.startswith("activity (service) (modified):")
    steps = _steps(result.counterexample)
    assert steps[0].endswith("schedule (Scheduled) (results written: 0)")
    assert steps[-1].endswith(
        "Completed --RespondActivityTaskCompleted--> Completed (results written: 2)"
    )
    bad = ramo.with_row(ramo.core_subjects()[0], ramo.late_completion_row())
    assert _replay_rows(bad.table, steps) == 2
    with pytest.raises(
        InvalidTransition, match="no transition from COMPLETED on RESPOND_COMPLETED"
    ):
        _replay_rows(service_activity.TABLE, steps)


def test_result_counts_one_obligation_per_core_row() -> None:
    subjects = ramo.core_subjects()
    result = ramo.prove(subjects)
    # initiation + safety + schedule + one per row, for each table read from core
    assert result.obligations == sum(len(s.table.rows) + 3 for s in subjects)


@pytest.mark.parametrize(
    ("index", "row", "expected"),
    [
        (
            1,
            fsm.Row(
                service_timer.TimerState.FIRED,
                service_timer.TimerInput.FIRE,
                service_timer.TimerState.FIRED,
            ),
            "Fired --timer task fires--> Fired",
        ),
        (
            1,
            fsm.Row(
                service_timer.TimerState.CANCELED,
                service_timer.TimerInput.FIRE,
                service_timer.TimerState.FIRED,
            ),
            "Canceled --timer task fires--> Fired",
        ),
        (
            2,
            fsm.Row(
                history_activity.ActivityState.FAILED,
                history_activity.ActivityInput.COMPLETED,
                history_activity.ActivityState.COMPLETED,
            ),
            "Failed --ActivityTaskCompleted--> Completed",
        ),
    ],
)
def test_injected_bad_row_fails_the_proof(
    index: int, row: fsm.Row[fsm.S, fsm.I], expected: str
) -> None:
    subjects = list(ramo.core_subjects())
    subjects[index] = ramo.with_row(subjects[index], row)
    result = ramo.prove(subjects)
    assert not result.proved and result.counterexample is not None
    assert subjects[index].table.name in result.counterexample
    assert f"{expected} (results written: 2)" in result.counterexample


def test_injected_harmless_row_keeps_the_proof() -> None:
    """A row that writes no result (a heartbeat while backing off) is still proved."""
    s, i = service_activity.ActivityState, service_activity.ActivityInput
    subjects = list(ramo.core_subjects())
    subjects[0] = ramo.with_row(subjects[0], fsm.Row(s.BACKOFF, i.HEARTBEAT, s.BACKOFF))
    assert ramo.prove(subjects).proved


def test_the_theorem_reads_the_core_table_at_run_time(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = ramo.with_row(ramo.core_subjects()[0], ramo.late_completion_row())
    monkeypatch.setattr(service_activity, "TABLE", bad.table)
    result = ramo.prove()
    assert not result.proved and "activity (service) (modified)" in str(result.counterexample)


def test_closed_state_names_must_exist() -> None:
    subject = dataclasses.replace(ramo.core_subjects()[1], closed=frozenset({"Expired"}))
    with pytest.raises(ValueError, match="no state named Expired"):
        ramo.system(subject)


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
