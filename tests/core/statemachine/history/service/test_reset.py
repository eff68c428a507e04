"""ResetWorkflowExecution in the pure history service (reset.py).

- The recorded reset (tests/fixtures/histories/reset.base.json reset to its first
  workflow task, giving reset.json) is reproduced: the base run driven by its requests,
  then reset with the recorded reason and point, writes the recorded termination, and
  the new run's history is the recorded one event for event, to the end of the run.
- Every reset point of every recorded history can be reset to; the histories written
  are valid, the base is terminated exactly when it was running, and the new run's
  state is what its own history rebuilds to.
- The scenarios (reset_scenarios.py): reapplication, in-flight tasks, pending entities,
  unstarted tasks, continue-as-new chains.
- What a reset refuses (InvalidArgument), and its deduplication.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import pytest

from adapters.conform.derive import Driver, fingerprint, reproduce
from adapters.conform.requests import before_reset
from core import requests as rq
from core.enums import EventType, TaskQueueKind, WorkflowTaskFailedCause
from core.events import (
    HistoryEvent,
    OpaqueAttributes,
    WorkflowExecutionSignaledEventAttributes,
    WorkflowExecutionTerminatedEventAttributes,
    WorkflowTaskFailedEventAttributes,
    WorkflowTaskScheduledEventAttributes,
)
from core.opaque import Opaque
from core.statemachine.history.service.outbound import HISTORY_SERVICE
from core.statemachine.history.service.rebuild import rebuild
from core.statemachine.history.service.reset import (
    RESETTER,
    ResetOutcome,
    ResetReapplyExcludeType,
    ResetReapplyType,
    reset,
    reset_point_problem,
    reset_request,
    reset_run_id,
)
from core.statemachine.history.service.state import MutableState, RunStatus
from core.statemachine.history.validator import validate
from tests.conftest import corpus_events
from tests.core.statemachine.history.service import reset_scenarios
from tests.core.statemachine.history.service.rebuild_checks import rebuild_problems
from tests.core.statemachine.history.service.reset_scenarios import attrs
from tests.core.statemachine.history.service.test_conformance import RESETTABLE, base_of

E = EventType


def _driven(events: Sequence[HistoryEvent], base: Sequence[HistoryEvent] | None = None) -> Driver:
    driver = Driver(events, base)
    driver.run()
    assert driver.state is not None
    return driver


# --- the recorded reset -------------------------------------------------------------------


def test_the_recorded_reset_is_reproduced() -> None:
    base_real, new_real = corpus_events("reset.base.json"), corpus_events("reset.json")
    base = _driven(before_reset(base_real))
    assert base.state is not None and base.state.running  # waiting for a signal
    failed = attrs(new_real[3], WorkflowTaskFailedEventAttributes)
    terminated = attrs(base_real[-1], WorkflowExecutionTerminatedEventAttributes)
    request = rq.ResetWorkflowExecution(terminated.reason, 4, "recorded-reset")
    now = base_real[-1].event_time or 0
    outcome = reset(base.state, base.written, request, failed.new_run_id, now)
    assert outcome.reply == rq.WorkflowReset(failed.new_run_id)
    # The base run: WorkflowExecutionTerminated, by the resetter, with the reason.
    (ended,) = outcome.base.events
    assert fingerprint(ended) == fingerprint(base_real[-1])
    written = attrs(ended, WorkflowExecutionTerminatedEventAttributes)
    assert (written.reason, written.identity) == (terminated.reason, terminated.identity)
    assert written.identity == RESETTER
    assert outcome.base.state.status is RunStatus.TERMINATED
    # The new run: the copied prefix, the reset's failure, the signal, a fresh task.
    assert outcome.new_run is not None
    new = outcome.new_run.events
    assert new[:3] == tuple(base.written[:3])  # copied from the base as they were
    assert [fingerprint(e) for e in new] == [fingerprint(e) for e in new_real[:6]]
    model = attrs(new[3], WorkflowTaskFailedEventAttributes)
    assert model.cause is WorkflowTaskFailedCause.RESET_WORKFLOW
    assert (model.scheduled_event_id, model.started_event_id) == (2, 3)
    assert (model.identity, model.base_run_id, model.new_run_id) == (
        failed.identity,
        failed.base_run_id,
        failed.new_run_id,
    )
    assert failed.failure is not None and model.failure is not None
    assert json.loads(model.failure.text) == json.loads(failed.failure.text)
    signal = attrs(new[4], WorkflowExecutionSignaledEventAttributes)
    real_signal = attrs(new_real[4], WorkflowExecutionSignaledEventAttributes)
    assert signal == real_signal  # name, input, identity, request id
    scheduled = attrs(new[5], WorkflowTaskScheduledEventAttributes)
    assert scheduled == attrs(new_real[5], WorkflowTaskScheduledEventAttributes)
    assert scheduled.attempt == 1 and scheduled.task_queue is not None
    assert scheduled.task_queue.kind is TaskQueueKind.NORMAL
    state = outcome.new_run.state
    assert state.run_id == failed.new_run_id and state.start_time == now
    assert state.start_request_id == base.state.start_request_id
    assert outcome.base.state.reset_run_id == state.run_id
    assert rq.WorkflowTaskTransfer(6, "rec-reset", False, state.wft_stamp) in outcome.new_run.tasks


def test_the_new_run_goes_on_as_recorded() -> None:
    real = corpus_events("reset.json")
    model = reproduce(real, corpus_events("reset.base.json"))
    assert [fingerprint(e) for e in model] == [fingerprint(e) for e in real]
    assert validate(model).violations == ()


# --- every reset point of the corpus ----------------------------------------------------


def _points(events: Sequence[HistoryEvent]) -> list[int]:
    return [f for f in range(2, len(events) + 1) if not reset_point_problem(events, f)]


def _reset_problems(driver: Driver, finish: int) -> list[str]:
    state = driver.state
    assert state is not None
    outcome = reset(state, driver.written, rq.ResetWorkflowExecution("r", finish, "x"), "new", 7)
    if outcome.new_run is None:
        return [f"finish {finish}: refused: {outcome.reply}"]
    problems = [
        f"finish {finish}: base: {v}"
        for v in validate([*driver.written, *outcome.base.events]).violations
    ]
    new = outcome.new_run
    problems += [f"finish {finish}: new run: {v}" for v in validate(new.events).violations]
    problems += [f"finish {finish}: {p}" for p in rebuild_problems(new.state, new.events)]
    terminated = outcome.base.state.status is RunStatus.TERMINATED and bool(outcome.base.events)
    if terminated != state.running:
        problems.append(f"finish {finish}: base running {state.running}, terminated {terminated}")
    if new.events[: finish - 1] != tuple(driver.written[: finish - 1]):
        problems.append(f"finish {finish}: the prefix was not copied")
    last = new.events[-1].attributes
    if not isinstance(last, WorkflowTaskScheduledEventAttributes) or last.attempt != 1:
        problems.append(f"finish {finish}: the new run does not end with a fresh task")
    return problems


@pytest.mark.parametrize("name", RESETTABLE)
def test_every_reset_point_of_a_recorded_history_resets(name: str) -> None:
    driver = _driven(corpus_events(name), base_of(name))
    points = _points(driver.written)
    assert points
    problems = [p for finish in points for p in _reset_problems(driver, finish)]
    assert not problems, "\n".join(problems[:5])


def test_the_corpus_check_catches_a_reset_that_forgets_to_terminate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from core.statemachine.history.service import reset as reset_module

    monkeypatch.setattr(reset_module, "_terminate", lambda run, *args: None)
    driver = _driven(corpus_events("signals.json")[:-5])
    assert driver.state is not None and driver.state.running
    assert _reset_problems(driver, _points(driver.written)[0])


# --- the scenarios ----------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", reset_scenarios.SCENARIOS, ids=lambda s: s.__name__)
def test_scenario(scenario: Callable[[], None]) -> None:
    scenario()


# --- what a reset refuses ----------------------------------------------------------------------


def _waiting_run() -> tuple[MutableState, list[HistoryEvent]]:
    """A run of reset.base.json, waiting for its second signal (14 events)."""
    driver = _driven(before_reset(corpus_events("reset.base.json")))
    assert driver.state is not None
    return driver.state, driver.written


def _refused(outcome: ResetOutcome, state: MutableState, match: str) -> None:
    assert isinstance(outcome.reply, rq.Error), outcome.reply
    assert outcome.reply.kind is rq.ErrorKind.INVALID_ARGUMENT
    assert match in outcome.reply.message, outcome.reply.message
    assert outcome.base.state is state and outcome.base.events == ()
    assert outcome.current is None and outcome.new_run is None


@pytest.mark.parametrize("finish", [0, 1, 15, 99])
def test_a_finish_id_outside_the_history_is_refused(finish: int) -> None:
    state, events = _waiting_run()
    outcome = reset(state, events, rq.ResetWorkflowExecution("r", finish, "x"), "new", 0)
    _refused(outcome, state, "Workflow task finish ID must be > 1")


def test_a_point_inside_a_batch_is_refused() -> None:
    """Event 11, a signal to the waiting run, shares its batch with the task it
    schedules (event 12): no boundary to rebuild to before event 12."""
    state, events = _waiting_run()
    assert events[10].event_type is E.WORKFLOW_EXECUTION_SIGNALED
    outcome = reset(state, events, rq.ResetWorkflowExecution("r", 12, "x"), "new", 0)
    _refused(outcome, state, "to event ID: 11, version: 0, this event must be at the boundary")


def test_a_transient_task_started_in_its_scheduled_batch_is_refused() -> None:
    """wft-failure-fixed.json's event 15 is the Started of a transient task (attempt 4),
    written in one batch with its Scheduled event 14: no boundary to rebuild to."""
    driver = _driven(corpus_events("wft-failure-fixed.json"))
    assert driver.state is not None
    scheduled = attrs(driver.written[13], WorkflowTaskScheduledEventAttributes)
    assert scheduled.attempt == 4
    outcome = reset(driver.state, driver.written, rq.ResetWorkflowExecution("r", 15, "x"), "n", 0)
    _refused(outcome, driver.state, "this event must be at the boundary")
    assert reset(
        driver.state, driver.written, rq.ResetWorkflowExecution("r", 16, "x"), "n", 0
    ).new_run


def test_a_point_with_no_pending_task_is_refused() -> None:
    """(A hand-made history: a server never writes a second WorkflowTaskCompleted.)"""
    state, events = _waiting_run()
    doubled = [*events[:4], events[3].__class__(5, E.WORKFLOW_TASK_COMPLETED, events[3].attributes)]
    outcome = reset(state, doubled, rq.ResetWorkflowExecution("r", 5, "x"), "new", 0)
    _refused(outcome, state, "Can only reset workflow to event ID in range")


def test_a_history_the_model_cannot_rebuild_is_refused() -> None:
    state, events = _waiting_run()
    nexus = HistoryEvent(
        5,
        E.NEXUS_OPERATION_SCHEDULED,
        OpaqueAttributes("nexusOperationScheduledEventAttributes", Opaque.of({})),
    )
    history = [*events[:4], nexus, *events[5:]]
    outcome = reset(state, history, rq.ResetWorkflowExecution("r", 10, "x"), "new", 0)
    _refused(outcome, state, "cannot rebuild the run")


# --- deduplication ------------------------------------------------------------------------------


def test_a_request_named_like_the_current_runs_creation_changes_nothing() -> None:
    """api.go: the current run created by this request id answers the reset."""
    state, events = _waiting_run()
    request = rq.ResetWorkflowExecution("r", 4, state.start_request_id)
    outcome = reset(state, events, request, "new", 0)
    assert outcome.reply == rq.WorkflowReset(state.run_id)
    assert outcome.base.state is state and outcome.base.events == ()
    assert outcome.new_run is None and outcome.current is None


def test_a_repeated_reset_request_resets_again() -> None:
    """Since 1.31 a reset run keeps the base's start request id (#9479), so the reset
    request's own id no longer finds the run it made: repeating it resets again (the
    current run, the first reset's, is terminated), with a new run id."""
    state, events = _waiting_run()
    request = rq.ResetWorkflowExecution("r", 4, "once")
    first_id = reset_run_id(state.run_id, request.request_id)
    first = reset(state, events, request, first_id, 10)
    assert first.new_run is not None and first.new_run.state.start_request_id != "once"
    current = first.new_run.state
    second_id = reset_run_id(current.run_id, request.request_id)
    assert second_id != first_id
    base_after = first.base.state
    again = reset(base_after, [*events, *first.base.events], request, second_id, 20, current)
    assert again.reply == rq.WorkflowReset(second_id)
    assert again.current is not None
    assert again.current.events[-1].event_type is E.WORKFLOW_EXECUTION_TERMINATED


# --- a closed base, the request's reapply options -----------------------------------------


def test_a_closed_run_is_reset_without_termination() -> None:
    driver = _driven(corpus_events("signals.json"))
    assert driver.state is not None and driver.state.status is RunStatus.COMPLETED
    outcome = reset(driver.state, driver.written, rq.ResetWorkflowExecution("r", 4, "x"), "n", 0)
    assert outcome.new_run is not None and outcome.base.events == ()
    assert outcome.base.state.status is RunStatus.COMPLETED
    assert outcome.base.state.reset_run_id == "n"
    signals = [e for e in driver.written[4:] if e.event_type is E.WORKFLOW_EXECUTION_SIGNALED]
    reapplied = [
        e for e in outcome.new_run.events[4:] if e.event_type is E.WORKFLOW_EXECUTION_SIGNALED
    ]
    assert len(reapplied) == len(signals) > 0


S, U, N, X = (
    ResetReapplyExcludeType.SIGNAL,
    ResetReapplyExcludeType.UPDATE,
    ResetReapplyExcludeType.NEXUS,
    ResetReapplyExcludeType.CANCEL_REQUEST,
)


@pytest.mark.parametrize(
    "reapply_type, excluded, signals, updates, children",
    [
        (ResetReapplyType.UNSPECIFIED, (), True, True, True),
        (ResetReapplyType.ALL_ELIGIBLE, (), True, True, True),
        (ResetReapplyType.SIGNAL, (), True, False, True),
        (ResetReapplyType.NONE, (), False, False, True),
        (ResetReapplyType.UNSPECIFIED, (S,), False, True, True),
        (ResetReapplyType.UNSPECIFIED, (U,), True, False, True),
        (ResetReapplyType.UNSPECIFIED, (S, U, N), False, False, True),
        (ResetReapplyType.UNSPECIFIED, (S, U, N, X), False, False, False),
        (ResetReapplyType.NONE, (N, X), False, False, False),
    ],
)
def test_the_reapply_options_follow_the_server(
    reapply_type: int,
    excluded: tuple[int, ...],
    signals: bool,
    updates: bool,
    children: bool,
) -> None:
    request = reset_request("why", 4, "id", reapply_type, excluded, "me")
    assert (request.reason, request.workflow_task_finish_event_id, request.request_id) == (
        "why",
        4,
        "id",
    )
    assert (request.reapply_signals, request.reapply_updates, request.reapply_children) == (
        signals,
        updates,
        children,
    )
    assert request.identity == "me"


def test_the_identities_are_the_servers() -> None:
    assert (HISTORY_SERVICE, RESETTER) == ("history-service", "history-resetter")
    new = rebuild(corpus_events("reset.json")[:3], "default", "wf", "r", "s", 0).state
    assert new.wft is not None and new.wft.started  # the reset point's task is pending
