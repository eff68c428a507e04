"""The table "What is nondeterminism and what is not" of docs/replay.md, row by row:
each changed workflow against the real history the page names."""

from __future__ import annotations

from typing import Any

import pytest

from core import payloads, workflow
from core.commands import CompleteWorkflowExecutionCommandAttributes
from core.enums import EventType
from core.events import ActivityTaskCompletedEventAttributes
from core.workflow import Context, Nondeterminism
from tests.conftest import corpus_events
from tests.core.statemachine.replay.test_twins import (
    SagaWithoutCompensation,
    SingleActivityRenamed,
)


@workflow.defn(name="SingleActivityWorkflow")
class NewArgument:
    @workflow.run
    async def run(self, wf: Context, name: str) -> Any:
        return await wf.execute_activity("greet", name.upper(), start_to_close_timeout=10)


@workflow.defn(name="SingleActivityWorkflow")
class NewTimeout:
    @workflow.run
    async def run(self, wf: Context, name: str) -> Any:
        return await wf.execute_activity("greet", name, start_to_close_timeout=99)


@workflow.defn(name="TimersWorkflow")
class SleepsLonger:
    @workflow.run
    async def run(self, wf: Context, seconds: float) -> Any:
        await wf.sleep(10 * seconds)
        await wf.sleep(seconds)
        await wf.gather(wf.sleep(seconds), wf.sleep(2 * seconds))
        return "timers done"


@workflow.defn(name="TimersWorkflow")
class ReadsTheClock:
    @workflow.run
    async def run(self, wf: Context, seconds: float) -> Any:
        await wf.sleep(seconds)
        await wf.sleep(seconds)
        await wf.gather(wf.sleep(seconds), wf.sleep(2 * seconds))
        return f"timers done at {wf.now()}"


@workflow.defn(name="SingleActivityWorkflow")
class RenamedBehindPatch:
    @workflow.run
    async def run(self, wf: Context, name: str) -> Any:
        if wf.patched("greet-v2"):
            return await wf.execute_activity("greet_v2", name, start_to_close_timeout=10)
        return await wf.execute_activity("greet", name, start_to_close_timeout=10)


@workflow.defn(name="TimersWorkflow")
class ParallelTimersFirst:
    @workflow.run
    async def run(self, wf: Context, seconds: float) -> Any:
        await wf.gather(wf.sleep(seconds), wf.sleep(2 * seconds))
        await wf.sleep(seconds)
        await wf.sleep(seconds)
        return "timers done"


ROWS: list[tuple[type, str, tuple[int, str, str] | None]] = [
    (NewArgument, "activity-single.json", None),
    (NewTimeout, "activity-single.json", None),
    (SleepsLonger, "timers.json", None),
    (ReadsTheClock, "timers.json", None),
    (
        SingleActivityRenamed,
        "activity-single.json",
        (5, "ACTIVITY_TASK_SCHEDULED(1, greet) (event 5)", "SCHEDULE_ACTIVITY_TASK(1, greet_v2)"),
    ),
    (RenamedBehindPatch, "activity-single.json", None),
    (ParallelTimersFirst, "timers.json", (6, "TIMER_FIRED() (event 6)", "START_TIMER(2)")),
    (
        SagaWithoutCompensation,
        "saga.json",
        (
            23,
            "ACTIVITY_TASK_SCHEDULED(4, compensate) (event 23)",
            "FAIL_WORKFLOW_EXECUTION()",
        ),
    ),
]


@pytest.mark.parametrize(("changed", "history", "verdict"), ROWS)
def test_row(changed: type, history: str, verdict: tuple[int, str, str] | None) -> None:
    events = corpus_events(history)
    if verdict is None:
        workflow.replay(changed, events)
        return
    with pytest.raises(Nondeterminism) as caught:
        workflow.replay(changed, events)
    error = caught.value
    assert (error.event_id, error.expected, error.produced) == verdict


def test_a_new_argument_keeps_the_recorded_result() -> None:
    # Not nondeterminism, but not free either: the old run keeps the old result, which
    # replay reads from the history (the activity ran with the old argument).
    events = corpus_events("activity-single.json")
    completed = next(e for e in events if e.event_type is EventType.ACTIVITY_TASK_COMPLETED)
    assert isinstance(completed.attributes, ActivityTaskCompletedEventAttributes)
    result = workflow.replay(NewArgument, events)
    close = result.tasks[-1][1].commands[-1].attributes
    assert isinstance(close, CompleteWorkflowExecutionCommandAttributes)
    recorded = payloads.first(completed.attributes.result)
    assert payloads.first(close.result) == recorded == "hello recorder"  # not "hello RECORDER"
