"""The checker's workflow-run model and WorkflowExecution.tla, linked both ways.

Every closed history the model reaches (1000 distinct trace-record sequences when this
was written) is validated in one TLC run under `slow`; the default run validates an
even sample of SAMPLE of them, also in one run. A changed Python row (a user timer
fire that writes TimerFired twice) yields a behaviour TLC rejects, named by the
event no spec action writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from adapters.tlc_link import model_logs, sample, validate_logs
from adapters.tlc_trace import MODELLED, Record
from core.enums import EventType
from core.statemachine import fsm
from core.statemachine.history.service import timer
from sim.core_copy import mutated
from tests.adapters.test_tlc import _toolchain_or_skip

SAMPLE = 8
TWICE = """    call.txn.add(
        EventType.TIMER_FIRED,
        TimerFiredEventAttributes(timer_id=task.timer_id, started_event_id=task.started_event_id),
    )
    _drop(call.txn, task.timer_id)
"""


def _fire_row_writing_twice() -> fsm.Table[timer.PendingTimerState, timer.TimerInput]:
    """The timer table with its `fire` row declaring two TimerFired: the changed row says
    what its handler does, or the service would stop it (INV-TABLE-ROW)."""
    twice = (EventType.TIMER_FIRED, EventType.TIMER_FIRED)
    rows = [
        dataclasses.replace(r, writes=twice) if r.handler == "fire" else r for r in timer.TABLE.rows
    ]
    t = timer.TABLE
    return fsm.make_table(
        t.name, t.rule, timer.PendingTimerState, timer.TimerInput, t.initial, rows
    )


@pytest.fixture(scope="module")
def logs() -> list[list[Record]]:
    return model_logs()


def _types(log: list[Record]) -> Iterator[str]:
    return (str(r["type"]) for r in log)


def _check_coverage(logs: list[list[Record]], unexercised: tuple[str, ...]) -> None:
    """The report names exactly the spec event types no validated history holds."""
    seen = {t for log in logs for t in _types(log)}
    assert set(unexercised) == set(MODELLED.values()) - seen
    assert "TimerFired" in seen and "ActivityTaskCompleted" in seen
    # the model has no continue-as-new and no cancellation: said, not hidden
    assert {"WorkflowExecutionContinuedAsNew", "TimerCanceled"} <= set(unexercised)


def test_a_sample_of_the_model_behaviours_is_accepted_in_one_tlc_run(
    logs: list[list[Record]],
) -> None:
    toolchain = _toolchain_or_skip()
    batch = sample(logs, SAMPLE)
    assert len(batch) == SAMPLE and len({repr(b) for b in batch}) == SAMPLE
    report = validate_logs(toolchain, batch)
    assert not report.error and not report.rejected, report
    assert report.accepted == SAMPLE
    _check_coverage(batch, report.unexercised)


@pytest.mark.slow
def test_every_model_behaviour_is_accepted(logs: list[list[Record]]) -> None:
    toolchain = _toolchain_or_skip()
    report = validate_logs(toolchain, logs, timeout=1800)
    assert not report.error and not report.rejected, report.rejected[:3]
    assert report.accepted == len(logs)
    _check_coverage(logs, report.unexercised)


def test_a_timer_that_fires_twice_in_python_is_rejected_by_tlc(
    logs: list[list[Record]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's timer fire writes TimerFired twice: the model reaches histories
    with a second TimerFired, which no action of WorkflowExecution writes; in the same
    TLC run, histories of the real service are still accepted."""
    toolchain = _toolchain_or_skip()
    fire_twice = mutated(timer._fire, "    _drop(call.txn, task.timer_id)\n", TWICE)
    monkeypatch.setitem(timer.HANDLERS, "fire", fire_twice)  # the timer table's `fire` row
    monkeypatch.setattr(timer, "TABLE", _fire_row_writing_twice())
    twice = [log for log in model_logs() if list(_types(log)).count("TimerFired") > 1]
    assert twice
    batch = [*sample(logs, 2), *sample(twice, 2)]
    report = validate_logs(toolchain, batch, timeout=300)
    assert not report.error, report.error
    assert [r.index for r in report.rejected] == [3, 4]
    for rejected in report.rejected:
        log = batch[rejected.index - 1]
        second = [i for i, t in enumerate(_types(log)) if t == "TimerFired"][1]
        # TLC stops at the second fire, or at the first when both were buffered
        # during a workflow task: the flush that would write them cannot be matched
        assert rejected.matched <= second and log[rejected.matched]["type"] == "TimerFired"
        assert rejected.reason.endswith("(TimerFired)")
