"""Cron workflows and eager workflow start in the history service (the rules are in
core/statemachine/history/service/cron.py and workflow_task.start_eagerly; the real
server's histories of both are in the recorded corpus: cron.run*.json, eager-start.json)."""

from __future__ import annotations

import pytest

from core import requests as rq
from core.commands import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    FailWorkflowExecutionCommandAttributes,
)
from core.enums import CommandType, ContinueAsNewInitiator, EventType
from core.events import (
    WorkflowExecutionCompletedEventAttributes,
    WorkflowExecutionFailedEventAttributes,
    WorkflowExecutionStartedEventAttributes,
    WorkflowTaskStartedEventAttributes,
)
from core.opaque import Opaque
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.cron import cron_backoff
from core.statemachine.history.service.txn import Outcome
from core.statemachine.history.validator import validate

E = EventType
S = 1_000_000_000
MINUTE = 60 * S
# 2026-12-06T00:50:37.268759788Z, a Sunday (the recorded cron run's start)
SUNDAY = 1_796_518_237_268_759_788
RESULT = Opaque.of({"payloads": [{"data": "ImRvbmUi"}]})


@pytest.mark.parametrize(
    ("schedule", "execution", "now", "expected"),
    [
        # @every counts from the previous time, rounded down to its second (robfig)
        ("@every 2s", SUNDAY, SUNDAY + 200_000_000, S + S),
        ("@every 2s", SUNDAY, SUNDAY + 5 * S, S),  # times already past are skipped
        ("@every 1500ms", SUNDAY, SUNDAY, S),  # whole seconds only
        ("@every 0s", SUNDAY, SUNDAY, S),  # and at least one
        ("* * * * *", SUNDAY, SUNDAY, 23 * S),  # the next minute, rounded up
        ("@hourly", SUNDAY, SUNDAY, 9 * MINUTE + 23 * S),
        # not yet at its execution time: that time itself
        ("@hourly", SUNDAY + 10 * S, SUNDAY, 10 * S),
        # both day fields restricted: either matches (Monday the 7th comes first)
        ("0 0 13 * 1", SUNDAY, SUNDAY, 23 * 3600 * S + 9 * MINUTE + 23 * S),
        ("0 0 13 * *", SUNDAY, SUNDAY, 6 * 24 * 3600 * S + 23 * 3600 * S + 9 * MINUTE + 23 * S),
        ("TZ=Etc/GMT-1 0 1 * * *", SUNDAY, SUNDAY, 23 * 3600 * S + 9 * MINUTE + 23 * S),
        ("not a schedule", SUNDAY, SUNDAY, None),
        ("0 0 30 2 *", SUNDAY, SUNDAY, None),  # no such day: the chain ends
    ],
)
def test_the_next_cron_run_waits_for_the_next_schedule_time(
    schedule: str, execution: int, now: int, expected: int | None
) -> None:
    assert cron_backoff(schedule, execution, now) == expected


def _started_cron_run() -> rq.StartWorkflowExecution:
    return rq.StartWorkflowExecution(
        "default", "wf", "run-1", "Flow", "q", "start", cron_schedule="@every 2s"
    )


def _finish(command: Command, now: int) -> Outcome:
    state = service.start(_started_cron_run(), now).state
    polled = service.handle(state, rq.RecordWorkflowTaskStarted(2, 1, "poll"), now)
    assert isinstance(polled.reply, rq.WorkflowTaskStarted)
    done = rq.RespondWorkflowTaskCompleted(polled.reply.token, (command,))
    return service.handle(polled.state, done, now + 200_000_000)


def test_a_completed_cron_run_hands_its_result_to_the_next_run() -> None:
    complete = Command(
        CommandType.COMPLETE_WORKFLOW_EXECUTION,
        CompleteWorkflowExecutionCommandAttributes(result=RESULT),
    )
    outcome = _finish(complete, SUNDAY)
    close = outcome.events[-1].attributes
    assert isinstance(close, WorkflowExecutionCompletedEventAttributes)
    assert outcome.new_run is not None and close.new_execution_run_id == outcome.new_run.run_id
    new = outcome.new_run
    assert new.initiator is ContinueAsNewInitiator.CRON_SCHEDULE and new.attempt == 1
    assert new.cron_schedule == "@every 2s" and new.last_completion_result == RESULT
    assert new.first_workflow_task_backoff == 2 * S
    # a cron run's parent hears nothing: the chain goes on
    transfer = next(t for t in outcome.tasks if isinstance(t, rq.CloseExecutionTransfer))
    assert transfer.parent_outcome is None
    started = service.start(new, SUNDAY).events[0].attributes
    assert isinstance(started, WorkflowExecutionStartedEventAttributes)
    assert started.cron_schedule == "@every 2s"


def test_a_failed_cron_run_with_no_retry_goes_on_by_its_schedule() -> None:
    failure = Opaque.of({"message": "no"})
    fail = Command(
        CommandType.FAIL_WORKFLOW_EXECUTION, FailWorkflowExecutionCommandAttributes(failure)
    )
    outcome = _finish(fail, SUNDAY)
    close = outcome.events[-1].attributes
    assert isinstance(close, WorkflowExecutionFailedEventAttributes)
    assert outcome.new_run is not None and close.new_execution_run_id == outcome.new_run.run_id
    assert outcome.new_run.initiator is ContinueAsNewInitiator.CRON_SCHEDULE
    assert outcome.new_run.continued_failure == failure


def test_a_run_without_a_schedule_ends_its_chain() -> None:
    state = service.start(rq.StartWorkflowExecution("d", "w", "r", "T", "q", "s"), 0).state
    polled = service.handle(state, rq.RecordWorkflowTaskStarted(2, 1, "poll"), 0)
    assert isinstance(polled.reply, rq.WorkflowTaskStarted)
    complete = Command(
        CommandType.COMPLETE_WORKFLOW_EXECUTION, CompleteWorkflowExecutionCommandAttributes()
    )
    done = rq.RespondWorkflowTaskCompleted(polled.reply.token, (complete,))
    assert service.handle(polled.state, done, S).new_run is None


def test_an_eager_start_starts_the_first_task_for_the_starter() -> None:
    request = rq.StartWorkflowExecution(
        "default",
        "wf",
        "run-1",
        "Flow",
        "q",
        "start-id",
        identity="me",
        request_eager_execution=True,
    )
    outcome = service.start(request, 0)
    types = [e.event_type for e in outcome.events]
    assert types == [
        E.WORKFLOW_EXECUTION_STARTED,
        E.WORKFLOW_TASK_SCHEDULED,
        E.WORKFLOW_TASK_STARTED,
    ]
    started = outcome.events[0].attributes
    assert isinstance(started, WorkflowExecutionStartedEventAttributes)
    assert started.eager_execution_accepted
    task = outcome.events[2].attributes
    assert isinstance(task, WorkflowTaskStartedEventAttributes)
    assert (task.identity, task.request_id) == ("me", "start-id")
    # matching is not given the task: the starter has it
    assert not any(isinstance(t, rq.WorkflowTaskTransfer) for t in outcome.tasks)
    assert any(isinstance(t, rq.WorkflowTaskTimeoutTask) for t in outcome.tasks)
    assert outcome.state.wft is not None and outcome.state.wft.started
    assert validate(outcome.events).violations == ()


def test_an_eager_start_is_declined_when_the_first_task_waits() -> None:
    request = rq.StartWorkflowExecution(
        "d", "w", "r", "T", "q", "s", request_eager_execution=True, first_workflow_task_backoff=S
    )
    outcome = service.start(request, 0)
    started = outcome.events[0].attributes
    assert isinstance(started, WorkflowExecutionStartedEventAttributes)
    assert not started.eager_execution_accepted and len(outcome.events) == 1
