"""The matching-dedup model: the real matching engine and history service, duplicates."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.errors import BadInput
from core.statemachine import matching as mx
from core.statemachine.history.validator import validate
from core.statemachine.matching import engine
from proofs.checker import Result, check, replay, violated
from proofs.models import MODELS
from proofs.models.matching_dedup import MatchingDedup, State, no_lost_task, pending
from sim.core_copy import mutated
from tests.proofs.checkcli import run_check

DISTINCT_STATES = 23411  # computed from the model at its CI bound, then pinned
SAFETY = {"H-valid", "INV-NO-LOST-TASK", "INV-RESULT-AT-MOST-ONCE"}


@pytest.fixture(scope="module")
def result() -> Result:
    return check(MatchingDedup())


def test_correct_model_holds(result: Result) -> None:
    model = MatchingDedup()
    assert set(model.invariants) == SAFETY and set(model.eventually) == {"INV-NO-LOST-TASK"}
    assert result.ok and result.complete, result.violations
    assert result.distinct_states == DISTINCT_STATES


def test_every_fault_is_exercised(result: Result) -> None:
    """The bound is not vacuous: every kind of step, duplicates and faults included,
    finds new states."""
    assert set(result.coverage.discovered) == {
        "AddTask",
        "AckTransferTask",
        "RecordTaskStarted",
        "RecordTaskStartedUnavailable",
        "RecordTaskStartedReplyLost",
        "CompleteTask",
        "WorkerCrash",
        "FireTimer",
    }


def _walk(model: MatchingDedup, steps: list[str]) -> list[State]:
    """Follow the enabled actions printed as `steps`; the states visited."""
    state = next(iter(model.init_states()))
    states = [state]
    for step in steps:
        action = next(a for a in model.actions(state) if str(a) == step)
        nxt = model.next_state(state, action)
        assert nxt is not None
        state = nxt
        states.append(state)
    return states


def test_duplicate_dispatch_is_deduplicated_by_history() -> None:
    """Two copies of the activity task reach two workers; history starts it for one
    request and answers TaskAlreadyStarted to the other, and matching drops that copy."""
    model = MatchingDedup()
    states = _walk(
        model,
        [
            "AddTask(WorkflowTask scheduled=2 stamp=1)",
            "RecordTaskStarted(task 1)",
            "CompleteTask(w1)",
            "AddTask(ActivityTask scheduled=5 stamp=1)",
            "AddTask(ActivityTask scheduled=5 stamp=1)",
            "RecordTaskStarted(task 2)",
            "RecordTaskStarted(task 3)",
        ],
    )
    last = states[-1]
    assert [w for w, _ in last.held] == ["a1"]  # one worker holds the activity
    reasons = [e.reason for e in last.matching.finished]
    assert reasons == [None, None, mx.DropReason.ALREADY_STARTED]
    assert all(no_lost_task(s) for s in states)


def test_mutants_are_caught_with_replayable_counterexamples() -> None:
    expected = {"ack-before-started": "INV-NO-LOST-TASK", "no-dedup": "INV-RESULT-AT-MOST-ONCE"}
    for variant, invariant in expected.items():
        model = MatchingDedup(broken=variant)
        found = check(model)
        assert invariant in {v.property for v in found.violations}, variant
        for v in found.violations:
            assert v.kind == "safety" and v.property in SAFETY
            states = replay(model, v.init, v.actions)
            bad = violated(model, states)
            assert (len(states) - 1, v.property) in bad
            assert all(k == len(states) - 1 for k, _ in bad)  # only the last state is bad


def test_ack_before_started_loses_a_pending_task() -> None:
    model = MatchingDedup(broken="ack-before-started")
    (v,) = check(model).violations
    last = replay(model, v.init, v.actions)[-1]
    assert pending(last.run)  # history still waits for the task to start ...
    assert not last.outbox and not last.matching.backlog and not last.matching.dispatching


def test_no_dedup_writes_a_second_result() -> None:
    model = MatchingDedup(broken="no-dedup")
    v = next(v for v in check(model).violations if v.property == "INV-RESULT-AT-MOST-ONCE")
    last = replay(model, v.init, v.actions)[-1]
    assert {x.rule for x in validate(last.history).violations} == {"H9"}


def test_the_eventually_form_catches_a_lost_task() -> None:
    """Without the safety invariants, the liveness form of INV-NO-LOST-TASK alone finds
    the lost task: a fair behaviour that never closes the run."""
    model = MatchingDedup(broken="ack-before-started", duplicates=0)
    model.invariants = {}
    (v,) = check(model).violations
    assert (v.property, v.kind) == ("INV-NO-LOST-TASK", "liveness")
    states = replay(model, v.init, v.actions)
    assert all(s.run.running for s in states)


def test_registered_with_params() -> None:
    assert MODELS["matching-dedup"]({}).broken is None
    assert MODELS["matching-dedup"]({"broken": "no-dedup", "pollers": "1"}).pollers == 1
    with pytest.raises(BadInput):
        MODELS["matching-dedup"]({"broken": "true"})
    with pytest.raises(BadInput):
        MODELS["matching-dedup"]({"sticky": "1"})


def test_cli_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_check("check", "matching-dedup", "--param", "duplicates=0", "--json") == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert doc["model"] == "matching-dedup" and doc["complete"] and doc["violations"] == []
    assert doc["distinct_states"] == sum(doc["coverage"]["states_per_depth"])
    assert (
        run_check("check", "matching-dedup", "--param", "broken=ack-before-started", "--json") == 1
    )
    doc = json.loads(capsys.readouterr().out)
    (v,) = doc["violations"]
    assert v["property"] == "INV-NO-LOST-TASK"
    assert v["actions"][-1] == "RecordTaskStartedUnavailable(task 1)"


def test_the_core_engine_losing_a_respooled_task_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The code the model is about, broken in a copy: the core matching engine's
    `on_record_started_reply` forgets to respool a task whose Record*Started call failed
    transiently. The model, unchanged and with no mutant on, reports INV-NO-LOST-TASK."""
    broken = mutated(
        engine.on_record_started_reply,
        "        new = _with(new, backlog=(*new.backlog, after))\n",
        "        pass  # mutated: a respooled task is lost\n",
    )
    monkeypatch.setattr(mx, "on_record_started_reply", broken)
    found = check(MatchingDedup())
    assert {v.property for v in found.violations} == {"INV-NO-LOST-TASK"}
