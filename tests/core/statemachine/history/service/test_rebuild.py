"""The rebuilder (core/statemachine/history/service/rebuild.py) against the service.

- Consistency: after every request the service handles - behind each recorded history,
  in the coverage scenarios, in the stateful test - rebuilding the history written so
  far gives the service's own state, on every field the history determines
  (rebuild_checks.py says which, and a test checks it says so for every field).
- Resumption: for every recorded history and every reset point in it, the state rebuilt
  from the prefix accepts the requests behind the rest of the history, and the service
  then writes the rest exactly as the real server did.
- The checks catch a rebuilder that drops any event type it handles.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from functools import cache
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from adapters.conform.derive import (
    Driver,
    fingerprint,
    reproduce,
)
from adapters.temporal_json import decode_history
from core import requests as rq
from core.commands import Command, ContinueAsNewWorkflowExecutionCommandAttributes
from core.enums import CommandType, EventType, TimeoutType, WorkflowTaskFailedCause
from core.events import (
    ActivityTaskStartedEventAttributes,
    HistoryEvent,
    OpaqueAttributes,
    WorkflowExecutionUpdateAcceptedEventAttributes,
    WorkflowType,
)
from core.opaque import Opaque
from core.statemachine.history.service import handle as service
from core.statemachine.history.service import rebuild as rebuild_module
from core.statemachine.history.service import rebuild_nexus
from core.statemachine.history.service.rebuild import APPLY, Rebuilt, rebuild, refresh_tasks
from core.statemachine.history.service.reset import reset, reset_point_problem, reset_run_id
from core.statemachine.history.service.state import (
    MutableState,
    ParentInfo,
    RunStatus,
    UpdateInfo,
    evolve,
)
from core.statemachine.history.service.txn import Outcome
from tests.conftest import FIXTURES, corpus_events
from tests.core.statemachine import coverage_scenarios
from tests.core.statemachine.history.service import reset_scenarios
from tests.core.statemachine.history.service.rebuild_checks import (
    CLASSIFICATIONS,
    classified,
    rebuild_problems,
)
from tests.core.statemachine.history.service.run_checks import step_problems
from tests.core.statemachine.history.service.test_conformance import (
    REBUILT,
    RESETTABLE,
    base_of,
)
from tests.core.statemachine.history.service.test_stateful import ServiceCluster

E = EventType
UNSEEN = FIXTURES / "unseen-histories"


class Checking(Driver):
    """A replay driver that checks the rebuild after every request it sends."""

    def __init__(
        self, real: Sequence[HistoryEvent], base: Sequence[HistoryEvent] | None = None
    ) -> None:
        super().__init__(real, base)
        self.problems: list[str] = []
        self.checked = 0

    def apply(self, outcome: Outcome) -> rq.Reply:
        reply = super().apply(outcome)
        assert self.state is not None
        self.problems += rebuild_problems(self.state, self.written)
        self.checked += 1
        return reply


def _corpus_problems(name: str) -> tuple[list[str], int]:
    driver = Checking(corpus_events(name), base_of(name))
    driver.run()
    return driver.problems, driver.checked


# The recorded histories of tests/fixtures/unseen-histories with a Nexus operation or
# an options update (the recorded corpus has only a few of those event types), with the
# base run of a reset run.
_UNSEEN_MANIFEST = json.loads((UNSEEN / "manifest.json").read_text(encoding="utf-8"))
_UNSEEN_BASES = {e["file"]: e["base"] for e in _UNSEEN_MANIFEST["histories"] if "base" in e}


@cache
def _unseen_events(name: str) -> tuple[HistoryEvent, ...]:
    return tuple(decode_history((UNSEEN / name).read_text(encoding="utf-8")).events)


UNSEEN_NEXUS = [
    e["file"]
    for e in _UNSEEN_MANIFEST["histories"]
    if any(
        x.event_type.name.startswith("NEXUS_")
        or x.event_type is E.WORKFLOW_EXECUTION_OPTIONS_UPDATED
        for x in _unseen_events(e["file"])
    )
]


# The unseen histories whose commands carry a control (the Go SDK of the server's own
# workflows sets it): the rebuilt pending signals and children keep it.
UNSEEN_CONTROL = [
    e["file"]
    for e in _UNSEEN_MANIFEST["histories"]
    if any(getattr(x.attributes, "control", "") for x in _unseen_events(e["file"]))
]


def _unseen_problems(name: str) -> tuple[list[str], int]:
    base = _UNSEEN_BASES.get(name)
    driver = Checking(_unseen_events(name), _unseen_events(base) if base else None)
    driver.run()
    return driver.problems, driver.checked


def _scenario_problems(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run the coverage and reset scenarios, checking the rebuild after every request
    and every reset."""
    problems: list[str] = []
    send, reset = coverage_scenarios.Run.send, reset_scenarios.ResetRun.reset

    def sent(self: coverage_scenarios.Run, request: rq.Request, advance: int = 10**9) -> object:
        reply = send(self, request, advance)
        problems.extend(rebuild_problems(self.state, self.events))
        return reply

    def was_reset(self: reset_scenarios.ResetRun, *args: Any, **kwargs: Any) -> object:
        outcome = reset(self, *args, **kwargs)
        problems.extend(rebuild_problems(self.state, self.events))
        return outcome

    monkeypatch.setattr(coverage_scenarios.Run, "send", sent)
    monkeypatch.setattr(reset_scenarios.ResetRun, "reset", was_reset)
    coverage_scenarios.run_all()
    reset_scenarios.run_all()
    return problems


# --- every field is accounted for ------------------------------------------------------


@pytest.mark.parametrize("cls, groups", CLASSIFICATIONS, ids=lambda x: getattr(x, "__name__", ""))
def test_every_field_is_compared_or_said_to_be_blind(cls: type, groups: tuple[object]) -> None:
    unlisted, unknown = classified(cls, *groups)  # type: ignore[arg-type]
    assert not unlisted, f"{cls.__name__}: say whether the history determines {unlisted}"
    assert not unknown, f"{cls.__name__} has no fields {unknown}"


# --- consistency with the service ------------------------------------------------------


@pytest.mark.parametrize("name", REBUILT)
def test_rebuild_agrees_with_the_service_on_a_recorded_history(name: str) -> None:
    problems, checked = _corpus_problems(name)
    assert checked > 0
    assert not problems, "\n".join(problems[:5])


@pytest.mark.parametrize("name", UNSEEN_NEXUS)
def test_rebuild_agrees_with_the_service_on_an_unseen_nexus_or_options_history(
    name: str,
) -> None:
    problems, checked = _unseen_problems(name)
    assert checked > 0
    assert not problems, "\n".join(problems[:5])


@pytest.mark.parametrize("name", UNSEEN_CONTROL)
def test_rebuild_agrees_with_the_service_on_an_unseen_history_with_control(name: str) -> None:
    problems, checked = _unseen_problems(name)
    assert checked > 0
    assert not problems, "\n".join(problems[:5])


def test_the_unseen_histories_cover_every_nexus_and_options_event_type() -> None:
    seen = {x.event_type for n in UNSEEN_NEXUS for x in _unseen_events(n)}
    wanted = {t for t in APPLY if t.name.startswith("NEXUS_")}
    assert wanted | {E.WORKFLOW_EXECUTION_OPTIONS_UPDATED} <= seen
    assert len(wanted) == 9


def test_rebuild_agrees_with_the_service_in_the_coverage_and_reset_scenarios(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problems = _scenario_problems(monkeypatch)
    assert not problems, "\n".join(problems[:5])


class RebuildingCluster(ServiceCluster):
    """The stateful test's machine, checking the rebuild between steps; it may also
    reset the run to any reset point of its history, and then follows the new run."""

    @invariant()
    def rebuild_agrees(self) -> None:
        if self.state is not None:
            problems = rebuild_problems(self.state, self.history)
            assert not problems, "\n".join(problems[:5])

    @precondition(lambda self: self.state is not None and any(_reset_points(self.history)))
    @rule(
        data=st.data(),
        signals=st.booleans(),
        updates=st.booleans(),
        request_id=st.sampled_from(("reset-a", "reset-b")),
    )
    def reset(self, data: st.DataObject, signals: bool, updates: bool, request_id: str) -> None:
        at = data.draw(st.sampled_from(list(_reset_points(self.history))))
        request = rq.ResetWorkflowExecution(
            "reset", at + 1, request_id, reapply_signals=signals, reapply_updates=updates
        )
        new_run_id = reset_run_id(self.run.run_id, request_id)
        outcome = reset(self.run, self.history, request, new_run_id, self.now)
        assert reset(self.run, self.history, request, new_run_id, self.now) == outcome
        assert outcome.new_run is not None, outcome.reply
        problems = step_problems(self.history, self.run, outcome.base)
        assert not problems, "\n".join(problems)
        self._absorb(None, outcome.new_run)


TestRebuildingCluster = RebuildingCluster.TestCase
TestRebuildingCluster.settings = settings(max_examples=150, stateful_step_count=50, deadline=None)


# --- resuming from a rebuilt prefix ------------------------------------------------------


def _reset_points(events: Sequence[HistoryEvent]) -> Iterator[int]:
    """The lengths of the prefixes a reset of `events` rebuilds: up to the event before
    each finish event a reset takes (in a reset run, after the reset: the driver goes
    on without the base run)."""
    first = 2
    for event in events:
        if getattr(event.attributes, "cause", None) is WorkflowTaskFailedCause.RESET_WORKFLOW:
            first = event.event_id + 1
    for finish in range(first, len(events) + 1):
        if not reset_point_problem(events, finish):
            yield finish - 1


def _sticky_restored(
    rebuilt: Rebuilt, prefix: Sequence[HistoryEvent]
) -> tuple[MutableState, tuple[rq.Task, ...]]:
    """The rebuild clears stickiness, as the server's does. The recorded worker kept its
    sticky queue (a sticky task fails without raising the attempt, and times out
    SCHEDULE_TO_START), so the test gives back the queue the pending task was scheduled
    on, with the schedule-to-start timer the recorded run had, to follow the recording."""
    state, wft = rebuilt.state, rebuilt.state.wft
    scheduled = next(
        (e for e in reversed(prefix) if e.event_type is E.WORKFLOW_TASK_SCHEDULED), None
    )
    queue = getattr(scheduled.attributes, "task_queue", None) if scheduled else None
    if wft is None or queue is None or queue.normal_name == "":
        return state, rebuilt.tasks
    timeout = 5 * 10**9  # the replay driver's sticky schedule-to-start timeout
    sticky = evolve(
        state,
        wft=dataclasses.replace(wft, sticky=True, task_queue=queue.name),
        sticky_queue=queue.name,
        sticky_schedule_to_start_timeout=timeout,
    )
    if wft.started:
        return sticky, rebuilt.tasks
    timer = rq.WorkflowTaskTimeoutTask(
        wft.scheduled_event_id,
        TimeoutType.SCHEDULE_TO_START,
        wft.attempt,
        wft.stamp,
        wft.scheduled_time + timeout,
    )
    return sticky, (*rebuilt.tasks, timer)


def _readmitted(state: MutableState, real: Sequence[HistoryEvent], at: int) -> MutableState:
    """Updates admitted before the prefix ends and accepted after it lived in memory
    only, and a rebuild loses them; the client's retry admits them again."""
    held = tuple(
        UpdateInfo(a.protocol_instance_id, a.accepted_request)
        for e in real[at:]
        if isinstance(a := e.attributes, WorkflowExecutionUpdateAcceptedEventAttributes)
        and a.accepted_request_sequencing_event_id <= at
    )
    return evolve(state, updates=(*state.updates, *held)) if held else state


def _resumes(real: Sequence[HistoryEvent], base: Sequence[HistoryEvent] | None) -> None:
    want = [fingerprint(e) for e in reproduce(real, base)]
    points = list(_reset_points(real))
    assert points
    for at in points:
        prefix = real[:at]
        start = prefix[0].event_time or 0
        rebuilt = rebuild(prefix, "default", "wf", "run", "start", start)
        state, tasks = _sticky_restored(rebuilt, prefix)
        written = Driver.resumed(real, _readmitted(state, real, at), tasks).run(start=at)
        assert [fingerprint(e) for e in written] == want, f"from the prefix of {at} events"


@pytest.mark.parametrize("name", RESETTABLE)
def test_the_service_goes_on_from_every_rebuilt_prefix(name: str) -> None:
    _resumes(corpus_events(name), base_of(name))


@pytest.mark.parametrize("name", UNSEEN_NEXUS)
def test_the_service_goes_on_from_every_rebuilt_prefix_of_an_unseen_nexus_history(
    name: str,
) -> None:
    base = _UNSEEN_BASES.get(name)
    _resumes(_unseen_events(name), _unseen_events(base) if base else None)


# --- the checks fail when the rebuilder is wrong ----------------------------------------


def _first_problem(monkeypatch: pytest.MonkeyPatch) -> str | None:
    for name in REBUILT:
        try:
            problems, _ = _corpus_problems(name)
        except Exception as exc:  # a dropped event can derail the replay: caught too
            return f"{name}: {exc!r}"
        if problems:
            return problems[0]
    for name in UNSEEN_NEXUS:
        try:
            problems, _ = _unseen_problems(name)
        except Exception as exc:
            return f"{name}: {exc!r}"
        if problems:
            return problems[0]
    problems = _scenario_problems(monkeypatch)
    return problems[0] if problems else None


# Every event type the rebuilder keeps state for; ActivityTaskStarted only sets the part
# of an activity no event after it can show (it is written with the close), so it has a
# test of its own below. A Nexus cancel request's answer only checks the operation is
# pending (the model keeps nothing of the Cancelation machine it moves; the test above).
HANDLED = sorted(
    (
        t
        for t, h in APPLY.items()
        if h not in (rebuild_module._no_state, rebuild_nexus.nexus_cancel_answered)
        and t is not E.ACTIVITY_TASK_STARTED
    ),
    key=int,
)


@pytest.mark.parametrize("event_type", HANDLED, ids=lambda t: t.name)
def test_a_rebuilder_that_ignores_an_event_type_is_caught(
    monkeypatch: pytest.MonkeyPatch, event_type: EventType
) -> None:
    sabotaged = dict(APPLY)
    sabotaged[event_type] = rebuild_module._no_state
    monkeypatch.setattr(rebuild_module, "APPLY", MappingProxyType(sabotaged))
    assert _first_problem(monkeypatch) is not None


def test_an_activity_started_at_the_end_of_a_prefix_is_rebuilt_started() -> None:
    """A prefix that ends between ActivityTaskStarted and its close (no reset point
    does) still rebuilds the start: attempt, time, request id and identity."""
    events = corpus_events("activity-retry.json")
    started = next(e for e in events if e.event_type is E.ACTIVITY_TASK_STARTED)
    attrs = started.attributes
    assert isinstance(attrs, ActivityTaskStartedEventAttributes) and attrs.attempt > 1
    state = rebuild(events[: started.event_id], "default", "wf", "run", "start", 0).state
    (info,) = state.activities
    assert info.started and info.attempt == attrs.attempt
    assert (info.started_time, info.request_id) == (started.event_time, attrs.request_id)
    kinds = {
        t.timeout_type
        for t in refresh_tasks(state, events)
        if isinstance(t, rq.ActivityTimeoutTask)
    }
    assert TimeoutType.START_TO_CLOSE in kinds  # a started attempt keeps its timer
    assert not any(isinstance(t, rq.ActivityTaskTransfer) for t in refresh_tasks(state, events))


def test_the_events_it_ignores_change_nothing_the_service_keeps() -> None:
    ignored = {t for t, h in APPLY.items() if h is rebuild_module._no_state}
    # (upserts of search attributes and memo are merged into the run's: LIMIT-*-SIZE)
    assert ignored == {E.WORKFLOW_EXECUTION_SIGNALED, E.MARKER_RECORDED}


# --- what it refuses ------------------------------------------------------------------------


def test_a_history_it_cannot_read_raises() -> None:
    events = corpus_events("activity-single.json")
    with pytest.raises(ValueError, match="starts with WorkflowExecutionStarted"):
        rebuild(events[1:], "default", "wf", "run", "start", 0)
    paused = HistoryEvent(
        len(events) + 1,
        E.WORKFLOW_EXECUTION_PAUSED,
        OpaqueAttributes("workflowExecutionPausedEventAttributes", Opaque.of({})),
    )
    with pytest.raises(ValueError, match="WORKFLOW_EXECUTION_PAUSED cannot be rebuilt"):
        rebuild((*events, paused), "default", "wf", "run", "start", 0)
    # a Nexus event naming no pending operation (the server's transitionOperation
    # answers ErrStateMachineNotFound), even one that changes nothing it keeps
    for event_type, key in (
        (E.NEXUS_OPERATION_COMPLETED, "nexusOperationCompletedEventAttributes"),
        (
            E.NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED,
            "nexusOperationCancelRequestCompletedEventAttributes",
        ),
    ):
        stray = HistoryEvent(
            len(events) + 1,
            event_type,
            OpaqueAttributes(key, Opaque.of({"scheduledEventId": "5"})),
        )
        with pytest.raises(ValueError, match="Nexus operation 5, not pending"):
            rebuild((*events, stray), "default", "wf", "run", "start", 0)
    closes = [e for e in events if e.event_type is E.ACTIVITY_TASK_COMPLETED]
    with pytest.raises(ValueError, match="not pending"):  # a close with no schedule
        rebuild((*events[:4], *closes), "default", "wf", "run", "start", 0)


def test_a_closed_run_is_rebuilt_closed_with_no_tasks() -> None:
    events = corpus_events("activity-single.json")
    rebuilt = rebuild(events, "default", "wf", "run", "start", 0)
    assert rebuilt.state.status is RunStatus.COMPLETED
    assert rebuilt.state.close_event_id == events[-1].event_id
    assert rebuilt.tasks == ()


def test_a_continued_run_is_its_own_root_unless_its_chain_is_a_childs() -> None:
    """The server passes a root on only with a parent; a run whose Started names no
    root is its own root, live and rebuilt alike (`ApplyWorkflowExecutionStartedEvent`)."""
    again = Command(
        CommandType.CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        ContinueAsNewWorkflowExecutionCommandAttributes(workflow_type=WorkflowType(name="Flow")),
    )
    for parent in (None, ParentInfo("parent", "parent-run", 5)):
        run = coverage_scenarios.Run()
        if parent is not None:
            run.state = evolve(run.state, parent=parent, root=("parent", "parent-run"))
        token = run.poll()
        outcome = service.handle(
            run.state, rq.RespondWorkflowTaskCompleted(token, (again,)), run.now
        )
        assert outcome.new_run is not None
        started = service.start(outcome.new_run, run.now)
        state = started.state
        want = ("wf", state.run_id) if parent is None else ("parent", "parent-run")
        assert state.root == want
        assert rebuild_problems(state, started.events) == []
