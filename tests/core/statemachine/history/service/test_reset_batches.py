"""Which reset points the model takes (reset_batches.py), against the 1.32 dev server.

The server takes a point when the event before it ends an event batch and a workflow
task is pending there, and refuses others in its own words
(service/history/ndc/state_rebuilder.go, ndc/workflow_resetter.go). The recordings of
scripts/unseen_reset_points.py: the points it took (tests/fixtures/unseen-histories,
reset-point-*; tests/adapters/test_conform_unseen.py reproduces the runs they made)
and those it refused, with its answers (tests/fixtures/serve/reset_points_dev.json).
The other shapes come from recorded histories whose batches the server's source fixes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from adapters.conform.derive import Driver
from adapters.conform.requests import before_reset
from adapters.temporal_json import decode_history
from core import requests as rq
from core.enums import EventType
from core.events import HistoryEvent, WorkflowTaskScheduledEventAttributes
from core.statemachine.history.service.reset import reset, reset_point_problem
from core.statemachine.history.service.reset_batches import INLINE_START_REQUEST_ID, ends_batch
from tests.conftest import FIXTURES, corpus_events

E = EventType
UNSEEN = FIXTURES / "unseen-histories"
REFUSALS: dict[str, dict[str, object]] = json.loads(
    (FIXTURES / "serve" / "reset_points_dev.json").read_text(encoding="utf-8")
)
# (recorded reset run, the point the dev server took)
TAKEN = {
    "reset-point-after-signal": 4,
    "reset-point-after-scheduled": 3,
    "reset-point-to-started": 7,
    "reset-point-after-failed": 5,
}


def _unseen(name: str) -> tuple[HistoryEvent, ...]:
    return tuple(decode_history((UNSEEN / name).read_text(encoding="utf-8")).events)


def _driven(events: Sequence[HistoryEvent]) -> Driver:
    driver = Driver(events)
    driver.run()
    assert driver.state is not None
    return driver


@pytest.mark.parametrize("step", sorted(REFUSALS))
def test_a_point_the_dev_server_refused_is_refused_in_its_words(step: str) -> None:
    refusal = REFUSALS[step]
    name = step.split(":")[0]
    driver = _driven(before_reset(_unseen(f"{name}.base.json")))
    assert driver.state is not None
    at = refusal["at"]
    assert isinstance(at, int)
    request = rq.ResetWorkflowExecution("r", at, "x")
    outcome = reset(driver.state, driver.written, request, "new", 0)
    assert outcome.new_run is None
    assert isinstance(outcome.reply, rq.Error)
    assert outcome.reply.kind is rq.ErrorKind.INVALID_ARGUMENT
    assert refusal["status"] == "INVALID_ARGUMENT"
    assert outcome.reply.message == refusal["message"]


@pytest.mark.parametrize("name", sorted(TAKEN))
def test_a_point_the_dev_server_took_is_taken(name: str) -> None:
    driver = _driven(before_reset(_unseen(f"{name}.base.json")))
    assert driver.state is not None
    finish = TAKEN[name]
    assert reset_point_problem(driver.written, finish) == ""
    outcome = reset(
        driver.state, driver.written, rq.ResetWorkflowExecution("r", finish, "x"), "n", 0
    )
    assert outcome.new_run is not None
    recorded = _unseen(f"{name}.json")
    written = outcome.new_run.events
    assert [e.event_type for e in written] == [e.event_type for e in recorded[: len(written)]]


def test_a_retry_pending_at_the_point_is_written_anew_before_the_reset_fails_it() -> None:
    """After a failed task, the reset writes the pending retry's Scheduled event (attempt
    1) before its own Started and Failed, as the dev server did."""
    driver = _driven(before_reset(_unseen("reset-point-after-failed.base.json")))
    assert driver.state is not None
    outcome = reset(driver.state, driver.written, rq.ResetWorkflowExecution("r", 5, "x"), "n", 0)
    assert outcome.new_run is not None
    new = outcome.new_run.events[4:7]
    assert [e.event_type for e in new] == [
        E.WORKFLOW_TASK_SCHEDULED,
        E.WORKFLOW_TASK_STARTED,
        E.WORKFLOW_TASK_FAILED,
    ]
    scheduled = new[0].attributes
    assert isinstance(scheduled, WorkflowTaskScheduledEventAttributes) and scheduled.attempt == 1
    assert getattr(new[1].attributes, "scheduled_event_id", None) == 5
    assert getattr(new[2].attributes, "started_event_id", None) == 6


def _batch_ends(events: Sequence[HistoryEvent]) -> list[int]:
    return [k for k in range(1, len(events)) if ends_batch(events, k)]


def test_an_eager_start_writes_its_first_task_with_it() -> None:
    """The start, the task's Scheduled and its Started (eager) share a batch; the task's
    completion and commands another; the activity's start, close and next task one."""
    events = corpus_events("eager-start.json")
    assert events[0].attributes.eager_execution_accepted  # type: ignore[union-attr]
    assert _batch_ends(events)[:4] == [3, 5, 8, 9]


def test_an_activity_start_is_written_with_its_close() -> None:
    events = corpus_events("reset.base.json")
    assert [e.event_type for e in events[4:8]] == [
        E.ACTIVITY_TASK_SCHEDULED,
        E.ACTIVITY_TASK_STARTED,
        E.ACTIVITY_TASK_COMPLETED,
        E.WORKFLOW_TASK_SCHEDULED,
    ]
    assert not ends_batch(events, 6) and not ends_batch(events, 7)
    assert ends_batch(events, 5) and ends_batch(events, 8)


def test_a_retry_started_after_other_events_is_written_with_its_start() -> None:
    """transient-signals.json: the first task failed (4), two signals came (5, 6), then
    the retry started, written as attempt 1: Scheduled 7 and Started 8 in one batch."""
    events = _unseen("transient-signals.json")
    assert events[3].event_type is E.WORKFLOW_TASK_FAILED
    assert ends_batch(events, 4) and ends_batch(events, 5) and ends_batch(events, 6)
    assert not ends_batch(events, 7)
    assert "event ID: 7, version: 0" in reset_point_problem(events, 8)
    assert reset_point_problem(events, 7) == ""


def test_a_sticky_tasks_failure_schedules_the_next_task_in_its_batch() -> None:
    """wft-failure-fixed.json's task 8 ran on the sticky queue: its failure (10) keeps the
    attempt and schedules task 11 at once (`failWorkflowTask`)."""
    events = corpus_events("wft-failure-fixed.json")
    queue = getattr(events[7].attributes, "task_queue", None)
    assert queue is not None and queue.kind.name == "STICKY"
    assert events[9].event_type is E.WORKFLOW_TASK_FAILED
    assert not ends_batch(events, 10)
    assert "event ID: 10, version: 0" in reset_point_problem(events, 11)


def test_signals_while_the_first_task_waits_for_a_backoff_each_end_a_batch() -> None:
    """signal-in-delay.json: a delayed start, two signals during the delay, then the
    first task: each its own batch, none with a task pending."""
    events = _unseen("signal-in-delay.json")
    assert _batch_ends(events)[:4] == [1, 2, 3, 4]
    assert reset_point_problem(events, 3).startswith("Can only reset workflow")


def test_a_task_started_by_the_completion_that_scheduled_it_shares_its_batch() -> None:
    """signal-during-workflow-task.json: the worker asked for the next task in its
    completion (4), so the signal buffered meanwhile (6), the new task's Scheduled (7)
    and its Started (8) are written with that completion, in one batch."""
    events = corpus_events("signal-during-workflow-task.json")
    assert getattr(events[7].attributes, "request_id", "") == INLINE_START_REQUEST_ID
    assert events[5].event_type is E.WORKFLOW_EXECUTION_SIGNALED
    assert events[5].event_time is not None and events[3].event_time is not None
    assert events[5].event_time < events[3].event_time  # it arrived during the task
    assert _batch_ends(events) == [2, 3, 8]
    assert "event ID: 7, version: 0" in reset_point_problem(events, 8)
