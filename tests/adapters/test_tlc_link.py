"""The checker's workflow-run model and WorkflowExecution.tla, linked both ways.

Every closed history the model reaches (1000 distinct trace-record sequences when this
was written) is validated in one TLC run under `slow`; the default run validates an
even sample of SAMPLE of them, also in one run. A changed Python row (a user timer
fire that writes TimerFired twice) yields a behaviour TLC rejects, named by the
event no spec action writes.

The other way: every action of the spec is taken by some Python behaviour - the model's
histories, and the histories the history service writes when driven by the requests
behind the recorded histories in FEATURES (the client's actions the model leaves out) -
but the worker crash, which no history can show (`tlc_link.INVISIBLE`). An action no
behaviour takes is named; the trace module's list of actions is the spec's.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest

from adapters.tlc import SPEC_DIR
from adapters.tlc_link import (
    INVISIBLE,
    model_logs,
    reproduced_logs,
    sample,
    spec_actions,
    validate_logs,
)
from adapters.tlc_trace import MODELLED, Record
from core.enums import EventType
from core.statemachine import fsm
from core.statemachine.history.service import timer, workflow_task
from sim.core_copy import mutated
from tests.adapters.test_tlc import _toolchain_or_skip
from tests.conftest import corpus_events
from tests.core.statemachine.history.service.test_conformance import base_of

SAMPLE = 8
# Recorded histories whose requests drive the spec's actions the model never takes.
FEATURES = {
    "reset.json": "ResetWorkflowExecution",
    "terminate.json": "TerminateWorkflowExecution",
    "run-timeout.json": "WorkflowRunTimeout",
    "workflow-cancel.json": "RequestCancelWorkflowExecution",
    "signal-with-start.json": "SignalWithStartWorkflowExecution",
    "child-success.json": "OtherExternalInput",
    "activity-cancel-wait-completed.json": "RespondActivityTaskCanceled",
}
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


@pytest.fixture(scope="module")
def reproduced() -> list[list[Record]]:
    return reproduced_logs([(corpus_events(name), base_of(name)) for name in FEATURES])


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
    logs: list[list[Record]], reproduced: list[list[Record]]
) -> None:
    """The sample and the service's histories behind FEATURES, in one TLC run: all are
    accepted, and together they take every action of the spec that a history can show."""
    toolchain = _toolchain_or_skip()
    batch = sample(logs, SAMPLE)
    assert len(batch) == SAMPLE and len({repr(b) for b in batch}) == SAMPLE
    report = validate_logs(toolchain, [*batch, *reproduced])
    assert not report.error and not report.rejected, report
    assert report.accepted == SAMPLE + len(FEATURES)
    _check_coverage(batch, _unseen(batch))
    assert [a for a, _ in report.actions] == list(spec_actions())
    assert report.unexercised_actions == ()
    assert [a for a, took in report.actions if not took] == list(INVISIBLE)


@pytest.mark.slow
@pytest.mark.ci_sample  # about 15 s: the link rotted once when the model changed alone
def test_every_model_behaviour_is_accepted(
    logs: list[list[Record]], reproduced: list[list[Record]]
) -> None:
    toolchain = _toolchain_or_skip()
    report = validate_logs(toolchain, [*logs, *reproduced], timeout=1800)
    assert not report.error and not report.rejected, report.rejected[:3]
    assert report.accepted == len(logs) + len(FEATURES)
    _check_coverage(logs, _unseen(logs))
    assert report.unexercised_actions == ()


def _unseen(logs: list[list[Record]]) -> tuple[str, ...]:
    return tuple(sorted(set(MODELLED.values()) - {t for log in logs for t in _types(log)}))


def test_an_action_no_behaviour_takes_is_named(reproduced: list[list[Record]]) -> None:
    """Validating the terminated run alone: the report names the actions it never
    takes (an activity's, a reset, a timer firing) and not those it does."""
    toolchain = _toolchain_or_skip()
    terminated = reproduced[list(FEATURES).index("terminate.json")]
    report = validate_logs(toolchain, [terminated], timeout=300)
    assert not report.error and report.accepted == 1, report
    missing = set(report.unexercised_actions)
    assert {"RespondActivityTaskCompleted", "ResetWorkflowExecution", "UserTimerFired"} <= missing
    taken = {"StartWorkflowExecution", "TerminateWorkflowExecution", "RecordWorkflowTaskStarted"}
    assert not missing & taken, missing & taken


def test_each_feature_history_takes_its_action(reproduced: list[list[Record]]) -> None:
    """Each history in FEATURES is there for the action it names: its events are the
    ones that action writes (checked on the records, before TLC)."""
    writes = {
        "ResetWorkflowExecution": "WorkflowTaskFailed",
        "TerminateWorkflowExecution": "WorkflowExecutionTerminated",
        "WorkflowRunTimeout": "WorkflowExecutionTimedOut",
        "RequestCancelWorkflowExecution": "WorkflowExecutionCancelRequested",
        "SignalWithStartWorkflowExecution": "WorkflowExecutionSignaled",
        "OtherExternalInput": "OtherInput",
        "RespondActivityTaskCanceled": "ActivityTaskCanceled",
    }
    for log, action in zip(reproduced, FEATURES.values(), strict=True):
        assert writes[action] in set(_types(log)), action


def test_the_trace_module_lists_every_action_of_next() -> None:
    """TraceNext is Next action by action: its `T<Action>` definitions are exactly the
    actions `spec_actions` reads from WorkflowExecution.tla."""
    text = (SPEC_DIR / "TraceWorkflowExecution.tla").read_text(encoding="utf-8")
    wrapped = re.findall(r"^T(\w+) ==", text, re.M)
    assert sorted(w for w in wrapped if not w.startswith("race")) == sorted(spec_actions())
    assert len(spec_actions()) >= 20 and "WorkerCrash" in spec_actions()


def test_an_action_added_to_next_is_found() -> None:
    """The reader is not a fixed list: an action added to ServiceSteps in a copy of the
    spec is among the actions, and a state predicate is not."""
    text = (SPEC_DIR / "WorkflowExecution.tla").read_text(encoding="utf-8")
    grown = (
        text.replace("ServiceSteps ==\n", "ServiceSteps ==\n    \\/ Tick\n", 1)
        + '\nTick == UNCHANGED vars\nIdle == status = "Closed"\n'
    )
    assert grown != text
    assert set(spec_actions(grown)) == set(spec_actions(text)) | {"Tick"}
    assert "WaitsOrCloses" not in spec_actions(text) and "Env" not in spec_actions(text)


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


_WFT_ENDS = ("WorkflowTaskFailed", "WorkflowTaskTimedOut")
KEEP_ATTEMPT = "unwritten_attributes(state, revise(wft, attempt=1), 0)"


def _converted_attempt(log: list[Record]) -> int | None:
    """The attempt of the first workflow task written after a failed or timed-out one
    with two or more other events between (a transient attempt that events turned into
    a normal one, written when it starts, not at the first of them), or None if the log
    has none."""
    since_end: list[str] | None = None
    for r in log:
        kind = str(r["type"])
        if kind in _WFT_ENDS:
            since_end = []
        elif kind == "WorkflowTaskScheduled":
            if since_end is not None and len(since_end) >= 2:
                return int(r["attempt"])
            since_end = None
        elif since_end is not None:
            since_end.append(kind)
    return None


def test_a_transient_task_started_after_new_events_must_be_written_as_attempt_1(
    logs: list[list[Record]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service writes a transient attempt that events arrived beside as a normal
    attempt-1 task when it starts (workflow_task._record_started), as the spec's
    RecordWorkflowTaskStarted does; the same code writing the attempt it had is
    rejected by TLC, while every such history of the model is accepted in the same run
    (the spec before it followed the model rejected 16 of them)."""
    toolchain = _toolchain_or_skip()
    converted = [log for log in logs if _converted_attempt(log) is not None]
    assert converted and {_converted_attempt(log) for log in converted} == {1}
    keep = mutated(workflow_task._record_started, KEEP_ATTEMPT, KEEP_ATTEMPT.replace(
        "revise(wft, attempt=1)", "wft"
    ))  # fmt: skip
    monkeypatch.setattr(workflow_task, "_record_started", keep)
    broken = [log for log in model_logs() if (_converted_attempt(log) or 1) > 1]
    assert broken
    batch = [*converted, *sample(broken, 2)]  # all the model's: the spec must take each
    report = validate_logs(toolchain, batch, timeout=300)
    assert not report.error, report.error
    assert [r.index for r in report.rejected] == [len(converted) + 1, len(converted) + 2]
