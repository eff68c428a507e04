"""`matching.corresponds`: its field-by-field comparison of activity schedules and timer
starts, and its type check alone for the commands named by their type (the run's
close), decide exactly as the comparison of identity tuples they stand in for."""

from __future__ import annotations

import itertools

from core.commands import (
    CancelTimerCommandAttributes,
    CancelWorkflowExecutionCommandAttributes,
    Command,
    CommandAttributes,
    CompleteWorkflowExecutionCommandAttributes,
    ContinueAsNewWorkflowExecutionCommandAttributes,
    FailWorkflowExecutionCommandAttributes,
    ModifyWorkflowPropertiesCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    StartTimerCommandAttributes,
    UpsertWorkflowSearchAttributesCommandAttributes,
)
from core.enums import CommandType, EventType
from core.events import (
    ActivityTaskScheduledEventAttributes,
    ActivityType,
    EventAttributes,
    HistoryEvent,
    TimerCanceledEventAttributes,
    TimerStartedEventAttributes,
    UpsertWorkflowSearchAttributesEventAttributes,
    WorkflowExecutionCanceledEventAttributes,
    WorkflowExecutionCompletedEventAttributes,
    WorkflowExecutionContinuedAsNewEventAttributes,
    WorkflowExecutionFailedEventAttributes,
    WorkflowPropertiesModifiedEventAttributes,
)
from core.statemachine.replay.matching import (
    _TYPE_ONLY,
    RECORDED_AS,
    corresponds,
    event_identity,
    identity,
)

C, E = CommandType, EventType
_TYPES = (None, ActivityType(name=""), ActivityType(name="a"), ActivityType(name="b"))
# The commands named by their type alone (matching._TYPE_ONLY), and the events they
# are recorded as.
_TYPE_ONLY_COMMANDS: list[tuple[CommandType, CommandAttributes]] = [
    (C.COMPLETE_WORKFLOW_EXECUTION, CompleteWorkflowExecutionCommandAttributes()),
    (C.FAIL_WORKFLOW_EXECUTION, FailWorkflowExecutionCommandAttributes()),
    (C.CANCEL_WORKFLOW_EXECUTION, CancelWorkflowExecutionCommandAttributes()),
    (C.CONTINUE_AS_NEW_WORKFLOW_EXECUTION, ContinueAsNewWorkflowExecutionCommandAttributes()),
    (C.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, UpsertWorkflowSearchAttributesCommandAttributes()),
    (C.MODIFY_WORKFLOW_PROPERTIES, ModifyWorkflowPropertiesCommandAttributes()),
]
_TYPE_ONLY_EVENTS: list[tuple[EventType, EventAttributes]] = [
    (E.WORKFLOW_EXECUTION_COMPLETED, WorkflowExecutionCompletedEventAttributes()),
    (E.WORKFLOW_EXECUTION_FAILED, WorkflowExecutionFailedEventAttributes()),
    (E.WORKFLOW_EXECUTION_CANCELED, WorkflowExecutionCanceledEventAttributes()),
    (E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW, WorkflowExecutionContinuedAsNewEventAttributes()),
    (E.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, UpsertWorkflowSearchAttributesEventAttributes()),
    (E.WORKFLOW_PROPERTIES_MODIFIED, WorkflowPropertiesModifiedEventAttributes()),
]


def _commands() -> list[Command]:
    out = [
        Command(
            C.SCHEDULE_ACTIVITY_TASK,
            ScheduleActivityTaskCommandAttributes(activity_id=i, activity_type=t),
        )
        for i, t in itertools.product(("", "1", "2"), _TYPES)
    ]
    out += [Command(C.START_TIMER, StartTimerCommandAttributes(timer_id=i)) for i in ("", "1", "2")]
    out += [Command(C.CANCEL_TIMER, CancelTimerCommandAttributes(timer_id=i)) for i in ("1", "2")]
    out += [Command(kind, a) for kind, a in _TYPE_ONLY_COMMANDS]
    return out


def _events() -> list[HistoryEvent]:
    attributes: list[tuple[EventType, EventAttributes]] = [
        (
            E.ACTIVITY_TASK_SCHEDULED,
            ActivityTaskScheduledEventAttributes(activity_id=i, activity_type=t),
        )
        for i, t in itertools.product(("", "1", "2"), _TYPES)
    ]
    attributes += [
        (E.TIMER_STARTED, TimerStartedEventAttributes(timer_id=i)) for i in ("", "1", "2")
    ]
    attributes += [(E.TIMER_CANCELED, TimerCanceledEventAttributes(timer_id=i)) for i in ("1", "2")]
    attributes += _TYPE_ONLY_EVENTS
    return [HistoryEvent(n, kind, a) for n, (kind, a) in enumerate(attributes, start=5)]


def test_corresponds_decides_as_the_identity_tuples_do() -> None:
    assert {kind for kind, _ in _TYPE_ONLY_COMMANDS} == _TYPE_ONLY  # all of them, tried
    agreed = 0
    for command, event in itertools.product(_commands(), _events()):
        expected = event.event_type in RECORDED_AS.get(
            command.command_type, frozenset()
        ) and identity(command) == event_identity(event)
        assert corresponds(command, event) == expected, (command, event)
        agreed += expected
    # per activity id: None and an empty name agree both ways (4), and "a", "b" (2);
    # each command named by its type alone agrees with its one event
    assert agreed == 3 * (2 * 2 + 2) + 3 + 2 + len(_TYPE_ONLY)
