"""The scripted workflow: what each workflow of a generated workload does.

A workflow's `Spec` is its input (so continue-as-new passes it on): schedule a few
activities and a timer, wait for them (a signal quota can cut the timer short), answer
a cancel request by cancelling what is pending, and close: complete, fail, or continue
as new. `decide` is the workflow code, a pure function of the history a worker was
given, as an SDK replaying it would compute it; `sim.workflow_code.ScriptedCode` runs
it in the simulator's workers, and `sim.service_bench_driver` in the service
benchmark. `activity_outcome` is what a simulated activity attempt does.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from core import task_queues
from core.commands import (
    CancelTimerCommandAttributes,
    CancelWorkflowExecutionCommandAttributes,
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ContinueAsNewWorkflowExecutionCommandAttributes,
    FailWorkflowExecutionCommandAttributes,
    RequestCancelActivityTaskCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    StartTimerCommandAttributes,
)
from core.enums import CommandType, TaskQueueKind
from core.events import (
    ActivityTaskCanceledEventAttributes,
    ActivityTaskCancelRequestedEventAttributes,
    ActivityTaskCompletedEventAttributes,
    ActivityTaskFailedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    ActivityTaskTimedOutEventAttributes,
    ActivityType,
    HistoryEvent,
    TimerCanceledEventAttributes,
    TimerFiredEventAttributes,
    TimerStartedEventAttributes,
    WorkflowExecutionCancelRequestedEventAttributes,
    WorkflowExecutionSignaledEventAttributes,
    WorkflowExecutionStartedEventAttributes,
)
from core.opaque import Opaque

C = CommandType
MS = 1_000_000  # nanoseconds
ACTIVITY_START_TO_CLOSE = 3_000 * MS
RETRY_POLICY = Opaque.of({"initialInterval": "0.200s", "maximumAttempts": 3})


def activity_outcome(
    r: float, lost: float, failure: float, non_retryable: float, heartbeat: float
) -> str:
    """What a simulated activity attempt does, from one uniform draw `r` in [0, 1):
    lost, fail, fail_non_retryable, heartbeat (then complete or cancel) or complete."""
    for name, rate in (
        ("lost", lost),
        ("fail", failure),
        ("fail_non_retryable", non_retryable),
        ("heartbeat", heartbeat),
    ):
        if r < rate:
            return name
        r -= rate
    return "complete"


# --- the scripted workflow -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spec:
    """What one workflow does; it is the workflow's input, so continue-as-new passes it on."""

    activities: int
    timer_ms: int
    signals: int  # signals that end the wait for the timer early (0: never)
    generations: int  # continue as new this many more times
    fail_on_activity_failure: bool

    @staticmethod
    def draw(rng: random.Random, signals: float, continue_as_new: float) -> Spec:
        """A workflow drawn from `rng`: signalled with chance `signals`, continuing as new
        with chance `continue_as_new` (the draws, in order, that both workloads make)."""
        count = rng.randint(1, 3) if rng.random() < signals else 0
        return Spec(
            activities=rng.randint(0, 3),
            timer_ms=rng.randint(200, 3_000),
            signals=count,
            generations=rng.randint(1, 2) if rng.random() < continue_as_new else 0,
            fail_on_activity_failure=rng.random() < 0.5,
        )

    def to_input(self) -> Opaque:
        return Opaque.of(
            [
                self.activities,
                self.timer_ms,
                self.signals,
                self.generations,
                self.fail_on_activity_failure,
            ]
        )

    @staticmethod
    def from_history(history: Sequence[HistoryEvent]) -> Spec:
        attrs = history[0].attributes
        assert isinstance(attrs, WorkflowExecutionStartedEventAttributes)
        assert attrs.input is not None
        value = attrs.input.value()
        assert isinstance(value, list) and len(value) == 5
        a, t, s, g, f = value
        assert isinstance(a, int) and isinstance(t, int) and isinstance(s, int)
        assert isinstance(g, int) and isinstance(f, bool)
        return Spec(a, t, s, g, f)


ACTIVITY_CLOSES = (
    ActivityTaskCompletedEventAttributes,
    ActivityTaskFailedEventAttributes,
    ActivityTaskTimedOutEventAttributes,
    ActivityTaskCanceledEventAttributes,
)


def decide(spec: Spec, history: Sequence[HistoryEvent]) -> tuple[Command, ...]:
    """The commands of one workflow task, from the history the worker was given."""
    scheduled: list[int] = []
    closed: set[int] = set()
    cancel_sent: set[int] = set()
    timers: dict[str, bool] = {}  # timer id -> still pending
    signals = 0
    cancel_requested = activity_failed = False
    for event in history:
        a = event.attributes
        if isinstance(a, ActivityTaskScheduledEventAttributes):
            scheduled.append(event.event_id)
        elif isinstance(a, ACTIVITY_CLOSES):
            closed.add(a.scheduled_event_id)
            activity_failed |= not isinstance(a, ActivityTaskCompletedEventAttributes)
        elif isinstance(a, ActivityTaskCancelRequestedEventAttributes):
            cancel_sent.add(a.scheduled_event_id)
        elif isinstance(a, TimerStartedEventAttributes):
            timers[a.timer_id] = True
        elif isinstance(a, TimerFiredEventAttributes | TimerCanceledEventAttributes):
            timers[a.timer_id] = False
        elif isinstance(a, WorkflowExecutionSignaledEventAttributes):
            signals += 1
        elif isinstance(a, WorkflowExecutionCancelRequestedEventAttributes):
            cancel_requested = True
    pending = [sid for sid in scheduled if sid not in closed]
    commands = [
        Command(C.CANCEL_TIMER, CancelTimerCommandAttributes(timer_id=tid))
        for tid, live in timers.items()
        if live
    ]
    if cancel_requested:  # cancel what is pending; close once no activity is left
        commands += [
            Command(
                C.REQUEST_CANCEL_ACTIVITY_TASK,
                RequestCancelActivityTaskCommandAttributes(scheduled_event_id=sid),
            )
            for sid in pending
            if sid not in cancel_sent
        ]
        if not pending:
            commands.append(
                Command(C.CANCEL_WORKFLOW_EXECUTION, CancelWorkflowExecutionCommandAttributes())
            )
        return tuple(commands)
    if not scheduled and not timers:  # the first workflow task
        started = history[0].attributes
        assert isinstance(started, WorkflowExecutionStartedEventAttributes)
        queue = started.task_queue.name if started.task_queue is not None else ""
        return (*_schedule_activities(spec, queue), _start_timer(spec))
    if pending or (commands and not (spec.signals and signals >= spec.signals)):
        return ()  # still waiting
    return (*commands, _close(spec, activity_failed))


def _schedule_activities(spec: Spec, queue: str) -> list[Command]:
    """The activities on the workflow's own task queue, which the SDKs name on each
    command (the server takes no default for it)."""
    return [
        Command(
            C.SCHEDULE_ACTIVITY_TASK,
            ScheduleActivityTaskCommandAttributes(
                activity_id=f"a{i}",
                activity_type=ActivityType(name="work"),
                task_queue=task_queues.task_queue(queue, TaskQueueKind.UNSPECIFIED),
                start_to_close_timeout=ACTIVITY_START_TO_CLOSE,
                retry_policy=RETRY_POLICY,
            ),
        )
        for i in range(spec.activities)
    ]


def _start_timer(spec: Spec) -> Command:
    return Command(
        C.START_TIMER,
        StartTimerCommandAttributes(timer_id="t", start_to_fire_timeout=spec.timer_ms * MS),
    )


# The failure a scripted run fails with after a failed activity, as an SDK words an
# application error.
ACTIVITY_FAILED = Opaque.of(
    {"message": "an activity failed", "applicationFailureInfo": {"type": "ActivityFailed"}}
)


def _close(spec: Spec, activity_failed: bool) -> Command:
    if activity_failed and spec.fail_on_activity_failure:
        # an SDK always names the failure (the server refuses a FailWorkflowExecution
        # without one: "Failure is not set on FailWorkflowExecutionCommand.")
        failure = FailWorkflowExecutionCommandAttributes(failure=ACTIVITY_FAILED)
        return Command(C.FAIL_WORKFLOW_EXECUTION, failure)
    if spec.generations:
        spec = Spec(
            spec.activities,
            spec.timer_ms,
            spec.signals,
            spec.generations - 1,
            spec.fail_on_activity_failure,
        )
        return Command(
            C.CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
            ContinueAsNewWorkflowExecutionCommandAttributes(
                input=spec.to_input(), backoff_start_interval=100 * MS
            ),
        )
    return Command(
        C.COMPLETE_WORKFLOW_EXECUTION,
        CompleteWorkflowExecutionCommandAttributes(result=Opaque.of("done")),
    )
