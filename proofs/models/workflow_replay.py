"""One workflow run whose worker is the real replay engine, over the real history service.

`workflow-run` (workflow_run.py) answers workflow tasks with a scripted `decide`; here
every workflow task is answered as an SDK worker does: the whole history up to the
task's WorkflowTaskStarted is replayed cold by `core.statemachine.replay.driver` against
real workflow code, and the commands it gives go back to the service. The code is the
simulator's `CancelAtDeadline` (sim/patterns.py): it starts an activity with a retry
policy and a timer, and if the timer fires first it asks to cancel the activity
(WAIT_CANCELLATION_COMPLETED) and waits for its close. Because the service writes
ActivityTaskStarted of such an activity only when the attempt closes
(`service/history/workflow/mutable_state_impl.go`, AddActivityTaskStartedEvent), the
histories reach Scheduled, CancelRequested, Started, Canceled (or Completed, Failed,
TimedOut): replay must take each of them.

The environment: a worker polls and answers the workflow task in one step; an activity
worker starts the pending attempt, completes it, fails it (retryably), or reports it
canceled (the service refuses that unless a cancel was requested); any pending timer
task fires, whatever its fire time (the user timer, activity timeouts and retries,
workflow-task timeouts); stale timer tasks are dropped (`workflow_run.live`). Time is
``(events so far + 1) * STEP``, as in workflow-run. The activity's retry policy bounds
the attempts, so the state space is finite.

Invariants (spec/README.md): ``THM-3.1`` (every workflow task the worker answered
replayed: no nondeterminism, no failed task), ``H-valid``, ``INV-RUN-CLOSES-ONCE``,
``INV-RESULT-AT-MOST-ONCE``; eventually-property ``INV-EVENTUALLY-CLOSED``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from core import payloads
from core import requests as rq
from core.event_sets import CLOSE_EVENT_TYPES
from core.events import HistoryEvent
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.state import MutableState
from core.statemachine.replay import driver
from core.workflow import Definition, definition
from proofs.models.workflow_run import (
    CANCEL_ACTIVITY,
    COMPLETE_ACTIVITY,
    FAIL_ACTIVITY,
    START_ACTIVITY,
    STEP,
    TIMER_TYPES,
    Action,
    activity_request,
    live,
    one_result_each,
    poll,
    valid,
)
from sim.patterns import CancelAtDeadline

DEFINITION: Definition = definition(CancelAtDeadline)


class State(NamedTuple):
    run: MutableState
    history: tuple[HistoryEvent, ...]
    timers: tuple[rq.TimerTask, ...]  # pending timer tasks, in emission order
    failure: str  # why the worker could not answer a workflow task ("" while it could)


ANSWER = Action("PollAndAnswerWorkflowTask")
_ACTIVITY_ACTIONS = (START_ACTIVITY, COMPLETE_ACTIVITY, FAIL_ACTIVITY, CANCEL_ACTIVITY)


class WorkflowReplay:
    """The bounded model (see the module docstring)."""

    name = "workflow-replay"

    def __init__(self) -> None:
        self.invariants: Mapping[str, Callable[[State], bool]] = {
            "THM-3.1": lambda s: not s.failure,
            "H-valid": lambda s: valid(s.history),
            "INV-RUN-CLOSES-ONCE": lambda s: (
                sum(e.event_type in CLOSE_EVENT_TYPES for e in s.history) <= 1
            ),
            "INV-RESULT-AT-MOST-ONCE": lambda s: one_result_each(s.history),
        }
        self.eventually: Mapping[str, Callable[[State], bool]] = {
            "INV-EVENTUALLY-CLOSED": lambda s: not s.run.running,
        }
        # The worker's answer depends on the history alone; many states share one.
        self._answers: dict[tuple[HistoryEvent, ...], tuple[rq.Request, str]] = {}

    def init_states(self) -> Iterable[State]:
        start = rq.StartWorkflowExecution(
            "default",
            "wf",
            "run-1",
            DEFINITION.name,
            "q",
            "start",
            input=payloads.to_payloads([0.1]),  # the deadline, seconds; timers fire at will
        )
        outcome = service.start(start, 0)
        timers = tuple(t for t in outcome.tasks if isinstance(t, TIMER_TYPES))
        return [State(outcome.state, outcome.events, timers, "")]

    def actions(self, state: State) -> Iterable[Action]:
        return [action for action, _ in self.successors(state)]

    def next_state(self, state: State, action: Action) -> State | None:
        if action not in self._candidates(state):
            return None
        return self._apply(state, action)

    def successors(self, state: State) -> list[tuple[Action, State]]:
        out = []
        for action in self._candidates(state):
            target = self._apply(state, action)
            if target is not None:
                out.append((action, target))
        return out

    def describe(self, state: State) -> str:
        """A one-line summary for counterexamples: the run's status and its events."""
        events = ", ".join(e.event_type.name for e in state.history)
        failure = f"; the worker failed the task: {state.failure}" if state.failure else ""
        return f"run {state.run.status.value}: {events}{failure}"

    # --- guards and requests ---------------------------------------------------------

    def _candidates(self, state: State) -> list[Action]:
        if not state.run.running or state.failure:
            return []
        found = [ANSWER, *_ACTIVITY_ACTIONS]
        found.extend(Action("FireTimer", task) for task in state.timers)
        return found

    def _apply(self, state: State, action: Action) -> State | None:
        now = (len(state.history) + 1) * STEP
        timers = state.timers
        if action.task is not None:
            timers = tuple(t for t in timers if t != action.task)
        run, history, failure = state.run, state.history, ""
        for step in range(2 if action == ANSWER else 1):
            request = self._request(run, history, action, step)
            if request is None:
                return None
            if isinstance(request, tuple):
                request, failure = request
            outcome = service.handle(run, request, now)
            if isinstance(outcome.reply, rq.Error):
                return None
            run, history = outcome.state, history + outcome.events
            timers += tuple(t for t in outcome.tasks if isinstance(t, TIMER_TYPES))
        timers = tuple(t for t in timers if live(run, t))
        return State(run, history, timers, failure)

    def _request(
        self, run: MutableState, history: tuple[HistoryEvent, ...], action: Action, step: int
    ) -> rq.Request | tuple[rq.Request, str] | None:
        if action.task is not None:
            return rq.FireTimer(action.task)
        if action == ANSWER:
            return poll(run, history) if step == 0 else self._answer(run, history)
        return activity_request(run, action)

    def _answer(
        self, run: MutableState, history: tuple[HistoryEvent, ...]
    ) -> tuple[rq.Request, str] | None:
        """The worker's reply to the task whose WorkflowTaskStarted ends `history`: a
        cold replay by the real engine; a failed replay fails the task, as SDKs do."""
        wft = run.wft
        if wft is None or not wft.started_event_id:
            return None
        known = self._answers.get(history)
        if known is not None:
            return known
        token = rq.WorkflowTaskToken(wft.scheduled_event_id, wft.started_event_id, wft.attempt)
        _, activation = driver.answer_task(DEFINITION, None, history, workflow_id="wf")
        reply: tuple[rq.Request, str]
        if activation.failure is not None:
            reply = (rq.RespondWorkflowTaskFailed(token), activation.failure)
        else:
            completed = rq.RespondWorkflowTaskCompleted(
                token, activation.commands, messages=activation.messages
            )
            reply = (completed, "")
        self._answers[history] = reply
        return reply


def workflow_replay(params: Mapping[str, str]) -> WorkflowReplay:
    """The ``tmodel check workflow-replay`` factory (no parameters)."""
    from proofs.models import _known  # here: proofs.models imports this module

    _known(params, "workflow-replay", ())
    return WorkflowReplay()
