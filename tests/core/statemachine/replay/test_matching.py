"""`matching.corresponds`: its field-by-field comparison of activity schedules and timer
starts decides exactly as the comparison of identity tuples it stands in for."""

from __future__ import annotations

import itertools

from core.commands import (
    CancelTimerCommandAttributes,
    Command,
    ScheduleActivityTaskCommandAttributes,
    StartTimerCommandAttributes,
)
from core.enums import CommandType, EventType
from core.events import (
    ActivityTaskScheduledEventAttributes,
    ActivityType,
    EventAttributes,
    HistoryEvent,
    TimerCanceledEventAttributes,
    TimerStartedEventAttributes,
)
from core.statemachine.replay.matching import (
    RECORDED_AS,
    corresponds,
    event_identity,
    identity,
)

C, E = CommandType, EventType
_TYPES = (None, ActivityType(name=""), ActivityType(name="a"), ActivityType(name="b"))


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
    return [HistoryEvent(n, kind, a) for n, (kind, a) in enumerate(attributes, start=5)]


def test_corresponds_decides_as_the_identity_tuples_do() -> None:
    agreed = 0
    for command, event in itertools.product(_commands(), _events()):
        expected = event.event_type in RECORDED_AS.get(
            command.command_type, frozenset()
        ) and identity(command) == event_identity(event)
        assert corresponds(command, event) == expected, (command, event)
        agreed += expected
    # per activity id: None and an empty name agree both ways (4), and "a", "b" (2)
    assert agreed == 3 * (2 * 2 + 2) + 3 + 2
