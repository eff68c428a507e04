"""Tasks through the real matching engine and the real history service, with duplicates.

A state is the run's `MutableState` and history (the history service), the
`MatchingState` (the matching engine), history's transfer outbox (tasks not yet
acknowledged by the queue processor), the pending timer tasks, what each worker holds,
and two bounded budgets. Every action calls the real core: `service.handle` for history,
`matching.add_task` / `poll` / `on_record_started_reply` for matching. The model only
glues them: it turns history's Record*Started reply into matching's `RecordStartedReply`
(``service/matching/matching_engine.go``: NotFound, TaskAlreadyStarted and
ObsoleteMatchingTask drop the task, anything else keeps it).

The workflow: its first workflow task schedules activity ``a`` (maximumAttempts=2,
start-to-close 10 s); once the activity is closed the next workflow task completes the
run. One workflow worker ``w1`` and (``pollers``) activity workers ``a1``, ``a2`` poll.

What may go wrong, each bounded:

- the transfer queue adds a task to matching again before it acknowledges it
  (``duplicates``, at-least-once delivery, `transferQueueActiveTaskExecutor`);
- matching's Record*Started call fails before reaching history, or history commits the
  start and the reply is lost (``faults``); either way matching respools the task
  (`backlog_manager.go`) and dispatches it again;
- a worker crashes holding a task (``faults``): only the attempt's timeout recovers it.
  Timeouts fire only for attempts no worker holds (workers are never merely slow here).

Request ids are ``poller/task-key``: a respooled task offered to the same poller again
repeats the request id (history answers it again, idempotently); offered to another
poller it is a different request and history answers TaskAlreadyStarted.

Invariants: ``INV-NO-LOST-TASK`` (matching's own ledger check, plus: each scheduled and
unstarted task of the run has a copy on its way - in the outbox, the backlog or being
dispatched), ``INV-RESULT-AT-MOST-ONCE``, ``H-valid``. ``INV-NO-LOST-TASK`` is also an
eventually-property: under weak fairness every behaviour reaches a closed run, which in
this workflow needs every scheduled task to have been started (or timed out).

Mutants (``broken=``, `proofs.models.mutants`): ``ack-before-started`` and ``no-dedup``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from core import requests as rq
from core.commands import (
    Command,
)
from core.events import HistoryEvent
from core.statemachine import matching as mx
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.state import MutableState
from proofs.models import mutants
from proofs.models.workflow_run import (
    ACTIVITY_CLOSE,
    STEP,
    TIMER_TYPES,
    complete_workflow,
    live,
    one_result_each,
    schedule_activity,
    valid,
)

NAMESPACE = "default"
FOREVER = 10**18  # long polls never expire in this model
CONFIG = mx.MatchingConfig(read_partitions=1, write_partitions=1)
WORKFLOW_QUEUE = mx.TaskQueue(NAMESPACE, "q", mx.TaskKind.WORKFLOW)
ACTIVITY_QUEUE = mx.TaskQueue(NAMESPACE, "q", mx.TaskKind.ACTIVITY)
VARIANTS = ("ack-before-started", "no-dedup")

Transfer = rq.WorkflowTaskTransfer | rq.ActivityTaskTransfer
Token = rq.WorkflowTaskToken | rq.ActivityTaskToken


class Outboxed(NamedTuple):
    """A transfer task in history's outbox and how often it was added to matching."""

    task: Transfer
    adds: int


class State(NamedTuple):
    run: MutableState
    history: tuple[HistoryEvent, ...]
    matching: mx.MatchingState
    outbox: tuple[Outboxed, ...]
    timers: tuple[rq.TimerTask, ...]
    held: tuple[tuple[str, Token], ...]  # (worker, token) for each delivered task
    duplicates: int  # duplicate adds left
    faults: int  # failed or lost Record*Started calls and worker crashes left


class Action(NamedTuple):
    name: str
    arg: object = None

    def __str__(self) -> str:
        arg = self.arg
        if arg is None:
            return self.name
        if isinstance(arg, (rq.WorkflowTaskTransfer, rq.ActivityTaskTransfer)):
            kind = "WorkflowTask" if isinstance(arg, rq.WorkflowTaskTransfer) else "ActivityTask"
            return f"{self.name}({kind} scheduled={arg.scheduled_event_id} stamp={arg.stamp})"
        if isinstance(arg, int):
            return f"{self.name}(task {arg})"
        if isinstance(arg, str):
            return f"{self.name}({arg})"
        return f"{self.name}({type(arg).__name__})"


def decide(history: tuple[HistoryEvent, ...]) -> tuple[Command, ...]:
    """The scripted workflow: schedule ``a``; once it is closed, complete."""
    types = {e.event_type for e in history}
    if types & ACTIVITY_CLOSE:
        return (complete_workflow(),)
    return (schedule_activity(),)


class MatchingDedup:
    """The bounded model (see the module docstring)."""

    def __init__(
        self,
        *,
        pollers: int = 2,
        duplicates: int = 1,
        faults: int = 1,
        broken: str | None = None,
    ) -> None:
        if broken is not None and broken not in VARIANTS:
            raise ValueError(f"unknown variant {broken!r}")
        self.broken = broken
        self.pollers = pollers
        self.duplicates = duplicates
        self.faults = faults
        self.workers = ("w1", *(f"a{i}" for i in range(1, pollers + 1)))
        self.name = "matching-dedup" + (f" (broken={broken})" if broken else "")
        self.invariants: Mapping[str, Callable[[State], bool]] = {
            "H-valid": lambda s: valid(s.history),
            "INV-NO-LOST-TASK": no_lost_task,
            "INV-RESULT-AT-MOST-ONCE": lambda s: one_result_each(s.history),
        }
        self.eventually: Mapping[str, Callable[[State], bool]] = {
            "INV-NO-LOST-TASK": lambda s: not s.run.running,
        }

    def init_states(self) -> Iterable[State]:
        start = rq.StartWorkflowExecution(NAMESPACE, "wf", "run-1", "Flow", "q", "start")
        outcome = service.start(start, 0)
        state = State(
            outcome.state,
            outcome.events,
            mx.MatchingState(config=CONFIG),
            (),
            (),
            (),
            self.duplicates,
            self.faults,
        )
        return [self._poll_idle(_emit(state, outcome.tasks))]

    def actions(self, state: State) -> Iterable[Action]:
        return [action for action, _ in self.successors(state)]

    def next_state(self, state: State, action: Action) -> State | None:
        if action not in self._candidates(state):
            return None
        target = self._apply(state, action)
        return None if target is None else self._poll_idle(target)

    def successors(self, state: State) -> list[tuple[Action, State]]:
        out = []
        for action in self._candidates(state):
            target = self._apply(state, action)
            if target is not None:
                out.append((action, self._poll_idle(target)))
        return out

    def describe(self, state: State) -> str:
        return (
            f"run {state.run.status.value}, {len(state.history)} events, outbox {len(state.outbox)}"
        )

    # --- enabled actions --------------------------------------------------------------

    def _candidates(self, state: State) -> list[Action]:
        if not state.run.running:
            return []
        found: list[Action] = []
        for entry in state.outbox:
            if entry.adds == 0 or state.duplicates > 0:
                found.append(Action("AddTask", entry.task))
            if entry.adds > 0:
                found.append(Action("AckTransferTask", entry.task))
        for worker, _ in state.held:
            found.append(Action("CompleteTask", worker))
            if state.faults > 0:
                found.append(Action("WorkerCrash", worker))
        for offered in state.matching.dispatching:
            found.append(Action("RecordTaskStarted", offered.key))
            if state.faults > 0:
                found.append(Action("RecordTaskStartedUnavailable", offered.key))
                found.append(Action("RecordTaskStartedReplyLost", offered.key))
        found.extend(Action("FireTimer", t) for t in state.timers if _may_fire(state, t))
        return found

    # --- transitions ------------------------------------------------------------------

    def _apply(self, state: State, action: Action) -> State | None:
        name, arg = action
        now = (len(state.history) + 1) * STEP
        if name == "AddTask":
            assert isinstance(arg, (rq.WorkflowTaskTransfer, rq.ActivityTaskTransfer))
            return _add_task(state, arg, now)
        if name == "AckTransferTask":
            outbox = tuple(e for e in state.outbox if e.task != arg)
            return state._replace(outbox=outbox)
        if name in ("RecordTaskStarted", "RecordTaskStartedReplyLost"):
            assert isinstance(arg, int)
            return self._record_started(state, arg, now, lost=name != "RecordTaskStarted")
        if name == "RecordTaskStartedUnavailable":
            assert isinstance(arg, int)
            reply = mutants.reply_when_unavailable(self.broken)
            matching, _ = mx.on_record_started_reply(state.matching, arg, reply, now)
            return state._replace(matching=matching, faults=state.faults - 1)
        if name == "WorkerCrash":
            held = tuple(h for h in state.held if h[0] != arg)
            return state._replace(held=held, faults=state.faults - 1)
        if name == "CompleteTask":
            assert isinstance(arg, str)
            return self._complete(state, arg, now)
        assert isinstance(arg, TIMER_TYPES)
        timers = tuple(t for t in state.timers if t != arg)
        return self._history(state._replace(timers=timers), rq.FireTimer(arg), now)

    def _poll_idle(self, state: State) -> State:
        """Every idle worker polls again at once (in a fixed order): a worker that is
        not polling and holds no task would only add interleavings, no behaviours."""
        if not state.run.running:
            return state
        busy = {w for w, _ in state.held} | {p.poller_id for p in state.matching.pollers}
        matching, now = state.matching, (len(state.history) + 1) * STEP
        for worker in self.workers:
            if worker not in busy:
                queue = WORKFLOW_QUEUE if worker.startswith("w") else ACTIVITY_QUEUE
                matching, _ = mx.poll(matching, worker, queue, now, FOREVER, 0)
        return state._replace(matching=matching)

    def _history(self, state: State, request: rq.Request, now: int) -> State | None:
        """Send `request` to the real history service; None if it answers an error."""
        outcome = mutants.handle(self.broken, state.run, state.history, request, now)
        if isinstance(outcome.reply, rq.Error):
            return None
        return _commit(state, outcome)

    def _record_started(self, state: State, key: int, now: int, *, lost: bool) -> State:
        entry = next(e for e in state.matching.dispatching if e.key == key)
        assert entry.poller_id is not None
        task, request_id = entry.task, f"{entry.poller_id}/{key}"
        request: rq.Request
        if task.kind is mx.TaskKind.WORKFLOW:
            request = rq.RecordWorkflowTaskStarted(task.scheduled_event_id, task.stamp, request_id)
        else:
            request = rq.RecordActivityTaskStarted(task.scheduled_event_id, task.stamp, request_id)
        outcome = mutants.handle(self.broken, state.run, state.history, request, now)
        state = _commit(state, outcome)
        reply = mx.RecordStartedReply.TRANSIENT_ERROR if lost else _classify(outcome.reply)
        matching, result = mx.on_record_started_reply(state.matching, key, reply, now)
        state = state._replace(matching=matching, faults=state.faults - lost)
        if result.delivered is not None:
            started = outcome.reply
            assert isinstance(started, (rq.WorkflowTaskStarted, rq.ActivityTaskStarted))
            token: Token = started.token
            state = state._replace(held=tuple(sorted((*state.held, (entry.poller_id, token)))))
        return state

    def _complete(self, state: State, worker: str, now: int) -> State:
        token = next(t for w, t in state.held if w == worker)
        state = state._replace(held=tuple(h for h in state.held if h[0] != worker))
        request: rq.Request
        if isinstance(token, rq.WorkflowTaskToken):
            request = rq.RespondWorkflowTaskCompleted(token, decide(state.history))
        else:
            request = rq.RespondActivityTaskCompleted(token)
        # A stale token (the attempt timed out meanwhile) is answered NotFound: the
        # worker's completion is then simply discarded.
        return self._history(state, request, now) or state


def _classify(reply: rq.Reply) -> mx.RecordStartedReply:
    """History's Record*Started reply as matching sees it (`matching_engine.go`)."""
    if not isinstance(reply, rq.Error):
        return mx.RecordStartedReply.OK
    if reply.kind in (rq.ErrorKind.NOT_FOUND, rq.ErrorKind.WORKFLOW_COMPLETED):
        return mx.RecordStartedReply.NOT_FOUND
    if reply.kind is rq.ErrorKind.ALREADY_STARTED:
        return mx.RecordStartedReply.ALREADY_STARTED
    if reply.kind is rq.ErrorKind.OBSOLETE:
        return mx.RecordStartedReply.OBSOLETE
    return mx.RecordStartedReply.TRANSIENT_ERROR


def _add_task(state: State, transfer: Transfer, now: int) -> State:
    entry = next(e for e in state.outbox if e.task == transfer)
    duplicates = state.duplicates - (entry.adds > 0)
    kind, queue = (
        (mx.TaskKind.WORKFLOW, WORKFLOW_QUEUE)
        if isinstance(transfer, rq.WorkflowTaskTransfer)
        else (mx.TaskKind.ACTIVITY, ACTIVITY_QUEUE)
    )
    task = mx.MatchingTask(
        NAMESPACE, "wf", "run-1", transfer.scheduled_event_id, transfer.stamp, kind
    )
    matching, _ = mx.add_task(state.matching, queue, task, now, 0)
    outbox = tuple(Outboxed(e.task, e.adds + 1) if e is entry else e for e in state.outbox)
    return state._replace(matching=matching, outbox=outbox, duplicates=duplicates)


def _commit(state: State, outcome: service.Outcome) -> State:
    run = outcome.state
    state = state._replace(run=run, history=state.history + outcome.events)
    state = _emit(state, outcome.tasks)
    return state._replace(timers=tuple(t for t in state.timers if live(run, t)))


def _emit(state: State, tasks: Iterable[rq.Task]) -> State:
    outbox, timers = list(state.outbox), list(state.timers)
    for task in tasks:
        if isinstance(task, (rq.WorkflowTaskTransfer, rq.ActivityTaskTransfer)):
            outbox.append(Outboxed(task, 0))
        elif isinstance(task, TIMER_TYPES):
            timers.append(task)
    return state._replace(outbox=tuple(outbox), timers=tuple(timers))


def _may_fire(state: State, task: rq.TimerTask) -> bool:
    """Timeouts fire only for attempts no worker holds; backoff timers always fire."""
    if isinstance(task, rq.ActivityTimeoutTask):
        return not any(
            isinstance(t, rq.ActivityTaskToken)
            and (t.scheduled_event_id, t.attempt) == (task.scheduled_event_id, task.attempt)
            for _, t in state.held
        )
    if isinstance(task, rq.WorkflowTaskTimeoutTask):
        return not any(
            isinstance(t, rq.WorkflowTaskToken)
            and (t.scheduled_event_id, t.attempt) == (task.scheduled_event_id, task.attempt)
            for _, t in state.held
        )
    return True


# --- INV-NO-LOST-TASK ----------------------------------------------------------------


def pending(run: MutableState) -> list[tuple[mx.TaskKind, int, int]]:
    """The run's scheduled, unstarted tasks as (kind, scheduled event id, stamp)."""
    if not run.running:
        return []
    found = []
    wft = run.wft
    if wft is not None and not wft.started:
        found.append((mx.TaskKind.WORKFLOW, wft.scheduled_event_id, wft.stamp))
    for info in run.activities:
        if not info.started and not info.backoff:
            found.append((mx.TaskKind.ACTIVITY, info.scheduled_event_id, info.stamp))
    return found


def no_lost_task(state: State) -> bool:
    """Matching's ledger is consistent, and every pending task has a copy on its way."""
    if mx.violations(state.matching):
        return False
    on_the_way = {
        (
            mx.TaskKind.WORKFLOW
            if isinstance(e.task, rq.WorkflowTaskTransfer)
            else mx.TaskKind.ACTIVITY,
            e.task.scheduled_event_id,
            e.task.stamp,
        )
        for e in state.outbox
    }
    for entry in (*state.matching.backlog, *state.matching.dispatching):
        on_the_way.add((entry.task.kind, entry.task.scheduled_event_id, entry.task.stamp))
    return all(task in on_the_way for task in pending(state.run))
