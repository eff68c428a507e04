"""Targeted runs for the replay machines' rows that the corpus and random programs
rarely or never reach (the transition-coverage gate runs them).

Each scenario runs a small workflow live through `LiveRun`, steering the order of
events with `LiveRun.do` where a row needs two things in one workflow task, and then
replays the final history - so each row is taken both live and on replay.
"""

from __future__ import annotations

from typing import Any

from core import events as ev
from core import payloads, workflow
from core import requests as rq
from core.enums import CommandType, EventType
from core.opaque import JsonValue, Opaque
from core.statemachine.replay.driver import answer_task, replay
from core.workflow import (
    ActivityCancellationType,
    ActivityError,
    ActivityHandle,
    CancelledError,
    ChildWorkflowError,
    Context,
    ExternalWorkflowError,
    RetryPolicy,
)
from tests.core.statemachine.replay.live import T0, LiveRun, Rates

NO_RETRY = RetryPolicy(maximum_attempts=1)
HOLD = Rates(lose_workflow_task=0, evict_cache=0, activity_failure=0, activity_lost=1.0)


async def _yield(wf: Context) -> None:
    """Let every other ready coroutine run once."""

    async def nothing() -> None:
        return None

    await wf.wait([wf.create_task(nothing())])


@workflow.defn(name="Scenario")
class Scenario:
    def __init__(self) -> None:
        self.handle: ActivityHandle | None = None
        self.flag = False
        self.log: list[Any] = []

    @workflow.signal
    def cancel_it(self, wf: Context) -> None:
        if self.handle is not None:
            self.handle.cancel()

    @workflow.signal
    def set_flag(self, wf: Context) -> None:
        self.flag = True

    @workflow.update
    def bump(self, wf: Context, n: int) -> int:
        return n + 1

    @bump.validator
    def check_bump(self, wf: Context, n: int) -> None:
        if n < 0:
            raise ValueError("negative")

    @workflow.run
    async def run(self, wf: Context, name: str, arg: Any) -> Any:
        await getattr(self, name)(wf, arg)
        return self.log

    async def cancel_unsent(self, wf: Context, kind: str) -> None:
        handle = wf.start_activity(
            "a", start_to_close_timeout=5, cancellation_type=ActivityCancellationType[kind]
        )
        handle.cancel()
        try:
            await handle
        except ActivityError as error:
            self.log.append(type(error.cause).__name__)

    async def cancel_started(self, wf: Context, kind: str) -> None:
        handle = wf.start_activity(
            "a",
            start_to_close_timeout=60,
            retry_policy=NO_RETRY,
            cancellation_type=ActivityCancellationType[kind],
        )
        await wf.sleep(1)
        handle.cancel()
        try:
            await handle
        except ActivityError as error:
            self.log.append(type(error.cause).__name__)
        await wf.sleep(100)  # the late answers (started, timed out) reach history

    async def cancel_in_handler(self, wf: Context, kind: str) -> None:
        self.handle = wf.start_activity(
            "a", start_to_close_timeout=5, cancellation_type=ActivityCancellationType[kind]
        )
        try:
            self.log.append(await self.handle)
        except ActivityError as error:
            self.log.append(type(error.cause).__name__)

    async def timer_unsent(self, wf: Context, _: Any) -> None:
        async def setter() -> None:
            self.flag = True

        wf.create_task(setter())
        await wf.wait_condition(lambda: self.flag, timeout=30)

    async def timer_fired_and_signalled(self, wf: Context, _: Any) -> None:
        try:
            await wf.wait_condition(lambda: self.handle is not None or self.flag, timeout=1)
        except TimeoutError:
            self.log.append("timeout")

    async def child_unsent(self, wf: Context, _: Any) -> None:
        task = wf.create_task(wf.start_child_workflow("Scenario", "noop", None, id="c"))
        await _yield(wf)
        task.cancel()
        self.log.append(await _outcome(task))

    async def child_start_failed(self, wf: Context, _: Any) -> None:
        await wf.start_child_workflow("Scenario", "wait_forever", None, id="dup")
        try:
            await wf.start_child_workflow("Scenario", "noop", None, id="dup")
        except ChildWorkflowError:
            self.log.append("start failed")

    async def child_cancel_initiated(self, wf: Context, _: Any) -> None:
        task = wf.create_task(wf.start_child_workflow("Scenario", "noop", None, id="c2"))
        await wf.sleep(1)
        task.cancel()
        self.log.append(await _outcome(task))
        await wf.sleep(100)

    async def externals_missing(self, wf: Context, _: Any) -> None:
        try:
            await wf.signal_external_workflow("nobody", "x")
        except ExternalWorkflowError:
            self.log.append("signal: not found")
        try:
            await wf.cancel_external_workflow("nobody")
        except ExternalWorkflowError:
            self.log.append("cancel: not found")

    async def wait_forever(self, wf: Context, _: Any) -> None:
        await wf.wait_condition(lambda: False)

    async def noop(self, wf: Context, _: Any) -> None:
        return None


async def _outcome(task: Any) -> str:
    try:
        await task
    except CancelledError:
        return "cancelled"
    return "done"


DEFINITIONS = {"Scenario": workflow.definition(Scenario)}


def _live(name: str, arg: Any, rates: Rates | None = None, seed: int = 0) -> LiveRun:
    live = LiveRun(DEFINITIONS, seed, rates or Rates(lose_workflow_task=0, evict_cache=0))
    live.start("Scenario", "wf", name, arg)
    return live


def _finish(live: LiveRun) -> None:
    live.run()
    assert live.sticky_vs_cold == []
    for run_id, history in live.histories.items():
        replay(DEFINITIONS["Scenario"], history, workflow_id=live.workflow_ids[run_id])


def run_all() -> None:
    kinds = [k.name for k in ActivityCancellationType]
    for kind in kinds:
        _finish(_live("cancel_unsent", kind))
        _legacy_started_then_cancelled(kind)
        started = _live("cancel_started", kind, HOLD)
        started.do(rq.WorkflowTaskTransfer)
        started.do(rq.ActivityTaskTransfer)  # started; the worker holds it
        started.do(rq.UserTimerTask)
        _finish(started)
        handler = _live("cancel_in_handler", kind, Rates(0, 0, 0, 0))
        handler.do(rq.WorkflowTaskTransfer)
        handler.do(rq.ActivityTaskTransfer)  # completed; a workflow task is scheduled
        handler.signal("wf", "cancel_it")
        handler.do(rq.SignalWorkflowExecution)
        _finish(handler)
    _finish(_live("timer_unsent", None))
    fired = _live("timer_fired_and_signalled", None)
    fired.do(rq.WorkflowTaskTransfer)
    fired.do(rq.UserTimerTask)
    fired.signal("wf", "set_flag")
    fired.do(rq.SignalWorkflowExecution)
    _finish(fired)
    _finish(_live("child_unsent", None))
    _finish(_live("child_start_failed", None))
    initiated = _live("child_cancel_initiated", None)
    initiated.do(rq.WorkflowTaskTransfer)
    initiated.do(rq.UserTimerTask)
    _finish(initiated)
    _finish(_live("externals_missing", None))
    _updates_then_cancel_then_terminate()


def _update(update_id: str, n: int) -> rq.UpdateWorkflowExecution:
    args = payloads.to_payloads([n])
    body: dict[str, JsonValue] = {
        "meta": {"updateId": update_id},
        "input": {"name": "bump", "args": args.value() if args else None},
    }
    return rq.UpdateWorkflowExecution(update_id, Opaque.of(body))


def _updates_then_cancel_then_terminate() -> None:
    live = _live("wait_forever", None)
    live.do(rq.WorkflowTaskTransfer)
    live.client("wf", _update("u1", 1))  # accepted and completed
    live.client("wf", _update("u2", -1))  # rejected by the validator
    live.do(rq.UpdateWorkflowExecution, times=2)
    live.do(rq.WorkflowTaskTransfer)
    live.client("wf", rq.RequestCancelWorkflowExecution())
    live.client("wf", rq.TerminateWorkflowExecution())
    live.do(rq.RequestCancelWorkflowExecution)
    live.do(rq.TerminateWorkflowExecution)
    _finish(live)


def _legacy_started_then_cancelled(kind: str) -> None:
    """Older servers wrote ActivityTaskStarted at dispatch (the validator accepts that
    form), so the code can see an activity Started before it cancels it."""
    e = EventType
    wft = [e.WORKFLOW_TASK_SCHEDULED, e.WORKFLOW_TASK_STARTED]
    kinds = [e.WORKFLOW_EXECUTION_STARTED, *wft, e.WORKFLOW_TASK_COMPLETED]
    kinds += [e.ACTIVITY_TASK_SCHEDULED, e.TIMER_STARTED, e.ACTIVITY_TASK_STARTED, e.TIMER_FIRED]
    kinds += wft
    attributes: dict[EventType, Any] = {
        e.WORKFLOW_EXECUTION_STARTED: ev.WorkflowExecutionStartedEventAttributes(
            workflow_type=ev.WorkflowType(name="Scenario"),
            task_queue=ev.TaskQueue(name="q"),
            input=payloads.to_payloads(["cancel_started", kind]),
            original_execution_run_id="legacy",
        ),
        e.WORKFLOW_TASK_SCHEDULED: ev.WorkflowTaskScheduledEventAttributes(),
        e.WORKFLOW_TASK_COMPLETED: ev.WorkflowTaskCompletedEventAttributes(
            scheduled_event_id=2, started_event_id=3
        ),
        e.ACTIVITY_TASK_SCHEDULED: ev.ActivityTaskScheduledEventAttributes(
            activity_id="1", activity_type=ev.ActivityType(name="a")
        ),
        e.TIMER_STARTED: ev.TimerStartedEventAttributes(timer_id="1"),
        e.ACTIVITY_TASK_STARTED: ev.ActivityTaskStartedEventAttributes(scheduled_event_id=5),
        e.TIMER_FIRED: ev.TimerFiredEventAttributes(timer_id="1", started_event_id=6),
    }
    history = []
    for i, k in enumerate(kinds, start=1):
        a = attributes.get(k) or ev.WorkflowTaskStartedEventAttributes(scheduled_event_id=i - 1)
        history.append(ev.HistoryEvent(i, k, a, event_time=T0 + i))
    _, answer = answer_task(DEFINITIONS["Scenario"], None, history)
    assert answer.commands[0].command_type is (
        CommandType.START_TIMER if kind == "ABANDON" else CommandType.REQUEST_CANCEL_ACTIVITY_TASK
    )
