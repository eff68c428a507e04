"""Accounting for task deliveries and activity executions.

INV-NO-UNCAUSED-REDELIVERY. A task is a workflow or activity task of one run, named by
its scheduled event id; a delivery is a worker receiving one attempt of it started
(matching hands it over after history recorded the start). The first delivery of an
attempt needs no reason: history made the attempt. Deliveries are counted per attempt
because a new attempt may keep the scheduled event id (a transient workflow-task
retry) and its predecessor's delivery may be delayed until after the timeout that made
it, so "since the previous delivery of the task" would not see that cause. Every later
delivery of the same attempt needs a cause the simulator recorded since that attempt's
previous delivery, either of the task itself - history accepted a failure of it
(RespondActivityTaskFailed, RespondWorkflowTaskFailed) or fired one of its timers (a
timeout, an activity's retry backoff) - or of the cluster: a node crashed, a shard was
moved, a message was duplicated, a write's outcome was unknown. A matching that hands
a task out twice is otherwise invisible: history's dedup refuses the second answer and
every history stays valid.

INV-ACTIVITY-AT-LEAST-ONCE, per attempt. A worker counts each execution of an
activity attempt, as (run, scheduled event id, attempt). Every attempt whose answer
history accepted (a completion, a failure - retried or final - or a cancellation) and
every attempt an ActivityTaskStarted event records before a worker's answer must have
been executed by a worker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from core import requests as rq
from core.enums import EventType
from core.events import ActivityTaskStartedEventAttributes, HistoryEvent

WORKFLOW, ACTIVITY = "workflow", "activity"
TaskKey = tuple[str, str, int]  # (WORKFLOW | ACTIVITY, run id, scheduled event id)
Attempt = tuple[str, int, int]  # (run id, scheduled event id, attempt)
Violate = Callable[[str, str, str | None], None]

# The fault kinds that may make a task reach a worker again (faults.py names them).
DISTURBANCES = (
    "duplicate",
    "persistence-timeout",
    "worker-crash",
    "history-crash",
    "matching-crash",
    "shard-move",
)
# A worker's answer that history records for the attempt it names.
ANSWERS = (
    rq.RespondActivityTaskCompleted,
    rq.RespondActivityTaskFailed,
    rq.RespondActivityTaskCanceled,
)
# The events that record a worker's answer after an ActivityTaskStarted.
ANSWERED = frozenset(
    {
        EventType.ACTIVITY_TASK_COMPLETED,
        EventType.ACTIVITY_TASK_FAILED,
        EventType.ACTIVITY_TASK_CANCELED,
    }
)
_ACTIVITY_TIMERS = (rq.ActivityTimeoutTask, rq.ActivityRetryTask)  # built once, for isinstance


class Ledger:
    """What was delivered, executed and answered, and the causes of re-delivery."""

    def __init__(self, violate: Violate, disturbances: Callable[[], int]) -> None:
        self.violate = violate
        self.disturbances = disturbances
        self.causes: Counter[TaskKey] = Counter()
        # (task, attempt) -> causes of the task and disturbances at its last delivery
        self.last: dict[tuple[TaskKey, int], tuple[int, int]] = {}
        self.executed: Counter[Attempt] = Counter()
        self.answered: dict[Attempt, str] = {}  # accepted answers: attempt -> request

    # -- deliveries -----------------------------------------------------------------
    def delivered(self, kind: str, run_id: str, scheduled_event_id: int, attempt: int) -> None:
        """A worker received this attempt started; a repeat without a cause is reported."""
        key = (kind, run_id, scheduled_event_id)
        now = (self.causes.get(key, 0), self.disturbances())  # causes[key], not stored
        before = self.last.get((key, attempt))
        self.last[key, attempt] = now
        if before == now:
            self.violate(
                "INV-NO-UNCAUSED-REDELIVERY",
                f"{kind} task {scheduled_event_id} (attempt {attempt}) delivered again with "
                "no timeout, failure, crash, shard move or duplicated message since its "
                "last delivery",
                run_id,
            )

    def served(self, run_id: str, req: object) -> None:
        """History accepted `req` for run `run_id`: note what it causes or answers."""
        if isinstance(req, rq.RespondActivityTaskFailed):
            self.causes[(ACTIVITY, run_id, req.token.scheduled_event_id)] += 1
        elif isinstance(req, rq.RespondWorkflowTaskFailed):
            self.causes[(WORKFLOW, run_id, req.token.scheduled_event_id)] += 1
        elif isinstance(req, rq.FireTimer):
            task = req.task
            if isinstance(task, _ACTIVITY_TIMERS):
                self.causes[(ACTIVITY, run_id, task.scheduled_event_id)] += 1
            elif isinstance(task, rq.WorkflowTaskTimeoutTask):
                self.causes[(WORKFLOW, run_id, task.scheduled_event_id)] += 1
        if isinstance(req, ANSWERS):
            token = req.token
            attempt = (run_id, token.scheduled_event_id, token.attempt)
            self.answered.setdefault(attempt, type(req).__name__)

    # -- executions -----------------------------------------------------------------
    def executed_attempt(self, run_id: str, scheduled_event_id: int, attempt: int) -> None:
        self.executed[(run_id, scheduled_event_id, attempt)] += 1

    def unexecuted(self, histories: dict[str, list[HistoryEvent]]) -> list[tuple[str, str]]:
        """(run id, message) for every answered or recorded attempt no worker executed."""
        out: list[tuple[str, str]] = []
        for (run_id, scheduled, attempt), what in sorted(self.answered.items()):
            if not self.executed[(run_id, scheduled, attempt)]:
                out.append(
                    (run_id, f"activity {scheduled} attempt {attempt}: {what} accepted, not run")
                )
        for run_id in sorted(histories):
            for scheduled, attempt in answered_attempts(histories[run_id]):
                if not self.executed[(run_id, scheduled, attempt)]:
                    out.append(
                        (run_id, f"activity {scheduled} attempt {attempt} recorded, never ran")
                    )
        return out


def answered_attempts(history: Sequence[HistoryEvent]) -> list[tuple[int, int]]:
    """(scheduled event id, attempt) of each ActivityTaskStarted followed by a worker's
    answer (completed, failed or canceled) for the same activity."""
    started: dict[int, int] = {}
    out: list[tuple[int, int]] = []
    for event in history:
        a = event.attributes
        if isinstance(a, ActivityTaskStartedEventAttributes):
            started[a.scheduled_event_id] = a.attempt
        elif event.event_type in ANSWERED:
            scheduled = getattr(a, "scheduled_event_id", 0)
            if scheduled in started:
                out.append((scheduled, started[scheduled]))
    return out
