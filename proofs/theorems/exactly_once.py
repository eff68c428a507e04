"""THM-EXACTLY-ONCE (docs/theorems.md: event sourcing + deterministic replay = exactly-once
at the workflow level; activities run at least once): over the model's own transitions
(the real history service, a worker, and task delivery as matching may do it), however
workflow tasks are re-polled, crashed, timed out or answered twice, and activity tasks
delivered, run and answered any number of times within the bound, every business
operation the workflow performs is scheduled in the history exactly once, its result is
recorded at most once and only from an attempt that ran, and exactly once when the run
has completed.

What is explored, and over what. A state is the service's `MutableState`, the history,
the pending timer tasks, the activity transfer tasks the service emitted, and what the
worker holds: the workflow-task replies it sent (which it may send again: a duplicated
or late reply), the activity tokens it got, the attempts it ran. Every action builds a
real request and hands it to `core.statemachine.history.service.handle`; nothing in the
model decides whether a request is accepted. The workflow (`decide`) is deterministic:
replaying its history it schedules activity ``a`` once, and completes the run once the
activity has closed. Delivery over-approximates matching: an emitted activity task may
be delivered any number of times (each delivery a new RecordActivityTaskStarted), in
any order with everything else, so every delivery behaviour of the real matching is
among those explored. A budget bounds the faults (crashes, duplicated replies,
re-deliveries, retryable failures); within it the exploration is exhaustive
(`proofs.checker.check`, breadth-first, so a violation comes with a shortest trace,
re-executed by `proofs.checker.replay` before it is reported).

The property is stated over the history the service wrote, never over a guard of the
model: ``scheduled-once`` (at most one ActivityTaskScheduled for the operation),
``result-at-most-once`` (at most one close event per scheduled activity),
``result-from-a-run`` (an ActivityTaskCompleted follows an ActivityTaskStarted whose
attempt the worker ran), ``exactly-once-when-completed`` (a completed run holds exactly
one close event for the operation). The business-level effect is then exactly once if
the activity applies it through an idempotency key that the history fixes once (the
workflow and activity ids): the user's part, not the model's.

Negative variant: the same exploration with the service's `drop` of a closed activity
(`core/statemachine/history/service/activity.py`) made a no-op: a duplicated
RespondActivityTaskCompleted then records a second result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import NamedTuple

from core.commands import Command
from core.enums import EventType
from core.events import HistoryEvent
from core.statemachine.history.service import activity as service_activity
from core.statemachine.history.service import handle as service
from core.statemachine.history.service import requests as rq
from core.statemachine.history.service.state import MutableState
from proofs import checker
from proofs.models.workflow_run import (
    ACTIVITY_CLOSE,
    TIMER_TYPES,
    complete_workflow,
    live,
    schedule_activity,
)
from proofs.theorems.base import Result

ID = "THM-EXACTLY-ONCE"
STATEMENT = (
    "Over the real history service, a worker and at-least-once task delivery, however "
    "workflow tasks are retried or answered twice and activity tasks delivered, run and "
    "answered again (bounded faults, exhaustive), each operation is scheduled once, its "
    "result recorded at most once and only from an attempt that ran, and exactly once "
    "when the run completed."
)
DROPPED = "the service's drop of a closed activity made a no-op"
E = EventType
SECOND = 10**9
BUDGET = 3  # faults: crashes, duplicated replies, re-deliveries, retryable failures


class State(NamedTuple):
    run: MutableState
    history: tuple[HistoryEvent, ...]
    timers: tuple[rq.TimerTask, ...]
    transfers: tuple[rq.ActivityTaskTransfer, ...]
    wft_replies: tuple[rq.RespondWorkflowTaskCompleted, ...]
    activity_tokens: tuple[rq.ActivityTaskToken, ...]
    activity_replies: tuple[rq.RespondActivityTaskCompleted, ...]
    ran: frozenset[int]  # the attempts the worker ran
    delivered: frozenset[int]  # the transfer tasks delivered at least once (by index)
    budget: int


class Action(NamedTuple):
    name: str
    slot: int = 0  # which transfer task, token or reply
    task: rq.TimerTask | None = None

    def __str__(self) -> str:
        if self.task is not None:
            return f"{self.name}({type(self.task).__name__})"
        return (
            f"{self.name}#{self.slot}" if self.name not in ("CompleteWorkflowTask",) else self.name
        )


def decide(history: tuple[HistoryEvent, ...]) -> tuple[Command, ...]:
    """The workflow, replaying `history`: schedule ``a`` once, complete after it closed."""
    types = {e.event_type for e in history}
    if E.ACTIVITY_TASK_SCHEDULED not in types:
        return (schedule_activity(),)
    if types & ACTIVITY_CLOSE:
        return (complete_workflow(),)
    return ()


class ExactlyOnce:
    """The bounded model (module docstring)."""

    name = "exactly-once"

    def __init__(self) -> None:
        self.invariants: Mapping[str, Callable[[State], bool]] = {
            "scheduled-once": scheduled_once,
            "result-at-most-once": result_at_most_once,
            "result-from-a-run": result_from_a_run,
            "exactly-once-when-completed": exactly_once_when_completed,
        }

    def init_states(self) -> Iterable[State]:
        start = rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "start")
        out = service.start(start, 0)
        timers = tuple(t for t in out.tasks if isinstance(t, TIMER_TYPES))
        return [
            State(out.state, out.events, timers, (), (), (), (), frozenset(), frozenset(), BUDGET)
        ]

    def actions(self, state: State) -> Iterable[Action]:
        return [a for a in self._candidates(state) if self.next_state(state, a) is not None]

    def next_state(self, state: State, action: Action) -> State | None:
        if not state.run.running or action not in self._candidates(state):
            return None
        return self._apply(state, action)

    def _candidates(self, state: State) -> list[Action]:
        if not state.run.running:
            return []
        found = [Action("CompleteWorkflowTask")]
        fresh = [i for i in range(len(state.transfers)) if i not in state.delivered]
        found += [Action("Deliver", i) for i in fresh]
        found += [Action("RunAndComplete", i) for i in range(len(state.activity_tokens))]
        if state.budget > 0:
            found += [Action("Deliver", i) for i in sorted(state.delivered)]  # again
            found.append(Action("PollWorkflowTaskAndCrash"))
            found += [Action("ResendWorkflowTaskReply", i) for i in range(len(state.wft_replies))]
            found += [Action("RunAndFail", i) for i in range(len(state.activity_tokens))]
            found += [Action("ResendActivityReply", i) for i in range(len(state.activity_replies))]
        found += [Action("FireTimer", task=t) for t in state.timers]
        return found

    def _apply(self, state: State, action: Action) -> State | None:
        now = (len(state.history) + 1) * SECOND
        step = _Step(state, now)
        if not _ACTIONS[action.name](step, action):
            return None
        return step.finish(action)


class _Step:
    """The requests of one action, each sent to the real service in turn."""

    def __init__(self, state: State, now: int) -> None:
        self.state, self.now = state, now
        self.run, self.history = state.run, state.history
        self.timers, self.transfers = state.timers, state.transfers
        self.wft_replies, self.tokens = state.wft_replies, state.activity_tokens
        self.activity_replies, self.ran = state.activity_replies, state.ran

    def send(self, request: rq.Request) -> rq.Reply | None:
        out = service.handle(self.run, request, self.now)
        if isinstance(out.reply, rq.Error):
            return None
        self.run, self.history = out.state, self.history + out.events
        self.timers += tuple(t for t in out.tasks if isinstance(t, TIMER_TYPES))
        self.transfers += tuple(t for t in out.tasks if isinstance(t, rq.ActivityTaskTransfer))
        return out.reply

    def finish(self, action: Action) -> State:
        timers = tuple(t for t in self.timers if t != action.task and live(self.run, t))
        again = action.name == "Deliver" and action.slot in self.state.delivered
        costly = action.name in _COSTLY or again
        return State(
            self.run,
            self.history,
            timers,
            self.transfers,
            self.wft_replies,
            self.tokens,
            self.activity_replies,
            self.ran,
            self.state.delivered | ({action.slot} if action.name == "Deliver" else set()),
            self.state.budget - costly,
        )


def _poll(step: _Step) -> rq.WorkflowTaskStarted | None:
    wft = step.run.wft
    if wft is None or wft.started_event_id:
        return None
    reply = step.send(rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, "poll"))
    return reply if isinstance(reply, rq.WorkflowTaskStarted) else None


def _complete_wft(step: _Step, action: Action) -> bool:
    started = _poll(step)
    if started is None:
        return False
    reply = rq.RespondWorkflowTaskCompleted(started.token, decide(step.history))
    step.wft_replies += (reply,)
    return step.send(reply) is not None


def _crash_wft(step: _Step, action: Action) -> bool:
    return _poll(step) is not None


def _resend_wft(step: _Step, action: Action) -> bool:
    return step.send(step.wft_replies[action.slot]) is not None


def _deliver(step: _Step, action: Action) -> bool:
    task = step.transfers[action.slot]
    request_id = f"delivery-{len(step.tokens)}"
    reply = step.send(rq.RecordActivityTaskStarted(task.scheduled_event_id, task.stamp, request_id))
    if not isinstance(reply, rq.ActivityTaskStarted):
        return False
    step.tokens += (reply.token,)
    return True


def _run_and_complete(step: _Step, action: Action) -> bool:
    token = step.tokens[action.slot]
    step.ran |= {token.attempt}
    reply = rq.RespondActivityTaskCompleted(token)
    step.activity_replies += (reply,)
    return step.send(reply) is not None


def _run_and_fail(step: _Step, action: Action) -> bool:
    token = step.tokens[action.slot]
    step.ran |= {token.attempt}
    return step.send(rq.RespondActivityTaskFailed(token, error_type="Boom")) is not None


def _resend_activity(step: _Step, action: Action) -> bool:
    return step.send(step.activity_replies[action.slot]) is not None


def _fire(step: _Step, action: Action) -> bool:
    assert action.task is not None
    return step.send(rq.FireTimer(action.task)) is not None


_ACTIONS: dict[str, Callable[[_Step, Action], bool]] = {
    "CompleteWorkflowTask": _complete_wft,
    "PollWorkflowTaskAndCrash": _crash_wft,
    "ResendWorkflowTaskReply": _resend_wft,
    "Deliver": _deliver,
    "RunAndComplete": _run_and_complete,
    "RunAndFail": _run_and_fail,
    "ResendActivityReply": _resend_activity,
    "FireTimer": _fire,
}
_COSTLY = frozenset(
    {"PollWorkflowTaskAndCrash", "ResendWorkflowTaskReply", "RunAndFail", "ResendActivityReply"}
)


# --- the property, over the history the service wrote --------------------------------------


def _count(history: tuple[HistoryEvent, ...], types: Iterable[EventType]) -> int:
    wanted = frozenset(types)
    return sum(e.event_type in wanted for e in history)


def scheduled_once(state: State) -> bool:
    return _count(state.history, {E.ACTIVITY_TASK_SCHEDULED}) <= 1


def result_at_most_once(state: State) -> bool:
    return _count(state.history, ACTIVITY_CLOSE) <= 1


def result_from_a_run(state: State) -> bool:
    for n, event in enumerate(state.history):
        if event.event_type is not E.ACTIVITY_TASK_COMPLETED:
            continue
        before = state.history[n - 1] if n else None
        if before is None or before.event_type is not E.ACTIVITY_TASK_STARTED:
            return False
        if getattr(before.attributes, "attempt", 0) not in state.ran:
            return False
    return True


def exactly_once_when_completed(state: State) -> bool:
    if _count(state.history, {E.WORKFLOW_EXECUTION_COMPLETED}) == 0:
        return True
    return _count(state.history, ACTIVITY_CLOSE) == 1


# --- the theorem ----------------------------------------------------------------------------


@contextmanager
def _without_drop() -> Iterator[None]:
    """The service's `drop` of a closed activity as a no-op, for the negative variant."""
    real = service_activity.drop
    service_activity.drop = lambda txn, scheduled_event_id: None
    try:
        yield
    finally:
        service_activity.drop = real


def explore(variant: str = "theorem") -> Result:
    """Explore the model exhaustively; a violation is re-executed and reported."""
    start = time.perf_counter()
    model = ExactlyOnce()
    found = checker.check(model, fair=False)
    counterexample = None
    if found.violations:
        violation = found.violations[0]
        states = checker.replay(model, violation.init, violation.actions)
        broken = checker.violated(model, states)
        lines = [f"{violation.property} violated, {len(violation.actions)} steps from the start:"]
        lines += [f"  {n:>2}. {a}" for n, a in enumerate(violation.actions, 1)]
        last = states[-1].history
        lines.append("      history: " + ", ".join(_name(e.event_type) for e in last))
        lines.append(
            "replayed on core.statemachine.history.service.handle: "
            + ", ".join(sorted({name for _, name in broken}))
            + " violated"
        )
        counterexample = "\n".join(lines)
    return Result(
        ID,
        STATEMENT,
        not found.violations,
        counterexample,
        time.perf_counter() - start,
        variant,
        found.distinct_states,
    )


def _name(event: EventType) -> str:
    return "".join(part.capitalize() for part in event.name.split("_"))


def prove() -> Result:
    """Explore every behaviour within the fault budget over the real service."""
    return explore()


def prove_negative() -> Result:
    """The same, with the service's `drop` of a closed activity removed."""
    with _without_drop():
        return explore(f"negative: {DROPPED}")
