"""The workflow-replay model: the real history service, answered by the real replay
engine running the simulator's CancelAtDeadline workflow."""

from __future__ import annotations

import json

import pytest

from core.enums import EventType
from proofs.checker import check, replay, violated
from proofs.models import MODELS
from proofs.models.workflow_replay import ANSWER, State, WorkflowReplay
from tests.proofs.checkcli import run_check
from tests.proofs.replay_row import remove_started_after_cancel_row

E = EventType
# The model is deterministic: this count is exact. It was 280 until an activity's state
# kept when its last attempt completed (LastAttemptCompleteTime): retries at different
# times are now different states. It was 298 until one activity timer task timed out
# every activity timer already due (core/statemachine/history/service/activity_sweep.py):
# a timer that fires after another one of its activity is due no longer leaves a state
# in which the other is still pending. It was 278 until ActivityTaskStarted, written when
# the attempt closes, carried the attempt's start time rather than the close's
# (addStartedEventForTransientActivity): the same attempts closed at different times are
# now different histories.
DISTINCT_STATES = 352


def _reachable(model: WorkflowReplay) -> list[State]:
    todo, seen = list(model.init_states()), set()
    while todo:
        state = todo.pop()
        if state not in seen:
            seen.add(state)
            todo += [target for _, target in model.successors(state)]
    return list(seen)


def _activity_events_after_cancel_request(state: State) -> tuple[EventType, ...]:
    kinds = [e.event_type for e in state.history]
    if E.ACTIVITY_TASK_CANCEL_REQUESTED not in kinds:
        return ()
    after = kinds[kinds.index(E.ACTIVITY_TASK_CANCEL_REQUESTED) + 1 :]
    return tuple(k for k in after if k.name.startswith("ACTIVITY_TASK"))


def test_model_holds_with_a_stable_state_count() -> None:
    result = check(WorkflowReplay())
    assert result.ok and result.complete, result.violations
    assert result.distinct_states == DISTINCT_STATES
    assert set(result.coverage.discovered) == {
        "PollAndAnswerWorkflowTask",
        "StartActivity",
        "CompleteActivity",
        "FailActivity",
        "ReportActivityCanceled",
        "FireTimer",
    }


def test_histories_reach_started_after_a_cancel_request_and_every_run_closes() -> None:
    """Not vacuous: the replay engine is handed ActivityTaskStarted after the cancel
    request, followed by each kind of close, and every final state is a closed run."""
    states = _reachable(WorkflowReplay())
    shapes = {_activity_events_after_cancel_request(s) for s in states}
    closes = (
        E.ACTIVITY_TASK_COMPLETED,
        E.ACTIVITY_TASK_FAILED,
        E.ACTIVITY_TASK_TIMED_OUT,
        E.ACTIVITY_TASK_CANCELED,
    )
    for close in closes:
        assert (E.ACTIVITY_TASK_STARTED, close) in shapes
    finals = [s for s in states if not WorkflowReplay().successors(s)]
    assert finals and all(
        s.history[-1].event_type is E.WORKFLOW_EXECUTION_COMPLETED for s in finals
    )


def test_the_replay_row_removed_is_a_replayable_thm_3_1_counterexample(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remove_started_after_cancel_row(monkeypatch)
    model = WorkflowReplay()
    result = check(model)
    assert [v.property for v in result.violations] == ["THM-3.1"]
    (violation,) = result.violations
    assert violation.kind == "safety" and violation.actions[-1] == ANSWER
    states = replay(model, violation.init, violation.actions)
    assert violated(model, states) == [(len(states) - 1, "THM-3.1")]
    assert "no transition from CANCEL_REQUESTED on STARTED" in states[-1].failure
    assert _activity_events_after_cancel_request(states[-1])[0] is E.ACTIVITY_TASK_STARTED


def test_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(MODELS["workflow-replay"]({}), WorkflowReplay)
    assert run_check("check", "workflow-replay", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["distinct_states"] == DISTINCT_STATES and doc["violations"] == []
    assert run_check("check", "workflow-replay", "--param", "broken=true") == 2
    assert "has no parameter 'broken' (known: none)" in capsys.readouterr().err
    remove_started_after_cancel_row(monkeypatch)
    assert run_check("check", "workflow-replay") == 1
    assert "THM-3.1 violated (safety)" in capsys.readouterr().out
