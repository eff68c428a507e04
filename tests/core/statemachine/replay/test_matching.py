"""`matching.corresponds`: its field-by-field comparison of activity schedules and timer
starts, and its type check alone for the commands named by their type (the run's
close), decide exactly as the comparison of identity tuples they stand in for."""

from __future__ import annotations

import itertools

from core.commands import (
    COMMAND_ATTRIBUTES_CLASS,
    CancelTimerCommandAttributes,
    Command,
    CommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    StartTimerCommandAttributes,
)
from core.enums import CommandType, EventType
from core.events import (
    ATTRIBUTES_CLASS,
    ActivityTaskScheduledEventAttributes,
    ActivityType,
    EventAttributes,
    HistoryEvent,
    TimerCanceledEventAttributes,
    TimerStartedEventAttributes,
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
    for kind in sorted(_TYPE_ONLY):  # named by their type alone: attributes left unset
        made: type[object] = COMMAND_ATTRIBUTES_CLASS[kind]
        attributes = made()
        assert isinstance(attributes, CommandAttributes)
        out.append(Command(kind, attributes))
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
    for kind in sorted(e for c in _TYPE_ONLY for e in RECORDED_AS[c]):  # what those record
        made: type[object] = ATTRIBUTES_CLASS[kind]
        recorded = made()
        assert isinstance(recorded, EventAttributes)
        attributes.append((kind, recorded))
    return [HistoryEvent(n, kind, a) for n, (kind, a) in enumerate(attributes, start=5)]


def test_corresponds_decides_as_the_identity_tuples_do() -> None:
    for command in _commands():  # what corresponds assumes of the type-only kinds
        if command.command_type in _TYPE_ONLY:
            assert identity(command) == (command.command_type.name,)
            (recorded,) = RECORDED_AS[command.command_type]
            assert all(
                event_identity(e) == identity(command)
                for e in _events()
                if e.event_type is recorded
            )
    agreed = 0
    for command, event in itertools.product(_commands(), _events()):
        expected = event.event_type in RECORDED_AS.get(
            command.command_type, frozenset()
        ) and identity(command) == event_identity(event)
        assert corresponds(command, event) == expected, (command, event)
        agreed += expected
    # per activity id: None and an empty name agree both ways (4), and "a", "b" (2);
    # each command named by its type alone agrees with the one event it is recorded as
    assert agreed == 3 * (2 * 2 + 2) + 3 + 2 + len(_TYPE_ONLY)
