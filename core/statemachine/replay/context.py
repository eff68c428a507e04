"""`Context` (``wf``): everything workflow code may do, with the Python SDK's names.

Each operation that needs the server creates an entity (entity.py) and its command in
the order the code runs; awaiting it waits on the entity's future. The coroutine
operations (`execute_activity`, `sleep`, `wait_condition`, `execute_child_workflow`,
...) are ``async def`` as in temporalio, so their command is produced when the
coroutine first runs - which is what fixes command order under `gather` and
`create_task` (the recorded `timer-cancelled` history shows the order this gives).

Two deliberate differences from the SDK, both because core reads no clock and imports
no `datetime`: durations are seconds (a number), and `now()` is nanoseconds since the
epoch - the time the current workflow task started.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from typing import TYPE_CHECKING, NoReturn, TypeVar

from core import payloads, task_queues
from core.commands import (
    CancelTimerCommandAttributes,
    Command,
    RequestCancelActivityTaskCommandAttributes,
    RequestCancelExternalWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
    StartTimerCommandAttributes,
)
from core.enums import CommandType, ParentClosePolicy, TaskQueueKind
from core.events import ActivityType, TaskQueue, WorkflowExecution, WorkflowType
from core.opaque import Opaque
from core.statemachine.replay import (
    activity,
    cancel_external,
    child,
    marker,
    markers,
    signal_external,
    timer,
)
from core.statemachine.replay.definition import (
    ActivityCancellationType,
    ActivityError,
    ContinueAsNewError,
    RetryPolicy,
)
from core.statemachine.replay.entity import Entity
from core.statemachine.replay.handles import ActivityHandle, ChildHandle, Duration, Info, ns
from core.statemachine.replay.prng import Prng
from core.statemachine.replay.scheduler import (
    CancelledError,
    Future,
    Task,
    Waitable,
    gather,
    wait_first,
)

if TYPE_CHECKING:
    from core.statemachine.replay.engine import Execution

T = TypeVar("T")
C = CommandType
Activity = str | Callable[..., object]  # an activity type name, or a function named so
_CANCEL_INPUT = {
    ActivityCancellationType.TRY_CANCEL: activity.ActivityInput.TRY_CANCEL,
    ActivityCancellationType.WAIT_CANCELLATION_COMPLETED: activity.ActivityInput.WAIT_CANCEL,
    ActivityCancellationType.ABANDON: activity.ActivityInput.ABANDON,
}


class Context:
    """The running workflow, handed to every workflow method as ``wf``."""

    __slots__ = ("_ex",)

    def __init__(self, ex: Execution) -> None:
        self._ex = ex

    # --- facts about the run -------------------------------------------------------

    def info(self) -> Info:
        start = self._ex.start
        return Info(
            workflow_id=self._ex.workflow_id,
            run_id=self._ex.run_id,
            workflow_type=self._ex.definition.name,
            task_queue=self._ex.task_queue,
            attempt=start.attempt if start else 1,
            first_execution_run_id=start.first_execution_run_id if start else "",
            search_attributes=start.search_attributes if start else None,
            memo=start.memo if start else None,
        )

    def now(self) -> int:
        """The workflow's time in ns since the epoch: when the current task started."""
        return self._ex.now_ns

    def random(self) -> Prng:
        """A deterministic random stream (`random()`, `randint()`, `choice()`)."""
        return self._ex.rng

    def uuid4(self) -> str:
        return self._ex.rng.uuid4()

    def is_replaying(self) -> bool:
        return self._ex.replaying

    def all_handlers_finished(self) -> bool:
        """No update handler is still running (wait for this before completing)."""
        return not self._ex.running_handlers

    # --- concurrency ------------------------------------------------------------------

    def create_task(self, coro: Coroutine[object, object, T], name: str = "") -> Task[T]:
        return self._ex.scheduler.spawn(coro, name)

    def gather(self, *aws: Future[T] | Coroutine[object, object, T]) -> Future[list[T]]:
        """All results in argument order (the first error ends it), as asyncio.gather."""
        return gather(self._ex.scheduler, *aws)

    async def wait(self, aws: Sequence[Waitable], *, first: bool = True) -> None:
        """Wait for the first (or, with ``first=False``, every) future to be done."""
        await wait_first(aws, 1 if first else len(aws))

    def as_completed(self, aws: Sequence[Future[T]]) -> Iterator[Awaitable[T]]:
        """Await each yielded item to get results in the order they complete."""
        pending = list(aws)
        while pending:
            yield self._next_done(pending)

    async def _next_done(self, pending: list[Future[T]]) -> T:
        await wait_first(pending, 1)
        done = next(f for f in pending if f.done())
        pending.remove(done)
        return done.result()

    async def wait_condition(
        self, predicate: Callable[[], bool], *, timeout: Duration | None = None
    ) -> None:
        """Wait until `predicate()` is true; raise TimeoutError after `timeout` seconds."""
        if predicate():
            return
        condition = self._ex.scheduler.wait_until(predicate)
        if timeout is None:
            await condition
            return
        deadline = self.create_task(self.sleep(timeout), "wait_condition timeout")
        await wait_first([condition, deadline], 1)
        if condition.done():
            deadline.cancel()
            return
        condition.cancel()
        raise TimeoutError("wait_condition timed out")

    # --- timers -----------------------------------------------------------------------

    async def sleep(self, seconds: Duration) -> None:
        """Start a timer and wait for it to fire."""
        seq = self._ex.next_seq("timer")
        fired: Future[object] = Future()
        entity = Entity(
            "timer", timer.TABLE, timer.TABLE.initial, timer.EVENT_INPUTS, str(seq), fired
        )
        fired.on_cancel = lambda: self._cancel(
            entity, timer.TimerInput.CANCEL, _cancel_timer(entity)
        )
        attributes = StartTimerCommandAttributes(
            timer_id=str(seq), start_to_fire_timeout=ns(seconds)
        )
        self._ex.add(entity, Command(_START_TIMER, attributes))
        await fired

    # --- activities ---------------------------------------------------------------------

    def start_activity(
        self,
        activity_type: Activity,
        *args: object,
        task_queue: str = "",
        schedule_to_close_timeout: Duration | None = None,
        schedule_to_start_timeout: Duration | None = None,
        start_to_close_timeout: Duration | None = None,
        heartbeat_timeout: Duration | None = None,
        retry_policy: RetryPolicy | None = None,
        cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
        activity_id: str = "",
    ) -> ActivityHandle:
        """Schedule an activity now; the handle is its future."""
        if not start_to_close_timeout and not schedule_to_close_timeout:
            raise ValueError("start_to_close_timeout or schedule_to_close_timeout is required")
        ex = self._ex
        name = _name(activity_type)
        key = activity_id or str(ex.next_seq("activity"))
        handle = ActivityHandle()
        table = activity.TABLE  # read here, not at import: tests swap in a mutated table
        entity = Entity("activity", table, table.initial, activity.EVENT_INPUTS, key, handle)
        entity.name = name
        cancel = _CANCEL_INPUT[cancellation_type]
        handle.on_cancel = lambda: self._cancel(entity, cancel, _cancel_activity(entity))
        attributes = ScheduleActivityTaskCommandAttributes(
            activity_id=key,
            activity_type=_activity_type(name),
            task_queue=task_queues.task_queue(
                task_queue or ex.task_queue, TaskQueueKind.UNSPECIFIED
            ),
            input=payloads.to_payloads(args),
            schedule_to_close_timeout=_timeout(schedule_to_close_timeout),
            schedule_to_start_timeout=_timeout(schedule_to_start_timeout),
            start_to_close_timeout=_timeout(start_to_close_timeout),
            heartbeat_timeout=_timeout(heartbeat_timeout),
            retry_policy=retry_policy.to_opaque() if retry_policy else None,
        )
        ex.add(entity, Command(_SCHEDULE_ACTIVITY, attributes))
        return handle

    async def execute_activity(
        self,
        activity_type: Activity,
        *args: object,
        task_queue: str = "",
        schedule_to_close_timeout: Duration | None = None,
        schedule_to_start_timeout: Duration | None = None,
        start_to_close_timeout: Duration | None = None,
        heartbeat_timeout: Duration | None = None,
        retry_policy: RetryPolicy | None = None,
        cancellation_type: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL,
        activity_id: str = "",
    ) -> object:
        """Schedule an activity and wait for its result (raises ActivityError)."""
        return await self.start_activity(
            activity_type,
            *args,
            task_queue=task_queue,
            schedule_to_close_timeout=schedule_to_close_timeout,
            schedule_to_start_timeout=schedule_to_start_timeout,
            start_to_close_timeout=start_to_close_timeout,
            heartbeat_timeout=heartbeat_timeout,
            retry_policy=retry_policy,
            cancellation_type=cancellation_type,
            activity_id=activity_id,
        )

    def _cancel(
        self,
        entity: Entity,
        input_: activity.ActivityInput | timer.TimerInput | child.ChildInput,
        command: Command | None,
    ) -> None:
        outputs = self._ex.step(entity, input_)
        if "drop_command" in outputs:
            self._ex.drop(entity)
        if "emit_cancel" in outputs and command is not None:
            self._ex.emit(command, entity)
        future = entity.future
        if "resolve_cancelled" in outputs and future is not None and not future.done():
            error: BaseException = CancelledError()
            if entity.kind == "activity":
                error = ActivityError(entity.name, entity.key, CancelledError())
            future.set_exception(error)

    async def execute_local_activity(
        self,
        activity_type: Activity,
        *args: object,
        start_to_close_timeout: Duration | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> object:
        """Run an activity inside the worker; its result is kept in a marker."""
        seq = self._ex.next_seq("local_activity")
        result: Future[object] = Future()
        table = marker.LOCAL_ACTIVITY_TABLE
        entity = Entity(
            "local_activity",
            table,
            table.initial,
            marker.LOCAL_ACTIVITY_EVENT_INPUTS,
            str(seq),
            result,
        )
        entity.seq, entity.name, entity.args = seq, _name(activity_type), list(args)
        self._ex.add(entity, None)
        self._ex.local.append(entity)
        return await result

    # --- markers ------------------------------------------------------------------------

    def patched(self, patch_id: str) -> bool:
        """True on new code paths; on replay, only if the history has the patch marker."""
        return markers.patch(self._ex, patch_id, deprecated=False)

    def deprecate_patch(self, patch_id: str) -> None:
        """Record that the old path is gone (its marker may be missing on replay)."""
        markers.patch(self._ex, patch_id, deprecated=True)

    def side_effect(self, fn: Callable[[], object]) -> object:
        """Run `fn` once, live; replay reads its value from the marker."""
        return markers.side_effect(self._ex, fn)

    def upsert_search_attributes(self, attributes: dict[str, object]) -> None:
        markers.upsert(self._ex, attributes)

    # --- child workflows and other workflows ------------------------------------------

    async def start_child_workflow(
        self,
        workflow_type: str | type,
        *args: object,
        id: str,
        task_queue: str = "",
        parent_close_policy: ParentClosePolicy = ParentClosePolicy.TERMINATE,
    ) -> ChildHandle:
        """Start a child and wait until it has started; await the handle for its result."""
        name = workflow_type if isinstance(workflow_type, str) else workflow_type.__name__
        handle = ChildHandle(id)
        started: Future[object] = Future()
        entity = Entity(
            "child", child.TABLE, child.TABLE.initial, child.EVENT_INPUTS, id, handle, started
        )
        entity.name = name
        started.on_cancel = lambda: self._cancel_child(entity, started)
        attributes = StartChildWorkflowExecutionCommandAttributes(
            workflow_id=id,
            workflow_type=WorkflowType(name=name),
            task_queue=TaskQueue(name=task_queue or self._ex.task_queue),
            input=payloads.to_payloads(args),
            parent_close_policy=parent_close_policy,
        )
        self._ex.add(entity, Command(C.START_CHILD_WORKFLOW_EXECUTION, attributes))
        handle.run_id = str(await started)
        handle.on_cancel = lambda: self._cancel_started_child(handle)
        return handle

    def _cancel_child(self, entity: Entity, started: Future[object]) -> None:
        self._cancel(entity, child.ChildInput.CANCEL, None)
        if not started.done():
            started.set_exception(CancelledError())

    def _cancel_started_child(self, handle: ChildHandle) -> None:
        """Cancel a started child: a RequestCancelExternalWorkflowExecution for it alone
        (sdk-core `child_workflow_state_machine.rs`, IssueCancelAfterStarted, as a
        `cancel_external_state_machine.rs` with child_workflow_only). The handle waits
        for the child to close (WAIT_CANCELLATION_COMPLETED, the SDKs' default); a
        refused request leaves it running, as it leaves the child."""
        table = cancel_external.TABLE
        requested: Future[object] = Future()
        entity = Entity(
            "cancel_external",
            table,
            table.initial,
            cancel_external.EVENT_INPUTS,
            handle.id,
            requested,
        )
        attributes = RequestCancelExternalWorkflowExecutionCommandAttributes(
            workflow_id=handle.id, run_id=handle.run_id, child_workflow_only=True
        )
        self._ex.add(entity, Command(C.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION, attributes))

    async def execute_child_workflow(
        self,
        workflow_type: str | type,
        *args: object,
        id: str,
        task_queue: str = "",
        parent_close_policy: ParentClosePolicy = ParentClosePolicy.TERMINATE,
    ) -> object:
        handle = await self.start_child_workflow(
            workflow_type,
            *args,
            id=id,
            task_queue=task_queue,
            parent_close_policy=parent_close_policy,
        )
        return await handle

    async def signal_external_workflow(
        self, workflow_id: str, signal: str, *args: object, run_id: str = ""
    ) -> None:
        """Signal another workflow; raises ExternalWorkflowError if it is not found."""
        done: Future[object] = Future()
        table = signal_external.TABLE
        entity = Entity(
            "signal_external", table, table.initial, signal_external.EVENT_INPUTS, workflow_id, done
        )
        attributes = SignalExternalWorkflowExecutionCommandAttributes(
            execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
            signal_name=signal,
            input=payloads.to_payloads(args),
        )
        self._ex.add(entity, Command(C.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION, attributes))
        await done

    async def cancel_external_workflow(self, workflow_id: str, *, run_id: str = "") -> None:
        """Ask another workflow to cancel; raises ExternalWorkflowError if it is not found."""
        done: Future[object] = Future()
        table = cancel_external.TABLE
        entity = Entity(
            "cancel_external", table, table.initial, cancel_external.EVENT_INPUTS, workflow_id, done
        )
        attributes = RequestCancelExternalWorkflowExecutionCommandAttributes(
            workflow_id=workflow_id, run_id=run_id
        )
        self._ex.add(entity, Command(C.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION, attributes))
        await done

    def continue_as_new(
        self,
        *args: object,
        workflow_type: str = "",
        backoff: Duration | None = None,
        memo: Opaque | None = None,
        search_attributes: Opaque | None = None,
    ) -> NoReturn:
        """End this run and start the next one of the chain with `args` (and with
        `memo` and `search_attributes`, protojson, when given; none by default)."""
        raise ContinueAsNewError(tuple(args), workflow_type, ns(backoff), memo, search_attributes)


# Per command built: command types read once (a read off the enum class runs EnumType's
# hook), and the small frozen messages every activity of a run repeats built once.
_SCHEDULE_ACTIVITY = C.SCHEDULE_ACTIVITY_TASK
_START_TIMER = C.START_TIMER


@functools.lru_cache(maxsize=1024)
def _activity_type(name: str) -> ActivityType:
    return ActivityType(name=name)


def _timeout(duration: Duration | None) -> int | None:
    """An optional timeout in nanoseconds: None when unset or zero."""
    return None if duration is None else ns(duration) or None


def _name(activity_type: Activity) -> str:
    return activity_type if isinstance(activity_type, str) else activity_type.__name__


def _cancel_timer(entity: Entity) -> Command:
    return Command(C.CANCEL_TIMER, CancelTimerCommandAttributes(timer_id=entity.key))


def _cancel_activity(entity: Entity) -> Command:
    attributes = RequestCancelActivityTaskCommandAttributes(scheduled_event_id=entity.scheduled)
    return Command(C.REQUEST_CANCEL_ACTIVITY_TASK, attributes)
