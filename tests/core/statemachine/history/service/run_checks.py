"""The run invariants that `test_stateful.py`'s state machine checks after every
request, as plain functions over a history, a mutable state and an outcome (so that
`test_stateful_checks.py` can show each one fails on a broken outcome), and the start
request both files begin a run with.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TypeVar

from core import requests as rq
from core.enums import CommandType, EventType, WorkflowTaskFailedCause
from core.event_sets import (
    ACTIVITY_CLOSE_EVENT_TYPES,
    CLOSE_EVENT_TYPES,
    COMMAND_EVENT_TYPES,
    TIMER_CLOSE_EVENT_TYPES,
)
from core.events import (
    HistoryEvent,
)
from core.statemachine.history.service.state import MutableState, RunStatus
from core.statemachine.history.service.txn import Outcome
from core.statemachine.history.validator import validate

E = EventType
C = CommandType
T = TypeVar("T")

ACTIVITY_CLOSES = ACTIVITY_CLOSE_EVENT_TYPES
TIMER_CLOSES = TIMER_CLOSE_EVENT_TYPES
# Replies that mean "nothing happened": the request must leave the run as it was.
REJECTIONS = frozenset(
    {
        rq.ErrorKind.NOT_FOUND,
        rq.ErrorKind.OBSOLETE,
        rq.ErrorKind.ALREADY_STARTED,
        rq.ErrorKind.WORKFLOW_COMPLETED,
        rq.ErrorKind.ALREADY_EXISTS,
    }
)
WFT_FAILURE_CAUSES = (
    WorkflowTaskFailedCause.WORKFLOW_WORKER_UNHANDLED_FAILURE,
    WorkflowTaskFailedCause.UNHANDLED_COMMAND,
)
START_REQUEST_ID = "start-0"
CHAINED_CLOSES = frozenset({RunStatus.CONTINUED_AS_NEW, RunStatus.FAILED, RunStatus.TIMED_OUT})
TIMER_TASKS = (
    rq.UserTimerTask,
    rq.ActivityTimeoutTask,
    rq.ActivityRetryTask,
    rq.WorkflowTaskTimeoutTask,
    rq.WorkflowRunTimeoutTask,
    rq.WorkflowBackoffTask,
)


# --- the invariants, as functions (so that a test can show they fail) -----------------


def history_problems(history: Sequence[HistoryEvent]) -> list[str]:
    """What is wrong with one run's history (empty: nothing)."""
    problems = [
        f"{v.rule} at event {v.event_id}: {v.message}" for v in validate(history).violations
    ]
    for position, event in enumerate(history, start=1):
        if event.event_id != position:
            problems.append(f"event ids: {event.event_id} at position {position}")
            break
    results: Counter[int] = Counter()
    fires: Counter[int] = Counter()
    for event in history:
        attrs = event.attributes
        if event.event_type in ACTIVITY_CLOSES:
            results[getattr(attrs, "scheduled_event_id", 0)] += 1
        elif event.event_type in TIMER_CLOSES:
            fires[getattr(attrs, "started_event_id", 0)] += 1
    for scheduled, n in sorted(results.items()):
        if n > 1:
            problems.append(f"INV-RESULT-AT-MOST-ONCE: activity {scheduled} closed {n} times")
    for started, n in sorted(fires.items()):
        if n > 1:
            problems.append(f"INV-RESULT-AT-MOST-ONCE: timer {started} closed {n} times")
    closes = [i for i, e in enumerate(history) if e.event_type in CLOSE_EVENT_TYPES]
    if len(closes) > 1:
        problems.append(f"INV-RUN-CLOSES-ONCE: {len(closes)} close events")
    if closes and closes[0] != len(history) - 1:
        problems.append(f"INV-RUN-CLOSES-ONCE: {len(history) - 1 - closes[0]} events after close")
    return problems


def _has_unseen_events(history: Sequence[HistoryEvent]) -> bool:
    """Whether the history holds events written after the last completed workflow task
    other than that task's own command events (the workflow has not seen them yet)."""
    last = max(
        (i for i, e in enumerate(history) if e.event_type is E.WORKFLOW_TASK_COMPLETED),
        default=None,
    )
    if last is None:
        return True
    return any(e.event_type not in COMMAND_EVENT_TYPES for e in history[last + 1 :])


def _open_in_history(
    history: Sequence[HistoryEvent], opens: EventType, closes: frozenset[EventType], key: str
) -> set[int]:
    """Ids of the entities opened by `opens` events that no `closes` event closed."""
    opened = {e.event_id for e in history if e.event_type is opens}
    return opened - {getattr(e.attributes, key, 0) for e in history if e.event_type in closes}


def _forgotten(state: MutableState, history: Sequence[HistoryEvent]) -> list[str]:
    """Activities and timers open in the history must be pending in mutable state, or
    have their close buffered (so no result can be lost, and none appear from nowhere)."""
    problems = []
    buffered = state.buffered
    activities = _open_in_history(
        history, E.ACTIVITY_TASK_SCHEDULED, ACTIVITY_CLOSES, "scheduled_event_id"
    )
    closing = {
        getattr(e.attributes, "scheduled_event_id", 0)
        for e in buffered
        if e.event_type in ACTIVITY_CLOSES
    }
    pending = {a.scheduled_event_id for a in state.activities}
    if activities != pending | closing or pending & closing:
        problems.append(
            f"activities open in history {sorted(activities)}, pending {sorted(pending)}, "
            f"closing (buffered) {sorted(closing)}"
        )
    timers = _open_in_history(history, E.TIMER_STARTED, TIMER_CLOSES, "started_event_id")
    fired = {
        getattr(e.attributes, "started_event_id", 0)
        for e in buffered
        if e.event_type is E.TIMER_FIRED
    }
    pending = {t.started_event_id for t in state.timers}
    if timers != pending | fired or pending & fired:
        problems.append(
            f"timers open in history {sorted(timers)}, pending {sorted(pending)}, "
            f"fired (buffered) {sorted(fired)}"
        )
    return problems


def state_problems(state: MutableState, history: Sequence[HistoryEvent]) -> list[str]:
    """What is wrong with a run's mutable state given its history."""
    problems = _forgotten(state, history) if state.running else []
    if state.next_event_id != len(history) + 1:
        problems.append(f"next_event_id {state.next_event_id} after {len(history)} events")
    closed = any(e.event_type in CLOSE_EVENT_TYPES for e in history)
    if state.running == closed:
        problems.append(f"status {state.status.name} but closed in history: {closed}")
    in_flight = state.wft is not None and state.wft.started
    if state.buffered and not (state.running and in_flight):
        problems.append(f"{len(state.buffered)} events buffered with no workflow task started")
    if (
        state.running
        and state.wft is None
        and not state.backoff_pending
        and _has_unseen_events(history)
    ):
        problems.append("lost workflow task: new events but no workflow task pending")
    return problems


def step_problems(
    history: Sequence[HistoryEvent], before: MutableState | None, outcome: Outcome
) -> list[str]:
    """What is wrong with one request's outcome, applied to `history` and `before`
    (`before` None: the outcome starts a new run)."""
    problems = []
    reply = outcome.reply
    changed = bool(outcome.events or outcome.tasks) or outcome.state != before
    if isinstance(reply, rq.Error) and reply.kind in REJECTIONS and changed:
        problems.append(f"rejected ({reply.kind.value}) but the run changed")
    after = [*history, *outcome.events] if before is not None else list(outcome.events)
    problems += history_problems(after)
    problems += state_problems(outcome.state, after)
    closes = sum(e.event_type in CLOSE_EVENT_TYPES for e in outcome.events)
    close_tasks = sum(isinstance(t, rq.CloseExecutionTransfer) for t in outcome.tasks)
    if closes != close_tasks:
        problems.append(f"{closes} close events but {close_tasks} CloseExecutionTransfer tasks")
    # A next run comes with this run's close (always for continue-as-new, and for a
    # failure or timeout that the workflow's retry policy retries), or from a start that
    # the workflow id reuse policy allows once this run has closed.
    status = outcome.state.status
    if closes and status is RunStatus.CONTINUED_AS_NEW and outcome.new_run is None:
        problems.append("continued as new without a next run")
    reused = outcome.new_run is not None and not outcome.state.running and not outcome.events
    if (
        outcome.new_run is not None
        and not (closes and status in CHAINED_CLOSES)
        and not (reused or status is RunStatus.TERMINATED)
    ):
        problems.append(f"a next run without a chaining close (status {status.name})")
    return problems


def _start_request(run_timeout: int, task_timeout: int, backoff: int) -> rq.StartWorkflowExecution:
    return rq.StartWorkflowExecution(
        namespace="default",
        workflow_id="wf",
        run_id="run-0",
        workflow_type="Workflow",
        task_queue="queue",
        request_id=START_REQUEST_ID,
        workflow_task_timeout=task_timeout,
        run_timeout=run_timeout,
        first_workflow_task_backoff=backoff,
    )
