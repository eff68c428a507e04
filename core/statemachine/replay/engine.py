"""The replay engine: one workflow run's code, driven by its history, one task at a time.

Theory of operation. An `Execution` holds a run's workflow object, its coroutines
(on the deterministic `Scheduler`) and one machine per command-backed entity
(activity, timer, child, external signal/cancel, marker, local activity, update, the
run itself). `activate(events)` is one workflow task:

1. the events since the previous task are applied in order. Command events (those
   written from commands) are matched, first in first out, with the commands the code
   produced earlier; a mismatch, or a command the history never recorded, raises
   `Nondeterminism` naming the event. Other events step the machine they name and
   queue the resolution of its future (a result, an error, a fired timer);
2. signals and updates run first, then the queued resolutions, then - on the first
   task - the run method starts; the scheduler runs until nothing can move (the order
   of temporalio's `_WorkflowInstanceImpl.activate`);
3. local activities are settled (live: run by the worker; replay: read from their
   markers), then, if the run method has ended, the close command is produced.

The commands produced are the task's answer. Cold replay feeds a whole history through
the same `activate` in slices (driver.py), so a live worker with a sticky cache and a
cold replay run exactly the same code on exactly the same inputs: THM-3.1's premise.

An `Execution` is the one stateful object in core - coroutines cannot be copied - but it
is deterministic: the same calls give the same answers, and it reads no clock, random
source or I/O. Time is the WorkflowTaskStarted event's time; randomness is seeded from
the run id. `release` lets go of a run its owner is done with, at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from core import payloads
from core.commands import Command
from core.enums import EventType
from core.errors import BadPayload, InvalidTransition, Nondeterminism, PotentialDeadlock
from core.events import HistoryEvent, WorkflowExecutionStartedEventAttributes
from core.fastenum import Enum
from core.requests import UpdateMessage, UpdateWorkflowExecution
from core.statemachine import fsm
from core.statemachine.replay import (
    activity,
    cancel_external,
    child,
    closing,
    execution,
    local_activities,
    recorded,
    signal_external,
    timer,
    updates,
)
from core.statemachine.replay.context import Context
from core.statemachine.replay.definition import Definition
from core.statemachine.replay.entity import Activation, Entity
from core.statemachine.replay.matching import (
    MATCHED_EVENTS,
    RECORDED_EVENTS,
    corresponds,
    describe_command,
    describe_event,
    in_batch,
)
from core.statemachine.replay.prng import Prng
from core.statemachine.replay.scheduler import NOT_THE_CODES, Scheduler, Task

E = EventType
# Read per event: members read once (a read off the enum class runs EnumType's hook).
_WFT_COMPLETED = E.WORKFLOW_TASK_COMPLETED
_WFT_STARTED = E.WORKFLOW_TASK_STARTED
_STARTED = E.WORKFLOW_EXECUTION_STARTED
_SIGNALED = E.WORKFLOW_EXECUTION_SIGNALED
_CANCELED = E.ACTIVITY_TASK_CANCELED

LocalActivityRunner = Callable[[str, list[object], int], object]
"""Runs a local activity live: (activity type, args, attempt) -> result, or raises."""

Guard = Callable[[], AbstractContextManager[object]]
"""Bounds each run of workflow code (an activation, a query): entered before the code
runs, left after; it may raise `PotentialDeadlock` into code that does not yield. Core
has no clock, so the caller supplies it (the adapters and the simulator, built on a timer
signal)."""

# Events that settle something the code started (not the command events themselves).
_RESOLVING: frozenset[EventType] = (
    frozenset(
        k
        for module in (activity, timer, child, signal_external, cancel_external)
        for k in module.EVENT_INPUTS
    )
    - MATCHED_EVENTS
)
# `apply_all` asks about the resolving events first: no other branch may claim one.
assert not _RESOLVING & {_WFT_COMPLETED, _WFT_STARTED, _STARTED, _SIGNALED, *execution.EVENT_INPUTS}


class Execution:
    """One run of one workflow definition (see the module docstring)."""

    def __init__(
        self, definition: Definition, workflow_id: str = "", guard: Guard | None = None
    ) -> None:
        self.definition = definition
        self.workflow_id = workflow_id
        self.guard = guard
        self.scheduler = Scheduler()
        self.instance: object = None
        self.run_task: Task[object] | None = None
        self.run_entity = Entity(
            "execution", execution.TABLE, execution.TABLE.initial, execution.EVENT_INPUTS
        )
        self.start: WorkflowExecutionStartedEventAttributes | None = None
        self.start_args: list[object] = []  # the run method's input, decoded at the event
        self.run_id = ""
        self.outbox: list[tuple[Command, Entity]] = []
        self.unmatched: deque[tuple[Command, Entity]] = deque()
        self.messages: list[UpdateMessage] = []
        self.by_event: dict[int, Entity] = {}
        self.updates: dict[str, Entity] = {}
        self.local: list[Entity] = []
        self.counters: dict[str, int] = {}
        self.patches: dict[str, bool] = {}
        self.resolutions: list[Callable[[], object]] = []
        self.signals: list[tuple[str, list[object]]] = []
        self.now_ns = 0
        self.consumed = 0  # id of the last event applied
        self.answered = 0  # WorkflowTaskStarted id of the last activation
        self.in_command_run = False
        self.previous: HistoryEvent | None = None
        self.replaying = False
        self.lookahead: tuple[HistoryEvent, ...] = ()
        self.bug: BaseException | None = None
        self.rng = Prng(b"")
        self.read_only = False
        self.running_handlers: set[str] = set()  # update ids whose handler runs

    # --- one workflow task ---------------------------------------------------------

    def activate(
        self,
        events: Sequence[HistoryEvent],
        *,
        replaying: bool = False,
        lookahead: Sequence[HistoryEvent] = (),
        update_requests: Sequence[UpdateWorkflowExecution] = (),
        run_local: LocalActivityRunner | None = None,
    ) -> Activation:
        """Apply `events` (ending at a WorkflowTaskStarted) and produce the task's answer.

        Raises `Nondeterminism` if the events contradict the code, `BadPayload` naming
        the event or task whose payload cannot be decoded, and `PotentialDeadlock` if
        the guard stopped code that did not yield.
        """
        self.replaying, self.lookahead = replaying, tuple(lookahead)
        self.apply_all(events)
        try:
            if self.guard is None:
                return self._run_code(update_requests, run_local)
            with self.guard():
                return self._run_code(update_requests, run_local)
        except PotentialDeadlock as error:
            raise PotentialDeadlock(error.seconds, self._task()) from None
        except BadPayload as error:
            raise BadPayload(f"{self._task()}: {error}") from None

    def _task(self) -> str:
        return f"the workflow task started at event {self.answered}"

    def _run_code(
        self,
        update_requests: Sequence[UpdateWorkflowExecution],
        run_local: LocalActivityRunner | None,
    ) -> Activation:
        """Step 2 and 3 of the module docstring: run the code, collect its commands."""
        self.outbox, self.messages = [], []
        if self.instance is None:
            self._create_instance()
        if self.signals:
            for name, args in self.signals:
                self._call_signal(name, args)
            self.signals = []
        # Updates come live with the task, or on replay from the task's accepted events.
        if update_requests or (self.replaying and self.lookahead):
            updates.admit(self, update_requests)
        run_until_idle = self.scheduler.run_until_idle
        run_until_idle()
        if self.resolutions:
            resolutions, self.resolutions = self.resolutions, []
            for resolve in resolutions:
                resolve()
        if self.run_task is None and self.bug is None:
            self._spawn_run()
        run_until_idle()
        if self.local:
            local_activities.settle(self, run_local)
        self._close_if_ended()
        outbox = self.outbox
        self.unmatched.extend(outbox)
        self.outbox = []
        if self.bug is not None:
            return Activation((), (), failure=f"{type(self.bug).__name__}: {self.bug}")
        return Activation(tuple([c for c, _ in outbox]), tuple(self.messages))

    def release(self) -> None:
        """The owner is done with this run (a finished replay, an evicted cache entry):
        close its coroutines and drop everything it holds. The Execution cannot be used
        afterwards.

        A run's objects reference each other in cycles (the code's coroutines hold its
        `Context`, which holds the Execution, which holds the tasks running them; an
        entity's future holds a cancel hook that holds the entity), so a dropped run
        waits for the garbage collector, by then usually in its oldest generation, which
        the simulator collects once, at the end. Released, it is freed at once.
        """
        self.scheduler.release()
        entities = [*self.by_event.values(), *self.updates.values(), *self.local]
        entities += [e for _, e in self.unmatched] + [e for _, e in self.outbox]
        for entity in entities:
            if entity.future is not None:
                entity.future.release()
            if entity.start_future is not None:
                entity.start_future.release()
        vars(self).clear()

    def finish(self) -> None:
        """The history ended: a completed task's commands must all have been recorded."""
        if self.in_command_run and self.unmatched:
            raise self._unrecorded(self.consumed + 1, "no further event (the history ends)")

    # --- events ----------------------------------------------------------------------

    def apply(self, event: HistoryEvent) -> None:
        """Apply one history event; `Nondeterminism` if code or machines cannot take it."""
        self.apply_all((event,))

    def apply_all(self, events: Sequence[HistoryEvent]) -> None:
        """Apply history events in order, as `apply` does each (one loop, one try).

        The per-event step is written out in the loop, not called: this runs once per
        event of every replay. Command events are matched with the code's commands; of
        the others, those that settle something the code started come first, as the
        most common."""
        resolving, recorded_events = _RESOLVING, RECORDED_EVENTS
        for event in events:
            try:
                self.consumed = event.event_id
                kind = event.event_type
                if kind in recorded_events:
                    self._match(event)
                    self.previous = event
                    continue
                # in_batch holds only for an ActivityTaskCanceled: other kinds skip it.
                if self.in_command_run and (
                    kind is not _CANCELED or not in_batch(event, self.previous)
                ):
                    self._end_command_run(event)
                self.previous = event
                if kind in resolving:
                    recorded.resolution(self, event)
                elif kind is _WFT_COMPLETED:
                    self.in_command_run = True
                elif kind is _WFT_STARTED:
                    self.now_ns = event.event_time or self.now_ns
                    self.answered = event.event_id
                elif kind is _STARTED:
                    self._started(event)
                elif kind is _SIGNALED:
                    self._signaled(event)
                elif kind in execution.EVENT_INPUTS:
                    self.step(self.run_entity, execution.EVENT_INPUTS[kind])
            except InvalidTransition as error:  # e.g. a second result for one activity
                raise Nondeterminism(
                    event.event_id, describe_event(event), f"a machine that refuses it ({error})"
                ) from error
            except BadPayload as error:
                raise BadPayload(
                    f"event {event.event_id} ({event.event_type.name}): {error}"
                ) from None

    def _started(self, event: HistoryEvent) -> None:
        a = event.attributes
        assert isinstance(a, WorkflowExecutionStartedEventAttributes)
        self.start = a
        self.start_args = list(payloads.from_payloads(a.input))
        self.run_id = a.original_execution_run_id
        self.workflow_id = self.workflow_id or a.workflow_id
        # surrogatepass: JSON may carry a lone surrogate, which strict UTF-8 refuses; any
        # run id Temporal writes is valid UTF-8 and encodes the same either way.
        self.rng = Prng(self.run_id.encode("utf-8", "surrogatepass"))
        self.now_ns = event.event_time or 0

    def _signaled(self, event: HistoryEvent) -> None:
        a = event.attributes
        name = getattr(a, "signal_name", "")
        args: list[object] = list(payloads.from_payloads(getattr(a, "input", None)))
        self.signals.append((str(name), args))

    def _match(self, event: HistoryEvent) -> None:
        if self.unmatched:
            command, entity = self.unmatched[0]
            if corresponds(command, event, entity.scheduled):
                self.unmatched.popleft()
                recorded.command_recorded(self, command, entity, event)
                return
        if _tolerated(event):
            return
        if not self.unmatched:
            raise Nondeterminism(event.event_id, describe_event(event), "no command")
        raise self._unrecorded(event.event_id, describe_event(event))

    def _end_command_run(self, event: HistoryEvent) -> None:
        self.in_command_run = False
        if self.unmatched:
            raise self._unrecorded(event.event_id, describe_event(event))

    def _unrecorded(self, event_id: int, found: str) -> Nondeterminism:
        """The first command still waiting for its event, where `found` came instead."""
        command, entity = self.unmatched[0]
        return Nondeterminism(event_id, found, describe_command(command, entity.scheduled))

    # --- entities --------------------------------------------------------------------

    def next_seq(self, kind: str) -> int:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return self.counters[kind]

    def add(self, entity: Entity, command: Command | None) -> Entity:
        if self.read_only:
            raise RuntimeError("a query handler must not start anything")
        if command is not None:
            self.outbox.append((command, entity))
        return entity

    def emit(self, command: Command, entity: Entity) -> None:
        self.outbox.append((command, entity))

    def drop(self, entity: Entity) -> None:
        self.outbox = [(c, e) for c, e in self.outbox if e is not entity]

    def step(self, entity: Entity, input_: Enum) -> tuple[str, ...]:
        entity.state, outputs = fsm.step(entity.table, entity.state, input_)
        if "cancel_run" in outputs and self.run_task is not None:
            run_task = self.run_task
            self.resolutions.append(run_task.cancel)
        return outputs

    # --- the workflow object ------------------------------------------------------------

    def _create_instance(self) -> None:
        try:
            self.instance = self.definition.cls()
        except NOT_THE_CODES:
            raise
        except Exception as error:  # the class's own __init__ failed: the task fails
            self.bug = self.bug or error

    def _call_signal(self, name: str, args: list[object]) -> None:
        method = self.definition.signals.get(name)
        if method is None:
            return  # the SDKs buffer signals without a handler; the model drops them
        self.call_handler(method, args)

    def call_handler(self, method: str, args: list[object]) -> object:
        try:
            result = getattr(self.instance, method)(Context(self), *args)
        except NOT_THE_CODES:
            raise
        except BaseException as error:
            self.bug = self.bug or error
            return None
        if hasattr(result, "send") and hasattr(result, "throw"):  # an async handler
            return self.scheduler.spawn(result, name=method)
        return result

    def _spawn_run(self) -> None:
        method = getattr(self.instance, self.definition.run_method)
        try:
            coroutine = method(Context(self), *self.start_args)
        except TypeError as error:  # the input does not fit the run method's signature
            self.bug = error  # the SDKs fail the task (temporalio: "Failed decoding arguments")
            return
        self.run_task = self.scheduler.spawn(coroutine, name="run")
        if self.run_entity.state is execution.SdkExecutionState.CANCEL_REQUESTED:
            self.run_task.cancel()

    def _close_if_ended(self) -> None:
        task = self.run_task
        if task is None or not task.done() or self.bug is not None:
            return
        if self.run_entity.state not in (
            execution.SdkExecutionState.RUNNING,
            execution.SdkExecutionState.CANCEL_REQUESTED,
        ):
            return
        command = closing.close_command(self, task)
        if command is None:
            return
        self.step(self.run_entity, execution.ExecutionInput.CODE_ENDED)
        self.emit(command, self.run_entity)

    def query(self, name: str, args: list[object]) -> object:
        """Answer a query from the current state; nothing may change."""
        method = self.definition.queries.get(name)
        if method is None:
            raise KeyError(f"{self.definition.name} has no query named {name!r}")
        if self.instance is None:  # no workflow task yet: the object as constructed
            self._create_instance()
        return self.call_read_only(method, args)

    def call_read_only(self, method: str, args: list[object]) -> object:
        """Call a query handler or an update validator: it must not start anything."""
        self.read_only = True
        try:
            if self.guard is None:
                return getattr(self.instance, method)(Context(self), *args)
            with self.guard():
                return getattr(self.instance, method)(Context(self), *args)
        finally:
            self.read_only = False

    @property
    def task_queue(self) -> str:
        """The run's own task queue, from its WorkflowExecutionStarted ("" before it)."""
        start = self.start
        return start.task_queue.name if start and start.task_queue else ""


def _tolerated(event: HistoryEvent) -> bool:
    """A deprecated patch's marker may be missing from the code (sdk-core's rule), and so
    may the TemporalChangeVersion upsert written with it: temporalio's Replayer accepts
    a history with both once the `deprecate_patch` call is gone (a non-deprecated
    patch's marker, which comes first, still fails)."""
    return recorded.deprecated_patch(event) is not None or recorded.change_version_upsert(event)
