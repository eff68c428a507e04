"""The workflow-run model: the real history service under a bounded environment."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from core.statemachine.history.validator import validate
from proofs.checker import check, replay, violated
from proofs.models import MODELS
from proofs.models.workflow_run import WorkflowRun, closed
from tests.mutation.harness import Mutation, make_copy, python
from tests.proofs.checkcli import run_check

# The model is deterministic: this count is exact. It was 5462 until an activity's
# timeout became the failure the next attempt records (and the ActivityTaskTimedOut
# event's failure), as the real server writes it: a retry after a timeout is now a
# different state from a retry after a failure; then 9654 until an activity's state kept
# when its last attempt completed (LastAttemptCompleteTime, which UpdateActivityOptions
# reschedules a waiting retry from): retries at different times are now different states;
# then 14214 until ActivityTaskStarted, written when the attempt closes, carried the
# attempt's start time rather than the close's (addStartedEventForTransientActivity): an
# attempt started at one time and closed at another is now a different history.
DISTINCT_STATES = 21844
SAFETY = {"H-valid", "INV-RUN-CLOSES-ONCE", "INV-RESULT-AT-MOST-ONCE", "THM-3.1", "INV-TABLE-ROW"}


def test_model_holds_with_a_stable_state_count() -> None:
    model = WorkflowRun()
    assert set(model.invariants) == SAFETY
    assert set(model.eventually) == {"INV-EVENTUALLY-CLOSED"}
    first = check(model)
    second = check(WorkflowRun())
    assert first.ok and first.complete, first.violations
    assert first.distinct_states == DISTINCT_STATES > 100
    assert (second.distinct_states, second.transitions, second.depth) == (
        first.distinct_states,
        first.transitions,
        first.depth,
    )


def test_every_action_is_taken() -> None:
    result = check(WorkflowRun())
    assert set(result.coverage.discovered) == {
        "PollAndCompleteWorkflowTask",
        "PollAndFailWorkflowTask",
        "PollWorkflowTaskAndCrash",
        "StartActivity",
        "CompleteActivity",
        "FailActivity",
        "FireTimer",
        "Signal",
    }
    assert not closed(next(iter(WorkflowRun().init_states())))


def test_broken_variant_has_a_replayable_counterexample() -> None:
    model = WorkflowRun(broken=True)
    result = check(model)
    assert not result.ok
    names = {v.property for v in result.violations}
    assert "INV-RESULT-AT-MOST-ONCE" in names and names <= SAFETY
    for violation in result.violations:
        assert violation.kind == "safety"
        assert [str(a) for a in violation.actions][-1] == "CompleteActivity"
        states = replay(model, violation.init, violation.actions)
        bad = violated(model, states)
        assert (len(states) - 1, violation.property) in bad
        assert all(k == len(states) - 1 for k, _ in bad)  # only the last state is bad


def test_registered_with_the_broken_param() -> None:
    assert isinstance(MODELS["workflow-run"]({}), WorkflowRun)
    assert MODELS["workflow-run"]({"broken": "true"}).broken


def test_cli_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_check("check", "workflow-run", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["distinct_states"] == DISTINCT_STATES and doc["violations"] == []
    assert run_check("check", "workflow-run", "--param", "broken=true", "--json") == 1
    doc = json.loads(capsys.readouterr().out)
    assert "INV-RESULT-AT-MOST-ONCE" in {v["property"] for v in doc["violations"]}


def test_no_buffering_mutant_breaks_rule_h6() -> None:
    model = WorkflowRun(broken="no-buffering")
    (v,) = check(model).violations
    assert v.property == "H-valid"
    assert [str(a) for a in v.actions] == ["PollWorkflowTaskAndCrash", "Signal"]
    states = replay(model, v.init, v.actions)
    assert violated(model, states) == [(2, "H-valid")]
    assert {x.rule for x in validate(states[-1].history).violations} == {"H6"}
    assert MODELS["workflow-run"]({"broken": "no-buffering"}).broken == "no-buffering"


def test_ci_bound_runs_within_a_minute() -> None:
    start = time.perf_counter()
    assert check(WorkflowRun()).ok
    assert time.perf_counter() - start < 60


def test_skip_replay_mutant_breaks_thm_3_1() -> None:
    model = WorkflowRun(broken="skip-replay")
    (v,) = check(model).violations
    assert v.property == "THM-3.1"
    states = replay(model, v.init, v.actions)
    assert violated(model, states) == [(len(v.actions), "THM-3.1")]
    scheduled = [e for e in states[-1].history if e.event_type.name == "ACTIVITY_TASK_SCHEDULED"]
    assert len(scheduled) == 2  # the worker, not replaying, scheduled the activity again
    assert MODELS["workflow-run"]({"broken": "skip-replay"}).broken == "skip-replay"


# The model's activity command names the run's task queue, as the SDKs do, since the
# service refuses one that names none (command_handlers.schedule_activity). Broken in a
# copy from either side - the service's guard inverted so that a named queue is
# refused, or the model's command without its queue - the run never gets its activity
# scheduled, and the checker reports that it never closes.
QUEUE_MUTATIONS = (
    Mutation(
        "activity-queue-refused",
        "the activity command's task-queue guard inverted: a named queue is refused",
        "core/statemachine/history/service/command_handlers.py",
        '    if a.task_queue is None:\n        return Rejection(bad, "taskQueue is not set")\n',
        "    if a.task_queue is not None:  # mutated\n"
        '        return Rejection(bad, "taskQueue is not set")\n',
    ),
    Mutation(
        "model-without-queue",
        "the workflow-run model's activity command names no task queue",
        "proofs/models/workflow_run.py",
        '            task_queue=task_queue("q"),  # the run\'s own, named as the SDKs name it\n',
        "",
    ),
)
CHECK_IN_COPY = (
    "from proofs.checker import check; from proofs.models.workflow_run import WorkflowRun; "
    "r = check(WorkflowRun()); print(sorted({(v.property, v.kind) for v in r.violations}))"
)


@pytest.mark.parametrize("mutation", QUEUE_MUTATIONS, ids=lambda m: m.name)
def test_breaking_the_activity_queue_rule_is_caught(mutation: Mutation, tmp_path: Path) -> None:
    tree = make_copy(mutation, tmp_path)
    reported = python(tree, CHECK_IN_COPY).stdout.strip()
    assert reported == "[('INV-EVENTUALLY-CLOSED', 'liveness')]"
