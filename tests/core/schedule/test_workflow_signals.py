"""The scheduler workflow keeps the signals it received before its first workflow task.

Found by the 200-seed sweep (seeds 45 and 150): a history host crash held a dense
schedule's first workflow task back for five minutes; a trigger-immediately signalled
in that time was in the history (the client's PatchSchedule had been acknowledged), but
the scheduler's run method, which starts after the signal handlers of its first task,
reset its patch list and dropped it. workflow.go `run` keeps it: a signal waits in its
channel until the first `sleep` reads it.
"""

from __future__ import annotations

from core import payloads
from core.commands import ScheduleActivityTaskCommandAttributes
from core.enums import EventType as E
from core.events import (
    HistoryEvent,
    WorkflowExecutionSignaledEventAttributes,
    WorkflowExecutionStartedEventAttributes,
    WorkflowTaskScheduledEventAttributes,
    WorkflowTaskStartedEventAttributes,
)
from core.opaque import JsonValue
from core.schedule import api
from core.schedule.messages import (
    BackfillRequest,
    IntervalSpec,
    OverlapPolicy,
    Schedule,
    SchedulePatch,
    SchedulePolicies,
    ScheduleSpec,
    StartWorkflowAction,
    TriggerImmediatelyRequest,
)
from core.schedule.spec import SECOND
from core.schedule.workflow import SchedulerWorkflow
from core.statemachine.replay import driver
from core.workflow import definition

T0 = 1_767_225_600 * SECOND  # 2026-01-01T00:00:00Z
MINUTE = 60 * SECOND
# Every 8 s for the first minute (the sweep's seed-45 schedule): over by the first task.
DENSE = Schedule(
    ScheduleSpec(interval=(IntervalSpec(8 * SECOND),), end_time=T0 + MINUTE),
    StartWorkflowAction("job", "ScheduledJob", "queue", (5.0, False)),
    SchedulePolicies(OverlapPolicy.ALLOW_ALL, 60 * SECOND),
)
ALL = OverlapPolicy.ALLOW_ALL


def _history(patch: SchedulePatch | None, initial: SchedulePatch | None) -> list[HistoryEvent]:
    """Created at T0, a patch signalled at T0 + 1:23, the first task started at T0 + 5:01."""
    args = api.StartScheduleArgs(DENSE, "default", "ns", "s", initial_patch=initial).to_json()
    started = WorkflowExecutionStartedEventAttributes(input=payloads.to_payloads([args]))
    events = [
        HistoryEvent(1, E.WORKFLOW_EXECUTION_STARTED, started, event_time=T0),
        HistoryEvent(
            2, E.WORKFLOW_TASK_SCHEDULED, WorkflowTaskScheduledEventAttributes(), event_time=T0
        ),
    ]
    if patch is not None:
        value: JsonValue = patch.to_json()
        signal = WorkflowExecutionSignaledEventAttributes(
            signal_name=api.SIGNAL_PATCH, input=payloads.to_payloads([value])
        )
        events.append(
            HistoryEvent(3, E.WORKFLOW_EXECUTION_SIGNALED, signal, event_time=T0 + 83 * SECOND)
        )
    at = T0 + 301 * SECOND
    task = WorkflowTaskStartedEventAttributes(scheduled_event_id=2)
    events.append(HistoryEvent(len(events) + 1, E.WORKFLOW_TASK_STARTED, task, event_time=at))
    return events


def _first_task(history: list[HistoryEvent]) -> tuple[list[str], list[SchedulePatch]]:
    """The workflow ids the first task's StartWorkflow activities ask for, and the
    patches the scheduler holds for later wake-ups."""
    result = driver.replay(definition(SchedulerWorkflow), history)
    out: list[str] = []
    for command in result.tasks[-1][1].commands:
        a = command.attributes
        kind = a.activity_type if isinstance(a, ScheduleActivityTaskCommandAttributes) else None
        if isinstance(a, ScheduleActivityTaskCommandAttributes) and kind is not None:
            if kind.name != api.ACTIVITY_START:
                continue
            request = payloads.first(a.input)
            assert isinstance(request, dict)
            out.append(str(request["workflowId"]))
    instance = result.execution.instance
    assert isinstance(instance, SchedulerWorkflow)
    return out, instance.patches


def test_a_trigger_signalled_before_the_first_task_starts_a_run() -> None:
    # Without it: no start (the spec's times are past their catch-up window).
    assert _first_task(_history(None, None)) == ([], [])
    trigger = SchedulePatch(TriggerImmediatelyRequest(ALL))
    assert _first_task(_history(trigger, None)) == (["job-2026-01-01T00:05:01Z"], [])


def test_the_initial_patch_goes_first_and_the_signalled_one_is_kept() -> None:
    backfill = SchedulePatch(backfill_request=(BackfillRequest(T0 - 9 * SECOND, T0, ALL),))
    trigger = SchedulePatch(TriggerImmediatelyRequest(ALL))
    # The initial backfill is applied at the first task (its first time, T0 - 8 s, is
    # being started); the trigger waits for the next wake-up (one patch per wake-up).
    starts, pending = _first_task(_history(trigger, backfill))
    assert starts == ["job-2025-12-31T23:59:52Z"] and pending == [trigger]
