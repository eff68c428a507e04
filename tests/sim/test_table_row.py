"""A driving row whose handler does not do what the row says (`fsm.RowBroken`, rule
INV-TABLE-ROW) is reported by the checker and by the simulator as a violation of that
rule, not as a crash: here the timer's `fire` handler writes nothing and keeps the timer
pending, while its row says Started --fire--> Closed, writes TimerFired."""

from __future__ import annotations

import pytest

from core.requests import Ok
from core.statemachine import fsm
from core.statemachine.history.service import timer
from proofs.checker import check, replay
from proofs.models.workflow_run import WorkflowRun
from sim.config import SimConfig
from sim.run import simulate


@pytest.fixture
def fire_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(timer.HANDLERS, "fire", lambda call: Ok())


@pytest.mark.usefixtures("fire_does_nothing")
def test_the_checker_reports_the_broken_row() -> None:
    result = check(WorkflowRun())
    assert not result.ok
    assert {v.property for v in result.violations} == {fsm.ROW_RULE}


@pytest.mark.usefixtures("fire_does_nothing")
def test_the_simulator_reports_the_broken_row() -> None:
    result = simulate(SimConfig(seed=0, workflows=5))
    broken = [v for v in result.violations if v.id == fsm.ROW_RULE]
    assert broken, result.violations
    assert "handler fire of STARTED on FIRE left the entity in STARTED" in broken[0].message


def test_a_handler_that_writes_other_events_breaks_its_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """The target is right but the events are not: `fsm.check_effect` catches it."""

    def fire_silently(call: timer.Call) -> Ok:
        call.txn.set(timers=())
        return Ok()

    monkeypatch.setitem(timer.HANDLERS, "fire", fire_silently)
    model = WorkflowRun()
    result = check(model)
    assert {v.property for v in result.violations} == {fsm.ROW_RULE}
    found = result.violations[0]
    last = replay(model, found.init, list(found.actions))[-1]
    assert last.broken_row.endswith("wrote () and deleted (), the row says (TIMER_FIRED) and ()")
