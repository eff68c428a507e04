"""One workflow run, driven through the real history service (not a re-implementation).

A state is the service's `MutableState`, the history written so far, the timer tasks
the service emitted and not yet fired, the virtual clock, and two bounded counters
(workflow-task failures/timeouts taken, signals sent). Every action builds one real
request and hands it to `core.statemachine.history.service.handle`; an action is enabled
when its guard holds and the service does not answer it with an `Error`.

The workflow is scripted and deterministic: its first workflow task schedules activity
``a`` (retry policy maximumAttempts=2) and starts timer ``t``; a later task completes the
run once both the activity's result and the timer's firing are in history, otherwise it
returns no commands. The environment: a worker polls and completes the workflow task
in one step, or polls and fails it, or polls and crashes (so the task times out) -- the
last two together at most `MAX_WFT_FAILURES` times; an activity worker starts, completes
or fails (retryably) the activity; any pending timer task fires, whatever its fire time
(activity timeouts and retry, the user timer, workflow-task timeouts); a client signals
at most once. Timer tasks made stale by a later attempt are dropped; a user timer's task
stays deliverable after it fired, as the timer queue delivers at least once (a task
executed but not yet acked runs again after a shard moves), and the service must
ignore it.

Time is deterministic: an action runs at ``(events so far + 1) * STEP``. A clock that
ticks per action instead would make the same history reachable with different
timestamps, multiplying the state space about twentyfold for nothing the invariants
can see.

Invariants (spec/README.md): ``H-valid`` (the validator finds nothing in the history),
``INV-RUN-CLOSES-ONCE``, ``INV-RESULT-AT-MOST-ONCE``, ``THM-3.1`` (replaying the
history - the workflow's `decide` at each completed task, given the history up to that
task - gives the commands the task recorded) and ``INV-TABLE-ROW`` (no request makes a
driving row's handler stray from its row: `fsm.RowBroken`); eventually-property
``INV-EVENTUALLY-CLOSED`` (checked under weak fairness).

Mutants (``broken=``) seed a bug in what the service returns, never in `core`:
``duplicate-result`` (also ``broken=True``): the outcome of RespondActivityTaskCompleted
gets its ActivityTaskCompleted event appended a second time (with a fresh id), which
``INV-RESULT-AT-MOST-ONCE`` must catch; ``no-buffering`` (`proofs.models.mutants`):
events arriving while a workflow task is in flight are written at once instead of
buffered, which ``H-valid`` (rule H6) must catch; ``skip-replay``: the worker answers
from the current task's events alone, without replaying what came before, which
``THM-3.1`` must catch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from core import requests as rq
from core.commands import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    StartTimerCommandAttributes,
)
from core.enums import CommandType, EventType
from core.event_sets import (
    ACTIVITY_CLOSE_EVENT_TYPES,
    CLOSE_EVENT_TYPES,
    COMMAND_EVENT_TYPES,
    TIMER_CLOSE_EVENT_TYPES,
)
from core.events import ActivityType, HistoryEvent
from core.opaque import Opaque
from core.statemachine.fsm import ROW_RULE, RowBroken
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.validator import validate
from core.statemachine.replay.matching import recorded_as
from core.task_queues import task_queue
from proofs.models import mutants

E = EventType
SECOND = 10**9
STEP = SECOND  # virtual time per action
MAX_WFT_FAILURES = 1  # workflow-task failures plus workflow-task timeouts fired
MAX_SIGNALS = 1
VARIANTS = ("duplicate-result", "no-buffering", "skip-replay")

ACTIVITY_CLOSE = ACTIVITY_CLOSE_EVENT_TYPES
TIMER_CLOSE = TIMER_CLOSE_EVENT_TYPES
RESULT_EVENTS = ACTIVITY_CLOSE | TIMER_CLOSE
"""Events that record a result: one per activity or timer at most."""


class State(NamedTuple):
    run: MutableState
    history: tuple[HistoryEvent, ...]
    timers: tuple[rq.TimerTask, ...]  # pending timer tasks, in emission order
    now: int  # virtual time
    failures: int  # workflow-task failures and timeouts taken
    signals: int
    broken_row: str = ""  # a driving row whose handler did not do what the row says


class Action(NamedTuple):
    """An environment step; ``task`` is the timer task for ``FireTimer``."""

    name: str
    task: rq.TimerTask | None = None

    def __str__(self) -> str:
        if self.task is None:
            return self.name
        return f"{self.name}({type(self.task).__name__}@{self.task.fire_time // SECOND}s)"


COMPLETE = Action("PollAndCompleteWorkflowTask")
FAIL = Action("PollAndFailWorkflowTask")
CRASH = Action("PollWorkflowTaskAndCrash")  # the task then times out
START_ACTIVITY = Action("StartActivity")
COMPLETE_ACTIVITY = Action("CompleteActivity")
FAIL_ACTIVITY = Action("FailActivity")
CANCEL_ACTIVITY = Action("ReportActivityCanceled")  # used by workflow-replay only
SIGNAL = Action("Signal")


def schedule_activity() -> Command:
    policy = Opaque.of({"initialInterval": "1s", "maximumAttempts": 2})
    return Command(
        CommandType.SCHEDULE_ACTIVITY_TASK,
        ScheduleActivityTaskCommandAttributes(
            activity_id="a",
            activity_type=ActivityType(name="Act"),
            task_queue=task_queue("q"),  # the run's own, named as the SDKs name it
            retry_policy=policy,
            start_to_close_timeout=10 * SECOND,
        ),
    )


def start_timer() -> Command:
    return Command(
        CommandType.START_TIMER,
        StartTimerCommandAttributes(timer_id="t", start_to_fire_timeout=5 * SECOND),
    )


def complete_workflow() -> Command:
    return Command(
        CommandType.COMPLETE_WORKFLOW_EXECUTION, CompleteWorkflowExecutionCommandAttributes()
    )


def decide(history: tuple[HistoryEvent, ...]) -> tuple[Command, ...]:
    """The scripted workflow: its commands given the history it replays."""
    types = {e.event_type for e in history}
    if E.ACTIVITY_TASK_SCHEDULED not in types:
        return (schedule_activity(), start_timer())
    if types & ACTIVITY_CLOSE and E.TIMER_FIRED in types:
        return (complete_workflow(),)
    return ()


class WorkflowRun:
    """The bounded model (see the module docstring)."""

    def __init__(self, *, broken: bool | str = False) -> None:
        variant = "duplicate-result" if broken is True else broken or None
        if variant is not None and variant not in VARIANTS:
            raise ValueError(f"unknown variant {broken!r}")
        self.broken: str | None = variant
        self.name = "workflow-run" + (f" (broken={variant})" if variant else "")
        self.invariants: Mapping[str, Callable[[State], bool]] = {
            "H-valid": history_valid,
            "INV-RUN-CLOSES-ONCE": run_closes_once,
            "INV-RESULT-AT-MOST-ONCE": result_at_most_once,
            "THM-3.1": replays,
            ROW_RULE: lambda state: not state.broken_row,
        }
        self.eventually: Mapping[str, Callable[[State], bool]] = {
            "INV-EVENTUALLY-CLOSED": closed,
        }

    def init_states(self) -> Iterable[State]:
        start = rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "start")
        outcome = service.start(start, 0)
        timers = tuple(t for t in outcome.tasks if isinstance(t, TIMER_TYPES))
        return [State(outcome.state, outcome.events, timers, 0, 0, 0)]

    def actions(self, state: State) -> Iterable[Action]:
        return [action for action, _ in self.successors(state)]

    def next_state(self, state: State, action: Action) -> State | None:
        if not state.run.running or action not in self._candidates(state):
            return None
        return self._apply(state, action)

    def successors(self, state: State) -> list[tuple[Action, State]]:
        # `_candidates` is empty once the run has closed, so no need for next_state's check.
        out = []
        for action in self._candidates(state):
            target = self._apply(state, action)
            if target is not None:
                out.append((action, target))
        return out

    def describe(self, state: State) -> str:
        """A one-line summary for counterexamples (the full state is long)."""
        return f"run {state.run.status.value}, {len(state.history)} events"

    # --- guards and requests ---------------------------------------------------------

    def _candidates(self, state: State) -> list[Action]:
        if not state.run.running:
            return []
        found = [COMPLETE, START_ACTIVITY, COMPLETE_ACTIVITY, FAIL_ACTIVITY]
        if state.failures < MAX_WFT_FAILURES:
            found += [FAIL, CRASH]
        if state.signals < MAX_SIGNALS:
            found.append(SIGNAL)
        found.extend(Action("FireTimer", task) for task in state.timers)
        return found

    def _plan(self, state: State, action: Action) -> list[Build]:
        """The requests an action sends, each built from the state the previous left."""
        if action.task is not None:
            task = action.task
            return [lambda run, history: rq.FireTimer(task)]
        if action == SIGNAL:
            return [lambda run, history: rq.SignalWorkflowExecution("poke")]
        if action == COMPLETE:
            partial = self.broken == "skip-replay"
            return [poll, lambda run, history: _respond(run, history, fail=False, partial=partial)]
        if action == FAIL:
            return [poll, lambda run, history: _respond(run, history, fail=True)]
        if action == CRASH:
            return [poll]
        return [lambda run, history: activity_request(run, action)]

    def _apply(self, state: State, action: Action) -> State | None:
        now = (len(state.history) + 1) * STEP
        timers = state.timers
        if action.task is not None and not isinstance(action.task, rq.UserTimerTask):
            timers = tuple(t for t in timers if t != action.task)
        run, history = state.run, state.history
        for build in self._plan(state, action):
            request = build(run, history)
            if request is None:
                return None
            try:
                outcome = mutants.handle(self.broken, run, history, request, now)
            except RowBroken as error:  # reported as a violation (INV-TABLE-ROW), not a crash
                return state._replace(now=now, broken_row=str(error))
            if isinstance(outcome.reply, rq.Error):
                return None
            run, history = outcome.state, history + outcome.events
            timers += tuple(t for t in outcome.tasks if isinstance(t, TIMER_TYPES))
        timers = tuple(t for t in timers if live(run, t))
        failures = state.failures + (action in (FAIL, CRASH))
        signals = state.signals + (action == SIGNAL)
        return State(run, history, timers, now, failures, signals)


Build = Callable[[MutableState, tuple[HistoryEvent, ...]], "rq.Request | None"]


def poll(run: MutableState, history: tuple[HistoryEvent, ...]) -> rq.Request | None:
    wft = run.wft
    if wft is None or wft.started_event_id:
        return None
    return rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, "poll")


def _respond(
    run: MutableState, history: tuple[HistoryEvent, ...], *, fail: bool, partial: bool = False
) -> rq.Request | None:
    wft = run.wft
    if wft is None or not wft.started_event_id:
        return None
    token = rq.WorkflowTaskToken(wft.scheduled_event_id, wft.started_event_id, wft.attempt)
    if fail:
        return rq.RespondWorkflowTaskFailed(token)
    if partial:  # the skip-replay mutant: only the run's start and this task are seen
        history = (history[0], *(e for e in history if e.event_id >= wft.scheduled_event_id))
    return rq.RespondWorkflowTaskCompleted(token, decide(history))


def activity_request(run: MutableState, action: Action) -> rq.Request | None:
    info = next(iter(run.activities), None)
    if info is None or info.backoff:
        return None
    if action == START_ACTIVITY:
        if info.started:
            return None
        return rq.RecordActivityTaskStarted(info.scheduled_event_id, info.stamp, f"r{info.attempt}")
    if not info.started:
        return None
    token = rq.ActivityTaskToken(info.scheduled_event_id, info.attempt)
    if action == COMPLETE_ACTIVITY:
        return rq.RespondActivityTaskCompleted(token)
    if action == FAIL_ACTIVITY:
        return rq.RespondActivityTaskFailed(token, error_type="Boom")
    if action == CANCEL_ACTIVITY:
        return rq.RespondActivityTaskCanceled(token)
    return None


TIMER_TYPES = (
    rq.UserTimerTask,
    rq.ActivityTimeoutTask,
    rq.ActivityRetryTask,
    rq.WorkflowTaskTimeoutTask,
    rq.WorkflowRunTimeoutTask,
    rq.WorkflowBackoffTask,
)


def live(run: MutableState, task: rq.TimerTask) -> bool:
    """Whether ``task`` stays deliverable: tasks of an older attempt are dropped; a user
    timer's task is kept while the run is open, so it may be delivered again after it
    fired (at-least-once delivery: the service must ignore the duplicate)."""
    if not run.running:
        return False
    if isinstance(task, rq.UserTimerTask):
        return True
    if isinstance(task, (rq.ActivityTimeoutTask, rq.ActivityRetryTask)):
        info = run.activity(task.scheduled_event_id)
        return info is not None and info.stamp == task.stamp
    if isinstance(task, rq.WorkflowTaskTimeoutTask):
        wft = run.wft
        return (
            wft is not None
            and wft.stamp == task.stamp
            and wft.scheduled_event_id == task.scheduled_event_id
        )
    return True


# --- properties ----------------------------------------------------------------------


def history_valid(state: State) -> bool:
    return valid(state.history)


def run_closes_once(state: State) -> bool:
    return sum(e.event_type in CLOSE_EVENT_TYPES for e in state.history) <= 1


def result_at_most_once(state: State) -> bool:
    return one_result_each(state.history)


def valid(history: tuple[HistoryEvent, ...]) -> bool:
    """``H-valid``: the validator finds no rule broken in ``history``."""
    return validate(history).violations == ()


def one_result_each(history: tuple[HistoryEvent, ...]) -> bool:
    """``INV-RESULT-AT-MOST-ONCE`` on a history: one close per activity, one per timer."""
    seen: set[tuple[str, int]] = set()
    for event in history:
        if event.event_type in ACTIVITY_CLOSE:
            key = ("activity", getattr(event.attributes, "scheduled_event_id", 0))
        elif event.event_type in TIMER_CLOSE:
            key = ("timer", getattr(event.attributes, "started_event_id", 0))
        else:
            continue
        if key in seen:
            return False
        seen.add(key)
    return True


def replays(state: State) -> bool:
    """``THM-3.1``: each completed task recorded what `decide` gives on replay."""
    history = state.history
    for i, event in enumerate(history):
        if event.event_type is not E.WORKFLOW_TASK_COMPLETED:
            continue
        produced = [recorded_as(c.command_type) for c in decide(history[:i])]
        recorded = []
        for later in history[i + 1 :]:
            if later.event_type not in COMMAND_EVENT_TYPES:
                break
            recorded.append(later.event_type)
        if produced != recorded:
            return False
    return True


def closed(state: State) -> bool:
    return not state.run.running


def workflow_run(params: Mapping[str, str]) -> WorkflowRun:
    """The ``tmodel check workflow-run`` factory: ``broken`` = ``true`` (the seeded
    duplicate result, also ``duplicate-result``) or ``no-buffering``."""
    from proofs.models import _known, variant_param  # here: proofs.models imports this module

    _known(params, "workflow-run", ("broken",))
    variant = variant_param(params, VARIANTS, default="duplicate-result")
    return WorkflowRun(broken=variant or False)
