"""`Context` (``wf``): everything workflow code may do, with the Python SDK's names.

Each operation that needs the server creates an entity (entity.py) and its command in
the order the code runs; awaiting it waits on the entity's future. The coroutine
operations (`execute_activity`, `sleep`, `wait_condition`, `execute_child_workflow`,
...) are ``async def`` as in temporalio, so their command is produced when the
coroutine first runs - which is what fixes command order under `gather` and
`create_task` (the recorded `timer-cancelled` history shows the order this gives).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from core import payloads
from core.commands import (
    CancelTimerCommandAttributes,
    Command,
    RecordMarkerCommandAttributes,
    RequestCancelActivityTaskCommandAttributes,
    RequestCancelExternalWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
    StartTimerCommandAttributes,
    UpsertWorkflowSearchAttributesCommandAttributes,
)
from core.enums import CommandType, ParentClosePolicy
from core.events import ActivityType, TaskQueue, WorkflowExecution, WorkflowType
from core.opaque import JsonValue, Opaque
from core.statemachine.replay import (
    activity,
    cancel_external,
    child,
    marker,
    signal_external,
    timer,
)
from core.statemachine.replay.definition import (
    ActivityCancellationType,
    ContinueAsNewError,
    RetryPolicy,
)
from core.statemachine.replay.entity import Entity
from core.statemachine.replay.scheduler import Future, Task, gather, wait_first

if TYPE_CHECKING:
    from core.statemachine.replay.engine import Execution

T = TypeVar("T")
C = CommandType
Duration = float | int | timedelta  # seconds, or a timedelta
_CANCEL_INPUT = {
    ActivityCancellationType.TRY_CANCEL: activity.ActivityInput.TRY_CANCEL,
    ActivityCancellationType.WAIT_CANCELLATION_COMPLETED: activity.ActivityInput.WAIT_CANCEL,
    ActivityCancellationType.ABANDON: activity.ActivityInput.ABANDON,
}


def ns(duration: Duration | None) -> int:
    """A duration in nanoseconds (seconds as a number, or a timedelta)."""
    if duration is None:
        return 0
    if isinstance(duration, timedelta):
        return (duration // timedelta(microseconds=1)) * 1000
    return round(duration * 1_000_000_000)


class ActivityHandle(Future[Any]):
    """A scheduled activity: await it for the result, `cancel()` to cancel it."""


class ChildHandle(Future[Any]):
    """A started child workflow: await it for the result; `id` and `run_id` name it."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__()
        self.id = workflow_id
        self.run_id = ""


class Context:
    """The running workflow, handed to every workflow method as ``wf``."""

    __slots__ = ("_ex",)

    def __init__(self, ex: Execution) -> None:
        self._ex = ex

    # --- facts about the run -------------------------------------------------------

    def info(self) -> dict[str, Any]:
        start = self._ex.start
        return {
            "workflow_id": self._ex.workflow_id,
            "run_id": self._ex.run_id,
            "workflow_type": self._ex.definition.name,
            "task_queue": start.task_queue.name if start and start.task_queue else "",
            "attempt": start.attempt if start else 1,
            "first_execution_run_id": start.first_execution_run_id if start else "",
        }

    def now(self) -> datetime:
        """The workflow's time: when the current workflow task started."""
        return datetime.fromtimestamp(self._ex.now_ns / 1e9, tz=UTC)

    def time_ns(self) -> int:
        return self._ex.now_ns

    def random(self) -> Any:
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

    def create_task(self, coro: Coroutine[Any, Any, T], name: str = "") -> Task[T]:
        return self._ex.scheduler.spawn(coro, name)

    def gather(self, *aws: Awaitable[Any]) -> Future[list[Any]]:
        return gather(self._ex.scheduler, *aws)  # type: ignore[arg-type]

    async def wait(self, aws: list[Future[Any]], *, first: bool = True) -> None:
        """Wait for the first (or, with ``first=False``, every) future to be done."""
        await wait_first(self._ex.scheduler, aws, 1 if first else len(aws))

    def as_completed(self, aws: list[Future[Any]]) -> Iterator[Awaitable[Any]]:
        """Await each yielded item to get results in the order they complete."""
        pending = list(aws)
        while pending:
            yield self._next_done(pending)

    async def _next_done(self, pending: list[Future[Any]]) -> Any:
        await wait_first(self._ex.scheduler, pending, 1)
        done = next(f for f in pending if f.done())
        pending.remove(done)
        return done.result()

    async def wait_condition(
        self, predicate: Callable[[], bool], *, timeout: Duration | None = None
    ) -> None:
        """Wait until `predicate()` is true; raise TimeoutError after `timeout`."""
        if predicate():
            return
        condition = self._ex.scheduler.wait_until(predicate)
        if timeout is None:
            await condition
            return
        deadline = self.create_task(self.sleep(timeout), "wait_condition timeout")
        await wait_first(self._ex.scheduler, [condition, deadline], 1)
        if condition.done():
            deadline.cancel()
            return
        condition.cancel()
        raise TimeoutError("wait_condition timed out")

    # --- timers -----------------------------------------------------------------------

    async def sleep(self, duration: Duration) -> None:
        """Start a timer and wait for it to fire."""
        seq = self._ex.next_seq("timer")
        entity = Entity("timer", timer.TABLE, timer.TABLE.initial, timer.EVENT_INPUTS, str(seq))
        entity.future = Future()
        entity.future.on_cancel = lambda: self._cancel_timer(entity)
        command = Command(
            C.START_TIMER,
            StartTimerCommandAttributes(timer_id=str(seq), start_to_fire_timeout=ns(duration)),
        )
        self._ex.add(entity, command)
        await entity.future

    def _cancel_timer(self, entity: Entity) -> None:
        outputs = self._ex.step(entity, timer.TimerInput.CANCEL)
        self._apply_outputs(
            entity, outputs, C.CANCEL_TIMER, CancelTimerCommandAttributes(timer_id=entity.key)
        )

    # --- activities ---------------------------------------------------------------------

    def start_activity(
        self,
        activity_type: str | Callable[..., Any],
        *args: Any,
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
        name = activity_type if isinstance(activity_type, str) else activity_type.__name__
        seq = self._ex.next_seq("activity")
        key = activity_id or str(seq)
        handle = ActivityHandle()
        entity = Entity(
            "activity", activity.TABLE, activity.TABLE.initial, activity.EVENT_INPUTS, key, handle
        )
        entity.info["activity_type"] = name
        handle.on_cancel = lambda: self._cancel_activity(entity, cancellation_type)
        attributes = ScheduleActivityTaskCommandAttributes(
            activity_id=key,
            activity_type=ActivityType(name=name),
            task_queue=TaskQueue(name=task_queue or self.info()["task_queue"]),
            input=payloads.to_payloads(list(args)),
            schedule_to_close_timeout=ns(schedule_to_close_timeout) or None,
            schedule_to_start_timeout=ns(schedule_to_start_timeout) or None,
            start_to_close_timeout=ns(start_to_close_timeout) or None,
            heartbeat_timeout=ns(heartbeat_timeout) or None,
            retry_policy=retry_policy.to_opaque() if retry_policy else None,
        )
        self._ex.add(entity, Command(C.SCHEDULE_ACTIVITY_TASK, attributes))
        return handle

    async def execute_activity(
        self, activity_type: str | Callable[..., Any], *args: Any, **options: Any
    ) -> Any:
        """Schedule an activity and wait for its result (raises ActivityError)."""
        return await self.start_activity(activity_type, *args, **options)

    def _cancel_activity(self, entity: Entity, kind: ActivityCancellationType) -> None:
        outputs = self._ex.step(entity, _CANCEL_INPUT[kind])
        attributes = RequestCancelActivityTaskCommandAttributes(
            scheduled_event_id=entity.scheduled()
        )
        self._apply_outputs(entity, outputs, C.REQUEST_CANCEL_ACTIVITY_TASK, attributes)

    def _apply_outputs(
        self, entity: Entity, outputs: tuple[str, ...], kind: CommandType, attributes: Any
    ) -> None:
        from core.statemachine.replay.definition import ActivityError
        from core.statemachine.replay.scheduler import CancelledError

        if "drop_command" in outputs:
            self._ex.drop(entity)
        if "emit_cancel" in outputs:
            self._ex.emit(Command(kind, attributes), entity)
        if (
            "resolve_cancelled" in outputs
            and entity.future is not None
            and not entity.future.done()
        ):
            error: BaseException = CancelledError()
            if entity.kind == "activity":
                error = ActivityError(entity.info["activity_type"], entity.key, CancelledError())
            entity.future.set_exception(error)

    async def execute_local_activity(
        self,
        activity_type: str | Callable[..., Any],
        *args: Any,
        start_to_close_timeout: Duration | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> Any:
        """Run an activity inside the worker; its result is kept in a marker."""
        name = activity_type if isinstance(activity_type, str) else activity_type.__name__
        seq = self._ex.next_seq("local_activity")
        entity = Entity(
            "local_activity",
            marker.LOCAL_ACTIVITY_TABLE,
            marker.LOCAL_ACTIVITY_TABLE.initial,
            marker.LOCAL_ACTIVITY_EVENT_INPUTS,
            str(seq),
            Future(),
        )
        entity.info.update(seq=seq, activity_type=name, args=list(args))
        self._ex.add(entity, None)
        self._ex.local.append(entity)
        assert entity.future is not None
        return await entity.future

    # --- markers: patches and side effects ------------------------------------------

    def patched(self, patch_id: str) -> bool:
        """True in new code paths; on replay, only if the history has the patch marker."""
        return self._patch(patch_id, deprecated=False)

    def deprecate_patch(self, patch_id: str) -> None:
        """Record that the old path is gone (its marker may be missing on replay)."""
        self._patch(patch_id, deprecated=True)

    def _patch(self, patch_id: str, deprecated: bool) -> bool:
        from core.statemachine.replay.recorded import patch_data

        if patch_id in self._ex.patches:
            return self._ex.patches[patch_id]
        recorded = any(
            (data := patch_data(getattr(e.attributes, "details", None))) is not None
            and data[0] == patch_id
            for e in self._ex.lookahead
        )
        use = recorded or not self._ex.replaying
        self._ex.patches[patch_id] = use
        if use:
            details = {"patch-data": _body({"id": patch_id, "deprecated": deprecated})}
            self._marker(marker.PATCH_MARKER, details, "patch")
            attributes = UpsertWorkflowSearchAttributesCommandAttributes(
                search_attributes=Opaque.of(
                    {"indexedFields": {"TemporalChangeVersion": _body_one([patch_id])}}
                )
            )
            entity = Entity(
                "upsert", marker.TABLE, marker.TABLE.initial, marker.MARKER_EVENT_INPUTS
            )
            self._ex.add(entity, Command(C.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, attributes))
        return use

    def side_effect(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` once, live; replay reads its value from the marker."""
        seq = self._ex.next_seq("side_effect")
        value: Any = None
        if self._ex.replaying:
            from core.statemachine.replay.matching import marker_key

            for event in self._ex.lookahead:
                details = getattr(event.attributes, "details", None)
                if marker_key(details) == f"side-effect-id={seq}":
                    body = details.value() if details is not None else None
                    if isinstance(body, dict) and isinstance(body.get("data"), dict):
                        value = payloads.first(Opaque.of(body["data"]))
        else:
            value = fn()
        details = {"side-effect-id": _body(seq), "data": _body(value)}
        self._marker(marker.SIDE_EFFECT_MARKER, details, "side_effect")
        return value

    def _marker(self, name: str, details: dict[str, Any], kind: str) -> None:
        entity = Entity(kind, marker.TABLE, marker.TABLE.initial, marker.MARKER_EVENT_INPUTS)
        command = Command(
            C.RECORD_MARKER,
            RecordMarkerCommandAttributes(marker_name=name, details=Opaque.of(details)),
        )
        self._ex.add(entity, command)

    def upsert_search_attributes(self, attributes: dict[str, Any]) -> None:
        fields: dict[str, JsonValue] = {k: _body_one(v) for k, v in sorted(attributes.items())}
        body: dict[str, JsonValue] = {"indexedFields": fields}
        entity = Entity("upsert", marker.TABLE, marker.TABLE.initial, marker.MARKER_EVENT_INPUTS)
        command = Command(
            C.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
            UpsertWorkflowSearchAttributesCommandAttributes(search_attributes=Opaque.of(body)),
        )
        self._ex.add(entity, command)

    # --- child workflows and other workflows ------------------------------------------

    async def start_child_workflow(
        self,
        workflow_type: str | type,
        *args: Any,
        id: str,
        task_queue: str = "",
        parent_close_policy: ParentClosePolicy = ParentClosePolicy.TERMINATE,
    ) -> ChildHandle:
        """Start a child and wait until it has started; await the handle for its result."""
        name = workflow_type if isinstance(workflow_type, str) else workflow_type.__name__
        handle = ChildHandle(id)
        entity = Entity(
            "child", child.TABLE, child.TABLE.initial, child.EVENT_INPUTS, id, handle, Future()
        )
        entity.info["workflow_type"] = name
        assert entity.start_future is not None
        entity.start_future.on_cancel = lambda: self._cancel_child(entity)
        attributes = StartChildWorkflowExecutionCommandAttributes(
            workflow_id=id,
            workflow_type=WorkflowType(name=name),
            task_queue=TaskQueue(name=task_queue or self.info()["task_queue"]),
            input=payloads.to_payloads(list(args)),
            parent_close_policy=parent_close_policy,
        )
        self._ex.add(entity, Command(C.START_CHILD_WORKFLOW_EXECUTION, attributes))
        handle.run_id = await entity.start_future
        return handle

    def _cancel_child(self, entity: Entity) -> None:
        outputs = self._ex.step(entity, child.ChildInput.CANCEL)
        self._apply_outputs(entity, outputs, C.START_CHILD_WORKFLOW_EXECUTION, None)
        if entity.start_future is not None and not entity.start_future.done():
            from core.statemachine.replay.scheduler import CancelledError

            entity.start_future.set_exception(CancelledError())

    async def execute_child_workflow(
        self, workflow_type: str | type, *args: Any, **options: Any
    ) -> Any:
        handle = await self.start_child_workflow(workflow_type, *args, **options)
        return await handle

    async def signal_external_workflow(
        self, workflow_id: str, signal: str, *args: Any, run_id: str = ""
    ) -> None:
        """Signal another workflow; raises ExternalWorkflowError if it is not found."""
        entity = Entity(
            "signal_external",
            signal_external.TABLE,
            signal_external.TABLE.initial,
            signal_external.EVENT_INPUTS,
            workflow_id,
            Future(),
        )
        attributes = SignalExternalWorkflowExecutionCommandAttributes(
            execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
            signal_name=signal,
            input=payloads.to_payloads(list(args)),
        )
        self._ex.add(entity, Command(C.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION, attributes))
        assert entity.future is not None
        await entity.future

    async def cancel_external_workflow(self, workflow_id: str, *, run_id: str = "") -> None:
        """Ask another workflow to cancel; raises ExternalWorkflowError if it is not found."""
        entity = Entity(
            "cancel_external",
            cancel_external.TABLE,
            cancel_external.TABLE.initial,
            cancel_external.EVENT_INPUTS,
            workflow_id,
            Future(),
        )
        attributes = RequestCancelExternalWorkflowExecutionCommandAttributes(
            workflow_id=workflow_id, run_id=run_id
        )
        self._ex.add(entity, Command(C.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION, attributes))
        assert entity.future is not None
        await entity.future

    def continue_as_new(
        self, *args: Any, workflow_type: str = "", backoff: Duration | None = None
    ) -> NoReturn:
        """End this run and start the next one of the chain with `args`."""
        raise ContinueAsNewError(tuple(args), workflow_type, ns(backoff))


def _body(value: Any) -> Any:
    opaque = payloads.to_payloads([value])
    return opaque.value() if opaque is not None else None


def _body_one(value: Any) -> Any:
    return payloads.payload(value)
