"""The state machine's run checks can fail: each invariant of `run_checks.py` is shown
reporting a real outcome that was broken on purpose (a duplicated close, a second
activity result, a rejection that changed the run, a lost workflow task, a forgotten
activity), and passing the outcome as the service produced it.
"""

from __future__ import annotations

import dataclasses

from core import requests as rq
from core.commands import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
)
from core.events import (
    ActivityTaskCompletedEventAttributes,
    ActivityType,
    HistoryEvent,
)
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.state import MutableState, RunStatus
from core.statemachine.history.service.txn import Outcome
from core.task_queues import task_queue
from tests.core.statemachine.history.service.requests_strategies import (
    SECOND,
)
from tests.core.statemachine.history.service.run_checks import (
    C,
    E,
    _start_request,
    step_problems,
)

# --- the checks can fail --------------------------------------------------------------


def _completed_run() -> tuple[list[HistoryEvent], MutableState, Outcome]:
    """A run whose first workflow task schedules an activity that then completes; the
    next workflow task completes the run. Returns the history and state before that last
    request, and its (real) outcome, each earlier step having passed `step_problems`."""
    now = 1_700_000_000 * SECOND
    started = service.start(_start_request(0, 10 * SECOND, 0), now)
    history, state = list(started.events), started.state

    def step(request: rq.Request) -> Outcome:
        nonlocal state
        outcome = service.handle(state, request, now)
        assert step_problems(history, state, outcome) == []
        history.extend(outcome.events)
        state = outcome.state
        return outcome

    def poll() -> rq.WorkflowTaskToken:
        wft = state.wft
        assert wft is not None
        reply = step(rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, "r0")).reply
        assert isinstance(reply, rq.WorkflowTaskStarted)
        return reply.token

    schedule = ScheduleActivityTaskCommandAttributes(
        activity_id="a0",
        activity_type=ActivityType(name="act"),
        task_queue=task_queue("queue"),
        start_to_close_timeout=SECOND,
    )
    step(rq.RespondWorkflowTaskCompleted(poll(), (Command(C.SCHEDULE_ACTIVITY_TASK, schedule),)))
    info = state.activities[0]
    reply = step(rq.RecordActivityTaskStarted(info.scheduled_event_id, info.stamp, "r0")).reply
    assert isinstance(reply, rq.ActivityTaskStarted)
    step(rq.RespondActivityTaskCompleted(reply.token))
    close = Command(C.COMPLETE_WORKFLOW_EXECUTION, CompleteWorkflowExecutionCommandAttributes())
    token = poll()
    return (
        history,
        state,
        service.handle(state, rq.RespondWorkflowTaskCompleted(token, (close,)), now),
    )


def _corrupt(outcome: Outcome, extra: HistoryEvent) -> Outcome:
    """The outcome with `extra` appended (renumbered to follow the outcome's events)."""
    event = dataclasses.replace(extra, event_id=outcome.state.next_event_id)
    state = dataclasses.replace(outcome.state, next_event_id=event.event_id + 1)
    return dataclasses.replace(outcome, events=(*outcome.events, event), state=state)


def test_the_real_outcomes_pass_the_checks() -> None:
    history, state, outcome = _completed_run()
    assert step_problems(history, state, outcome) == []
    assert outcome.state.status is RunStatus.COMPLETED


def test_a_duplicated_close_event_is_reported() -> None:
    history, state, outcome = _completed_run()
    close = outcome.events[-1]
    assert close.event_type is E.WORKFLOW_EXECUTION_COMPLETED
    problems = step_problems(history, state, _corrupt(outcome, close))
    assert "INV-RUN-CLOSES-ONCE: 2 close events" in problems, problems
    assert "INV-RUN-CLOSES-ONCE: 1 events after close" in problems, problems


def test_a_second_activity_result_is_reported() -> None:
    history, state, outcome = _completed_run()
    result = next(e for e in history if e.event_type is E.ACTIVITY_TASK_COMPLETED)
    attrs = result.attributes
    assert isinstance(attrs, ActivityTaskCompletedEventAttributes)
    problems = step_problems(history, state, _corrupt(outcome, result))
    expected = f"INV-RESULT-AT-MOST-ONCE: activity {attrs.scheduled_event_id} closed 2 times"
    assert expected in problems, problems


def test_a_rejection_that_changes_the_run_is_reported() -> None:
    history, state, outcome = _completed_run()
    rejected = dataclasses.replace(outcome, reply=rq.Error(rq.ErrorKind.NOT_FOUND, "stale"))
    assert "rejected (NotFound) but the run changed" in step_problems(history, state, rejected)


def test_a_lost_workflow_task_is_reported() -> None:
    history, state, _ = _completed_run()
    # A signal arrives while the task is in flight; dropping the task would lose it.
    outcome = service.handle(state, rq.SignalWorkflowExecution("sig"), 1)
    assert step_problems(history, state, outcome) == []
    lost = dataclasses.replace(outcome.state, wft=None, buffered=())
    flushed = dataclasses.replace(outcome, state=lost)
    problems = step_problems(history, state, flushed)
    assert "lost workflow task: new events but no workflow task pending" in problems, problems


def test_a_forgotten_activity_is_reported() -> None:
    history, state, _ = _completed_run()
    schedule = ScheduleActivityTaskCommandAttributes(
        activity_id="a1",
        activity_type=ActivityType(name="act"),
        task_queue=task_queue("queue"),
        start_to_close_timeout=SECOND,
    )
    token = _live_token(state)
    command = Command(C.SCHEDULE_ACTIVITY_TASK, schedule)
    outcome = service.handle(state, rq.RespondWorkflowTaskCompleted(token, (command,)), 1)
    assert step_problems(history, state, outcome) == []
    forgotten = dataclasses.replace(
        outcome, state=dataclasses.replace(outcome.state, activities=())
    )
    problems = step_problems(history, state, forgotten)
    assert any(p.startswith("activities open in history") for p in problems), problems


def _live_token(state: MutableState) -> rq.WorkflowTaskToken:
    wft = state.wft
    assert wft is not None and wft.started
    return rq.WorkflowTaskToken(wft.scheduled_event_id, wft.started_event_id, wft.attempt)
